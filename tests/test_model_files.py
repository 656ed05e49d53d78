"""Model files hold data, never code: :func:`sklearn_set.load_model` and
:func:`sklearn_set.save_model`, and the command line that loads with them.

Every file of the crafted corpus (tests/_crafted_models.py) is refused in one
line and nothing in it runs: each would write a marker file, import a
module that writes one, or call a function replaced here by a spy that
writes one. Every model this package and its usual pipelines make loads.
"""

import bz2
import gzip
import importlib
import io
import json
import lzma
import os
import pickle
import sys
import warnings
import zipfile
import zlib

import joblib
import numpy as np
import pytest
from _crafted_models import (
    EVIL_MODULE,
    NAMES,
    arm,
    build,
    nodes,
    rewrite_schema,
    training_data,
    write_data,
    write_evil_module,
)
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_wine
from sklearn.decomposition import PCA
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from sklearn_set import (
    AccSETClassifier,
    ModelFileError,
    SETClassifier,
    SETRegressor,
    SparsityCurveRegressor,
    load_model,
    save_model,
)
from sklearn_set._persistence import allowed

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore::sklearn_set.DisconnectedNetworkWarning")


# -- the crafted corpus ------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    crafted = build(folder)
    assert list(crafted) == NAMES
    write_data(folder / "data.csv")
    write_evil_module(folder, crafted["unknown_module"].marker)
    return folder, crafted


def _nothing_ran(item):
    assert not os.path.exists(item.marker), "the crafted file ran"
    assert EVIL_MODULE not in sys.modules, "the crafted file's module was imported"


@pytest.mark.parametrize("name", NAMES)
def test_load_model_refuses_a_crafted_file_and_runs_nothing(name, corpus, monkeypatch):
    folder, crafted = corpus
    item = crafted[name]
    arm(monkeypatch, folder, item)
    with pytest.raises(ModelFileError) as info:
        load_model(item.path)
    _nothing_ran(item)
    assert item.refusal in str(info.value) and "\n" not in str(info.value)
    assert repr(item.path) in str(info.value)


def test_a_crafted_file_runs_without_the_check(corpus, monkeypatch):
    """The corpus is live: loaded the way a prefix check let it (skops
    trusting what it names), S1 writes its file at predict."""
    import skops.io

    folder, crafted = corpus
    item = crafted["s1_dump_svmlight_set"]
    model = skops.io.load(item.path, trusted=skops.io.get_untrusted_types(file=item.path))
    X, _ = training_data()
    with pytest.raises(ValueError):  # the FunctionTransformer returns None to the model
        model.predict(X)
    assert os.path.exists(item.marker)
    os.remove(item.marker)


def test_a_name_that_no_longer_resolves_to_its_class_is_refused(tmp_path, monkeypatch):
    """After the names pass as text, each must be the allowed class itself."""
    import sklearn.preprocessing._data as data

    path = tmp_path / "scaler.skops"
    save_model(StandardScaler().fit(training_data()[0]), path)

    class Impostor(StandardScaler):
        pass

    monkeypatch.setattr(data, "StandardScaler", Impostor)
    with pytest.raises(ModelFileError, match="does not resolve to the allowed class"):
        load_model(path)


# -- what loads: every model of this package and its usual pipelines ------------------

def _wine():
    return load_wine(return_X_y=True)


SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


def _models():
    X, y = _wine()
    Xr, yr = load_diabetes(return_X_y=True)
    levels = np.array([0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999])
    scores = np.array([[.9, .9], [.9, .89], [.88, .87], [.85, .84], [.6, .5], [.4, .3],
                       [.1, .12]])
    yield "set pipeline", make_pipeline(StandardScaler(), SETClassifier(**SMALL)), X, y
    yield "text labels", SETClassifier(**SMALL), X, np.array(["a", "b", "c"])[y]
    yield "early stopping", SETClassifier(**SMALL, early_stopping=True), X, y
    yield "connected", SETClassifier(**SMALL, regrowth="connected"), X, y
    yield "gradient", SETClassifier(**SMALL, regrowth="gradient"), X, y
    yield "adam float64", SETClassifier(**SMALL, solver="adam", dtype="float64"), X, y
    yield "multilabel", SETClassifier(**SMALL), X, np.c_[y == 0, y == 1].astype(int)
    yield "accset", AccSETClassifier(**SMALL), X, y
    yield "regressor", SETRegressor(**SMALL), Xr, np.c_[yr, yr]
    yield ("transformed target", TransformedTargetRegressor(
        SETRegressor(**SMALL), transformer=StandardScaler()), Xr, yr)
    yield "curve", SparsityCurveRegressor(), levels.repeat(2)[:, None], scores.ravel()
    yield ("preprocessing", make_pipeline(
        SimpleImputer(), MinMaxScaler(), MaxAbsScaler(), RobustScaler(), PCA(5),
        QuantileTransformer(n_quantiles=50), PowerTransformer(), SETClassifier(**SMALL)), X, y)
    yield ("column transformer", make_pipeline(ColumnTransformer(
        [("a", StandardScaler(), [0, 1]), ("b", OneHotEncoder(handle_unknown="ignore"), [2])],
        remainder="passthrough"), SETClassifier(**SMALL)), X, y)
    yield ("feature union", make_pipeline(
        FeatureUnion([("p", PCA(3)), ("s", StandardScaler())]),
        MissingIndicator(features="all"), SETClassifier(**SMALL)), X, y)
    yield ("identity function transformer",
           make_pipeline(FunctionTransformer(), SETClassifier(**SMALL)), X, y)


