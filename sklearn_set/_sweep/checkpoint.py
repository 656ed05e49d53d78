"""Checkpoints of a sparsity sweep: every finished fit, one CSV row each.

A checkpoint is a CSV file. Its first lines, starting with ``#``, record the
settings that determine the fits (the estimator's parameters, the swept
parameter, the levels, the cross-validation splits, the scoring, the fit
parameters and a fingerprint of the data); then comes a header and one row
per finished fit, appended and flushed as soon as its result reaches the
calling process. A sweep that is interrupted (Ctrl-C, SIGTERM, a killed
worker) therefore leaves every finished fit on disk, and a sweep given the
same file again fits only the (level, fold) pairs it lacks. A checkpoint
written with other settings is refused.

``pandas.read_csv(path, comment="#")`` reads the rows.
"""

import csv
import io
import json
import os
import re
import warnings

import numpy as np
from joblib import hash as joblib_hash

__all__ = ["count_fits"]

_FORMAT = "sklearn-set sparsity_curve checkpoint 1"
_SETTING = "# "
# Row columns, and the key of each in a fit's output (see sweep._fit_one).
_COLUMNS = {
    "sparsity": None,
    "fold": None,
    "test_score": "test_score",
    "train_score": "train_score",
    "fit_seconds": "fit_time",
    "score_seconds": "score_time",
    "n_connections": "test_n_connections",
    "measured_sparsity": "test_measured_sparsity",
    "active_fraction": "test_active_fraction",
    "n_parameters": "test_n_parameters",
    "n_inputs": "test_n_inputs",
    "n_outputs": "test_n_outputs",
    "error": "error",
}
# Estimator parameters that never change a fitted model (the kernels give
# bit-identical models whatever their thread count): a sweep may be resumed
# with other values.
_IRRELEVANT_PARAMS = ("n_jobs", "verbose")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _stable_repr(value):
    """A repr of ``value`` that is the same in every process: estimators by
    class name (their parameters are recorded one by one), random states and
    arrays by a hash of their contents, no memory addresses."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__qualname__
    if isinstance(value, np.random.RandomState):
        return f"RandomState(state {joblib_hash(value.get_state())})"
    if isinstance(value, np.random.Generator):
        return f"Generator(state {joblib_hash(value.bit_generator.state)})"
    if isinstance(value, np.ndarray):
        return f"array(shape {value.shape}, {joblib_hash(value)})"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_stable_repr(v) for v in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_stable_repr(v)}" for k, v in
                               sorted(value.items(), key=lambda item: repr(item[0]))) + "}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return _ADDRESS.sub("", repr(value))


def sweep_settings(estimator, param_name, sparsities, splits, scoring, error_score, X, y,
                   params):
    """The settings that determine a sweep's fits, as an ordered dict of str.

    Parameters
    ----------
    estimator : estimator object
        The unfitted estimator; every parameter but ``param_name``, ``n_jobs``
        and ``verbose`` is recorded.
    param_name : str
        The resolved full name of the swept parameter.
    sparsities : ndarray or dict
        The levels of a sweep over given levels, or the options of an
        adaptive sweep.
    splits : list of (train, test) index arrays
        The cross-validation splits.
    scoring, error_score, params
        As given to :func:`sparsity_curve`.
    X, y : array-like
        The data (only a hash of them is kept).

    Returns
    -------
    settings : dict of str to str
    """
    settings = {"format": _FORMAT, "estimator": type(estimator).__qualname__,
                "param_name": param_name}
    for name, value in sorted(estimator.get_params(deep=True).items()):
        if name == param_name or name.rpartition("__")[2] in _IRRELEVANT_PARAMS:
            continue
        if name.rpartition("__")[2] == "random_state" and value is None:
            warnings.warn(
                f"{name}=None: each fit draws a new seed, so a resumed sweep cannot "
                "equal an uninterrupted one. Set an int random_state to make the "
                "checkpoint reproducible.", UserWarning, stacklevel=3)
        settings[f"estimator parameter {name}"] = _stable_repr(value)
    settings["sparsities"] = _stable_repr(
        sparsities if isinstance(sparsities, dict) else [float(s) for s in sparsities])
    settings["cv splits"] = (f"{len(splits)} splits, "
                             f"{joblib_hash([(np.asarray(a), np.asarray(b)) for a, b in splits])}")
    settings["scoring"] = _stable_repr(scoring)
    settings["error_score"] = _stable_repr(error_score)
    settings["data"] = f"X {getattr(X, 'shape', None)} {joblib_hash(X)}, y {joblib_hash(y)}"
    settings["fit params"] = "none" if not params else joblib_hash(params)
    return settings


def _shorten(text, width=60):
    return text if len(text) <= width else text[:width - 3] + "..."


def _read(path):
    """Settings (dict) and rows (list of dict of str) of a checkpoint file.

    A last line without its newline (the process died while writing it) is
    ignored.
    """
    with open(path, newline="") as file:
        text = file.read()
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    settings, lines = {}, text.splitlines(keepends=True)
    body = 0
    for body, line in enumerate(lines):
        if not line.startswith(_SETTING):
            break
        key, _, value = line[len(_SETTING):].rstrip("\r\n").partition(" = ")
        settings[key] = json.loads(value)
    else:
        body = len(lines)
    if settings.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a sparsity_curve checkpoint (its first line is "
                         f"not '# format = \"{_FORMAT}\"'); give another checkpoint path.")
    rows = list(csv.DictReader(io.StringIO("".join(lines[body:]))))
    return settings, rows


def count_fits(path):
    """Number of finished fits a checkpoint holds.

    Parameters
    ----------
    path : str or path-like
        A checkpoint written by ``sparsity_curve(..., checkpoint=path)``.

    Returns
    -------
    n_fits : int
        Its rows (failed fits included); 0 if the file does not exist.

    Raises
    ------
    ValueError
        If the file is not a sparsity_curve checkpoint.

    Examples
    --------
    >>> from sklearn_set._sweep.checkpoint import count_fits
    >>> count_fits("no-such-checkpoint.csv")
    0
    """
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    return len(_read(path)[1])


def _float(text):
    return float(text) if text != "" else np.nan


class Checkpoint:
    """An open checkpoint: the fits it holds, and appending new ones.

    Opening an existing file checks its settings against ``settings`` and
    raises ValueError, in one line naming the first difference, if they
    differ. A new file gets the settings and the header at once.
    """

    def __init__(self, path, settings):
        self.path = os.fspath(path)
        self.fits = {}
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            stored, rows = _read(self.path)
            differences = [key for key in {**settings, **stored}
                           if stored.get(key) != settings.get(key)]
            if differences:
                key = differences[0]
                more = (f" (and {len(differences) - 1} more difference"
                        f"{'s' if len(differences) > 2 else ''})" if len(differences) > 1
                        else "")
                raise ValueError(
                    f"checkpoint {self.path} holds fits of other settings: {key} is "
                    f"{_shorten(stored.get(key, 'absent'))} there and "
                    f"{_shorten(settings.get(key, 'absent'))} here{more}; give another "
                    "checkpoint path or remove this one.")
            for row in rows:
                self.fits[(float(row["sparsity"]), int(row["fold"]))] = {
                    key: (row[column] or None) if key == "error" else _float(row[column])
                    for column, key in _COLUMNS.items() if key is not None}
            # drop a partial last line left by a process killed while writing
            with open(self.path, "r+", newline="") as file:
                text = file.read()
                if not text.endswith("\n"):
                    file.truncate(text.rfind("\n") + 1)
        else:
            with open(self.path, "w", newline="") as file:
                for key, value in settings.items():
                    file.write(f"{_SETTING}{key} = {json.dumps(value)}\n")
                csv.writer(file, lineterminator="\n").writerow(list(_COLUMNS))

    def get(self, level, fold):
        """The recorded output of the fit at (level, fold), or None."""
        found = self.fits.get((float(level), int(fold)))
        return None if found is None else {k: v for k, v in found.items()
                                           if k != "error" or v is not None}

    def append(self, level, fold, out):
        """Record one finished fit, flushed to the file at once."""
        row = [repr(float(level)), int(fold)]
        for column, key in _COLUMNS.items():
            if key is None:
                continue
            value = out.get(key)
            row.append("" if value is None else value if key == "error"
                       else repr(float(value)))
        with open(self.path, "a", newline="") as file:
            csv.writer(file, lineterminator="\n").writerow(row)
            file.flush()
        self.fits[(float(level), int(fold))] = dict(out)
