"""scikit-learn's callback API (scikit-learn >= 1.9): every epoch is a task."""

import importlib
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_set import AccSETClassifier, SETClassifier, SETRegressor, _callbacks

callback = pytest.importorskip(
    "sklearn.callback", reason="scikit-learn < 1.9 has no callback API (tested below)")


class EpochRecorder:
    """Counts epoch ends, keeps each epoch's model, may ask to stop."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.models = []
        self.roots = 0

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch":
            self.roots += 1
            return False
        self.models.append(fitted_estimator)
        return self.stop_after is not None and len(self.models) >= self.stop_after

    def teardown(self, estimator, context):
        pass


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


def small(Estimator, **kw):
    return Estimator(hidden_layer_sizes=(16,), random_state=0, **kw)


def quiet_fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("Estimator", [SETClassifier, SETRegressor, AccSETClassifier])
def test_every_epoch_ends_as_a_task(Estimator, digits):
    X, y = digits
    recorder = EpochRecorder()
    model = quiet_fit(small(Estimator, max_iter=4).set_callbacks(recorder), X, y)
    assert len(recorder.models) == model.n_iter_ == 4
    assert recorder.roots == 1
    # each epoch's model is a frozen copy: the first is the model after one epoch
    first = recorder.models[0]
    assert first.n_iter_ == 1 and len(first.loss_curve_) == 1
    one_epoch = quiet_fit(small(Estimator, max_iter=1), X, y)
    np.testing.assert_array_equal(first.predict(X), one_epoch.predict(X))


@pytest.mark.parametrize("Estimator, dtype", [(SETClassifier, "float32"),
                                             (AccSETClassifier, "float32"),
                                             (SETClassifier, "bfloat16")])
def test_a_callback_stops_the_fit_after_an_epoch(Estimator, dtype, digits):
    X, y = digits
    stopped = small(Estimator, max_iter=10, dtype=dtype).set_callbacks(
        EpochRecorder(stop_after=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is no warning
        stopped.fit(X, y)
    assert stopped.n_iter_ == 3
    three = quiet_fit(small(Estimator, max_iter=3, dtype=dtype), X, y)
    np.testing.assert_array_equal(stopped.predict_proba(X), three.predict_proba(X))


def test_partial_fit_is_one_epoch_task(digits):
    X, y = digits
    recorder = EpochRecorder()
    model = small(SETClassifier).set_callbacks(recorder)
    model.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
    assert len(recorder.models) == 2 and recorder.roots == 2


def test_progress_bar_in_a_grid_search_over_sparsity(digits):
    pytest.importorskip("rich", reason="ProgressBar needs rich")
    X, y = digits
    search = GridSearchCV(small(SETClassifier, max_iter=2), {"sparsity": [0.5, 0.9]}, cv=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.set_callbacks(callback.ProgressBar()).fit(X, y)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "does not support callbacks" in m], messages


def validation_accuracy(estimator, X, y):
    # ScoringMonitor takes a dict of scores from a plain function
    return {"validation_accuracy": estimator.validation_scores_[-1]}


def test_scoring_monitor_sees_the_accset_validation_score(digits):
    X, y = digits
    monitor = callback.ScoringMonitor(scoring=validation_accuracy)
    model = quiet_fit(small(AccSETClassifier, max_iter=4).set_callbacks(monitor), X, y)
    rows = monitor.get_logs().data
    epochs = [row["validation_accuracy"] for row in rows if row["task_name"] == "epoch"]
    assert epochs == model.validation_scores_


def test_without_the_callback_api_nothing_changes(monkeypatch, digits):
    """scikit-learn < 1.9: the stand-ins add no public method and every hook
    does nothing (simulated by hiding sklearn.callback)."""
    X, y = digits
    monkeypatch.setitem(sys.modules, "sklearn.callback", None)
    try:
        stand_in = importlib.reload(_callbacks)
        assert not hasattr(stand_in.CallbackSupportMixin, "set_callbacks")
        context = stand_in.CallbackSupportMixin()._init_callback_context(max_subtasks=3)
        task = context.subcontext(task_name="epoch")
        assert task.call_on_fit_task_begin(estimator=None) is task
        assert task.call_on_fit_task_end(estimator=None) is False
        assert stand_in.with_callbacks(len) is len
    finally:
        monkeypatch.undo()
        importlib.reload(_callbacks)
