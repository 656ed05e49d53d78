"""Checkpoints of sparsity_curve: nothing finished is lost, resuming equals
an uninterrupted run, other settings are refused (sklearn_set._sweep.checkpoint)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.model_selection import KFold

from sklearn_set._set import SETClassifier
from sklearn_set._sweep import checkpoint
from sklearn_set._sweep.checkpoint import Checkpoint, count_fits, fit_key
from sklearn_set._sweep.sweep import sparsity_curve

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore:No fitted object")]

LEVELS = [0.5, 0.9, 0.95, 0.98]
FIELDS = ("sparsities", "test_scores", "train_scores", "n_connections",
          "measured_sparsities", "active_fractions")


class CentroidClassifier(ClassifierMixin, BaseEstimator):
    """Nearest centroid with a share of random labels that grows with
    sparsity; its fit kills its own process when the file ``kill_flag``
    exists and the level is ``kill_at`` (a worker killed by the system)."""

    def __init__(self, sparsity=0.0, random_state=0, kill_flag=None, kill_at=None):
        self.sparsity = sparsity
        self.random_state = random_state
        self.kill_flag = kill_flag
        self.kill_at = kill_at

    def fit(self, X, y):
        if self.kill_flag and self.sparsity == self.kill_at and os.path.exists(self.kill_flag):
            time.sleep(1.0)  # let the other worker finish its fits first
            os._exit(1)
        self.classes_ = np.unique(y)
        self.centroids_ = np.array([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict(self, X):
        pred = self.classes_[np.argmin(
            ((X[:, None, :] - self.centroids_[None]) ** 2).sum(axis=-1), axis=1)]
        rng = np.random.RandomState(self.random_state)
        guess = rng.uniform(size=len(X)) < 1.0 / (1.0 + ((1.0 - self.sparsity) / 0.01) ** 2)
        pred[guess] = rng.choice(self.classes_, size=int(guess.sum()))
        return pred


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=150, n_features=8, n_informative=4, random_state=0)


def small_set(**params):
    return SETClassifier(**{"hidden_layer_sizes": (32,), "max_iter": 5, "random_state": 0,
                            **params})


def assert_same_result(got, want):
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def assert_one_row_per_fit(path):
    keys = [checkpoint._row_key(row) for row in checkpoint._read(path)[1]]
    assert len(keys) == len(set(keys)), "a fit was written twice"


def assert_resumes_exactly(est, X, y, path, kept):
    """A sweep resumed from ``path`` (holding ``kept`` fits) fits only the
    missing ones, writes each once and equals an uninterrupted sweep."""
    resumed = []
    result = sparsity_curve(est, X, y, sparsities=LEVELS, cv=3, n_jobs=2, checkpoint=path,
                            progress=lambda level, fold, *_: resumed.append((level, fold)))
    assert len(resumed) == 12 - kept
    assert_one_row_per_fit(path)
    assert_same_result(result, sparsity_curve(est, X, y, sparsities=LEVELS, cv=3))


def wait_until(condition, seconds=30.0):
    """Poll ``condition`` until it holds or ``seconds`` have passed; the
    test's own assertion then says whether it held."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


class InterruptAfter:
    """A progress callback that raises KeyboardInterrupt (Ctrl-C) after n fits
    of the swept estimator, or with ``dense=True`` after n fits of the dense
    baseline; ``seen`` lists the fits it counted, as (level or dense hidden
    layer sizes, fold)."""

    def __init__(self, n, dense=False):
        self.n, self.dense, self.seen = n, dense, []

    def __call__(self, level, fold, score, seconds, baseline=None):
        if (baseline is not None) == self.dense:
            self.seen.append((level if baseline is None else baseline, fold))
            if len(self.seen) == self.n:
                raise KeyboardInterrupt


def test_interrupted_sweep_keeps_its_fits_and_resumes_exactly(data, tmp_path):
    X, y = data
    path = tmp_path / "fits.csv"
    full = sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3)
    stop = InterruptAfter(5)
    with pytest.raises(KeyboardInterrupt):
        sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, checkpoint=path,
                       progress=stop)
    assert count_fits(path) == 5
    resumed = []
    result = sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, checkpoint=path,
                            progress=lambda level, fold, *_: resumed.append((level, fold)))
    # only the missing pairs were fitted, and the result is the uninterrupted one
    assert len(resumed) == 12 - 5 and not set(resumed) & set(stop.seen)
    assert count_fits(path) == 12
    assert_one_row_per_fit(path)
    assert_same_result(result, full)
    # a complete checkpoint fits nothing; n_jobs and verbose do not count as settings
    again = sparsity_curve(small_set(n_jobs=1, verbose=0), X, y, sparsities=LEVELS, cv=3,
                           checkpoint=path, n_jobs=2,
                           progress=lambda *_: pytest.fail("refitted a kept fit"))
    assert_same_result(again, full)


