"""Where an adaptive sparsity sweep measures next.

It starts from a coarse grid, evenly spaced in log density, and then adds
levels where the fitted curve is least sure of what people read off it: the
knee, the extreme-sparsity contour, and the highest sparsity within one
point of the dense accuracy. :func:`measure_adaptively` runs the rounds;
the fits themselves run in :mod:`sklearn_set._sweep.sweep`.
"""

import warnings

import numpy as np

from .._curve import SparsityCurveRegressor, min_levels

# Default span of an adaptive sweep (sparsity of its sparsest and densest level).
DEFAULT_RANGE = (0.5, 0.9998)
# Two levels closer than this (decades of density) are not worth separating.
_MIN_GAP_DECADES = 0.02
# How far below the dense accuracy the "near dense" target lies.
NEAR_DENSE = 0.01
# Levels added per round (each round refits the curve on all levels so far).
LEVELS_PER_ROUND = 1


def check_adaptive(n_levels, sparsity_range, curve_params):
    """Validate the adaptive options.

    Returns
    -------
    n_levels : int
        The number of levels to measure in all.
    sparsity_range : tuple of two floats
        Sparsest and densest ends ``(s_lo, s_hi)``.
    needed : int
        Least number of levels the curve family can be fitted on.
    """
    curve_params = dict(curve_params or {})
    needed = min_levels(curve_params.get("family", "auto"),
                        fixed_collapse=curve_params.get("collapse_accuracy") is not None)
    if n_levels is None:
        raise ValueError('sparsities="adaptive" needs n_levels, the number of levels to '
                         "measure in all.")
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)):
        raise ValueError(f"n_levels must be an int; got {n_levels!r}.")
    # the coarse grid alone must be able to fit the curve, with two to spare
    if n_levels < needed + 2:
        raise ValueError(
            f"n_levels={n_levels} is too small for the curve family "
            f"{curve_params.get('family', 'auto')!r}: it needs {needed} levels to fit, "
            f"and an adaptive sweep at least {needed + 2}.")
    lo, hi = sparsity_range if sparsity_range is not None else DEFAULT_RANGE
    if not (0.0 <= lo < hi < 1.0):
        raise ValueError(f"sparsity_range must be (low, high) with 0 <= low < high < 1; "
                         f"got {sparsity_range!r}.")
    return int(n_levels), (float(lo), float(hi)), needed


def measure_adaptively(measure, n_levels, sparsity_range, needed, curve_params):
    """Measure the coarse grid, then one round after another the levels
    :func:`next_levels` picks from the curve fitted so far, until
    ``n_levels`` are measured or every gap is too narrow to split.

    Parameters
    ----------
    measure : callable
        ``measure(levels)`` cross-validates the new ``levels`` and returns
        their scores, of shape ``(len(levels), n_splits)``.
    n_levels, sparsity_range, needed
        As returned by :func:`check_adaptive`.
    curve_params : dict or None
        Parameters of the curve that steers the sweep.

    Returns
    -------
    levels : ndarray of shape (n_measured,)
        The levels in the order they were measured.
    rounds : ndarray of shape (n_measured,)
        The round that chose each level (0: the coarse grid).
    """
    levels = initial_levels(n_levels, sparsity_range, needed)
    scores = measure(levels)
    rounds = [0] * levels.size
    curve_params = dict(curve_params or {})
    while levels.size < n_levels:
        curve = fit_quietly(levels, scores, curve_params)
        new = next_levels(levels, curve, min(LEVELS_PER_ROUND, n_levels - levels.size),
                          sparsity_range)
        new = new[~np.isin(new, levels)]
        if new.size == 0:  # every gap is already narrow
            break
        scores = np.concatenate([scores, measure(new)])
        rounds += [max(rounds) + 1] * new.size
        levels = np.concatenate([levels, new])
    return levels, np.asarray(rounds)


def initial_levels(n_levels, sparsity_range, needed):
    """The coarse grid: about half the budget, evenly spaced in log density."""
    n_start = min(n_levels, max(needed + 2, (n_levels + 1) // 2))
    lo, hi = sparsity_range
    return 1.0 - np.logspace(np.log10(1.0 - lo), np.log10(1.0 - hi), n_start)


def fit_quietly(sparsities, scores, curve_params):
    """The curve of the levels measured so far, or None if it cannot be fitted."""
    scores = np.asarray(scores, dtype=np.float64)
    keep = np.any(np.isfinite(scores), axis=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SparsityCurveRegressor(**curve_params).fit_scores(
                np.asarray(sparsities)[keep], scores[keep])
    except ValueError:
        return None


def curve_queries(curve):
    """What people read off a fitted curve, as sparsities.

    Parameters
    ----------
    curve : SparsityCurveRegressor
        A fitted curve.

    Returns
    -------
    queries : dict of str to float
        ``"knee"`` (``knee_sparsity_``), ``"contour"`` (the extreme-sparsity
        contour, ``extreme_sparsity_``) and ``"near_dense"`` (the highest
        sparsity whose predicted accuracy is within ``NEAR_DENSE`` of the
        dense reference); NaN where the curve cannot place one. The dense
        reference is the curve's accuracy at the densest measured level, not
        ``dense_accuracy_``: that one is extrapolated to sparsity 0, beyond
        the data, and moves with the shape parameters far more than the
        curve does where it was measured.
    """
    densest = -np.expm1(np.max(curve._level_logd))
    reference = float(curve.predict([[densest]])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        near_dense = curve.max_sparsity(reference - NEAR_DENSE)
    return {"knee": float(curve.knee_sparsity_), "contour": float(curve.extreme_sparsity_),
            "near_dense": float(near_dense)}


def targets(curve):
    """Sparsities of the queries the curve can place (see :func:`curve_queries`)."""
    return [s for s in curve_queries(curve).values() if np.isfinite(s) and 0.0 < s < 1.0]


def next_levels(measured, curve, n_new, sparsity_range):
    """Up to ``n_new`` new levels: the midpoints (in log density) of the gaps
    that hold a target, the least certain first; then the widest gaps."""
    lo, hi = sparsity_range
    x = np.sort(np.log10(1.0 - np.asarray(measured)))[::-1]  # densest first
    gaps = list(zip(x[:-1], x[1:]))
    mids = np.array([0.5 * (a + b) for a, b in gaps])
    widths = np.array([a - b for a, b in gaps])
    uncertainty = np.ones_like(mids)
    wanted = set()
    if curve is not None:
        s_mid = 1.0 - 10.0 ** mids
        low, high = curve.predict_interval(s_mid[:, None])
        uncertainty = np.nan_to_num(high - low, nan=1.0) + 1e-3
        for s in targets(curve):
            xs = np.log10(1.0 - s)
            wanted.update(i for i, (a, b) in enumerate(gaps) if a >= xs >= b)
        if not curve.collapse_identified_:
            # the collapse lies beyond: look at the sparse end first
            wanted.add(len(gaps) - 1)
    score = widths * uncertainty
    order = sorted(range(len(gaps)), key=lambda i: (i not in wanted, -score[i]))
    chosen = [i for i in order if widths[i] > 2 * _MIN_GAP_DECADES][:n_new]
    new = 1.0 - 10.0 ** mids[chosen]
    return np.clip(new, lo, hi)
