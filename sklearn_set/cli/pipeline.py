"""The model that ``sweep`` and ``train`` fit (``StandardScaler`` and a SET
estimator), and the checks they run before fitting it."""

import re
import time
import warnings

import numpy as np

from .._preflight import check_fits_memory, kernels_need_compiling
from ._options import flag
from .io import UsageError, last_line

FIRST_RUN = ("First run: numba is compiling the kernels, once per installation (half a "
             "minute or more")


# the options that set an estimator parameter: args.DEST -> parameter; None
# (an option not given, without a default of its own) keeps the estimator's
ESTIMATOR_PARAMETERS = {"hidden": "hidden_layer_sizes", "epochs": "max_iter",
                        "seed": "random_state", "regrowth": "regrowth",
                        "activation": "activation"}


def in_option_terms(text, args):
    """``text`` with the estimator parameters that an option sets named by
    that option, as the user typed it (or would type it): "estimator
    parameter STEP__NAME" of a checkpoint, and the names with an underscore
    (``hidden_layer_sizes``; not ``activation``, also an English word)."""
    for dest, parameter in ESTIMATOR_PARAMETERS.items():
        option = flag(args, dest, "--" + parameter.replace("_", "-"))
        bare = rf"|\b{parameter}\b" if "_" in parameter else ""
        text = re.sub(rf"estimator parameter \w+__{parameter}\b{bare}", option, text)
    return re.sub(r"\bsparsity=", "--sparsity ", text)


def scaled_set_pipeline(args, sparsity, n_jobs=None):
    """``StandardScaler`` + the SET estimator the arguments describe."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .. import AccSETClassifier, SETClassifier

    cls = AccSETClassifier if args.accset else SETClassifier
    given = {parameter: getattr(args, dest) for dest, parameter in ESTIMATOR_PARAMETERS.items()}
    return make_pipeline(StandardScaler(), cls(
        sparsity=sparsity, n_jobs=n_jobs,
        **{name: value for name, value in given.items() if value is not None}))


def check_classification_data(y, what):
    """The classes and their counts; a single class is refused."""
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise UsageError(f"{what}: the target has a single class ({classes[0].item()!r})")
    return classes, counts


def check_network_sizes(pipeline, levels, X, n_classes, args, n_fits=1):
    """Refuse, before any fit, the levels whose network cannot be built: no
    connection left in a layer, or ``n_fits`` of them (the fits that run at
    once) too large for the memory, by the estimator's own check (its
    message in the terms of the options ``args``)."""
    from sklearn.base import clone

    refused, empty = [], []
    for level in levels:
        try:
            check_fits_memory(clone(pipeline[-1]).set_params(sparsity=level), *X.shape,
                              n_classes, n_fits=n_fits)
        except ValueError as exc:  # a layer left without connections
            empty.append((level, last_line(exc)))
        except MemoryError as exc:
            refused.append((level, str(exc)))
    if empty:  # every such level at once, so that one correction suffices
        which = ", ".join(_level(level) for level, _ in empty)
        raise UsageError(f"sparsity {which}: {empty[0][1]}")
    if refused:
        which = ", ".join(_level(level) for level, _ in refused)
        fitting = [level for level in levels if level > refused[-1][0]]
        hint = (f" (from sparsity {fitting[0]:g} on it fits: drop the lower levels)"
                if len(levels) > 1 and fitting else "")
        raise UsageError(f"the network does not fit in memory at sparsity {which}{hint}: "
                         + in_option_terms(refused[0][1], args))


def _level(level):
    return level if isinstance(level, str) else f"{level:g}"


def compile_kernels(pipeline, X, y):
    """On a first run, compile the kernels in this process with a tiny fit,
    saying so, so that parallel workers load them from the cache instead of
    each compiling them, and no fit's time includes compilation."""
    from sklearn.base import clone

    if not kernels_need_compiling():
        return
    print(FIRST_RUN + ") ...", end=" ", flush=True)
    start = time.perf_counter()
    step = pipeline.steps[-1][0]
    tiny = clone(pipeline).set_params(**{
        f"{step}__hidden_layer_sizes": (8,) * len(pipeline[-1].hidden_layer_sizes),
        f"{step}__max_iter": 2})
    every = max(1, X.shape[0] // 1000)  # rows spread over the file: its classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 2-epoch fit does not converge: no news
        try:
            tiny.fit(X[::every], y[::every])
        except ValueError:  # e.g. a single class in those rows: the fits compile
            print("skipped", flush=True)
            return
    print(f"done in {time.perf_counter() - start:.0f} s", flush=True)
