"""What not rewiring dense layers changes (accuracy, not speed).

A layer that the Erdos-Renyi allocation makes dense has no free position, so
SET's evolution could only replace its pruned weights by fresh small ones at
the same places; the package leaves dense layers alone, so they keep their
weights. This script compares that ("kept") with rewiring them ("rewired", a
policy whose ``evolves`` accepts every layer) on digits (StandardScaler +
64-256-256-10 SETClassifier, 100 epochs, 5-fold stratified shuffled CV,
random_state 0) at sparsity 0 (all layers dense), 0.5 (the output layer
dense) and 0.9 (none).

    python benchmarks/dense_layer_rewiring.py
"""

import warnings

import numpy as np
from _common import footer, header, table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier
from sklearn_set._engine.layer import erdos_renyi_allocation
from sklearn_set._evolution.policies import ConnectivityPolicy


def main():
    header("dense layers: rewired or kept (the package's rule), digits 64-256-256-10")
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    shapes = [(64, 256), (256, 256), (256, 10)]
    kept = ConnectivityPolicy.evolves
    rows = []
    for sparsity in (0.0, 0.5, 0.9):
        counts, _ = erdos_renyi_allocation(shapes, sparsity)
        dense = [i + 1 for i, (c, (a, b)) in enumerate(zip(counts, shapes)) if c == a * b]
        row = {"sparsity": sparsity, "dense layers": ",".join(map(str, dense)) or "none"}
        for name, evolves in (("rewired", lambda self, i, layer: True), ("kept", kept)):
            ConnectivityPolicy.evolves = evolves
            model = make_pipeline(StandardScaler(), SETClassifier(
                hidden_layer_sizes=(256, 256), sparsity=sparsity, max_iter=100,
                random_state=0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                scores = cross_val_score(model, X, y, cv=cv)
            row[f"{name} mean"] = scores.mean()
            row[f"{name} std"] = scores.std()
        ConnectivityPolicy.evolves = kept
        row["difference (points)"] = 100 * (row["kept mean"] - row["rewired mean"])
        rows.append(row)
    table(rows, ["sparsity", "dense layers", "rewired mean", "rewired std", "kept mean",
                 "kept std", "difference (points)"])
    footer()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
