"""Regrowth rules: which connections an evolution removes and where the
replacements go.

A rule answers two questions for every layer once an epoch: which
connections to prune (``zeta`` of the weakest, plus whatever the rule adds)
and, given how many may come back (the policy's budget), which empty
positions receive them. Before the layers are visited, :meth:`prepare`
looks at the whole network once (reachability, gradients). Rules act
through the layers' storage operations and ask the network only for what it
computes (reachability, gradient signals); the policy inserts the new
connections with :func:`grow`. No scikit-learn here; memory stays
O(connections) plus one block.

Every rule derives from :class:`RegrowthRule`, which declares the
methods the policy calls:

* :class:`RandomRegrowth` -- SET: magnitude pruning, uniformly random
  regrowth.
* :class:`ConnectedRegrowth` -- connections on no input-to-output path are
  pruned first, and regrowth stays inside a connected core: the units on
  paths, topped up to a width at which a random topology with this budget
  percolates.
* :class:`GradientRegrowth` -- RigL-style: regrow where the magnitude of the
  loss gradient of the empty positions is largest, measured on a few
  minibatches.
"""

import math
from abc import ABC, abstractmethod

import numpy as np

from .._engine._kernels import topology as topology_kernels
from .._engine.connectivity import active_masks, expected_connectivity, reachability
from .._engine.layer import erdos_renyi_allocation, sample_free_keys, uniform_weights
from .._names import REGROWTH_RULES as REGROWTH_RULE_NAMES
from .._names import registry

# Regrown connections start uniform in +-(NEW_WEIGHT_SCALE * init_bound), where
# init_bound is the layer's Glorot bound at initialisation: small enough not to
# disturb the trained function, large enough that the gradient decides within
# an epoch whether the connection survives the next pruning.
NEW_WEIGHT_SCALE = 0.1


def prune_weakest(layer, zeta):
    """SET's pruning: remove the fraction ``zeta`` of non-negative weights
    closest to zero and the fraction ``zeta`` of negative weights closest to
    zero (ties at a threshold go in storage order).

    Returns the number of connections removed. Time O(nnz), memory O(nnz)
    in float copies of the weights (no index arrays).
    """
    values = layer.values
    positive = values[values >= 0]
    negative = values[values < 0]
    n_pos = int(zeta * positive.shape[0])
    n_neg = int(zeta * negative.shape[0])
    if n_pos + n_neg == 0:
        return 0
    # the n-th smallest non-negative weight and the n-th largest negative one
    pos_threshold, pos_ties = _threshold(positive, n_pos)
    del positive
    neg_threshold, neg_ties = _threshold(-negative, n_neg)
    del negative
    return layer.drop_near_zero(pos_threshold, pos_ties, -neg_threshold, neg_ties)


def _threshold(x, n):
    """The ``n``-th smallest entry of ``x`` (n >= 1) and how many entries
    equal to it are among the ``n`` smallest; ``(0, 0)`` (select nothing)
    when ``n == 0``. Reorders ``x`` in place."""
    if n == 0:
        return 0.0, 0
    x.partition(n - 1)
    threshold = x[n - 1]
    n_below = int(np.count_nonzero(x[: n - 1] < threshold))
    return threshold, n - n_below


def grow(layer, new_keys, rng):
    """Insert connections at the empty positions ``new_keys`` (sorted,
    distinct) with weights uniform in +-(NEW_WEIGHT_SCALE * init_bound) and
    zero velocity; returns how many."""
    n_new = new_keys.shape[0]
    new_values = (uniform_weights(rng, n_new, NEW_WEIGHT_SCALE * layer.init_bound,
                                  layer.values.dtype) if n_new else layer.values[:0])
    return layer.insert(new_keys, new_values)


