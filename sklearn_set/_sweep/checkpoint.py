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

A file that is not such a checkpoint, or one damaged or edited by hand (a
broken setting, a missing header, a row that does not parse, two rows of
one fit with different results) is refused with a
:class:`CheckpointError` naming the file, the line and what is wrong; a
row with a NaN score and no error text is read as a failed fit.
"""

import csv
import io
import json
import math
import os
import re
import stat
import uuid
import warnings

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; each row is still one O_APPEND write
    fcntl = None

import numpy as np
from joblib import hash as joblib_hash

from .._atomic import atomic_write

__all__ = ["CheckpointError", "count_fits"]

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
_HEADER = ",".join(_COLUMNS)
_N_SPLITS = re.compile(r"(\d+) splits, ")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: not a checkpoint, damaged, or
    written with other settings (``settings_differ``). The message is one
    line naming the file and, for a damaged file, the line."""

    def __init__(self, message, *, settings_differ=False):
        super().__init__(message)
        self.settings_differ = settings_differ


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
    text = str(text)
    return text if len(text) <= width else text[:width - 3] + "..."


def _whole_lines(fd):
    """The bytes of the open file ``fd`` up to its last newline: a last line
    without one was cut short by a process killed while writing it."""
    with open(fd, "rb", closefd=False) as file:
        data = file.read()
    return data[:data.rfind(b"\n") + 1]


def _fail(path, line, problem):
    raise CheckpointError(f"checkpoint {path}, line {line}: {problem}")


def _settings(lines, path):
    """The settings of a checkpoint's first lines and the number of lines
    they take."""
    settings = {}
    n = 0
    while n < len(lines) and lines[n].startswith(_SETTING):
        key, equals, value = lines[n][len(_SETTING):].rstrip("\r").partition(" = ")
        if not equals:
            _fail(path, n + 1, f"a setting line reads '# NAME = VALUE', not "
                               f"{_shorten(lines[n])!r}")
        try:
            settings[key] = json.loads(value)
        except ValueError:
            _fail(path, n + 1, f"the value of the setting {key!r} is not valid JSON: "
                               f"{_shorten(value)!r}")
        n += 1
    return settings, n


def _check_format(settings, n_settings, path):
    found = settings.get("format")
    if found != _FORMAT and str(found).startswith(_FORMAT_NAME):
        raise CheckpointError(
            f"{path} was written by another version of sklearn-set (format {found!r}, this "
            f"version reads {_FORMAT!r}); give another checkpoint path or remove this one.")
    if found != _FORMAT or next(iter(settings)) != "format":
        raise CheckpointError(
            f"{path} is not a sparsity_curve checkpoint (its line 1 is not '# format = "
            f"\"{_FORMAT}\"'); give another checkpoint path.")
    if _FILE_ID not in settings:
        raise CheckpointError(
            f"{path} is not a sparsity_curve checkpoint: its settings (lines 1-{n_settings}) "
            f"have no '{_FILE_ID}' line; give another checkpoint path.")


def _number(text, what, path, line, *, integer=False):
    try:
        value = int(text) if integer and text.isdigit() else float(text)
    except ValueError:
        _fail(path, line, f"{what} {_shorten(text)!r} is not a number")
    if integer and not isinstance(value, int):
        _fail(path, line, f"{what} {_shorten(text)!r} is not a whole number")
    return value


def _check_row(fields, path, line, n_splits):
    """The row ``fields`` (list of str) as a dict, after checking that each
    field parses."""
    if len(fields) != len(_COLUMNS):
        _fail(path, line, f"{len(fields)} field{'s' * (len(fields) != 1)}, where a row has "
                          f"{len(_COLUMNS)} ({_shorten(_HEADER)})")
    row = dict(zip(_COLUMNS, fields))
    level = _number(row["sparsity"], "sparsity", path, line)
    if not 0.0 <= level < 1.0:
        _fail(path, line, f"sparsity {row['sparsity']!r} is not in [0, 1)")
    fold = _number(row["fold"], "fold", path, line, integer=True)
    if n_splits is not None and fold >= n_splits:
        _fail(path, line, f"fold {fold} does not exist: the sweep has {n_splits} splits")
    widths = row["baseline_hidden_layer_sizes"]
    if widths and not all(w.isdigit() and int(w) > 0 for w in widths.split(",")):
        _fail(path, line, f"baseline_hidden_layer_sizes {_shorten(widths)!r} is not a list "
                          "of positive whole numbers")
    for column, output in _COLUMNS.items():
        if output is not None and output != "error" and row[column]:
            _number(row[column], column, path, line)
    return row


