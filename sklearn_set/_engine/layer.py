"""Storage and topology of truly sparse layers.

A :class:`SparseLayer` keeps its connections as flat arrays grouped by output
neuron (CSR by output, input ids sorted within each output), so the memory of
a layer is O(connections): no dense ``n_in x n_out`` array is ever built, in
allocation, pruning or regrowth. A connection is identified by the int64 key
``output * n_in + input``; CSR order is ascending key order.

The layer offers storage operations (drop connections by a mask or by a band
of weights around zero, sample free positions, insert connections); which
connections go and where new ones grow is decided in ``_evolution``.
Nothing here knows about scikit-learn.
"""

import math

import numpy as np

from ._kernels import topology as topology_kernels
from ._kernels.layout import index_dtype, transpose_order
from ._kernels.topology import input_strength
from .activations import FUNCTIONS

# Layers of up to this many connections store each one's by-input position
# (4 bytes, 64 MiB at most) for the step; larger layers count the positions,
# which takes the step about three times as long (see step_connections).
STORED_POSITIONS_MAX = 2**24


def bytes_per_connection(dtype, n_connections=0, solver="sgd"):
    """Memory a connection costs in training: its input id (int32), weight
    and velocity (dtype; Adam's first moment), Adam's second moment (dtype,
    only with ``solver="adam"``), and its by-input entries (position in
    storage order, and by-input position in layers of up to
    ``STORED_POSITIONS_MAX`` connections: int32, or int64 in a layer of
    2**31 connections or more; output row: int32, uint16 in layers of up to
    2**16 outputs; gradient scratch: dtype).
    An upper bound: only layers with a hidden input have by-input entries,
    and the network shares one gradient scratch between them."""
    position = np.dtype(index_dtype(n_connections)).itemsize
    positions = 2 if n_connections <= STORED_POSITIONS_MAX else 1
    floats = 4 if solver == "adam" else 3
    return 4 + floats * np.dtype(dtype).itemsize + positions * position + 4


def erdos_renyi_allocation(layer_shapes, sparsity=None, *, epsilon=None):
    """Split connections over layers the Erdos-Renyi way.

    Layer ``l`` of shape ``(n_in, n_out)`` gets density
    ``min(1, eps * (n_in + n_out) / (n_in * n_out))``. Given ``sparsity``,
    one ``eps`` is chosen so that the total number of connections is
    ``round((1 - sparsity) * sum(n_in * n_out))``, rounding per layer by
    largest remainder so the counts add up exactly. Given ``epsilon``, each
    layer gets ``eps = epsilon`` on its own, rounded up: on average every
    unit then receives at least ``epsilon`` input connections, and a layer
    too small for that is dense.

    Parameters
    ----------
    layer_shapes : list of (int, int)
    sparsity : float in [0, 1), default=None
    epsilon : float > 0, default=None
        Exactly one of ``sparsity`` and ``epsilon`` is given.

    Returns
    -------
    counts : ndarray of int64, connections per layer
    epsilon : float, the Erdos-Renyi epsilon (``inf`` if all dense)

    Raises
    ------
    ValueError
        If a layer would receive no connection.
    """
    if (sparsity is None) == (epsilon is None):
        raise ValueError("give exactly one of sparsity and epsilon")
    if epsilon is not None:
        sizes = np.array([n_in * n_out for n_in, n_out in layer_shapes], dtype=np.int64)
        perimeters = np.array([n_in + n_out for n_in, n_out in layer_shapes], dtype=np.float64)
        counts = np.minimum(sizes, np.ceil(epsilon * perimeters)).astype(np.int64)
        return counts, (math.inf if np.array_equal(counts, sizes) else float(epsilon))
    sizes = np.array([n_in * n_out for n_in, n_out in layer_shapes], dtype=np.float64)
    perimeters = np.array([n_in + n_out for n_in, n_out in layer_shapes], dtype=np.float64)
    target = int(round((1.0 - sparsity) * sizes.sum()))
    # Each layer saturates (becomes dense) at eps = size / perimeter. Between
    # saturation points the total is linear in eps: walk them in order.
    saturation = sizes / perimeters
    order = np.argsort(saturation)
    dense_total = 0.0
    free_perimeter = perimeters.sum()
    epsilon = math.inf
    for idx in order:
        eps_here = saturation[idx]
        if dense_total + eps_here * free_perimeter >= target:
            epsilon = (target - dense_total) / free_perimeter
            break
        dense_total += sizes[idx]
        free_perimeter -= perimeters[idx]
    if math.isinf(epsilon):
        exact = sizes.copy()
    else:
        exact = np.minimum(sizes, epsilon * perimeters)
    counts = np.floor(exact).astype(np.int64)
    shortfall = target - int(counts.sum())
    if shortfall > 0:
        remainder = exact - counts
        room = counts < sizes
        candidates = np.flatnonzero(room)
        best = candidates[np.argsort(-remainder[candidates], kind="stable")]
        counts[best[:shortfall]] += 1
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        l = int(empty[0])
        raise ValueError(
            f"sparsity={sparsity!r} leaves layer {l} "
            f"(shape {layer_shapes[l][0]}x{layer_shapes[l][1]}) with no "
            f"connection: the whole network would have {target} "
            f"connection{'' if target == 1 else 's'}. "
            "Lower the sparsity or widen the layers."
        )
    return counts, float(epsilon)


