"""Tests of SparsityCurveRegressor (sklearn_set._curve._estimator):
scikit-learn compatibility, recovery of a known curve, when the collapse is
identified, parameters and inputs, refits and its builders."""

import pickle
import warnings

import numpy as np
import pytest
from _curve_data import (
    DIGITS_LEVELS,
    DIGITS_SCORES,
    E_NP,
    E_UP,
    FIT_LEVELS,
    HELD_OUT,
    LOG_ERROR_MIDPOINT,
    NOISE,
    TRUE_EXTREME,
    TRUE_KNEE,
    G,
    cv_results_table,
    fit_quietly,
    rosenfeld_accuracy,
    rosenfeld_sparsity_at_error,
    sweep,
)
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from sklearn_set._curve import (
    CollapseNotIdentifiedWarning,
    SparsityCurveRegressor,
    SparsityCurveWarning,
)

# --------------------------------------------------------------------------
# scikit-learn's generic estimator checks
# --------------------------------------------------------------------------


_MULTI_COLUMN = (
    "the check fits on X with several columns and/or values outside [0, 1); "
    "X must be one column of sparsity levels in [0, 1)"
)


_REGRESSION_DATA = (
    "the check fits on multi-column X with standardised targets; X must be one "
    "column of sparsity levels in [0, 1) and y scores in [0, 1]"
)


def _expected_failed_checks(estimator):
    failed = {
        name: _MULTI_COLUMN
        for name in [
            "check_fit_score_takes_y",
            "check_estimators_overwrite_params",
            "check_dont_overwrite_parameters",
            "check_estimators_fit_returns_self",
            "check_readonly_memmap_input",
            "check_n_features_in_after_fitting",
            "check_estimators_dtypes",
            "check_sample_weights_pandas_series",
            "check_sample_weights_not_an_array",
            "check_sample_weights_list",
            "check_sample_weights_shape",
            "check_sample_weights_not_overwritten",
            "check_sample_weight_equivalence_on_dense_data",
            "check_dtype_object",
            "check_pipeline_consistency",
            "check_estimators_nan_inf",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_regressors_no_decision_function",
            "check_supervised_y_2d",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_dict_unchanged",
            "check_fit_idempotent",
            "check_fit_check_is_fitted",
            "check_n_features_in",
            "check_fit2d_predict1d",
        ]
    }
    failed.update(
        {
            name: _REGRESSION_DATA
            for name in [
                "check_regressors_train",
                "check_regressor_data_not_an_array",
                "check_regressors_int",
            ]
        }
    )
    failed["check_fit2d_1feature"] = (
        "fits one column with values up to 3 (outside [0, 1)) and expects the "
        "error to mention the number of features"
    )
    return failed


