"""Where the time of one SET training epoch goes: kernels, evolution and the
rest (Python between the kernel calls, input validation, shuffling).

The eps=20 784-1000-1000-1000-10 network of ``epoch_time.py`` (random
Fashion-MNIST-shaped float32 data, batch 128, SGD with momentum 0.9), one
``partial_fit(X, y)`` epoch per round. Every kernel the epoch calls is
wrapped in a timer (about 0.3 us a call); the topology evolution
(prune + regrow) is timed as a whole; ``rest`` is the epoch minus all of
these: the Python loop over batches and the numba dispatch of each call
(argument type checks), validation, the per-epoch permutation and copies
of labels and weights. Medians over ``--rounds``, per epoch and per batch.

    python benchmarks/epoch_profile.py --n-jobs 1
    python benchmarks/epoch_profile.py --n-jobs 2 --rounds 5
    python benchmarks/epoch_profile.py --n-jobs 1 --dtype float32 bfloat16

With several ``--dtype`` values the models take turns within each round
and each gets its own table.
"""

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
from _common import footer, header, median, set_eps20_sparsity, table, timed_epoch

from sklearn_set import SETClassifier
from sklearn_set._engine._kernels import layout, losses
from sklearn_set._engine._kernels import train as kernels
from sklearn_set._evolution.policies import ConnectivityPolicy

LAYERS = (784, 1000, 1000, 1000, 10)

# kernels called once or more per batch, besides layout.gather_dense and
# losses.sum_of_squares
# (train_epoch looks them up in their module at each call, so replacing
# the module attribute times them)
BATCH_KERNELS = ("sparse_forward", "update_bias", "backward_update",
                 "step_connections", "update_first_layer")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=60000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--dtype", nargs="+", default=["float32"],
                        choices=["float32", "bfloat16", "float64"])
    args = parser.parse_args()

    header(f"epoch profile: SET eps=20 {'-'.join(map(str, LAYERS))}, batch 128, "
           f"n_jobs={args.n_jobs}")
    rng = np.random.default_rng(0)
    X = rng.random((args.n_samples, LAYERS[0]), dtype=np.float32)
    y = rng.integers(0, LAYERS[-1], args.n_samples)
    eps20, _ = set_eps20_sparsity(LAYERS)
    models = {dtype: SETClassifier(hidden_layer_sizes=LAYERS[1:-1], sparsity=eps20,
                                   batch_size=128, learning_rate_init=0.01, momentum=0.9,
                                   random_state=0, n_jobs=args.n_jobs, dtype=dtype)
              for dtype in args.dtype}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in models.values():
            model.partial_fit(X[:2048], y[:2048], classes=np.arange(LAYERS[-1]))

    spent = defaultdict(float)

    def timed(name, function):
        def call(*a, **k):
            t = time.perf_counter()
            out = function(*a, **k)
            spent[name] += time.perf_counter() - t
            return out
        return call

    def layer_timed(name, function, values_arg):
        # one entry per layer, named by its number of connections
        def call(*a):
            t = time.perf_counter()
            out = function(*a)
            spent[f"{name} ({a[values_arg].shape[0]} conn.)"] += time.perf_counter() - t
            return out
        return call

    originals = {name: getattr(kernels, name) for name in BATCH_KERNELS}
    layout.gather_dense = timed("gather_dense (inputs)", layout.gather_dense)
    kernels.sparse_forward = layer_timed("forward", originals["sparse_forward"], 2)
    kernels.backward_update = layer_timed("backward", originals["backward_update"], 4)
    kernels.step_connections = timed("step_connections", originals["step_connections"])
    kernels.update_bias = timed("update_bias (output)", originals["update_bias"])
    kernels.update_first_layer = timed("update_first_layer", originals["update_first_layer"])
    original_penalty = losses.sum_of_squares
    losses.sum_of_squares = timed("sum_of_squares (loss)", original_penalty)
    original_evolve = ConnectivityPolicy.evolve
    ConnectivityPolicy.evolve = timed("evolve (prune+regrow)", original_evolve)
    for model in models.values():
        network = model._network
        network.output = network.output._replace(
            loss=timed("softmax_cross_entropy", network.output.loss))

    per_round = {dtype: [] for dtype in models}
    epochs = {dtype: [] for dtype in models}
    loads = {dtype: [] for dtype in models}
    for _ in range(args.rounds):
        for dtype, model in models.items():
            time.sleep(1.0)
            spent.clear()
            seconds, other_load = timed_epoch(model, X, y)
            epochs[dtype].append(seconds)
            loads[dtype].append(other_load)
            per_round[dtype].append(dict(spent))
    for dtype in models:
        _report(dtype, per_round[dtype], epochs[dtype], loads[dtype], args)
    footer()
    ConnectivityPolicy.evolve = original_evolve
    for name, function in originals.items():
        setattr(kernels, name, function)
    losses.sum_of_squares = original_penalty


def _report(dtype, per_round, epochs, loads, args):
    n_batches = -(-args.n_samples // 128)
    names = list(per_round[0])
    rows = []
    for name in names:
        s = median([r.get(name, 0.0) for r in per_round])
        rows.append({"part": name, "s/epoch": s, "us/batch": 1e6 * s / n_batches,
                     "% of epoch": f"{100 * s / median(epochs):.1f}"})
    rests = [e - sum(r.values()) for e, r in zip(epochs, per_round)]
    rest = median(rests)
    rows.append({"part": "rest (Python, dispatch, copies)", "s/epoch": rest,
                 "us/batch": 1e6 * rest / n_batches,
                 "% of epoch": f"{100 * rest / median(epochs):.1f}"})
    rows.append({"part": "epoch", "s/epoch": median(epochs),
                 "us/batch": 1e6 * median(epochs) / n_batches, "% of epoch": "100"})
    print(f"# dtype={dtype}: {args.n_samples} samples ({n_batches} batches), "
          f"{args.rounds} rounds, medians; epochs {', '.join(f'{e:.3f}' for e in epochs)} s; "
          f"other load (max) {max(loads):.2f}")
    table(rows, ["part", "s/epoch", "us/batch", "% of epoch"])


if __name__ == "__main__":
    main()
