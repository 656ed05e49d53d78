"""What a fitted sparsity curve answers: predictions, intervals, the
highest sparsity for a target, regimes."""

import warnings

import numpy as np
from scipy.stats import t as student_t
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted, validate_data

from ._fitting import accuracy_slope
from ._levels import check_sparsity_levels


class SparsityCurveWarning(UserWarning):
    """Warning about what a fitted sparsity curve can and cannot tell.

    Raised, for example, when the measured levels do not reach the accuracy
    collapse (as :class:`CollapseNotIdentifiedWarning`), when a target
    accuracy cannot be kept at any sparsity, or when failed fits are
    dropped.

    Read more in the :ref:`User Guide <sparsity_curves>`.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_set import SparsityCurveRegressor, SparsityCurveWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     curve = SparsityCurveRegressor().fit(
    ...         [[0.5], [0.8], [0.9], [0.95]], [0.95, 0.95, 0.94, 0.93])
    >>> any(issubclass(w.category, SparsityCurveWarning) for w in caught)
    True
    """


class CollapseNotIdentifiedWarning(SparsityCurveWarning):
    """The measured sparsities never reach the accuracy collapse.

    The curve then cannot place the collapse: ``collapse_identified_`` is
    False and ``extreme_sparsity_`` is NaN, rather than an extrapolation.
    Measure sparser levels to identify it, or filter this warning where a
    sweep is known to stop short of the collapse.

    Read more in the :ref:`User Guide <sparsity_curves>`.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_set import CollapseNotIdentifiedWarning, SparsityCurveRegressor
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     curve = SparsityCurveRegressor().fit(
    ...         [[0.5], [0.8], [0.9], [0.95]], [0.95, 0.95, 0.94, 0.93])
    >>> any(issubclass(w.category, CollapseNotIdentifiedWarning) for w in caught)
    True
    >>> curve.collapse_identified_
    False
    """


