"""Tests of the curve families (sklearn_set._curve._families): each form,
its closed-form inverse and its parameters, and the family table."""

import numpy as np
import pytest
from _curve_data import (
    DIGITS_LEVELS,
    DIGITS_SCORES,
    E_NP,
    E_UP,
    FIT_LEVELS,
    TRUE_EXTREME,
    TRUE_KNEE,
    G,
    P,
    rosenfeld_accuracy,
)

from sklearn_set._curve import SparsityCurveRegressor, min_levels
from sklearn_set._curve._families import FAMILIES, make_families


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
    wide = SparsityCurveRegressor(family="structural", layer_sizes=(64, 512, 512, 10))
    wide.fit_scores(DIGITS_LEVELS, DIGITS_SCORES)
    assert wide.predict([[0.998]])[0] > curve.predict([[0.998]])[0]


# --------------------------------------------------------------------------
# The family table: each family declares its parameters
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_declares_its_parameter_count(name):
    """theta has one entry per named parameter: the two shared ones plus one
    per bounded shape parameter; every start and the natural parameters
    agree with that count."""
    family = FAMILIES[name]
    assert family.name == name
    (fam,) = make_families([name], layer_sizes=(16, 32, 4), x_min=-3.0).values()
    assert isinstance(fam, family)
    n = len(family.param_names)
    assert family.n_free() == n and family.n_free(fixed_collapse=True) == n - 1
    assert len(fam.bounds(-3.0)) == n - 2
    starts = fam.starts(-3.0, -0.3)
    assert starts and all(len(start) == n - 2 for start in starts)
    theta = np.r_[np.log(0.9), np.log(0.9 / 0.02), starts[0]]
    assert fam.natural(theta).shape == (n,)
    assert np.all(np.isfinite(fam.log_error(theta, np.log([1.0, 0.1, 1e-3]))))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_fit_needs_as_many_levels_as_the_family_has_parameters(name):
    n = len(FAMILIES[name].param_names)
    assert min_levels(name) == n and min_levels(name, fixed_collapse=True) == n - 1
    levels = FIT_LEVELS[: n - 1]
    with pytest.raises(ValueError, match=f"at least {n} distinct sparsity levels to fit a {n}-"):
        SparsityCurveRegressor(family=name, layer_sizes=(64, 256, 10)).fit(
            levels[:, None], rosenfeld_accuracy(levels))


def test_auto_and_the_parameter_options_come_from_the_table():
    assert min_levels("auto") == min(len(f.param_names) for f in FAMILIES.values())
    (family,) = SparsityCurveRegressor._parameter_constraints["family"]
    assert family.options == {"auto", *FAMILIES}

