"""Tests of the sparsity levels and sweep results (sklearn_set._curve._levels,
sklearn_set._engine.levels): the one validator, and the cv_results_ parser."""

import numpy as np
import pytest
from _curve_data import FIT_LEVELS, cv_results_table, sweep

from sklearn_set._curve import (
    SparsityCurveRegressor,
    SparsityCurveWarning,
    check_sparsity_levels,
    parse_cv_results,
)
from sklearn_set._engine import connectivity, levels


def test_from_cv_results_grid_with_other_params_and_gaps():
    X, y = sweep(FIT_LEVELS)
    good = y.reshape(-1, 3)
    bad = good - 0.05
    levels = np.r_[FIT_LEVELS, FIT_LEVELS, 0.3]
    scores = np.vstack([bad, good, [[np.nan, 0.9, 0.9]]])
    res = cv_results_table(
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
    res = cv_results_table(FIT_LEVELS, good.copy())
    res["split1_test_score"][4] = np.nan
    with pytest.warns(SparsityCurveWarning, match="Dropping 1 NaN"):
        SparsityCurveRegressor.from_cv_results(res, family="rosenfeld")


def test_from_cv_results_key_errors():
    X, y = sweep(FIT_LEVELS[:6], n_repeats=1)
    res = cv_results_table(FIT_LEVELS[:6], y.reshape(-1, 1))
    with pytest.raises(KeyError, match="No parameter column for 'density'"):
        SparsityCurveRegressor.from_cv_results(res, param_name="density")
    with pytest.raises(KeyError, match="score_key 'mean_test_f1'"):
        SparsityCurveRegressor.from_cv_results(res, score_key="mean_test_f1")
    res["param_other__sparsity"] = res["param_setclassifier__sparsity"]
    with pytest.raises(KeyError, match="Several parameter columns"):
        SparsityCurveRegressor.from_cv_results(res)


# --------------------------------------------------------------------------
# One validator of sparsity levels, from the engine up
# --------------------------------------------------------------------------


def test_one_validator_for_every_layer():
    """The curve, the sweeps, the display and the command line take the
    validator through sklearn_set._curve; the engine's connectivity_profile
    uses the same function."""
    assert check_sparsity_levels is levels.check_sparsity_levels
    assert connectivity.check_sparsity_levels is levels.check_sparsity_levels


@pytest.mark.parametrize("values, match", [
    ([0.5, 1.0], r"must lie in \[0, 1\); got maximum 1 \(sparsity 1 leaves no connection\)"),
    ([2.0], r"must lie in \[0, 1\); got maximum 2\."),
    ([-0.1, 0.5], r"Negative values in data passed to who: .*minimum -0.1"),
    ([np.nan], "must be finite"),
    ([[0.5]], "1-D array-like"),
    (["dense"], "must be numbers"),
    ([], "at least 1 sparsity level"),
], ids=["one", "above-one", "negative", "nan", "2-d", "text", "empty"])
def test_validator_names_the_problem(values, match):
    with pytest.raises(ValueError, match=match):
        check_sparsity_levels(values, what="who")


def test_validator_options():
    np.testing.assert_array_equal(
        check_sparsity_levels([0.0, 1.0], what="who", upper_closed=True), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"at least 3 sparsity level\(s\); got 2"):
        check_sparsity_levels([0.1, 0.2], what="who", min_levels=3)
    out = check_sparsity_levels((0.5, 0.9), what="who")
    assert out.dtype == np.float64 and out.tolist() == [0.5, 0.9]


@pytest.mark.parametrize("values", [1.0, -0.1, [0.5, 1.0], [np.nan], [[0.5]], 2, [], "high"])
def test_connectivity_profile_rejects_what_the_validator_rejects(values):
    with pytest.raises(ValueError) as expected:
        check_sparsity_levels(np.atleast_1d(values), what="connectivity_profile")
    with pytest.raises(ValueError) as raised:
        connectivity.connectivity_profile([10, 5, 2], values)
    assert str(raised.value) == str(expected.value)


def test_parse_cv_results_per_split_and_train_scores():
    scores = np.array([[0.9, 0.8], [0.7, 0.6], [0.5, 0.4]])
    res = cv_results_table([0.9, 0.5, 0.99], scores)
    res["split0_train_score"] = scores[:, 0] + 0.05
    res["split1_train_score"] = scores[:, 1] + 0.05
    sweep = parse_cv_results(res)
    assert sweep.key == "param_setclassifier__sparsity"
    np.testing.assert_array_equal(sweep.sparsities, [0.5, 0.9, 0.99])
    np.testing.assert_array_equal(sweep.test, scores[[1, 0, 2]])
    np.testing.assert_array_equal(sweep.train, scores[[1, 0, 2]] + 0.05)
    assert sweep.varying == []
    with pytest.raises(TypeError, match="GridSearchCV.cv_results_"):
        parse_cv_results([1, 2])

