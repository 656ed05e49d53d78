"""Saving and loading model files: ``.skops`` files checked against the
allow-list before anything in them is imported, pickles only when trusted."""

import bz2
import codecs
import io
import json
import lzma
import os
import pickletools
import stat
import zipfile
import zlib

from .._atomic import atomic_write, write_bytes
from .audit import RefusedContent, check_resolved, check_schema
from .consistency import check_networks

SKOPS_SUFFIXES = (".skops",)
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")

# The largest model file loaded by default, and the most its parts may
# unpack to: a file is read whole into memory.
MAX_MODEL_BYTES = 2 * 2**30


class ModelFileError(ValueError):
    """Error raised for a model file that is not loaded, or a model not saved.

    The file is missing, not a regular file, too large, damaged, a pickle
    that was not trusted, or it holds something other than data of the
    allowed types.

    The message names the file and the reason in one line.

    Parameters
    ----------
    message : str
        What is wrong, naming the file.
    untrusted_pickle : bool, default=False
        Whether the file is (or may be) a pickle, refused because
        ``trust_pickle`` was not given.

    Attributes
    ----------
    untrusted_pickle : bool
        The parameter of that name.

    See Also
    --------
    load_model : Load a model file.

    Examples
    --------
    >>> from sklearn_set import ModelFileError, load_model
    >>> try:
    ...     load_model("no-such-model.skops")
    ... except ModelFileError as exc:
    ...     print(exc)
    model file 'no-such-model.skops' does not exist
    """

    def __init__(self, message, *, untrusted_pickle=False):
        super().__init__(message)
        self.untrusted_pickle = untrusted_pickle


def _validate(caller, **params):
    """scikit-learn's ``validate_params`` check of ``params``, made when
    called rather than by a decorator: importing this module, as the command
    line does to check a file name before a fit, loads no scikit-learn."""
    from numbers import Integral

    from sklearn.utils._param_validation import Interval, validate_parameter_constraints

    constraints = {
        "path": [str, os.PathLike],
        "trust_pickle": ["boolean"],
        "max_bytes": [Interval(Integral, 1, None, closed="left")],
    }
    validate_parameter_constraints(constraints, params, caller_name=caller)


def _suffix_format(path):
    name = os.fspath(path).lower()
    if name.endswith(SKOPS_SUFFIXES):
        return "skops"
    if name.endswith(PICKLE_SUFFIXES):
        return "pickle"
    return None


def save_model(model, path):
    """Save a fitted estimator or pipeline to a model file.

    The file's suffix picks the format: ``.skops`` writes skops' format,
    which :func:`load_model` loads without running code from the file;
    ``.joblib``, ``.pkl`` or ``.pickle`` write a joblib pickle. The file is
    written whole to a temporary file in the same folder and then renamed:
    an existing file is replaced only by a complete new one, and a failed
    write (a full disk) leaves it as it was.

    Parameters
    ----------
    model : estimator
        A fitted estimator or pipeline of this package. For ``.skops`` it
        must hold only the types :func:`load_model` accepts (see the
        command-line documentation, "What a model file may hold").
    path : str or path-like
        The file to write; its folder must exist.

    Raises
    ------
    ValueError
        If ``path`` is not a str or path-like, or its suffix is none of the
        above.
    ModelFileError
        If ``model`` holds something a ``.skops`` model file may not hold
        (a function, say): such a file could not be loaded.
    OSError
        If the file cannot be written.

    See Also
    --------
    load_model : Load a model file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_set import SETClassifier, load_model, save_model
    >>> X, y = load_wine(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), SETClassifier(
    ...     hidden_layer_sizes=(16,), max_iter=50, random_state=0)).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "wine.skops")
    >>> save_model(model, path)
    >>> bool((load_model(path).predict(X) == model.predict(X)).all())
    True
    """
    _validate("save_model", path=path)
    kind = _suffix_format(path)
    if kind is None:
        raise ValueError(f"cannot save a model to {os.fspath(path)!r}: name a .skops file "
                         f"(or {', '.join(PICKLE_SUFFIXES)} for a pickle)")
    if kind == "skops":
        import skops.io

        # compressed: a model's arrays and skops' schema shrink about 3x
        data = skops.io.dumps(model, compression=zipfile.ZIP_DEFLATED)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                check_schema(json.loads(archive.read("schema.json")))
        except RefusedContent as exc:
            raise ModelFileError(
                f"{type(model).__name__} is not saved to {os.fspath(path)!r}: {exc}; a .skops "
                "file holding it would not load (save it as a .joblib pickle if you must)"
            ) from None
        write_bytes(path, data)
    else:
        import joblib

        with atomic_write(path, "wb") as file:
            joblib.dump(model, file)


