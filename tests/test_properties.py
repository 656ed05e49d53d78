"""Property-based tests (hypothesis): kernels against a dense NumPy reference
for random shapes, densities, batch sizes and dtypes; prune and regrow
invariants; Erdos-Renyi allocation."""

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis", reason="property tests need hypothesis")
from hypothesis import given, reject, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_kernels import dense_weights, make_net, reference_activation  # noqa: E402
from test_regrowth import keys_of  # noqa: E402

from sklearn_set._engine import activations  # noqa: E402
from sklearn_set._engine._kernels import layout  # noqa: E402
from sklearn_set._engine._kernels import train as kernels  # noqa: E402
from sklearn_set._engine.layer import SparseLayer, erdos_renyi_allocation  # noqa: E402
from sklearn_set._engine.threads import kernel_threads  # noqa: E402
from sklearn_set._evolution.rules import (  # noqa: E402
    NEW_WEIGHT_SCALE,
    RandomRegrowth,
    grow,
    prune_weakest,
)

ACTIVATIONS = list(activations.ACTIVATIONS)
DTYPES = [np.float32, np.float64]
# numba compiles a kernel once per signature, so the first example of each
# dtype is slow: no per-example deadline.
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def reference_derivative(z, a, code, slope):
    if code == kernels.RELU:
        return (z > 0).astype(np.float64)
    if code == kernels.LEAKY_RELU:
        return np.where(z > 0, 1.0, slope)
    if code == kernels.TANH:
        return 1 - a * a
    if code == kernels.LOGISTIC:
        return a * (1 - a)
    return np.ones_like(z)


def reference_step(net, weights, biases, X, y, sw, alpha, lr):
    """One plain SGD step (no momentum) on a batch, dense and in float64.
    Updates ``weights`` and ``biases`` in place; returns the batch data loss."""
    n = X.shape[0]
    acts, pres = [X.astype(np.float64)], []
    for l, (W, b) in enumerate(zip(weights[:-1], biases[:-1])):
        code, slope = net.hidden_codes[l]
        z = acts[-1] @ W + b
        pres.append(z)
        acts.append(reference_activation(z, code, slope))
    z = acts[-1] @ weights[-1] + biases[-1]
    if net.output.name == "softmax":
        shifted = z - z.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        loss = -(sw * np.log(p[np.arange(n), y])).sum() / n
        onehot = np.zeros_like(p)
        onehot[np.arange(n), y] = 1
        dz = sw[:, None] * (p - onehot) / n
    else:
        loss = (sw[:, None] * (z - y) ** 2).sum() / (2 * n)
        dz = sw[:, None] * (z - y) / n
    for l in range(len(weights) - 1, -1, -1):
        W = weights[l]
        # L2 divided by the batch's weight sum, as MLPClassifier does
        grad_W = acts[l].T @ dz + alpha / sw.sum() * W
        grad_b = dz.sum(axis=0)
        if l > 0:
            code, slope = net.hidden_codes[l - 1]
            dz = (dz @ W.T) * reference_derivative(pres[l - 1], acts[l], code, slope)
        W -= lr * grad_W * (W != 0)  # gradients exist for connections only
        biases[l] -= lr * grad_b
    return loss


@st.composite
def networks(draw, output=None):
    n_hidden = draw(st.integers(0, 2))
    n_in = draw(st.integers(1, 24))
    hidden = [draw(st.integers(1, 24)) for _ in range(n_hidden)]
    out = output or draw(st.sampled_from(["softmax", "identity"]))
    n_out = draw(st.integers(2 if out == "softmax" else 1, 6))
    activation = draw(st.sampled_from(ACTIVATIONS))
    sparsity = draw(st.floats(0.0, 0.9))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    try:
        net = make_net(activation, out, [n_in, *hidden, n_out], sparsity, seed, dtype)
    except ValueError:  # a layer would get no connection: not a network
        reject()
    # make_net fixes the bias scale only; exact zero weights would be
    # indistinguishable from absent connections in the dense reference
    for layer in net.layers:
        layer.values[layer.values == 0] = 0.01
    return net, seed


def _tolerance(dtype):
    return 2e-4 if dtype == np.float32 else 1e-9


