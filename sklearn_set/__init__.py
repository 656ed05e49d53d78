"""sklearn-set: truly sparse neural networks for scikit-learn.

Multilayer perceptrons that are sparse from the first step and trained with
Sparse Evolutionary Training (SET), on numba kernels that touch existing
connections only.
"""

import importlib

__version__ = "0.1.0"

# Each public name and the module that defines it. They are imported on first
# use (PEP 562), so that ``sklearn-set --help`` and its argument errors answer
# without loading scikit-learn, numba and the kernels.
_PUBLIC = {
    "AccSETClassifier": "._accset",
    "CExport": "._export.c",
    "CollapseNotIdentifiedWarning": "._curve",
    "CompactNetwork": "._export.compact",
    "DisconnectedNetworkWarning": "._warnings",
    "ModelFileError": "._persistence",
    "QuantizedNetwork": "._export.quantize",
    "SETClassifier": "._set",
    "SETRegressor": "._set",
    "SparsityCurveDisplay": "._display.curve",
    "SparsityCurveRegressor": "._curve",
    "SparsityCurveResult": "._sweep.result",
    "SparsityCurveWarning": "._curve",
    "TopologyHistoryDisplay": "._display.topology",
    "compact": "._export.compact",
    "connectivity_profile": "._engine.connectivity",
    "quantize": "._export.quantize",
    "export_c": "._export.c",
    "load_model": "._persistence",
    "save_model": "._persistence",
    "sparsity_curve": "._sweep.sweep",
    "to_mlp": "._export.mlp",
}

__all__ = sorted([*_PUBLIC, "__version__"])


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted({*globals(), *__all__})