class RegrowthRule(ABC):
    """Base class of the regrowth rules.

    A rule's methods, in the order the policy calls them in an evolution:
    :meth:`prepare` once, :meth:`prune` for every evolving layer,
    :meth:`after_prune` once, :meth:`place` for every evolving layer (the
    policy inserts what it returns with :func:`grow`), :meth:`finish` once.
    A rule defines :meth:`prune` and :meth:`place`, and its ``name``, the
    key of :data:`REGROWTH_RULES`; attributes named in ``_transient`` live
    for one evolution.
    """

    name = None
    _transient = ()

    def prepare(self, network, data, rng):
        """Look at the network before an evolution (nothing to see by
        default). ``data`` is the training ``(X, y, sample_weight)``."""
        return None  # a hook, not a duty: random regrowth needs no look

    @abstractmethod
    def prune(self, layer_index, layer, zeta):
        """Remove connections of ``layer``; return how many."""

    def after_prune(self, network, budgets):
        """Called once every layer is pruned, before any regrows; returns
        the per-layer budgets (the rule may move connections between layers,
        never change their total; unchanged by default)."""
        return budgets

    @abstractmethod
    def place(self, layer_index, layer, n_new, rng):
        """Sorted keys of at most ``n_new`` empty positions of ``layer`` to
        regrow (fewer only when the layer has fewer free)."""

    def finish(self):
        """Called at the end of an evolution: drop what only it needed (the
        training data above all, which a fitted model must not keep)."""
        for name in self._transient:
            setattr(self, name, None)


class RandomRegrowth(RegrowthRule):
    """SET's rule: prune by magnitude, regrow at uniformly random empty
    positions."""

    name = "random"

    def prune(self, layer_index, layer, zeta):
        return prune_weakest(layer, zeta)

    def place(self, layer_index, layer, n_new, rng):
        return layer.sample_free(n_new, rng)


class ConnectedRegrowth(RegrowthRule):
    """Keep the connection budget on input-to-output paths.

    Pruning first removes every connection on no input-to-output path (it
    carries no signal to the loss, gets no gradient, and would otherwise
    survive magnitude pruning with its initial weight), then ``zeta`` of the
    weakest of the rest.

    Regrowth places connections inside a *connected core*: in each hidden
    layer the live units (reachable from an input and reaching an output),
    topped up with randomly chosen other units to a width at which a random
    topology with this budget still percolates. That width is the widest
    fraction ``c`` of every hidden layer for which
    :func:`~sklearn_set._engine.connectivity.expected_connectivity` puts at least
    ``min_active`` of the connections on a path (at moderate sparsity
    ``c = 1``: the whole network). New connections of a layer join core
    units of the layer below (any input for the first layer) to core units
    of the layer above (any output for the last), at uniformly random free
    positions. Spending the same budget on fewer, well connected units is
    what a narrower network does at extreme sparsity: 169 connections reach
    0.89 accuracy on digits in 64-16-16-10 but chance level in a random
    64-256-256-10.

    Parameters
    ----------
    min_active : float in (0, 1]
        Expected share of connections on a path that sizes the core.
    """

    name = "connected"
    _transient = ("_dead", "_core", "_rng")

    def __init__(self, *, min_active=0.9):
        self.min_active = min_active
        self._widths = {}  # core widths by total budget: SET keeps one a fit

    def prepare(self, network, data, rng):
        n_inputs = network.layer_sizes[0]
        forward, backward = reachability(network.layers, n_inputs)
        self._dead = [~mask for mask in active_masks(network.layers, forward, backward)]
        self._rng = rng

    def prune(self, layer_index, layer, zeta):
        dead = self._dead[layer_index]
        self._dead[layer_index] = None
        n_dropped = layer.drop(~dead) if dead.any() else 0
        return n_dropped + prune_weakest(layer, zeta)

    def after_prune(self, network, budgets):
        forward, backward = reachability(network.layers, network.layer_sizes[0])
        sizes = network.layer_sizes
        total = int(network.n_connections.sum()) + int(np.sum(budgets))
        widths = self._widths.get(total)
        if widths is None:
            widths = self._widths[total] = core_widths(sizes, total, self.min_active)
        self._core = [forward[0]]
        for u in range(1, len(sizes) - 1):
            core = forward[u] & backward[u]
            outside = np.flatnonzero(~core)
            n_add = min(outside.shape[0], widths[u - 1] - int(np.count_nonzero(core)))
            if n_add > 0:
                core[self._rng.choice(outside, size=n_add, replace=False)] = True
            self._core.append(core)
        self._core.append(backward[-1])
        return budgets

    def place(self, layer_index, layer, n_new, rng):
        sources = self._core[layer_index]
        targets = self._core[layer_index + 1]
        n_new = int(min(n_new, layer.free_positions()))
        if n_new == 0:
            return np.empty(0, dtype=np.int64)
        # a core too small for the budget gets more target units (more
        # source units in the output layer), so no connection is lost
        last = layer_index == len(self._core) - 2
        return _sample_in_core(layer, sources, targets, n_new, rng,
                               widen="source" if last else "target")


