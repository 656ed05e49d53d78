"""Curve families: error as a function of density, on a log-density axis.

Every family shares the first two entries of its parameter vector,
``theta = [log e_up, L = log(e_up / e_np) >= 0, shape...]``, so that the
collapsed error can be fixed or bounded the same way for all of them and
the dense plateau never lies above the collapse. ``log_error(theta, logd)``
takes the natural log of density (``-inf`` for sparsity 1) and returns the
natural log of the error; error rises monotonically as density falls.
"""

import numpy as np
from scipy.optimize import brentq
from scipy.special import log_expit, logit

from .._names import CURVE_FAMILIES, registry

LN10 = np.log(10.0)
# How far (in decades of density) below the sparsest measured level the
# parameters that place a transition may go.
DECADES_BELOW_DATA = 4.0
# Densities below this are treated as zero by the numerical inverse.
_LOGD_FLOOR = np.log(1e-15)


def _contour_starts(x_min, x_max):
    # transition positions from just below to just above the data
    return np.linspace(x_min - 0.5, min(x_max, -0.05), 4)


class _Family:
    """Base: what every family declares, and the numerical inverse used by
    families without a closed form."""

    name = None
    # the natural parameters, as many as the fitted vector theta has entries
    param_names = ()
    # whether the family is built from the swept architecture (layer_sizes)
    needs_architecture = False

    @classmethod
    def n_free(cls, *, fixed_collapse=False):
        """Number of fitted parameters (one fewer with a fixed collapse)."""
        return len(cls.param_names) - bool(fixed_collapse)

    @classmethod
    def build(cls, *, layer_sizes, x_min):
        """The family object for a fit (the architecture is used only by the
        families that need it)."""
        return cls()

    def inverse_logd(self, theta, log_e):
        """Log density where the curve has error ``exp(log_e)``; NaN outside."""

        def gap(logd):
            return float(self.log_error(theta, np.array([logd]))[0]) - log_e

        lo, hi = gap(_LOGD_FLOOR), gap(0.0)
        if not (lo > 0.0 > hi):
            return np.nan
        return brentq(gap, _LOGD_FLOOR, 0.0, xtol=1e-12)


class Rosenfeld(_Family):
    """e = e_np ((d^2 + p^2 (e_up/e_np)^(2/g)) / (d^2 + p^2))^(g/2).

    theta[2:] = (g, m): g the power-law slope, m the log10 density of the
    extreme contour, at d = p (e_up/e_np)^(1/(2g)).
    """

    name = "rosenfeld"
    param_names = ("e_np", "e_up", "g", "p")

    def bounds(self, x_min):
        return [(0.05, 20.0), (x_min - DECADES_BELOW_DATA, 0.0)]

    def starts(self, x_min, x_max):
        return [(g, m) for g in (0.5, 1.0, 2.0, 4.0) for m in _contour_starts(x_min, x_max)]

    @staticmethod
    def _log_p(theta):
        _, L, g, m = theta
        return m * LN10 - 0.5 * L / g

    def log_error(self, theta, logd):
        le_up, L, g, _ = theta
        two_logd = 2.0 * logd
        two_logp = 2.0 * self._log_p(theta)
        num = np.logaddexp(two_logd, two_logp + 2.0 * L / g)
        den = np.logaddexp(two_logd, two_logp)
        return (le_up - L) + 0.5 * g * (num - den)

    def inverse_logd(self, theta, log_e):
        # d = p sqrt((A - q) / (q - 1)), q = (e/e_np)^(2/g), A = (e_up/e_np)^(2/g)
        le_up, L, g, _ = theta
        log_q = 2.0 / g * (log_e - (le_up - L))
        log_a = 2.0 * L / g
        log_a_minus_q = log_q + np.log(np.expm1(log_a - log_q))
        log_q_minus_1 = np.log(np.expm1(log_q))
        return self._log_p(theta) + 0.5 * (log_a_minus_q - log_q_minus_1)

    def natural(self, theta):
        le_up, L, g, _ = theta
        return np.array([np.exp(le_up - L), np.exp(le_up), g, np.exp(self._log_p(theta))])


