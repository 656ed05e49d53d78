"""The validator of sparsity levels, the one every layer of the package uses.

It lives in the engine because :func:`~sklearn_set.connectivity_profile`
needs it and the engine imports nothing above itself; the curve, the sweeps
and the display reach it through :mod:`sklearn_set._curve`, the command line
directly (plain numpy: its argument errors answer without loading
scikit-learn).
"""

import numpy as np

__all__ = ["check_sparsity_levels"]


def check_sparsity_levels(values, *, what, upper_closed=False, min_levels=1):
    """Validate sparsity levels; return them as a float64 ndarray.

    Parameters
    ----------
    values : array-like of shape (n_levels,)
        Sparsity levels (a column of X is passed raveled).
    what : str
        Who is asking, for the messages (``"sparsity_curve"``,
        ``"SparsityCurveRegressor.fit"``, ...).
    upper_closed : bool, default=False
        Accept sparsity 1 (a curve may be evaluated there; no network has
        sparsity 1).
    min_levels : int, default=1
        Least number of values.
    """
    interval = "[0, 1]" if upper_closed else "[0, 1)"
    try:
        s = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{what}: sparsity levels must be numbers in {interval}; got {values!r}."
        ) from exc
    if s.ndim != 1:
        raise ValueError(
            f"{what}: sparsity levels must be a 1-D array-like of numbers; got shape "
            f"{s.shape}."
        )
    if s.size < max(min_levels, 1):
        raise ValueError(
            f"{what}: needs a non-empty list of at least {max(min_levels, 1)} sparsity "
            f"level(s); got {s.size}."
        )
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{what}: sparsity levels must be finite; got NaN or infinity.")
    if s.min() < 0.0:
        # scikit-learn's estimator checks look for "Negative values in data"
        raise ValueError(
            f"Negative values in data passed to {what}: sparsity levels must lie in "
            f"{interval}; got minimum {s.min():.6g}."
        )
    if s.max() > 1.0 or (not upper_closed and s.max() >= 1.0):
        raise ValueError(
            f"Sparsity levels passed to {what} must lie in {interval}; got maximum "
            f"{s.max():.6g}"
            + (" (sparsity 1 leaves no connection)" if s.max() == 1.0 else "")
            + "."
        )
    return s
