"""Cost of connectivity_profile() against one training epoch.

The expected connectivity of an untrained 784-1000-1000-1000-10 architecture
(the SET paper's Fashion-MNIST network) at several sparsity levels, timed
(median of 20 calls each), next to one SETClassifier epoch of the eps=20
network on 60,000 random Fashion-MNIST-shaped samples (batch 128) in the same
run. The bound it checks: at most 2% of an epoch at eps=20.

    python benchmarks/connectivity_cost.py
"""

import time
import warnings

import numpy as np
from _common import footer, header, median, set_eps20_sparsity, table

from sklearn_set import SETClassifier, connectivity_profile

LAYERS = (784, 1000, 1000, 1000, 10)


def main():
    header("connectivity_profile vs one epoch, 784-1000-1000-1000-10")
    eps20, _ = set_eps20_sparsity(LAYERS)
    rng = np.random.default_rng(0)
    X = rng.random((60000, LAYERS[0]), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    clf = SETClassifier(hidden_layer_sizes=LAYERS[1:-1], sparsity=eps20, batch_size=128,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:2048], y[:2048], classes=np.arange(10))  # warm-up
        epochs = []
        for _ in range(3):
            start = time.perf_counter()
            clf.partial_fit(X, y)
            epochs.append(time.perf_counter() - start)
    epoch = median(epochs)
    rows = []
    for name, level in [("eps=20", eps20), ("0.99", 0.99), ("0.995", 0.995),
                        ("0.999", 0.999), ("0.9995", 0.9995)]:
        connectivity_profile(LAYERS, [level])
        times = []
        for _ in range(20):
            start = time.perf_counter()
            profile = connectivity_profile(LAYERS, [level])
            times.append(time.perf_counter() - start)
        rows.append({"sparsity": name, "connections": int(profile["connections"][0]),
                     "outputs reached": float(profile["outputs_reached"][0]),
                     "active fraction": float(profile["active_fraction"][0]),
                     "profile ms": 1000 * median(times),
                     "% of an eps=20 epoch": f"{100 * median(times) / epoch:.3f}"})
    print(f"# one eps=20 epoch (median of 3): {epoch:.3f} s")
    table(rows, ["sparsity", "connections", "outputs reached", "active fraction",
                 "profile ms", "% of an eps=20 epoch"])
    footer()


if __name__ == "__main__":
    main()
