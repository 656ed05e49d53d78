"""Storage and topology of truly sparse layers.

A :class:`SparseLayer` keeps its connections as flat arrays grouped by output
neuron (CSR by output, input ids sorted within each output), so the memory of
a layer is O(connections): no dense ``n_in x n_out`` array is ever built, in
allocation, pruning or regrowth. A connection is identified by the int64 key
``output * n_in + input``; CSR order is ascending key order.

Nothing here knows about scikit-learn.
"""

import math

import numpy as np

from ._kernels import input_strength, transpose_order

# Regrown connections start uniform in +-(NEW_WEIGHT_SCALE * init_bound), where
# init_bound is the layer's Glorot bound at initialisation: small enough not to
# disturb the trained function, large enough that the gradient decides within
# an epoch whether the connection survives the next pruning.
NEW_WEIGHT_SCALE = 0.1


def bytes_per_connection(dtype):
    """Memory a connection costs: its input id (int32), weight and velocity
    (dtype), and its by-input permutation entry (int64 position, int32 row)."""
    return 4 + 2 * np.dtype(dtype).itemsize + 8 + 4


def erdos_renyi_allocation(layer_shapes, sparsity):
    """Split a global sparsity over layers the Erdos-Renyi way.

    Layer ``l`` of shape ``(n_in, n_out)`` gets density
    ``min(1, eps * (n_in + n_out) / (n_in * n_out))`` with one ``eps`` chosen
    so that the total number of connections is
    ``round((1 - sparsity) * sum(n_in * n_out))``. Rounding per layer is done
    by largest remainder so the counts add up exactly.

    Parameters
    ----------
    layer_shapes : list of (int, int)
    sparsity : float in [0, 1)

    Returns
    -------
    counts : ndarray of int64, connections per layer
    epsilon : float, the Erdos-Renyi epsilon found (``inf`` if all dense)

    Raises
    ------
    ValueError
        If a layer would receive no connection.
    """
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
            f"connection: the whole network would have {target} connections. "
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
    n_free = n_total - taken.shape[0]
    if n_new > n_free:
        raise ValueError(f"cannot place {n_new} connections in {n_free} free positions")
    if n_new == 0:
        return np.empty(0, dtype=np.int64)
    if n_total <= 4 * (taken.shape[0] + n_new):
        # Dense enough to enumerate the free positions: O(n_total) = O(nnz).
        free_mask = np.ones(n_total, dtype=bool)
        free_mask[taken] = False
        free = np.flatnonzero(free_mask)
        chosen = rng.choice(free.shape[0], size=n_new, replace=False)
        return np.sort(free[chosen]).astype(np.int64)
    # Sparse: rejection sampling. Over half the positions are free here, so
    # each round keeps most candidates.
    found = np.empty(0, dtype=np.int64)
    while found.shape[0] < n_new:
        missing = n_new - found.shape[0]
        n_draw = int(missing * 1.25 * n_total / n_free) + 16
        cand = np.unique(rng.integers(0, n_total, size=n_draw, dtype=np.int64))
        if taken.shape[0]:
            pos = np.searchsorted(taken, cand)
            pos[pos == taken.shape[0]] = 0
            cand = cand[taken[pos] != cand]
        found = np.union1d(found, cand)
    if found.shape[0] > n_new:
        # a uniform subset of a uniform set is uniform
        found = np.sort(rng.choice(found, size=n_new, replace=False))
    return found


def glorot_bound(n_in, n_out, n_connections, activation_code):
    """Glorot-uniform bound with the layer's *effective* fan-in and fan-out.

    A sparse layer of density d behaves like a dense layer with fan-in
    ``d * n_in``; using the nominal fan-in would make initial weights far too
    small. The factor is 2 for logistic units and 6 otherwise, as in
    scikit-learn's MLP.
    """
    from ._kernels import LOGISTIC

    fan_in = n_connections / n_out
    fan_out = n_connections / n_in
    factor = 2.0 if activation_code == LOGISTIC else 6.0
    return math.sqrt(factor / (fan_in + fan_out))


