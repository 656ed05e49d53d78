"""Erdos-Renyi allocation, prune and regrow invariants."""

import numpy as np
import pytest
from test_regrowth import keys_of

from sklearn_set._engine._kernels import topology as topology_kernels
from sklearn_set._engine._kernels.train import RELU
from sklearn_set._engine.layer import SparseLayer, erdos_renyi_allocation, sample_free_keys
from sklearn_set._engine.network import SparseMLP
from sklearn_set._evolution.policies import SETPolicy
from sklearn_set._evolution.rules import NEW_WEIGHT_SCALE, RandomRegrowth, grow, prune_weakest

SET_SHAPES = [(784, 1000), (1000, 1000), (1000, 1000), (1000, 10)]


def _er_count(shapes, eps):
    return sum(min(n_in * n_out, eps * (n_in + n_out)) for n_in, n_out in shapes)


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.955, 0.99, 0.999])
def test_allocation_hits_requested_sparsity(sparsity):
    counts, eps = erdos_renyi_allocation(SET_SHAPES, sparsity)
    total = sum(a * b for a, b in SET_SHAPES)
    target = (1 - sparsity) * total
    assert abs(counts.sum() - target) <= 0.005 * target + 1
    assert np.all(counts <= [a * b for a, b in SET_SHAPES])
    assert np.all(counts >= 1)
    if sparsity > 0:
        # every unsaturated layer follows the Erdos-Renyi formula with that eps
        for (n_in, n_out), count in zip(SET_SHAPES, counts):
            if count < n_in * n_out:
                assert abs(count - eps * (n_in + n_out)) <= 1


def test_fixed_epsilon_allocation_is_dense_where_layers_are_narrow():
    counts, eps = erdos_renyi_allocation([(13, 100), (100, 3)], epsilon=12.0)
    np.testing.assert_array_equal(counts, [1300, 300])
    assert eps == np.inf
    counts, eps = erdos_renyi_allocation([(784, 1000), (1000, 10)], epsilon=12.0)
    np.testing.assert_array_equal(counts, [21408, 10000])
    assert eps == 12.0
    # every unit gets at least epsilon inputs on average: ceil, not round
    counts, _ = erdos_renyi_allocation([(1000, 1001)], epsilon=2.5)
    assert counts[0] == 5003
    with pytest.raises(ValueError, match="exactly one of sparsity and epsilon"):
        erdos_renyi_allocation([(10, 10)], 0.5, epsilon=2.0)


def test_classic_set_epsilon_is_recovered():
    """eps=20 on 784-1000-1000-1000-10 gives about 126k connections."""
    total = sum(a * b for a, b in SET_SHAPES)
    n20 = _er_count(SET_SHAPES, 20)
    assert 120_000 < n20 < 130_000
    counts, eps = erdos_renyi_allocation(SET_SHAPES, 1 - n20 / total)
    assert eps == pytest.approx(20, rel=1e-6)
    assert counts.sum() == round(n20)


def test_allocation_saturates_small_layers():
    counts, _ = erdos_renyi_allocation([(100, 100), (100, 2)], 0.5)
    assert counts[1] == 200  # the output layer is dense
    assert counts.sum() == 5100


def test_allocation_refuses_empty_layer():
    with pytest.raises(ValueError, match="leaves layer .* with no connection"):
        erdos_renyi_allocation([(10, 10), (10, 2)], 0.999)


@pytest.mark.parametrize("n_total,n_taken,n_new", [(100, 0, 100), (100, 60, 40),
                                                     (10**10, 1000, 5000), (1000, 10, 5)])
def test_sample_free_keys_distinct_and_free(n_total, n_taken, n_new):
    rng = np.random.default_rng(0)
    taken = np.sort(rng.choice(min(n_total, 10**6), size=n_taken, replace=False)).astype(np.int64)
    keys = sample_free_keys(taken, n_total, n_new, rng)
    assert keys.shape == (n_new,)
    assert np.all(np.diff(keys) > 0)
    assert keys.min(initial=0) >= 0 and keys.max(initial=0) < n_total
    assert np.intersect1d(keys, taken).size == 0


