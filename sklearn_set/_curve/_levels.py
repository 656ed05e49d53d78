"""Sparsity levels and sweep results: one validator and one parser.

Shared by the curve, the sweeps, the display and the command line, so that a
sparsity level is checked the same way and a ``cv_results_`` dict is read the
same way everywhere.
"""

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["SweepScores", "check_sparsity_levels", "parse_cv_results"]


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


@dataclass
class SweepScores:
    """The sparsity sweep inside a ``cv_results_`` dict, one row per level.

    Attributes
    ----------
    key : str
        The parameter column, e.g. ``"param_setclassifier__sparsity"``.
    sparsities : ndarray of shape (n_levels,)
        Levels in increasing order.
    test : ndarray of shape (n_levels, n_splits)
        Per-split scores (one column if the dict has no per-split columns).
    train : ndarray of shape (n_levels, n_splits) or None
        Per-split training scores, when recorded.
    varying : list of str
        Other parameters that vary in the grid (the best candidate of each
        level was kept).
    """

    key: str
    sparsities: np.ndarray
    test: np.ndarray
    train: object
    varying: list


def parse_cv_results(cv_results, *, param_name="sparsity", score_key="mean_test_score"):
    """Read a sparsity sweep out of ``GridSearchCV.cv_results_``.

    Candidates whose sparsity parameter is masked (not set) are dropped.
    When other parameters vary too, the candidate with the best
    ``score_key`` is kept at each level. For a ``"mean_<name>"`` key the
    per-split columns ``"split<i>_<name>"`` are the scores when present.
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
        chosen = np.array(chosen, dtype=int)
        rows, sparsity = rows[chosen], sparsity[chosen]
    order = np.argsort(sparsity, kind="stable")
    rows, sparsity = rows[order], sparsity[order]

    suffix = score_key[len("mean_"):] if score_key.startswith("mean_") else None
    test = _split_columns(cv_results, suffix, rows) if suffix else None
    if test is None:
        test = np.asarray(cv_results[score_key], dtype=np.float64)[rows][:, None]
    train = None
    if suffix and suffix.startswith("test_"):
        train = _split_columns(cv_results, "train_" + suffix[len("test_"):], rows)
    return SweepScores(key=key, sparsities=sparsity, test=test, train=train, varying=varying)


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


def _find_param_key(cv_results, param_name):
    if param_name in cv_results and str(param_name).startswith("param_"):
        return param_name
    if "param_" + param_name in cv_results:
        return "param_" + param_name
    matches = [
        k for k in cv_results if k.startswith("param_") and k.endswith("__" + param_name)
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