class CurveQueriesMixin:
    """The query methods of :class:`SparsityCurveRegressor`."""

    def _sparsity_at_log_error(self, log_e):
        """Sparsity where the fitted curve has error exp(log_e); NaN outside."""
        le_up = self._theta[0]
        if not (le_up - self._theta[1] < log_e < le_up):
            return np.nan
        with np.errstate(all="ignore"):
            logd = float(self._fam.inverse_logd(self._theta, log_e))
        if np.isnan(logd) or logd == np.inf:
            return np.nan
        return float(-np.expm1(logd))

    def _log_error(self, theta, s):
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return self._fam.log_error(theta, np.log1p(-s))

    def _accuracy(self, theta, s):
        return 1.0 - np.exp(self._log_error(theta, s))

    def _validated_sparsity(self, X, method):
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return check_sparsity_levels(
            X[:, 0], what=f"SparsityCurveRegressor.{method}", upper_closed=True)

    def predict(self, X, return_std=False):
        """Predicted accuracy of the fitted curve.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Sparsity levels in ``[0, 1]`` (``1`` gives the collapse plateau).

        return_std : bool, default=False
            Also return the standard error of the fitted mean curve (delta
            method from the parameter covariance). It does not include the
            scatter of levels around the curve: see :meth:`predict_interval`.

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
        G = self._free_jacobian(lambda theta: self._accuracy(theta, s))
        G[~np.isfinite(G)] = 0.0
        var = np.einsum("ij,jk,ik->i", G, self._curve_cov, G)
        return y_pred, np.sqrt(np.clip(var, 0.0, None))

    def predict_interval(self, X, coverage=0.95):
        """Interval for the mean score of a new sweep level.

        It covers what a new level measured like the fitted ones (the same
        number of folds or seeds, the median of the fit's levels) would give
        as its mean score, in accuracy units, as the sum of

        - the uncertainty of the fitted curve (delta method from the
          parameter covariance, leaving out the parameter directions the
          data do not identify, such as the sharpness of a step measured
          only on either side);
        - how far whole levels' means stray from the curve beyond their own
          scatter: a flat part, and a sideways shift along the log-density
          axis times the curve's slope there (a level that behaves as if it
          were a little denser or sparser, which only shows where the curve
          falls), both estimated from the level means;
        - the scatter of the level's own measurements, interpolated between
          the measured levels on the log-density axis.

        The half-width is a Student t quantile (degrees of freedom: levels
        minus parameters) times the square root of that sum. It does not
        cover a change of the training setup (epochs, data).
        :meth:`leave_one_level_out` checks it level by level.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Sparsity levels in ``[0, 1]``.

        coverage : float in (0, 1), default=0.95
            Nominal probability that the interval holds the level's mean.

        Returns
        -------
        low : ndarray of shape (n_samples,)
            Lower end, in ``[0, 1]``.

        high : ndarray of shape (n_samples,)
            Upper end, in ``[0, 1]``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_set import SparsityCurveRegressor
        >>> sparsity = 1 - np.logspace(-0.3, -3.5, 12)
        >>> d = 1 - sparsity
        >>> error = 0.02 * ((d**2 + 0.002**2 * 45 ** (2 / 1.5)) / (d**2 + 0.002**2)) ** 0.75
        >>> rng = np.random.default_rng(0)
        >>> scores = (1 - error)[:, None] + rng.normal(0, 0.005, (12, 3))
        >>> curve = SparsityCurveRegressor(family="rosenfeld").fit_scores(sparsity, scores)
        >>> low, high = curve.predict_interval([[0.99]])
        >>> bool(low[0] < curve.predict([[0.99]])[0] < high[0])
        True
        """
        check_is_fitted(self)
        if not (isinstance(coverage, (float, int, np.floating)) and 0.0 < coverage < 1.0):
            raise ValueError(
                f"coverage must be a number strictly between 0 and 1; got {coverage!r}.")
        s = self._validated_sparsity(X, "predict_interval")
        if self._cov is None or not np.all(np.isfinite(self._cov)):
            nan = np.full(s.shape, np.nan)
            return nan, nan.copy()
        centre = self._accuracy(self._theta, s)
        G = self._free_jacobian(lambda theta: self._accuracy(theta, s))
        G[~np.isfinite(G)] = 0.0
        var_curve = np.einsum("ij,jk,ik->i", G, self._curve_cov, G)
        with np.errstate(divide="ignore"):
            logd = np.log1p(-s)
        level_var = np.interp(logd, self._level_logd, self._level_var) / self._n_per_level
        tau_flat, tau_shift = self._interval_tau
        slope = accuracy_slope(self._fam, self._theta, logd)
        var = var_curve + level_var + tau_flat + slope**2 * tau_shift
        half = student_t.ppf(0.5 + 0.5 * coverage, self._dof) * np.sqrt(np.clip(var, 0, None))
        low, high = centre - half, centre + half
        return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)

    def leave_one_level_out(self, sparsities, scores, *, coverage=0.95):
        """Refit the curve without each level and predict that level.

        It tells how well the curve foresees a level it has not seen. Each
        refit keeps the fitted family and starts from the fitted
        parameters (one local optimisation instead of the multi-start over
        every family), so the whole check costs about as much as one fit.
        Levels without a finite score, and refits that fail (too few levels
        left), give NaN.

        Parameters
        ----------
        sparsities : array-like of shape (n_levels,) or (n_levels, n_splits)
            The levels the curve was fitted on, or the sparsity of every
            measurement (for example the measured sparsity of each AccSET
            fit).

        scores : array-like of shape (n_levels, n_splits)
            Their scores, one row per level, as given to :meth:`fit_scores`.

        coverage : float in (0, 1), default=0.95
            Coverage of the intervals, as in :meth:`predict_interval`.

        Returns
        -------
        result : :class:`~sklearn.utils.Bunch`
            Arrays of shape (n_levels,): ``sparsity`` (the level, the mean
            of its row), ``mean_score`` (the mean of its finite scores),
            ``predicted`` (the refitted curve at the level), ``low`` and
            ``high`` (its :meth:`predict_interval`) and ``covered``
            (whether ``low <= mean_score <= high``).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_set import SparsityCurveRegressor
        >>> sparsity = 1 - np.logspace(-0.3, -3.5, 10)
        >>> d = 1 - sparsity
        >>> error = 0.02 * ((d**2 + 0.002**2 * 45 ** (2 / 1.5)) / (d**2 + 0.002**2)) ** 0.75
        >>> rng = np.random.default_rng(0)
        >>> scores = (1 - error)[:, None] + rng.normal(0, 0.005, (10, 3))
        >>> curve = SparsityCurveRegressor(family="rosenfeld").fit_scores(sparsity, scores)
        >>> check = curve.leave_one_level_out(sparsity, scores)
        >>> bool(np.abs(check.predicted - check.mean_score)[:8].max() < 0.02)
        True
        """
        check_is_fitted(self)
        scores = np.asarray(scores, dtype=np.float64)
        x = np.asarray(sparsities, dtype=np.float64)
        if scores.ndim != 2 or x.ndim not in (1, 2) or x.shape[0] != scores.shape[0] or (
                x.ndim == 2 and x.shape != scores.shape):
            raise ValueError(
                "leave_one_level_out takes sparsities of shape (n_levels,) or "
                f"(n_levels, n_splits) and scores (n_levels, n_splits); got {x.shape} "
                f"and {scores.shape}.")
        if x.ndim == 1:
            x = np.repeat(x[:, None], scores.shape[1], axis=1)
        finite = np.isfinite(x) & np.isfinite(scores)
        n = scores.shape[0]
        out = Bunch(sparsity=np.array([np.mean(x[i][finite[i]]) if finite[i].any()
                                       else np.nan for i in range(n)]),
                    mean_score=np.array([np.mean(scores[i][finite[i]]) if finite[i].any()
                                         else np.nan for i in range(n)]))
        for key in ("predicted", "low", "high"):
            out[key] = np.full(n, np.nan)
        params = {**self.get_params(), "family": self.family_}
        for i in range(n):
            keep = finite.copy()
            keep[i] = False
            if not finite[i].any():
                continue
            refit = clone(self).set_params(**params)
            refit._warm_theta = self._theta
            try:
                with warnings.catch_warnings():
                    # about the refit, not about this curve
                    warnings.simplefilter("ignore", SparsityCurveWarning)
                    refit.fit(x[keep].reshape(-1, 1), scores[keep])
            except ValueError:  # too few levels left
                continue
            level = [[out.sparsity[i]]]
            out.predicted[i] = refit.predict(level)[0]
            (out.low[i],), (out.high[i],) = refit.predict_interval(level, coverage=coverage)
        out.covered = (out.low <= out.mean_score) & (out.mean_score <= out.high)
        return out

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
        unreachable = beyond = 0
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
                SparsityCurveWarning, stacklevel=2)
        if beyond:
            warnings.warn(
                f"{beyond} target accuracy value(s) would be kept beyond the "
                f"largest measured sparsity ({self._s_max:.6g}) and the "
                "collapse is not identified; returning NaN for them rather "
                "than extrapolating.", SparsityCurveWarning, stacklevel=2)
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
        if not np.isnan(self._knee_raw):
            out[s <= self._knee_raw] = "plateau"
        if self.collapse_identified_:
            out[s >= self.extreme_sparsity_] = "extreme"
        else:
            out[s > self._s_max] = "unknown"
        return out
