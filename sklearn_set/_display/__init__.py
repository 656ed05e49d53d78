"""Displays: the sparsity curve and the topology history."""

from .curve import SparsityCurveDisplay
from .topology import TopologyHistoryDisplay

__all__ = ["SparsityCurveDisplay", "TopologyHistoryDisplay"]
