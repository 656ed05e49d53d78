"""Fitting statistics: robust weighted least squares, level noise, AICc,
covariances.

The fit works on a log-error scale: residuals
``log(e_obs + offset) - log(e_pred + offset)``. Each measurement is weighted
by the precision of its level: the scatter of that level's measurements
(folds, seeds) plus a between-level variance ``tau2`` that measures how far
whole levels stray from the curve (estimated by the Paule-Mandel method of
random-effects meta-analysis). Without repeats a level's scatter is the
binomial variance of its test folds, when their size is known.
"""

import numpy as np
from scipy.optimize import brentq, least_squares

# Smallest plateau error the fit may use and the largest plateau ratio
# e_up / e_np (both only keep the optimisation away from degenerate corners).
MIN_ERROR = 1e-6
MAX_LOG_RATIO = np.log(1e6)


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
    # least_squares applies a callable loss to z = f**2 and rescales it by
    # f_scale itself; weighting the loss (not the residuals) keeps weights
    # equivalent to repeated samples for every loss, not only the squared one
    def loss(z):
        return np.asarray(_rho(name, z)) * weights

    return loss


def aicc(minus_two_loglik, n, k):
    """Small-sample corrected AIC."""
    if n - k - 1 <= 0:
        return np.inf
    return minus_two_loglik + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def rss_aicc(rss, n, k):
    """AICc of a least-squares fit with Gaussian errors of unknown variance."""
    rss = max(rss, np.finfo(float).tiny * n)
    return aicc(n * np.log(rss / n), n, k)


def central_jacobian(func, x, rel_step=1e-6):
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


class CurveData:
    """Measurements of one fit on the log-density axis, grouped in levels.

    ``weight`` are the user's frequency weights; ``level_log_var`` the
    variance of one measurement of each level in log-error units: the
    level's sample variance shrunk, with the weight of one measurement,
    towards the binomial variance of its test folds (``test_size`` known) or
    the median sample variance of the levels. (A collapsed level often has
    no scatter at all; the shrinkage keeps it from outweighing the rest.)
    """

    def __init__(self, logd, error, weight, offset, test_size=None):
        self.logd = logd
        self.error = error
        self.weight = weight
        self.offset = offset
        self.log_offset = np.log(offset)
        self.target = np.log(error + offset)
        self.n_eff = float(np.sum(weight))
        x = logd / np.log(10.0)
        self.x_min, self.x_max = float(x.min()), float(x.max())
        self.levels, self.inverse = np.unique(logd, return_inverse=True)
        n = np.bincount(self.inverse, weights=weight)
        mean = np.bincount(self.inverse, weights=weight * error) / n
        dev = np.bincount(self.inverse, weights=weight * (error - mean[self.inverse]) ** 2)
        repeated = n > 1.0 + 1e-9
        # in log-error units, where the fit is made
        scale = (mean + offset) ** 2
        sample_var = np.where(repeated, dev / np.maximum(n - 1.0, 1e-12), 0.0) / scale
        if test_size is not None:
            prior = mean * (1.0 - mean) / float(test_size) / scale
        elif np.any(repeated):
            prior = np.full(n.shape, float(np.median(sample_var[repeated])))
        else:
            prior = np.zeros(n.shape)
        dof = np.maximum(n - 1.0, 0.0)
        self.level_n = n
        self.level_error = mean
        self.level_log_var = (dof * sample_var + prior) / (dof + 1.0)
        # the same in accuracy units, for the intervals, shrunk in accuracy
        # units (shrinking in log units would lend a collapsed level, whose
        # log scatter is tiny, the plateau's relative scatter)
        acc_var = np.where(repeated, dev / np.maximum(n - 1.0, 1e-12), 0.0)
        if test_size is not None:
            acc_prior = mean * (1.0 - mean) / float(test_size)
        elif np.any(repeated):
            acc_prior = np.full(n.shape, float(np.median(acc_var[repeated])))
        else:
            acc_prior = np.zeros(n.shape)
        self.level_var = (dof * acc_var + acc_prior) / (dof + 1.0)
        self.level_target = (
            np.bincount(self.inverse, weights=weight * self.target) / n)

    def residuals(self, fam, theta):
        log_e = fam.log_error(theta, self.logd)
        return self.target - np.logaddexp(log_e, self.log_offset)

    def precision(self, tau2):
        """Relative precision of each measurement: its level's weights sum to
        ``1 / (var / n + tau2)``; scaled to a (frequency-weighted) mean of one,
        so that a residual keeps its log-error units at an average level."""
        per_level = 1.0 / (self.level_log_var + self.level_n * tau2)
        if not np.all(np.isfinite(per_level)):  # no scatter and no tau2: equal
            return np.ones_like(self.weight)
        p = per_level[self.inverse]
        return p * (self.n_eff / np.sum(self.weight * p))

    def level_fit(self, fam, theta):
        """Fitted log error (offset included) at each level."""
        return np.logaddexp(fam.log_error(theta, self.levels), self.log_offset)


