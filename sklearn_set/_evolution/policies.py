"""Connectivity policies: how a sparse network's topology evolves.

A policy is the whole strategy of evolution: it starts with the network,
observes it after every epoch (with the validation score when one is
measured), sets each layer's connection budget, and evolves the network
between epochs: it prunes and regrows every layer through its regrowth rule
(see ``rules.py``) and the layers' storage operations. It may ask training
to stop, names the epoch to end with, and saves and restores its own state
(for interrupted fits). The SET and AccSET estimators differ only in the
policy they train with. No scikit-learn here.
"""

import copy
import math
from collections import namedtuple

import numpy as np

from .._engine.layer import erdos_renyi_allocation
from .rules import RandomRegrowth, grow

Candidate = namedtuple("Candidate", "sparsity score epoch snapshot")

# Share of ``zeta`` rewired after a fraction ``progress`` of ``max_iter``
# epochs: constant (SET), or RigL's cosine decay (Evci et al. 2020) from
# ``zeta`` to 0 at ``max_iter``, which lets the last epochs fine-tune a
# settled topology.
ZETA_SCHEDULES = {
    "constant": lambda progress: 1.0,
    "cosine": lambda progress: 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))),
}


class ConnectivityPolicy:
    """Base class of connectivity policies.

    Parameters
    ----------
    regrowth : RegrowthRule, default=RandomRegrowth()
        Decides which connections a pruning removes and where the
        replacements go (see :class:`~sklearn_set._evolution.rules.RegrowthRule`).

    Notes
    -----
    The estimator calls, in this order: :meth:`start` once for a new
    network; then per epoch (except before the first) :meth:`evolve`; after
    the epoch's training :meth:`observe` and :meth:`stop`; at the end
    :meth:`selected`, which names the model to end with. :meth:`state` and
    :meth:`restore` roll the policy back to the end of an epoch. Subclasses shape the
    evolution through :meth:`evolves` and :meth:`budget`.
    """

    #: whether the policy needs a validation score every epoch
    needs_validation = False
    #: whether :meth:`selected` names the returned model (the estimator then
    #: keeps no copy of its own best epoch)
    selects_model = False

    def __init__(self, *, regrowth=None):
        self.regrowth = RandomRegrowth() if regrowth is None else regrowth

    def start(self, network):
        """Called once when training of a new network starts."""

    def observe(self, epoch, network, validation_score):
        """Called after each epoch, before the network evolves again."""

    def evolves(self, layer_index, layer):
        """Whether ``layer`` is pruned and regrown in this evolution. Not a
        dense layer: it has nowhere else to grow, so rewiring it would only
        replace trained weights by fresh small ones at the same positions."""
        return layer.n_connections < layer.size

    def budget(self, layer_index, layer, n_pruned):
        """How many connections ``layer`` regrows after losing ``n_pruned``."""
        return n_pruned

    def evolve(self, network, zeta, rng, data=None):
        """Prune every layer, then regrow every layer.

        Layers :meth:`evolves` rejects keep their connections. The rule
        prunes the others (SET: the fraction ``zeta`` of the weakest
        positive and negative weights), :meth:`budget` says how many come
        back to each layer (SET: as many as were pruned), the rule's
        ``after_prune`` sees the pruned network and may move budget between
        layers, and its ``place`` picks the positions that :func:`grow`
        fills. ``data`` is the training ``(X, y, sample_weight)``, needed by
        rules that look at gradients. Sets the network's ``turnover``, the
        share of the previous evolution's new connections that this pruning
        spared (NaN if there were none).

        Returns the per-layer (pruned, regrown) counts.
        """
        rule = self.regrowth
        layers = network.layers
        rule.prepare(network, data, rng)
        evolving = [self.evolves(idx, layer) for idx, layer in enumerate(layers)]
        pruned = [rule.prune(idx, layer, zeta) if evolving[idx] else 0
                  for idx, layer in enumerate(layers)]
        network.turnover = _turnover(layers)
        budgets = [self.budget(idx, layer, n_pruned) if evolving[idx] else 0
                   for idx, (layer, n_pruned) in enumerate(zip(layers, pruned))]
        budgets = rule.after_prune(network, budgets)
        counts = []
        for idx, layer in enumerate(layers):
            if evolving[idx]:
                n_new = grow(layer, rule.place(idx, layer, budgets[idx], rng), rng)
                counts.append((pruned[idx], n_new))
            else:
                layer.last_regrown = layer.last_regrown[:0]
                counts.append((0, 0))
        rule.finish()
        return counts

    def stop(self, epoch, stalled):
        """Whether training stops after ``epoch``. ``stalled`` is the
        estimator's own verdict (MLPClassifier's no-improvement rule)."""
        return stalled

    def selected(self):
        """The :class:`Candidate` to end training with (None: the estimator
        decides)."""
        return None

    def state(self):
        """An opaque copy of the policy's state at the end of an epoch."""
        return None

    def restore(self, state):
        """Return to a state given by :meth:`state`."""