MODELS = {name: rest for name, *rest in _models()}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("suffix", [".skops", ".joblib"])
def test_save_then_load_predicts_the_same(name, suffix, tmp_path):
    model, X, y = MODELS[name]
    model.fit(X, y)
    path = tmp_path / f"model{suffix}"
    save_model(model, path)
    loaded = load_model(path, trust_pickle=suffix == ".joblib")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert not [f for f in os.listdir(tmp_path) if f != path.name]  # no temporary file


def test_the_allow_list_names_classes_where_they_are_defined():
    from skops.io._audit import NODE_TYPE_MAPPING

    for names in allowed.allowed_types().values():
        for name, cls in names.items():
            module, _, attribute = name.rpartition(".")
            assert getattr(importlib.import_module(module), attribute) is cls, name
    # every kind of node skops knows is either allowed or refused by name
    known = {kind for kind, _ in NODE_TYPE_MAPPING}
    assert known <= set(allowed.allowed_types()) | set(allowed.REFUSED_NODE_KINDS)


def test_save_model_refuses_what_load_model_would(tmp_path):
    path = tmp_path / "log.skops"
    model = make_pipeline(FunctionTransformer(np.log1p), StandardScaler()).fit(np.ones((3, 2)))
    with pytest.raises(ModelFileError, match="numpy.log1p, a function"):
        save_model(model, path)
    assert not os.listdir(tmp_path)
    with pytest.raises(ValueError, match="name a .skops file"):
        save_model(model, tmp_path / "model.txt")
    save_model(model, tmp_path / "log.joblib")  # a pickle may hold it
    assert load_model(tmp_path / "log.joblib", trust_pickle=True).transform([[1.0, 1.0]]).shape


def test_a_failed_save_keeps_the_earlier_file(tmp_path, monkeypatch):
    path = tmp_path / "m.skops"
    model = SETClassifier(**SMALL).fit(*_wine())
    save_model(model, path)
    before = path.read_bytes()

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        save_model(SETClassifier(**SMALL, sparsity=0.5).fit(*_wine()), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.skops"]


# -- files that are no model ---------------------------------------------------------

@pytest.fixture(scope="module")
def wine_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "wine.skops"
    save_model(make_pipeline(StandardScaler(), SETClassifier(**SMALL)).fit(*_wine()), path)
    return path


def _zip_bomb(path, unpacked):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", "{}")
        archive.writestr("zeros.npy", b"\0" * unpacked)


def test_files_that_are_no_model_are_refused_before_reading(tmp_path, wine_model):
    fifo = tmp_path / "fifo.skops"
    os.mkfifo(fifo)
    (tmp_path / "empty.skops").write_bytes(b"")
    (tmp_path / "text.skops").write_text("a,b\n1,2\n")
    (tmp_path / "binary.skops").write_bytes(bytes(range(256)))
    # a picture given for the model: neither format, so --trust-pickle is no way out
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    _zip_bomb(tmp_path / "bomb.skops", 10**7)
    (tmp_path / "deep.skops").write_bytes(_deep_schema(10**5))
    for path, kwargs, message in [
            (tmp_path / "missing.skops", {}, "does not exist"),
            (tmp_path, {}, "is a folder"),
            ("/dev/zero", {}, "is not a regular file"),
            (fifo, {}, "is not a regular file"),
            (tmp_path / "empty.skops", {}, "is empty"),
            (tmp_path / "text.skops", {}, "is a text file, not a model file"),
            (tmp_path / "binary.skops", {}, "is not a .skops file (not a zip archive)"),
            (tmp_path / "plot.png", {}, "is not a model file: neither a .skops file nor "
             "a pickle"),
            (tmp_path / "plot.png", {"trust_pickle": True}, "neither a .skops file nor a "
             "pickle"),
            (wine_model, {"max_bytes": 1000}, "more than the 1000 a model file may have"),
            (tmp_path / "bomb.skops", {"max_bytes": 10**6},
             "would unpack to 10000002 bytes, more than the 1000000"),
            (tmp_path / "deep.skops", {}, "nests too deeply")]:
        with pytest.raises(ModelFileError, match=None) as info:
            load_model(path, **kwargs)
        assert message in str(info.value) and "\n" not in str(info.value), str(info.value)


_CSV = b"alcohol,malic_acid,label\n" + b"14.2,1.71,0\n" * 200
_COMPRESSORS = {"gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress,
                "zlib": zlib.compress}


@pytest.mark.parametrize("compressor", sorted(_COMPRESSORS))
def test_a_compressed_file_of_no_model_is_no_pickle(compressor, tmp_path):
    """A compressed CSV begins as joblib's compressed files begin; what it
    holds decides, so --trust-pickle is not offered as the way out."""
    path = tmp_path / "data.csv.z"
    path.write_bytes(_COMPRESSORS[compressor](_CSV))
    for kwargs in ({}, {"trust_pickle": True}):
        with pytest.raises(ModelFileError, match="is not a model file: neither a .skops file "
                           "nor a pickle"):
            load_model(path, **kwargs)


def test_a_file_compressed_over_and_over_is_refused_in_one_line(tmp_path):
    """A crafted file of 1,500 nested gzip layers (35 KB): one look inside,
    as joblib compresses once; it once raised RecursionError."""
    data = _CSV
    for _ in range(1500):
        data = gzip.compress(data, compresslevel=0)
    path = tmp_path / "nested.gz"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match="is not a model file: neither a .skops file "
                       "nor a pickle"):
        load_model(path)


