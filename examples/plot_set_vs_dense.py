"""
=========================================
SET against a dense MLP of the same shape
=========================================

A 64-256-256-10 network on scikit-learn's digits data, trained with the
same optimizer settings (SGD with Nesterov momentum, batch 32) as a dense
:class:`~sklearn.neural_network.MLPClassifier` and as a truly sparse
:class:`~sklearn_set.SETClassifier` at three sparsity levels. The table
compares test accuracy, fit time and the number of weights each network
holds.
"""

# %%
import os
import sys
import time
import warnings

import matplotlib

if __name__ == "__main__" and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

sgd = dict(batch_size=32, learning_rate_init=0.01, momentum=0.9, max_iter=100,
           random_state=0)
models = {"dense MLP": MLPClassifier(hidden_layer_sizes=(256, 256), solver="sgd", **sgd)}
for sparsity in (0.9, 0.98, 0.995):
    models[f"SET {sparsity}"] = SETClassifier(hidden_layer_sizes=(256, 256),
                                              sparsity=sparsity, **sgd)

# %%
# Fit each model and compare
rows = []
print(f"{'model':<12} {'test acc':>9} {'weights':>8} {'epochs':>7} {'fit s':>7}")
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    if hasattr(model, "n_connections_"):
        weights = int(model.n_connections_.sum())
    else:
        weights = sum(c.size for c in model.coefs_)
    rows.append((name, model.score(X_test, y_test), weights, model.n_iter_, seconds))
    print(f"{name:<12} {rows[-1][1]:>9.4f} {weights:>8} {model.n_iter_:>7} {seconds:>7.2f}")

# %%
# Accuracy against the number of weights
fig, ax = plt.subplots(figsize=(6, 4))
for name, score, weights, _, _ in rows:
    ax.scatter(weights, score, s=60, label=name)
ax.set_xscale("log")
ax.set_xlabel("weights in the network")
ax.set_ylabel("test accuracy")
ax.set_title("Digits: dense MLP vs SET")
ax.legend()
fig.tight_layout()

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    out = os.environ.get("SKLEARN_SET_EXAMPLE_OUT", "set_vs_dense.png")
    fig.savefig(out, dpi=110)
    print(f"plot written to {out}")
