"""Helpers of the command-line tests: running a command, a sweep that runs
in about a second, and its results without the clock."""

import contextlib
import csv
import io
import json

from sklearn_set.cli import main

# 20 epochs: a curve that fits at once (after 3 the accuracies are noise)
SWEEP = ["sweep", "--dataset", "wine", "--sparsities", "0.3,0.6,0.8,0.9,0.95", "--hidden", "8",
         "--epochs", "20", "--cv", "2", "--no-loo", "--family", "rosenfeld"]


def command(argv):
    """Exit status, stdout and stderr of ``sklearn-set ARGV``; an exception
    escaping the command fails the calling test with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own errors
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def said_in_one_line(code, err, allowed=(2,)):
    """The command ended with one of the ``allowed`` statuses, without a
    traceback, and status 2 (a mistake) with one line."""
    assert code in allowed, err
    assert "Traceback" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


def sweep_rows(folder):
    """results.csv and curve.json without the fit times (a clock, not a result)."""
    with open(folder / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    curve = json.loads((folder / "curve.json").read_text())
    for row in rows + curve["results"]:
        row.pop("mean_fit_seconds")
    return rows, curve