def test_checkpoint_rows_hold_the_result(data, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = data
    path = tmp_path / "fits.csv"
    result = sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, checkpoint=path,
                            baseline="dense")
    rows = pd.read_csv(path, comment="#", dtype={"baseline_hidden_layer_sizes": str})
    assert list(rows.columns[:10]) == [
        "sparsity", "fold", "baseline_hidden_layer_sizes", "test_score", "train_score",
        "fit_seconds", "score_seconds", "n_connections", "measured_sparsity",
        "active_fraction"]
    swept = rows[rows["baseline_hidden_layer_sizes"].isna()].sort_values(["sparsity", "fold"])
    np.testing.assert_array_equal(swept["test_score"].to_numpy().reshape(4, 3),
                                  result.test_scores)
    np.testing.assert_array_equal(swept["n_connections"].to_numpy().reshape(4, 3),
                                  result.n_connections)
    # the dense baseline's fits: one row per (hidden layer sizes, fold)
    dense = rows[rows["baseline_hidden_layer_sizes"].notna()]
    assert (dense["sparsity"] == 0).all()
    for widths, scores in zip(result.baseline_hidden_layer_sizes, result.baseline_scores):
        mine = dense[dense["baseline_hidden_layer_sizes"] == ",".join(map(str, widths))]
        np.testing.assert_array_equal(mine.sort_values("fold")["test_score"], scores)
    assert len(dense) == 3 * len(set(result.baseline_hidden_layer_sizes))


def test_interrupted_baseline_keeps_its_fits_and_resumes_exactly(data, tmp_path):
    X, y = data
    path = tmp_path / "fits.csv"
    full = sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, baseline="dense")
    n_dense = 3 * len(set(full.baseline_hidden_layer_sizes))
    stop = InterruptAfter(4, dense=True)
    with pytest.raises(KeyboardInterrupt):
        sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, checkpoint=path,
                       baseline="dense", progress=stop)
    rows = checkpoint._read(path)[1]
    assert sum(bool(row["baseline_hidden_layer_sizes"]) for row in rows) == 4
    assert count_fits(path) == 12  # the swept estimator's fits only
    resumed = InterruptAfter(0, dense=True)
    result = sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, checkpoint=path,
                            baseline="dense", progress=resumed)
    # only the dense fits that were missing are fitted
    assert len(resumed.seen) == n_dense - 4 and not set(resumed.seen) & set(stop.seen)
    assert_one_row_per_fit(path)
    assert_same_result(result, full)
    np.testing.assert_array_equal(result.baseline_scores, full.baseline_scores)


@pytest.mark.parametrize("change, named", [
    (dict(estimator=small_set(max_iter=6)), "estimator parameter max_iter is 5 there and 6"),
    (dict(sparsities=LEVELS[:3]), "sparsities is"),
    (dict(cv=KFold(3, shuffle=True, random_state=1)), "cv splits is"),
    (dict(X_shift=1.0), "data is"),
    (dict(scoring="balanced_accuracy"), "scoring is"),
])
def test_checkpoint_of_other_settings_is_refused_in_one_line(data, tmp_path, change, named):
    X, y = data
    path = tmp_path / "fits.csv"
    sparsity_curve(small_set(), X, y, sparsities=LEVELS[:3], cv=3, checkpoint=path)
    kwargs = dict(estimator=small_set(), sparsities=LEVELS[:3], cv=3, scoring=None)
    kwargs.update(change)
    X = X + kwargs.pop("X_shift", 0.0)
    if "sparsities" in change:
        kwargs["sparsities"] = LEVELS
    with pytest.raises(ValueError, match=named) as info:
        sparsity_curve(kwargs.pop("estimator"), X, y, checkpoint=path,
                       progress=lambda *_: pytest.fail("fitted before refusing"), **kwargs)
    assert "\n" not in str(info.value)


