"""Tests of sparsity_curve and SparsityCurveResult (sklearn_set._sweep.sweep)."""

import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_set._curve import SparsityCurveRegressor, SparsityCurveWarning
from sklearn_set._set import SETClassifier
from sklearn_set._sweep.sweep import (
    SparsityCurveResult,
    _find_sparse_network,
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
                 "measured_sparsities", "fit_times", "score_times", "active_fractions"):
        assert getattr(result, name).shape == (3, 3), name
    assert np.all((result.active_fractions >= 0) & (result.active_fractions <= 1))
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
    with pytest.raises(InvalidParameterError, match="'scoring' parameter of sparsity_curve"):
        sparsity_curve(small_set(), X, y, sparsities=[0.5], scoring=["accuracy", "f1"])


@pytest.mark.parametrize("kwargs, name", [
    ({"estimator": "SETClassifier"}, "estimator"),
    ({"param_name": 3}, "param_name"),
    ({"scoring": "acuracy"}, "scoring"),
    ({"n_jobs": 1.5}, "n_jobs"),
    ({"params": [1]}, "params"),
    ({"progress": "print"}, "progress"),
    ({"sparsities": "adaptive", "n_levels": 0}, "n_levels"),
    ({"curve_params": "rosenfeld"}, "curve_params"),
    ({"checkpoint": 7}, "checkpoint"),
])
def test_each_bad_argument_is_named(data, kwargs, name):
    X, y = data
    arguments = {"estimator": small_set(), "sparsities": [0.5], "cv": 2, **kwargs}
    estimator = arguments.pop("estimator")
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of sparsity_curve"):
        sparsity_curve(estimator, X, y, **arguments)


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


def test_estimator_without_connections_warns(data, degrading_classifier):
    X, y = data
    with pytest.warns(UserWarning, match="n_connections_"):
        res = sparsity_curve(degrading_classifier(), X, y, sparsities=[0.1, 0.2], cv=2)
    assert np.all(np.isnan(res.n_connections))
    assert np.all(np.isfinite(res.test_scores))


@pytest.mark.parametrize("error_score", [np.nan, 0.0])
def test_some_fits_failing_warn_and_keep_the_rest(data, error_score, degrading_classifier):
    X, y = data
    est = degrading_classifier(fail_above=0.15)
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


@pytest.fixture
def synthetic_result(rosenfeld_scores):
    s = 1 - np.logspace(-0.3, -3.5, 10)
    scores = rosenfeld_scores(s)
    zeros = np.zeros_like(scores)
    return SparsityCurveResult(
        sparsities=s, train_scores=scores, test_scores=scores, n_connections=zeros,
        measured_sparsities=zeros, fit_times=zeros, score_times=zeros,
    )


def test_fit_curve_equals_documented_recipe(synthetic_result):
    res = synthetic_result
    curve = res.fit_curve(family="rosenfeld")
    ref = SparsityCurveRegressor(family="rosenfeld").fit(
        np.repeat(res.sparsities, res.n_folds)[:, None], res.test_scores.ravel()
    )
    assert curve.params_ == ref.params_
    assert curve.collapse_identified_
    X, y = res.curve_data()
    assert X.shape == (30, 1) and y.shape == (30,)


def test_fit_curve_drops_nan_with_warning(synthetic_result):
    res = synthetic_result
    res.test_scores = res.test_scores.copy()
    res.test_scores[2, 1] = np.nan
    with pytest.warns(UserWarning, match="Dropping 1 NaN"):
        curve = res.fit_curve(family="rosenfeld")
    assert np.isfinite(curve.dense_accuracy_)


def test_fit_curve_on_measured_sparsities(synthetic_result):
    """AccSET's networks end elsewhere than they started: the curve can be
    fitted at each fit's measured sparsity; a failed fit (NaN sparsity) is
    dropped with a warning."""
    res = synthetic_result
    shift = np.linspace(0.0, 0.5, res.test_scores.size).reshape(res.test_scores.shape)
    res.measured_sparsities = 1 - (1 - res.sparsities[:, None]) * (1 - shift)
    X, y = res.curve_data(sparsity="measured")
    np.testing.assert_array_equal(X[:, 0], res.measured_sparsities.ravel())
    curve = res.fit_curve(sparsity="measured", family="rosenfeld")
    ref = SparsityCurveRegressor(family="rosenfeld").fit(X, y)
    assert curve.params_ == ref.params_
    res.measured_sparsities[3, 0] = np.nan
    with pytest.warns(SparsityCurveWarning, match="Dropping 1 fit"):
        dropped = res.fit_curve(sparsity="measured", family="rosenfeld")
    keep = np.isfinite(res.measured_sparsities.ravel())
    assert keep.sum() == X.shape[0] - 1
    assert dropped.params_ == SparsityCurveRegressor(family="rosenfeld").fit(
        X[keep], y[keep]).params_
    with pytest.raises(ValueError, match='"requested" or "measured"'):
        res.fit_curve(sparsity="achieved")


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


def test_progress_of_the_baseline_gets_the_number_of_dense_fits(tmp_path):
    from sklearn_set import SETClassifier

    X, y = make_classification(n_samples=90, n_features=8, random_state=0)
    est = SETClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    dense = []

    def progress(level, fold, score, seconds, baseline=None, n_baseline_fits=None):
        if baseline is not None:
            dense.append(n_baseline_fits)

    args = dict(sparsities=[0.5, 0.8], cv=3, baseline="dense", progress=progress)
    result = sparsity_curve(est, X, y, **args, checkpoint=tmp_path / "fits.csv")
    n_dense = len(set(result.baseline_hidden_layer_sizes)) * 3
    assert dense == [n_dense] * n_dense
    # the fits a checkpoint holds are not fitted again, nor counted
    dense.clear()
    sparsity_curve(est, X, y, **args, checkpoint=tmp_path / "fits.csv")
    assert dense == []