class Logistic(_Family):
    """acc = a_low + (a_high - a_low) / (1 + exp(-slope (log10 d - log10_d50))).

    theta[2:] = (slope, m); the contour lies at log10_d50 + L / (2 slope).
    """

    name = "logistic"
    param_names = ("a_high", "a_low", "slope", "log10_d50")

    def bounds(self, x_min):
        return [(0.05, 50.0), (x_min - DECADES_BELOW_DATA, 0.0)]

    def starts(self, x_min, x_max):
        return [(h, m) for h in (1.0, 3.0, 10.0) for m in _contour_starts(x_min, x_max)]

    @staticmethod
    def _x50(theta):
        _, L, h, m = theta
        return m - 0.5 * L / h

    def log_error(self, theta, logd):
        le_up, L, h, _ = theta
        z = h * (logd / LN10 - self._x50(theta))
        # e = e_np * s + e_up * (1 - s), s = expit(z)
        return np.logaddexp(le_up - L + log_expit(z), le_up + log_expit(-z))

    def inverse_logd(self, theta, log_e):
        le_up, L, h, _ = theta
        e_up, e_np, e = np.exp(le_up), np.exp(le_up - L), np.exp(log_e)
        s = (e_up - e) / (e_up - e_np)
        return (self._x50(theta) + logit(s) / h) * LN10

    def natural(self, theta):
        le_up, L, h, _ = theta
        return np.array([1.0 - np.exp(le_up - L), 1.0 - np.exp(le_up), h, self._x50(theta)])


class Weibull(_Family):
    """acc = a_low + (a_high - a_low) (1 - exp(-(d / lam)^k)).

    theta[2:] = (k, m); the contour lies at lam * log(1 + exp(L / 2))^(1 / k).
    """

    name = "weibull"
    param_names = ("a_high", "a_low", "lam", "k")

    def bounds(self, x_min):
        return [(0.05, 20.0), (x_min - DECADES_BELOW_DATA, 0.0)]

    def starts(self, x_min, x_max):
        return [(k, m) for k in (0.5, 1.0, 2.0, 4.0) for m in _contour_starts(x_min, x_max)]

    @staticmethod
    def _log_lam(theta):
        _, L, k, m = theta
        return m * LN10 - np.log(np.logaddexp(0.0, 0.5 * L)) / k

    def log_error(self, theta, logd):
        le_up, L, k, _ = theta
        # e = e_np (1 - r) + e_up r,  r = exp(-(d/lam)^k) = exp(-exp(u))
        t = np.exp(k * (logd - self._log_lam(theta)))
        return np.logaddexp(le_up - L + np.log(-np.expm1(-t)), le_up - t)

    def inverse_logd(self, theta, log_e):
        le_up, L, k, _ = theta
        e_up, e_np, e = np.exp(le_up), np.exp(le_up - L), np.exp(log_e)
        r = (e - e_np) / (e_up - e_np)
        return self._log_lam(theta) + np.log(-np.log(r)) / k

    def natural(self, theta):
        le_up, L, k, _ = theta
        return np.array(
            [1.0 - np.exp(le_up - L), 1.0 - np.exp(le_up), np.exp(self._log_lam(theta)), k]
        )


def _log_capacity_connectivity(theta, log_cap, log_conn):
    """log e for acc = a_low + (a_high - a_low) * capacity * connectivity."""
    le_up, L = theta[0], theta[1]
    return le_up + np.log1p(np.expm1(-L) * np.exp(np.minimum(log_cap + log_conn, 0.0)))


def _log_unit_logistic(slope, x, x_half):
    """log of ``(1 + 10**(slope * x_half)) / (1 + 10**(slope * (x_half - x)))``: a
    logistic in ``x = log10 d`` that rises from 0 and equals 1 at density 1."""
    return log_expit(LN10 * slope * (x - x_half)) - log_expit(-LN10 * slope * x_half)


