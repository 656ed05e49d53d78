"""Tests of SparsityCurveRegressor (sklearn_set._curve)."""

import pickle
import warnings

import numpy as np
import pytest
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
# Ground truth: the Rosenfeld et al. (2021) form, in accuracy.
# --------------------------------------------------------------------------

E_NP, E_UP, G, P = 0.02, 0.9, 1.5, 0.002


def rosenfeld_accuracy(s, e_np=E_NP, e_up=E_UP, g=G, p=P):
    d = 1.0 - np.asarray(s, dtype=float)
    ratio = (d**2 + p**2 * (e_up / e_np) ** (2 / g)) / (d**2 + p**2)
    return 1.0 - e_np * ratio ** (g / 2)


def rosenfeld_sparsity_at_error(e, e_np=E_NP, e_up=E_UP, g=G, p=P):
    q = (e / e_np) ** (2 / g)
    a = (e_up / e_np) ** (2 / g)
    return 1.0 - p * np.sqrt((a - q) / (q - 1.0))


TRUE_KNEE = rosenfeld_sparsity_at_error(1.1 * E_NP)
# the collapse midpoint: accuracy halfway between the plateaus
TRUE_EXTREME = rosenfeld_sparsity_at_error(0.5 * (E_NP + E_UP))
# the middle of the fall on the log-error axis (what identification asks for)
LOG_ERROR_MIDPOINT = rosenfeld_sparsity_at_error(np.sqrt(E_NP * E_UP))

# 35 levels evenly spaced in log10 density from S=0.5 to S=0.9999; the even
# ones are measured (18 levels), the odd ones are held out.
_LOG10_D = np.linspace(np.log10(0.5), -4.0, 35)
FIT_LEVELS = 1.0 - 10.0 ** _LOG10_D[::2]
HELD_OUT = 1.0 - 10.0 ** _LOG10_D[1::2]
NOISE = 0.004  # 0.4 percentage points


def sweep(levels, n_repeats=3, noise=NOISE, seed=0):
    rng = np.random.RandomState(seed)
    s = np.repeat(levels, n_repeats)
    acc = np.clip(rosenfeld_accuracy(s) + rng.normal(0.0, noise, s.size), 0, 1)
    return s.reshape(-1, 1), acc


def fit_quietly(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapseNotIdentifiedWarning)
        return est.fit(X, y, **kw)


@pytest.fixture(scope="module")
def full_fit():
    """Rosenfeld family fitted on a sweep that reaches the collapse."""
    X, y = sweep(FIT_LEVELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseNotIdentifiedWarning)
        return SparsityCurveRegressor(family="rosenfeld").fit(X, y)


@pytest.fixture(scope="module")
def short_fit():
    """A sweep that stops at S=0.97, long before the collapse (S~0.993)."""
    levels = 1.0 - np.logspace(np.log10(0.5), np.log10(0.03), 12)
    X, y = sweep(levels)
    with pytest.warns(CollapseNotIdentifiedWarning, match="do not identify"):
        est = SparsityCurveRegressor().fit(X, y)
    return est, levels


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


def test_noise_free_definitions():
    """Knee, extreme contour and inverse match their closed forms."""
    s = FIT_LEVELS
    est = SparsityCurveRegressor(family="rosenfeld", loss="linear")
    est.fit(s.reshape(-1, 1), rosenfeld_accuracy(s))
    for name, value in zip(["e_np", "e_up", "g", "p"], [E_NP, E_UP, G, P]):
        assert est.params_[name] == pytest.approx(value, rel=1e-5)
    assert est.knee_sparsity_ == pytest.approx(TRUE_KNEE, abs=1e-7)
    assert est.extreme_sparsity_ == pytest.approx(TRUE_EXTREME, abs=1e-7)
    # the knee: error 10% above the dense plateau; the extreme contour:
    # accuracy halfway between the two plateaus
    at = est.predict([[est.knee_sparsity_], [est.extreme_sparsity_]])
    assert 1 - at[0] == pytest.approx(1.1 * E_NP, rel=1e-6)
    assert 1 - at[1] == pytest.approx(0.5 * (E_NP + E_UP), rel=1e-6)
    assert est.residual_std_ < 1e-6


