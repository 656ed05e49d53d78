"""Accuracy-versus-sparsity curves.

:class:`SparsityCurveRegressor` fits a saturating curve to accuracies measured
at several sparsity levels S (density ``d = 1 - S``) and answers the questions
people ask of a sparsity sweep: where does accuracy start to drop (the knee),
where does it collapse (the extreme-sparsity contour), and what is the highest
sparsity that still keeps a target accuracy.

All curve families are written in the error ``e = 1 - accuracy`` as functions of
density and are fitted on a logarithmic density axis, with residuals taken in
log error (see :class:`SparsityCurveRegressor` for the exact definitions).
"""

import re
import warnings
from numbers import Real

import numpy as np
from scipy.optimize import least_squares
from scipy.special import log_expit, logit
from scipy.stats import chi2
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

__all__ = [
    "SparsityCurveRegressor",
    "SparsityCurveWarning",
    "CollapseNotIdentifiedWarning",
]

_LN10 = np.log(10.0)
# Smallest plateau error the fit may use and the largest plateau ratio
# e_up / e_np (both only keep the optimisation away from degenerate corners).
_MIN_ERROR = 1e-6
_MAX_LOG_RATIO = np.log(1e6)
# How far (in decades of density) below the sparsest measured level the shape
# parameters that place the collapse may go.
_DECADES_BELOW_DATA = 4.0
# 95% quantile of chi-squared with one degree of freedom.
_LR_CRITICAL = 3.841458820694124


class SparsityCurveWarning(UserWarning):
    """Warning about what a fitted sparsity curve can and cannot tell."""


class CollapseNotIdentifiedWarning(SparsityCurveWarning):
    """The measured sparsities never reach the accuracy collapse."""


# --------------------------------------------------------------------------
# Robust losses, weighted.  ``least_squares`` applies a callable loss to
# z = f**2 and rescales it by ``f_scale`` itself; weighting the loss (rather
# than the residuals) keeps sample weights equivalent to repeated samples for
# every loss, not only for the squared one.
# --------------------------------------------------------------------------


def _rho(name, z):
    """Return (rho, rho', rho'') of a standard robust loss at ``z = f**2``."""
    if name == "linear":
        return z, np.ones_like(z), np.zeros_like(z)
    if name == "soft_l1":
        t = 1.0 + z
        return 2.0 * (np.sqrt(t) - 1.0), t**-0.5, -0.5 * t**-1.5
    if name == "huber":
        small = z <= 1.0
        zs = np.where(small, 1.0, z)
        rho = np.where(small, z, 2.0 * np.sqrt(zs) - 1.0)
        d1 = np.where(small, 1.0, zs**-0.5)
        d2 = np.where(small, 0.0, -0.5 * zs**-1.5)
        return rho, d1, d2
    if name == "cauchy":
        t = 1.0 + z
        return np.log(t), 1.0 / t, -1.0 / t**2
    if name == "arctan":
        t = 1.0 + z**2
        return np.arctan(z), 1.0 / t, -2.0 * z / t**2
    raise ValueError(f"unknown loss {name!r}")  # pragma: no cover


def _weighted_loss(name, weights):
    def loss(z):
        rho = np.empty((3, z.shape[0]))
        r0, r1, r2 = _rho(name, z)
        rho[0] = weights * r0
        rho[1] = weights * r1
        rho[2] = weights * r2
        return rho

    return loss


# --------------------------------------------------------------------------
# Curve families.  Every family uses the same internal parameter vector
#     theta = [log e_up, L = log(e_up / e_np) >= 0, shape, m]
# where m is log10 of the density of the extreme contour (where
# e = sqrt(e_np * e_up)). This lets the collapsed error be fixed or bounded
# uniformly, keeps e_np <= e_up by construction, and confines the contour to
# densities <= 1 (sparsity >= 0) with a plain box bound. ``log_error`` takes
# the natural log of density (``-inf`` allowed for S = 1) and returns the
# natural log of the error.
# --------------------------------------------------------------------------


def _shape_bounds(lo, hi, x_min):
    return [(lo, hi), (x_min - _DECADES_BELOW_DATA, 0.0)]


def _contour_starts(x_min, x_max):
    # contour start positions from just below to just above the data
    return np.linspace(x_min - 0.5, min(x_max, -0.05), 4)


class _Rosenfeld:
    """e = e_np ((d^2 + p^2 (e_up/e_np)^(2/g)) / (d^2 + p^2))^(g/2).

    Shape: g, the power-law slope. The contour is at d = p (e_up/e_np)^(1/(2g)).
    """

    name = "rosenfeld"
    param_names = ("e_np", "e_up", "g", "p")

    @staticmethod
    def shape_bounds(x_min):
        return _shape_bounds(0.05, 20.0, x_min)

    @staticmethod
    def shape_starts(x_min, x_max):
        return [(g, m) for g in (0.5, 1.0, 2.0, 4.0) for m in _contour_starts(x_min, x_max)]

    @staticmethod
    def _log_p(theta):
        _, L, g, m = theta
        return m * _LN10 - 0.5 * L / g

    @classmethod
    def log_error(cls, theta, logd):
        le_up, L, g, _ = theta
        two_logd = 2.0 * logd
        two_logp = 2.0 * cls._log_p(theta)
        num = np.logaddexp(two_logd, two_logp + 2.0 * L / g)
        den = np.logaddexp(two_logd, two_logp)
        return (le_up - L) + 0.5 * g * (num - den)

    @classmethod
    def inverse_logd(cls, theta, log_e):
        # d = p sqrt((A - q) / (q - 1)), q = (e/e_np)^(2/g), A = (e_up/e_np)^(2/g)
        le_up, L, g, _ = theta
        log_q = 2.0 / g * (log_e - (le_up - L))
        log_a = 2.0 * L / g
        log_a_minus_q = log_q + np.log(np.expm1(log_a - log_q))
        log_q_minus_1 = np.log(np.expm1(log_q))
        return cls._log_p(theta) + 0.5 * (log_a_minus_q - log_q_minus_1)

    @classmethod
    def natural(cls, theta):
        le_up, L, g, _ = theta
        return np.array([np.exp(le_up - L), np.exp(le_up), g, np.exp(cls._log_p(theta))])


