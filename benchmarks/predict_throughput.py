"""Prediction throughput: SETClassifier.predict_proba vs MLPClassifier's.

Network 784-1000-1000-1000-10 (as in ``epoch_time.py``), random
MNIST-shaped float32 data (uniform in [0, 1), 10 classes). Each SET model
(sparsity 0.9, 0.99, 0.999) is fitted for one epoch (``partial_fit``) and
MLPClassifier (same ``hidden_layer_sizes``, ``max_iter=1``) for one epoch on
``--fit-rows`` rows: prediction speed does not depend on how well a model is
trained, only on its shape and connection count. Then ``predict_proba``
(input validation included, as a user calls it) is timed on

* a large batch (``--rows``, default 10000): throughput;
* a small batch (``--small``, default 100 rows), ``--calls`` calls per round:
  the per-call overhead (validation, workspaces, thread launches) shows here.

Variants: each SET model with ``n_jobs=None`` (the default: the engine picks
1 or all numba threads as it measures) and ``n_jobs=1`` (same fitted model,
``set_params``); MLPClassifier with OpenBLAS's default threads and with one
BLAS thread (``threadpoolctl``). Runs are interleaved (round r: every
variant once) with an untimed ``--pause`` before each variant, since
OpenBLAS's threads keep spinning after a matrix product; the table reports
medians over rounds, and ``x MLP`` the ratio to the default-threaded
MLPClassifier's median.

    python benchmarks/predict_throughput.py
    python benchmarks/predict_throughput.py --rows 20000 --rounds 7
    python benchmarks/predict_throughput.py --no-mlp --sparsities 0.99
"""

import argparse
import contextlib
import time
import warnings

import numpy as np
from _common import OtherLoad, footer, header, median, table
from sklearn.exceptions import ConvergenceWarning

from sklearn_set import SETClassifier

LAYERS = (784, 1000, 1000, 1000, 10)


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()
            if i.get("user_api") == "blas"]


def one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return lambda: threadpool_limits(1, user_api="blas")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.9, 0.99, 0.999])
    parser.add_argument("--rows", type=int, default=10000, help="large batch (rows)")
    parser.add_argument("--small", type=int, default=100, help="small batch (rows)")
    parser.add_argument("--calls", type=int, default=20,
                        help="small-batch calls per round (median taken)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fit-rows", type=int, default=2048)
    parser.add_argument("--pause", type=float, default=0.5,
                        help="untimed sleep before each variant's measurement (s)")
    parser.add_argument("--no-mlp", action="store_true", help="skip MLPClassifier")
    args = parser.parse_args()

    header(f"predict_proba throughput: SETClassifier vs MLPClassifier, "
           f"{'-'.join(map(str, LAYERS))}")
    print(f"# BLAS (api, threads): {blas_info()}")
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    n = max(args.rows, args.fit_rows, args.small)
    X = rng.random((n, LAYERS[0]), dtype=np.float32)
    y = rng.integers(0, LAYERS[-1], n)
    X_fit, y_fit = X[:args.fit_rows], y[:args.fit_rows]
    X_big, X_small = X[:args.rows], X[:args.small]

    # (name, estimator, n_jobs to set or None, context factory for the call)
    variants = []
    nullctx = contextlib.nullcontext
    for s in args.sparsities:
        model = SETClassifier(hidden_layer_sizes=LAYERS[1:-1], sparsity=s, batch_size=128,
                              random_state=0)
        model.partial_fit(X_fit, y_fit, classes=np.arange(LAYERS[-1]))
        variants.append((f"SET s={s:g}", model, "None (default)", None, nullctx))
        variants.append((f"SET s={s:g}", model, "1", 1, nullctx))
    if not args.no_mlp:
        mlp = MLPClassifier(hidden_layer_sizes=LAYERS[1:-1], batch_size=128, max_iter=1,
                            random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X_fit, y_fit)
        print(f"# MLPClassifier weights dtype: {mlp.coefs_[0].dtype}")
        variants.append(("MLPClassifier", mlp, "BLAS default", None, nullctx))
        single = one_blas_thread()
        if single is not None:
            variants.append(("MLPClassifier", mlp, "BLAS 1 thread", None, single))

    def call(model, n_jobs, ctx, X):
        if isinstance(model, SETClassifier):
            model.set_params(n_jobs=n_jobs)
        with ctx():
            return model.predict_proba(X)

    # warm-up: numba cache load, workspaces, the adaptive thread chooser
    for _, model, _, n_jobs, ctx in variants:
        for _ in range(3):
            proba = call(model, n_jobs, ctx, X_small)
        proba = call(model, n_jobs, ctx, X_big)
        assert proba.shape == (args.rows, LAYERS[-1])
        assert np.allclose(proba.sum(axis=1), 1, atol=1e-4)

    big = [[] for _ in variants]
    small = [[] for _ in variants]
    others = [[] for _ in variants]
    for r in range(args.rounds):
        for v, (_, model, _, n_jobs, ctx) in enumerate(variants):
            time.sleep(args.pause)
            with OtherLoad() as other:
                t = time.perf_counter()
                call(model, n_jobs, ctx, X_big)
                big[v].append(time.perf_counter() - t)
                per_call = []
                for _ in range(args.calls):
                    t = time.perf_counter()
                    call(model, n_jobs, ctx, X_small)
                    per_call.append(time.perf_counter() - t)
                small[v].append(median(per_call))
            others[v].append(other.cores)
        print(f"# round {r + 1}: " + ", ".join(
            f"{name} [{threads}] {big[v][-1]:.3f} s" for v, (name, _, threads, _, _)
            in enumerate(variants)), flush=True)

    mlp_v = next((v for v, var in enumerate(variants) if var[0] == "MLPClassifier"), None)
    rows = []
    for v, (name, model, threads, _, _) in enumerate(variants):
        t_big, t_small = median(big[v]), median(small[v])
        if isinstance(model, SETClassifier):
            connections = int(model.n_connections_.sum())
            sparsity = f"{model.sparsity_:.4f}"
        else:
            connections = sum(c.size for c in model.coefs_)
            sparsity = "0"
        row = {"model": name, "threads": threads, "sparsity": sparsity,
               "connections": connections,
               f"rows/s ({args.rows})": args.rows / t_big,
               f"s/call ({args.rows})": t_big,
               f"rows/s ({args.small})": args.small / t_small,
               f"ms/call ({args.small})": 1e3 * t_small,
               "other load (max)": f"{max(others[v]):.2f}"}
        if mlp_v is not None:
            row["x MLP (large)"] = f"{median(big[mlp_v]) / t_big:.1f}x"
            row["x MLP (small)"] = f"{median(small[mlp_v]) / t_small:.1f}x"
        rows.append(row)
    print(f"# {args.rounds} rounds; large batch {args.rows} rows (one call per round), "
          f"small batch {args.small} rows (median of {args.calls} calls per round)")
    table(rows, ["model", "threads", "sparsity", "connections", f"rows/s ({args.rows})",
                 f"s/call ({args.rows})", f"rows/s ({args.small})",
                 f"ms/call ({args.small})", "x MLP (large)", "x MLP (small)",
                 "other load (max)"])
    print("# x MLP: MLPClassifier's (BLAS default threads) median time / this row's; "
          "other load: cores' worth of CPU used by other processes (0 = quiet)")
    footer()


if __name__ == "__main__":
    main()
