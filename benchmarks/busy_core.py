"""Training time on a quiet machine and with another process spinning on one core.

Two workloads, each timed with the estimator's ``n_jobs=None`` (the
default), ``n_jobs=1`` and ``n_jobs=2``:

- ``SET eps=20 slice``: ``--batches`` minibatches of 128 samples through
  784-1000-1000-1000-10 at the classic SET density (Erdos-Renyi eps=20,
  about 126k connections), random Fashion-MNIST-shaped data. Timed as
  ``SparseMLP.train_epoch`` inside ``kernel_threads(n_jobs)``, the engine
  call that ``fit`` makes for every epoch (one fresh thread context per
  slice, as ``partial_fit`` has).
- ``wine fit``: ``SETClassifier(hidden_layer_sizes=(100,), max_iter=
  --small-epochs)`` fitted on the standardised wine data set (178 samples,
  batch 32), the size at which a user saw ``sklearn-set train`` take 14.7 s
  instead of 0.4 s.

The "busy" rows run while a separate Python process spins (``while True:
pass``) on one core (``--pin CORE`` pins it there; by default the scheduler
places it, as it would another program). Rounds interleave everything
(quiet then busy, every ``n_jobs`` in turn, 0.3 s untimed pause before each
run); the table gives medians over rounds and each row's ratio to the
``n_jobs=1`` row of the same workload and load, both as a ratio of medians
and as the median of per-round ratios (runs adjacent in time, which cancels
much of the drift of a shared machine). ``other load`` is the CPU
used by other processes during the timed runs, in cores (0: quiet; 1: the
spinner alone).

    python benchmarks/busy_core.py
    python benchmarks/busy_core.py --rounds 7 --batches 100
    python benchmarks/busy_core.py --loads quiet --batches 400   # long quiet runs
"""

import argparse
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from _common import OtherLoad, footer, header, median, set_eps20_sparsity, table
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier
from sklearn_set._engine.threads import kernel_threads

LAYERS = (784, 1000, 1000, 1000, 10)
N_JOBS = (None, 1, 2)


class Spinner:
    """A separate process that keeps one core busy while the block runs."""

    def __init__(self, pin=None):
        self.pin = pin

    def __enter__(self):
        code = "import os, sys\n"
        if self.pin is not None:
            code += f"os.sched_setaffinity(0, {{{self.pin}}})\n"
        code += "sys.stdout.write('ready\\n'); sys.stdout.flush()\nwhile True:\n    pass\n"
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        self.proc.stdout.readline()
        time.sleep(0.2)  # let the scheduler settle it on a core
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        return False


