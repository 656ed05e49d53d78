"""Sparsity sweeps: :func:`sparsity_curve` over a grid or adaptively."""

from .result import SparsityCurveResult
from .sweep import sparsity_curve

__all__ = ["SparsityCurveResult", "sparsity_curve"]
