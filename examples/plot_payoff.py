"""
=============================================
Where sparsity pays: parameters vs. accuracy
=============================================

Is a large sparse network better than a small dense one of the same size?
On scikit-learn's digits data, dense
:class:`~sklearn.neural_network.MLPClassifier` networks of several widths
(scikit-learn's defaults) and truly sparse
:class:`~sklearn_set.SETClassifier` networks (the package's default
recipe) are fitted on one split, and their test accuracy is plotted
against the number of parameters each one stores: weights (connections)
plus biases. ``benchmarks/payoff.py`` prints the same comparison over
several splits, for MNIST too.
"""

# %%
import os
import sys
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

dense = {f"dense ({width},)": MLPClassifier(hidden_layer_sizes=(width,), max_iter=300,
                                            random_state=0)
         for width in (4, 8, 16, 32)}
sparse = {f"SET ({width},) @{sparsity}": SETClassifier(
    hidden_layer_sizes=(width,), sparsity=sparsity, regrowth=regrowth, max_iter=60,
    random_state=0)
    for width, sparsity, regrowth in ((128, 0.95, "random"), (128, 0.9, "random"),
                                      (1024, 0.98, "connected"))}


def parameters(model):
    """Stored weights (connections) plus biases."""
    weights = sum(c.nnz if hasattr(c, "nnz") else c.size for c in model.coefs_)
    return int(weights + sum(b.size for b in model.intercepts_))


# %%
# Fit every network and measure its size and test accuracy
results = {}
print(f"{'model':<20} {'parameters':>10} {'accuracy':>9}")
for kind, models in (("dense", dense), ("SET", sparse)):
    for name, model in models.items():
        model.fit(X_train, y_train)
        results.setdefault(kind, []).append(
            (parameters(model), model.score(X_test, y_test), name))
        print(f"{name:<20} {results[kind][-1][0]:>10} {results[kind][-1][1]:>9.4f}")

# %%
# Accuracy against parameters: a sparse network pays where its point lies
# above the dense curve
fig, ax = plt.subplots(figsize=(6, 4))
for kind, marker in (("dense", "o-"), ("SET", "s")):
    points = sorted(results[kind])
    ax.plot([p for p, _, _ in points], [a for _, a, _ in points], marker, label=kind)
    for p, a, name in points:
        ax.annotate(name, (p, a), textcoords="offset points", xytext=(4, -10), fontsize=7)
ax.set_xscale("log")
ax.set_xlabel("parameters (weights + biases)")
ax.set_ylabel("test accuracy")
ax.set_title("Digits: dense MLPs against SET at equal size")
ax.legend(loc="lower right")
fig.tight_layout()

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    out = os.environ.get("SKLEARN_SET_EXAMPLE_OUT", "payoff.png")
    fig.savefig(out, dpi=110)
    print(f"plot written to {out}")
