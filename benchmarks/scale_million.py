"""A million hidden neurons: SETClassifier(hidden_layer_sizes=(500000, 500000)).

784 input features, 10 classes, sparsity 0.99984 (about 40 million
connections; a dense network of this shape would need 250 billion weights,
about 1 TB in float32). Fits two epochs on 640 random samples with the
default batch size, predicts probabilities, and prints the connections, the
time of each phase, the process's peak resident memory (``ru_maxrss``) after
each phase, and the training memory per connection: (peak RSS at the end of
``fit`` - RSS before fitting) / connections. Targets: at most 30 bytes per
connection, and finite probabilities.

Before the measured fit, a small fit of the same configuration compiles the
kernels it uses (numba's cache makes that quick after the first run); the
peak RSS is then reset to the current one (Linux), so LLVM's memory while
compiling does not count as training memory. ``--no-warm-up`` leaves it out:
on a machine where numba's cache is cold, the fit then compiles kernels
itself and its peak includes the compiler's memory.

    python benchmarks/scale_million.py
    python benchmarks/scale_million.py --n-jobs 1
    python benchmarks/scale_million.py --regrowth connected
"""

import argparse
import gc
import time
import warnings

import numpy as np
from _common import footer, header, peak_rss_bytes, reset_peak_rss, rss_bytes, table

from sklearn_set import SETClassifier
from sklearn_set._engine import layer as _layer
from sklearn_set._engine import network as _network
from sklearn_set._evolution.policies import ConnectivityPolicy
from sklearn_set._interrupt import InterruptGuard

TARGET_BYTES_PER_CONNECTION = 30


def time_phases(phases):
    """Wrap the engine's phases so that each records its time and the peak
    RSS so far into ``phases``."""
    def timed(name, fn):
        def wrapper(self, *a, **k):
            t = time.perf_counter()
            out = fn(self, *a, **k)
            phases.append((name, time.perf_counter() - t, peak_rss_bytes()))
            return out
        return wrapper

    _network.SparseMLP.initialize = timed("initialize (allocate + draw topology)",
                                          _network.SparseMLP.initialize)
    _network.SparseMLP.train_epoch = timed("train epoch", _network.SparseMLP.train_epoch)
    ConnectivityPolicy.evolve = timed("evolve (prune + regrow)", ConnectivityPolicy.evolve)
    _network.SparseMLP.predict_output = timed("predict", _network.SparseMLP.predict_output)
    # the Ctrl-C copy at the end of each epoch (to a temporary file above
    # IN_MEMORY_COPY_MAX_BYTES)
    original_copy = InterruptGuard._copy
    copy = timed("Ctrl-C copy of the epoch", lambda _, network: original_copy(network))
    InterruptGuard._copy = staticmethod(lambda network: copy(None, network))


def warm_up(X, y, *, batch_size, n_jobs, regrowth):
    """Fit a small network through the code paths of a large one, so that
    every kernel the measured fit calls is compiled (or loaded from numba's
    cache) before it: hidden layers over 65,536 units (32-bit output ids),
    and the by-input positions counted per chunk rather than stored (the
    path of layers over ``STORED_POSITIONS_MAX`` connections)."""
    stored_max = _layer.STORED_POSITIONS_MAX
    _layer.STORED_POSITIONS_MAX = 0
    try:
        clf = SETClassifier(hidden_layer_sizes=(70000, 70000), sparsity=0.99999,
                            max_iter=2, batch_size=batch_size, random_state=0,
                            n_jobs=n_jobs, regrowth=regrowth)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X[:64], y[:64])
    finally:
        _layer.STORED_POSITIONS_MAX = stored_max
    del clf
    gc.collect()