@SETTINGS
@given(networks(), st.integers(1, 30), st.booleans())
def test_forward_matches_dense_reference(net_seed, n_samples, csr):
    net, seed = net_seed
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, net.layer_sizes[0])).astype(net.dtype)
    X[rng.random(X.shape) < 0.3] = 0
    a = X.astype(np.float64)
    weights = [dense_weights(layer) for layer in net.layers]
    for l, layer in enumerate(net.layers[:-1]):
        code, slope = net.hidden_codes[l]
        a = reference_activation(a @ weights[l] + layer.bias, code, slope)
    z = a @ weights[-1] + net.layers[-1].bias
    if net.output.name == "softmax":
        z = np.exp(z - z.max(axis=1, keepdims=True))
        z /= z.sum(axis=1, keepdims=True)
    with kernel_threads(None):
        got = net.predict_output(sp.csr_matrix(X) if csr else X)
    tol = _tolerance(net.dtype)
    assert got.dtype == net.dtype and got.shape == z.shape
    np.testing.assert_allclose(got, z, rtol=tol, atol=tol * max(1.0, np.abs(z).max()))


@SETTINGS
@given(networks(), st.integers(1, 30), st.integers(1, 12), st.floats(0.0, 0.1))
def test_training_epoch_matches_dense_sgd(net_seed, n_samples, batch_size, alpha):
    """An epoch of minibatch SGD (no shuffle, no momentum) moves every existing
    weight and bias as dense backpropagation does, batch after batch, and
    reports the mean batch loss plus the L2 term."""
    net, seed = net_seed
    rng = np.random.default_rng(seed + 1)
    X = rng.normal(size=(n_samples, net.layer_sizes[0])).astype(net.dtype)
    if net.output.name == "softmax":
        y = rng.integers(0, net.layer_sizes[-1], n_samples).astype(np.int32)
    else:
        y = rng.normal(size=(n_samples, net.layer_sizes[-1])).astype(net.dtype)
    sw = rng.uniform(0.5, 1.5, n_samples).astype(net.dtype)
    lr = 0.05
    weights = [dense_weights(layer) for layer in net.layers]
    biases = [layer.bias.astype(np.float64) for layer in net.layers]
    old_weights = [w.copy() for w in weights]
    total = 0.0
    for start in range(0, n_samples, batch_size):
        sl = slice(start, start + batch_size)
        nb = X[sl].shape[0]
        total += nb * reference_step(net, weights, biases, X[sl], y[sl],
                                     sw[sl].astype(np.float64), alpha, lr)
    with kernel_threads(None):
        loss = net.train_epoch(X, y, sw, batch_size=batch_size, learning_rate=lr,
                               momentum=0.0, nesterov=False, alpha=alpha, dropout=0.0,
                               shuffle=False, rng=np.random.default_rng(0))
    tol = _tolerance(net.dtype)
    for layer, W, W_old, b in zip(net.layers, weights, old_weights, biases):
        expected_step = (W_old - W)[layer.indices, _rows(layer)]
        got_step = W_old[layer.indices, _rows(layer)] - layer.values.astype(np.float64)
        scale = max(np.abs(expected_step).max(initial=0), 1e-3)
        np.testing.assert_allclose(got_step, expected_step, rtol=tol, atol=tol * scale)
        np.testing.assert_allclose(layer.bias, b, rtol=tol, atol=tol * scale)
    penalty = sum((layer.values.astype(np.float64) ** 2).sum() for layer in net.layers)
    expected_loss = total / n_samples + 0.5 * alpha * penalty / min(batch_size, n_samples)
    assert loss == pytest.approx(expected_loss, rel=tol * 10, abs=tol)


def _rows(layer):
    return np.repeat(np.arange(layer.n_out), np.diff(layer.indptr))


# --------------------------------------------------------------------------
# Prune and regrow
# --------------------------------------------------------------------------


@st.composite
def layers(draw):
    n_in = draw(st.integers(1, 60))
    n_out = draw(st.integers(1, 60))
    count = draw(st.integers(1, n_in * n_out))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    layer = SparseLayer.random(n_in, n_out, count, rng, activation_code=kernels.RELU, dtype=dtype)
    layer.velocity[:] = rng.normal(size=count)
    if draw(st.booleans()):  # ties and exact zeros, as after long training
        layer.values[:] = np.round(layer.values * 4) / 4
    return layer, rng


