"""Numba kernels that read or change a layer's topology.

Serial O(nnz) passes over the output-grouped (CSR by output) arrays of a
layer, run once an epoch at most: prune compaction, the filters and merges
of free positions that replace key arrays, ``np.unique`` and ``np.insert``
(see ``_topology.py``), and reachability. Pure functions over flat arrays;
nothing here knows about layers, estimators or scikit-learn.
"""

import numpy as np
from numba import njit, prange

from .train import _FASTMATH

# Keys: a connection (input i -> output j) of a layer with n_in inputs has key
# j * n_in + i (int64); output-grouped storage with sorted inputs is ascending
# key order.


@njit(cache=True)
def near_zero_keep(values, pos_threshold, pos_ties, neg_threshold, neg_ties):
    """Which connections a prune keeps (bool per connection, storage order).

    Removed: weights ``0 <= w < pos_threshold``, plus the first ``pos_ties``
    (in storage order) equal to ``pos_threshold``; weights
    ``neg_threshold < w < 0``, plus the first ``neg_ties`` equal to
    ``neg_threshold``. O(nnz); :func:`drop_unkept` then compacts.
    """
    keep = np.ones(values.shape[0], dtype=np.bool_)
    for k in range(values.shape[0]):
        w = values[k]
        if w >= 0:
            if w < pos_threshold:
                keep[k] = False
            elif w == pos_threshold and pos_ties > 0:
                pos_ties -= 1
                keep[k] = False
        elif w > neg_threshold:
            keep[k] = False
        elif w == neg_threshold and neg_ties > 0:
            neg_ties -= 1
            keep[k] = False
    return keep


@njit(cache=True)
def free_candidates_csr(candidates, indptr, indices, n_in):
    """Distinct ``candidates`` (sorted keys) that are not connections of the
    layer ``(indptr, indices)``; each is looked up by binary search in its
    output's sorted inputs. Returns them sorted."""
    out = np.empty(candidates.shape[0], dtype=np.int64)
    q = 0
    previous = -1
    for c in range(candidates.shape[0]):
        key = candidates[c]
        if key == previous:
            continue
        previous = key
        j = key // n_in
        i = key - j * n_in
        lo = indptr[j]
        hi = indptr[j + 1]
        while lo < hi:
            mid = (lo + hi) >> 1
            if indices[mid] < i:
                lo = mid + 1
            else:
                hi = mid
        if lo < indptr[j + 1] and indices[lo] == i:
            continue
        out[q] = key
        q += 1
    return out[:q].copy()


@njit(cache=True)
def union_sorted(a, b):
    """Union of two sorted arrays of distinct keys, sorted."""
    out = np.empty(a.shape[0] + b.shape[0], dtype=np.int64)
    p = 0
    q = 0
    n = 0
    while p < a.shape[0] and q < b.shape[0]:
        if a[p] < b[q]:
            out[n] = a[p]
            p += 1
        elif b[q] < a[p]:
            out[n] = b[q]
            q += 1
        else:
            out[n] = a[p]
            p += 1
            q += 1
        n += 1
    while p < a.shape[0]:
        out[n] = a[p]
        p += 1
        n += 1
    while q < b.shape[0]:
        out[n] = b[q]
        q += 1
        n += 1
    return out[:n].copy()


@njit(cache=True)
def free_keys_csr(indptr, indices, n_in):
    """Every key that is not a connection of the layer, sorted."""
    n_out = indptr.shape[0] - 1
    out = np.empty(n_out * n_in - indices.shape[0], dtype=np.int64)
    q = 0
    for j in range(n_out):
        base = j * n_in
        k = indptr[j]
        end = indptr[j + 1]
        for i in range(n_in):
            if k < end and indices[k] == i:
                k += 1
            else:
                out[q] = base + i
                q += 1
    return out


@njit(cache=True, inline="always")
def _copy_connection(k, q, indices, values, velocity, second, out_indices, out_values,
                     out_velocity, out_second):
    """Connection ``k`` (input, weight, velocity when ``velocity`` is not
    empty, Adam's second moment when ``second`` is not empty) to position
    ``q`` of the ``out_*`` arrays, which may be the same arrays (a move within them)."""
    out_indices[q] = indices[k]
    out_values[q] = values[k]
    if velocity.shape[0] > 0:
        out_velocity[q] = velocity[k]
    if second.shape[0] > 0:
        out_second[q] = second[k]


