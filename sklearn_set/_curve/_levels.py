"""Sparsity levels and sweep results: one validator and one parser.

Shared by the curve, the sweeps, the display and the command line, so that a
sparsity level is checked the same way and a ``cv_results_`` dict is read the
same way everywhere. The validator itself lives in the engine
(:mod:`sklearn_set._engine.levels`), whose ``connectivity_profile`` uses it
too; it is re-exported here for the layers above.
"""

import re
from dataclasses import dataclass

import numpy as np

from .._engine.levels import check_sparsity_levels

__all__ = ["SweepScores", "check_sparsity_levels", "parse_cv_results"]


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

    Parameters
    ----------
    cv_results : dict
        ``cv_results_`` of :class:`~sklearn.model_selection.GridSearchCV`
        (or any dict with the same keys).

    param_name : str, default="sparsity"
        The swept parameter: the full key (``"param_clf__sparsity"``), the
        name after ``"param_"``, or a name that a unique ``"param_..."`` key
        ends with after ``"__"``.

    score_key : str, default="mean_test_score"
        Score column. For a ``"mean_<name>"`` key the per-split columns
        ``"split<i>_<name>"`` are used when present, so that every fold
        counts as one measurement.

    Returns
    -------
    sweep : SweepScores
        The levels in increasing order and their scores.
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