@pytest.mark.parametrize("compress", [0, "gzip", "bz2", "xz", "lzma", "zlib"])
@pytest.mark.parametrize("protocol", [0, 1, pickle.HIGHEST_PROTOCOL])
def test_every_joblib_file_is_a_pickle(compress, protocol, tmp_path):
    """joblib's files of every compressor and protocol: untrusted, refused as
    pickles; trusted, loaded. Protocols 0 and 1 have no mark, and joblib
    writes array bytes amid the opcodes, so no parse reaches a STOP."""
    X, y = _wine()
    model = SETClassifier(**SMALL).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path, compress=(compress, 3) if compress else 0, protocol=protocol)
    with pytest.raises(ModelFileError, match="trust_pickle=True"):
        load_model(path)
    np.testing.assert_array_equal(load_model(path, trust_pickle=True).predict(X),
                                  model.predict(X))


def test_load_and_save_model_validate_their_arguments(wine_model):
    """A string is not a yes: trust_pickle="False" would be true."""
    for kwargs, message in [
            ({"trust_pickle": "False"}, "The 'trust_pickle' parameter of load_model must be "
             "an instance of 'bool'"),
            ({"max_bytes": 0}, "The 'max_bytes' parameter of load_model must be an int in "
             "the range \\[1, inf\\)"),
            ({"max_bytes": 1.5e9}, "The 'max_bytes' parameter of load_model must be an int")]:
        with pytest.raises(ValueError, match=message):
            load_model(wine_model, **kwargs)
    with pytest.raises(TypeError, match="The 'path' parameter of load_model must be an "
                       "instance of 'str' or an instance of 'os.PathLike'. Got 3 instead"):
        load_model(3)
    with pytest.raises(TypeError, match="The 'path' parameter of save_model must be an "
                       "instance of 'str' or an instance of 'os.PathLike'"):
        save_model(load_model(wine_model), None)


def _deep_schema(depth):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", "[" * depth + "]" * depth)
    return buffer.getvalue()


def test_a_damaged_skops_file_is_refused_in_one_line(tmp_path, wine_model):
    data = bytearray(wine_model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a byte of some array: its CRC no longer matches
    damaged = tmp_path / "damaged.skops"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as info:
        load_model(damaged)
    assert "\n" not in str(info.value)
    renamed = tmp_path / "renamed.skops"
    renamed.write_bytes(wine_model.read_bytes())
    rewrite_schema(renamed, lambda schema: {**schema, "__loader__": "NoSuchNode"})
    with pytest.raises(ModelFileError, match="unknown kind 'NoSuchNode'"):
        load_model(renamed)
    assert any(node["__loader__"] == "NdArrayNode"
               for node in nodes(json.loads(zipfile.ZipFile(wine_model).read("schema.json"))))


def test_the_warning_of_a_version_mismatch_is_not_hidden(tmp_path, wine_model):
    """Loading only refuses; what scikit-learn says of the file still shows."""
    changed = tmp_path / "old.skops"
    changed.write_bytes(wine_model.read_bytes())

    def older(schema):
        for node in nodes(schema):
            if node.get("__class__") == "StandardScaler":
                node["content"]["content"]["_sklearn_version"]["content"] = '"1.0"'
        return schema

    rewrite_schema(changed, older)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(changed)
    assert any("1.0" in str(w.message) for w in caught)