def run(hidden, sparsity, *, n_samples=640, n_predict=640, max_iter=2, batch_size="auto",
        n_jobs=None, regrowth="random", target_gib=None, warm=True):
    """Fit ``SETClassifier(hidden_layer_sizes=hidden, sparsity=sparsity)`` on
    random data of 784 features and 10 classes, predict ``n_predict`` rows,
    print the tables. With ``warm``, a small fit compiles the kernels first
    (:func:`warm_up`) and the peak RSS is reset after it."""
    rng = np.random.default_rng(0)
    X = rng.random((n_samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, n_samples)
    if warm and not reset_peak_rss():
        print("# no warm-up: this system cannot reset the peak RSS")
        warm = False
    if warm:
        t = time.perf_counter()
        warm_up(X, y, batch_size=batch_size, n_jobs=n_jobs, regrowth=regrowth)
        print(f"# warm-up fit (compiles the kernels): {time.perf_counter() - t:.1f} s, "
              f"peak RSS {peak_rss_bytes() / 2**30:.3f} GiB, then reset")
        reset_peak_rss()
        rss_start = rss_bytes()
    else:
        rss_start = peak_rss_bytes()
    phases = []
    time_phases(phases)
    clf = SETClassifier(hidden_layer_sizes=hidden, sparsity=sparsity, max_iter=max_iter,
                        batch_size=batch_size, random_state=0, n_jobs=n_jobs,
                        regrowth=regrowth)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 2 epochs
        clf.fit(X, y)
    t_fit = time.perf_counter() - t
    rss_fit = peak_rss_bytes()
    t = time.perf_counter()
    proba = clf.predict_proba(X[:n_predict])
    t_predict = time.perf_counter() - t

    n_conn = int(clf.n_connections_.sum())
    print(f"# connections per layer: {clf.n_connections_.tolist()} "
          f"(total {n_conn:,}), sparsity {clf.sparsity_:.6f}, "
          f"ER epsilon {clf.erdos_renyi_epsilon_:.2f}, "
          f"batch size {clf._resolved_batch_size(n_samples)}")
    table([{"phase": n, "seconds": s, "peak RSS so far GiB": r / 2**30} for n, s, r in phases],
          ["phase", "seconds", "peak RSS so far GiB"])
    peak = peak_rss_bytes()
    sizes = (784,) + tuple(hidden) + (10,)
    dense = 4 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    per_conn = (rss_fit - rss_start) / n_conn
    table([{
        "fit s": t_fit, "predict_proba s": t_predict, "connections": f"{n_conn:,}",
        "RSS before fit GiB": rss_start / 2**30, "peak RSS in fit GiB": rss_fit / 2**30,
        "fit B/conn": per_conn, "peak RSS GiB": peak / 2**30,
        "dense float32 weights GiB": dense / 2**30,
        "proba finite": bool(np.isfinite(proba).all()),
        "rows sum to 1": bool(np.allclose(proba.sum(axis=1), 1)),
    }], ["fit s", "predict_proba s", "connections", "RSS before fit GiB",
         "peak RSS in fit GiB", "fit B/conn", "peak RSS GiB", "dense float32 weights GiB",
         "proba finite", "rows sum to 1"])
    print("# fit B/conn: (peak RSS at the end of fit - RSS before fit) / connections, "
          "workspaces included")
    print(f"# target <= {TARGET_BYTES_PER_CONNECTION} B/conn in fit: "
          f"{'met' if per_conn <= TARGET_BYTES_PER_CONNECTION else 'NOT met'}")
    if target_gib is not None:
        print(f"# target peak RSS <= {target_gib} GiB: "
              f"{'met' if peak <= target_gib * 2**30 else 'NOT met'}")
    return clf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--regrowth", default="random",
                        choices=["random", "connected", "gradient"])
    parser.add_argument("--no-warm-up", dest="warm", action="store_false",
                        help="measure a fit that may compile kernels itself")
    args = parser.parse_args()
    header("SETClassifier(hidden_layer_sizes=(500000, 500000), sparsity=0.99984, "
           f"regrowth={args.regrowth!r}), 640 samples, 2 epochs")
    run((500000, 500000), 0.99984, n_jobs=args.n_jobs, regrowth=args.regrowth, target_gib=4,
        warm=args.warm)
    footer()


if __name__ == "__main__":
    main()