@pytest.mark.parametrize("n_taken", [10, 700])  # rejection and enumeration paths
def test_sample_free_keys_is_uniform(n_taken):
    rng = np.random.default_rng(1)
    n_total = 1000
    taken = np.sort(rng.choice(n_total, size=n_taken, replace=False)).astype(np.int64)
    hits = np.zeros(n_total)
    for _ in range(300):
        hits[sample_free_keys(taken, n_total, 50, rng)] += 1
    free = np.setdiff1d(np.arange(n_total), taken)
    assert hits[taken].sum() == 0
    expected = 300 * 50 / free.size
    chi2 = ((hits[free] - expected) ** 2 / expected).sum()
    # chi-square with free.size - 1 dof: mean dof, sd sqrt(2 dof)
    assert abs(chi2 - (free.size - 1)) < 5 * np.sqrt(2 * (free.size - 1))


def test_sample_free_keys_refuses_overfull():
    with pytest.raises(ValueError, match="cannot place"):
        sample_free_keys(np.arange(8, dtype=np.int64), 10, 3, np.random.default_rng(0))


def _layer(n_in=50, n_out=40, nnz=300, seed=0):
    return SparseLayer.random(n_in, n_out, nnz, np.random.default_rng(seed),
                              activation_code=RELU, dtype=np.float32)


def regrow(layer, n_new, rng):
    """SET's regrowth as an evolution runs it: the random rule picks free
    positions, :func:`grow` fills them."""
    return grow(layer, RandomRegrowth().place(0, layer, n_new, rng), rng)


def _assert_valid(layer):
    keys = keys_of(layer)
    assert np.all(np.diff(keys) > 0), "duplicate or unsorted connections"
    assert layer.indptr[0] == 0 and layer.indptr[-1] == layer.n_connections
    assert layer.values.shape == layer.indices.shape
    assert layer.velocity.shape in (layer.values.shape, (0,))
    assert layer.indices.min() >= 0 and layer.indices.max() < layer.n_in
    np.testing.assert_array_equal(np.diff(layer.t_indptr), np.bincount(layer.indices,
                                                                        minlength=layer.n_in))


def test_prune_removes_zeta_of_each_sign_closest_to_zero():
    layer = _layer()
    values = layer.values.copy()
    pos, neg = values[values >= 0], values[values < 0]
    removed = prune_weakest(layer, 0.3)
    assert removed == int(0.3 * pos.size) + int(0.3 * neg.size)
    kept_pos = layer.values[layer.values >= 0]
    kept_neg = layer.values[layer.values < 0]
    assert kept_pos.size == pos.size - int(0.3 * pos.size)
    assert kept_neg.size == neg.size - int(0.3 * neg.size)
    assert kept_pos.min() >= np.sort(pos)[int(0.3 * pos.size) - 1]
    assert kept_neg.max() <= np.sort(neg)[::-1][int(0.3 * neg.size) - 1]


def test_prune_then_regrow_keeps_count_and_survivors():
    layer = _layer()
    rng = np.random.default_rng(3)
    layer.velocity[:] = rng.normal(size=layer.n_connections)
    before = dict(zip(keys_of(layer), zip(layer.values, layer.velocity)))
    n = layer.n_connections
    removed = prune_weakest(layer, 0.3)
    survivors = dict(zip(keys_of(layer), zip(layer.values, layer.velocity)))
    added = regrow(layer, removed, rng)
    assert added == removed and layer.n_connections == n
    _assert_valid(layer)
    after = dict(zip(keys_of(layer), zip(layer.values, layer.velocity)))
    for key, state in survivors.items():
        assert after[key] == state == before[key]
    new = [key for key in after if key not in survivors]
    assert len(new) == removed
    bound = NEW_WEIGHT_SCALE * layer.init_bound
    for key in new:
        weight, velocity = after[key]
        assert velocity == 0 and abs(weight) <= bound


def test_connection_count_constant_over_set_epochs():
    rng = np.random.default_rng(0)
    net = SparseMLP((20, 64, 32, 3), activation="relu", output="softmax").initialize(0.8, rng)
    counts = net.n_connections.copy()
    X = rng.normal(size=(64, 20)).astype(np.float32)
    y = rng.integers(0, 3, 64).astype(np.int32)
    sw = np.ones(64, np.float32)
    for _ in range(10):
        net.train_epoch(X, y, sw, batch_size=16, learning_rate=0.05, momentum=0.9,
                        nesterov=True, alpha=1e-4, dropout=0.0, shuffle=True, rng=rng)
        SETPolicy().evolve(net, 0.3, rng)
        np.testing.assert_array_equal(net.n_connections, counts)
        for layer in net.layers:
            _assert_valid(layer)


def test_dense_layer_regrows_in_place():
    """A saturated layer has only the pruned positions free: they come back."""
    layer = _layer(10, 4, 40)
    keys = keys_of(layer)
    removed = prune_weakest(layer, 0.5)
    assert regrow(layer, removed, np.random.default_rng(0)) == removed
    np.testing.assert_array_equal(keys_of(layer), keys)


