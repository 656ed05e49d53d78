"""AccSET against SET at its starting sparsity, over random seeds (not a
speed benchmark).

Digits (``StandardScaler`` fitted on the training part, stratified 75/25
split with random_state 0), 64-256-256-10, ``max_iter=150``: for each seed,
the test accuracy of ``SETClassifier(sparsity=0.8)``, and the final
sparsity, test accuracy and epochs of ``AccSETClassifier(sparsity=0.8)``
(its other parameters at their defaults). Both use the estimators' default
recipe.

    python benchmarks/accset_seeds.py
    python benchmarks/accset_seeds.py --seeds 0 1 2 3 4
"""

import argparse
import warnings

from _common import footer, header, table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import AccSETClassifier, SETClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sparsity", type=float, default=0.8)
    args = parser.parse_args()
    header("AccSET against SET at its starting sparsity, digits 64-256-256-10")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    rows = []
    for seed in args.seeds:
        fixed, steered = (make_pipeline(StandardScaler(), Estimator(
            hidden_layer_sizes=(256, 256), sparsity=args.sparsity, max_iter=150,
            random_state=seed)).fit(X_train, y_train)
            for Estimator in (SETClassifier, AccSETClassifier))
        rows.append({"random_state": seed,
                     "SET test accuracy": fixed.score(X_test, y_test),
                     "AccSET final sparsity": steered[-1].sparsity_,
                     "AccSET test accuracy": steered.score(X_test, y_test),
                     "AccSET epochs": steered[-1].n_iter_})
    table(rows, ["random_state", "SET test accuracy", "AccSET final sparsity",
                 "AccSET test accuracy", "AccSET epochs"])
    footer()


if __name__ == "__main__":
    main()
