"""Property-based tests (hypothesis): CSV files, checkpoints and model files,
mutated in their bytes and in their structure, never end in a traceback.
A command either works or says what is wrong in one line; a checkpoint
either opens or raises CheckpointError naming its file; a model file either
loads or raises ModelFileError, and nothing in it runs.

Each property tries a bounded number of examples, the same in every run
(``derandomize``), so that the suite stays fast and a failure repeats.
"""

import io
import json
import shutil
import sys

import _cli_helpers
import numpy as np
import pytest
from _cli_helpers import command, said_in_one_line
from _crafted_models import EVIL_MODULE, nodes, read_members, write_evil_module, zipped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_wine

from sklearn_set import ModelFileError, load_model
from sklearn_set._sweep import checkpoint
from sklearn_set._sweep.checkpoint import Checkpoint, CheckpointError, count_fits, fit_key
from sklearn_set.cli import main

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore::sklearn_set.DisconnectedNetworkWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]


def fuzz(max_examples):
    # the files of each example overwrite those of the one before, in the
    # test's own tmp_path: the fixture is shared on purpose
    return settings(max_examples=max_examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


# -- mutations ------------------------------------------------------------------------

# cells and lines that files get wrong
ODD = ["", " ", "nan", "NaN", "inf", "-inf", "1e308", "-1e309", "0x10", "1_0", "abc", '"',
       '"a,b"', "\x00", "\ufeff", "\r", "é", "1,2", "9" * 400, "# format = 1", "-0", "٣"]
texts = st.one_of(st.sampled_from(ODD), st.text(max_size=30))


@st.composite
def byte_mutations(draw, data):
    """``data`` with a few bytes flipped, inserted, deleted, or cut off."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if kind == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[where:where + draw(st.integers(1, 64))]
        elif kind == "cut":
            del data[where:]
    return bytes(data)


@st.composite
def line_mutations(draw, text):
    """``text`` with lines deleted, repeated, swapped or replaced, or a
    comma-separated field of a line replaced by an odd value."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i, j = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
        kind = draw(st.sampled_from(["delete", "repeat", "swap", "replace", "field", "field"]))
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "repeat":
            lines.insert(j, lines[i])
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "replace":
            lines[i] = draw(texts)
        elif kind == "field":
            fields = lines[i].split(",")
            fields[draw(st.integers(0, len(fields) - 1))] = draw(texts)
            lines[i] = ",".join(fields)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def mutations(data):
    """Bytes or structure (lines and fields) of a text file."""
    return st.one_of(byte_mutations(data), line_mutations(data.decode()))


# -- CSV files ------------------------------------------------------------------------

def _wine_csv(rows=24, header=True):
    """Evenly spaced rows of wine: with a header and a label column, or
    (``header=False``) the features alone."""
    data = load_wine()
    pick = np.linspace(0, len(data.target) - 1, rows).astype(int)
    lines = [",".join(list(data.feature_names) + ["label"])] if header else []
    lines += [",".join([repr(float(v)) for v in data.data[i]]
                       + ([f"class_{data.target[i]}"] if header else [])) for i in pick]
    return ("\n".join(lines) + "\n").encode()


WINE_CSV = _wine_csv()
BARE_CSV = _wine_csv(header=False)


@pytest.fixture(scope="module")
def wine_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    (folder / "wine.csv").write_bytes(_wine_csv(178))
    assert main(["train", "--dataset", str(folder / "wine.csv"), "--target", "label",
                 "--hidden", "8", "--epochs", "5", "--save", str(folder / "wine.skops")]) == 0
    return folder / "wine.skops"


@fuzz(60)
@given(data=st.data(), header=st.booleans())
def test_predict_on_a_mutated_csv_works_or_says_why(data, header, wine_model, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(data.draw(mutations(WINE_CSV if header else BARE_CSV)))
    code, out, err = command(["predict", str(wine_model), str(path)]
                              + ([] if header else ["--no-header"]))
    said_in_one_line(code, err, allowed=(0, 2))


@fuzz(25)
@given(csv=mutations(WINE_CSV))
def test_train_on_a_mutated_csv_works_or_says_why(csv, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(csv)
    code, out, err = command(["train", "--dataset", str(path), "--target", "label",
                               "--hidden", "4", "--epochs", "1", "--sparsity", "0.5",
                               "--save", str(tmp_path / "m.skops")])
    said_in_one_line(code, err, allowed=(0, 1, 2))


# -- checkpoints ----------------------------------------------------------------------

SETTINGS = {"format": checkpoint._FORMAT, "estimator": "SETClassifier",
            "cv splits": "3 splits, 0123abcd"}
OUT = {**{key: 0.25 for key in checkpoint._COLUMNS.values() if key is not None},
       "error": 'ValueError: "a", b\nand a second line'}


def _checkpoint_bytes(folder):
    path = folder / "base.csv"
    Checkpoint(path, SETTINGS)
    for key in [fit_key(0.5, 0), fit_key(0.5, 1), fit_key(0.9, 2), fit_key(0.0, 1, (4, 2))]:
        out = dict(OUT) if key[1] else {k: v for k, v in OUT.items() if k != "error"}
        checkpoint._append_row(str(path), key, out)
    return path.read_bytes()


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    return _checkpoint_bytes(tmp_path_factory.mktemp("checkpoint"))


@fuzz(200)
@given(data=st.data())
def test_a_mutated_checkpoint_opens_or_names_what_is_wrong(data, checkpoint_bytes, tmp_path):
    path = tmp_path / "fits.csv"
    path.write_bytes(data.draw(mutations(checkpoint_bytes)))
    for use in (lambda: count_fits(path), lambda: Checkpoint(path, SETTINGS),
                lambda: checkpoint._append_row(str(path), fit_key(0.7, 0), OUT)):
        try:
            use()
        except CheckpointError as exc:
            message = str(exc)
            assert str(path) in message and "\n" not in message, message


SWEEP = _cli_helpers.SWEEP + ["--n-jobs", "1", "--no-baseline"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("swept") / "out"
    assert main(SWEEP + ["--out", str(out)]) == 0
    return (out / "fits.csv").read_bytes()


@fuzz(15)
@given(data=st.data())
def test_resume_from_a_mutated_checkpoint_works_or_says_why(data, swept, tmp_path,
                                                            monkeypatch):
    from sklearn_set.cli import report

    monkeypatch.setattr(report, "plot_sweep", lambda *args, **kwargs: False)  # time
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    (out / "fits.csv").write_bytes(data.draw(mutations(swept)))
    code, printed, err = command(SWEEP + ["--out", str(out), "--resume"])
    said_in_one_line(code, err, allowed=(0, 1, 2))
    if code == 2:
        assert "fits.csv" in err


# -- model files ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_files(tmp_path_factory, wine_model):
    """The model file, the data it predicts, and a module whose import
    would write a marker file."""
    folder = tmp_path_factory.mktemp("model_files")
    data = folder / "data.csv"
    data.write_bytes(_wine_csv(10))
    write_evil_module(folder, str(folder / "imported"))
    return wine_model.read_bytes(), data, folder


# names a crafted schema may give a node: allowed, dangerous, unknown, odd
NAMES = [("builtins", "eval"), ("posix", "system"), ("sklearn.utils._testing", "check_output"),
         ("sklearn.datasets._lfw", "remove"), ("numpy", "load"), ("numpy", "float64"),
         ("numpy", "ndarray"), ("builtins", "dict"), ("builtins", "list"), (EVIL_MODULE, "x"),
         ("sklearn_set._set", "SETClassifier"), ("sklearn.pipeline", "Pipeline"),
         ("sklearn_set._engine.layer", "SparseLayer"), ("", ""), ("builtins", "NoneType")]
LOADERS = ["ObjectNode", "FunctionNode", "TypeNode", "DictNode", "ListNode", "TupleNode",
           "JsonNode", "NdArrayNode", "MethodNode", "PartialNode", "ReduceNode",
           "OperatorFuncNode", "NoSuchNode", "CachedNode", "SparseMatrixNode"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8)


@st.composite
def schema_mutations(draw, model):
    """``model`` (a skops file) with nodes of its schema.json renamed,
    retyped, emptied or swapped, and arrays replaced by other arrays."""
    members = read_members(model)
    schema = json.loads(members["schema.json"])
    all_nodes = list(nodes(schema))
    for _ in range(draw(st.integers(1, 3))):
        node = all_nodes[draw(st.integers(0, len(all_nodes) - 1))]
        kind = draw(st.sampled_from(["name", "loader", "drop", "content", "swap", "array",
                                     "json"]))
        if kind == "name":
            node["__module__"], node["__class__"] = draw(st.sampled_from(NAMES))
        elif kind == "loader":
            node["__loader__"] = draw(st.sampled_from(LOADERS))
        elif kind == "drop":
            node.pop(draw(st.sampled_from(sorted(node))), None)
        elif kind == "content":
            node["content"] = draw(json_values)
        elif kind == "swap":
            other = all_nodes[draw(st.integers(0, len(all_nodes) - 1))]
            node["content"], other["content"] = other.get("content"), node.get("content")
        elif kind == "json" and node.get("__loader__") == "JsonNode":
            node["content"] = json.dumps(draw(json_values))
        elif kind == "array" and "file" in node:
            shape = draw(st.lists(st.integers(0, 4), max_size=2))
            dtype = draw(st.sampled_from(["int32", "int64", "float32", "float64", "<U3"]))
            values = np.asarray(draw(st.lists(st.integers(-3, 40), min_size=int(np.prod(shape)),
                                              max_size=int(np.prod(shape)))), dtype=dtype)
            buffer = io.BytesIO()
            np.save(buffer, values.reshape(shape), allow_pickle=False)
            members[node["file"]] = buffer.getvalue()
    members["schema.json"] = json.dumps(schema).encode()
    return zipped(members)


@pytest.mark.parametrize("mutate", [byte_mutations, schema_mutations])
@fuzz(70)
@given(data=st.data())
def test_a_mutated_model_file_loads_or_is_refused_and_runs_nothing(mutate, data, model_files,
                                                                   tmp_path, monkeypatch):
    model, csv, folder = model_files
    monkeypatch.syspath_prepend(str(folder))
    path = tmp_path / "model.skops"
    path.write_bytes(data.draw(mutate(model)))
    try:
        load_model(path)
    except ModelFileError as exc:
        assert "\n" not in str(exc) and repr(str(path)) in str(exc)
    code, out, err = command(["predict", str(path), str(csv)])
    said_in_one_line(code, err, allowed=(0, 2))
    assert not (folder / "imported").exists() and EVIL_MODULE not in sys.modules


def test_the_mutations_change_the_files():
    """The strategies do mutate (a fuzzer of unchanged files proves nothing)."""
    from hypothesis import find

    # find() raises NoSuchExample if no drawn file differs; the smallest one
    # that does may be empty (falsy), so compare rather than test its truth
    assert find(byte_mutations(WINE_CSV), lambda mutated: mutated != WINE_CSV) != WINE_CSV
    assert find(line_mutations(WINE_CSV.decode()),
                lambda mutated: mutated != WINE_CSV) != WINE_CSV
