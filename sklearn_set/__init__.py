"""sklearn-set: truly sparse neural networks for scikit-learn.

Multilayer perceptrons that are sparse from the first step and trained with
Sparse Evolutionary Training (SET), on numba kernels that touch existing
connections only.
"""

from ._accset import AccSETClassifier
from ._engine.connectivity import connectivity_profile
from ._export.c import CExport, export_c
from ._export.compact import CompactNetwork, compact
from ._export.mlp import to_mlp
from ._curve import SparsityCurveRegressor, SparsityCurveWarning
from ._display.curve import SparsityCurveDisplay
from ._display.topology import TopologyHistoryDisplay
from ._set import SETClassifier, SETRegressor
from ._sweep.sweep import SparsityCurveResult, sparsity_curve

__version__ = "0.1.0"

__all__ = [
    "AccSETClassifier",
    "CExport",
    "CompactNetwork",
    "SETClassifier",
    "SETRegressor",
    "SparsityCurveDisplay",
    "SparsityCurveRegressor",
    "SparsityCurveResult",
    "SparsityCurveWarning",
    "TopologyHistoryDisplay",
    "__version__",
    "compact",
    "connectivity_profile",
    "export_c",
    "sparsity_curve",
    "to_mlp",
]
