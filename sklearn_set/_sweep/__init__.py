"""Sparsity sweeps: :func:`sparsity_curve` over a grid or adaptively."""

from .sweep import SparsityCurveResult, sparsity_curve

__all__ = ["SparsityCurveResult", "sparsity_curve"]