def test_partial_last_line_is_dropped_and_non_checkpoints_refused(data, tmp_path):
    X, y = data
    path = tmp_path / "fits.csv"
    full = sparsity_curve(small_set(), X, y, sparsities=LEVELS[:2], cv=2, checkpoint=path)
    text = path.read_text()
    path.write_text(text[:text.rstrip("\n").rfind("\n") + 1] + "0.9,1,0.5")  # killed mid-row
    assert count_fits(path) == 3
    again = sparsity_curve(small_set(), X, y, sparsities=LEVELS[:2], cv=2, checkpoint=path)
    assert_same_result(again, full)
    assert count_fits(path) == 4
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="is not a sparsity_curve checkpoint"):
        count_fits(other)
    with pytest.raises(ValueError, match="is not a sparsity_curve checkpoint"):
        sparsity_curve(small_set(), X, y, sparsities=LEVELS[:2], cv=2, checkpoint=other)
    assert count_fits(tmp_path / "absent.csv") == 0


def test_random_state_none_warns_that_resuming_is_not_reproducible(data, tmp_path):
    X, y = data
    with pytest.warns(UserWarning, match="random_state=None"):
        sparsity_curve(SETClassifier(hidden_layer_sizes=(8,), max_iter=2), X, y,
                       sparsities=[0.5], cv=2, checkpoint=tmp_path / "fits.csv")


def test_failed_fits_are_kept_with_their_error(tmp_path, data):
    X, y = data
    path = tmp_path / "fits.csv"
    est = small_set(hidden_layer_sizes=(0,))  # every fit fails
    with pytest.raises(ValueError, match="All the 2 fits failed"):
        sparsity_curve(est, X, y, sparsities=[0.5], cv=2, checkpoint=path)
    assert count_fits(path) == 2
    with pytest.raises(ValueError, match="All the 2 fits failed"):
        sparsity_curve(est, X, y, sparsities=[0.5], cv=2, checkpoint=path,
                       progress=lambda *_: pytest.fail("refitted a kept failure"))


@pytest.fixture
def by_value():
    """Worker processes cannot import this test module: ship it by value."""
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_killed_worker_leaves_every_finished_fit(data, tmp_path, by_value):
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    X, y = data
    path, flag = tmp_path / "fits.csv", tmp_path / "kill"
    flag.touch()
    est = CentroidClassifier(kill_flag=str(flag), kill_at=LEVELS[-1])
    done = []
    with pytest.raises(TerminatedWorkerError):
        sparsity_curve(est, X, y, sparsities=LEVELS, cv=3, n_jobs=2, checkpoint=path,
                       progress=lambda level, fold, *_: done.append((level, fold)))
    # and the fits the other worker finished meanwhile, whose results never arrived
    kept = count_fits(path)
    assert kept >= len(done) >= 3
    flag.unlink()
    assert_resumes_exactly(est, X, y, path, kept)


_SIGTERM_CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    import test_checkpoint as t
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=150, n_features=8, n_informative=4, random_state=0)
    done = []
    def progress(*args):
        done.append(args)
        if len(done) == 4:
            os.kill(os.getpid(), signal.SIGTERM)
    t.sparsity_curve(t.CentroidClassifier(), X, y, sparsities=t.LEVELS, cv=3,
                     checkpoint=sys.argv[2], progress=progress)