def _parse(data, path):
    """Settings (dict) and rows (list of dict of str, each with its line
    number under ``"_line"``) of the whole lines ``data`` (bytes) of the
    checkpoint file ``path``; raise :class:`CheckpointError`, naming the
    line, if it is not a well-formed checkpoint."""
    try:
        text = data.decode(_ENCODING)
    except UnicodeDecodeError as exc:
        _fail(path, data.count(b"\n", 0, exc.start) + 1,
              "not UTF-8 text (the file is damaged or not a checkpoint)")
    lines = text.split("\n")[:-1]  # the text ends with a newline
    settings, n = _settings(lines, path)
    if not settings:
        raise CheckpointError(
            f"{path} is not a sparsity_curve checkpoint (its line 1 is not '# format = "
            f"\"{_FORMAT}\"'); give another checkpoint path.")
    _check_format(settings, n, path)
    if n == len(lines):
        _fail(path, n + 1, "the header row is missing: the file ends after its settings")
    if lines[n].rstrip("\r") != _HEADER:
        _fail(path, n + 1, f"the header row should be {_shorten(_HEADER)!r}, not "
                           f"{_shorten(lines[n])!r}")
    splits = _N_SPLITS.match(str(settings.get("cv splits", "")))
    n_splits = int(splits.group(1)) if splits else None
    reader = csv.reader(io.StringIO("\n".join(lines[n + 1:])))
    rows, before = [], n + 1
    try:
        for fields in reader:
            line, before = before + 1, n + 1 + reader.line_num
            if fields:  # a blank line holds nothing
                rows.append({**_check_row(fields, path, line, n_splits), "_line": line})
    except csv.Error as exc:
        _fail(path, n + 1 + reader.line_num, f"not a CSV row ({exc})")
    return settings, rows