def core_widths(sizes, n_connections, min_active, shrink=0.9):
    """Units per hidden layer of the widest core ``c * sizes`` (``c`` on a
    geometric grid from 1) whose random topology, with ``n_connections``
    split the Erdos-Renyi way over the core's layers, is expected to keep
    ``min_active`` of them on an input-to-output path; the most connected
    width tried if none does."""
    hidden = np.asarray(sizes[1:-1], dtype=np.float64)
    best, best_active = hidden.astype(np.int64), -1.0
    scale = 1.0
    while True:
        widths = np.maximum(1, np.round(scale * hidden)).astype(np.int64)
        core = [sizes[0], *widths, sizes[-1]]
        shapes = list(zip(core[:-1], core[1:]))
        capacity = sum(a * b for a, b in shapes)
        if capacity < n_connections:  # narrower cores cannot hold the budget
            break
        try:
            counts, _ = erdos_renyi_allocation(shapes, 1 - n_connections / capacity)
        except ValueError:  # a layer of the core would get no connection
            break
        active = expected_connectivity(core, counts)["active_fraction"]
        if active > best_active:
            best, best_active = widths, active
        if active >= min_active or widths.max() == 1:
            break
        scale *= shrink
    return best


def _taken_between(layer, sources, targets):
    """Connections of ``layer`` from ``sources`` to ``targets`` as sorted
    keys of the compact grid (target rank * n_sources + source rank), and
    the grid's size. Memory O(those connections)."""
    src_rank = np.where(sources, np.cumsum(sources) - 1, -1)
    tgt_rank = np.where(targets, np.cumsum(targets) - 1, -1)
    taken = topology_kernels.keys_between(layer.indptr, layer.indices, src_rank, tgt_rank)
    return taken, int(np.count_nonzero(sources)) * int(np.count_nonzero(targets))