def test_huge_layer_memory_is_linear_in_connections():
    """A 1e5 x 1e5 layer (1e10 positions) with 2e5 connections evolves fine."""
    import tracemalloc

    tracemalloc.start()
    layer = _layer(100_000, 100_000, 200_000, seed=5)
    removed = prune_weakest(layer, 0.3)
    regrow(layer, removed, np.random.default_rng(1))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert layer.n_connections == 200_000
    _assert_valid(layer)
    assert peak < 100 * 2**20  # a dense mask alone would be 10 GB


def test_prune_with_ties_removes_exactly_the_requested_count():
    """Many equal weights at the threshold: exactly int(zeta * n) of each sign
    go, all strictly closer to zero than any survivor of that sign."""
    layer = _layer(30, 20, 400, seed=11)
    rng = np.random.default_rng(0)
    layer.values[:] = rng.choice([-0.3, -0.2, -0.1, 0.0, 0.1, 0.2], size=400).astype(np.float32)
    layer.velocity[:] = rng.normal(size=400)
    before = dict(zip(keys_of(layer), zip(layer.values, layer.velocity)))
    pos, neg = layer.values[layer.values >= 0], layer.values[layer.values < 0]
    removed = prune_weakest(layer, 0.3)
    n_pos, n_neg = int(0.3 * pos.size), int(0.3 * neg.size)
    assert removed == n_pos + n_neg
    kept = layer.values
    assert np.sum(kept >= 0) == pos.size - n_pos and np.sum(kept < 0) == neg.size - n_neg
    # the kept multiset is the original minus the n smallest of each sign
    np.testing.assert_array_equal(np.sort(kept[kept >= 0]), np.sort(pos)[n_pos:])
    np.testing.assert_array_equal(np.sort(kept[kept < 0]), np.sort(neg)[:neg.size - n_neg])
    for key, value, velocity in zip(keys_of(layer), layer.values, layer.velocity):
        assert before[key] == (value, velocity)
    assert np.all(np.diff(layer.indptr) >= 0) and layer.indptr[-1] == layer.n_connections


def test_prune_one_sign_only():
    layer = _layer(10, 10, 50, seed=2)
    layer.values[:] = np.abs(layer.values) + 0.01
    removed = prune_weakest(layer, 0.5)
    assert removed == 25 and layer.n_connections == 25
    layer.values[:] = -np.abs(layer.values) - 0.01
    assert prune_weakest(layer, 0.5) == 12 and layer.n_connections == 13


def test_regrow_draws_what_sample_free_keys_draws():
    """The CSR-based regrow (no key array) samples exactly as the key-based
    reference with the same random stream, on both sampling paths."""
    for n_in, n_out, nnz in [(300, 200, 2000), (20, 10, 150)]:
        layer = _layer(n_in, n_out, nnz, seed=4)
        prune_weakest(layer, 0.3)
        taken = keys_of(layer)
        n_new = nnz - layer.n_connections
        expected = sample_free_keys(taken, n_in * n_out, n_new, np.random.default_rng(9))
        regrow(layer, n_new, np.random.default_rng(9))
        np.testing.assert_array_equal(keys_of(layer), np.union1d(taken, expected))
        _assert_valid(layer)


def test_free_candidate_filters_agree():
    rng = np.random.default_rng(3)
    layer = _layer(40, 30, 500, seed=3)
    taken = keys_of(layer)
    cand = np.sort(rng.integers(0, 1200, size=900)).astype(np.int64)  # with repeats
    expected = np.setdiff1d(cand, taken)
    free = topology_kernels.free_candidates_csr(cand, layer.indptr, layer.indices, layer.n_in)
    np.testing.assert_array_equal(free, expected)
    all_free = np.setdiff1d(np.arange(1200), taken)
    np.testing.assert_array_equal(
        topology_kernels.free_keys_csr(layer.indptr, layer.indices, 40), all_free)
    a = np.unique(rng.integers(0, 100, 30)).astype(np.int64)
    b = np.unique(rng.integers(0, 100, 30)).astype(np.int64)
    np.testing.assert_array_equal(topology_kernels.union_sorted(a, b), np.union1d(a, b))