@njit(cache=True, inline="always")
def _new_connection(q, i, weight, indices, values, velocity, second):
    """A new connection from input ``i`` at position ``q``: weight
    ``weight``, zero velocity and second moment (where those are kept)."""
    indices[q] = i
    values[q] = weight
    if velocity.shape[0] > 0:
        velocity[q] = 0
    if second.shape[0] > 0:
        second[q] = 0


@njit(cache=True)
def insert_connections(indptr, indices, values, velocity, second, new_keys, new_values,
                       n_in, out_indptr, out_indices, out_values, out_velocity, out_second):
    """Merge new connections (sorted keys, none present) into the layer.

    Writes the merged layer to the ``out_*`` arrays (allocated by the caller,
    ``nnz + len(new_keys)`` long, so NumPy can back them with huge pages): new
    connections get ``new_values`` and zero velocity, existing ones keep
    theirs; so for ``second``, Adam's second moments (empty for SGD, and
    then ``out_second`` too). O(nnz + new).
    """
    n_out = indptr.shape[0] - 1
    q = 0
    c = 0
    out_indptr[0] = 0
    for j in range(n_out):
        k = indptr[j]
        end = indptr[j + 1]
        limit = (j + 1) * n_in
        while c < new_keys.shape[0] and new_keys[c] < limit:
            i = new_keys[c] - j * n_in
            while k < end and indices[k] < i:
                _copy_connection(k, q, indices, values, velocity, second, out_indices,
                                 out_values, out_velocity, out_second)
                q += 1
                k += 1
            _new_connection(q, i, new_values[c], out_indices, out_values, out_velocity,
                            out_second)
            q += 1
            c += 1
        while k < end:
            _copy_connection(k, q, indices, values, velocity, second, out_indices,
                             out_values, out_velocity, out_second)
            q += 1
            k += 1
        out_indptr[j + 1] = q


@njit(cache=True)
def insert_connections_in_place(indptr, indices, values, velocity, second, n_old, new_keys,
                                new_values, n_in):
    """:func:`insert_connections` within the layer's own arrays: the
    ``n_old`` connections described by ``indptr`` occupy the front of
    ``indices``, ``values``, ``velocity`` (and ``second``, Adam's second
    moments; empty for SGD), which have room for ``n_old + len(new_keys)``.
    The merge runs from the back, so a connection is written at or after
    the place it is read from and nothing is overwritten before it is moved.
    Rewrites ``indptr``. O(nnz + new), no allocation."""
    n_out = indptr.shape[0] - 1
    q = n_old + new_keys.shape[0] - 1  # next position written
    c = new_keys.shape[0] - 1          # next new connection placed
    for j in range(n_out - 1, -1, -1):
        start = indptr[j]
        k = indptr[j + 1] - 1
        indptr[j + 1] = q + 1
        base = j * n_in
        while c >= 0 and new_keys[c] >= base:
            i = new_keys[c] - base
            while k >= start and indices[k] > i:
                _copy_connection(k, q, indices, values, velocity, second, indices, values,
                                 velocity, second)
                q -= 1
                k -= 1
            _new_connection(q, i, new_values[c], indices, values, velocity, second)
            q -= 1
            c -= 1
        while k >= start:
            _copy_connection(k, q, indices, values, velocity, second, indices, values,
                             velocity, second)
            q -= 1
            k -= 1
    indptr[0] = 0


@njit(cache=True)
def keys_to_csr(keys, n_in, indptr, indices):
    """Fill ``indptr`` (n_out + 1) and ``indices`` (len(keys)) from sorted
    distinct keys."""
    indptr[:] = 0
    for c in range(keys.shape[0]):
        j = keys[c] // n_in
        indptr[j + 1] += 1
        indices[c] = keys[c] - j * n_in
    for j in range(indptr.shape[0] - 1):
        indptr[j + 1] += indptr[j]


@njit(cache=True)
def input_strength(indices, values, n_in):
    """Sum of absolute connection weights leaving each input."""
    out = np.zeros(n_in, dtype=np.float64)
    for k in range(indices.shape[0]):
        out[indices[k]] += abs(values[k])
    return out


# -- reachability --------------------------------------------------------------


@njit(cache=True)
def reach_forward(indptr, indices, reached_in, reached_out):
    """``reached_out[j]``: output ``j`` has a connection from a reached input."""
    for j in range(indptr.shape[0] - 1):
        hit = False
        for k in range(indptr[j], indptr[j + 1]):
            if reached_in[indices[k]]:
                hit = True
                break
        reached_out[j] = hit


