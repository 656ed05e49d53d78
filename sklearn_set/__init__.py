"""sklearn-set: truly sparse neural networks for scikit-learn.

Multilayer perceptrons that are sparse from the first step and trained with
Sparse Evolutionary Training (SET), on numba kernels that touch existing
connections only.
"""

from ._accset import AccSETClassifier
from ._curve import SparsityCurveRegressor
from ._set import SETClassifier, SETRegressor

__version__ = "0.1.0"

__all__ = [
    "AccSETClassifier",
    "SETClassifier",
    "SETRegressor",
    "SparsityCurveRegressor",
    "__version__",
]
