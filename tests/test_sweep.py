"""Tests of sparsity_curve and SparsityCurveResult (sklearn_set._sweep)."""

import pickle
import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set._curve import SparsityCurveRegressor
from sklearn_set._set import SETClassifier
from sklearn_set._sweep import (
    SparsityCurveResult,
    _find_sparse_network,
    _NetworkSizeScorer,
    sparsity_curve,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

N_FEATURES, N_HIDDEN, N_CLASSES = 8, 32, 2
DENSE_TOTAL = N_FEATURES * N_HIDDEN + N_HIDDEN * N_CLASSES  # 320
LEVELS = [0.5, 0.9, 0.99]


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=150, n_features=N_FEATURES, n_informative=4, random_state=0
    )


def small_set(**params):
    return SETClassifier(hidden_layer_sizes=(N_HIDDEN,), max_iter=5, random_state=0, **params)


@pytest.fixture(scope="module")
def result(data):
    X, y = data
    return sparsity_curve(small_set(), X, y, sparsities=LEVELS, cv=3)


# ----------------------------------------------------------------- values


def test_shapes_and_metadata(result):
    assert isinstance(result, SparsityCurveResult)
    np.testing.assert_array_equal(result.sparsities, LEVELS)
    for name in ("train_scores", "test_scores", "n_connections",
                 "measured_sparsities", "fit_times", "score_times"):
        assert getattr(result, name).shape == (3, 3), name
    assert result.n_levels == 3 and result.n_folds == 3
    assert result.param_name == "sparsity"
    assert result.score_name == "Accuracy"
    assert np.all((result.test_scores >= 0) & (result.test_scores <= 1))
    assert np.all((result.train_scores >= 0) & (result.train_scores <= 1))
    assert np.all(result.fit_times > 0)
    assert "n_levels=3" in repr(result)


def test_connections_decrease_and_match_sparsity(result):
    n = result.n_connections
    # same architecture and sparsity in every fold
    assert np.all(n == n[:, :1])
    assert np.all(np.diff(n[:, 0]) < 0)
    # connection count and measured sparsity describe the same network
    np.testing.assert_allclose(n, (1 - result.measured_sparsities) * DENSE_TOTAL)
    # the realised sparsity is the requested one up to whole connections
    np.testing.assert_allclose(
        result.measured_sparsities, np.repeat(LEVELS, 3).reshape(3, 3), atol=0.02
    )
    np.testing.assert_allclose(
        n[:, 0], (1 - np.array(LEVELS)) * DENSE_TOTAL, rtol=0.1, atol=2
    )


def test_scores_equal_cross_validate(data, result):
    # same splits and the same seeded fits as cross_validate at one level
    X, y = data
    ref = cross_validate(
        small_set(sparsity=0.9), X, y, cv=StratifiedKFold(3), return_train_score=True
    )
    np.testing.assert_allclose(result.test_scores[1], ref["test_score"])
    np.testing.assert_allclose(result.train_scores[1], ref["train_score"])


def test_pipeline_nested_param_name(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), small_set())
    full = sparsity_curve(pipe, X, y, sparsities=[0.5, 0.95], cv=2,
                          param_name="setclassifier__sparsity")
    short = sparsity_curve(pipe, X, y, sparsities=[0.5, 0.95], cv=2)
    assert full.param_name == short.param_name == "setclassifier__sparsity"
    np.testing.assert_array_equal(full.test_scores, short.test_scores)
    np.testing.assert_array_equal(full.n_connections, short.n_connections)
    assert np.all(np.isfinite(full.n_connections))
    assert full.n_connections[0, 0] > full.n_connections[1, 0]


def test_custom_scoring_and_parallel_backend(data):
    X, y = data
    with parallel_backend("threading", n_jobs=2):
        res = sparsity_curve(small_set(), X, y, sparsities=[0.5, 0.9], cv=2,
                             scoring="balanced_accuracy")
    assert res.score_name == "Balanced accuracy"
    serial = sparsity_curve(small_set(), X, y, sparsities=[0.5, 0.9], cv=2,
                            scoring="balanced_accuracy")
    np.testing.assert_array_equal(res.test_scores, serial.test_scores)
    np.testing.assert_array_equal(res.n_connections, serial.n_connections)


def test_scorer_pickles_for_process_workers():
    scorer = pickle.loads(pickle.dumps(_NetworkSizeScorer("a__sparsity", "n_connections")))
    assert scorer.param_name == "a__sparsity"


def test_find_sparse_network_in_fitted_pipeline(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), small_set(sparsity=0.9)).fit(X, y)
    found = _find_sparse_network(pipe, "setclassifier__sparsity")
    assert found is pipe[-1]
    # a parameter of another step: fall back on the pipeline's last step
    assert _find_sparse_network(pipe, "standardscaler__with_mean") is pipe[-1]
    assert _find_sparse_network(StandardScaler().fit(X), "with_mean") is None