@parametrize_with_checks(
    [SparsityCurveRegressor()],
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_tags_and_params():
    est = SparsityCurveRegressor()
    tags = get_tags(est)
    assert tags.estimator_type == "regressor"
    assert tags.input_tags.positive_only
    assert not tags.input_tags.sparse
    assert not tags.input_tags.allow_nan
    assert tags.target_tags.single_output and not tags.target_tags.multi_output
    assert clone(est).get_params() == est.get_params()


# --------------------------------------------------------------------------
# Recovery of a known curve
# --------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["rosenfeld", "auto"])
def test_recovers_known_curve(family):
    X, y = sweep(FIT_LEVELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseNotIdentifiedWarning)
        est = SparsityCurveRegressor(family=family).fit(X, y)
    assert est.collapse_identified_
    assert not np.isin(HELD_OUT, FIT_LEVELS).any()
    pred = est.predict(HELD_OUT.reshape(-1, 1))
    truth = rosenfeld_accuracy(HELD_OUT)
    err_pp = 100 * np.abs(pred - truth)
    plateau = HELD_OUT <= TRUE_KNEE
    assert plateau.sum() >= 3 and (~plateau).sum() >= 10
    assert err_pp[plateau].max() < 0.5
    assert err_pp[~plateau].max() < 2.5
    decades = abs(np.log10(1 - est.extreme_sparsity_) - np.log10(1 - TRUE_EXTREME))
    assert decades < 0.05
    assert abs(est.dense_accuracy_ - (1 - E_NP)) < 0.005
    # (another family may win the AICc and place the far plateau a bit apart)
    tol = 0.02 if family == "rosenfeld" else 0.03
    assert abs(est.collapse_accuracy_ - (1 - E_UP)) < tol
    assert est.family_ in est.aiccs_
    assert est.aicc_ == min(est.aiccs_.values())
    if family == "auto":
        assert set(est.aiccs_) == {"rosenfeld", "logistic", "weibull",
                                   "capacity_connectivity"}
    else:
        assert set(est.params_) == {"e_np", "e_up", "g", "p"}
        assert abs(est.params_["g"] - G) < 4 * est.params_std_["g"] + 0.1


def test_fixed_collapse_accuracy(full_fit):
    X, y = sweep(FIT_LEVELS)
    est = SparsityCurveRegressor(family="rosenfeld", collapse_accuracy=0.1).fit(X, y)
    assert est.params_["e_up"] == pytest.approx(0.9)
    assert est.params_std_["e_up"] == 0.0
    assert est.collapse_accuracy_ == pytest.approx(0.1)
    assert est.collapse_identified_
    assert abs(est.extreme_sparsity_ - full_fit.extreme_sparsity_) < 5e-4


def test_collapse_accuracy_bounds():
    X, y = sweep(FIT_LEVELS)
    est = SparsityCurveRegressor(
        family="rosenfeld", collapse_accuracy_bounds=(0.15, 0.5)
    ).fit(X, y)
    assert est.collapse_accuracy_ == pytest.approx(0.15, abs=1e-6)


# --------------------------------------------------------------------------
# A sweep that never reaches the collapse
# --------------------------------------------------------------------------


def test_collapse_not_identified(short_fit):
    est, levels = short_fit
    assert issubclass(CollapseNotIdentifiedWarning, UserWarning)
    assert est.collapse_identified_ is False
    assert np.isnan(est.extreme_sparsity_)
    assert np.isnan(est.collapse_accuracy_)
    assert abs(est.dense_accuracy_ - (1 - E_NP)) < 0.005
    # the knee is inside the data and close to the truth
    assert levels.min() < est.knee_sparsity_ < levels.max()
    # nothing is called extreme, and nothing beyond the data is classified
    reg = est.regime([[0.5], [0.99], [0.9999]])
    assert reg[0] == "plateau"
    assert list(reg[1:]) == ["unknown", "unknown"]
    assert "extreme" not in est.regime(levels.reshape(-1, 1))
    # an accuracy kept only beyond the data is not extrapolated
    with pytest.warns(SparsityCurveWarning, match="beyond the largest measured"):
        assert np.isnan(est.max_sparsity(0.5))
    # within the data it is answered
    a = float(est.predict([[0.95]])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert est.max_sparsity(a) == pytest.approx(0.95, abs=1e-6)


def test_collapse_not_identified_with_fixed_collapse():
    levels = 1.0 - np.logspace(np.log10(0.5), np.log10(0.03), 12)
    X, y = sweep(levels)
    with pytest.warns(CollapseNotIdentifiedWarning):
        est = SparsityCurveRegressor(family="rosenfeld", collapse_accuracy=0.1).fit(
            X, y
        )
    assert not est.collapse_identified_
    assert est.collapse_accuracy_ == pytest.approx(0.1)
    assert np.isnan(est.extreme_sparsity_)


def test_sweep_up_to_the_midpoint_is_not_enough():
    """Data that stop at the middle of the fall on the log-error axis do not
    pin the collapse."""
    levels = 1.0 - np.logspace(np.log10(0.5), np.log10(1 - LOG_ERROR_MIDPOINT), 12)
    X, y = sweep(levels, seed=1)
    with pytest.warns(CollapseNotIdentifiedWarning):
        est = SparsityCurveRegressor(family="rosenfeld").fit(X, y)
    assert not est.collapse_identified_


def test_sweep_without_any_drop():
    rng = np.random.RandomState(0)
    s = np.repeat(np.linspace(0.0, 0.9, 8), 3)
    y = 0.98 + rng.normal(0.0, NOISE, s.size)
    with pytest.warns(CollapseNotIdentifiedWarning, match="no significant drop"):
        est = SparsityCurveRegressor().fit(s.reshape(-1, 1), y)
    assert not est.collapse_identified_
    assert np.isnan(est.knee_sparsity_) and np.isnan(est.extreme_sparsity_)
    assert abs(est.dense_accuracy_ - y.mean()) < 0.002
    assert est.regime([[0.0], [0.5], [0.9], [0.95]]).tolist() == [
        "plateau",
        "plateau",
        "plateau",
        "unknown",
    ]
    # perfect scores everywhere are usable (error 0 is offset before the log)
    with pytest.warns(CollapseNotIdentifiedWarning):
        perfect = SparsityCurveRegressor().fit(s.reshape(-1, 1), np.ones(s.size))
    assert perfect.dense_accuracy_ == pytest.approx(1.0)
    np.testing.assert_allclose(perfect.predict([[0.0], [0.9]]), 1.0, atol=1e-6)


# --------------------------------------------------------------------------
# Identification: the data must cross the collapse midpoint
# --------------------------------------------------------------------------


def _levels_reaching(errors):
    """Noise-free levels from S=0.5 to where the true error reaches each of
    ``errors`` (the sparsest levels)."""
    ends = rosenfeld_sparsity_at_error(np.asarray(errors))
    return np.r_[1.0 - np.logspace(np.log10(0.5), np.log10(1 - ends[0]), 10)[:-1], ends]


@pytest.mark.parametrize("factors, identified", [
    ((0.96, 0.98), False),  # short of the midpoint
    ((0.99, 1.01), False),  # one level past it
    ((1.01, 1.03), True),  # two levels past it
])
def test_identified_exactly_when_the_data_cross_the_midpoint(factors, identified):
    # with a fixed collapse, the midpoint is sqrt(e_low * e_up)
    e_low = 1 - rosenfeld_accuracy(0.5)
    midpoint = np.sqrt(e_low * E_UP)
    s = _levels_reaching(np.array(factors) * midpoint)
    acc = rosenfeld_accuracy(s)
    assert np.sum(1 - acc >= midpoint) == sum(f > 1 for f in factors)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = SparsityCurveRegressor(family="rosenfeld", collapse_accuracy=1 - E_UP,
                                     loss="linear").fit(s[:, None], acc)
    assert est.collapse_identified_ is identified
    assert any(issubclass(w.category, CollapseNotIdentifiedWarning)
               for w in caught) is not identified


@pytest.mark.parametrize("seed", range(6))
def test_collapse_identified_when_crossed_by_far(seed):
    """Sparsest levels at error 0.81 of an upper plateau of 0.90, collapse
    fitted: identified in every noisy draw."""
    s_last = rosenfeld_sparsity_at_error(0.81)
    levels = 1.0 - np.logspace(np.log10(0.5), np.log10(1 - s_last), 12)
    X, y = sweep(levels, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseNotIdentifiedWarning)
        est = SparsityCurveRegressor(family="rosenfeld").fit(X, y)
    assert est.collapse_identified_
    decades = abs(np.log10(1 - est.extreme_sparsity_) - np.log10(1 - TRUE_EXTREME))
    assert decades < 0.1


# --------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------


_S = FIT_LEVELS[:6].reshape(-1, 1)


_Y = rosenfeld_accuracy(_S[:, 0])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.hstack([_S, _S]), _Y, "single column of sparsity levels"),
        (_S - 0.6, _Y, r"Negative values in data.*\[0, 1\)"),
        (np.vstack([_S[:-1], [[1.0]]]), _Y, r"must lie in \[0, 1\).*no connection"),
        (_S * 2, _Y, r"must lie in \[0, 1\)"),
        (_S, _Y + 0.1, r"scores y in \[0, 1\]"),
        (_S, _Y - 1.0, r"scores y in \[0, 1\]"),
        (np.repeat(_S[:3], 2, axis=0), _Y, r"at least 4 distinct.*got 3 distinct"),
        (_S[:2], _Y[:2], r"at least 4 distinct sparsity levels.*got 2 samples"),
        (np.vstack([_S[:-1], [[np.nan]]]), _Y, "Input X contains NaN"),
        (_S, np.r_[_Y[:-1], np.inf], "Input y contains infinity"),
    ],
    ids=[
        "two-columns",
        "negative-sparsity",
        "sparsity-one",
        "sparsity-above-one",
        "score-above-one",
        "negative-score",
        "too-few-distinct-levels",
        "too-few-samples",
        "nan",
        "inf",
    ],
)
def test_fit_rejects_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        SparsityCurveRegressor().fit(X, y)