class CapacityConnectivity(_Family):
    """Capacity times connectivity, both logistic in log10 density.

    acc = a_low + (a_high - a_low) * C(d) * K(d) with the capacity
    ``C = (1 + d_capacity^capacity_slope) / (1 + (d_capacity / d)^capacity_slope)``
    (a plateau, then a slow power-law rise of the error) and the connectivity
    ``K`` of the same form with ``d_cliff, cliff_slope`` (the cliff where
    input-to-output paths vanish); both are 1 at density 1, so ``a_high`` is
    the accuracy of the dense network. theta[2:] = (g, xk, dh, xc) with
    ``cliff_slope = g + dh``: the cliff is never gentler than the capacity
    decline, which keeps the two factors apart.
    """

    name = "capacity_connectivity"
    param_names = ("a_high", "a_low", "capacity_slope", "log10_d_capacity",
                   "cliff_slope", "log10_d_cliff")

    def bounds(self, x_min):
        low = x_min - DECADES_BELOW_DATA
        return [(0.05, 10.0), (low, 0.0), (0.0, 60.0), (low, 0.0)]

    def starts(self, x_min, x_max):
        mid = 0.5 * (x_min + x_max)
        cliffs = np.linspace(x_min + 0.1, 0.5 * (x_min + mid), 3)
        return [(g, xk, 6.0, xc) for g in (0.5, 1.5) for xk in (x_min - 0.5, mid)
                for xc in cliffs]

    def log_error(self, theta, logd):
        _, _, g, xk, dh, xc = theta
        x = logd / LN10
        return _log_capacity_connectivity(
            theta, _log_unit_logistic(g, x, xk), _log_unit_logistic(g + dh, x, xc))

    def natural(self, theta):
        le_up, L, g, xk, dh, xc = theta
        return np.array([1.0 - np.exp(le_up - L), 1.0 - np.exp(le_up), g, xk, g + dh, xc])


class Structural(_Family):
    """Capacity times the connectivity of the untrained architecture.

    As :class:`CapacityConnectivity`, but the connectivity factor is
    ``active_fraction(d) ** connectivity_power``: the expected share of
    connections on an input-to-output path in a random Erdos-Renyi network
    of the swept architecture (:func:`~sklearn_set.connectivity_profile`),
    so the place of the cliff comes from the architecture and the data only
    set its sharpness. (Where half the connections are active, measured SET
    sweeps are half way down their fall, within 0.15 decades of density on
    six architectures and data sets; the share of outputs reached falls
    0.4-0.7 decades later.) theta[2:] = (g, xk, power).
    """

    name = "structural"
    param_names = ("a_high", "a_low", "capacity_slope", "log10_d_capacity",
                   "connectivity_power")
    needs_architecture = True

    @classmethod
    def build(cls, *, layer_sizes, x_min):
        return cls(layer_sizes, x_min)

    def __init__(self, layer_sizes, x_min):
        from .._engine.connectivity import connectivity_profile

        # a grid reaching well below the data: the curve is evaluated there
        logd = np.linspace((x_min - DECADES_BELOW_DATA - 1.0) * LN10, 0.0, 600)
        sparsity = np.clip(-np.expm1(logd), 0.0, 1.0 - 1e-15)
        active = connectivity_profile(layer_sizes, sparsity)["active_fraction"]
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        self._logd = logd
        self._log_active = np.log(np.clip(active, 1e-300, 1.0))

    def bounds(self, x_min):
        return [(0.05, 10.0), (x_min - DECADES_BELOW_DATA, 0.0), (0.1, 20.0)]

    def starts(self, x_min, x_max):
        mid = 0.5 * (x_min + x_max)
        return [(g, xk, k) for g in (0.7, 2.0) for xk in (x_min - 0.5, mid)
                for k in (1.0, 3.0)]

    def log_active(self, logd):
        return np.interp(logd, self._logd, self._log_active)

    def log_error(self, theta, logd):
        _, _, g, xk, power = theta
        return _log_capacity_connectivity(
            theta, _log_unit_logistic(g, logd / LN10, xk), power * self.log_active(logd))

    def natural(self, theta):
        le_up, L, g, xk, power = theta
        return np.array([1.0 - np.exp(le_up - L), 1.0 - np.exp(le_up), g, xk, power])


# The families by name, in the order "auto" fits them.
FAMILIES = registry(CURVE_FAMILIES, {family.name: family for family in (
    Rosenfeld, Logistic, Weibull, CapacityConnectivity, Structural)})


def make_families(names, *, layer_sizes, x_min):
    """Family objects by name."""
    return {name: FAMILIES[name].build(layer_sizes=layer_sizes, x_min=x_min)
            for name in names}