# ----------------------------------------------------------------- adaptive


@pytest.fixture(scope="module")
def blobs():
    return make_classification(n_samples=600, n_features=6, n_informative=5,
                               n_redundant=0, n_classes=4, class_sep=2.5, random_state=0)


@pytest.mark.filterwarnings("ignore:No fitted object")
def test_adaptive_sweep_measures_around_the_collapse(blobs, degrading_classifier):
    X, y = blobs
    rounds_seen = []
    res = sparsity_curve(
        degrading_classifier(), X, y, sparsities="adaptive", n_levels=10, cv=3,
        progress=lambda level, fold, score, seconds: rounds_seen.append(level))
    assert res.n_levels == 10 and res.test_scores.shape == (10, 3)
    assert np.all(np.diff(res.sparsities) > 0)
    assert res.sparsities.min() == pytest.approx(0.5) and res.sparsities.max() == 0.9998
    # a coarse grid of 6, then one level per round
    assert sorted(res.rounds.tolist()) == [0] * 6 + [1, 2, 3, 4]
    assert len(rounds_seen) == 30
    coarse = res.sparsities[res.rounds == 0]
    np.testing.assert_allclose(np.diff(np.log10(1 - coarse)), np.log10(0.0002 / 0.5) / 5)
    # the added levels split gaps of the coarse grid where the curve
    # falls: the contour (truth about S = 0.997) and the dense end of the fall
    added = res.sparsities[res.rounds > 0]
    assert np.all((added > 0.95) & (added < 0.9998))
    curve = res.fit_curve()
    assert curve.collapse_identified_
    assert abs(np.log10(1 - curve.extreme_sparsity_) - np.log10(0.003)) < 0.2


@pytest.mark.filterwarnings("ignore:No fitted object")
def test_adaptive_sweep_parallel_rounds_and_failures(blobs, degrading_classifier):
    X, y = blobs
    est = degrading_classifier(fail_above=0.9995)
    with pytest.warns(FitFailedWarning, match=r"at sparsity [\d., ]*0.9998\)"):
        serial = sparsity_curve(est, X, y, sparsities="adaptive", n_levels=8, cv=2)
    with parallel_backend("threading", n_jobs=2):
        with pytest.warns(FitFailedWarning, match=r"0.9998\)"):
            threaded = sparsity_curve(est, X, y, sparsities="adaptive", n_levels=8, cv=2,
                                      n_jobs=2)
    np.testing.assert_array_equal(serial.sparsities, threaded.sparsities)
    np.testing.assert_array_equal(serial.test_scores, threaded.test_scores)
    assert np.all(np.isnan(serial.test_scores[-1]))
    with pytest.raises(RuntimeError, match="too sparse"):
        sparsity_curve(est, X, y, sparsities="adaptive", n_levels=8, cv=2,
                       error_score="raise")


@pytest.mark.parametrize("kwargs, match", [
    ({"sparsities": "adaptive", "n_levels": 5}, "n_levels=5 is too small for the curve family"),
    ({"sparsities": "adaptive", "n_levels": 7, "curve_params": {
        "family": "capacity_connectivity"}}, "needs 6 levels to fit"),
    ({"sparsities": "adaptive"}, "needs n_levels"),
    ({"sparsities": [0.5, 0.9], "n_levels": 10}, "explicit list of levels"),
    ({"sparsities": "grid", "n_levels": 10}, "'sparsities' parameter of sparsity_curve"),
    ({"sparsities": "adaptive", "n_levels": 10, "sparsity_range": (0.9, 0.5)},
     "sparsity_range"),
])
def test_adaptive_bad_inputs(data, kwargs, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        sparsity_curve(small_set(), X, y, cv=2, **kwargs)


def test_adaptive_sweep_on_dask_matches_the_local_run(data):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is the optional 'distributed' extra")
    from joblib import parallel_config

    X, y = data
    kwargs = dict(sparsities="adaptive", n_levels=7, cv=2, sparsity_range=(0.5, 0.99))
    local = sparsity_curve(small_set(), X, y, **kwargs)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
            remote = sparsity_curve(small_set(), X, y, n_jobs=-1, **kwargs)
    assert len(tasks.data) > 0, "no fit ran on the dask cluster"
    np.testing.assert_array_equal(local.sparsities, remote.sparsities)
    np.testing.assert_array_equal(local.rounds, remote.rounds)
    np.testing.assert_array_equal(local.test_scores, remote.test_scores)


def test_near_dense_reference_is_measured_not_extrapolated(rosenfeld_scores):
    """"Within one point of dense" counts from the curve at the densest
    measured level; dense_accuracy_ is extrapolated to sparsity 0."""
    from sklearn_set._sweep.adaptive import NEAR_DENSE, curve_queries

    levels = 1.0 - np.logspace(np.log10(0.05), np.log10(0.0002), 9)  # from S = 0.95
    curve = SparsityCurveRegressor(family="rosenfeld").fit_scores(
        levels, rosenfeld_scores(levels, noise=0.002))
    reference = curve.predict([[levels[0]]])[0]
    assert abs(reference - curve.dense_accuracy_) > 1e-4  # the two differ here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = curve.max_sparsity(reference - NEAR_DENSE)
    assert curve_queries(curve)["near_dense"] == expected