def _check_file(path):
    """Refuse a checkpoint path that names a folder or a device."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # opening it says why
    if stat.S_ISDIR(mode):
        raise CheckpointError(f"checkpoint {path} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"checkpoint {path} is not a regular file")


def _read(path):
    """Settings (dict) and rows (list of dict of str) of a checkpoint file.

    A last line without its newline (the process died while writing it) is
    ignored.
    """
    _check_file(path)
    fd = os.open(path, os.O_RDONLY | _BINARY)
    try:
        return _parse(_whole_lines(fd), path)
    finally:
        os.close(fd)


# the columns that make a fit's result (the timings of two runs differ)
_RESULT_COLUMNS = [column for column in _COLUMNS if column not in (
    "sparsity", "fold", "baseline_hidden_layer_sizes", "fit_seconds", "score_seconds")]


def _fits(rows, path):
    """The output of each fit the rows hold (see :func:`fit_key`). A fit
    recorded twice with different results is refused; a NaN score without
    an error text is a failed fit."""
    fits, lines = {}, {}
    for row in rows:
        key = _row_key(row)
        if key in fits:
            first = lines[key]
            differ = [c for c in _RESULT_COLUMNS if not _same(first[c], row[c])]
            if differ:
                column = differ[0]
                _fail(path, row["_line"], f"the fit (sparsity {key[0]:g}, fold {key[1]}"
                      + (f", dense {','.join(map(str, key[2]))}" if key[2] else "")
                      + f") is recorded a second time, with another {column} "
                      f"({_shorten(row[column] or 'empty', 30)!r} here, "
                      f"{_shorten(first[column] or 'empty', 30)!r} on line "
                      f"{first['_line']})")
            continue
        lines[key] = row
        out = {key_: (row[column] or None) if key_ == "error" else _float(row[column])
               for column, key_ in _COLUMNS.items() if key_ is not None}
        if out["error"] is None and not math.isfinite(out["test_score"]):
            out["error"] = (f"no score: {path}, line {row['_line']} holds test_score "
                            f"{row['test_score'] or 'empty'!r} without an error")
        fits[key] = out
    return fits


def _same(a, b):
    """Whether two fields hold the same value (numbers compared as such)."""
    if a == b:
        return True
    try:
        x, y = float(a or "nan"), float(b or "nan")
    except ValueError:
        return False
    return x == y or (math.isnan(x) and math.isnan(y))


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


def _renew_file_id(path, data):
    """Give the checkpoint at ``path``, whose bytes (read under its lock) are
    ``data`` and hold a file id, a new one, written in place; return it."""
    before_id = f"\n{_SETTING}{_FILE_ID} = \"".encode(_ENCODING)
    offset = data.find(before_id) + len(before_id)  # in the settings, before any row
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
        whole = _whole_lines(fd)
        try:
            settings, rows = _parse(whole, path)
        except CheckpointError:
            if file_id is None:
                raise
            return False  # another file took its place: the caller appends
        if file_id is not None and settings.get(_FILE_ID) != file_id:
            return False
        if not any(_row_key(row) == key for row in rows):
            # a line a killed process left unfinished goes, or the row would join it
            os.ftruncate(fd, len(whole))
            data = _row_line(key, out).encode(_ENCODING)
            try:
                while data:  # one write, unless the system writes short (a full disk)
                    data = data[os.write(fd, data):]
            except OSError:
                os.ftruncate(fd, len(whole))  # no half row: the fit is not recorded
                raise
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


def count_fits(path, *, baseline=False):
    """Number of finished fits of the swept estimator a checkpoint holds.

    Parameters
    ----------
    path : str or path-like
        A checkpoint written by ``sparsity_curve(..., checkpoint=path)``.
    baseline : bool, default=False
        Count the fits of the dense baseline's networks instead.

    Returns
    -------
    n_fits : int
        Its rows of the swept estimator's fits (or, with ``baseline``, of
        the dense baseline's), failed fits included; 0 if the file does not
        exist.

    Raises
    ------
    CheckpointError
        If the file is not a sparsity_curve checkpoint, or is damaged (the
        message names the line).

    Examples
    --------
    >>> from sklearn_set._sweep.checkpoint import count_fits
    >>> count_fits("no-such-checkpoint.csv")
    0
    """
    if not os.path.lexists(path):
        return 0
    _check_file(path)
    if os.path.getsize(path) == 0:
        return 0
    return sum(bool(key[2]) == baseline for key in _fits(_read(path)[1], os.fspath(path)))


def _float(text):
    return float(text) if text != "" else np.nan


class Checkpoint:
    """An open checkpoint: the fits it holds, and appending new ones.

    Opening an existing file checks it and its settings against
    ``settings`` and raises :class:`CheckpointError`, in one line naming the
    first difference (or the damaged line), if they differ, and gives the
    file a new id. A new file gets the settings, an id and the header at
    once (written whole, or not at all).
    """

    def __init__(self, path, settings):
        self.path = os.fspath(path)
        self.fits = {}
        _check_file(self.path)
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            self._open(settings)
        else:
            self.file_id = uuid.uuid4().hex
            with atomic_write(self.path, "w", encoding=_ENCODING, newline="") as file:
                for key, value in {**settings, _FILE_ID: self.file_id}.items():
                    file.write(f"{_SETTING}{key} = {json.dumps(value)}\n")
                csv.writer(file, lineterminator="\n").writerow(list(_COLUMNS))

    def _open(self, settings):
        """Read an existing file, drop a partial last line and renew its id,
        locked: a worker of a stopped sweep may still be appending to it (the
        new id stops it once the rows are read)."""
        fd = _open_locked(self.path)
        try:
            data = _whole_lines(fd)
            stored, rows = _parse(data, self.path)
            del stored[_FILE_ID]
            self._check_same(stored, settings)
            self.fits = _fits(rows, self.path)
            os.ftruncate(fd, len(data))
            self.file_id = _renew_file_id(self.path, data)
        finally:
            os.close(fd)

    def _check_same(self, stored, settings):
        differences = [key for key in {**settings, **stored}
                       if stored.get(key) != settings.get(key)]
        if differences:
            key = differences[0]
            more = (f" (and {len(differences) - 1} more difference"
                    f"{'s' if len(differences) > 2 else ''})" if len(differences) > 1
                    else "")
            raise CheckpointError(
                f"checkpoint {self.path} holds fits of other settings: {key} is "
                f"{_shorten(stored.get(key, 'absent'))} there and "
                f"{_shorten(settings.get(key, 'absent'))} here{more}; give another "
                "checkpoint path or remove this one.", settings_differ=True)

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