@pytest.mark.parametrize("family", ["logistic", "weibull"])
def test_other_families_noise_free(family):
    s = FIT_LEVELS
    d = 1 - s
    a_high, a_low = 0.95, 0.25
    if family == "logistic":
        acc = a_low + (a_high - a_low) / (1 + np.exp(-3.0 * (np.log10(d) + 2.2)))
        truth = {"a_high": a_high, "a_low": a_low, "slope": 3.0, "log10_d50": -2.2}
    else:
        acc = a_low + (a_high - a_low) * (1 - np.exp(-((d / 0.004) ** 0.8)))
        truth = {"a_high": a_high, "a_low": a_low, "lam": 0.004, "k": 0.8}
    est = SparsityCurveRegressor(loss="linear").fit(s.reshape(-1, 1), acc)
    assert est.family_ == family
    for name, value in truth.items():
        assert est.params_[name] == pytest.approx(value, rel=1e-4, abs=1e-6)
    assert est.dense_accuracy_ == pytest.approx(a_high, abs=1e-6)
    assert est.collapse_accuracy_ == pytest.approx(a_low, abs=1e-6)
    a_mid = 0.5 * (a_high + a_low)
    assert est.predict([[est.extreme_sparsity_]])[0] == pytest.approx(a_mid)
    a = 0.9
    assert est.predict([[est.max_sparsity(a)]])[0] == pytest.approx(a)


@pytest.mark.parametrize("weighting", ["none", "spread"])
def test_robust_loss_resists_a_diverged_run(weighting):
    X, y = sweep(FIT_LEVELS)
    y_bad = y.copy()
    y_bad[1] = 0.1  # one seed at S=0.5 diverged
    shift = {}
    for loss in ["linear", "soft_l1", "huber", "cauchy", "arctan"]:
        est = SparsityCurveRegressor(family="rosenfeld", loss=loss, weighting=weighting)
        clean = fit_quietly(clone(est), X, y).dense_accuracy_
        dirty = fit_quietly(clone(est), X, y_bad).dense_accuracy_
        shift[loss] = abs(dirty - clean)
    if weighting == "none":
        assert shift["linear"] > 0.004
    for loss in ["soft_l1", "huber", "cauchy", "arctan"]:
        assert shift[loss] < 0.001, (loss, shift)


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


def test_predict_and_regime_validate_input(full_fit):
    with pytest.raises(ValueError, match="expecting 1 features"):
        full_fit.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"Negative values.*predict"):
        full_fit.predict([[-0.1]])
    with pytest.raises(ValueError, match=r"regime must lie in \[0, 1\]"):
        full_fit.regime([[1.5]])
    with pytest.raises(ValueError, match="finite"):
        full_fit.max_sparsity(np.nan)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    est = SparsityCurveRegressor()
    for call in (
        lambda: est.predict([[0.5]]),
        lambda: est.regime([[0.5]]),
        lambda: est.max_sparsity(0.9),
    ):
        with pytest.raises(NotFittedError):
            call()


# --------------------------------------------------------------------------
# max_sparsity, regime, return_std
# --------------------------------------------------------------------------


def test_max_sparsity(full_fit):
    est = full_fit
    targets = np.array([0.975, 0.95, 0.8, 0.5, 0.2])
    s = est.max_sparsity(targets)
    assert s.shape == targets.shape
    assert np.all(np.diff(s) > 0)  # lower targets allow sparser networks
    np.testing.assert_allclose(est.predict(s.reshape(-1, 1)), targets, atol=1e-8)
    # just beyond the answer, the accuracy is below the target
    assert np.all(est.predict((s + 1e-5).reshape(-1, 1)) < targets)
    # closed form of the Rosenfeld inverse, against the truth (0.975 is a
    # 25% rise of a 2% error: over seeds it lands 0.03-0.07 decades off
    # with either weighting)
    truth = rosenfeld_sparsity_at_error(1 - targets)
    decades = np.abs(np.log10(1 - s) - np.log10(1 - truth))
    assert decades[0] < 0.08 and np.all(decades[1:] < 0.03)
    # scalar in, float out
    assert isinstance(est.max_sparsity(0.9), float)
    assert est.max_sparsity([[0.9]]).shape == (1, 1)
    # at or below the collapsed accuracy every sparsity qualifies
    assert est.max_sparsity(est.collapse_accuracy_ - 0.01) == 1.0
    # above the dense accuracy nothing qualifies
    with pytest.warns(SparsityCurveWarning, match="cannot be reached"):
        out = est.max_sparsity([0.999, 0.9])
    assert np.isnan(out[0]) and out[1] == pytest.approx(est.max_sparsity(0.9))


