"""Kernel threads under GridSearchCV: no oversubscription.

A small ``GridSearchCV(n_jobs=2)`` over ``sparsity`` (4 levels x 3 folds) of
``SETClassifier(hidden_layer_sizes=(256, 256))`` on ``load_digits``, timed
with the estimator's ``n_jobs=1`` (kernels on one thread) and ``n_jobs=None``
(batch by batch, one thread or all of numba's threads, whichever runs
faster). joblib's loky workers start with ``NUMBA_NUM_THREADS`` set to
cpu_count // n_jobs, so ``None`` means one thread per worker there: the two
timings should match. Two reference rows:
the sequential search (``GridSearchCV(n_jobs=1)``, kernels on all threads),
and, once at the end, the same search forced to oversubscribe
(``parallel_config(inner_max_num_threads=2)``, i.e. 2 workers x 2 kernel
threads on 2 cores). The first three run interleaved (1 s untimed pause
before each); medians over rounds.

First the script asks the workers what they see: ``NUMBA_NUM_THREADS`` in
their environment, ``numba.config.NUMBA_NUM_THREADS`` and, inside a fit,
``numba.get_num_threads()`` at the start of each epoch for ``n_jobs=None``
(with more than one numba thread, the counts the adaptive choice was on).

    python benchmarks/grid_threads.py
    python benchmarks/grid_threads.py --rounds 5
"""

import argparse
import os
import time
import warnings

import numba
from _common import footer, header, median, table
from joblib import Parallel, delayed, parallel_config
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sklearn_set import SETClassifier
from sklearn_set._engine import network as _network

GRID = {"sparsity": [0.8, 0.9, 0.95, 0.98]}


def probe():
    """What a worker sees, including the thread count inside a fit."""
    import numba as nb

    from sklearn_set._engine import network as net

    seen = []
    original = net.SparseMLP.train_epoch

    def spy(self, *a, **k):
        seen.append(nb.get_num_threads())
        return original(self, *a, **k)

    net.SparseMLP.train_epoch = spy
    try:
        X, y = load_digits(return_X_y=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SETClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0,
                          n_jobs=None).fit(X[:200], y[:200])
    finally:
        net.SparseMLP.train_epoch = original
    return (os.getpid(), os.environ.get("NUMBA_NUM_THREADS"),
            nb.config.NUMBA_NUM_THREADS, sorted(set(seen)))


MAX_ITER = 30


def search(X, y, estimator_jobs, grid_jobs):
    est = SETClassifier(hidden_layer_sizes=(256, 256), max_iter=MAX_ITER, batch_size=32,
                        random_state=0, n_jobs=estimator_jobs)
    gs = GridSearchCV(est, GRID, cv=3, n_jobs=grid_jobs)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs.fit(X, y)
    return time.perf_counter() - t, gs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--skip-oversubscribed", action="store_true")
    args = parser.parse_args()
    global MAX_ITER
    MAX_ITER = args.max_iter
    header("GridSearchCV(n_jobs=2) over sparsity: SETClassifier n_jobs=1 vs None")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    print(f"# parent: NUMBA_NUM_THREADS env={os.environ.get('NUMBA_NUM_THREADS')}, "
          f"numba.config={numba.config.NUMBA_NUM_THREADS}, cores={os.cpu_count()}")
    # (parallel_config applies its settings when constructed: build each one
    # only when entering it)
    for label, ctx in [("loky n_jobs=2", lambda: parallel_config(backend="loky", n_jobs=2)),
                       ("loky n_jobs=2, inner_max_num_threads=2",
                        lambda: parallel_config(backend="loky", n_jobs=2,
                                                inner_max_num_threads=2))]:
        with ctx():
            seen = Parallel()(delayed(probe)() for _ in range(4))
        for pid, env, config, inside in sorted(set((s[0], s[1], s[2], tuple(s[3]))
                                                   for s in seen)):
            print(f"# {label}: worker pid {pid}: NUMBA_NUM_THREADS env={env}, "
                  f"numba.config={config}, threads inside fit (n_jobs=None)={list(inside)}")

    variants = {
        "grid n_jobs=2, SET n_jobs=1": lambda: search(X, y, 1, 2),
        "grid n_jobs=2, SET n_jobs=None": lambda: search(X, y, None, 2),
        "grid n_jobs=1 (sequential), SET n_jobs=None": lambda: search(X, y, None, 1),
    }
    oversubscribed = "grid n_jobs=2, SET n_jobs=None, inner_max_num_threads=2 (oversubscribed)"
    # warm-up: start the loky workers and load the kernels in them
    search(X, y, 1, 2)
    times = {k: [] for k in variants}
    scores = {}
    for r in range(args.rounds):
        for name, fn in variants.items():
            time.sleep(1.0)  # let other thread pools go idle (untimed)
            t, gs = fn()
            times[name].append(t)
            scores[name] = gs.best_params_, gs.best_score_
        print(f"# round {r + 1}: " + ", ".join(f"{t[-1]:.2f} s" for t in times.values()),
              flush=True)
    # the oversubscribed reference last and once: it is slow, and its workers'
    # spinning threads would disturb whatever runs next
    if not args.skip_oversubscribed:
        time.sleep(1.0)
        t, gs = _forced(X, y)
        times[oversubscribed] = [t]
        scores[oversubscribed] = gs.best_params_, gs.best_score_
    rows = [{"variant": k, "runs": len(v), "median s": median(v), "min s": min(v),
             "max s": max(v),
             "best sparsity": scores[k][0]["sparsity"], "best score": f"{scores[k][1]:.4f}"}
            for k, v in times.items()]
    print(f"# 4 sparsity levels x 3 folds = 12 fits of SETClassifier(256, 256), "
          f"{MAX_ITER} epochs, batch 32, on load_digits ({X.shape[0]} samples); "
          f"{args.rounds} rounds")
    table(rows, ["variant", "runs", "median s", "min s", "max s", "best sparsity",
                 "best score"])
    footer()


def _forced(X, y):
    with parallel_config(backend="loky", inner_max_num_threads=2):
        return search(X, y, None, 2)


if __name__ == "__main__":
    _network  # noqa: B018  (imported so the engine is loaded in the parent too)
    main()