def sample_free_keys(taken, n_total, n_new, rng):
    """Draw ``n_new`` distinct keys uniformly from ``[0, n_total)`` minus ``taken``.

    ``taken`` must be sorted and unique. Cost O((len(taken) + n_new) log) in
    time and O(len(taken) + n_new) in memory, whatever ``n_total`` is: keys are
    enumerated only when the free set is small compared to the taken one.

    Returns the keys sorted.
    """
    # ``taken`` as the one row of a layer with ``n_total`` inputs: the
    # layer kernels then serve both
    indptr = np.array([0, taken.shape[0]], dtype=np.int64)
    return _sample_free(
        n_total, taken.shape[0], n_new, rng,
        lambda: topology_kernels.free_keys_csr(indptr, taken, n_total),
        lambda candidates: topology_kernels.free_candidates_csr(candidates, indptr, taken, n_total))


def _sample_free(n_total, n_taken, n_new, rng, enumerate_free, drop_taken):
    """Uniform sample of ``n_new`` distinct free keys, sorted.

    ``enumerate_free()`` lists every free key; ``drop_taken(c)`` keeps the
    distinct free keys of a sorted candidate array.
    """
    n_free = n_total - n_taken
    if n_new > n_free:
        raise ValueError(f"cannot place {n_new} connections in {n_free} free positions")
    if n_new == 0:
        return np.empty(0, dtype=np.int64)
    if n_total <= 4 * (n_taken + n_new):
        # Dense enough to enumerate the free positions: O(n_total) = O(nnz).
        free = enumerate_free()
        chosen = rng.choice(free.shape[0], size=n_new, replace=False)
        return np.sort(free[chosen])
    # Sparse: rejection sampling. Over half the positions are free here. Each
    # round draws enough that it very likely suffices (the mean plus six
    # standard deviations of the binomial number of hits), so the surplus to
    # discard stays small.
    found = np.empty(0, dtype=np.int64)
    p_free = n_free / n_total
    while found.shape[0] < n_new:
        missing = n_new - found.shape[0]
        n_draw = int((missing + 6 * math.sqrt(missing) + 16) / p_free)
        cand = rng.integers(0, n_total, size=n_draw, dtype=np.int64)
        cand.sort()
        cand = drop_taken(cand)
        found = cand if found.shape[0] == 0 else topology_kernels.union_sorted(found, cand)
        del cand
    surplus = found.shape[0] - n_new
    if surplus:
        # a uniform subset of a uniform set is uniform
        keep = np.ones(found.shape[0], dtype=bool)
        keep[rng.choice(found.shape[0], size=surplus, replace=False)] = False
        found = found[keep]
    return found