def test_regime(full_fit):
    est = full_fit
    knee, ext = est.knee_sparsity_, est.extreme_sparsity_
    assert 0.5 < knee < ext < 1
    # the knee (a 10% rise of a ~2% error) is noisy, the contour is not
    assert abs(np.log10(1 - knee) - np.log10(1 - TRUE_KNEE)) < 0.15
    s = np.array([0.0, 0.5, knee, knee + 1e-4, ext - 1e-5, ext, 0.9999, 1.0])
    reg = est.regime(s.reshape(-1, 1))
    assert list(reg) == [
        "plateau",
        "plateau",
        "plateau",
        "transition",
        "transition",
        "extreme",
        "extreme",
        "extreme",
    ]
    # regimes are ordered along sparsity
    grid = np.linspace(0, 1, 2001).reshape(-1, 1)
    order = {"plateau": 0, "transition": 1, "extreme": 2}
    codes = np.array([order[r] for r in est.regime(grid)])
    assert np.all(np.diff(codes) >= 0)


def test_return_std(full_fit, short_fit):
    X_levels = FIT_LEVELS.reshape(-1, 1)
    pred, std = full_fit.predict(X_levels, return_std=True)
    np.testing.assert_array_equal(pred, full_fit.predict(X_levels))
    assert np.all(std > 0) and np.all(np.isfinite(std))
    # the mean curve is known to a fraction of the single-run noise
    assert np.all(std < NOISE * 2)

    est, levels = short_fit
    _, std_in = est.predict(levels.reshape(-1, 1), return_std=True)
    _, std_out = est.predict([[0.99], [0.999]], return_std=True)
    assert np.all(std_in > 0)
    assert np.all(std_out > std_in.max())
    assert std_out[1] > 10 * std_out[0]


def test_predict_at_sparsity_one_is_collapse(full_fit):
    assert full_fit.predict([[1.0]])[0] == pytest.approx(full_fit.collapse_accuracy_)


# --------------------------------------------------------------------------
# Sample weights, pickling, refits
# --------------------------------------------------------------------------


def test_sample_weight_equivalent_to_repeats():
    X, y = sweep(FIT_LEVELS, n_repeats=2, seed=3)
    w = np.ones(len(y))
    w[::5] = 2.0
    w[1::7] = 0.0
    keep = w > 0
    X_rep = np.repeat(X[keep], w[keep].astype(int), axis=0)
    y_rep = np.repeat(y[keep], w[keep].astype(int))
    est_w = fit_quietly(SparsityCurveRegressor(family="rosenfeld"), X, y, sample_weight=w)
    est_r = fit_quietly(SparsityCurveRegressor(family="rosenfeld"), X_rep, y_rep)
    grid = np.linspace(0, 0.9999, 50).reshape(-1, 1)
    np.testing.assert_allclose(est_w.predict(grid), est_r.predict(grid), atol=1e-6)
    assert est_w.residual_std_ == pytest.approx(est_r.residual_std_, rel=1e-4)


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


# --------------------------------------------------------------------------
# from_cv_results
# --------------------------------------------------------------------------