def load_model(path, *, trust_pickle=False, max_bytes=MAX_MODEL_BYTES):
    """Load a model file: data of known types only, or a trusted pickle.

    A ``.skops`` file (recognised by its content, whatever its name) is
    loaded only if every object it describes is of a class on this
    package's allow-list: its estimators and what they hold, the
    scikit-learn pipeline, composition and preprocessing classes a model of
    this package may contain, and NumPy and SciPy arrays. The names in the
    file are checked as text before anything is imported, and each is then
    checked to be that very class, defined where its name says. Functions,
    methods, ``functools.partial``, a ``FunctionTransformer`` with a
    function, and every other type are refused. A pickle (``.joblib``,
    ``.pkl``) runs any code it holds when loaded, so it is loaded only with
    ``trust_pickle=True``.

    Parameters
    ----------
    path : str or path-like
        The model file: a regular file of at most ``max_bytes`` bytes.
    trust_pickle : bool, default=False
        Load a file that is not a ``.skops`` file as a joblib pickle. Only
        for files you made or whose source you trust.
    max_bytes : int, default=2 GiB
        The largest file loaded, and the most a ``.skops`` file's parts may
        unpack to: the file is read into memory whole.

    Returns
    -------
    model : object
        The estimator or pipeline the file holds.

    Raises
    ------
    ValueError
        If ``path`` is not a str or path-like, ``trust_pickle`` not a bool
        or ``max_bytes`` not a positive int (scikit-learn's
        ``InvalidParameterError``, naming the parameter).
    ModelFileError
        If the file does not exist, is not a regular file, is larger than
        ``max_bytes``, is damaged, holds something that is not allowed, is
        a text file, is neither a ``.skops`` file nor a pickle, or is a
        pickle and ``trust_pickle`` is False. The
        message names the file and the reason; nothing from the file was
        run.

    See Also
    --------
    save_model : Save a model file.

    Examples
    --------
    A file whose pipeline would call a function is refused, and nothing in
    it runs:

    >>> import os, shutil, tempfile
    >>> import skops.io
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklearn_set import ModelFileError, load_model
    >>> path = os.path.join(tempfile.mkdtemp(), "crafted.skops")
    >>> skops.io.dump(FunctionTransformer(shutil.rmtree), path)
    >>> try:
    ...     load_model(path)
    ... except ModelFileError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    it holds shutil.rmtree, a function: a model file may hold data only, never code
    """
    _validate("load_model", path=path, trust_pickle=trust_pickle, max_bytes=max_bytes)
    path = os.fspath(path)
    data = _read_model_file(path, max_bytes)
    if data[:4] == b"PK\x03\x04" or zipfile.is_zipfile(io.BytesIO(data)):
        return _load_skops(path, data, max_bytes)
    text = _looks_like_text(data) and not _is_pickle_stream(data)
    if _suffix_format(path) == "skops" or text:
        raise ModelFileError(f"{path!r} is a text file, not a model file" if text else
                             f"model file {path!r} is not a .skops file (not a zip archive)")
    if not _may_be_pickle(data):  # an image, an archive, ...: no reason to trust it
        raise ModelFileError(f"model file {path!r} is not a model file: neither a .skops "
                             "file nor a pickle")
    if not trust_pickle:
        raise ModelFileError(
            f"model file {path!r} is not a .skops file but a pickle (or unknown), and "
            "loading a pickle runs any code it holds: load it only if you made it or trust "
            "its source (trust_pickle=True), or save models as .skops", untrusted_pickle=True)
    return _load_pickle(path, data)