def test_fixed_collapse_needs_three_levels():
    X = np.repeat(_S[:3], 2, axis=0)
    y = rosenfeld_accuracy(X[:, 0])
    fit_quietly(SparsityCurveRegressor(collapse_accuracy=0.1), X, y)
    with pytest.raises(ValueError, match="at least 3 distinct"):
        SparsityCurveRegressor(collapse_accuracy=0.1).fit(X[:4], y[:4])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"family": "gompertz"}, InvalidParameterError, "family"),
        ({"loss": "l2"}, InvalidParameterError, "loss"),
        ({"collapse_accuracy": 1.0}, InvalidParameterError, "collapse_accuracy"),
        ({"knee_rise": 0.0}, InvalidParameterError, "knee_rise"),
        ({"collapse_accuracy_bounds": (0.5, 0.2)}, ValueError, "0 <= low < high"),
        ({"collapse_accuracy_bounds": (0.1,)}, ValueError, "pair"),
        ({"weighting": "bogus"}, InvalidParameterError, "weighting"),
        ({"test_size": 0}, InvalidParameterError, "test_size"),
        ({"family": "structural", "layer_sizes": [64, 0, 10]}, ValueError,
         "layer_sizes needs at least 2 positive sizes"),
    ],
)
def test_bad_parameters(params, error, match):
    X, y = sweep(FIT_LEVELS[:8], n_repeats=1)
    with pytest.raises(error, match=match):
        SparsityCurveRegressor(**params).fit(X, y)