def _turnover(layers):
    """Share of the last regrowth's connections still present (NaN when
    there were none)."""
    regrown = sum(layer.last_regrown.shape[0] for layer in layers)
    spared = sum(layer.surviving_regrown() for layer in layers)
    return spared / regrown if regrown else math.nan


class SETPolicy(ConnectivityPolicy):
    """Sparse Evolutionary Training: every layer regrows exactly as many
    connections as were pruned, so the connection count stays constant."""


class AccSETPolicy(ConnectivityPolicy):
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
    patience : int or None
        Stop when the selection has not changed for more than ``patience``
        epochs; None never stops early.
    regrowth : RegrowthRule
        See :class:`ConnectivityPolicy`.
    """

    needs_validation = True
    selects_model = True

    def __init__(self, *, tolerance, shrink_rate, max_sparsity, window=1, patience=None,
                 regrowth=None):
        super().__init__(regrowth=regrowth)
        self.window = window
        self.tolerance = tolerance
        self.shrink_rate = shrink_rate
        self.max_sparsity = max_sparsity
        self.patience = patience

    def start(self, network):
        self.shapes = [(layer.n_in, layer.n_out) for layer in network.layers]
        self.total = sum(n_in * n_out for n_in, n_out in self.shapes)
        self.start_count = int(network.n_connections.sum())
        # the floor is rounded up so the sparsity never exceeds max_sparsity
        self.min_count = min(self.start_count,
                             math.ceil((1 - self.max_sparsity) * self.total - 1e-9))
        self.target_count = self.start_count
        self.best_score = -math.inf
        # one entry per epoch with a validation score, as arrays: a saved
        # model stores an array as one block
        self.sparsity_history = np.empty(0)
        self.score_history = np.empty(0)
        self.candidates = []
        self.layer_targets = None

    def observe(self, epoch, network, validation_score):
        if validation_score is None:  # partial_fit: no validation, SET rule
            self.layer_targets = None
            return
        sparsity = float(network.sparsity)
        self.sparsity_history = np.append(self.sparsity_history, sparsity)
        self.score_history = np.append(self.score_history, validation_score)
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

    def evolves(self, layer_index, layer):
        # a dense layer is pruned when the shrinking budget asks for less
        return super().evolves(layer_index, layer) or (
            self.layer_targets is not None
            and self.layer_targets[layer_index] < layer.n_connections)

    def budget(self, layer_index, layer, n_pruned):
        if self.layer_targets is None:
            return n_pruned
        return max(0, int(self.layer_targets[layer_index]) - layer.n_connections)

    def stop(self, epoch, stalled):
        # the candidates hold snapshots of what may be selected: stopping
        # early means the selection has settled for `patience` epochs
        chosen = self.selected()
        if self.patience is None or chosen is None:
            return False
        return epoch - chosen.epoch > self.patience

    def selected(self):
        """The sparsest :class:`Candidate` within tolerance of the best."""
        if not self.candidates:
            return None
        return max(self.candidates, key=lambda c: (c.sparsity, c.score))

    _STATE = ("target_count", "best_score", "sparsity_history", "score_history",
              "candidates", "layer_targets")

    def state(self):
        # arrays and lists are copied, a list's items (snapshots never modified) shared
        return {name: copy.copy(getattr(self, name)) for name in self._STATE}

    def restore(self, state):
        for name, value in state.items():
            setattr(self, name, copy.copy(value))
