"""Training cost and memory as the number of connections grows, 1e5 -> 1e8.

Network 784-H-H-10 (H up to 500000 units), sparsity set so the network has
the requested number of connections (Erdos-Renyi allocation), float32, batch
128, ReLU, softmax output, random data (uniform inputs, 10 classes). Each size
runs in a fresh subprocess so that its peak resident memory (``ru_maxrss``)
is its own; the subprocess builds the network, trains one epoch (after a
warm-up batch) on about 2e9 / connections samples (2 batches to 8192
samples: the large networks get short epochs), and evolves the topology
(prune 30% + regrow) twice.

Columns: the connections, H, the engine's time per training sample (epoch
time / samples), the time of one evolution (prune + regrow of every layer),
the peak RSS of the process, and what a dense network of the same shape
needs for its float32 weights alone, and for SGD training (weights,
gradients, velocities: 3x). A least-squares line is then fitted to
time-per-sample and to evolution time against connections (slope, R^2).

    python benchmarks/scaling.py
    python benchmarks/scaling.py --max-connections 1e7 --n-samples 512
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from _common import footer, header, table

CHILD = r"""
import json, resource, sys, time
import numpy as np
from sklearn_set._engine.network import SparseMLP
from sklearn_set._evolution.policies import SETPolicy

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

H, connections, n_samples, batch = (int(float(a)) for a in sys.argv[1:5])
layers = (784, H, H, 10)
total = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
sparsity = 1.0 - connections / total
rng = np.random.default_rng(0)
X = rng.random((n_samples, layers[0]), dtype=np.float32)
y = rng.integers(0, layers[-1], n_samples).astype(np.int32)
sw = np.ones(n_samples, np.float32)
# warm the kernels (numba cache load) on a tiny network first
tiny = SparseMLP((784, 20, 20, 10), activation="relu", output="softmax").initialize(0.5, rng)
kw = dict(learning_rate=0.01, momentum=0.9, nesterov=True, alpha=1e-4, dropout=0.0,
          shuffle=True, rng=rng)
tiny.train_epoch(X[:batch], y[:batch], sw[:batch], batch_size=batch, **kw)
SETPolicy().evolve(tiny, 0.3, rng)
base_rss = rss()
t = time.perf_counter()
net = SparseMLP(layers, activation="relu", output="softmax").initialize(sparsity, rng)
t_init = time.perf_counter() - t
net.train_epoch(X[:batch], y[:batch], sw[:batch], batch_size=batch, **kw)  # warm caches
t = time.perf_counter()
net.train_epoch(X, y, sw, batch_size=batch, **kw)
t_epoch = time.perf_counter() - t
evolve = []
for _ in range(2):
    t = time.perf_counter()
    SETPolicy().evolve(net, 0.3, rng)
    evolve.append(time.perf_counter() - t)
print(json.dumps(dict(H=H, connections=int(net.n_connections.sum()), sparsity=sparsity,
                      init_s=t_init, epoch_s=t_epoch, evolve_s=float(np.median(evolve)),
                      peak_rss=rss(), base_rss=base_rss, dense_weights=4 * total)))
"""


def linear_fit(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(x, y, 1)
    pred = slope * x + intercept
    r2 = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return slope, intercept, r2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,3e5,1e6,3e6,1e7,3e7,1e8",
                        help="connection counts")
    parser.add_argument("--max-connections", type=float, default=None)
    parser.add_argument("--n-samples", type=int, default=None,
                        help="samples per timed epoch (default: about 2e9 / "
                             "connections, between 2 batches and 8192)")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    header(f"scaling: 784-H-H-10, batch {args.batch}")
    sizes = [float(s) for s in args.sizes.split(",")]
    if args.max_connections:
        sizes = [s for s in sizes if s <= args.max_connections]
    rows, results = [], []
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for c in sizes:
        # width: about 70 connections per hidden unit (ER eps ~20), capped
        H = int(min(500_000, max(1000, round(c / 70, -2))))
        n_samples = args.n_samples or int(
            min(8192, max(2, round(2e9 / c / args.batch))) * args.batch)
        out = subprocess.run([sys.executable, "-c", CHILD, str(H), str(int(c)),
                              str(n_samples), str(args.batch)],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print(f"# size {c:g} failed:\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        per_sample = r["epoch_s"] / n_samples
        r["n_samples"] = n_samples
        rows.append({
            "connections": f"{r['connections']:.3g}", "H": r["H"], "samples": n_samples,
            "sparsity": f"{r['sparsity']:.6f}",
            "init s": r["init_s"], "epoch s": r["epoch_s"],
            "us/sample": 1e6 * per_sample,
            "ns/conn/sample": 1e9 * per_sample / r["connections"],
            "evolve s": r["evolve_s"],
            "evolve/epoch(60k)": f"{100 * r['evolve_s'] / (per_sample * 60000):.2f}%",
            "peak RSS MiB": r["peak_rss"] / 2**20,
            "RSS B/conn": (r["peak_rss"] - r["base_rss"]) / r["connections"],
            "dense W MiB": r["dense_weights"] / 2**20,
            "dense SGD MiB": 3 * r["dense_weights"] / 2**20,
        })
        print(f"# done {c:g}: epoch {r['epoch_s']:.2f} s, peak RSS "
              f"{r['peak_rss'] / 2**20:.0f} MiB", flush=True)
    table(rows, list(rows[0]))
    print("# RSS B/conn: (peak RSS - RSS before building the network) / connections")
    print("# evolve/epoch(60k): one evolution over the time of a 60000-sample epoch")
    if len(results) >= 3:
        conn = [r["connections"] for r in results]
        per = [r["epoch_s"] / r["n_samples"] for r in results]
        s, i, r2 = linear_fit(conn, per)
        print(f"# fit time/sample = {s * 1e9:.3f} ns * connections + {i * 1e6:.1f} us, "
              f"R^2 = {r2:.4f}")
        ev = [r["evolve_s"] for r in results]
        s, i, r2 = linear_fit(conn, ev)
        print(f"# fit evolve time = {s * 1e9:.2f} ns * connections + {i * 1e3:.1f} ms, "
              f"R^2 = {r2:.4f}")
        mem = [r["peak_rss"] - r["base_rss"] for r in results]
        s, i, r2 = linear_fit(conn, mem)
        print(f"# fit peak RSS growth = {s:.1f} B * connections + {i / 2**20:.1f} MiB, "
              f"R^2 = {r2:.4f}")
    footer()


if __name__ == "__main__":
    main()
