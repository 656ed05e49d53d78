"""The network's copies (sklearn_set._engine.network): in memory and in a
temporary file, both restoring exactly the layers they copied."""

import os

import numpy as np
import pytest

from sklearn_set._engine.layer import SparseLayer
from sklearn_set._engine.network import SparseMLP


def _trained_network(solver_moments):
    rng = np.random.default_rng(0)
    net = SparseMLP((9, 7, 5, 3), activation="relu", output="softmax", dtype=np.float32)
    net.initialize(0.5, rng)
    X = rng.normal(size=(20, 9)).astype(np.float32)
    y = rng.integers(0, 3, 20).astype(np.int32)
    net.train_epoch(X, y, np.ones(20), batch_size=8, learning_rate=0.05, momentum=0.9,
                    nesterov=True, alpha=1e-4, dropout=0.0, shuffle=True, rng=rng,
                    moments=solver_moments)
    return net


def _arrays(net):
    return [[getattr(layer, name).copy() for name in SparseLayer.STATE_ARRAYS]
            for layer in net.layers]


@pytest.mark.parametrize("moments", [None, (0.9, 0.999, 1e-8)], ids=["sgd", "adam"])
def test_file_snapshot_restores_every_array_exactly(moments):
    net = _trained_network(moments)
    before = _arrays(net)
    regrown = [layer.last_regrown for layer in net.layers]
    snapshot = net.snapshot_to_file()
    # the file holds the arrays' bytes, the snapshot object none of them
    assert os.fstat(snapshot._file.fileno()).st_size == net.state_nbytes
    for layer in net.layers:  # what an interrupted epoch leaves
        layer.values *= 3
        layer.velocity += 1
        layer.bias -= 1
    net.restore(snapshot)
    for got, want in zip(_arrays(net), before):
        for a, b in zip(got, want):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert all(layer.last_regrown is r for layer, r in zip(net.layers, regrown))
    # restored twice: each restore gets arrays of its own
    twin = _trained_network(moments)
    twin.restore(snapshot)
    twin.layers[0].values[:] = 0
    net.restore(snapshot)
    np.testing.assert_array_equal(net.layers[0].values, before[0][2])
    snapshot.close()
    assert snapshot._file.closed


def test_file_snapshot_reports_a_truncated_file():
    net = _trained_network(None)
    snapshot = net.snapshot_to_file()
    snapshot._file.truncate(net.state_nbytes - 4)
    with pytest.raises(OSError, match="truncated"):
        snapshot.load()