""")


def test_sigterm_leaves_every_finished_fit(data, tmp_path):
    X, y = data
    path = tmp_path / "fits.csv"
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([sys.executable, "-c", _SIGTERM_CHILD, tests_dir, str(path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGTERM, run.stderr[-2000:]
    assert count_fits(path) == 4
    est = CentroidClassifier()
    result = sparsity_curve(est, X, y, sparsities=LEVELS, cv=3, checkpoint=path)
    assert_same_result(result, sparsity_curve(est, X, y, sparsities=LEVELS, cv=3))


def test_adaptive_sweep_resumes_exactly(tmp_path):
    X, y = make_classification(n_samples=600, n_features=6, n_informative=5, n_redundant=0,
                               n_classes=4, class_sep=2.5, random_state=0)
    path = tmp_path / "fits.csv"
    kwargs = dict(sparsities="adaptive", n_levels=9, cv=2, sparsity_range=(0.5, 0.9998))
    full = sparsity_curve(CentroidClassifier(), X, y, **kwargs)
    # stop in the second added round: the coarse grid's fits and three more are kept
    kept = 2 * int(np.sum(full.rounds == 0)) + 3
    assert 18 - kept >= 2
    with pytest.raises(KeyboardInterrupt):
        sparsity_curve(CentroidClassifier(), X, y, checkpoint=path,
                       progress=InterruptAfter(kept), **kwargs)
    assert count_fits(path) == kept
    resumed = []
    result = sparsity_curve(CentroidClassifier(), X, y, checkpoint=path,
                            progress=lambda level, fold, *_: resumed.append((level, fold)),
                            **kwargs)
    assert len(resumed) == 18 - kept
    assert_same_result(result, full)
    np.testing.assert_array_equal(result.rounds, full.rounds)
    with pytest.raises(ValueError, match="sparsities is"):
        sparsity_curve(CentroidClassifier(), X, y, checkpoint=path,
                       **{**kwargs, "n_levels": 10})


def test_dask_sweep_checkpoints_each_fit_as_it_arrives(data, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is the optional 'distributed' extra")
    from joblib import parallel_config

    X, y = data
    path = tmp_path / "fits.csv"
    local = sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), parallel_config(backend="dask"):
        with pytest.raises(KeyboardInterrupt):
            sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, n_jobs=-1,
                           checkpoint=path, progress=InterruptAfter(3))
        # the workers' fits whose results had not arrived too; the running fits
        # go on after the interrupt (a thread cannot be stopped) and may append
        # theirs until the resumed sweep has read the file
        kept = count_fits(path)
        assert kept >= 3
        resumed = []
        remote = sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3, n_jobs=-1,
                                checkpoint=path,
                                progress=lambda level, fold, *_: resumed.append(1))
    assert len(resumed) <= 12 - kept
    assert count_fits(path) == 12
    assert_one_row_per_fit(path)
    assert_same_result(remote, local)


def test_fit_finished_in_a_worker_is_kept_though_its_result_never_arrived(data, tmp_path,
                                                                          by_value):
    X, y = data
    path = tmp_path / "fits.csv"

    def stop_when_another_fit_is_kept(level, fold, score, seconds):
        # this process holds the first result only; the other worker's fit
        # finishes meanwhile, and its result is never collected
        wait_until(lambda: count_fits(path) >= 2)
        raise KeyboardInterrupt

    est = CentroidClassifier()
    with pytest.raises(KeyboardInterrupt):
        sparsity_curve(est, X, y, sparsities=LEVELS, cv=3, n_jobs=2, checkpoint=path,
                       progress=stop_when_another_fit_is_kept)
    kept = count_fits(path)
    assert kept >= 2
    assert_resumes_exactly(est, X, y, path, kept)


class InterruptedSET(SETClassifier):
    """A SETClassifier whose fit at sparsity 0.9 meets Ctrl-C in its third
    epoch (alone, its fit would return the model of epoch 2)."""

    def _evolve_and_train(self, data, l2, batch_size):
        if self.sparsity == 0.9 and len(self.loss_curve_) == 2:
            raise KeyboardInterrupt
        return super()._evolve_and_train(data, l2, batch_size)


def test_ctrl_c_during_a_fit_stops_the_sweep_and_records_no_truncated_fit(data, tmp_path):
    X, y = data
    path = tmp_path / "fits.csv"
    full = sparsity_curve(small_set(), X, y, sparsities=[0.5, 0.9], cv=2)
    params = small_set().get_params()
    with pytest.raises(KeyboardInterrupt):
        sparsity_curve(InterruptedSET(**params), X, y, sparsities=[0.5, 0.9], cv=2,
                       checkpoint=path)
    # the two fits at 0.5 finished; the one Ctrl-C stopped is not recorded
    rows = checkpoint._read(path)[1]
    assert [(row["sparsity"], row["fold"]) for row in rows] == [("0.5", "0"), ("0.5", "1")]
    np.testing.assert_array_equal([float(row["test_score"]) for row in rows],
                                  full.test_scores[0])


# an output of every column, and an error text that needs quoting
OUT = {**{key: 0.25 for key in checkpoint._COLUMNS.values() if key is not None},
       "error": 'ValueError: "a", b\nand a second line'}
SETTINGS = {"format": checkpoint._FORMAT}


def test_recorder_appends_only_to_its_own_file_else_the_caller_does(data, tmp_path):
    path = tmp_path / "fits.csv"
    first = Checkpoint(path, SETTINGS)
    record = first.recorder(fit_key(0.5, 0))
    path.unlink()
    second = Checkpoint(path, SETTINGS)  # another checkpoint at the same path
    assert record(OUT) is False and count_fits(path) == 0
    first.append(fit_key(0.5, 0), OUT, written=False)  # the calling process appends it
    assert count_fits(path) == 1
    assert second.recorder(fit_key(0.9, 1))(OUT) is True and count_fits(path) == 2
    # a fit the file holds is not appended again
    assert second.recorder(fit_key(0.9, 1))(OUT) is True and count_fits(path) == 2
    # each opening renews the id: a worker that a stopped sweep left running
    # appends nothing once another sweep has read the file
    stale = second.recorder(fit_key(0.5, 1))
    third = Checkpoint(path, SETTINGS)
    assert third.file_id != second.file_id
    assert set(third.fits) == {fit_key(0.5, 0), fit_key(0.9, 1)}
    assert stale(OUT) is False and count_fits(path) == 2
    assert third.recorder(fit_key(0.5, 1))(OUT) is True and count_fits(path) == 3
    # a worker that cannot see the file (another machine) appends nothing
    elsewhere = str(tmp_path / "elsewhere" / "fits.csv")
    assert checkpoint._FitRecorder(elsewhere, first.file_id, fit_key(0.5, 0))(OUT) is False
    fourth = Checkpoint(path, SETTINGS)
    assert fourth.get(fit_key(0.5, 0)) == OUT
    # a dense baseline's fit is another fit than the swept estimator's
    assert fourth.recorder(fit_key(0.0, 1, (4, 2)))(OUT) is True and count_fits(path) == 3
    assert Checkpoint(path, SETTINGS).get(fit_key(0.0, 1, (4, 2))) == OUT
    assert_one_row_per_fit(path)


def test_checkpoint_of_an_older_format_is_refused_in_one_line(tmp_path):
    path = tmp_path / "fits.csv"
    path.write_text('# format = "sklearn-set sparsity_curve checkpoint 1"\n'
                    "sparsity,fold,test_score\n0.5,0,0.9\n")
    with pytest.raises(ValueError, match=r"another version of sklearn-set \(format "
                       r"'sklearn-set sparsity_curve checkpoint 1', this version reads "
                       r"'sklearn-set sparsity_curve checkpoint 2'\)"):
        Checkpoint(path, SETTINGS)


def append_rows(path, file_id, process):
    for fold in range(200):
        assert checkpoint._FitRecorder(path, file_id, fit_key(process / 10, fold))(OUT)


def test_rows_appended_by_several_processes_at_once_are_whole_lines(tmp_path, by_value):
    from joblib import Parallel, delayed

    path = str(tmp_path / "fits.csv")
    file_id = Checkpoint(path, SETTINGS).file_id
    Parallel(n_jobs=4)(delayed(append_rows)(path, file_id, process) for process in range(4))
    rows = checkpoint._read(path)[1]
    assert sorted((float(row["sparsity"]), int(row["fold"])) for row in rows) == [
        (process / 10, fold) for process in range(4) for fold in range(200)]
    fits = Checkpoint(path, SETTINGS).fits
    assert all(out == OUT for out in fits.values())


# -- damaged files: one line naming the file, the line and what is wrong ----------------

def _checkpoint_lines(data, tmp_path):
    path = tmp_path / "fits.csv"
    X, y = data
    sparsity_curve(CentroidClassifier(), X, y, sparsities=LEVELS[:2], cv=2, checkpoint=path)
    return path, path.read_text().splitlines(keepends=True)


def _settings_of(path):
    settings = checkpoint._read(path)[0]
    del settings[checkpoint._FILE_ID]
    return settings


@pytest.mark.parametrize("damage, message", [
    (lambda lines: lines + ["garbage\n"], "line {n1}: 1 field, where a row has 14"),
    (lambda lines: [l for l in lines if not l.startswith("sparsity,")],
     "line {header}: the header row should be 'sparsity,fold,"),
    (lambda lines: lines[1:], "its line 1 is not '# format = "),
    (lambda lines: [l for l in lines if not l.startswith("# file id")],
     "have no 'file id' line"),
    (lambda lines: lines[:1] + ["# estimator = {\n"] + lines[2:],
     "line 2: the value of the setting 'estimator' is not valid JSON"),
    (lambda lines: lines[:1] + ["# no equals sign\n"] + lines[2:],
     "line 2: a setting line reads '# NAME = VALUE'"),
    (lambda lines: lines[:-1] + ["nan" + lines[-1][3:]], "line {n}: sparsity 'nan' is not in"),
    (lambda lines: lines + ["0.5,7" + lines[-1][5:]], "line {n1}: fold 7 does not exist"),
    (lambda lines: lines + ["0.5,x" + lines[-1][5:]], "line {n1}: fold 'x' is not a number"),
    (lambda lines: lines + ["0.5,1,-4" + lines[-1][6:]],
     "line {n1}: baseline_hidden_layer_sizes '-4' is not a list of positive whole numbers"),
    (lambda lines: lines + [lines[-1].replace(lines[-1].split(",")[3], "0.0001")],
     "line {n1}: the fit (sparsity 0.9, fold 1) is recorded a second time, with another "
     "test_score"),
    (lambda lines: lines + ['0.5,1,,"unclosed\n'], "line {n1}: "),
    (lambda lines: lines[:3] + ["\udcff\udcfe\n"] + lines[3:], "line 4: not UTF-8 text"),
    (lambda lines: lines[:lines.index(next(l for l in lines if l.startswith("sparsity,")))],
     "the header row is missing"),
])
def test_a_damaged_checkpoint_names_its_line(data, tmp_path, damage, message):
    path, lines = _checkpoint_lines(data, tmp_path)
    settings = _settings_of(path)
    header = next(i for i, line in enumerate(lines) if line.startswith("sparsity,")) + 1
    damaged = damage(lines)
    path.write_bytes("".join(damaged).encode("utf-8", "surrogateescape"))
    expected = message.format(n=len(damaged), n1=len(damaged), header=header)
    for read in (lambda: count_fits(path), lambda: Checkpoint(path, settings)):
        with pytest.raises(checkpoint.CheckpointError) as info:
            read()
        assert expected in str(info.value) and str(path) in str(info.value)
        assert "\n" not in str(info.value)


def test_a_checkpoint_path_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "fits.csv").mkdir()
    for read in (lambda: count_fits(tmp_path / "fits.csv"),
                 lambda: Checkpoint(tmp_path / "fits.csv", SETTINGS)):
        with pytest.raises(checkpoint.CheckpointError, match="is a folder, not a file"):
            read()


def test_a_repeated_row_with_the_same_result_is_read_once(data, tmp_path):
    path, lines = _checkpoint_lines(data, tmp_path)
    first = lines[-1].split(",")
    first[5] = "12.5"  # another fit time: the same result
    path.write_text("".join(lines) + ",".join(first))
    assert count_fits(path) == 4
    assert len(Checkpoint(path, _settings_of(path)).fits) == 4


def test_a_nan_score_without_an_error_is_a_failed_fit(data, tmp_path):
    from sklearn.exceptions import FitFailedWarning

    X, y = data
    path, lines = _checkpoint_lines(data, tmp_path)
    fields = lines[-1].split(",")
    fields[3] = "nan"
    path.write_text("".join(lines[:-1]) + ",".join(fields))
    with pytest.warns(FitFailedWarning, match="1 of the 4 fits failed") as record:
        result = sparsity_curve(CentroidClassifier(), X, y, sparsities=LEVELS[:2], cv=2,
                                checkpoint=path,
                                progress=lambda *_: pytest.fail("refitted a kept fit"))
    assert f"{path}, line {len(lines)} holds test_score 'nan' without an error" in str(
        record[0].message)
    assert np.isnan(result.test_scores[1, 1])


def test_a_row_cut_short_by_a_killed_writer_is_not_joined_by_the_next(tmp_path):
    path = tmp_path / "fits.csv"
    Checkpoint(path, SETTINGS)
    with open(path, "a") as handle:
        handle.write("0.5,0,,0.9")  # a process killed while writing its row
    assert checkpoint._append_row(str(path), fit_key(0.9, 1), OUT)
    assert Checkpoint(path, SETTINGS).get(fit_key(0.9, 1)) == OUT
    assert count_fits(path) == 1


def test_a_row_the_disk_had_no_room_for_is_not_left_half_written(tmp_path, monkeypatch):
    path = tmp_path / "fits.csv"
    Checkpoint(path, SETTINGS)
    before = path.read_bytes()
    write = os.write

    def half_then_full(fd, data):
        if len(data) > 20:
            return write(fd, data[:20])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        checkpoint._append_row(str(path), fit_key(0.9, 1), OUT)
    assert path.read_bytes() == before


def test_a_new_checkpoint_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        Checkpoint(tmp_path / "fits.csv", SETTINGS)
    assert os.listdir(tmp_path) == []
