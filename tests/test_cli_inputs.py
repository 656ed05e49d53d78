"""What the command line reads, tried as an attacker and as a new user
would: crafted model files, damaged checkpoints, files that never end,
byte-order marks, huge values and counts, tiny classes, a closed pipe, a
model that cannot work. Each ends in one line (or works), never in a
traceback, and nothing in a model file runs.

This module uses the command line only (``main``), so that it runs against
any version of the package.
"""

import csv
import os
import pickle
import subprocess
import sys
import warnings

import _cli_helpers
import pytest
from _cli_helpers import command, said_in_one_line
from _crafted_models import (
    EVIL_MODULE,
    NAMES,
    arm,
    build,
    training_data,
    write_data,
    write_evil_module,
)
from sklearn.datasets import load_wine

from sklearn_set.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _one_line(code, err):
    said_in_one_line(code, err)
    assert len(err.strip().splitlines()) == 1, err


def _wine_csv(path, *, encoding="utf-8", rows=None, label=lambda t: f"class_{t}"):
    data = load_wine()
    rows = range(len(data.target)) if rows is None else rows
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(list(data.feature_names) + ["label"])
        for i in rows:
            writer.writerow([repr(float(v)) for v in data.data[i]] + [label(data.target[i])])
    return path


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """A wine CSV and a model trained on it by ``sklearn-set train``."""
    folder = tmp_path_factory.mktemp("wine")
    _wine_csv(folder / "wine.csv")
    assert main(["train", "--dataset", str(folder / "wine.csv"), "--target", "label",
                 "--hidden", "16", "--epochs", "5", "--save", str(folder / "wine.skops")]) == 0
    return folder


# -- crafted model files (S1, S2 and the other ways of naming code) -----------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    crafted = build(folder)
    write_data(folder / "data.csv")
    write_evil_module(folder, crafted["unknown_module"].marker)
    return folder, crafted


@pytest.mark.parametrize("name", NAMES)
def test_predict_refuses_a_crafted_model_file_and_runs_nothing(name, corpus, monkeypatch):
    """Each file would write its marker file if loaded: by its own
    arguments (S1), by importing its module, or by calling the function it
    names, replaced here by a spy that writes the marker (S2)."""
    folder, crafted = corpus
    item = crafted[name]
    arm(monkeypatch, folder, item)
    code, out, err = command(["predict", item.path, str(folder / "data.csv"),
                                   "--no-header"])
    assert not os.path.exists(item.marker), "the crafted file ran"
    assert EVIL_MODULE not in sys.modules, "the crafted file's module was imported"
    _one_line(code, err)
    assert item.refusal in err and out == ""


def test_a_protocol_0_pickle_is_a_pickle(wine, tmp_path):
    """A protocol-0 pickle is text (its arrays aside): this one, in the
    format of Python's first pickles, starts with 13 long feature names, so its
    first 4 KB are ASCII. It is a pickle all the same: refused as one without
    --trust-pickle, loaded with it."""
    import skops.io

    model = skops.io.load(wine / "wine.skops",
                          trusted=skops.io.get_untrusted_types(file=wine / "wine.skops"))
    names = [f"measurement {i} " + "of the wine, as the laboratory reported it " * 8
             for i in range(13)]
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"feature_names": names, "model": model}, protocol=0))
    assert path.read_bytes()[:4096].isascii()
    write_data(tmp_path / "data.csv")
    argv = ["predict", str(path), str(tmp_path / "data.csv"), "--no-header"]
    code, _, err = command(argv)
    _one_line(code, err)
    assert "is a pickle" in err and "text file" not in err
    code, out, err = command(argv + ["--trust-pickle"])
    assert code == 0, err
    assert out.split() == [str(p) for p in model.predict(training_data()[0])]


_LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
from sklearn_set.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("which", ["model", "data"])
def test_dev_zero_is_refused_at_once(which, wine):
    """Read without a bound, /dev/zero fills the memory (as the model) or
    never ends (as the data): a subprocess with 3 GiB of address space and a
    minute shows either as a failure instead of hanging this run."""
    argv = (["predict", "/dev/zero", str(wine / "wine.csv")] if which == "model"
            else ["predict", str(wine / "wine.skops"), "/dev/zero"])
    try:
        done = subprocess.run([sys.executable, "-c", _LIMITED, *argv],
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("reading /dev/zero did not end")
    _one_line(done.returncode, done.stderr)
    assert ("is not a regular file" if which == "model" else "holds NUL bytes") in done.stderr


def test_a_csv_larger_than_the_limit_is_refused(wine, tmp_path, monkeypatch):
    from sklearn_set.cli import io

    monkeypatch.setattr(io, "MAX_CSV_BYTES", 1000)
    code, _, err = command(["predict", str(wine / "wine.skops"), str(wine / "wine.csv")])
    _one_line(code, err)
    assert "has more than 1000 bytes, the most sklearn-set reads" in err


# -- damaged checkpoints under --resume ---------------------------------------------

SWEEP = _cli_helpers.SWEEP + ["--n-jobs", "1", "--no-baseline"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """fits.csv of a finished sweep, and the line of its header."""
    out = tmp_path_factory.mktemp("swept") / "out"
    assert main(SWEEP + ["--out", str(out)]) == 0
    lines = (out / "fits.csv").read_text().splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("sparsity,"))
    return lines, header + 1


def _edit(lines, header):
    """The damaged copies of fits.csv: ``{case: (content, message)}``."""
    n = len(lines)
    row = lines[-1].split(",")
    garbage_row = ",".join(["0.9", "1", "", "garbage"] + row[4:])
    duplicate = ",".join(row[:3] + ["0.1234"] + row[4:])
    nan_score = ",".join(row[:3] + ["nan"] + row[4:])
    return {
        "appended garbage": (lines + ["garbage\n"], f"line {n + 1}: 1 field, where a row has"),
        "no header": (lines[:header - 1] + lines[header:],
                      f"line {header}: the header row should be"),
        "no format line": (lines[1:], "its line 1 is not '# format = "),
        "no file id line": ([line for line in lines if not line.startswith("# file id")],
                            "have no 'file id' line"),
        "broken setting": (lines[:2] + ["# param_name = {broken\n"] + lines[3:],
                           "line 3: the value of the setting 'param_name' is not valid JSON"),
        "binary": (["\udcff\udcfe\x00garbage\n"], "line 1: not UTF-8 text"),
        "garbage row of 14 fields": (lines + [garbage_row],
                                     f"line {n + 1}: test_score 'garbage' is not a number"),
        "conflicting duplicate": (lines + [duplicate],
                                  f"line {n + 1}: the fit (sparsity 0.95, fold 1) is recorded "
                                  "a second time, with another test_score"),
        "nan score": (lines[:-1] + [nan_score], None),
    }


CASES = ["appended garbage", "no header", "no format line", "no file id line",
         "broken setting", "binary", "garbage row of 14 fields", "conflicting duplicate"]


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_checkpoint_is_refused_naming_its_line(case, swept, tmp_path, monkeypatch):
    from sklearn_set import SETClassifier

    def no_fit(*args, **kwargs):
        raise AssertionError("a damaged checkpoint must be refused before any fit")

    monkeypatch.setattr(SETClassifier, "fit", no_fit)
    content, message = _edit(*swept)[case]
    out = tmp_path / "out"
    out.mkdir()
    (out / "fits.csv").write_bytes("".join(content).encode("utf-8", "surrogateescape"))
    code, stdout, err = command(SWEEP + ["--out", str(out), "--resume"])
    _one_line(code, err)
    assert f"checkpoint {out / 'fits.csv'}" in err or f"{out / 'fits.csv'} is not" in err
    assert message in err
    assert "that sweep's settings" not in err  # a damaged row is not a setting


def test_a_checkpoint_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "out" / "fits.csv").mkdir(parents=True)
    code, _, err = command(SWEEP + ["--out", str(tmp_path / "out"), "--resume"])
    _one_line(code, err)
    assert "fits.csv is a folder, not a file" in err


def test_a_nan_score_without_an_error_is_a_failed_fit(swept, tmp_path):
    content, _ = _edit(*swept)["nan score"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "fits.csv").write_text("".join(content))
    code, stdout, err = command(SWEEP + ["--out", str(out), "--resume"])
    assert code == 1, err  # the results are written, but a fit failed
    assert "1 of the 10 fits failed (at sparsity 0.95)" in stdout
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["failed_fits"]) for row in rows] == [0, 0, 0, 0, 1]


# -- data files ------------------------------------------------------------------------