def _cv_results(levels, scores, key="param_setclassifier__sparsity", extra=None):
    n_cand, n_splits = scores.shape
    res = {
        key: np.ma.MaskedArray(list(levels), mask=False, dtype=object),
        "mean_test_score": scores.mean(axis=1),
        "std_test_score": scores.std(axis=1),
        "rank_test_score": np.argsort(np.argsort(-scores.mean(axis=1))) + 1,
        "params": [{key[len("param_"):]: v} for v in levels],
    }
    for i in range(n_splits):
        res[f"split{i}_test_score"] = scores[:, i]
    for name, values in (extra or {}).items():
        res[name] = np.ma.MaskedArray(list(values), mask=False, dtype=object)
    return res


def test_from_cv_results_uses_every_split():
    X, y = sweep(FIT_LEVELS)
    scores = y.reshape(-1, 3)
    res = _cv_results(FIT_LEVELS, scores)
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


def test_from_cv_results_grid_with_other_params_and_gaps():
    X, y = sweep(FIT_LEVELS)
    good = y.reshape(-1, 3)
    bad = good - 0.05
    levels = np.r_[FIT_LEVELS, FIT_LEVELS, 0.3]
    scores = np.vstack([bad, good, [[np.nan, 0.9, 0.9]]])
    res = _cv_results(
        levels, scores, extra={"param_setclassifier__lr": [0.1] * 18 + [1.0] * 18 + [1.0]}
    )
    # the last candidate comes from another sub-grid: its sparsity is masked
    res["param_setclassifier__sparsity"].mask = [False] * 36 + [True]
    with pytest.warns(SparsityCurveWarning, match="keeping the candidate with the best"):
        est = SparsityCurveRegressor.from_cv_results(res, family="rosenfeld")
    direct = SparsityCurveRegressor(family="rosenfeld").fit(X, y)
    grid = np.linspace(0, 0.9999, 20).reshape(-1, 1)
    np.testing.assert_allclose(est.predict(grid), direct.predict(grid))

    # failed fits (NaN scores) are dropped with a warning
    res = _cv_results(FIT_LEVELS, good.copy())
    res["split1_test_score"][4] = np.nan
    with pytest.warns(SparsityCurveWarning, match="Dropping 1 NaN"):
        SparsityCurveRegressor.from_cv_results(res, family="rosenfeld")


def test_from_cv_results_key_errors():
    X, y = sweep(FIT_LEVELS[:6], n_repeats=1)
    res = _cv_results(FIT_LEVELS[:6], y.reshape(-1, 1))
    with pytest.raises(KeyError, match="No parameter column for 'density'"):
        SparsityCurveRegressor.from_cv_results(res, param_name="density")
    with pytest.raises(KeyError, match="score_key 'mean_test_f1'"):
        SparsityCurveRegressor.from_cv_results(res, score_key="mean_test_f1")
    res["param_other__sparsity"] = res["param_setclassifier__sparsity"]
    with pytest.raises(KeyError, match="Several parameter columns"):
        SparsityCurveRegressor.from_cv_results(res)


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

    est = SparsityCurveRegressor.from_cv_results(gs.cv_results_)
    assert est.collapse_identified_
    dense = gs.cv_results_["mean_test_score"][0]
    assert abs(est.dense_accuracy_ - dense) < 0.02
    assert abs(est.collapse_accuracy_ - 0.25) < 0.03  # chance level, 4 classes
    # truth: half the accuracy lost where half the predictions are guesses,
    # q = 1 / (1 + (d / 0.003)**2) = 1/2
    d_mid = 0.003
    assert abs(np.log10(1 - est.extreme_sparsity_) - np.log10(d_mid)) < 0.1
    assert est.regime([[0.0], [0.9999]]).tolist() == ["plateau", "extreme"]


# --------------------------------------------------------------------------
# A real SET sweep: plateau, slow decline, cliff
# --------------------------------------------------------------------------

# GridSearchCV on digits, StandardScaler + SETClassifier((256, 256),
# max_iter=60, random_state=0), cv=3 (measured 2026-12-01).
DIGITS_LEVELS = np.array([0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998,
                          0.999, 0.9995])
