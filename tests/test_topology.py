"""Erdos-Renyi allocation, prune and regrow invariants."""

import numpy as np
import pytest

from sklearn_set._kernels import RELU
from sklearn_set._network import SparseMLP
from sklearn_set._topology import (
    NEW_WEIGHT_SCALE,
    SparseLayer,
    erdos_renyi_allocation,
    sample_free_keys,
)

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


def _assert_valid(layer):
    keys = layer.keys()
    assert np.all(np.diff(keys) > 0), "duplicate or unsorted connections"
    assert layer.indptr[0] == 0 and layer.indptr[-1] == layer.n_connections
    assert layer.values.shape == layer.velocity.shape == layer.indices.shape
    assert layer.indices.min() >= 0 and layer.indices.max() < layer.n_in
    np.testing.assert_array_equal(np.diff(layer.t_indptr), np.bincount(layer.indices,
                                                                        minlength=layer.n_in))


def test_prune_removes_zeta_of_each_sign_closest_to_zero():
    layer = _layer()
    values = layer.values.copy()
    pos, neg = values[values >= 0], values[values < 0]
    removed = layer.prune(0.3)
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
    before = dict(zip(layer.keys(), zip(layer.values, layer.velocity)))
    n = layer.n_connections
    removed = layer.prune(0.3)
    survivors = dict(zip(layer.keys(), zip(layer.values, layer.velocity)))
    added = layer.regrow(removed, rng)
    assert added == removed and layer.n_connections == n
    _assert_valid(layer)
    after = dict(zip(layer.keys(), zip(layer.values, layer.velocity)))
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
        net.evolve(0.3, rng)
        np.testing.assert_array_equal(net.n_connections, counts)
        for layer in net.layers:
            _assert_valid(layer)


def test_dense_layer_regrows_in_place():
    """A saturated layer has only the pruned positions free: they come back."""
    layer = _layer(10, 4, 40)
    keys = layer.keys()
    removed = layer.prune(0.5)
    assert layer.regrow(removed, np.random.default_rng(0)) == removed
    np.testing.assert_array_equal(layer.keys(), keys)


def test_huge_layer_memory_is_linear_in_connections():
    """A 1e5 x 1e5 layer (1e10 positions) with 2e5 connections evolves fine."""
    import tracemalloc

    tracemalloc.start()
    layer = _layer(100_000, 100_000, 200_000, seed=5)
    removed = layer.prune(0.3)
    layer.regrow(removed, np.random.default_rng(1))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert layer.n_connections == 200_000
    _assert_valid(layer)
    assert peak < 100 * 2**20  # a dense mask alone would be 10 GB
