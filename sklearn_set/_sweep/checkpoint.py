"""Checkpoints of a sparsity sweep: every finished fit, one CSV row each.

A checkpoint is a CSV file. Its first lines, starting with ``#``, record the
settings that determine the fits (the estimator's parameters, the swept
parameter, the levels, the cross-validation splits, the scoring, the fit
parameters and a fingerprint of the data); then comes a header and one row
per finished fit. The process that ran the fit appends its row as soon as
the fit is scored (a worker on a machine that cannot see the file leaves
that to the calling process, which appends the row when the result reaches
it). A sweep that is interrupted (Ctrl-C, SIGTERM, a killed worker)
therefore leaves every finished fit on disk, even one whose result had not
reached the calling process yet, and a sweep given the same file again fits
only the (level, fold) pairs it lacks. A checkpoint written with other
settings is refused. The fit that Ctrl-C stops is not recorded: in a sweep
a KeyboardInterrupt stops the fit instead of returning the model of its
last finished epoch (see :func:`sklearn_set._interrupt.interrupt_abandons_fit`).

The last setting line, ``file id``, is not a setting but the identity of
the sweep that has the file open: a random id, drawn anew each time a sweep
opens the file. A worker appends a row only to the file at the
checkpoint's path that carries its sweep's id, so neither a copy of the file
on another machine nor a worker that a stopped sweep left running (a dask
worker finishes the fit it runs) appends to it. Rows are appended under an
exclusive lock (``fcntl.flock`` where it exists), each in one write to a
file opened with ``O_APPEND``, and never twice: a fit the file holds already
is not appended again.

``pandas.read_csv(path, comment="#")`` reads the rows.
"""

import csv
import io
import json
import os
import re
import uuid
import warnings

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; each row is still one O_APPEND write
    fcntl = None

import numpy as np
from joblib import hash as joblib_hash

__all__ = ["count_fits"]

_FORMAT = "sklearn-set sparsity_curve checkpoint 1"
_SETTING = "# "
# The last setting line: the identity of the sweep that has the file open,
# renewed in place on each opening (so always 32 hex digits); not a setting.
_FILE_ID = "file id"
_ENCODING = "utf-8"
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
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


def _split(text):
    """Settings (dict) and rows (list of dict of str) of a checkpoint's text."""
    settings, lines = {}, text.splitlines(keepends=True)
    for line in lines:
        if not line.startswith(_SETTING):
            break
        key, _, value = line[len(_SETTING):].rstrip("\r\n").partition(" = ")
        settings[key] = json.loads(value)
    # one line per setting: json.dumps writes no newline
    rows = list(csv.DictReader(io.StringIO("".join(lines[len(settings):]))))
    return settings, rows


def _whole_lines(fd):
    """The text of the open file ``fd`` up to its last newline: a last line
    without one was cut short by a process killed while writing it."""
    with open(fd, "rb", closefd=False) as file:
        data = file.read()
    return data[:data.rfind(b"\n") + 1].decode(_ENCODING)


def _parse(text, path):
    """Settings and rows of the text of the checkpoint file ``path``; raise
    ValueError if it is not a checkpoint."""
    settings, rows = _split(text)
    if settings.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a sparsity_curve checkpoint (its first line is "
                         f"not '# format = \"{_FORMAT}\"'); give another checkpoint path.")
    return settings, rows


def _read(path):
    """Settings (dict) and rows (list of dict of str) of a checkpoint file.

    A last line without its newline (the process died while writing it) is
    ignored.
    """
    fd = os.open(path, os.O_RDONLY | _BINARY)
    try:
        return _parse(_whole_lines(fd), path)
    finally:
        os.close(fd)


def _open_locked(path):
    """A descriptor of ``path`` open for reading and appending (``O_APPEND``),
    under an exclusive lock where ``fcntl`` exists; closing it unlocks."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | _BINARY)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
    return fd


def _renew_file_id(path, text):
    """Give the checkpoint at ``path``, whose text (read under its lock) is
    ``text`` and has a file id, a new one, written in place; return it."""
    before_id = f"\n{_SETTING}{_FILE_ID} = \""
    start = text.find(before_id)  # in the settings, before any row
    offset = len(text[:start].encode(_ENCODING)) + len(before_id)
    file_id = uuid.uuid4().hex
    with open(path, "r+b") as file:  # not the O_APPEND descriptor: it writes at the end
        file.seek(offset)
        file.write(file_id.encode(_ENCODING))
    return file_id


def _row_line(level, fold, out):
    """The CSV line (str, newline included) of one fit's output."""
    row = [repr(float(level)), int(fold)]
    for key in _COLUMNS.values():
        if key is None:
            continue
        value = out.get(key)
        row.append("" if value is None else value if key == "error"
                   else repr(float(value)))
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(row)
    return line.getvalue()