def _check_structure(layer):
    keys = keys_of(layer)
    assert layer.indptr[0] == 0 and layer.indptr[-1] == layer.n_connections
    assert np.all(np.diff(layer.indptr) >= 0)
    assert np.all(np.diff(keys) > 0), "duplicate or unsorted connections"
    assert layer.indices.min(initial=0) >= 0 and layer.indices.max(initial=-1) < layer.n_in
    assert layer.values.shape == layer.velocity.shape == layer.indices.shape
    t_indptr, t_order, t_rows, t_start, t_position = layout.transpose_order(
        layer.indptr, layer.indices, layer.n_in)
    np.testing.assert_array_equal(layer.t_indptr, t_indptr)
    np.testing.assert_array_equal(layer.t_order, t_order)
    np.testing.assert_array_equal(layer.t_rows, t_rows)
    np.testing.assert_array_equal(layer.t_start, t_start)
    np.testing.assert_array_equal(layer.t_position, t_position)
    return keys


@settings(max_examples=100, deadline=None, derandomize=True)
@given(layers(), st.floats(0.0, 0.99), st.integers(0, 5000))
def test_prune_then_regrow_keeps_counts_and_leaves_no_duplicates(layer_rng, zeta, extra):
    layer, rng = layer_rng
    before = dict(zip(keys_of(layer).tolist(),
                      zip(layer.values.tolist(), layer.velocity.tolist())))
    values = layer.values.copy()
    n_pos, n_neg = int((values >= 0).sum()), int((values < 0).sum())
    n_pruned = prune_weakest(layer, zeta)
    assert n_pruned == int(zeta * n_pos) + int(zeta * n_neg)
    assert layer.n_connections == len(before) - n_pruned
    kept = set(keys_of(layer).tolist())
    removed = [before[k][0] for k in before if k not in kept]
    survivors = layer.values
    # the removed ones are, per sign, those closest to zero
    for sign_removed, sign_kept in (([v for v in removed if v >= 0], survivors[survivors >= 0]),
                                    ([-v for v in removed if v < 0], -survivors[survivors < 0])):
        if sign_removed and sign_kept.size:
            assert max(sign_removed) <= sign_kept.min()
    # asking for more than is free is capped at the free positions
    n_request = n_pruned + extra
    n_free = layer.size - layer.n_connections
    n_added = grow(layer, RandomRegrowth().place(0, layer, n_request, rng), rng)
    assert n_added == min(n_request, n_free)
    assert layer.n_connections == len(before) - n_pruned + n_added
    keys = _check_structure(layer)
    new = ~np.isin(keys, list(kept))
    assert new.sum() == n_added
    assert np.all(layer.velocity[new] == 0)
    bound = NEW_WEIGHT_SCALE * layer.init_bound
    assert np.all(np.abs(layer.values[new]) <= bound * (1 + 1e-6))
    for key, value, velocity in zip(keys[~new], layer.values[~new], layer.velocity[~new]):
        assert (value, velocity) == before[key]


# --------------------------------------------------------------------------
# Erdos-Renyi allocation
# --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(1, 3000), st.integers(1, 3000)), min_size=1,
                max_size=6),
       st.floats(0.0, 0.9999))
def test_erdos_renyi_allocation_fits_layers_and_hits_the_target(shapes, sparsity):
    sizes = np.array([a * b for a, b in shapes], dtype=np.int64)
    perimeters = np.array([a + b for a, b in shapes], dtype=np.float64)
    target = int(round((1 - sparsity) * sizes.sum()))
    try:
        counts, eps = erdos_renyi_allocation(shapes, sparsity)
    except ValueError as exc:
        assert "no connection" in str(exc)
        # only possible when the smallest layer's share is under one connection
        assert target < np.minimum(sizes, perimeters / perimeters.min()).sum() + 1e-6
        return
    assert counts.dtype == np.int64
    assert np.all(counts >= 1) and np.all(counts <= sizes)
    assert counts.sum() == target
    if np.isinf(eps):
        np.testing.assert_array_equal(counts, sizes)
    else:
        share = np.minimum(sizes, eps * perimeters)
        assert np.all(np.abs(counts - share) < 1 + 1e-6 * share)
        # a layer is dense exactly when eps reaches its saturation point
        saturated = eps * perimeters >= sizes
        np.testing.assert_array_equal(counts[saturated], sizes[saturated])
