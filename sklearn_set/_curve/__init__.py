"""Accuracy-versus-sparsity curves.

:class:`SparsityCurveRegressor` fits a curve to accuracies measured at
several sparsity levels and answers the questions people ask of a sparsity
sweep: where accuracy starts to drop (the knee), where it collapses (the
extreme-sparsity contour), the highest sparsity that keeps a target accuracy,
and how sure all of that is.

Modules: ``_families`` (the curve forms, by name in ``FAMILIES``, each
declaring its parameters), ``_fitting`` (weighted robust least squares and
its statistics), ``_estimator`` (the regressor), ``_queries`` (its
predictions), ``_levels`` (the ``cv_results_`` parser and the sparsity-level
validator of :mod:`sklearn_set._engine.levels`, shared with the sweeps, the
display and the command line).
"""

from ._estimator import SparsityCurveRegressor, min_levels
from ._levels import SweepScores, check_sparsity_levels, parse_cv_results
from ._queries import CollapseNotIdentifiedWarning, SparsityCurveWarning

__all__ = [
    "CollapseNotIdentifiedWarning",
    "SparsityCurveRegressor",
    "SparsityCurveWarning",
    "SweepScores",
    "check_sparsity_levels",
    "min_levels",
    "parse_cv_results",
]