class SparseLayer:
    """One truly sparse fully connectable layer ``n_in -> n_out``.

    Attributes
    ----------
    indptr : int64 (n_out + 1,)
    indices : int32 (nnz,), input id of each connection
    values, velocity : dtype (nnz,)
    bias, bias_velocity : dtype (n_out,)
    t_indptr, t_order, t_rows : by-input view of the connections, rebuilt by
        :meth:`refresh_transpose` whenever the topology changes.
    init_bound : float, the Glorot bound used at initialisation.
    """

    def __init__(self, n_in, n_out, indptr, indices, values, velocity, bias,
                 bias_velocity, init_bound):
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.indptr = indptr
        self.indices = indices
        self.values = values
        self.velocity = velocity
        self.bias = bias
        self.bias_velocity = bias_velocity
        self.init_bound = float(init_bound)
        self.refresh_transpose()

    @classmethod
    def random(cls, n_in, n_out, n_connections, rng, *, activation_code, dtype):
        """Uniformly random positions, Glorot-uniform weights, zero velocity."""
        keys = sample_free_keys(np.empty(0, dtype=np.int64), n_in * n_out,
                                int(n_connections), rng)
        bound = glorot_bound(n_in, n_out, n_connections, activation_code)
        values = _uniform(rng, keys.shape[0], bound, dtype)
        bias = np.zeros(n_out, dtype=dtype)
        indptr, indices = _keys_to_csr(keys, n_in, n_out)
        return cls(n_in, n_out, indptr, indices, values,
                   np.zeros_like(values), bias, np.zeros_like(bias), bound)

    @property
    def n_connections(self):
        return int(self.indices.shape[0])

    @property
    def size(self):
        return self.n_in * self.n_out

    def keys(self):
        rows = np.repeat(np.arange(self.n_out, dtype=np.int64), np.diff(self.indptr))
        return rows * self.n_in + self.indices

    def refresh_transpose(self):
        self.t_indptr, self.t_order, self.t_rows = transpose_order(
            self.indptr, self.indices, self.n_in)

    def prune(self, zeta):
        """Remove the fraction ``zeta`` of non-negative weights closest to zero
        and the fraction ``zeta`` of negative weights closest to zero.

        Returns the number of connections removed. The by-input view is stale
        until :meth:`regrow` (or :meth:`refresh_transpose`) runs.
        """
        values = self.values
        positive = np.flatnonzero(values >= 0)
        negative = np.flatnonzero(values < 0)
        n_pos = int(zeta * positive.shape[0])
        n_neg = int(zeta * negative.shape[0])
        if n_pos + n_neg == 0:
            return 0
        keep = np.ones(values.shape[0], dtype=bool)
        if n_pos:
            part = np.argpartition(values[positive], n_pos - 1)[:n_pos]
            keep[positive[part]] = False
        if n_neg:
            part = np.argpartition(-values[negative], n_neg - 1)[:n_neg]
            keep[negative[part]] = False
        rows = np.repeat(np.arange(self.n_out), np.diff(self.indptr))
        self.indptr = np.zeros(self.n_out + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[keep], minlength=self.n_out), out=self.indptr[1:])
        self.indices = self.indices[keep]
        self.values = self.values[keep]
        self.velocity = self.velocity[keep]
        return n_pos + n_neg

    def regrow(self, n_new, rng):
        """Add ``n_new`` connections at uniformly random empty positions.

        New weights are uniform in +-(NEW_WEIGHT_SCALE * init_bound), their
        velocity zero; existing connections keep weight and velocity.
        Returns the number actually added (capped by the free positions).
        """
        taken = self.keys()
        n_new = int(min(n_new, self.size - taken.shape[0]))
        new_keys = sample_free_keys(taken, self.size, n_new, rng)
        if n_new:
            at = np.searchsorted(taken, new_keys)
            new_values = _uniform(rng, n_new, NEW_WEIGHT_SCALE * self.init_bound,
                                  self.values.dtype)
            keys = np.insert(taken, at, new_keys)
            self.values = np.insert(self.values, at, new_values)
            self.velocity = np.insert(self.velocity, at, 0)
            self.indptr, self.indices = _keys_to_csr(keys, self.n_in, self.n_out)
        self.refresh_transpose()
        return n_new

    def input_strength(self):
        return input_strength(self.indices, self.values, self.n_in)

    def copy(self):
        return SparseLayer(self.n_in, self.n_out, self.indptr.copy(),
                           self.indices.copy(), self.values.copy(),
                           self.velocity.copy(), self.bias.copy(),
                           self.bias_velocity.copy(), self.init_bound)


def _keys_to_csr(keys, n_in, n_out):
    rows = keys // n_in
    indptr = np.zeros(n_out + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_out), out=indptr[1:])
    return indptr, (keys - rows * n_in).astype(np.int32)


def _uniform(rng, n, bound, dtype):
    out = rng.random(n, dtype=np.float64) * (2 * bound) - bound
    return out.astype(dtype)
