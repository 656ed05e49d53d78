"""Tests of the fitting (sklearn_set._curve._fitting): robust losses,
weighting by the spread of each level, sample weights."""

import numpy as np
import pytest
from _curve_data import FIT_LEVELS, fit_quietly, rosenfeld_accuracy, sweep
from sklearn.base import clone

from sklearn_set._curve import SparsityCurveRegressor


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