@njit(cache=True)
def reach_backward(indptr, indices, reaching_out, reaching_in):
    """``reaching_in[i]``: input ``i`` has a connection to an output unit
    that reaches the network's outputs."""
    reaching_in[:] = False
    for j in range(indptr.shape[0] - 1):
        if reaching_out[j]:
            for k in range(indptr[j], indptr[j + 1]):
                reaching_in[indices[k]] = True


@njit(cache=True)
def count_active(indptr, indices, reached_in, reaching_out):
    """How many connections :func:`active_connections` would mark, without
    a mask."""
    count = 0
    for j in range(indptr.shape[0] - 1):
        if reaching_out[j]:
            for k in range(indptr[j], indptr[j + 1]):
                if reached_in[indices[k]]:
                    count += 1
    return count


@njit(cache=True)
def max_out_degree(indices, n_in):
    """The most connections leaving one input (0 without connections)."""
    counts = np.zeros(n_in, dtype=np.int64)
    for k in range(indices.shape[0]):
        counts[indices[k]] += 1
    return counts.max() if n_in > 0 else 0


@njit(cache=True)
def active_connections(indptr, indices, reached_in, reaching_out, mask):
    """``mask[k]``: connection ``k`` joins a reached input to an output unit
    that reaches the network's outputs, i.e. lies on an input-to-output path."""
    for j in range(indptr.shape[0] - 1):
        for k in range(indptr[j], indptr[j + 1]):
            mask[k] = reaching_out[j] and reached_in[indices[k]]


@njit(cache=True)
def drop_unkept(indptr, indices, values, velocity, second, keep):
    """Move the connections with ``keep[k]`` to the front (same order), in
    place, rewrite ``indptr``; returns their number. O(nnz). ``second``:
    Adam's second moments, moved likewise (empty for SGD)."""
    q = 0
    start = indptr[0]
    for j in range(indptr.shape[0] - 1):
        end = indptr[j + 1]
        for k in range(start, end):
            if keep[k]:
                _copy_connection(k, q, indices, values, velocity, second, indices, values,
                                 velocity, second)
                q += 1
        start = end
        indptr[j + 1] = q
    return q


# -- gradients of empty positions (regrowth="gradient") ----------------------


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def gradient_block(indptr, indices, a_in, d_out, j0, j1, scores):
    """For outputs ``j0 .. j1 - 1``: ``scores[(j - j0) * n_in + i]`` is the
    absolute gradient ``|sum_b a_in[i, b] * d_out[j, b]|`` of the position
    ``i -> j``, or -1 where a connection already exists. ``a_in`` and
    ``d_out`` are feature-major; each score is one thread's sequential sum,
    so the result does not depend on the thread count (the sum runs in the
    arrays' dtype, vectorised over the batch)."""
    n_in, n_batch = a_in.shape
    for j in prange(j0, j1):
        base = (j - j0) * n_in
        for i in range(n_in):
            s = a_in.dtype.type(0)
            for b in range(n_batch):
                s += a_in[i, b] * d_out[j, b]
            scores[base + i] = abs(s)
        for k in range(indptr[j], indptr[j + 1]):
            scores[base + indices[k]] = -1.0


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def gradient_at_keys(keys, n_in, a_in, d_out, scores):
    """Absolute gradient of each position ``keys[c]`` (see
    :func:`gradient_block`)."""
    n_batch = a_in.shape[1]
    for c in prange(keys.shape[0]):
        j = keys[c] // n_in
        i = keys[c] - j * n_in
        s = a_in.dtype.type(0)
        for b in range(n_batch):
            s += a_in[i, b] * d_out[j, b]
        scores[c] = abs(s)


@njit(cache=True)
def keys_between(indptr, indices, src_rank, tgt_rank):
    """Connections from inputs with ``src_rank >= 0`` to outputs with
    ``tgt_rank >= 0``, as keys of the compact grid
    ``tgt_rank * n_sources + src_rank`` (sorted, as storage order is)."""
    n_src = 0
    for i in range(src_rank.shape[0]):
        if src_rank[i] >= 0:
            n_src += 1
    count = 0
    for j in range(indptr.shape[0] - 1):
        if tgt_rank[j] >= 0:
            for k in range(indptr[j], indptr[j + 1]):
                if src_rank[indices[k]] >= 0:
                    count += 1
    out = np.empty(count, dtype=np.int64)
    q = 0
    for j in range(indptr.shape[0] - 1):
        if tgt_rank[j] >= 0:
            base = tgt_rank[j] * n_src
            for k in range(indptr[j], indptr[j + 1]):
                r = src_rank[indices[k]]
                if r >= 0:
                    out[q] = base + r
                    q += 1
    return out