def test_bad_sample_weight():
    X, y = sweep(FIT_LEVELS[:8], n_repeats=1)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        SparsityCurveRegressor().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="weights must contain at least one non-zero"):
        SparsityCurveRegressor().fit(X, y, sample_weight=np.zeros(len(y)))


# --------------------------------------------------------------------------
# Families to fit, refits, builders
# --------------------------------------------------------------------------


def test_auto_includes_structural_only_with_an_architecture(digits_curve):
    assert "structural" not in digits_curve.aiccs_
    with_arch = SparsityCurveRegressor(layer_sizes=(64, 256, 256, 10)).fit_scores(
        DIGITS_LEVELS, DIGITS_SCORES)
    assert "structural" in with_arch.aiccs_
    with pytest.raises(ValueError, match="family='structural' needs layer_sizes"):
        SparsityCurveRegressor(family="structural").fit_scores(DIGITS_LEVELS, DIGITS_SCORES)


def test_pickle_clone_refit(full_fit):
    X, y = sweep(FIT_LEVELS)
    grid = np.linspace(0, 1, 30).reshape(-1, 1)
    restored = pickle.loads(pickle.dumps(full_fit))
    np.testing.assert_array_equal(restored.predict(grid), full_fit.predict(grid))
    assert restored.regime(grid).tolist() == full_fit.regime(grid).tolist()
    refit = clone(full_fit).fit(X, y)
    np.testing.assert_allclose(refit.predict(grid), full_fit.predict(grid))
    assert refit.n_features_in_ == 1
    check_is_fitted(refit)
    # fitting again on the same object gives the same curve
    refit.fit(X, y)
    np.testing.assert_allclose(refit.predict(grid), full_fit.predict(grid))
    assert 0.99 < refit.score(X, y) <= 1.0