def test_insert_connections_matches_numpy_insert():

    layer = _layer(25, 15, 100, seed=8)
    layer.velocity[:] = np.arange(100)
    taken = keys_of(layer)
    rng = np.random.default_rng(8)
    new = np.sort(rng.choice(np.setdiff1d(np.arange(375), taken), 40, replace=False))
    new_values = rng.normal(size=40).astype(np.float32)
    out = (np.empty(16, np.int64), np.empty(140, np.int32), np.empty(140, np.float32),
           np.empty(140, np.float32))
    topology_kernels.insert_connections(layer.indptr, layer.indices, layer.values, layer.velocity,
                                        layer.second_moment, new, new_values, 25, *out,
                                        np.empty(0, np.float32))
    indptr, indices, values, velocity = out
    at = np.searchsorted(taken, new)
    keys = np.insert(taken, at, new)
    expected = np.r_[0, np.cumsum(np.bincount(keys // 25, minlength=15))]
    np.testing.assert_array_equal(indptr, expected)
    np.testing.assert_array_equal(indices, keys % 25)
    np.testing.assert_array_equal(values, np.insert(layer.values, at, new_values))
    np.testing.assert_array_equal(velocity, np.insert(layer.velocity, at, 0))


@pytest.mark.parametrize("state", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("room", [0, 7])
def test_insert_in_place_matches_numpy_insert(state, room):
    """The merge from the back within the layer's own arrays gives what
    np.insert gives, for plain SGD (no velocity), momentum and Adam layers,
    with or without spare room."""
    adam = state == "adam"
    rng = np.random.default_rng(9)
    layer = _layer(25, 15, 100, seed=9)
    n_old = 100
    taken = keys_of(layer)
    new = np.sort(rng.choice(np.setdiff1d(np.arange(375), taken), 40, replace=False))
    new_values = rng.normal(size=40).astype(np.float32)
    velocity = rng.normal(size=n_old).astype(np.float32)
    second = rng.random(n_old).astype(np.float32)
    size = n_old + 40 + room

    def with_room(arr):
        out = np.full(size, -7, arr.dtype)  # garbage where the room is
        out[:n_old] = arr
        return out

    indptr = layer.indptr.copy()
    arrays = [with_room(layer.indices), with_room(layer.values),
              with_room(velocity) if state != "sgd" else np.empty(0, np.float32),
              with_room(second) if adam else np.empty(0, np.float32)]
    topology_kernels.insert_connections_in_place(indptr, *arrays, n_old, new, new_values, 25)
    indices, values, velocity_out, second_out = arrays
    at = np.searchsorted(taken, new)
    keys = np.insert(taken, at, new)
    total = n_old + 40
    np.testing.assert_array_equal(indptr,
                                  np.r_[0, np.cumsum(np.bincount(keys // 25, minlength=15))])
    np.testing.assert_array_equal(indices[:total], keys % 25)
    np.testing.assert_array_equal(values[:total], np.insert(layer.values, at, new_values))
    if state != "sgd":
        np.testing.assert_array_equal(velocity_out[:total], np.insert(velocity, at, 0))
    if adam:
        np.testing.assert_array_equal(second_out[:total], np.insert(second, at, 0))
    # the room past the result is left alone
    assert np.all(values[total:] == -7)


@pytest.mark.parametrize("momentum", [True, False])
def test_regrowth_after_prune_reuses_the_pruned_arrays(momentum):
    """SET regrows what it pruned into the arrays the prune compacted: no
    second copy of the layer, the same layer as a merge into new arrays
    (with velocities, or none for SGD without momentum)."""
    layer = _layer(40, 30, 300, seed=3)
    layer.velocity[:] = np.random.default_rng(3).normal(size=300)
    if not momentum:
        layer.use_optimizer_state(velocity=False, second_moments=False)
    twin = layer.copy()
    names = ("indices", "values", "velocity") if momentum else ("indices", "values")
    buffers = [getattr(layer, name) for name in names]
    n_pruned = prune_weakest(layer, 0.3)
    prune_weakest(twin, 0.3)
    twin._before_drop = None  # the twin merges into new arrays
    new = layer.sample_free(n_pruned, np.random.default_rng(4))
    assert grow(layer, new, np.random.default_rng(5)) == n_pruned
    assert grow(twin, new, np.random.default_rng(5)) == n_pruned
    for name, buffer in zip(names, buffers):
        assert np.shares_memory(getattr(layer, name), buffer), name
        assert not np.shares_memory(getattr(twin, name), buffer), name
        np.testing.assert_array_equal(getattr(layer, name), getattr(twin, name))
    np.testing.assert_array_equal(layer.indptr, twin.indptr)
    _assert_valid(layer)
    # a regrowth larger than the room merges into new arrays
    n_pruned = prune_weakest(layer, 0.3)
    new = layer.sample_free(n_pruned + 10, np.random.default_rng(6))
    grow(layer, new, np.random.default_rng(7))
    assert layer.n_connections == 310
    assert not np.shares_memory(layer.values, buffers[1])
    _assert_valid(layer)


def test_index_arrays_are_compact():
    """Per-connection index arrays are 32-bit, and so are the step's by-input
    counters; the by-input output ids are 16-bit while the outputs fit."""
    layer = _layer()
    assert layer.indices.dtype == np.int32
    assert layer.t_order.dtype == np.int32 and layer.t_rows.dtype == np.uint16
    assert layer.t_position.dtype == np.int32 and layer.t_start.dtype == np.int32
    rng = np.random.default_rng(0)
    for n_out, rows in [(2**16, np.uint16), (2**16 + 1, np.int32)]:
        wide = SparseLayer.random(3, n_out, 500, rng, activation_code=RELU, dtype=np.float32)
        assert wide.t_rows.dtype == rows
        # every output id survives the narrowing
        expected = np.repeat(np.arange(n_out), np.diff(wide.indptr))[wide.t_order]
        np.testing.assert_array_equal(wide.t_rows, expected)


def test_huge_layer_evolution_peak_rss_is_linear_in_connections():
    """Same as above, measured as the process's peak RSS (numba's allocations
    are invisible to tracemalloc): a 1e5 x 1e5 layer with 1e6 connections
    initialises, prunes and regrows within a few tens of MB."""
    import subprocess
    import sys

    code = """
import resource, numpy as np
from sklearn_set._engine._kernels import topology as topology_kernels
from sklearn_set._engine._kernels.train import RELU
from sklearn_set._engine.layer import SparseLayer
from sklearn_set._evolution.rules import RandomRegrowth, grow, prune_weakest
def regrow(layer, n_new, rng):
    return grow(layer, RandomRegrowth().place(0, layer, n_new, rng), rng)
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
small = SparseLayer.random(1000, 1000, 1000, np.random.default_rng(0),
                           activation_code=RELU, dtype=np.float32)
regrow(small, prune_weakest(small, 0.3), np.random.default_rng(1))  # compile / load
base = rss()
layer = SparseLayer.random(100_000, 100_000, 1_000_000, np.random.default_rng(0),
                           activation_code=RELU, dtype=np.float32)
for _ in range(2):
    regrow(layer, prune_weakest(layer, 0.3), np.random.default_rng(1))
assert layer.n_connections == 1_000_000
print(rss() - base)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    growth = int(out.stdout.split()[-1])
    # 1e6 connections: ~20 MB of layer arrays, transient copies on top; a
    # dense mask would be 10 GB
    assert growth < 150 * 2**20, growth


def test_by_input_view_is_built_lazily_dropped_between_epochs_not_copied_or_pickled():
    import pickle

    rng = np.random.default_rng(0)
    net = SparseMLP((20, 30, 3), activation="relu", output="softmax").initialize(0.5, rng)
    X = rng.normal(size=(16, 20)).astype(np.float32)
    y = rng.integers(0, 3, 16).astype(np.int32)
    net.train_epoch(X, y, np.ones(16, np.float32), batch_size=8, learning_rate=0.01,
                    momentum=0.9, nesterov=True, alpha=0.0, dropout=0.0, shuffle=False,
                    rng=rng)
    first, second = net.layers
    # built for the backward passes of a layer with a hidden input (the
    # first layer's backward walks by output), then dropped between epochs
    # with the gradient scratch
    assert first._by_input is None and second._by_input is None
    assert net._workspace[True]["grad"] is None
    assert second.t_order is not None  # reading it rebuilds the by-input views
    assert second._by_input is not None
    for twin in (second.copy(), pickle.loads(pickle.dumps(second))):
        assert twin._by_input is None
        for name in ("t_indptr", "t_order", "t_rows", "t_start", "t_position"):
            np.testing.assert_array_equal(getattr(twin, name), getattr(second, name))


def test_regrow_nothing_after_prune_leaves_compact_arrays():
    layer = _layer()
    removed = prune_weakest(layer, 0.3)
    assert regrow(layer, 0, np.random.default_rng(0)) == 0
    assert layer.n_connections == 300 - removed
    for name in ("indices", "values", "velocity"):
        arr = getattr(layer, name)
        assert arr.base is None and arr.shape == (300 - removed,)
    _assert_valid(layer)
