"""predict_interval on small real problems, and the leave-one-level-out
check (sklearn_set._curve._queries).

The score tables were measured (5-fold sweeps of SETClassifier) and are
stored here so that the tests need no training: ``WINE_GRID`` is a
``GridSearchCV`` of StandardScaler + 13-128-128-3 (200 epochs, unshuffled
5-fold); the ``*_SWEEP`` tables are ``sparsity_curve`` runs with shuffled
stratified folds and 100 epochs (``benchmarks/interval_coverage.py``).
"""

import warnings

import numpy as np
import pytest

from sklearn_set import SparsityCurveRegressor

LEVELS_9 = np.array([0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999])
LEVELS_13 = np.array([0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998,
                      0.999, 0.9995])
_COLLAPSED_WINE = [0.3889, 0.3889, 0.3889, 0.4, 0.4286]
WINE_GRID = np.array([
    [0.9722, 0.9444, 1.0, 1.0, 1.0], [0.9444, 0.9444, 0.9722, 0.9429, 1.0],
    [0.9722, 0.9444, 0.9722, 0.9714, 1.0], [0.9444, 0.9722, 1.0, 1.0, 1.0],
    [0.8056, 0.8889, 1.0, 1.0, 1.0]] + [_COLLAPSED_WINE] * 4)
WINE_SWEEP = np.array([
    [0.9722, 0.9722, 0.9722, 0.9714, 1.0], [1.0, 0.9722, 0.9722, 0.9714, 0.9714],
    [0.9722, 0.9722, 0.9444, 0.9714, 0.9714], [0.9722, 0.9722, 0.9444, 1.0, 0.9714],
    [0.9444, 0.9722, 0.8889, 0.9714, 0.8857], [0.3889, 0.3889, 0.3889, 0.7429, 0.8857],
    [0.3889, 0.3889, 0.3889, 0.3714, 0.3429]] + [_COLLAPSED_WINE] * 2)
BREAST_CANCER_SWEEP = np.array([
    [0.9474, 0.9825, 0.9825, 0.9912, 0.9735], [0.9474, 0.9737, 0.9912, 0.9912, 0.9735],
    [0.9561, 0.9825, 0.9825, 0.9912, 0.9823], [0.9474, 0.9737, 0.9737, 0.9737, 0.9735],
    [0.9737, 0.9825, 0.9737, 0.9737, 0.9735], [0.9474, 0.9737, 0.9825, 0.9561, 0.9735],
    [0.9035, 0.9737, 0.9123, 0.9561, 0.9558], [0.9035, 1.0, 0.9035, 0.9561, 0.9115],
    [0.886, 0.9561, 0.9123, 0.9211, 0.9558], [0.9035, 0.9474, 0.9298, 0.9123, 0.6283]]
    + [[0.6228, 0.6228, 0.6316, 0.6316, 0.6283]] * 3)
DIGITS_SWEEP = np.array([
    [0.9806, 0.9667, 0.9777, 0.9805, 0.9805], [0.9833, 0.9583, 0.9721, 0.9833, 0.9749],
    [0.9778, 0.9528, 0.9694, 0.9777, 0.9749], [0.9694, 0.9444, 0.961, 0.9721, 0.9582],
    [0.9556, 0.9444, 0.9694, 0.9638, 0.9554], [0.9556, 0.9417, 0.9276, 0.961, 0.9499],
    [0.9194, 0.8917, 0.8886, 0.9471, 0.9025], [0.8917, 0.8694, 0.8273, 0.8719, 0.8468],
    [0.8139, 0.7333, 0.7939, 0.8774, 0.8524], [0.3528, 0.3472, 0.4513, 0.3398, 0.3538],
    [0.1, 0.1, 0.1003, 0.1031, 0.1003], [0.1278, 0.1, 0.1031, 0.1003, 0.1031],
    [0.1, 0.1, 0.1031, 0.1031, 0.1031]])
SWEEPS = {"wine": (LEVELS_9, WINE_SWEEP, 71 / 178),
          "breast_cancer": (LEVELS_13, BREAST_CANCER_SWEEP, 357 / 569),
          "digits": (LEVELS_13, DIGITS_SWEEP, 183 / 1797)}