class _Logistic:
    """4-parameter logistic in log10 density.

    acc = a_low + (a_high - a_low) / (1 + exp(-slope (log10 d - log10_d50)))

    Shape: slope (per decade of density). The contour lies at
    log10_d50 + L / (2 slope).
    """

    name = "logistic"
    param_names = ("a_high", "a_low", "slope", "log10_d50")

    @staticmethod
    def shape_bounds(x_min):
        return _shape_bounds(0.05, 50.0, x_min)

    @staticmethod
    def shape_starts(x_min, x_max):
        return [(h, m) for h in (1.0, 3.0, 10.0) for m in _contour_starts(x_min, x_max)]

    @staticmethod
    def _x50(theta):
        _, L, h, m = theta
        return m - 0.5 * L / h

    @classmethod
    def log_error(cls, theta, logd):
        le_up, L, h, _ = theta
        z = h * (logd / _LN10 - cls._x50(theta))
        # e = e_np * s + e_up * (1 - s), s = expit(z)
        return np.logaddexp(le_up - L + log_expit(z), le_up + log_expit(-z))

    @classmethod
    def inverse_logd(cls, theta, log_e):
        le_up, L, h, _ = theta
        e_up, e_np, e = np.exp(le_up), np.exp(le_up - L), np.exp(log_e)
        s = (e_up - e) / (e_up - e_np)
        return (cls._x50(theta) + logit(s) / h) * _LN10

    @classmethod
    def natural(cls, theta):
        le_up, L, h, _ = theta
        return np.array(
            [1.0 - np.exp(le_up - L), 1.0 - np.exp(le_up), h, cls._x50(theta)]
        )


class _Weibull:
    """Weibull-type rise of accuracy with density.

    acc = a_low + (a_high - a_low) (1 - exp(-(d / lam)^k))

    Shape: k. The contour lies at lam * log(1 + exp(L / 2))^(1 / k).
    """

    name = "weibull"
    param_names = ("a_high", "a_low", "lam", "k")

    @staticmethod
    def shape_bounds(x_min):
        return _shape_bounds(0.05, 20.0, x_min)

    @staticmethod
    def shape_starts(x_min, x_max):
        return [(k, m) for k in (0.5, 1.0, 2.0, 4.0) for m in _contour_starts(x_min, x_max)]

    @staticmethod
    def _log_lam(theta):
        _, L, k, m = theta
        return m * _LN10 - np.log(np.logaddexp(0.0, 0.5 * L)) / k

    @classmethod
    def log_error(cls, theta, logd):
        le_up, L, k, _ = theta
        # e = e_np (1 - r) + e_up r,  r = exp(-(d/lam)^k) = exp(-exp(u))
        u = k * (logd - cls._log_lam(theta))
        t = np.exp(u)
        log_r = -t
        log_1mr = np.log(-np.expm1(-t))
        return np.logaddexp(le_up - L + log_1mr, le_up + log_r)

    @classmethod
    def inverse_logd(cls, theta, log_e):
        le_up, L, k, _ = theta
        e_up, e_np, e = np.exp(le_up), np.exp(le_up - L), np.exp(log_e)
        r = (e - e_np) / (e_up - e_np)
        return cls._log_lam(theta) + np.log(-np.log(r)) / k

    @classmethod
    def natural(cls, theta):
        le_up, L, k, _ = theta
        return np.array(
            [1.0 - np.exp(le_up - L), 1.0 - np.exp(le_up), np.exp(cls._log_lam(theta)), k]
        )


_FAMILIES = {f.name: f for f in (_Rosenfeld, _Logistic, _Weibull)}


def _aicc(rss, n, k):
    """Small-sample corrected AIC of a least-squares fit (Gaussian errors)."""
    if n - k - 1 <= 0:
        return np.inf
    rss = max(rss, np.finfo(float).tiny * n)
    return n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def _central_jacobian(func, x, rel_step=1e-6):
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(func(x), dtype=float)
    jac = np.empty((f0.size, x.size))
    for j in range(x.size):
        h = rel_step * max(1.0, abs(x[j]))
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        jac[:, j] = (np.asarray(func(xp)) - np.asarray(func(xm))).ravel() / (2 * h)
    return jac


