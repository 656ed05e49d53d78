"""One training epoch: SETClassifier vs scikit-learn's dense MLPClassifier.

Network 784-1000-1000-1000-10 (the SET paper's Fashion-MNIST network), random
Fashion-MNIST-shaped float32 data (uniform in [0, 1), 10 classes), minibatch
128, SGD with momentum 0.9. One epoch of each estimator is one
``partial_fit(X, y)`` call (input validation included for both); for SET that
call also evolves the topology (prune + regrow) first, exactly as ``fit`` does
between epochs. Runs are interleaved in one process (round r: every SET
sparsity, then the MLP) and the table reports medians over rounds. Between two
timed epochs the script sleeps ``--pause`` seconds (untimed): OpenBLAS's
threads keep spinning for a while after the MLP's last matrix product, and
numba's threads, which meet at a barrier after every kernel, lose whole
scheduler time slices to them (measured: SET epochs up to 2x slower right
after an MLP epoch without the pause).

    python benchmarks/epoch_time.py                 # 60000 samples, 5 rounds
    python benchmarks/epoch_time.py --n-samples 10000 --rounds 3
    python benchmarks/epoch_time.py --no-mlp --eps20-only \
        --regrowth random connected gradient   # overhead of each regrowth rule
    python benchmarks/epoch_time.py --eps20-only --dtype float32 bfloat16
"""

import argparse
import time
import warnings

import numpy as np
from _common import footer, header, median, set_eps20_sparsity, table, timed_epoch

from sklearn_set import SETClassifier
from sklearn_set._evolution.policies import ConnectivityPolicy

LAYERS = (784, 1000, 1000, 1000, 10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=60000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="SETClassifier n_jobs (default None: numba's threads)")
    parser.add_argument("--no-mlp", action="store_true", help="skip MLPClassifier")
    parser.add_argument("--pause", type=float, default=1.0,
                        help="untimed sleep between two timed epochs (s)")
    parser.add_argument("--regrowth", nargs="+", default=["random"],
                        choices=["random", "connected", "gradient"],
                        help="regrowth rules to time (one SET model per rule and level)")
    parser.add_argument("--eps20-only", action="store_true",
                        help="only the eps=20 sparsity level")
    parser.add_argument("--dtype", nargs="+", default=["float32"],
                        choices=["float32", "bfloat16", "float64"],
                        help="SETClassifier dtypes to time (rows other than float32 "
                             "are named with a suffix, e.g. 'SET eps=20 bf16')")
    args = parser.parse_args()

    header("epoch time: SETClassifier vs MLPClassifier, 784-1000-1000-1000-10, batch 128")
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.random((args.n_samples, LAYERS[0]), dtype=np.float32)
    y = rng.integers(0, LAYERS[-1], args.n_samples)
    classes = np.arange(LAYERS[-1])

    eps20, n20 = set_eps20_sparsity(LAYERS)
    print(f"# ER eps=20 on {'-'.join(map(str, LAYERS))}: {n20} connections, "
          f"sparsity {eps20:.6f}")

    # time spent in evolve (prune + regrow) inside partial_fit
    evolve_time = {}
    original_evolve = ConnectivityPolicy.evolve

    def timed_evolve(self, network, *a, **k):
        t = time.perf_counter()
        out = original_evolve(self, network, *a, **k)
        evolve_time[id(network)] = evolve_time.get(id(network), 0.0) + time.perf_counter() - t
        return out

    ConnectivityPolicy.evolve = timed_evolve

    models = {}
    levels = [("SET eps=20", eps20), ("SET s=0.99", 0.99), ("SET s=0.999", 0.999)]
    suffixes = {"float32": "", "bfloat16": " bf16", "float64": " f64"}
    for rule in args.regrowth:
        for level, s in levels[:1] if args.eps20_only else levels:
            for dtype in args.dtype:
                name = level + (f" {rule}" if len(args.regrowth) > 1 else "") + suffixes[dtype]
                models[name] = SETClassifier(
                    hidden_layer_sizes=LAYERS[1:-1], sparsity=s, batch_size=128,
                    learning_rate_init=0.01, momentum=0.9, random_state=0,
                    n_jobs=args.n_jobs, regrowth=rule, dtype=dtype)
    if not args.no_mlp:
        models["MLPClassifier"] = MLPClassifier(
            solver="sgd", hidden_layer_sizes=LAYERS[1:-1], batch_size=128,
            momentum=0.9, random_state=0)

    # warm-up: initialisation, numba cache load, first epoch (not timed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in models.values():
            model.partial_fit(X[:2048], y[:2048], classes=classes)

    times = {name: [] for name in models}
    evolves = {name: [] for name in models}
    others = {name: [] for name in models}
    for r in range(args.rounds):
        for name, model in models.items():
            time.sleep(args.pause)
            net = getattr(model, "_network", None)
            before = evolve_time.get(id(net), 0.0)
            seconds, other_load = timed_epoch(model, X, y)
            times[name].append(seconds)
            others[name].append(other_load)
            net = getattr(model, "_network", None)
            evolves[name].append(evolve_time.get(id(net), 0.0) - before)
        print(f"# round {r + 1}: " + ", ".join(
            f"{n} {t[-1]:.2f} s (other load {others[n][-1]:.2f})" for n, t in times.items()),
            flush=True)

    ConnectivityPolicy.evolve = original_evolve
    mlp = median(times["MLPClassifier"]) if "MLPClassifier" in times else None
    rows = []
    for name, model in models.items():
        t = median(times[name])
        row = {"model": name, "epoch s (median)": t,
               "min": min(times[name]), "max": max(times[name]),
               "other load (max)": f"{max(others[name]):.2f}"}
        if name.startswith("SET"):
            row["sparsity"] = f"{model.sparsity_:.5f}"
            row["connections"] = int(model.n_connections_.sum())
            ev = median(evolves[name])
            row["evolve s"] = ev
            row["evolve %"] = f"{100 * ev / t:.2f}"
            if mlp:
                row["speed-up vs MLP"] = f"{mlp / t:.1f}x"
                # paired ratio: same round, adjacent in time
                ratios = [m / s for m, s in zip(times["MLPClassifier"], times[name])]
                row["paired ratio (median)"] = f"{median(ratios):.1f}x"
        else:
            row["sparsity"] = "0"
            row["connections"] = sum(a * b for a, b in zip(LAYERS[:-1], LAYERS[1:]))
            row["dtype"] = str(model.coefs_[0].dtype)
        rows.append(row)
    print(f"# {args.n_samples} samples, {args.rounds} rounds, batch 128")
    table(rows, ["model", "sparsity", "connections", "epoch s (median)", "min", "max",
                 "other load (max)", "evolve s", "evolve %", "speed-up vs MLP",
                 "paired ratio (median)"])
    print("# other load: cores' worth of CPU used by other processes (or stolen by the "
          "hypervisor) during the timed epoch; 0 = quiet machine")
    footer()


if __name__ == "__main__":
    main()