def fit(levels, scores, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        return SparsityCurveRegressor(**params).fit_scores(levels, scores)


@pytest.fixture(scope="module", params=[None, 71 / 178], ids=["fitted", "fixed"])
def wine_grid_curve(request):
    """A wine grid search (9 levels, 5 folds), collapse fitted or fixed."""
    return fit(LEVELS_9, WINE_GRID, collapse_accuracy=request.param)


def test_small_problem_interval_spans_the_folds_not_the_whole_axis(wine_grid_curve):
    """On the plateau and on the collapse the interval is at most 3x the
    spread of the folds, and it holds the folds' mean."""
    curve = wine_grid_curve
    low, high = curve.predict_interval(LEVELS_9[:, None])
    mean, spread = WINE_GRID.mean(axis=1), np.ptp(WINE_GRID, axis=1)
    for i in [0, 1, 2, 3, 5, 6, 7, 8]:  # plateau and collapse; 0.98 is on the cliff
        assert high[i] - low[i] <= 3 * spread[i], (LEVELS_9[i], low[i], high[i])
        assert low[i] <= mean[i] <= high[i], (LEVELS_9[i], low[i], high[i])


def test_predict_interval_raises_no_runtime_warning(wine_grid_curve):
    """overflow in exp escaped from predict_interval between the measured
    levels and up to sparsity 1."""
    curve = wine_grid_curve
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        low, high = curve.predict_interval(np.linspace(0.0, 1.0, 201)[:, None])
        curve.predict(np.linspace(0.0, 1.0, 201)[:, None], return_std=True)
    assert np.all((0 <= low) & (low <= high) & (high <= 1))


@pytest.mark.parametrize("name", [
    "wine",
    pytest.param("breast_cancer", marks=pytest.mark.slow),
    pytest.param("digits", marks=pytest.mark.slow),
])
def test_interval_covers_held_out_levels(name):
    """Leave-one-level-out: the curve fitted without a level predicts an
    interval that holds the level's mean score for at least 80% of the
    levels; on the plateau the full fit's interval is at most 3x the fold
    spread."""
    levels, scores, chance = SWEEPS[name]
    for collapse in (None, chance):
        curve = fit(levels, scores, collapse_accuracy=collapse)
        check = curve.leave_one_level_out(levels, scores)
        assert check.covered.mean() >= 0.8, (name, collapse, check.covered)
        low, high = curve.predict_interval(levels[:, None])
        plateau = levels <= curve.knee_sparsity_
        assert plateau.sum() >= 2
        assert np.all((high - low)[plateau] <= 3 * np.ptp(scores, axis=1)[plateau])


def test_leave_one_level_out_equals_refits_from_the_full_fit():
    levels, scores, chance = SWEEPS["wine"]
    curve = fit(levels, scores, collapse_accuracy=chance)
    check = curve.leave_one_level_out(levels, scores)
    np.testing.assert_allclose(check.sparsity, levels)
    np.testing.assert_allclose(check.mean_score, scores.mean(axis=1))
    for i in (0, 4):
        keep = np.arange(levels.size) != i
        refit = fit(levels[keep], scores[keep], collapse_accuracy=chance,
                    family=curve.family_)
        # started from the full fit rather than multi-start: the same curve
        assert check.predicted[i] == pytest.approx(refit.predict([[levels[i]]])[0], abs=0.01)
        assert check.low[i] <= check.predicted[i] <= check.high[i]
    # per-measurement sparsities (AccSET's measured sparsity) give the same
    again = curve.leave_one_level_out(np.repeat(levels[:, None], 5, axis=1), scores)
    np.testing.assert_array_equal(again.predicted, check.predicted)
    # a level without a finite score is skipped, not an error
    holes = scores.copy()
    holes[3] = np.nan
    assert np.isnan(curve.leave_one_level_out(levels, holes).predicted[3])
    with pytest.raises(ValueError, match="leave_one_level_out takes"):
        curve.leave_one_level_out(levels[:-1], scores)