def test_fit_scores_equals_fit_on_repeated_levels():
    X, y = sweep(FIT_LEVELS)
    table = SparsityCurveRegressor(family="rosenfeld").fit_scores(FIT_LEVELS, y.reshape(-1, 3))
    flat = SparsityCurveRegressor(family="rosenfeld").fit(X, y)
    assert table.params_ == flat.params_
    with pytest.raises(ValueError, match="shape"):
        SparsityCurveRegressor().fit_scores(FIT_LEVELS, y.reshape(-1, 3)[:-1])


def test_from_cv_results_uses_every_split():
    X, y = sweep(FIT_LEVELS)
    scores = y.reshape(-1, 3)
    res = cv_results_table(FIT_LEVELS, scores)
    est = SparsityCurveRegressor.from_cv_results(res, family="rosenfeld")
    direct = SparsityCurveRegressor(family="rosenfeld").fit(X, y)
    assert isinstance(est, SparsityCurveRegressor)
    assert est.get_params()["family"] == "rosenfeld"
    grid = np.linspace(0, 0.9999, 20).reshape(-1, 1)
    np.testing.assert_allclose(est.predict(grid), direct.predict(grid))
    # the full key and the name after "param_" work as well
    for name in ["param_setclassifier__sparsity", "setclassifier__sparsity"]:
        other = SparsityCurveRegressor.from_cv_results(
            res, param_name=name, family="rosenfeld"
        )
        np.testing.assert_allclose(other.predict(grid), est.predict(grid))
    # a score column without per-split columns is used as it is
    del res["split0_test_score"], res["split1_test_score"], res["split2_test_score"]
    means = SparsityCurveRegressor.from_cv_results(res, family="rosenfeld")
    mean_fit = SparsityCurveRegressor(family="rosenfeld").fit(
        FIT_LEVELS.reshape(-1, 1), scores.mean(axis=1)
    )
    np.testing.assert_allclose(means.predict(grid), mean_fit.predict(grid))


def test_from_cv_results_real_grid_search(degrading_classifier):
    X, y = make_classification(
        n_samples=3000,
        n_features=8,
        n_informative=6,
        n_redundant=0,
        n_classes=4,
        class_sep=2.0,
        random_state=0,
    )
    pipe = Pipeline([("scale", StandardScaler()), ("setclassifier", degrading_classifier())])
    levels = np.r_[0.0, 1.0 - np.logspace(-0.3, -4.0, 13)]
    gs = GridSearchCV(pipe, {"setclassifier__sparsity": list(levels)}, cv=3)
    gs.fit(X, y)
    assert "param_setclassifier__sparsity" in gs.cv_results_

    # the stand-in's accuracy is a logistic in log density, (1 - q) * dense +
    # q / 4: "auto" picks that family too, at 13 times the cost of fitting it
    # alone (the choice among families: test_recovers_known_curve,
    # test_other_families_noise_free)
    est = SparsityCurveRegressor.from_cv_results(gs.cv_results_, family="logistic")
    assert est.collapse_identified_
    dense = gs.cv_results_["mean_test_score"][0]
    assert abs(est.dense_accuracy_ - dense) < 0.02
    assert abs(est.collapse_accuracy_ - 0.25) < 0.03  # chance level, 4 classes
    # truth: half the accuracy lost where half the predictions are guesses,
    # q = 1 / (1 + (d / 0.003)**2) = 1/2
    d_mid = 0.003
    assert abs(np.log10(1 - est.extreme_sparsity_) - np.log10(d_mid)) < 0.1
    assert est.regime([[0.0], [0.9999]]).tolist() == ["plateau", "extreme"]
