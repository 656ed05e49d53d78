"""A million hidden neurons: SETClassifier(hidden_layer_sizes=(500000, 500000)).

784 input features, 10 classes, sparsity 0.99984 (about 40 million
connections; a dense network of this shape would need 250 billion weights,
about 1 TB in float32). Fits two epochs on 640 random samples with the
default batch size, predicts probabilities, and prints the connections, the
time of each phase and the process's peak resident memory (``ru_maxrss``).
Target: peak RSS <= 4 GiB and finite probabilities.

    python benchmarks/scale_million.py
    python benchmarks/scale_million.py --n-jobs 1
    python benchmarks/scale_million.py --regrowth connected
"""

import argparse
import time
import warnings

import numpy as np
from _common import footer, header, peak_rss_bytes, table

from sklearn_set import SETClassifier
from sklearn_set._engine import network as _network
from sklearn_set._evolution.policies import ConnectivityPolicy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--regrowth", default="random",
                        choices=["random", "connected", "gradient"])
    args = parser.parse_args()
    header("SETClassifier(hidden_layer_sizes=(500000, 500000), sparsity=0.99984, "
           f"regrowth={args.regrowth!r}), 640 samples, 2 epochs")
    rss_start = peak_rss_bytes()

    phases = []

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

    rng = np.random.default_rng(0)
    X = rng.random((640, 784), dtype=np.float32)
    y = rng.integers(0, 10, 640)
    clf = SETClassifier(hidden_layer_sizes=(500000, 500000), sparsity=0.99984,
                        max_iter=2, random_state=0, n_jobs=args.n_jobs,
                        regrowth=args.regrowth)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 2 epochs
        clf.fit(X, y)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    proba = clf.predict_proba(X)
    t_predict = time.perf_counter() - t

    print(f"# connections per layer: {clf.n_connections_.tolist()} "
          f"(total {int(clf.n_connections_.sum()):,}), sparsity {clf.sparsity_:.6f}, "
          f"ER epsilon {clf.erdos_renyi_epsilon_:.2f}, batch size {clf._resolved_batch_size(640)}")
    table([{"phase": n, "seconds": s, "peak RSS so far GiB": r / 2**30} for n, s, r in phases],
          ["phase", "seconds", "peak RSS so far GiB"])
    peak = peak_rss_bytes()
    shapes = [(784, 500000), (500000, 500000), (500000, 10)]
    dense = 4 * sum(a * b for a, b in shapes)
    table([{
        "fit s": t_fit, "predict_proba s": t_predict,
        "connections": f"{int(clf.n_connections_.sum()):,}",
        "peak RSS GiB": peak / 2**30, "RSS before fit GiB": rss_start / 2**30,
        "dense float32 weights GiB": dense / 2**30,
        "proba finite": bool(np.isfinite(proba).all()),
        "rows sum to 1": bool(np.allclose(proba.sum(axis=1), 1)),
    }], ["fit s", "predict_proba s", "connections", "peak RSS GiB", "RSS before fit GiB",
         "dense float32 weights GiB", "proba finite", "rows sum to 1"])
    print(f"# target peak RSS <= 4 GiB: {'met' if peak <= 4 * 2**30 else 'NOT met'}")
    footer()


if __name__ == "__main__":
    main()