class SparsityCurveRegressor(RegressorMixin, BaseEstimator):
    """Accuracy as a function of sparsity: a saturating curve on log density.

    Fits how a network's accuracy falls as its sparsity S rises, using the
    density ``d = 1 - S`` on a logarithmic axis and the error
    ``e = 1 - accuracy``. The curve has a high plateau at low sparsity (the
    dense accuracy), a transition, and a low plateau where the network has
    collapsed (about chance level ``1/K`` for ``K`` classes).

    Families (``e_np``: dense-regime error, ``e_up``: collapsed error):

    - ``"rosenfeld"`` (Rosenfeld, Frankle, Carbin and Shavit, ICML 2021)::

          e(d) = e_np * ((d**2 + p**2 * (e_up/e_np)**(2/g)) / (d**2 + p**2))**(g/2)

      with ``g`` the power-law slope and ``p`` the density where the collapse
      sets in.
    - ``"logistic"``: four-parameter logistic in ``log10 d``::

          acc = a_low + (a_high - a_low) / (1 + exp(-slope * (log10 d - log10_d50)))

    - ``"weibull"``::

          acc = a_low + (a_high - a_low) * (1 - exp(-(d / lam)**k))

    - ``"auto"``: fit all three and keep the one with the smallest AICc.

    **Fitting.** Bounded least squares (``scipy.optimize.least_squares``,
    method ``"trf"``) with residuals in log error,
    ``log(e_obs + error_offset) - log(e_pred + error_offset)``, so that every
    family is compared on the same scale and a relative change of the error
    counts the same on the plateau and in the collapse. The optimisation is
    restarted from a grid of shape parameters (16 starts for ``"rosenfeld"``
    and ``"weibull"``, 12 for ``"logistic"``, twice that when the collapsed
    accuracy is free) and the start with the smallest (robust) cost is kept.
    Standard errors come from a heteroscedasticity-consistent (sandwich)
    covariance of the estimate, built from the Jacobian and the residuals (a
    single pooled variance would be wrong: the scatter of log error is much
    larger on the plateau than in the collapse). AICc uses the weighted
    residual sum of squares, so under a robust ``loss`` it is an
    approximation.

    **Derived quantities.** ``dense_accuracy_`` and ``collapse_accuracy_`` are
    the two plateaus (``1 - e_np`` and ``1 - e_up``). The knee is where the
    predicted error has risen by the fraction ``knee_rise`` above the dense
    plateau, ``e = (1 + knee_rise) * e_np``. The extreme-sparsity contour is
    where the predicted error is the geometric mean of the two plateau errors,
    ``e = sqrt(e_np * e_up)``: the midpoint of the fall on the log-error axis.
    Both have closed forms in every family. :meth:`regime` calls sparsities
    up to the knee ``"plateau"``, from the extreme contour on ``"extreme"``
    and those in between ``"transition"``.

    **Identifiability.** The collapse counts as identified when (i) at least
    two distinct measured sparsity levels lie at or beyond the fitted extreme
    contour and (ii) the data themselves climb that far: at least two levels
    have a mean measured error of at least ``sqrt(e_low * e_top)``, with
    ``e_low`` the lowest level-mean error and ``e_top`` the collapsed error.
    ``e_top`` is the fixed ``1 - collapse_accuracy``, or, when it is fitted,
    the deepest collapse allowed (``1 -`` the lower end of
    ``collapse_accuracy_bounds``) unless the data reject a curve refitted
    with that deepest collapse (likelihood ratio
    ``n log(RSS_deepest / RSS) > 3.84``, the 5% level), in which case it is
    the fitted ``e_up``. So a sweep that only shows the start of the fall is
    not mistaken for one that reached a plateau. Otherwise
    ``collapse_identified_`` is False, a :class:`CollapseNotIdentifiedWarning`
    is raised, ``extreme_sparsity_`` is NaN, ``collapse_accuracy_`` is NaN
    unless ``collapse_accuracy`` was fixed, and :meth:`max_sparsity` and
    :meth:`regime` do not answer beyond the largest measured sparsity.

    **Parametrisation.** Internally every family is fitted as
    ``(log e_up, log(e_up / e_np) >= 0, shape, log10 d_contour <= 0)``, so the
    dense plateau never lies below the collapse and the extreme contour lies
    at sparsity >= 0; ``params_`` reports the usual parameters.

    Parameters
    ----------
    family : {"auto", "rosenfeld", "logistic", "weibull"}, default="auto"
        Curve family; ``"auto"`` selects by AICc.

    loss : {"linear", "soft_l1", "huber", "cauchy", "arctan"}, default="soft_l1"
        Loss passed to ``scipy.optimize.least_squares``. The robust losses
        limit the pull of a diverged run (an accuracy far off its level).

    f_scale : float, default=0.1
        Soft margin between inlier and outlier residuals for the robust
        losses, in log-error units (0.1 is a 10% relative change of the
        error, about the usual seed-to-seed spread). Ignored for
        ``loss="linear"``.

    collapse_accuracy : float in [0, 1) or None, default=None
        Accuracy of the collapsed network. ``None`` fits it (within
        ``collapse_accuracy_bounds``); a float fixes it, e.g. the chance level
        ``1 / n_classes``.

    collapse_accuracy_bounds : tuple of two floats, default=(0.0, 1.0)
        Lower and upper bound on the collapsed accuracy when it is fitted.

    knee_rise : float, default=0.1
        Relative rise of the error above the dense plateau that marks the
        knee: the knee is where ``e = (1 + knee_rise) * e_np``.

    error_offset : float, default=1e-3
        Added to the errors before taking logs, so that perfect scores
        (error 0) are usable and tiny errors do not dominate the fit.

    Attributes
    ----------
    family_ : str
        The fitted family.

    params_ : dict
        Named parameters of the fitted curve: ``e_np, e_up, g, p`` for
        ``"rosenfeld"``; ``a_high, a_low, slope, log10_d50`` for
        ``"logistic"``; ``a_high, a_low, lam, k`` for ``"weibull"``. These are
        the raw fitted values, also where they are not identified.

    params_std_ : dict
        Standard errors of ``params_`` (0.0 for a fixed parameter, NaN when
        the covariance cannot be estimated).

    dense_accuracy_ : float
        Low-sparsity plateau (``1 - e_np``). When the scores show no
        significant drop at all (a constant fits as well, likelihood ratio at
        the 5% level), the level of that constant instead.

    collapse_accuracy_ : float
        High-sparsity plateau (``1 - e_up``); NaN when the collapse is not
        identified and ``collapse_accuracy`` was not fixed.

    knee_sparsity_ : float
        Sparsity where the predicted error reaches ``(1 + knee_rise) * e_np``;
        NaN if the curve has no plateau at sparsity >= 0, if the scores show
        no significant drop, or if the knee lies beyond the largest measured
        sparsity while the collapse is not identified.

    extreme_sparsity_ : float
        Sparsity where the predicted error is ``sqrt(e_np * e_up)``; NaN when
        the collapse is not identified.

    collapse_identified_ : bool
        Whether the data reach the collapse (see Identifiability above).

    aicc_ : float
        AICc of the fitted family.

    aiccs_ : dict
        AICc of every family that was fitted (``inf`` if a fit failed or has
        no degrees of freedom left).

    residual_std_ : float
        Weighted residual standard deviation in log-error units,
        ``sqrt(RSS / (n - k))``.

    n_features_in_ : int
        Number of features seen during fit (always 1).

    feature_names_in_ : ndarray of shape (1,)
        Name of the feature, when X had string column names.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : Runs the sparsity sweep;
        :meth:`from_cv_results` fits its ``cv_results_``.

    Notes
    -----
    ``X`` is a single column of sparsity levels in ``[0, 1)``; repeated levels
    (seeds, CV folds) are expected. ``y`` holds scores in ``[0, 1]`` where
    higher is better (accuracy, balanced accuracy, ...). ``sample_weight``
    acts as frequency weights: a weight of 2 counts like a repeated
    measurement. :meth:`predict` evaluates the fitted curve anywhere in
    ``[0, 1]``; away from the data use ``return_std=True`` to see how little
    is known there.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_set import SparsityCurveRegressor
    >>> sparsity = 1 - np.logspace(-0.3, -3.5, 12)  # 0.5 ... 0.9997
    >>> d = 1 - sparsity
    >>> e_np, e_up, g, p = 0.02, 0.9, 1.5, 0.002
    >>> error = e_np * ((d**2 + p**2 * (e_up / e_np) ** (2 / g))
    ...                 / (d**2 + p**2)) ** (g / 2)
    >>> curve = SparsityCurveRegressor(family="rosenfeld")
    >>> curve = curve.fit(sparsity.reshape(-1, 1), 1 - error)
    >>> print(round(curve.dense_accuracy_, 3), round(curve.collapse_accuracy_, 3))
    0.98 0.1
    >>> curve.collapse_identified_
    True
    >>> print(round(curve.extreme_sparsity_, 4))
    0.9929
    >>> print(round(curve.max_sparsity(0.95), 3))
    0.984
    >>> curve.regime([[0.5], [0.99], [0.999]]).tolist()
    ['plateau', 'transition', 'extreme']
    """

    _parameter_constraints: dict = {
        "family": [StrOptions({"auto", "rosenfeld", "logistic", "weibull"})],
        "loss": [StrOptions({"linear", "soft_l1", "huber", "cauchy", "arctan"})],
        "f_scale": [Interval(Real, 0, None, closed="neither")],
        "collapse_accuracy": [Interval(Real, 0, 1, closed="left"), None],
        "collapse_accuracy_bounds": [tuple],
        "knee_rise": [Interval(Real, 0, None, closed="neither")],
        "error_offset": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        family="auto",
        loss="soft_l1",
        f_scale=0.1,
        collapse_accuracy=None,
        collapse_accuracy_bounds=(0.0, 1.0),
        knee_rise=0.1,
        error_offset=1e-3,
    ):
        self.family = family
        self.loss = loss
        self.f_scale = f_scale
        self.collapse_accuracy = collapse_accuracy
        self.collapse_accuracy_bounds = collapse_accuracy_bounds
        self.knee_rise = knee_rise
        self.error_offset = error_offset

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is one column of sparsity levels in [0, 1): non-negative, dense,
        # no missing values. scikit-learn has no tag for "exactly one
        # feature"; fit rejects any other number of columns with a ValueError.
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        return tags

    # ------------------------------------------------------------------ fit

    def _n_free_params(self):
        return 3 if self.collapse_accuracy is not None else 4

    def _log_e_up_bounds(self):
        bounds = self.collapse_accuracy_bounds
        if (
            len(bounds) != 2
            or not all(isinstance(b, Real) and np.isfinite(b) for b in bounds)
            or not 0.0 <= bounds[0] < bounds[1] <= 1.0
        ):
            raise ValueError(
                "collapse_accuracy_bounds must be a pair (low, high) with "
                f"0 <= low < high <= 1; got {bounds!r}."
            )
        lo_acc, hi_acc = float(bounds[0]), float(bounds[1])
        return (
            np.log(max(1.0 - hi_acc, _MIN_ERROR)),
            np.log(max(1.0 - lo_acc, 2 * _MIN_ERROR)),
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the curve to accuracies measured at several sparsity levels.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Sparsity levels in ``[0, 1)``; a level may repeat (seeds, folds).

        y : array-like of shape (n_samples,)
            Scores in ``[0, 1]`` (higher is better), e.g. accuracy.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights; zero-weight samples are ignored.

        Returns
        -------
        self : SparsityCurveRegressor
            The fitted regressor.
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        if not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
            raise ValueError(
                "SparsityCurveRegressor expects numeric scores y in [0, 1]; got "
                f"an array of dtype {y.dtype}.")
        y = y.astype(np.float64)
        k = self._n_free_params()
        if X.shape[0] < k:
            raise ValueError(
                f"SparsityCurveRegressor needs at least {k} distinct sparsity "
                f"levels to fit a {k}-parameter curve; got {X.shape[0]} "
                f"sample{'s' if X.shape[0] != 1 else ''}."
            )
        sw = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if X.shape[1] != 1 and X.min() >= 0:
            _raise_not_one_column(X)
        # negative values first: scikit-learn's checks expect that message
        _check_sparsity(X, upper_closed=False, what="fit")
        s = X[:, 0]
        if y.min() < 0.0 or y.max() > 1.0:
            raise ValueError(
                "SparsityCurveRegressor expects scores y in [0, 1] (accuracy-"
                f"like, higher is better); got values in [{y.min():.6g}, "
                f"{y.max():.6g}]."
            )
        keep = sw > 0
        s, y, sw = s[keep], y[keep], sw[keep]
        levels = np.unique(s)
        if levels.size < k:
            raise ValueError(
                f"SparsityCurveRegressor needs at least {k} distinct sparsity "
                f"levels to fit a {k}-parameter curve; got {levels.size} "
                f"distinct level{'s' if levels.size != 1 else ''} "
                f"({X.shape[0]} samples)."
            )
        le_up_bounds = self._log_e_up_bounds()
        le_up_fixed = (
            None
            if self.collapse_accuracy is None
            else np.log(max(1.0 - float(self.collapse_accuracy), _MIN_ERROR))
        )

        logd = np.log1p(-s)
        data = _CurveData(logd, 1.0 - y, sw, self.error_offset)
        families = list(_FAMILIES) if self.family == "auto" else [self.family]

        fits = {}
        for name in families:
            fits[name] = _fit_family(
                _FAMILIES[name],
                data,
                le_up_fixed=le_up_fixed,
                le_up_bounds=le_up_bounds,
                loss=self.loss,
                f_scale=self.f_scale,
            )
        self.aiccs_ = {
            name: (fit["aicc"] if fit is not None else np.inf)
            for name, fit in fits.items()
        }
        usable = [name for name in families if fits[name] is not None]
        if not usable:
            raise RuntimeError(  # pragma: no cover - all starts failed
                "The curve fit failed from every starting point."
            )
        best = min(usable, key=lambda name: (self.aiccs_[name], fits[name]["rss"]))
        fit = fits[best]
        fam = _FAMILIES[best]

        self.family_ = best
        self._theta = fit["theta"]
        self._free = fit["free"]
        self._cov = fit["cov"]
        self.aicc_ = self.aiccs_[best]
        self.residual_std_ = fit["sigma"]

        nat = fam.natural(self._theta)
        self.params_ = dict(zip(fam.param_names, (float(v) for v in nat)))
        self.params_std_ = self._params_std(fam)

        le_up = self._theta[0]
        le_np = le_up - self._theta[1]
        s_max = float(levels.max())
        self._s_max = s_max
        self.dense_accuracy_ = float(1.0 - np.exp(le_np))

        ext = self._sparsity_at_log_error(0.5 * (le_np + le_up))
        # The data must climb to the geometric midpoint between their lowest
        # error and the collapsed error -- the deepest collapse allowed unless
        # the data reject it -- and the fitted contour must lie inside them.
        if le_up_fixed is not None:
            log_e_top = le_up_fixed
        else:
            log_e_top = le_up_bounds[1]
            if le_up < le_up_bounds[1] - 0.01:
                deepest = _fit_family(
                    fam,
                    data,
                    le_up_fixed=le_up_bounds[1],
                    le_up_bounds=le_up_bounds,
                    loss=self.loss,
                    f_scale=self.f_scale,
                )
                tiny = np.finfo(float).tiny
                if deepest is None or data.n_eff * np.log(
                    max(deepest["rss"], tiny) / max(fit["rss"], tiny)
                ) > _LR_CRITICAL:
                    log_e_top = le_up
        log_e_low = np.log(max(float(data.level_error.min()), self.error_offset))
        e_reached = np.exp(0.5 * (log_e_low + log_e_top))
        n_high = int(np.sum(data.level_error >= e_reached))
        n_beyond = int(np.sum(levels >= ext)) if np.isfinite(ext) else 0
        identified = n_high >= 2 and n_beyond >= 2
        # Does the sweep show any drop at all? If a constant fits as well
        # (likelihood ratio at the 5% level), every measured level is on the
        # plateau and neither the knee nor the collapse is identified.
        rss_flat, log_e_flat = _constant_fit(data, self.loss, self.f_scale)
        k_free = int(np.sum(fit["free"]))
        lr_drop = data.n_eff * np.log(
            max(rss_flat, np.finfo(float).tiny) / max(fit["rss"], np.finfo(float).tiny)
        )
        self._flat = bool(lr_drop <= chi2.ppf(0.95, k_free - 1))
        if self._flat:
            identified = False
            e_flat = np.exp(log_e_flat) - self.error_offset
            self.dense_accuracy_ = float(np.clip(1.0 - e_flat, 0.0, 1.0))
        self.collapse_identified_ = bool(identified)
        self.extreme_sparsity_ = float(ext) if self.collapse_identified_ else np.nan
        if self.collapse_identified_ or self.collapse_accuracy is not None:
            self.collapse_accuracy_ = float(1.0 - np.exp(le_up))
        else:
            self.collapse_accuracy_ = np.nan

        knee = np.nan
        log_e_knee = le_np + np.log1p(self.knee_rise)
        if log_e_knee < le_up:
            knee = self._sparsity_at_log_error(log_e_knee)
        if self._flat:
            knee = np.inf
        self._knee_raw = float(knee)
        if np.isfinite(knee) and knee >= 0.0 and (
            self.collapse_identified_ or knee <= s_max
        ):
            self.knee_sparsity_ = float(knee)
        else:
            self.knee_sparsity_ = np.nan

        if not self.collapse_identified_:
            warnings.warn(
                "The measured sparsities (up to S={:.6g}) do not identify the "
                "accuracy collapse: {} extreme_sparsity_ is NaN"
                "{}, and max_sparsity/regime do not answer beyond S={:.6g}. "
                "Extend the sweep to sparser networks to identify the "
                "collapse.".format(
                    s_max,
                    "the scores show no significant drop at all "
                    "(knee_sparsity_ is NaN too)."
                    if self._flat
                    else "too few measured levels lie beyond the "
                    "extreme-sparsity contour, or the data are as consistent "
                    "with a deeper collapse further out.",
                    ""
                    if self.collapse_accuracy is not None
                    else " and so is collapse_accuracy_",
                    s_max,
                ),
                CollapseNotIdentifiedWarning,
                stacklevel=2,
            )
        return self

    def _params_std(self, fam):
        names = fam.param_names
        if self._cov is None or not np.all(np.isfinite(self._cov)):
            std = np.full(len(names), np.nan)
        else:
            free_idx = np.flatnonzero(self._free)

            def natural_of_free(v):
                theta = self._theta.copy()
                theta[free_idx] = v
                return fam.natural(theta)

            T = _central_jacobian(natural_of_free, self._theta[free_idx])
            var = np.einsum("ij,jk,ik->i", T, self._cov, T)
            std = np.sqrt(np.clip(var, 0.0, None))
        return dict(zip(names, (float(v) for v in std)))

    # ------------------------------------------------------------ helpers

    def _sparsity_at_log_error(self, log_e):
        """Sparsity where the fitted curve has error exp(log_e) (scalar)."""
        return _sparsity_at(_FAMILIES[self.family_], self._theta, log_e)

    def _accuracy(self, theta, s):
        fam = _FAMILIES[self.family_]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logd = np.log1p(-s)
            return 1.0 - np.exp(fam.log_error(theta, logd))

    def _validated_sparsity(self, X, method):
        X = validate_data(self, X, reset=False, dtype=np.float64)
        _check_sparsity(X, upper_closed=True, what=method)
        return X[:, 0]

    # -------------------------------------------------------------- public

    def predict(self, X, return_std=False):
        """Predicted accuracy of the fitted curve.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Sparsity levels in ``[0, 1]`` (``1`` gives the collapse plateau).

        return_std : bool, default=False
            Also return the standard error of the fitted mean curve (delta
            method from the parameter covariance; it does not include the
            scatter of single runs around the curve).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted accuracy.

        y_std : ndarray of shape (n_samples,)
            Standard error of ``y_pred``; only with ``return_std=True``.
        """
        check_is_fitted(self)
        s = self._validated_sparsity(X, "predict")
        y_pred = self._accuracy(self._theta, s)
        if not return_std:
            return y_pred
        if self._cov is None or not np.all(np.isfinite(self._cov)):
            return y_pred, np.full_like(y_pred, np.nan)
        free_idx = np.flatnonzero(self._free)

        def acc_of_free(v):
            theta = self._theta.copy()
            theta[free_idx] = v
            return self._accuracy(theta, s)

        G = _central_jacobian(acc_of_free, self._theta[free_idx])
        G[~np.isfinite(G)] = 0.0
        var = np.einsum("ij,jk,ik->i", G, self._cov, G)
        return y_pred, np.sqrt(np.clip(var, 0.0, None))

    def max_sparsity(self, accuracy):
        """Highest sparsity whose predicted accuracy is at least ``accuracy``.

        Parameters
        ----------
        accuracy : float or array-like of float
            Target accuracies.

        Returns
        -------
        sparsity : float or ndarray
            Same shape as ``accuracy``. ``1.0`` where every sparsity keeps
            the target (it is at or below the identified collapse accuracy).
            NaN, with a :class:`SparsityCurveWarning`, where no sparsity in
            ``[0, 1)`` reaches the target, or where the answer lies beyond
            the largest measured sparsity and the collapse is not identified.
        """
        check_is_fitted(self)
        a = np.asarray(accuracy, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError("accuracy must be finite.")
        le_up = self._theta[0]
        acc_dense = float(self._accuracy(self._theta, np.array([0.0]))[0])
        targets = a.ravel()
        out = np.full(targets.shape, np.nan)
        unreachable = 0
        beyond = 0
        for i, target in enumerate(targets):
            if target > acc_dense:
                unreachable += 1
                continue
            e_target = 1.0 - target
            if e_target >= np.exp(le_up):
                s_star = 1.0
            else:
                s_star = self._sparsity_at_log_error(np.log(e_target))
                if not np.isfinite(s_star):  # pragma: no cover - numerics
                    unreachable += 1
                    continue
            if not self.collapse_identified_ and s_star > self._s_max:
                beyond += 1
                continue
            out[i] = max(s_star, 0.0)
        if unreachable:
            warnings.warn(
                f"{unreachable} target accuracy value(s) above the predicted "
                f"accuracy of the dense network ({acc_dense:.6g}) cannot be "
                "reached at any sparsity; returning NaN for them.",
                SparsityCurveWarning,
                stacklevel=2,
            )
        if beyond:
            warnings.warn(
                f"{beyond} target accuracy value(s) would be kept beyond the "
                f"largest measured sparsity ({self._s_max:.6g}) and the "
                "collapse is not identified; returning NaN for them rather "
                "than extrapolating.",
                SparsityCurveWarning,
                stacklevel=2,
            )
        out = out.reshape(a.shape)
        return float(out) if out.ndim == 0 else out

    def regime(self, X):
        """Regime of each sparsity level on the fitted curve.

        ``"plateau"`` for sparsity up to ``knee_sparsity_`` (inclusive),
        ``"extreme"`` from ``extreme_sparsity_`` on (inclusive), and
        ``"transition"`` in between. When the collapse is not identified no
        level is called ``"extreme"``, and levels beyond the largest measured
        sparsity are ``"unknown"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Sparsity levels in ``[0, 1]``.

        Returns
        -------
        regimes : ndarray of str, shape (n_samples,)
            One of ``"plateau"``, ``"transition"``, ``"extreme"``,
            ``"unknown"`` per sparsity.
        """
        check_is_fitted(self)
        s = self._validated_sparsity(X, "regime")
        out = np.full(s.shape, "transition", dtype="<U10")
        knee = self._knee_raw
        if not np.isnan(knee):
            out[s <= knee] = "plateau"
        if self.collapse_identified_:
            out[s >= self.extreme_sparsity_] = "extreme"
        else:
            out[s > self._s_max] = "unknown"
        return out

    @classmethod
    def from_cv_results(
        cls,
        cv_results,
        *,
        param_name="sparsity",
        score_key="mean_test_score",
        **params,
    ):
        """Fit a curve to the ``cv_results_`` of a sparsity grid search.

        Parameters
        ----------
        cv_results : dict
            ``cv_results_`` of :class:`~sklearn.model_selection.GridSearchCV`
            (or any dict with the same keys).

        param_name : str, default="sparsity"
            The swept parameter: either the full key (``"param_sparsity"``,
            ``"param_clf__sparsity"``), the name after ``"param_"``, or a
            name that a unique ``"param_..."`` key ends with after ``"__"``
            (so ``"sparsity"`` finds ``"param_setclassifier__sparsity"``).

        score_key : str, default="mean_test_score"
            Score column. For a ``"mean_<name>"`` key the per-split columns
            ``"split<i>_<name>"`` are used when present, so that every fold
            counts as one measurement; otherwise the column itself is used.

        **params
            Parameters of the regressor.

        Returns
        -------
        curve : SparsityCurveRegressor
            The fitted regressor.

        Notes
        -----
        If other parameters vary in the grid, the candidate with the best
        ``score_key`` is kept at each sparsity level (with a
        :class:`SparsityCurveWarning`). Candidates whose parameter is not set
        (masked) and NaN scores (failed fits) are dropped.
        """
        key, rows, sparsity, varying = _cv_results_rows(cv_results, param_name, score_key)
        if varying:
            warnings.warn(
                f"Other parameters vary in the grid ({', '.join(varying)}); "
                f"keeping the candidate with the best {score_key!r} at each "
                "sparsity level.",
                SparsityCurveWarning,
                stacklevel=2,
            )
        scores = None
        if score_key.startswith("mean_"):
            scores = _split_columns(cv_results, score_key[len("mean_"):], rows)
        if scores is not None:
            X = np.repeat(sparsity, scores.shape[1])
            y = scores.ravel()
        else:
            X = sparsity
            y = np.asarray(cv_results[score_key], dtype=np.float64)[rows]
        finite = np.isfinite(y)
        if not np.all(finite):
            warnings.warn(
                f"Dropping {int(np.sum(~finite))} NaN score(s) (failed fits).",
                SparsityCurveWarning,
                stacklevel=2,
            )
        return cls(**params).fit(X[finite].reshape(-1, 1), y[finite])


# --------------------------------------------------------------------------
# Module helpers
# --------------------------------------------------------------------------


def _cv_results_rows(cv_results, param_name, score_key):
    """The rows of a ``cv_results_`` dict that describe the sparsity sweep.

    Drops candidates whose sparsity parameter is masked (not set). When
    other parameters vary too, keeps at each sparsity level the candidate
    with the best ``score_key``. Returns ``(key, rows, sparsity, varying)``:
    the parameter's key, the row indices, their sparsity levels and the
    names of the other varying parameters.
    """
    if not hasattr(cv_results, "keys"):
        raise TypeError("cv_results must be a dict such as GridSearchCV.cv_results_.")
    key = _find_param_key(cv_results, param_name)
    if score_key not in cv_results:
        raise KeyError(
            f"score_key {score_key!r} not in cv_results; available score "
            f"keys: {sorted(k for k in cv_results if 'score' in k)}."
        )
    column = cv_results[key]
    rows = np.flatnonzero(~np.ma.getmaskarray(column))
    values = np.ma.getdata(column)
    sparsity = np.array([float(values[i]) for i in rows])
    varying = [
        k for k in cv_results
        if k.startswith("param_") and k != key
        and len({repr(v) for v in np.ma.getdata(cv_results[k])[rows]}) > 1
    ]
    if varying:
        mean = np.asarray(cv_results[score_key], dtype=np.float64)[rows]
        chosen = []
        for level in np.unique(sparsity):
            at = np.flatnonzero(sparsity == level)
            chosen.append(at[np.argmax(np.where(np.isnan(mean[at]), -np.inf, mean[at]))])
        chosen = np.array(sorted(chosen), dtype=int)
        rows, sparsity = rows[chosen], sparsity[chosen]
    return key, rows, sparsity, varying


def _split_columns(cv_results, suffix, rows):
    """Per-split scores ``split<i>_<suffix>`` of the given rows, one column
    per split, or None if the dict has none."""
    pattern = re.compile(r"^split(\d+)_" + re.escape(suffix) + "$")
    keys = sorted(
        (k for k in cv_results if pattern.match(k)),
        key=lambda k: int(pattern.match(k).group(1)),
    )
    if not keys:
        return None
    return np.column_stack(
        [np.asarray(cv_results[k], dtype=np.float64)[rows] for k in keys]
    )


def _sparsity_at(fam, theta, log_e):
    """Sparsity where a curve has error exp(log_e); NaN outside its range."""
    le_up = theta[0]
    le_np = le_up - theta[1]
    if not (le_np < log_e < le_up):
        return np.nan
    with np.errstate(all="ignore"):
        logd = float(fam.inverse_logd(theta, log_e))
    if np.isnan(logd) or logd == np.inf:
        return np.nan
    return float(-np.expm1(logd))


def _raise_not_one_column(X):
    raise ValueError(
        "SparsityCurveRegressor expects X to be a single column of sparsity "
        f"levels (shape (n_samples, 1)); got {X.shape[1]} columns."
    )


def _check_sparsity(s, *, upper_closed, what):
    """Raise a ValueError unless all sparsity levels lie in [0, 1) or [0, 1]."""
    interval = "[0, 1]" if upper_closed else "[0, 1)"
    if s.size and s.min() < 0.0:
        raise ValueError(
            f"Negative values in data passed to SparsityCurveRegressor.{what}: "
            f"sparsity levels must lie in {interval}; got minimum {s.min():.6g}."
        )
    if s.size and (s.max() > 1.0 or (not upper_closed and s.max() >= 1.0)):
        raise ValueError(
            f"Sparsity levels passed to SparsityCurveRegressor.{what} must lie "
            f"in {interval}; got maximum {s.max():.6g}"
            + (" (sparsity 1 leaves no weights)" if s.max() == 1.0 else "")
            + "."
        )


def _find_param_key(cv_results, param_name):
    if param_name in cv_results and str(param_name).startswith("param_"):
        return param_name
    if "param_" + param_name in cv_results:
        return "param_" + param_name
    matches = [
        k
        for k in cv_results
        if k.startswith("param_") and k.endswith("__" + param_name)
    ]
    if len(matches) == 1:
        return matches[0]
    params = sorted(k for k in cv_results if k.startswith("param_"))
    if not matches:
        raise KeyError(
            f"No parameter column for {param_name!r} in cv_results; "
            f"parameter columns: {params}."
        )
    raise KeyError(
        f"Several parameter columns end with {param_name!r}: {sorted(matches)}; "
        "pass the full key as param_name."
    )


class _CurveData:
    """Data of one fit on the log-density axis."""

    def __init__(self, logd, error, weight, offset):
        self.logd = logd
        self.error = error
        self.weight = weight
        self.offset = offset
        self.log_offset = np.log(offset)
        self.target = np.log(error + offset)
        self.n_eff = float(np.sum(weight))
        x = logd / _LN10
        self.x_min, self.x_max = float(x.min()), float(x.max())
        levels, inverse = np.unique(logd, return_inverse=True)
        sums = np.bincount(inverse, weights=weight * error)
        counts = np.bincount(inverse, weights=weight)
        self.level_error = sums / counts

    def residuals(self, fam, theta):
        log_e = fam.log_error(theta, self.logd)
        return self.target - np.logaddexp(log_e, self.log_offset)


def _fit_family(fam, data, *, le_up_fixed, le_up_bounds, loss, f_scale):
    """Multi-start bounded least squares for one family; None if all fail."""
    free = np.array([le_up_fixed is None, True, True, True])
    shape_bounds = fam.shape_bounds(data.x_min)
    lower = np.array(
        [le_up_bounds[0], 0.0, shape_bounds[0][0], shape_bounds[1][0]]
    )
    upper = np.array(
        [le_up_bounds[1], _MAX_LOG_RATIO, shape_bounds[0][1], shape_bounds[1][1]]
    )

    # Plateau starts from the data: the best and worst level-mean errors.
    e_lo = max(float(data.level_error.min()), _MIN_ERROR)
    e_hi = max(float(data.level_error.max()), 1.01 * e_lo)
    if le_up_fixed is None:
        top = np.exp(le_up_bounds[1])
        le_up_starts = [np.log(e_hi), 0.5 * (np.log(e_hi) + np.log(max(top, e_hi)))]
    else:
        le_up_starts = [le_up_fixed]

    theta_full = np.zeros(4)
    if le_up_fixed is not None:
        theta_full[0] = le_up_fixed
    free_idx = np.flatnonzero(free)

    def full(v):
        theta = theta_full.copy()
        theta[free_idx] = v
        return theta

    def resid(v):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            r = data.residuals(fam, full(v))
        return np.where(np.isfinite(r), r, 1e3)

    lo, hi = lower[free_idx], upper[free_idx]
    loss_fn = _weighted_loss(loss, data.weight)
    best = None
    for le_up0 in le_up_starts:
        le_up0 = float(np.clip(le_up0, lower[0], upper[0]))
        L0 = max(le_up0 - np.log(e_lo), 0.05)
        for shape in fam.shape_starts(data.x_min, data.x_max):
            start = np.array([le_up0, L0, shape[0], shape[1]])[free_idx]
            span = hi - lo
            start = np.clip(start, lo + 1e-6 * span, hi - 1e-6 * span)
            try:
                res = least_squares(
                    resid,
                    start,
                    bounds=(lo, hi),
                    method="trf",
                    loss=loss_fn,
                    f_scale=f_scale,
                    max_nfev=400,
                )
            except (ValueError, np.linalg.LinAlgError):  # pragma: no cover
                continue
            if np.isfinite(res.cost) and (best is None or res.cost < best.cost):
                best = res
    if best is None:  # pragma: no cover
        return None

    v = best.x
    r = resid(v)
    rss = float(np.sum(data.weight * r**2))
    k = free_idx.size
    dof = data.n_eff - k
    sigma = float(np.sqrt(rss / dof)) if dof > 0 else np.nan
    cov = _sandwich_covariance(
        _central_jacobian(resid, v), r, data.weight, loss, f_scale, dof
    )
    return {
        "theta": full(v),
        "free": free,
        "cov": cov,
        "rss": rss,
        "sigma": sigma,
        "aicc": _aicc(rss, data.n_eff, k),
    }


def _constant_fit(data, loss, f_scale):
    """Weighted RSS and level of a constant log error (robust loss)."""
    res = least_squares(
        lambda c: data.target - c[0],
        np.array([np.median(data.target)]),
        method="trf",
        loss=_weighted_loss(loss, data.weight),
        f_scale=f_scale,
    )
    r = data.target - res.x[0]
    return float(np.sum(data.weight * r**2)), float(res.x[0])


def _sandwich_covariance(J, r, w, loss, f_scale, dof):
    """Heteroscedasticity-consistent covariance of an M-estimate.

    ``A^+ B A^+`` with ``A = J^T diag(w (rho' + 2 z rho'')) J`` (the
    Gauss-Newton Hessian of the robust cost) and
    ``B = J^T diag(w rho'^2 r^2) J`` (the scatter of the score), scaled by
    ``n / (n - k)``; ``z = (r / f_scale)^2`` and ``w`` are frequency weights.
    The scatter of log error differs a lot between the plateau and the
    collapse, which a single pooled variance would ignore.
    """
    n_eff = float(np.sum(w))
    k = J.shape[1]
    if dof <= 0 or not np.all(np.isfinite(J)):
        return None
    z = (r / f_scale) ** 2
    _, d1, d2 = _rho(loss, z)
    a = w * np.clip(d1 + 2.0 * z * d2, 0.0, None)
    b = w * d1**2 * r**2
    A_inv = np.linalg.pinv(J.T @ (a[:, None] * J))
    B = J.T @ (b[:, None] * J)
    cov = n_eff / (n_eff - k) * (A_inv @ B @ A_inv)
    return 0.5 * (cov + cov.T)