def _read_model_file(path, max_bytes):
    """The bytes of a regular file of at most ``max_bytes``, read once."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelFileError(f"model file {path!r} does not exist") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path!r}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelFileError(f"model file {path!r} is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(f"model file {path!r} is not a regular file (a device, pipe or "
                             "socket): only files are loaded")
    if info.st_size > max_bytes:
        raise ModelFileError(f"model file {path!r} has {info.st_size} bytes, more than the "
                             f"{max_bytes} a model file may have")
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path!r}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # it grew since
        raise ModelFileError(f"model file {path!r} has more than the {max_bytes} bytes a "
                             "model file may have")
    if not data:
        raise ModelFileError(f"model file {path!r} is empty")
    return data


def _load_skops(path, data, max_bytes):
    import skops.io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > max_bytes:
                raise RefusedContent(f"its parts would unpack to {unpacked} bytes, more than "
                                     f"the {max_bytes} a model file may have")
            if "schema.json" not in archive.namelist():
                raise RefusedContent("it is a zip archive without schema.json, not a .skops "
                                     "file")
            schema = json.loads(archive.read("schema.json"))
        found = check_schema(schema)
        check_resolved(found)
    except RefusedContent as exc:
        raise ModelFileError(f"model file {path!r} is not loaded: {exc}") from None
    except RecursionError:
        raise ModelFileError(f"model file {path!r} is not loaded: its schema.json nests "
                             "too deeply") from None
    except Exception as exc:  # a damaged archive or schema
        raise ModelFileError(f"cannot read model file {path!r} as a .skops file: "
                             f"{type(exc).__name__}: {_first_line(exc)}") from None
    try:
        model = skops.io.loads(data, trusted=sorted(found))
    except Exception as exc:  # damaged content of allowed types
        raise ModelFileError(f"cannot load model file {path!r} as a .skops file: "
                             f"{type(exc).__name__}: {_first_line(exc)}") from None
    return _checked(model, path)


def _checked(model, path):
    """``model`` once its networks are consistent (the kernels trust them)."""
    try:
        check_networks(model)
    except RefusedContent as exc:
        raise ModelFileError(f"model file {path!r} is not loaded: {exc}") from None
    return model


def _load_pickle(path, data):
    import joblib

    try:
        model = joblib.load(io.BytesIO(data))
    except Exception as exc:  # a damaged or foreign file
        raise ModelFileError(f"cannot load model file {path!r} as a pickle: "
                             f"{type(exc).__name__}: {_first_line(exc) or 'not a pickle'}"
                             ) from None
    return _checked(model, path)


def _first_line(exc):
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _looks_like_text(data):
    """Whether the file starts as UTF-8 text without NUL bytes."""
    start = data[:4096]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        return False
    return b"\0" not in start


# How the files joblib.load reads begin: a pickle of protocol 2 or later
# (its PROTO opcode), or one of joblib's compressors. Those in Python's
# standard library are opened to look at what they hold (a gzip file of a
# CSV is not a pickle); lz4 and the "ZF" of joblib before 0.9.3 are taken on
# their first bytes.
_PICKLE_STARTS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_DECOMPRESSORS = {
    b"\x1f\x8b": lambda: zlib.decompressobj(wbits=31),  # gzip
    b"\x78": zlib.decompressobj,
    b"BZ": bz2.BZ2Decompressor,
    b"\xfd7zXZ": lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ),
    b"\x5d\x00": lambda: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE),
}
_OPAQUE_COMPRESSED_STARTS = (b"\x04\x22\x4d\x18", b"ZF")
# a larger content is left to joblib (and trust_pickle) unread
_MAX_DECOMPRESSED_BYTES = 256 * 2**20
_DECOMPRESSION_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


def _may_be_pickle(data):
    """Whether ``data`` may be a file of joblib or pickle (read, never run):
    by how it begins, or, for protocols 0 and 1, which have no mark, as one
    whole pickle stream; a compressed file by what it decompresses to (once:
    joblib compresses once, and a file compressed again and again is no
    model)."""
    for start, decompressor in _DECOMPRESSORS.items():
        if data.startswith(start):
            # joblib's files of protocol 2 and later show it in their first
            # bytes: a large model is not decompressed here and again by joblib
            if _decompressed_start(decompressor(), data).startswith(_PICKLE_STARTS):
                return True
            content = _decompressed(decompressor(), data, _MAX_DECOMPRESSED_BYTES)
            return content is None or _is_pickle(content)
    return data.startswith(_OPAQUE_COMPRESSED_STARTS) or _is_pickle(data)


def _is_pickle(data):
    """Whether uncompressed ``data`` is a pickle (or joblib's pickle stream)."""
    return data.startswith(_PICKLE_STARTS) or _is_pickle_stream(data)


def _decompressed_start(decompressor, data, n_bytes=2):
    """The first ``n_bytes`` that ``data`` decompresses to (fewer, or b"", if
    it is short or damaged)."""
    try:
        return decompressor.decompress(data, n_bytes)
    except _DECOMPRESSION_ERRORS:
        return b""


def _decompressed(decompressor, data, max_bytes):
    """What ``data`` decompresses to (b"" if it is damaged), or None if that
    is over ``max_bytes`` (joblib then decides)."""
    content = _decompressed_start(decompressor, data, max_bytes + 1)
    return None if len(content) > max_bytes else content


# joblib writes each array's bytes right after the pickled wrapper that
# describes it, so a parse of its opcodes stops there.
_JOBLIB_ARRAY_GLOBAL = "joblib.numpy_pickle NumpyArrayWrapper"


def _is_pickle_stream(data):
    """Whether ``data`` is one whole pickle (read, never run): a protocol-0
    pickle is ASCII text. It must end where its STOP opcode is: text can
    parse as opcodes up to an early STOP by chance (a CSV file whose header
    starts with "alcohol," and whose next lines start with "1."). Or a file
    of joblib of protocol 0 or 1, whose opcodes parse up to its first
    array."""
    end = 0
    try:
        for opcode, arg, position in pickletools.genops(io.BytesIO(data)):
            if opcode.name == "GLOBAL" and arg == _JOBLIB_ARRAY_GLOBAL:
                return True
            end = position + 1  # STOP, the last opcode, takes no argument
    except Exception:  # not a pickle: an unknown opcode, a bad argument, no STOP
        return False
    return not data[end:].strip()
