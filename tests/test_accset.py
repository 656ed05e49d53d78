"""AccSETClassifier and its accuracy-steered policy."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_set import AccSETClassifier, SETClassifier
from sklearn_set._engine.network import SparseMLP
from sklearn_set._evolution.policies import AccSETPolicy

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_digits_acceptance(digits_split):
    """AccSET's bar on digits: sparsity >= 0.95 within 1.5 points of SET at 0.8."""
    X_train, X_test, y_train, y_test = digits_split
    params = dict(hidden_layer_sizes=(256, 256), sparsity=0.8, max_iter=150, random_state=0)
    set_score = SETClassifier(**params).fit(X_train, y_train).score(X_test, y_test)
    acc = AccSETClassifier(**params).fit(X_train, y_train)
    assert acc.sparsity_ >= 0.95
    assert acc.score(X_test, y_test) >= set_score - 0.015


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(n_samples=600, n_features=20, n_informative=10,
                               n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def test_sparsity_stays_between_start_and_max(problem):
    X, y = problem
    clf = AccSETClassifier(hidden_layer_sizes=(64, 64), sparsity=0.5, max_sparsity=0.7,
                           shrink_rate=0.1, max_iter=40, random_state=0).fit(X, y)
    history = clf.sparsity_history_
    assert history.shape == (40,) and clf.validation_accuracy_history_.shape == (40,)
    assert history[0] == pytest.approx(0.5, abs=1e-3)
    assert np.all(history <= 0.7) and np.all(history >= 0.5 - 1e-3)
    assert history.max() > 0.69  # it did reach the cap
    assert 0.5 - 1e-3 <= clf.sparsity_ <= 0.7


def test_restored_model_is_the_selected_epoch(problem, monkeypatch):
    X, y = problem
    seen = {}
    original = AccSETClassifier._validation_score

    def record(self, X_val, y_val, w_val):
        seen["X"], seen["y"], seen["w"] = X_val, y_val, w_val
        return original(self, X_val, y_val, w_val)

    monkeypatch.setattr(AccSETClassifier, "_validation_score", record)
    clf = AccSETClassifier(hidden_layer_sizes=(64,), sparsity=0.6, shrink_rate=0.08,
                           max_iter=30, random_state=1).fit(X, y)
    epoch = clf.best_epoch_
    assert clf.sparsity_ == pytest.approx(clf.sparsity_history_[epoch - 1], abs=1e-12)
    assert clf.best_sparsity_ == pytest.approx(clf.sparsity_, abs=1e-12)
    restored_score = original(clf, seen["X"], seen["y"], seen["w"])
    assert restored_score == clf.validation_accuracy_history_[epoch - 1]
    # it is the sparsest epoch whose windowed accuracy held within tolerance
    acc = clf.validation_accuracy_history_
    window = np.array([acc[max(0, i - 4):i + 1].mean() for i in range(acc.size)])
    holding = window >= window.max() - clf.tolerance
    assert clf.sparsity_ == pytest.approx(clf.sparsity_history_[holding].max(), abs=1e-12)


def test_early_stopping_stops_when_selection_settles(problem):
    X, y = problem
    clf = AccSETClassifier(hidden_layer_sizes=(32,), sparsity=0.5, max_sparsity=0.6,
                           shrink_rate=0.1, early_stopping=True, n_iter_no_change=5,
                           max_iter=200, random_state=0).fit(X, y)
    assert clf.n_iter_ < 200
    assert clf.n_iter_ - clf.best_epoch_ > 5


def test_partial_fit_keeps_set_rule(problem):
    X, y = problem
    clf = AccSETClassifier(hidden_layer_sizes=(32,), random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    counts = clf.n_connections_.copy()
    clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.n_connections_, counts)


@pytest.mark.parametrize("params,match", [
    ({"tolerance": -0.1}, "'tolerance' parameter"),
    ({"shrink_rate": 0.0}, "'shrink_rate' parameter"),
    ({"shrink_rate": 1.0}, "'shrink_rate' parameter"),
    ({"max_sparsity": 1.0}, "'max_sparsity' parameter"),
    ({"accuracy_window": 0}, "'accuracy_window' parameter"),
    ({"sparsity": 0.9, "max_sparsity": 0.8}, "max_sparsity=0.8 is below the starting"),
])
def test_bad_parameters(problem, params, match):
    X, y = problem
    with pytest.raises(ValueError, match=match):
        AccSETClassifier(max_iter=2, **params).fit(X, y)


def _policy_on(shapes=(20, 40, 3), sparsity=0.5, **kw):
    net = SparseMLP(shapes, activation="relu", output="softmax")
    net.initialize(sparsity, np.random.default_rng(0))
    policy = AccSETPolicy(**{"tolerance": 0.01, "shrink_rate": 0.1, "max_sparsity": 0.9,
                             **kw})
    policy.start(net)
    return net, policy


def test_policy_shrinks_while_accuracy_holds_and_grows_back():
    net, policy = _policy_on()
    start = int(net.n_connections.sum())
    policy.observe(1, net, 0.9)
    assert policy.target_count == int(start * 0.9)
    # a drop beyond tolerance asks for growth, never above the start
    policy.observe(2, net, 0.8)
    assert policy.target_count == start
    rng = np.random.default_rng(1)
    policy.evolve(net, 0.3, rng)
    assert int(net.n_connections.sum()) == start


def test_policy_regrow_counts_reach_the_layer_targets():
    net, policy = _policy_on()
    policy.observe(1, net, 0.9)
    policy.evolve(net, 0.3, np.random.default_rng(0))
    np.testing.assert_array_equal(net.n_connections, policy.layer_targets)


def test_policy_selection_keeps_only_useful_snapshots():
    net, policy = _policy_on()
    for epoch, score in enumerate([0.90, 0.91, 0.95, 0.945], start=1):
        policy.observe(epoch, net, score)
        policy.evolve(net, 0.3, np.random.default_rng(epoch))
    # 0.90 and 0.91 fell out of the tolerance band once 0.95 was seen
    assert {c.epoch for c in policy.candidates} <= {3, 4}
    assert policy.selected().epoch == 4  # sparser and within 0.01 of 0.95