DIGITS_SCORES = np.array([
    [0.9549, 0.9566, 0.9232], [0.9499, 0.9566, 0.9316], [0.9382, 0.9549, 0.9165],
    [0.9115, 0.9082, 0.9082], [0.8881, 0.8731, 0.8681], [0.8013, 0.828, 0.8531],
    [0.7195, 0.8147, 0.8097], [0.7329, 0.6127, 0.6644], [0.2104, 0.4741, 0.2521],
    [0.1018, 0.1018, 0.1002], [0.1018, 0.1018, 0.1018], [0.1018, 0.1018, 0.1018]])


@pytest.fixture(scope="module")
def digits_curve():
    return SparsityCurveRegressor().fit_scores(DIGITS_LEVELS, DIGITS_SCORES)


def test_real_sweep_follows_the_cliff(digits_curve):
    """One smooth transition missed the cliff by up to 20 points; capacity
    times connectivity follows the plateau, the decline and the cliff."""
    curve = digits_curve
    assert curve.family_ == "capacity_connectivity"
    assert curve.aicc_ < min(v for k, v in curve.aiccs_.items() if k != curve.family_)
    residual = curve.predict(DIGITS_LEVELS[:, None]) - DIGITS_SCORES.mean(axis=1)
    assert np.abs(residual).max() < 0.06
    assert curve.collapse_identified_
    # the collapse midpoint (accuracy about 0.53, halfway between the
    # plateaus): between the last level above it (0.995: 0.67) and the first
    # below (0.997: 0.31)
    assert 0.995 < curve.extreme_sparsity_ < 0.997
    assert curve.predict([[curve.extreme_sparsity_]])[0] == pytest.approx(
        0.5 * (curve.dense_accuracy_ + curve.collapse_accuracy_))
    assert curve.params_["cliff_slope"] > 3 * curve.params_["capacity_slope"]
    assert curve.params_["a_high"] == pytest.approx(curve.dense_accuracy_)
    assert curve.predict([[0.0]])[0] == pytest.approx(curve.dense_accuracy_)


@pytest.mark.parametrize("held_out", [3, 6, 9])
def test_real_sweep_held_out_level_inside_interval(held_out):
    keep = np.arange(DIGITS_LEVELS.size) != held_out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparsityCurveWarning)
        curve = SparsityCurveRegressor().fit_scores(DIGITS_LEVELS[keep], DIGITS_SCORES[keep])
    level = DIGITS_LEVELS[[held_out]][:, None]
    truth = DIGITS_SCORES[held_out].mean()
    assert abs(curve.predict(level)[0] - truth) < 0.03
    low, high = curve.predict_interval(level)
    assert low[0] <= truth <= high[0]


# --------------------------------------------------------------------------
# Weighting and intervals
# --------------------------------------------------------------------------


def test_spread_weighting_discounts_a_scattered_level():
    """A level whose folds disagree pulls the curve less with
    weighting="spread" than with equal weights."""
    X, y = sweep(FIT_LEVELS)
    y = y.reshape(-1, 3).copy()
    level = 9  # in the transition
    truth = rosenfeld_accuracy(FIT_LEVELS[level])
    y[level] = truth - 0.08 + np.array([-0.06, 0.0, 0.06])  # biased and scattered
    pulled = {}
    for weighting in ("none", "spread"):
        curve = SparsityCurveRegressor(family="rosenfeld", loss="linear", weighting=weighting)
        curve.fit_scores(FIT_LEVELS, y)
        pulled[weighting] = truth - curve.predict([[FIT_LEVELS[level]]])[0]
    assert pulled["spread"] < 0.5 * pulled["none"]


def test_levels_measured_once_use_the_binomial_variance():
    s = FIT_LEVELS
    acc = rosenfeld_accuracy(s)
    curve = SparsityCurveRegressor(family="rosenfeld", test_size=500).fit(s[:, None], acc)
    # binomial variance a (1 - a) / n of one measurement, per level
    np.testing.assert_allclose(curve._level_var, (acc * (1 - acc) / 500)[::-1], rtol=1e-9)
    wider = SparsityCurveRegressor(family="rosenfeld", test_size=50).fit(s[:, None], acc)
    low, high = curve.predict_interval([[0.99]])
    low_w, high_w = wider.predict_interval([[0.99]])
    assert high_w[0] - low_w[0] > 2 * (high[0] - low[0])