def test_a_byte_order_mark_is_not_part_of_the_first_column(wine, tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark."""
    bom = _wine_csv(tmp_path / "bom.csv", encoding="utf-8-sig")
    model = tmp_path / "bom.skops"
    code, _, err = command(["train", "--dataset", str(bom), "--target", "label",
                                 "--hidden", "8", "--epochs", "3", "--save", str(model)])
    assert code == 0, err
    for data in (wine / "wine.csv", bom):
        code, out, err = command(["predict", str(model), str(data)])
        assert code == 0, err
        assert len(out.split()) == 178
    code, _, err = command(["predict", str(wine / "wine.skops"), str(bom)])
    assert code == 0, err


@pytest.mark.parametrize("which", ["train", "predict"])
def test_a_value_beyond_float32_is_refused_naming_its_cell(which, wine, tmp_path):
    lines = (wine / "wine.csv").read_text().splitlines()
    cells = lines[5].split(",")
    cells[0] = "1e308"
    lines[5] = ",".join(cells)
    big = tmp_path / "big.csv"
    big.write_text("\n".join(lines) + "\n")
    argv = (["train", "--dataset", str(big), "--target", "label", "--save",
             str(tmp_path / "m.skops")] if which == "train"
            else ["predict", str(wine / "wine.skops"), str(big)])
    code, _, err = command(argv)
    _one_line(code, err)
    assert f"CSV file {str(big)!r}, line 6, column 'alcohol': '1e308' is too large" in err
    assert "NaN" not in err


@pytest.mark.parametrize("classes, message", [
    ([0] * 5 + [1], "class 1 has a single sample; train holds out a stratified 25%"),
    ([c for c in range(7) for _ in range(2)], "cannot hold out a stratified 25%"),
])
def test_train_on_classes_too_small_to_split_says_so(classes, message, tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("a,b,target\n" + "".join(f"{i},{i % 3},{c}\n"
                                            for i, c in enumerate(classes)))
    code, _, err = command(["train", "--dataset", str(path), "--save",
                                 str(tmp_path / "m.skops")])
    _one_line(code, err)
    assert message in err


@pytest.mark.parametrize("target, shown", [("0", "single class (0)"),
                                           ("nan", "the target is 'nan'")])
def test_messages_show_plain_values(target, shown, tmp_path):
    path = tmp_path / "plain.csv"
    rows = [f"{i},{i + 1},{target if i == 1 or target == '0' else i % 2}" for i in range(6)]
    path.write_text("a,b,target\n" + "\n".join(rows) + "\n")
    code, _, err = command(["train", "--dataset", str(path), "--save",
                                 str(tmp_path / "m.skops")])
    _one_line(code, err)
    assert shown in err and "np." not in err


def test_counts_cannot_overflow(tmp_path):
    save = str(tmp_path / "m.skops")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = command(["train", "--dataset", "wine", "--hidden",
                                     "9223372036854775808", "--save", save])
        _one_line(code, err)
        assert "a layer has at most 2147483647 units" in err
        widest = ",".join(["2147483647"] * 5)
        code, _, err = command(["train", "--dataset", "wine", "--hidden", widest,
                                     "--sparsity", "0", "--save", save])
        _one_line(code, err)
        assert "for its 18446744090889420800 connections alone" in err
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "-" not in err.split("connections")[0].split("needs")[1]


# -- output: a closed pipe ----------------------------------------------------------------

def test_a_closed_pipe_ends_quietly(wine):
    """``sklearn-set predict ... | head -1``: the reader goes away first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sklearn_set", "predict", str(wine / "wine.skops"),
         str(wine / "wine.csv")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # before the model is even loaded
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert err == ""


# -- a model that cannot work -----------------------------------------------------------

def test_a_model_without_an_input_output_path_says_so_and_is_not_exported(tmp_path):
    model = tmp_path / "useless.skops"
    # 256,256 at 0.9999 keeps 7 connections, on no input-to-output path (the
    # default (100,) would keep none, which train refuses before fitting)
    code, out, err = command(["train", "--dataset", "wine", "--sparsity", "0.9999",
                              "--hidden", "256,256", "--save", str(model)])
    assert code == 0
    assert ("warning: SETClassifier ended with no path from an input to an output: it "
            "predicts the same for every input") in err
    code, out, err = command(["export", str(model), "--out", str(tmp_path / "c")])
    _one_line(code, err)
    assert "has no path from an input to an output" in err and "--allow-disconnected" in err
    assert not (tmp_path / "c").exists()
    code, out, err = command(["export", str(model), "--out", str(tmp_path / "c"),
                                   "--allow-disconnected"])
    assert code == 0 and (tmp_path / "c" / "set_model.c").exists()


def test_a_model_whose_outputs_are_partly_unreached_says_so(tmp_path):
    path = tmp_path / "wine.csv"
    _wine_csv(path)
    code, _, err = command(["train", "--dataset", str(path), "--target", "label",
                                 "--hidden", "2", "--sparsity", "0.9", "--seed", "0",
                                 "--save", str(tmp_path / "m.skops")])
    assert code == 0
    assert "paths from the inputs to only 1 of its 3 outputs" in err