def _key(level, fold):
    return float(level), int(fold)


def _append_row(path, level, fold, out, file_id=None):
    """Append the row of one fit to the checkpoint at ``path``, unless the file
    holds that fit already.

    The file is locked while it is read and the row written, and the row is
    one ``os.write`` to a file opened with ``O_APPEND``: rows that several
    processes append at once stay whole lines, and none is written twice.

    Parameters
    ----------
    path : str
        The checkpoint file; it must exist.
    level, fold : float, int
        The fit's sparsity level and fold.
    out : dict
        The fit's output (see ``sweep._fit_one``).
    file_id : str, default=None
        Append only to the checkpoint of this id (see
        :meth:`Checkpoint.recorder`); None appends to whatever file is there.

    Returns
    -------
    held : bool
        Whether the file holds the fit now: False only if ``file_id`` is
        given and the file at ``path`` cannot be opened or has another id.
    """
    try:
        fd = _open_locked(path)
    except OSError:
        if file_id is None:
            raise
        return False  # a worker that cannot see the file: another machine
    try:
        settings, rows = _split(_whole_lines(fd))
        if file_id is not None and settings.get(_FILE_ID) != file_id:
            return False
        if not any(_key(row["sparsity"], row["fold"]) == _key(level, fold) for row in rows):
            data = _row_line(level, fold, out).encode(_ENCODING)
            while data:  # one write, unless the system writes short (a full disk)
                data = data[os.write(fd, data):]
        return True
    finally:
        os.close(fd)


class _FitRecorder:
    """Appends one fit's row to its checkpoint, in the process that ran the
    fit: picklable, it travels with the fit's job (see
    :meth:`Checkpoint.recorder`)."""

    def __init__(self, path, file_id, level, fold):
        self.path = path
        self.file_id = file_id
        self.level = level
        self.fold = fold

    def __call__(self, out):
        """Append the row of ``out`` if the file at the checkpoint's path is
        this checkpoint; return whether the file holds the fit now."""
        return _append_row(self.path, self.level, self.fold, out, self.file_id)


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
    differ, and gives the file a new id. A new file gets the settings, an id
    and the header at once.
    """

    def __init__(self, path, settings):
        self.path = os.fspath(path)
        self.fits = {}
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            self._open(settings)
        else:
            self.file_id = uuid.uuid4().hex
            with open(self.path, "w", encoding=_ENCODING, newline="") as file:
                for key, value in {**settings, _FILE_ID: self.file_id}.items():
                    file.write(f"{_SETTING}{key} = {json.dumps(value)}\n")
                csv.writer(file, lineterminator="\n").writerow(list(_COLUMNS))

    def _open(self, settings):
        """Read an existing file, drop a partial last line and renew its id,
        locked: a worker of a stopped sweep may still be appending to it (the
        new id stops it once the rows are read)."""
        fd = _open_locked(self.path)
        try:
            text = _whole_lines(fd)
            stored, rows = _parse(text, self.path)
            has_id = stored.pop(_FILE_ID, None) is not None
            self._check_same(stored, settings)
            os.ftruncate(fd, len(text.encode(_ENCODING)))
            # a file written before files had an id gets no recorders: this
            # process appends every row
            self.file_id = _renew_file_id(self.path, text) if has_id else None
        finally:
            os.close(fd)
        for row in rows:
            self.fits[_key(row["sparsity"], row["fold"])] = {
                key: (row[column] or None) if key == "error" else _float(row[column])
                for column, key in _COLUMNS.items() if key is not None}

    def _check_same(self, stored, settings):
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

    def get(self, level, fold):
        """The recorded output of the fit at (level, fold), or None."""
        found = self.fits.get(_key(level, fold))
        return None if found is None else {k: v for k, v in found.items()
                                           if k != "error" or v is not None}

    def recorder(self, level, fold):
        """What appends the fit at (level, fold) to this file in the process
        that runs it, or None for a file without an id (written before files
        had one).

        Returns
        -------
        record : callable or None
            Picklable; ``record(out)`` appends the fit's row if the file at
            this checkpoint's path is this checkpoint (it has its id) and
            returns whether it holds the fit now: a worker that cannot see
            the file (on another machine) appends nothing and returns False.
        """
        if self.file_id is None:
            return None
        return _FitRecorder(os.path.abspath(self.path), self.file_id, float(level), int(fold))

    def append(self, level, fold, out, *, written=False):
        """Record one finished fit: in memory, and in the file unless
        ``written`` (its recorder appended it)."""
        if not written:
            _append_row(self.path, level, fold, out)
        self.fits[_key(level, fold)] = dict(out)