def big_workload(n_batches):
    eps20, _ = set_eps20_sparsity(LAYERS)
    rng = np.random.default_rng(0)
    n = n_batches * 128
    X = rng.random((n, LAYERS[0]), dtype=np.float32)
    y = rng.integers(0, LAYERS[-1], n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SETClassifier(hidden_layer_sizes=LAYERS[1:-1], sparsity=eps20, batch_size=128,
                              max_iter=1, random_state=0).fit(X[:256], y[:256])
    net = model._network
    weight = np.ones(n)
    train_rng = np.random.default_rng(1)

    def run(n_jobs):
        with kernel_threads(n_jobs):
            net.train_epoch(X, y, weight, batch_size=128, learning_rate=0.01, momentum=0.9,
                            nesterov=True, alpha=1e-4, dropout=0.0, shuffle=True,
                            rng=train_rng)
        return net

    return run, f"{int(model.n_connections_.sum())} connections"


def small_workload(n_epochs):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)

    def run(n_jobs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SETClassifier(hidden_layer_sizes=(100,), max_iter=n_epochs,
                                  random_state=0, n_jobs=n_jobs).fit(X, y)
        return model._network

    return run, f"{X.shape[0]} samples, {n_epochs} epochs"


def batch_counts(net):
    """Training batches the adaptive choice ran at each thread count."""
    chooser = net._workspace.get(True, {}).get("threads")
    return dict(chooser.batches) if chooser is not None else {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40,
                        help="minibatches in the SET eps=20 slice")
    parser.add_argument("--small-epochs", type=int, default=200, help="epochs of the wine fit")
    parser.add_argument("--pin", type=int, default=None,
                        help="pin the spinning process to this core")
    parser.add_argument("--loads", default="quiet,busy",
                        help="which of quiet,busy to run (comma-separated)")
    parser.add_argument("--pause", type=float, default=0.3,
                        help="untimed sleep before each timed run (s)")
    args = parser.parse_args()

    header("training time, quiet vs one core busy: n_jobs=None (default), 1, 2")
    workloads = {"SET eps=20 slice": big_workload(args.batches),
                 "wine fit": small_workload(args.small_epochs)}
    print(f"# SET eps=20 slice: {args.batches} batches of 128, "
          f"{workloads['SET eps=20 slice'][1]}; wine fit: {workloads['wine fit'][1]}")
    print(f"# spinner: {'pinned to core %d' % args.pin if args.pin is not None else 'unpinned'}")
    # warm-up: numba cache load, workspaces (not timed)
    for run, _ in workloads.values():
        for n_jobs in N_JOBS:
            run(n_jobs)

    times, others, shares = {}, {}, {}
    for r in range(args.rounds):
        for load in args.loads.split(","):
            spinner = Spinner(args.pin) if load == "busy" else None
            if spinner:
                spinner.__enter__()
            try:
                for name, (run, _) in workloads.items():
                    for n_jobs in N_JOBS:
                        time.sleep(args.pause)
                        with OtherLoad() as other:
                            t = time.perf_counter()
                            net = run(n_jobs)
                            t = time.perf_counter() - t
                        key = (name, load, n_jobs)
                        if n_jobs is None:
                            # counts since the chooser began: the slice's
                            # network (and chooser) lives across runs
                            before = shares.get(("counts", name), {})
                            now = batch_counts(net)
                            if name == "SET eps=20 slice":
                                shares[("counts", name)] = now
                            else:
                                before = {}
                            runs = {c: now[c] - before.get(c, 0) for c in now}
                            many = sum(v for c, v in runs.items() if c > 1)
                            shares.setdefault(key, []).append(many / max(1, sum(runs.values())))
                        times.setdefault(key, []).append(t)
                        others.setdefault(key, []).append(other.cores)
            finally:
                if spinner:
                    spinner.__exit__()
        print(f"# round {r + 1}: " + ", ".join(
            f"{k[0]} {k[1]} n_jobs={k[2]} {v[-1]:.3f} s" for k, v in times.items()), flush=True)

    rows = []
    for (name, load, n_jobs), ts in times.items():
        one = times[(name, load, 1)]
        # paired: this run over the n_jobs=1 run next to it in time
        paired = median([t / o for t, o in zip(ts, one)])
        rows.append({"workload": name, "load": load, "n_jobs": str(n_jobs),
                     "median s": median(ts), "min s": min(ts), "max s": max(ts),
                     "vs n_jobs=1": f"{median(ts) / median(one):.2f}x",
                     "paired ratio": f"{paired:.2f}x",
                     "other load": f"{median(others[(name, load, n_jobs)]):.2f}",
                     "batches on 2 threads": (f"{100 * median(shares[(name, load, n_jobs)]):.0f}%"
                                              if (name, load, n_jobs) in shares else "")})
    print(f"# {args.rounds} rounds, {os.cpu_count()} cores; medians over rounds")
    table(rows, ["workload", "load", "n_jobs", "median s", "min s", "max s", "vs n_jobs=1",
                 "paired ratio", "other load", "batches on 2 threads"])
    print("# vs n_jobs=1: ratio of medians; paired ratio: median over rounds of this run's "
          "time over the n_jobs=1 run of the same round, workload and load")
    print("# batches on 2 threads: share of the default's (n_jobs=None) training batches "
          "that the adaptive choice ran on 2 threads (median over rounds)")
    footer()


if __name__ == "__main__":
    main()