def between_level_variance(data, fitted, n_params):
    """Paule-Mandel estimate of tau2 from the level means and a fitted curve.

    Solves ``sum_i (m_i - f_i)^2 / (v_i / n_i + tau2) = n_levels - n_params``
    for ``tau2 >= 0``, in log-error units.
    """
    sq = (data.level_target - fitted) ** 2
    v = data.level_log_var / data.level_n
    return _moment_scale(sq, v, np.ones_like(v), max(data.levels.size - n_params, 1))


def _moment_scale(sq, v, u, dof):
    """The ``lam >= 0`` with ``sum(sq / (v + lam * u)) = dof`` (Paule-Mandel);
    ``v`` the known variances, ``u > 0`` the shape of the unknown one."""

    def q(lam):
        return float(np.sum(sq / (v + lam * u))) - dof

    if not np.any(v > 0):
        return float(np.sum(sq / u) / dof)
    if q(0.0) <= 0.0:
        return 0.0
    hi = max(float(np.max(sq / u)), 1e-12)
    while q(hi) > 0.0:
        hi *= 4.0
    return float(brentq(q, 0.0, hi, xtol=1e-14, rtol=1e-10))


def accuracy_slope(fam, theta, logd, step=1e-4):
    """d accuracy / d log(density) of the curve ``theta`` at ``logd``; 0 where
    it is not finite (sparsity 1, where ``logd`` is -inf)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        up = np.exp(fam.log_error(theta, logd + step))
        down = np.exp(fam.log_error(theta, logd - step))
        slope = (down - up) / (2.0 * step)
    return np.where(np.isfinite(slope), slope, 0.0)


def interval_variances(data, fam, theta, n_params):
    """How far whole levels' mean accuracies stray from the curve, beyond
    their own scatter: ``(tau_flat, tau_shift)``, in accuracy units.

    A level mean ``m_i`` around the curve ``f_i`` has variance
    ``v_i / n_i + tau_flat + g_i**2 * tau_shift``, with ``g_i`` the slope of
    the curve (accuracy per unit of log density) at the level: ``tau_flat``
    is scatter that does not depend on the slope, and ``tau_shift`` the
    variance of a sideways shift of a level on the log-density axis (a
    network that behaves as if it were a little denser or sparser), which
    only matters where the curve falls. The split between the two is the
    one that maximises the Gaussian likelihood of the level means (over a
    grid of shares); their size solves the Paule-Mandel moment equation
    ``sum r_i^2 / var_i = n_levels - n_params``, as ``tau2`` of the fit.
    """
    fitted = 1.0 - np.exp(fam.log_error(theta, data.levels))
    sq = ((1.0 - data.level_error) - fitted) ** 2
    v = data.level_var / data.level_n
    g2 = accuracy_slope(fam, theta, data.levels) ** 2
    dof = max(data.levels.size - n_params, 1)
    g2_scale = float(np.mean(g2))
    shares = np.linspace(0.0, 1.0, 21) if g2_scale > 0 else np.zeros(1)
    best = None
    for share in shares:
        # a floor keeps a level that is exactly on a flat curve, with no
        # scatter, from pinning the whole variance to zero
        u = np.maximum((1.0 - share) + share * g2 / max(g2_scale, 1e-300), 1e-6)
        lam = _moment_scale(sq, v, u, dof)
        var = np.maximum(v + lam * u, 1e-12)
        nll = float(np.sum(np.log(var) + sq / var))
        if best is None or nll < best[0]:
            best = (nll, lam * (1.0 - share), lam * share / max(g2_scale, 1e-300))
    return best[1], best[2]


def gaussian_loglik(data, fam, theta, tau2):
    """-2 log likelihood of the measurements with the variance of their level
    (``v_i + n_i tau2`` each, so that a level mean has ``v_i / n_i + tau2``),
    frequency weighted: one criterion for every family of a fit."""
    var = np.maximum((data.level_log_var + data.level_n * tau2)[data.inverse], 1e-300)
    r = data.residuals(fam, theta)
    return float(np.sum(data.weight * (r**2 / var + np.log(2 * np.pi * var))))


def fit_family(fam, data, *, precision=None, le_up_fixed, le_up_bounds, loss, f_scale,
               x0=None):
    """Bounded least squares for one family: multi-start, or from ``x0``.

    Residuals are scaled by the square root of ``precision`` (so a robust
    loss gives a noisier level a proportionally wider margin) and the loss
    is weighted by the frequency weights. Returns a dict (theta, free, cov,
    rss, sigma) or None if all starts fail.
    """
    root_p = 1.0 if precision is None else np.sqrt(precision)
    weights = data.weight
    shape_bounds = fam.bounds(data.x_min)
    n_theta = 2 + len(shape_bounds)
    free = np.ones(n_theta, dtype=bool)
    free[0] = le_up_fixed is None
    lower = np.array([le_up_bounds[0], 0.0] + [b[0] for b in shape_bounds])
    upper = np.array([le_up_bounds[1], MAX_LOG_RATIO] + [b[1] for b in shape_bounds])
    theta_full = np.zeros(n_theta)
    if le_up_fixed is not None:
        theta_full[0] = le_up_fixed
    free_idx = np.flatnonzero(free)

    def full(v):
        theta = theta_full.copy()
        theta[free_idx] = v
        return theta

    def resid(v):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            r = data.residuals(fam, full(v)) * root_p
        return np.where(np.isfinite(r), r, 1e3)

    lo, hi = lower[free_idx], upper[free_idx]
    span = hi - lo
    if x0 is not None:
        starts = [np.asarray(x0)[free_idx]]
    else:
        # plateau starts from the data: the best and worst level-mean errors
        e_lo = max(float(data.level_error.min()), MIN_ERROR)
        e_hi = max(float(data.level_error.max()), 1.01 * e_lo)
        if le_up_fixed is None:
            top = np.exp(le_up_bounds[1])
            le_up_starts = [np.log(e_hi), 0.5 * (np.log(e_hi) + np.log(max(top, e_hi)))]
        else:
            le_up_starts = [le_up_fixed]
        starts = []
        for le_up0 in le_up_starts:
            le_up0 = float(np.clip(le_up0, lower[0], upper[0]))
            L0 = max(le_up0 - np.log(e_lo), 0.05)
            for shape in fam.starts(data.x_min, data.x_max):
                starts.append(np.array([le_up0, L0, *shape])[free_idx])
    loss_fn = _weighted_loss(loss, weights)
    best = None
    for start in starts:
        start = np.clip(start, lo + 1e-6 * span, hi - 1e-6 * span)
        try:
            res = least_squares(resid, start, bounds=(lo, hi), method="trf", loss=loss_fn,
                                f_scale=f_scale, max_nfev=400)
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover
            continue
        if np.isfinite(res.cost) and (best is None or res.cost < best.cost):
            best = res
    if best is None:  # pragma: no cover
        return None
    v = best.x
    r = resid(v)
    rss = float(np.sum(weights * r**2))
    k = free_idx.size
    dof = data.n_eff - k
    J = central_jacobian(resid, v)
    cov = sandwich_covariance(J, r, weights, loss, f_scale, data.inverse)
    return {"theta": full(v), "free": free, "cov": cov, "rss": rss, "span": span,
            "sigma": float(np.sqrt(rss / dof)) if dof > 0 else np.nan}


def constant_fit(data, precision, loss, f_scale):
    """Weighted RSS and level of a constant log error (robust loss)."""
    root_p = np.sqrt(precision)
    res = least_squares(
        lambda c: (data.target - c[0]) * root_p, np.array([np.median(data.target)]),
        method="trf", loss=_weighted_loss(loss, data.weight), f_scale=f_scale)
    r = (data.target - res.x[0]) * root_p
    return float(np.sum(data.weight * r**2)), float(res.x[0])


def identified_covariance(cov, span):
    """``cov`` without the directions the data do not identify.

    A direction of parameter space whose standard deviation exceeds the
    whole range the bounds allow (``span``, per free parameter) is not
    identified: a step that sharpens an already step-like transition, say.
    The delta method would multiply its huge variance by a derivative that
    is zero up to rounding, and widen an interval out of nothing; it is
    dropped (its prediction variance set to zero), the rest kept as is.
    Returns None when ``cov`` is None.
    """
    if cov is None or not np.all(np.isfinite(cov)):
        return cov
    scaled = cov / np.outer(span, span)
    w, V = np.linalg.eigh(0.5 * (scaled + scaled.T))
    keep = w < 1.0
    w = np.clip(w, 0.0, None)  # rounding can leave a tiny negative eigenvalue
    return (span[:, None] * ((V[:, keep] * w[keep]) @ V[:, keep].T)) * span[None, :]


def sandwich_covariance(J, r, w, loss, f_scale, groups):
    """Cluster-robust (sandwich) covariance of an M-estimate.

    ``A^+ B A^+`` with ``A = J^T diag(w (rho' + 2 z rho'')) J`` (the
    Gauss-Newton Hessian of the robust cost) and ``B`` the scatter of the
    score summed within each cluster (``groups``: the sparsity levels, whose
    measurements share the level's deviation from the curve), scaled by
    ``G / (G - k)`` for ``G`` clusters; ``z = (r / f_scale)^2``.
    """
    k = J.shape[1]
    n_groups = int(groups.max()) + 1
    if n_groups <= k or not np.all(np.isfinite(J)):
        return None
    z = (r / f_scale) ** 2
    _, d1, d2 = _rho(loss, z)
    a = w * np.clip(d1 + 2.0 * z * d2, 0.0, None)
    scores = (w * d1 * r)[:, None] * J
    per_group = np.zeros((n_groups, k))
    np.add.at(per_group, groups, scores)
    A_inv = np.linalg.pinv(J.T @ (a[:, None] * J))
    cov = n_groups / (n_groups - k) * (A_inv @ (per_group.T @ per_group) @ A_inv)
    return 0.5 * (cov + cov.T)