# ------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    "sparsities, match",
    [
        ([0.5, 1.0], r"\[0, 1\)"),
        ([-0.1, 0.5], r"\[0, 1\)"),
        ([0.5, np.nan], "finite"),
        ([], "non-empty"),
        ([[0.5, 0.9]], "1-D"),
        (["a", "b"], "numbers"),
    ],
)
def test_bad_sparsities(data, sparsities, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        sparsity_curve(small_set(), X, y, sparsities=sparsities, cv=2)


def test_unknown_param_name(data):
    X, y = data
    with pytest.raises(ValueError, match="no parameter 'density'"):
        sparsity_curve(small_set(), X, y, sparsities=[0.5], param_name="density")
    pipe = make_pipeline(StandardScaler(), small_set())
    with pytest.raises(ValueError, match="setclassifier__sparsity"):
        sparsity_curve(pipe, X, y, sparsities=[0.5], param_name="clf__sparsity")


def test_ambiguous_param_name(data):
    X, y = data
    vote = VotingClassifier([("a", small_set()), ("b", small_set())])
    with pytest.raises(ValueError, match="ambiguous"):
        sparsity_curve(vote, X, y, sparsities=[0.5])


def test_multimetric_scoring_rejected(data):
    X, y = data
    with pytest.raises(ValueError, match="single metric"):
        sparsity_curve(small_set(), X, y, sparsities=[0.5], scoring=["accuracy", "f1"])


def test_all_fits_failing_raises(data):
    X, y = data
    params = {"sample_weight": np.zeros(len(y))}  # rejected by fit
    with pytest.raises(ValueError, match="All the 4 fits failed"):
        sparsity_curve(small_set(), X, y, sparsities=[0.5, 0.9], cv=2, params=params)
    with pytest.raises(ValueError, match="non-zero|sums to zero"):
        sparsity_curve(small_set(), X, y, sparsities=[0.5], cv=2, params=params,
                       error_score="raise")


def test_bad_error_score(data):
    X, y = data
    with pytest.raises(ValueError, match="error_score"):
        sparsity_curve(small_set(), X, y, sparsities=[0.5], error_score="ignore")


class _NoTopology(ClassifierMixin, BaseEstimator):
    """A classifier with a sparsity parameter but no n_connections_; its fit
    fails above ``fail_above``."""

    def __init__(self, sparsity=0.5, fail_above=1.0):
        self.sparsity = sparsity
        self.fail_above = fail_above

    def fit(self, X, y):
        if self.sparsity > self.fail_above:
            raise RuntimeError(f"too sparse: {self.sparsity}")
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_estimator_without_connections_warns(data):
    X, y = data
    with pytest.warns(UserWarning, match="n_connections_"):
        res = sparsity_curve(_NoTopology(), X, y, sparsities=[0.1, 0.2], cv=2)
    assert np.all(np.isnan(res.n_connections))
    assert np.all(np.isfinite(res.test_scores))


@pytest.mark.parametrize("error_score", [np.nan, 0.0])
def test_some_fits_failing_warn_and_keep_the_rest(data, error_score):
    X, y = data
    est = _NoTopology(fail_above=0.15)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No fitted object")
        with pytest.warns(FitFailedWarning, match=r"2 of the 4 fits failed \(at sparsity 0.2\)"):
            res = sparsity_curve(est, X, y, sparsities=[0.1, 0.2], cv=2,
                                 error_score=error_score)
    assert np.all(np.isfinite(res.test_scores[0]))
    np.testing.assert_array_equal(res.test_scores[1], [error_score] * 2)
    np.testing.assert_array_equal(res.train_scores[1], [error_score] * 2)
    assert np.all(np.isnan(res.fit_times[1])) and np.all(res.fit_times[0] >= 0)
    with pytest.raises(RuntimeError, match="too sparse"):
        sparsity_curve(est, X, y, sparsities=[0.1, 0.2], cv=2, error_score="raise")


# ---------------------------------------------------------------- fit_curve


def _synthetic_result(n_folds=3, seed=0):
    s = 1 - np.logspace(-0.3, -3.5, 10)
    d = 1 - s
    e = 0.02 * ((d**2 + 0.002**2 * 45 ** (2 / 1.5)) / (d**2 + 0.002**2)) ** 0.75
    rng = np.random.default_rng(seed)
    scores = np.clip((1 - e)[:, None] + rng.normal(0, 0.005, (s.size, n_folds)), 0, 1)
    zeros = np.zeros_like(scores)
    return SparsityCurveResult(
        sparsities=s, train_scores=scores, test_scores=scores, n_connections=zeros,
        measured_sparsities=zeros, fit_times=zeros, score_times=zeros,
    )


def test_fit_curve_equals_documented_recipe():
    res = _synthetic_result()
    curve = res.fit_curve(family="rosenfeld")
    ref = SparsityCurveRegressor(family="rosenfeld").fit(
        np.repeat(res.sparsities, res.n_folds)[:, None], res.test_scores.ravel()
    )
    assert curve.params_ == ref.params_
    assert curve.collapse_identified_
    X, y = res.curve_data()
    assert X.shape == (30, 1) and y.shape == (30,)


def test_fit_curve_drops_nan_with_warning():
    res = _synthetic_result()
    res.test_scores = res.test_scores.copy()
    res.test_scores[2, 1] = np.nan
    with pytest.warns(UserWarning, match="Dropping 1 NaN"):
        curve = res.fit_curve(family="rosenfeld")
    assert np.isfinite(curve.dense_accuracy_)


def test_estimator_not_modified(data):
    X, y = data
    est = small_set(sparsity=0.7)
    before = clone(est).get_params()
    sparsity_curve(est, X, y, sparsities=[0.5], cv=2)
    assert est.get_params() == before
    assert not hasattr(est, "n_connections_")


def test_progress_reports_every_fit_once():
    from sklearn_set import SETClassifier

    X, y = make_classification(n_samples=90, n_features=8, random_state=0)
    seen = []
    result = sparsity_curve(
        SETClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0), X, y,
        sparsities=[0.5, 0.8], cv=3,
        progress=lambda level, fold, score, seconds: seen.append((level, fold, score)))
    assert sorted((level, fold) for level, fold, _ in seen) == [
        (0.5, 0), (0.5, 1), (0.5, 2), (0.8, 0), (0.8, 1), (0.8, 2)]
    for level, fold, score in seen:
        row = [0.5, 0.8].index(level)
        assert score == result.test_scores[row, fold]