def _sample_in_core(layer, sources, targets, n_new, rng, *, widen):
    """``n_new`` keys drawn uniformly among the empty positions from
    ``sources`` to ``targets``, sorted. When that grid has fewer than
    ``2 * n_new`` empty positions, random units are first added to the
    ``widen`` side ("source" or "target") until it has (or is the whole
    layer)."""
    taken = None
    if not (sources.all() and targets.all()):
        taken, size = _taken_between(layer, sources, targets)
        shortfall = 2 * n_new - (size - taken.shape[0])
        if shortfall > 0:
            grown, other = (sources, targets) if widen == "source" else (targets, sources)
            grown = grown.copy()
            outside = np.flatnonzero(~grown)
            n_add = min(outside.shape[0],
                        math.ceil(shortfall / max(int(np.count_nonzero(other)), 1)))
            grown[rng.permutation(outside)[:n_add]] = True
            sources, targets = (grown, targets) if widen == "source" else (sources, grown)
            taken = None  # the grid changed
    if sources.all() and targets.all():  # the whole layer: no grid needed
        return layer.sample_free(n_new, rng)
    if taken is None:
        taken, size = _taken_between(layer, sources, targets)
    n_new = min(n_new, size - taken.shape[0])
    compact = sample_free_keys(taken, size, n_new, rng)
    src_ids = np.flatnonzero(sources)
    tgt_ids = np.flatnonzero(targets)
    n_src = src_ids.shape[0]
    # ranks are increasing in unit ids, so the keys come out sorted
    return tgt_ids[compact // n_src].astype(np.int64) * layer.n_in + src_ids[compact % n_src]


class GradientRegrowth(RegrowthRule):
    """RigL-style regrowth (Evci et al., 2020): magnitude pruning, then new
    connections where the loss gradient of an empty position is largest.

    After pruning, the network's activations and deltas are computed on
    ``n_samples`` training samples drawn at random (no weight changes; fewer
    when holding them for every unit would exceed ``max_signal_bytes``). The
    gradient of the absent connection ``i -> j`` is the dot product of input
    unit ``i``'s activations with output unit ``j``'s deltas. It is scored
    block by block of output units, each block at most ``block_positions``
    positions, so memory stays O(connections + one block). Layers with more
    than ``max_positions`` positions score a uniform sample of that many
    empty positions instead of all (time O(max_positions x n_samples)).
    """

    name = "gradient"
    _transient = ("_signals", "_data", "_rng")

    def __init__(self, *, n_samples=256, block_positions=2**20, max_positions=2**24,
                 max_signal_bytes=256 * 2**20):
        self.n_samples = n_samples
        self.block_positions = block_positions
        self.max_positions = max_positions
        self.max_signal_bytes = max_signal_bytes

    def prepare(self, network, data, rng):
        self._data = data
        self._rng = rng
        self._signals = None

    def prune(self, layer_index, layer, zeta):
        return prune_weakest(layer, zeta)

    def after_prune(self, network, budgets):
        if self._data is None:
            raise ValueError('regrowth="gradient" needs the training data to evolve')
        X, y, sample_weight = self._data
        # activations, pre-activations and deltas of every unit are held for
        # the samples: fewer samples for very wide networks
        per_sample = 3 * sum(network.layer_sizes) * network.dtype.itemsize
        n = min(self.n_samples, X.shape[0], max(8, self.max_signal_bytes // per_sample))
        rows = np.sort(self._rng.choice(X.shape[0], size=n, replace=False))
        self._signals = network.activations_and_deltas(X, y, sample_weight, rows)
        return budgets

    def place(self, layer_index, layer, n_new, rng):
        n_new = int(min(n_new, layer.free_positions()))
        activations, deltas = self._signals
        a_in = activations[layer_index]
        d_out = deltas[layer_index]
        if n_new == 0:
            return np.empty(0, dtype=np.int64)
        if layer.size <= self.max_positions:
            return _top_gradient_blockwise(layer, a_in, d_out, n_new, self.block_positions)
        candidates = layer.sample_free(min(self.max_positions, layer.free_positions()), rng)
        scores = np.empty(candidates.shape[0], dtype=np.float64)
        topology_kernels.gradient_at_keys(candidates, layer.n_in, a_in, d_out, scores)
        return np.sort(candidates[_top(scores, n_new)])


def _top(scores, n):
    """Indices of the ``n`` largest scores, ties at the cut broken by
    position (lowest first) so the choice is deterministic; in no
    particular order. O(len(scores))."""
    if n >= scores.shape[0]:
        return np.arange(scores.shape[0])
    cut = np.partition(scores, scores.shape[0] - n)[scores.shape[0] - n]
    above = np.flatnonzero(scores > cut)
    at_cut = np.flatnonzero(scores == cut)[: n - above.shape[0]]
    return np.concatenate([above, at_cut])


def _top_gradient_blockwise(layer, a_in, d_out, n_new, block_positions):
    """Keys of the ``n_new`` empty positions of ``layer`` with the largest
    absolute gradient, scoring blocks of output units in turn and keeping a
    running best ``n_new``."""
    rows_per_block = max(1, block_positions // layer.n_in)
    best_keys = np.empty(0, dtype=np.int64)
    best_scores = np.empty(0, dtype=np.float64)
    block = np.empty(rows_per_block * layer.n_in, dtype=np.float64)
    for j0 in range(0, layer.n_out, rows_per_block):
        j1 = min(layer.n_out, j0 + rows_per_block)
        scores = block[: (j1 - j0) * layer.n_in]
        # absent positions get |gradient|, present ones -1 (never chosen)
        topology_kernels.gradient_block(layer.indptr, layer.indices, a_in, d_out, j0, j1, scores)
        pick = _top(scores, n_new)
        pick = pick[scores[pick] >= 0]
        keys = np.concatenate([best_keys, pick.astype(np.int64) + j0 * layer.n_in])
        merged = np.concatenate([best_scores, scores[pick]])
        # keys ascend across blocks, so ties keep the lowest keys
        keep = _top(merged, n_new)
        best_keys, best_scores = keys[keep], merged[keep]
    return np.sort(best_keys)


REGROWTH_RULES = registry(REGROWTH_RULE_NAMES, {rule.name: rule for rule in (
    RandomRegrowth, ConnectedRegrowth, GradientRegrowth)})


def make_regrowth(name):
    """A fresh rule object for the name ``"random"``, ``"connected"`` or
    ``"gradient"``."""
    try:
        return REGROWTH_RULES[name]()
    except KeyError:
        raise ValueError(f"unknown regrowth rule {name!r}; choose one of "
                         f"{sorted(REGROWTH_RULES)}") from None
