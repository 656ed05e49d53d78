"""Connectivity policies: how many pruned connections come back each epoch.

The SET and AccSET estimators differ only in the policy object they train
with. A policy sees the network after every epoch (with the validation score
when one is measured) and then answers, layer by layer, how many connections
to regrow after pruning. No scikit-learn here.
"""

import math
from collections import namedtuple

from ._topology import erdos_renyi_allocation

Candidate = namedtuple("Candidate", "sparsity score epoch snapshot")


class SETPolicy:
    """Sparse Evolutionary Training: every layer regrows exactly as many
    connections as were pruned, so the connection count stays constant."""

    def start(self, network):
        """Called once when training of a new network starts."""

    def observe(self, epoch, network, validation_score):
        """Called after each epoch, before the network evolves."""

    def regrow_count(self, layer_index, layer, n_pruned):
        return n_pruned

    def selected(self):
        """The :class:`Candidate` to end training with (None: the estimator
        decides)."""
        return None


class AccSETPolicy:
    """Accuracy-steered connectivity (this package's formulation of AccSET).

    After each epoch the validation accuracy, averaged over the last
    ``window`` epochs, decides the connection budget of the next epoch:

    * while it is within ``tolerance`` of the best accuracy seen so far, the
      global density shrinks by the factor ``1 - shrink_rate`` (pruning then
      removes more connections than regrowth brings back), down to the
      density ``1 - max_sparsity``;
    * when it falls below, the density grows back by the factor
      ``1 / (1 - shrink_rate)``, never above the starting density.

    The budget is split over layers the Erdos-Renyi way, as at
    initialisation. The policy keeps snapshots of the epochs that may still
    be selected at the end: those within ``tolerance`` of the best accuracy
    that no other such epoch beats on both sparsity and accuracy. The
    selected model is the sparsest of them.

    Parameters
    ----------
    tolerance : float
        Accuracy drop below the best seen that still counts as holding.
    shrink_rate : float in (0, 1)
        Relative change of the density per epoch.
    max_sparsity : float in (0, 1)
        The density never falls below ``1 - max_sparsity``.
    window : int
        Number of epochs the accuracy is averaged over.
    """

    def __init__(self, *, tolerance, shrink_rate, max_sparsity, window=1):
        self.window = window
        self.tolerance = tolerance
        self.shrink_rate = shrink_rate
        self.max_sparsity = max_sparsity

    def start(self, network):
        self.shapes = [(layer.n_in, layer.n_out) for layer in network.layers]
        self.total = sum(n_in * n_out for n_in, n_out in self.shapes)
        self.start_count = int(network.n_connections.sum())
        # the floor is rounded up so the sparsity never exceeds max_sparsity
        self.min_count = min(self.start_count,
                             math.ceil((1 - self.max_sparsity) * self.total - 1e-9))
        self.target_count = self.start_count
        self.best_score = -math.inf
        self.sparsity_history = []
        self.score_history = []
        self.candidates = []
        self.layer_targets = None

    def observe(self, epoch, network, validation_score):
        if validation_score is None:  # partial_fit: no validation, SET rule
            self.layer_targets = None
            return
        sparsity = float(network.sparsity)
        self.sparsity_history.append(sparsity)
        self.score_history.append(validation_score)
        recent = self.score_history[-self.window:]
        score = sum(recent) / len(recent)
        self.best_score = max(self.best_score, score)
        floor = self.best_score - self.tolerance
        holds = score >= floor
        self.candidates = [c for c in self.candidates if c.score >= floor]
        if holds and not any(c.sparsity >= sparsity and c.score >= score
                             for c in self.candidates):
            self.candidates = [c for c in self.candidates
                               if not (c.sparsity <= sparsity and c.score <= score)]
            self.candidates.append(Candidate(sparsity, score, epoch, network.snapshot()))
        current = int(network.n_connections.sum())
        if holds:
            target = max(self.min_count, math.floor(current * (1 - self.shrink_rate)))
        else:
            target = min(self.start_count, math.ceil(current / (1 - self.shrink_rate)))
        self._set_target(target)

    def _set_target(self, target):
        """Split ``target`` connections over layers; keep the previous split
        if some layer would be left without connections."""
        try:
            counts, _ = erdos_renyi_allocation(self.shapes, 1 - target / self.total)
        except ValueError:
            return
        self.target_count = int(counts.sum())
        self.layer_targets = counts

    def regrow_count(self, layer_index, layer, n_pruned):
        if self.layer_targets is None:
            return n_pruned
        return max(0, int(self.layer_targets[layer_index]) - layer.n_connections)

    def selected(self):
        """The sparsest :class:`Candidate` within tolerance of the best."""
        if not self.candidates:
            return None
        return max(self.candidates, key=lambda c: (c.sparsity, c.score))
