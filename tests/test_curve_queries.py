"""Tests of what a fitted curve answers (sklearn_set._curve._queries):
predictions and their errors, intervals, max_sparsity, regimes."""

import warnings

import numpy as np
import pytest
from _curve_data import (
    DIGITS_LEVELS,
    DIGITS_SCORES,
    FIT_LEVELS,
    HELD_OUT,
    NOISE,
    TRUE_KNEE,
    rosenfeld_sparsity_at_error,
    sweep,
)

from sklearn_set._curve import SparsityCurveRegressor, SparsityCurveWarning


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