def glorot_bound(n_in, n_out, n_connections, activation_code):
    """Glorot-uniform bound with the layer's *effective* fan-in and fan-out.

    A sparse layer of density d behaves like a dense layer with fan-in
    ``d * n_in``; using the nominal fan-in would make initial weights far too
    small. The factor is the function's ``glorot_factor`` (2 for logistic
    units and 6 otherwise, as in scikit-learn's MLP).
    """
    fan_in = n_connections / n_out
    fan_out = n_connections / n_in
    factor = FUNCTIONS[activation_code].glorot_factor
    return math.sqrt(factor / (fan_in + fan_out))


class SparseLayer:
    """One truly sparse fully connectable layer ``n_in -> n_out``.

    Attributes
    ----------
    indptr : int64 (n_out + 1,)
    indices : int32 (nnz,), input id of each connection
    values, velocity : dtype (nnz,)
        Weights, and their SGD momentum or Adam first moment (empty for SGD
        without momentum, see :meth:`use_optimizer_state`).
    bias, bias_velocity : dtype (n_out,)
    second_moment, bias_second_moment : dtype (nnz,) and (n_out,)
        Adam's second moments of the weights and biases; empty arrays for
        SGD.
    t_indptr, t_order, t_rows, t_start, t_position : by-input view of the
        connections (see :func:`~sklearn_set._engine._kernels.layout.transpose_order`;
        positions stored in layers of up to ``STORED_POSITIONS_MAX``
        connections, counted from ``t_start`` in larger ones), with
        ``t_fill``, scratch of the shape of ``t_start`` for
        :func:`~sklearn_set._engine._kernels.train.step_connections`; built on first
        use and dropped at the end of each epoch. Only layers with a hidden
        input need them (the backward pass of the first layer walks by
        output), so the first layer never pays their 6-12 bytes per
        connection; neither do copies (snapshots) nor pickles until they
        train again.
    init_bound : float, the Glorot bound used at initialisation.
    last_regrown : int64 (n,), sorted keys of the connections the last
        :meth:`insert` added: what the next pruning spares of them is the
        turnover statistic.
    """

    def __init__(self, n_in, n_out, indptr, indices, values, velocity, bias,
                 bias_velocity, init_bound, second_moment=None, bias_second_moment=None):
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.indptr = indptr
        self.indices = indices
        self.values = values
        self.velocity = velocity
        self.bias = bias
        self.bias_velocity = bias_velocity
        self.init_bound = float(init_bound)
        empty = np.empty(0, dtype=values.dtype)
        self.second_moment = empty if second_moment is None else second_moment
        self.bias_second_moment = empty if bias_second_moment is None else bias_second_moment
        self.last_regrown = np.empty(0, dtype=np.int64)
        self._by_input = None

    # the arrays as they were before the last drop, when they are room for
    # an insert (see insert); not pickled
    _before_drop = None

    t_indptr = property(lambda self: self._transpose()[0])
    t_order = property(lambda self: self._transpose()[1])
    t_rows = property(lambda self: self._transpose()[2])
    t_start = property(lambda self: self._transpose()[3])
    t_position = property(lambda self: self._transpose()[4])
    t_fill = property(lambda self: self._transpose()[5])

    def _transpose(self):
        if self._by_input is None:
            view = transpose_order(self.indptr, self.indices, self.n_in,
                                   store_positions=self.n_connections <= STORED_POSITIONS_MAX)
            self._by_input = view + (np.empty_like(view[3]),)
        return self._by_input

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_by_input"] = None  # rebuilt on demand: smaller pickles
        state["_before_drop"] = None
        return state

    @classmethod
    def random(cls, n_in, n_out, n_connections, rng, *, activation_code, dtype):
        """Uniformly random positions, Glorot-uniform weights, zero velocity."""
        keys = sample_free_keys(np.empty(0, dtype=np.int64), n_in * n_out,
                                int(n_connections), rng)
        bound = glorot_bound(n_in, n_out, n_connections, activation_code)
        values = uniform_weights(rng, keys.shape[0], bound, dtype)
        bias = np.zeros(n_out, dtype=dtype)
        indptr = np.empty(n_out + 1, dtype=np.int64)
        indices = np.empty(keys.shape[0], dtype=np.int32)
        topology_kernels.keys_to_csr(keys, n_in, indptr, indices)
        del keys
        return cls(n_in, n_out, indptr, indices, values,
                   np.zeros_like(values), bias, np.zeros_like(bias), bound)

    def use_optimizer_state(self, *, velocity, second_moments):
        """Keep only the state the solver uses: velocities (SGD with
        momentum; Adam's first moments) when ``velocity``, second moments
        (Adam) when ``second_moments``; arrays not needed become empty, and
        needed ones that were missing are allocated as zeros. Any change
        also zeroes the velocities: another solver's state means nothing to
        this one. The biases' state follows the weights'."""
        has_velocity = self.bias_velocity.shape[0] > 0
        has_second = self.bias_second_moment.shape[0] > 0
        if (velocity, second_moments) == (has_velocity, has_second):
            return
        self._before_drop = None
        if velocity:
            self.velocity = np.zeros_like(self.values)
            self.bias_velocity = np.zeros_like(self.bias)
        else:
            self.velocity = self.values[:0].copy()
            self.bias_velocity = self.bias[:0].copy()
        if second_moments:
            self.second_moment = np.zeros_like(self.values)
            self.bias_second_moment = np.zeros_like(self.bias)
        else:
            self.second_moment = self.values[:0].copy()
            self.bias_second_moment = self.bias[:0].copy()

    @property
    def n_connections(self):
        return int(self.indices.shape[0])

    @property
    def size(self):
        return self.n_in * self.n_out

    def refresh_transpose(self):
        """Drop the by-input view (rebuilt on next use): call it after
        changing ``indptr``/``indices`` by hand."""
        self._by_input = None

    def drop(self, keep):
        """Remove the connections where the bool array ``keep`` (one entry per
        connection, storage order) is False; returns how many. O(nnz)."""
        n_keep = topology_kernels.drop_unkept(self.indptr, self.indices, self.values,
                                              self.velocity, self.second_moment, keep)
        return self._shrink_to(n_keep)

    def drop_near_zero(self, pos_threshold, pos_ties, neg_threshold, neg_ties):
        """Remove the weights ``0 <= w < pos_threshold`` and the first
        ``pos_ties`` (storage order) equal to ``pos_threshold``, and the weights
        ``neg_threshold < w < 0`` and the first ``neg_ties`` equal to
        ``neg_threshold``; returns how many. O(nnz), one bool per connection."""
        dt = self.values.dtype.type
        return self.drop(topology_kernels.near_zero_keep(
            self.values, dt(pos_threshold), pos_ties, dt(neg_threshold), neg_ties))

    def _shrink_to(self, n_keep):
        """The kernels moved the ``n_keep`` survivors to the front, in place
        (the arrays are the layer's own: copies never share them); keep
        prefixes for now: :meth:`insert` writes fresh arrays or compacts."""
        n_dropped = self.n_connections - n_keep
        if n_dropped:
            self._by_input = None
            if self._before_drop is None:
                self._before_drop = (self.indices, self.values, self.velocity,
                                     self.second_moment)
            self.indices = self.indices[:n_keep]
            self.values = self.values[:n_keep]
            self.velocity = self.velocity[:n_keep]
            self.second_moment = self.second_moment[:n_keep]
        return n_dropped

    def free_positions(self):
        return self.size - self.n_connections

    def sample_free(self, n_new, rng):
        """``n_new`` distinct keys drawn uniformly from the empty positions
        (capped by their number), sorted. Time O((nnz + n_new) log), memory
        O(nnz + n_new), no key per existing connection."""
        n_new = int(max(0, min(n_new, self.free_positions())))
        indptr, indices, n_in = self.indptr, self.indices, self.n_in
        return _sample_free(
            self.size, self.n_connections, n_new, rng,
            lambda: topology_kernels.free_keys_csr(indptr, indices, n_in),
            lambda candidates: topology_kernels.free_candidates_csr(candidates, indptr,
                                                                    indices, n_in))

    def insert(self, new_keys, new_values):
        """Add connections at the empty positions ``new_keys`` (sorted,
        distinct int64 keys) with the weights ``new_values``, their velocity
        (and Adam moments) zero; existing connections keep weight, velocity and
        moments. The keys are remembered as :attr:`last_regrown`. Returns the
        number added.

        When a drop left the arrays as prefixes of buffers with room for the
        result (SET regrows what it pruned), the merge runs in place, from the
        back: no second copy of the layer exists at any time."""
        n_new = int(new_keys.shape[0])
        # read-only: copies of the layer share it (see copy)
        self.last_regrown = new_keys.view()
        self.last_regrown.flags.writeable = False
        if n_new:
            total = self.n_connections + n_new
            buffers = self._room_for(total)
            if buffers is not None:
                topology_kernels.insert_connections_in_place(
                    self.indptr, *buffers, self.n_connections, new_keys, new_values,
                    self.n_in)
                (self.indices, self.values, self.velocity,
                 self.second_moment) = (b[:total] for b in buffers)
            else:
                # outputs allocated by NumPy (huge pages for large arrays,
                # which the kernels' random accesses need); the old arrays go
                # after
                out = (np.empty(self.n_out + 1, dtype=np.int64),
                       np.empty(total, dtype=self.indices.dtype),
                       np.empty(total, dtype=self.values.dtype),
                       np.empty(total if self.bias_velocity.shape[0] else 0,
                                dtype=self.velocity.dtype),
                       np.empty(total if self.second_moment.shape[0] else 0,
                                dtype=self.velocity.dtype))
                topology_kernels.insert_connections(
                    self.indptr, self.indices, self.values, self.velocity,
                    self.second_moment, new_keys, new_values, self.n_in, *out)
                (self.indptr, self.indices, self.values, self.velocity,
                 self.second_moment) = out
        else:
            self.compact()
        self.refresh_transpose()
        return n_new

    def _room_for(self, total):
        """The arrays the layer had before its last drop (its own: drops
        compact them in place), when they hold at least ``total``
        connections, else None. Forgotten by the call."""
        buffers, self._before_drop = self._before_drop, None
        if buffers is None or buffers[0].shape[0] < total:
            return None
        return buffers

    def compact(self):
        """Give arrays left as prefixes by a drop their own, exact memory."""
        self._before_drop = None
        if self.indices.base is not None:
            self.indices = self.indices.copy()
            self.values = self.values.copy()
            self.velocity = self.velocity.copy()
            self.second_moment = self.second_moment.copy()

    def surviving_regrown(self):
        """How many connections of the last regrowth are still present."""
        keys = self.last_regrown
        if keys.shape[0] == 0:
            return 0
        gone = topology_kernels.free_candidates_csr(keys, self.indptr, self.indices, self.n_in)
        return int(keys.shape[0] - gone.shape[0])

    def input_strength(self):
        return input_strength(self.indices, self.values, self.n_in)

    # the arrays that hold the layer's state, in the constructor's order
    STATE_ARRAYS = ("indptr", "indices", "values", "velocity", "bias", "bias_velocity",
                    "second_moment", "bias_second_moment")

    @property
    def state_nbytes(self):
        """Bytes of the arrays a copy of the layer holds."""
        return sum(getattr(self, name).nbytes for name in self.STATE_ARRAYS)

    def copy(self):
        twin = SparseLayer(self.n_in, self.n_out, self.indptr.copy(),
                           self.indices.copy(), self.values.copy(),
                           self.velocity.copy(), self.bias.copy(),
                           self.bias_velocity.copy(), self.init_bound,
                           self.second_moment.copy(), self.bias_second_moment.copy())
        # never changed in place (an insert replaces it): shared, not copied,
        # which spares a snapshot 8 bytes per regrown connection
        twin.last_regrown = self.last_regrown
        return twin


def uniform_weights(rng, n, bound, dtype):
    """``n`` weights drawn uniformly from ``[-bound, bound)``, as ``dtype``."""
    out = rng.random(n, dtype=np.float64) * (2 * bound) - bound
    return out.astype(dtype)