def test_predict_interval(full_fit, short_fit):
    levels = FIT_LEVELS[:, None]
    low, high = full_fit.predict_interval(levels)
    pred = full_fit.predict(levels)
    assert np.all(low <= pred) and np.all(pred <= high)
    assert np.all((low >= 0) & (high <= 1))
    # wider than the band of the mean curve alone: it holds the level noise
    _, std = full_fit.predict(levels, return_std=True)
    assert np.all(high - low > 2 * std)
    narrow_low, narrow_high = full_fit.predict_interval(levels, coverage=0.5)
    assert np.all(narrow_high - narrow_low < high - low)
    # held-out levels of the same sweep: their means fall inside
    X, y = sweep(HELD_OUT, seed=7)
    means = y.reshape(-1, 3).mean(axis=1)
    low, high = full_fit.predict_interval(HELD_OUT[:, None])
    assert np.mean((low <= means) & (means <= high)) >= 0.8
    # beyond the data of a sweep that stops early, it opens up
    est, measured = short_fit
    low_in, high_in = est.predict_interval(measured[:, None])
    low_out, high_out = est.predict_interval([[0.999]])
    assert high_out[0] - low_out[0] > 3 * np.max(high_in - low_in)


@pytest.mark.parametrize("coverage", [0.0, 1.0, 1.5, -0.1, "high"])
def test_predict_interval_rejects_bad_coverage(full_fit, coverage):
    with pytest.raises(ValueError, match="coverage must be a number strictly between 0 and 1"):
        full_fit.predict_interval([[0.9]], coverage=coverage)


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
    fitted: identified in every noisy draw (it was not in 2 of 6)."""
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
# The structural option: the cliff from the architecture
# --------------------------------------------------------------------------


def test_structural_family_takes_the_cliff_from_the_architecture():
    from sklearn_set._engine.connectivity import connectivity_profile

    curve = SparsityCurveRegressor(family="structural", layer_sizes=(64, 256, 256, 10))
    curve.fit_scores(DIGITS_LEVELS, DIGITS_SCORES)
    assert set(curve.params_) == {"a_high", "a_low", "capacity_slope", "log10_d_capacity",
                                  "connectivity_power"}
    residual = curve.predict(DIGITS_LEVELS[:, None]) - DIGITS_SCORES.mean(axis=1)
    assert np.abs(residual).max() < 0.1
    # where the architecture's paths vanish, the curve falls
    active = connectivity_profile((64, 256, 256, 10), [0.99, 0.998])["active_fraction"]
    assert active[0] > 0.4 and active[1] < 0.05
    assert curve.predict([[0.998]])[0] < 0.2 < 0.7 < curve.predict([[0.99]])[0]
    # another architecture moves the cliff: wider layers collapse later
    wide = SparsityCurveRegressor(family="structural", layer_sizes=(64, 1024, 1024, 10))
    wide.fit_scores(DIGITS_LEVELS, DIGITS_SCORES)
    assert wide.predict([[0.998]])[0] > curve.predict([[0.998]])[0]


def test_auto_includes_structural_only_with_an_architecture(digits_curve):
    assert "structural" not in digits_curve.aiccs_
    with_arch = SparsityCurveRegressor(layer_sizes=(64, 256, 256, 10)).fit_scores(
        DIGITS_LEVELS, DIGITS_SCORES)
    assert "structural" in with_arch.aiccs_
    with pytest.raises(ValueError, match="family='structural' needs layer_sizes"):
        SparsityCurveRegressor(family="structural").fit_scores(DIGITS_LEVELS, DIGITS_SCORES)


def test_fit_scores_equals_fit_on_repeated_levels():
    X, y = sweep(FIT_LEVELS)
    table = SparsityCurveRegressor(family="rosenfeld").fit_scores(FIT_LEVELS, y.reshape(-1, 3))
    flat = SparsityCurveRegressor(family="rosenfeld").fit(X, y)
    assert table.params_ == flat.params_
    with pytest.raises(ValueError, match="shape"):
        SparsityCurveRegressor().fit_scores(FIT_LEVELS, y.reshape(-1, 3)[:-1])
