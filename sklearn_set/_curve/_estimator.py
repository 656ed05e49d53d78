"""SparsityCurveRegressor: accuracy as a function of sparsity."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.stats import chi2
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._docstrings import filled, parameter_docs
from .._names import CURVE_FAMILIES
from . import _fitting as fitting
from ._families import FAMILIES, make_families
from ._levels import check_sparsity_levels, parse_cv_results
from ._queries import CollapseNotIdentifiedWarning, CurveQueriesMixin, SparsityCurveWarning

__all__ = ["CollapseNotIdentifiedWarning", "SparsityCurveRegressor", "SparsityCurveWarning"]

# 95% quantile of chi-squared with one degree of freedom.
_LR_CRITICAL = 3.841458820694124
# Rounds of (fit, re-estimate the between-level variance) with weighting="spread".
_WEIGHT_ROUNDS = 2


def min_levels(family, *, fixed_collapse=False):
    """Least number of distinct sparsity levels a family can be fitted on
    (for ``"auto"``: the smallest family)."""
    candidates = FAMILIES.values() if family == "auto" else [FAMILIES[family]]
    return min(fam.n_free(fixed_collapse=fixed_collapse) for fam in candidates)


class SparsityCurveRegressor(CurveQueriesMixin, RegressorMixin, BaseEstimator):
    """Accuracy as a function of sparsity: a curve on log density.

    Fits how a network's accuracy falls as its sparsity S rises, using the
    density ``d = 1 - S`` on a logarithmic axis and the error
    ``e = 1 - accuracy``: a high plateau at low sparsity (the dense
    accuracy), a decline, and a low plateau where the network has collapsed
    (about chance level ``1/K`` for ``K`` classes).

    Families (``e_np``: dense-regime error, ``e_up``: collapsed error):

    - ``"rosenfeld"`` (Rosenfeld, Frankle, Carbin and Shavit [1]_)::

          e(d) = e_np * ((d**2 + p**2 * (e_up/e_np)**(2/g)) / (d**2 + p**2))**(g/2)

    - ``"logistic"``: ``acc = a_low + (a_high - a_low) / (1 + (d50 / d)**slope)``
      (``log10_d50`` reported).
    - ``"weibull"``: ``acc = a_low + (a_high - a_low) * (1 - exp(-(d / lam)**k))``.
    - ``"capacity_connectivity"``: capacity times connectivity, for real SET
      sweeps, which decline slowly as capacity shrinks and then fall off a
      cliff when input-to-output paths vanish::

          acc = a_low + (a_high - a_low) * C(d) * K(d)
          C(d) = 1 / (1 + (d_capacity / d)**capacity_slope)
          K(d) = 1 / (1 + (d_cliff / d)**cliff_slope)

    - ``"structural"``: as ``"capacity_connectivity"`` with
      ``K(d) = active_fraction(d)**connectivity_power``, the expected share
      of connections on an input-to-output path in an untrained random
      network of architecture ``layer_sizes``
      (:func:`~sklearn_set.connectivity_profile`): the architecture places
      the cliff, the data set its sharpness.
    - ``"auto"``: fit every family (``"structural"`` when ``layer_sizes`` is
      given) and keep the smallest AICc; of families within 2 units of it,
      the one with the fewest parameters.

    **Fitting.** Bounded robust least squares
    (``scipy.optimize.least_squares``, method ``"trf"``, multi-start) on
    ``log(e + error_offset)``. With ``weighting="spread"`` each measurement
    is weighted by the precision of its level: the level's own scatter
    (folds, seeds; shrunk towards the binomial variance of ``test_size``
    test samples, or towards the median scatter of the levels) plus a
    between-level variance ``tau2_`` (how far whole levels stray from the
    curve, estimated by the Paule-Mandel method). Standard errors come from
    a sandwich covariance clustered by level. AICc is computed from the
    likelihood of the level means (``tau2_`` counted as a parameter) with
    ``weighting="spread"``, and from the residual sum of squares otherwise.

    **Derived quantities.** ``dense_accuracy_`` and ``collapse_accuracy_`` are
    the two plateaus (``1 - e_np`` and ``1 - e_up``). The knee is where the
    predicted error has risen to ``(1 + knee_rise) * e_np``; the
    extreme-sparsity contour (the collapse midpoint) where the predicted
    accuracy is halfway between the two plateaus, ``(e_np + e_up) / 2``:
    the middle of the drop as a plot on an accuracy axis shows it. (A
    midpoint on the log-error axis, ``sqrt(e_np * e_up)``, lies where little
    accuracy is lost yet, 0.86 on a digits sweep falling from 0.98 to 0.10,
    which no reader of the plot would call the middle of the collapse.)
    :meth:`regime` calls sparsities up to the knee ``"plateau"``, from the
    contour on ``"extreme"`` and those in between ``"transition"``.

    **Identifiability.** The collapse is identified when the data cross the
    middle of the fall on the log-error axis (a stricter test than the
    collapse midpoint above, which noisy plateau levels cannot pass): at
    least two measured levels have a mean error of at least
    ``sqrt(e_low * e_top)``, with ``e_low`` the lowest level-mean error and
    ``e_top`` the collapsed error: the fixed ``1 - collapse_accuracy``, or,
    when it is fitted, the deepest collapse allowed (``1 -`` the lower end
    of ``collapse_accuracy_bounds``) unless the data reject a curve refitted
    with that deepest collapse (likelihood ratio at the 5% level), in which
    case the fitted ``e_up``. Otherwise ``collapse_identified_`` is False, a
    :class:`CollapseNotIdentifiedWarning` is raised, ``extreme_sparsity_`` is
    NaN, ``collapse_accuracy_`` is NaN unless fixed, and :meth:`max_sparsity`
    and :meth:`regime` do not answer beyond the largest measured sparsity.

    Read more in the :ref:`User Guide <sparsity_curves>`.

    Parameters
    ----------
    family : {"auto", "rosenfeld", "logistic", "weibull", \
            "capacity_connectivity", "structural"}, default="auto"
        Curve family; ``"auto"`` selects by AICc.

    loss : {"linear", "soft_l1", "huber", "cauchy", "arctan"}, default="soft_l1"
        Loss passed to ``scipy.optimize.least_squares``. The robust losses
        limit the pull of a diverged run.

    f_scale : float, default=0.1
        Soft margin between inlier and outlier residuals for the robust
        losses, in log-error units (0.1 is a 10% relative change of the
        error). Ignored for ``loss="linear"``.

    collapse_accuracy : float in [0, 1) or None, default=None
        Accuracy of the collapsed network. ``None`` fits it (within
        ``collapse_accuracy_bounds``); a float fixes it, e.g. the share of
        the majority class, which is what a collapsed classifier predicts.

    collapse_accuracy_bounds : tuple of two floats, default=(0.0, 1.0)
        Lower and upper bound on the collapsed accuracy when it is fitted.

    knee_rise : float, default=0.1
        Relative rise of the error above the dense plateau that marks the
        knee: the knee is where ``e = (1 + knee_rise) * e_np``.

    error_offset : float, default=1e-3
        Added to the errors before taking logs, so that perfect scores
        (error 0) are usable and tiny errors do not dominate the fit.

    weighting : {"spread", "none"}, default="spread"
        ``"spread"`` weights each measurement by the precision of its level
        (see Fitting); ``"none"`` weights all measurements alike.

    test_size : int or None, default=None
        Number of test samples behind each score, for the binomial variance
        of levels measured once (and as the prior of the level scatter).
        ``None``: the median scatter of the levels measured more than once.

    layer_sizes : tuple of int or None, default=None
        Architecture of the swept network, inputs and outputs included
        (e.g. ``(64, 256, 256, 10)``); needed by ``family="structural"``.

    Attributes
    ----------
    family_ : str
        The fitted family.

    params_ : dict
        Named parameters of the fitted curve (the raw fitted values, also
        where they are not identified).

    params_std_ : dict
        Standard errors of ``params_`` (0.0 for a fixed parameter, NaN when
        the covariance cannot be estimated).

    dense_accuracy_ : float
        Low-sparsity plateau (``1 - e_np``); when the scores show no
        significant drop at all, the level of the constant that fits them.

    collapse_accuracy_ : float
        High-sparsity plateau (``1 - e_up``); NaN when the collapse is not
        identified and ``collapse_accuracy`` was not fixed.

    knee_sparsity_ : float
        Sparsity where the predicted error reaches ``(1 + knee_rise) * e_np``;
        NaN if the scores show no significant drop, or if it lies beyond the
        largest measured sparsity while the collapse is not identified.

    extreme_sparsity_ : float
        The collapse midpoint: sparsity where the predicted accuracy is
        halfway between ``dense_accuracy_`` and ``collapse_accuracy_``
        (error ``(e_np + e_up) / 2``); NaN when the collapse is not
        identified.

    collapse_identified_ : bool
        Whether the data reach the collapse (see Identifiability above).

    aicc_ : float
        AICc of the fitted family.

    aiccs_ : dict
        AICc of every family that was fitted (``inf`` if a fit failed or had
        too few levels).

    residual_std_ : float
        Weighted residual standard deviation in log-error units.

    tau2_ : float
        Between-level variance in log-error units: the scatter of whole
        levels around the curve beyond their own measurement scatter.

    n_features_in_ : int
        Number of features seen during fit (always 1).

    feature_names_in_ : ndarray of shape (1,)
        Name of the feature, when X had string column names.

    See Also
    --------
    sparsity_curve : Runs a sparsity sweep (also adaptively).
    connectivity_profile : Expected connectivity of a random architecture.

    Notes
    -----
    ``X`` is a single column of sparsity levels in ``[0, 1)``; repeated
    levels (seeds, CV folds) are expected. ``y`` holds scores in ``[0, 1]``
    where higher is better. ``sample_weight`` acts as frequency weights.

    References
    ----------
    .. [1] J. S. Rosenfeld, J. Frankle, M. Carbin and N. Shavit, "On the
       predictability of pruning across scales", ICML 2021.

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
    0.9976
    >>> print(round(curve.max_sparsity(0.95), 3))
    0.984
    >>> curve.regime([[0.5], [0.99], [0.999]]).tolist()
    ['plateau', 'transition', 'extreme']
    """

    _parameter_constraints: dict = {
        "family": [StrOptions({"auto", *CURVE_FAMILIES})],
        "loss": [StrOptions({"linear", "soft_l1", "huber", "cauchy", "arctan"})],
        "f_scale": [Interval(Real, 0, None, closed="neither")],
        "collapse_accuracy": [Interval(Real, 0, 1, closed="left"), None],
        "collapse_accuracy_bounds": [tuple],
        "knee_rise": [Interval(Real, 0, None, closed="neither")],
        "error_offset": [Interval(Real, 0, None, closed="neither")],
        "weighting": [StrOptions({"spread", "none"})],
        "test_size": [Interval(Integral, 1, None, closed="left"), None],
        "layer_sizes": ["array-like", None],
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
        weighting="spread",
        test_size=None,
        layer_sizes=None,
    ):
        self.family = family
        self.loss = loss
        self.f_scale = f_scale
        self.collapse_accuracy = collapse_accuracy
        self.collapse_accuracy_bounds = collapse_accuracy_bounds
        self.knee_rise = knee_rise
        self.error_offset = error_offset
        self.weighting = weighting
        self.test_size = test_size
        self.layer_sizes = layer_sizes

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is one column of sparsity levels in [0, 1); fit rejects any other
        # number of columns (scikit-learn has no tag for "exactly one feature")
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        return tags

    # ------------------------------------------------------------------ fit

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
        return (np.log(max(1.0 - hi_acc, fitting.MIN_ERROR)),
                np.log(max(1.0 - lo_acc, 2 * fitting.MIN_ERROR)))

    def _family_names(self):
        has_architecture = self.layer_sizes is not None
        if self.family != "auto":
            if FAMILIES[self.family].needs_architecture and not has_architecture:
                raise ValueError(
                    f"family={self.family!r} needs layer_sizes, the architecture of the "
                    "swept network with inputs and outputs, e.g. (64, 256, 256, 10).")
            return [self.family]
        return [name for name, fam in FAMILIES.items()
                if has_architecture or not fam.needs_architecture]

    def _fit_one(self, fam, data, le_up_fixed, le_up_bounds):
        """Fit a family; with weighting="spread", alternate with tau2."""
        kw = dict(le_up_fixed=le_up_fixed, le_up_bounds=le_up_bounds, loss=self.loss,
                  f_scale=self.f_scale)
        # a leave-one-level-out refit starts from the full fit (see
        # leave_one_level_out) instead of the multi-start
        fit = fitting.fit_family(fam, data, x0=getattr(self, "_warm_theta", None), **kw)
        if fit is None:  # pragma: no cover
            return None
        k = int(np.sum(fit["free"]))
        tau2 = fitting.between_level_variance(data, data.level_fit(fam, fit["theta"]), k)
        precision = np.ones_like(data.weight)
        if self.weighting == "spread":
            for _ in range(_WEIGHT_ROUNDS):
                precision = data.precision(tau2)
                fit = fitting.fit_family(fam, data, precision=precision, x0=fit["theta"], **kw)
                tau2 = fitting.between_level_variance(data, data.level_fit(fam, fit["theta"]), k)
            fit["aicc"] = fitting.aicc(fitting.gaussian_loglik(data, fam, fit["theta"], tau2),
                                 data.n_eff, k + 1)
        else:
            fit["aicc"] = fitting.rss_aicc(fit["rss"], data.n_eff, k)
        fit["tau2"], fit["precision"] = tau2, precision
        return fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the curve to scores measured at several sparsity levels.

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
        fixed = self.collapse_accuracy is not None
        k = min_levels(self.family, fixed_collapse=fixed)
        if X.shape[0] < k:
            raise ValueError(
                f"SparsityCurveRegressor needs at least {k} distinct sparsity "
                f"levels to fit a {k}-parameter curve; got {X.shape[0]} "
                f"sample{'s' if X.shape[0] != 1 else ''}.")
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                  ensure_non_negative=True)
        if X.shape[1] != 1 and X.min() >= 0:
            raise ValueError(
                "SparsityCurveRegressor expects X to be a single column of sparsity "
                f"levels (shape (n_samples, 1)); got {X.shape[1]} columns.")
        # negative values first: scikit-learn's checks expect that message
        check_sparsity_levels(X.ravel(), what="SparsityCurveRegressor.fit")
        s = X[:, 0]
        if y.min() < 0.0 or y.max() > 1.0:
            raise ValueError(
                "SparsityCurveRegressor expects scores y in [0, 1] (accuracy-"
                f"like, higher is better); got values in [{y.min():.6g}, "
                f"{y.max():.6g}].")
        keep = sw > 0
        s, y, sw = s[keep], y[keep], sw[keep]
        levels = np.unique(s)
        if levels.size < k:
            raise ValueError(
                f"SparsityCurveRegressor needs at least {k} distinct sparsity "
                f"levels to fit a {k}-parameter curve; got {levels.size} "
                f"distinct level{'s' if levels.size != 1 else ''} "
                f"({X.shape[0]} samples).")
        le_up_bounds = self._log_e_up_bounds()
        le_up_fixed = (None if not fixed else
                       np.log(max(1.0 - float(self.collapse_accuracy), fitting.MIN_ERROR)))

        data = fitting.CurveData(np.log1p(-s), 1.0 - y, sw, self.error_offset, self.test_size)
        families = make_families(self._family_names(), layer_sizes=self.layer_sizes,
                                 x_min=data.x_min)
        fits = {}
        n_free = {name: fam.n_free(fixed_collapse=fixed) for name, fam in families.items()}
        for name, fam in families.items():
            # a family with as many parameters as levels interpolates: skip it
            # under "auto" unless it is the smallest
            if self.family == "auto" and levels.size < n_free[name] + 2 and n_free[name] > k:
                fits[name] = None
                continue
            fits[name] = self._fit_one(fam, data, le_up_fixed, le_up_bounds)
        self.aiccs_ = {name: (fit["aicc"] if fit is not None else np.inf)
                       for name, fit in fits.items()}
        usable = [name for name in fits if fits[name] is not None]
        if not usable:  # pragma: no cover - all starts failed
            raise RuntimeError("The curve fit failed from every starting point.")
        # parsimony: of the families within 2 AICc units of the best, the one
        # with the fewest parameters (a difference below 2 is no evidence)
        lowest = min(self.aiccs_[name] for name in usable)
        close = [name for name in usable if self.aiccs_[name] <= lowest + 2.0]
        best = min(close, key=lambda name: (n_free[name], self.aiccs_[name]))
        fit = fits[best]
        self._set_fit(best, families[best], fit, data, levels, le_up_fixed, le_up_bounds)
        return self

    def _set_fit(self, name, fam, fit, data, levels, le_up_fixed, le_up_bounds):
        """Store the chosen family's fit and derive the fitted attributes."""
        self._store_fit(name, fam, fit, data, levels)
        identified = self._collapse_is_measured(fam, fit, data, le_up_fixed, le_up_bounds)
        self._set_landmarks(identified, le_up_fixed)

    def _store_fit(self, name, fam, fit, data, levels):
        """The fit itself and what predict and predict_interval need of it."""
        self.family_ = name
        self._fam = fam
        self._theta = fit["theta"]
        self._free = fit["free"]
        self._cov = fit["cov"]
        self.aicc_ = self.aiccs_[name]
        self.residual_std_ = fit["sigma"]
        self.tau2_ = float(fit["tau2"])
        # what predict_interval needs of the levels
        order = np.argsort(data.levels)
        self._level_logd = data.levels[order]
        self._level_var = data.level_var[order]
        self._n_per_level = float(np.median(data.level_n))
        self._dof = max(levels.size - int(np.sum(fit["free"])), 1)
        self._curve_cov = fitting.identified_covariance(fit["cov"], fit["span"])
        self._interval_tau = fitting.interval_variances(data, fam, self._theta,
                                                        int(np.sum(fit["free"])))
        self.params_ = dict(zip(fam.param_names, (float(v) for v in fam.natural(self._theta))))
        self.params_std_ = self._params_std(fam)
        self._s_max = float(levels.max())
        self.dense_accuracy_ = float(1.0 - np.exp(self._theta[0] - self._theta[1]))

    def _collapse_is_measured(self, fam, fit, data, le_up_fixed, le_up_bounds):
        """Whether the data pin the collapse (two levels past the middle of
        the fall on the log-error axis); sets ``_flat`` (no significant drop
        at all), in which case the dense accuracy is the constant fit's."""
        le_up = self._theta[0]
        precision = fit["precision"]
        # The data must climb past the geometric midpoint between their
        # lowest error and the collapsed error: the deepest collapse allowed
        # unless the data reject it.
        if le_up_fixed is not None:
            log_e_top = le_up_fixed
        else:
            log_e_top = le_up_bounds[1]
            if le_up < le_up_bounds[1] - 0.01:
                deepest = fitting.fit_family(
                    fam, data, precision=precision, le_up_fixed=le_up_bounds[1],
                    le_up_bounds=le_up_bounds, loss=self.loss, f_scale=self.f_scale,
                    x0=getattr(self, "_warm_theta", None))
                tiny = np.finfo(float).tiny
                if deepest is None or data.n_eff * np.log(
                        max(deepest["rss"], tiny) / max(fit["rss"], tiny)) > _LR_CRITICAL:
                    log_e_top = le_up
        log_e_low = np.log(max(float(data.level_error.min()), self.error_offset))
        e_mid = np.exp(0.5 * (log_e_low + log_e_top))
        identified = int(np.sum(data.level_error >= e_mid)) >= 2
        # Does the sweep show any drop at all? If a constant fits as well
        # (likelihood ratio at the 5% level), every level is on the plateau.
        rss_flat, log_e_flat = fitting.constant_fit(data, precision, self.loss, self.f_scale)
        tiny = np.finfo(float).tiny
        lr_drop = data.n_eff * np.log(max(rss_flat, tiny) / max(fit["rss"], tiny))
        self._flat = bool(lr_drop <= chi2.ppf(0.95, int(np.sum(fit["free"])) - 1))
        if self._flat:
            identified = False
            e_flat = np.exp(log_e_flat) - self.error_offset
            self.dense_accuracy_ = float(np.clip(1.0 - e_flat, 0.0, 1.0))
        return identified

    def _set_landmarks(self, identified, le_up_fixed):
        """The extreme contour, the collapsed accuracy and the knee."""
        le_up = self._theta[0]
        le_np = le_up - self._theta[1]
        s_max = self._s_max
        ext = self._sparsity_at_log_error(np.logaddexp(le_np, le_up) - np.log(2.0))
        self.collapse_identified_ = bool(identified and np.isfinite(ext))
        self.extreme_sparsity_ = float(ext) if self.collapse_identified_ else np.nan
        if self.collapse_identified_ or le_up_fixed is not None:
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
        if np.isfinite(knee) and knee >= 0.0 and (self.collapse_identified_ or knee <= s_max):
            self.knee_sparsity_ = float(knee)
        else:
            self.knee_sparsity_ = np.nan
        if not self.collapse_identified_:
            self._warn_not_identified(s_max)

    def _warn_not_identified(self, s_max):
        why = ("the scores show no significant drop at all (knee_sparsity_ is NaN too)."
               if self._flat else
               "fewer than two measured levels lie past the middle of the fall on the "
               "log-error axis, or the "
               "data are as consistent with a deeper collapse further out.")
        also = "" if self.collapse_accuracy is not None else " and so is collapse_accuracy_"
        warnings.warn(
            f"The measured sparsities (up to S={s_max:.6g}) do not identify the accuracy "
            f"collapse: {why} extreme_sparsity_ is NaN{also}, and max_sparsity/regime do "
            f"not answer beyond S={s_max:.6g}. Extend the sweep to sparser networks to "
            "identify the collapse.",
            CollapseNotIdentifiedWarning,
            stacklevel=3,
        )

    def _free_jacobian(self, func):
        """Jacobian of ``func(theta)`` with respect to the free parameters."""
        free_idx = np.flatnonzero(self._free)

        def of_free(v):
            theta = self._theta.copy()
            theta[free_idx] = v
            return func(theta)

        return fitting.central_jacobian(of_free, self._theta[free_idx])

    def _params_std(self, fam):
        names = fam.param_names
        if self._cov is None or not np.all(np.isfinite(self._cov)):
            return dict.fromkeys(names, np.nan)
        T = self._free_jacobian(fam.natural)
        var = np.einsum("ij,jk,ik->i", T, self._cov, T)
        return dict(zip(names, (float(v) for v in np.sqrt(np.clip(var, 0.0, None)))))

    @classmethod
    @filled(parse_options=parameter_docs(
        parse_cv_results, ["cv_results", "param_name", "score_key"], indent=8))
    def from_cv_results(cls, cv_results, *, param_name="sparsity",
                        score_key="mean_test_score", **params):
        """Fit a curve to the ``cv_results_`` of a sparsity grid search.

        Parameters
        ----------
%(parse_options)s

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
        sweep = parse_cv_results(cv_results, param_name=param_name, score_key=score_key)
        if sweep.varying:
            warnings.warn(
                f"Other parameters vary in the grid ({', '.join(sweep.varying)}); "
                f"keeping the candidate with the best {score_key!r} at each "
                "sparsity level.", SparsityCurveWarning, stacklevel=2)
        return cls(**params).fit_scores(sweep.sparsities, sweep.test)

    def fit_scores(self, sparsities, scores):
        """Fit to a table of scores: one row per level, one column per split.

        NaN scores (failed fits) are dropped with a :class:`SparsityCurveWarning`.

        Parameters
        ----------
        sparsities : array-like of shape (n_levels,)
            Sparsity levels in ``[0, 1)``.

        scores : array-like of shape (n_levels, n_splits) or (n_levels,)
            Scores of each level.

        Returns
        -------
        self : SparsityCurveRegressor
            The fitted regressor.
        """
        s = check_sparsity_levels(sparsities, what="SparsityCurveRegressor.fit_scores")
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.ndim != 2 or scores.shape[0] != s.size:
            raise ValueError(
                f"scores must have shape (n_levels, n_splits) with n_levels={s.size}; "
                f"got shape {scores.shape}.")
        X = np.repeat(s, scores.shape[1])
        y = scores.ravel()
        finite = np.isfinite(y)
        if not np.all(finite):
            warnings.warn(f"Dropping {int(np.sum(~finite))} NaN score(s) (failed fits).",
                          SparsityCurveWarning, stacklevel=2)
        return self.fit(X[finite].reshape(-1, 1), y[finite])
