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
only the fits it lacks. A checkpoint written with other
settings is refused. The fits of a dense baseline (``baseline="dense"``)
are recorded in the same way, with their hidden layer sizes in the column
``baseline_hidden_layer_sizes`` (empty for the swept estimator's fits). The
fit that Ctrl-C stops is not recorded: in a sweep
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

_FORMAT_NAME = "sklearn-set sparsity_curve checkpoint"
_FORMAT = f"{_FORMAT_NAME} 2"
_SETTING = "# "
# The last setting line: the identity of the sweep that has the file open,
# renewed in place on each opening (so always 32 hex digits); not a setting.
_FILE_ID = "file id"
_ENCODING = "utf-8"
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
# Row columns, and the key of each in a fit's output (see sweep._fit_one).
# The first three name the fit (see _key): a fit of the swept estimator has
# no baseline hidden layer sizes; a fit of the dense baseline has them, and
# the sparsity of the baseline.
_COLUMNS = {
    "sparsity": None,
    "fold": None,
    "baseline_hidden_layer_sizes": None,
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
    found = settings.get("format")
    if found != _FORMAT and str(found).startswith(_FORMAT_NAME):
        raise ValueError(f"{path} was written by another version of sklearn-set (format "
                         f"{found!r}, this version reads {_FORMAT!r}); give another "
                         "checkpoint path or remove this one.")
    if found != _FORMAT or _FILE_ID not in settings:
        raise ValueError(f"{path} is not a sparsity_curve checkpoint (its first line is "
                         f"not '# format = \"{_FORMAT}\"', or it has no file id); give "
                         "another checkpoint path.")
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


def _row_line(key, out):
    """The CSV line (str, newline included) of the output ``out`` of the fit
    ``key`` (see :func:`fit_key`)."""
    level, fold, widths = key
    row = [repr(level), fold, ",".join(map(str, widths))]
    for output in _COLUMNS.values():
        if output is None:  # a column of the key, written above
            continue
        value = out.get(output)
        row.append("" if value is None else value if output == "error"
                   else repr(float(value)))
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(row)
    return line.getvalue()


def fit_key(level, fold, baseline=()):
    """What names a fit in a checkpoint: ``(sparsity, fold, baseline)``, with
    ``baseline`` the hidden layer sizes of a dense baseline network, or ``()``
    for a fit of the swept estimator."""
    return float(level), int(fold), tuple(int(width) for width in baseline)


def _row_key(row):
    """The :func:`fit_key` of a row read from a checkpoint."""
    widths = row["baseline_hidden_layer_sizes"]
    return fit_key(row["sparsity"], row["fold"], widths.split(",") if widths else ())


def _append_row(path, key, out, file_id=None):
    """Append the row of one fit to the checkpoint at ``path``, unless the file
    holds that fit already.

    The file is locked while it is read and the row written, and the row is
    one ``os.write`` to a file opened with ``O_APPEND``: rows that several
    processes append at once stay whole lines, and none is written twice.

    Parameters
    ----------
    path : str
        The checkpoint file; it must exist.
    key : tuple
        The fit's :func:`fit_key`.
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
        if not any(_row_key(row) == key for row in rows):
            data = _row_line(key, out).encode(_ENCODING)
            while data:  # one write, unless the system writes short (a full disk)
                data = data[os.write(fd, data):]
        return True
    finally:
        os.close(fd)


class _FitRecorder:
    """Appends one fit's row to its checkpoint, in the process that ran the
    fit: picklable, it travels with the fit's job (see
    :meth:`Checkpoint.recorder`)."""

    def __init__(self, path, file_id, key):
        self.path = path
        self.file_id = file_id
        self.key = key

    def __call__(self, out):
        """Append the row of ``out`` if the file at the checkpoint's path is
        this checkpoint; return whether the file holds the fit now."""
        return _append_row(self.path, self.key, out, self.file_id)


def count_fits(path):
    """Number of finished fits of the swept estimator a checkpoint holds.

    Parameters
    ----------
    path : str or path-like
        A checkpoint written by ``sparsity_curve(..., checkpoint=path)``.

    Returns
    -------
    n_fits : int
        Its rows of the swept estimator's fits, failed fits included (the
        dense baseline's fits are not counted); 0 if the file does not
        exist.

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
    return sum(not row["baseline_hidden_layer_sizes"] for row in _read(path)[1])


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
            del stored[_FILE_ID]
            self._check_same(stored, settings)
            os.ftruncate(fd, len(text.encode(_ENCODING)))
            self.file_id = _renew_file_id(self.path, text)
        finally:
            os.close(fd)
        for row in rows:
            self.fits[_row_key(row)] = {
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

    def get(self, key):
        """The recorded output of the fit ``key`` (see :func:`fit_key`), or
        None."""
        found = self.fits.get(key)
        return None if found is None else {k: v for k, v in found.items()
                                           if k != "error" or v is not None}

    def recorder(self, key):
        """What appends the fit ``key`` (see :func:`fit_key`) to this file in
        the process that runs it.

        Returns
        -------
        record : callable
            Picklable; ``record(out)`` appends the fit's row if the file at
            this checkpoint's path is this checkpoint (it has its id) and
            returns whether it holds the fit now: a worker that cannot see
            the file (on another machine) appends nothing and returns False.
        """
        return _FitRecorder(os.path.abspath(self.path), self.file_id, key)

    def append(self, key, out, *, written=False):
        """Record the output ``out`` of the finished fit ``key`` (see
        :func:`fit_key`): in memory, and in the file unless ``written`` (its
        recorder appended it)."""
        if not written:
            _append_row(self.path, key, out)
        self.fits[key] = dict(out)
