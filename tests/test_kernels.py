"""Kernels and the engine against a plain dense NumPy reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from _bfloat16_dot import row_dot
from numba import njit
from numba.core.registry import cpu_target

from sklearn_set._engine import activations
from sklearn_set._engine._kernels import layout, vectors
from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine._kernels.storage import from_bfloat16, to_bfloat16
from sklearn_set._engine.activations import IDENTITY, LOGISTIC, TANH
from sklearn_set._engine.layer import SparseLayer
from sklearn_set._engine.network import OUTPUT_KINDS, SparseMLP
from sklearn_set._engine.threads import kernel_threads

ACTIVATIONS = list(activations.ACTIVATIONS)

requires_bfloat16_dot = pytest.mark.skipif(
    not vectors.use_bfloat16_dot(cpu_target.target_context),
    reason="this CPU has no vdpbf16ps (AVX512_BF16 with AVX512VL)")

# The functions of the kernels' codes, written plainly in NumPy: a function
# added to the table needs its reference here.
REFERENCE_FUNCTIONS = {
    activations.IDENTITY: lambda z, slope: z,
    activations.RELU: lambda z, slope: np.maximum(z, 0),
    activations.LEAKY_RELU: lambda z, slope: np.where(z > 0, z, slope * z),
    activations.TANH: lambda z, slope: np.tanh(z),
    activations.LOGISTIC: lambda z, slope: 1 / (1 + np.exp(-z)),
}


def dense_weights(layer):
    """The layer's weights as a dense (n_in, n_out) array (tests only)."""
    W = np.zeros((layer.n_in, layer.n_out), dtype=np.float64)
    rows = np.repeat(np.arange(layer.n_out), np.diff(layer.indptr))
    W[layer.indices, rows] = layer.values
    return W


def reference_activation(z, code, slope):
    return REFERENCE_FUNCTIONS[code](z, slope)


def reference_loss(net, weights, biases, X, y, sw, alpha, masks=None, rate=0.0):
    """Dense forward pass and batch loss, samples as rows (float64)."""
    a = X.astype(np.float64)
    for l, (W, b) in enumerate(zip(weights[:-1], biases[:-1])):
        code, slope = net.hidden_codes[l]
        a = reference_activation(a @ W + b, code, slope)
        if masks is not None:
            a = np.where(masks[l].T < rate, 0.0, a / (1 - rate))
    z = a @ weights[-1] + biases[-1]
    n = X.shape[0]
    if net.output.name == "softmax":
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        data = -(sw * logp[np.arange(n), y]).sum() / n
    else:
        data = (sw[:, None] * (z - y) ** 2).sum() / (2 * n)
    # L2 over the batch weight sum, as MLPClassifier scales it
    penalty = 0.5 * alpha * sum((W**2).sum() for W in weights) / sw.sum()
    return data + penalty, z


def make_net(activation, output, sizes, sparsity, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    net = SparseMLP(sizes, activation=activation, output=output, dtype=dtype)
    net.initialize(sparsity, rng)
    for layer in net.layers:  # non-zero biases exercise the bias path
        layer.bias[:] = rng.normal(scale=0.1, size=layer.n_out)
    return net


def make_data(net, n, seed):
    rng = np.random.default_rng(seed + 100)
    X = rng.normal(size=(n, net.layer_sizes[0])).astype(net.dtype)
    if net.output.name == "softmax":
        y = rng.integers(0, net.layer_sizes[-1], size=n).astype(np.int32)
    else:
        y = rng.normal(size=(n, net.layer_sizes[-1])).astype(net.dtype)
    sw = rng.uniform(0.5, 1.5, size=n).astype(net.dtype)
    return X, y, sw


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_dense_reference(activation, dtype):
    net = make_net(activation, "softmax", (13, 40, 30, 5), 0.7, 0, dtype)
    X, y, sw = make_data(net, 37, 0)
    weights = [dense_weights(layer) for layer in net.layers]
    biases = [layer.bias.astype(np.float64) for layer in net.layers]
    _, z = reference_loss(net, weights, biases, X, y, sw, 0.0)
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    got = net.predict_output(X)
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 1e-2)


def test_every_function_of_the_table_has_its_kernel_branch():
    """Each kernel code computes its function (a code without a branch of
    its own would fall through to the identity), and the table's functions
    are exactly those with a reference here."""
    assert set(REFERENCE_FUNCTIONS) == set(activations.FUNCTIONS)
    assert {row.code for row in activations.ACTIVATIONS.values()} == set(activations.FUNCTIONS)
    z = np.linspace(-6.0, 6.0, 101)
    for code in activations.FUNCTIONS:
        a = z.copy()
        kernels.activate_inplace(a, code, -0.3)
        np.testing.assert_allclose(a, reference_activation(z, code, -0.3), rtol=1e-14,
                                   atol=1e-300, err_msg=activations.FUNCTIONS[code].name)


def _analytic_gradients(net, X, y, sw, alpha, dropout=0.0, seed=0):
    """One full-batch step with lr=1 and no momentum: grad = old - new."""
    old_w = [layer.values.copy() for layer in net.layers]
    old_b = [layer.bias.copy() for layer in net.layers]
    net.train_epoch(X, y, sw, batch_size=X.shape[0], learning_rate=1.0, momentum=0.0,
                    nesterov=False, alpha=alpha, dropout=dropout, shuffle=False,
                    rng=np.random.default_rng(seed))
    grads_w = [o - layer.values for o, layer in zip(old_w, net.layers)]
    grads_b = [o - layer.bias for o, layer in zip(old_b, net.layers)]
    for layer, w, b in zip(net.layers, old_w, old_b):
        layer.values[:] = w
        layer.bias[:] = b
    return grads_w, grads_b


def _numeric_gradients(net, X, y, sw, alpha, masks=None, rate=0.0, eps=1e-6):
    weights = [dense_weights(layer) for layer in net.layers]
    biases = [layer.bias.astype(np.float64).copy() for layer in net.layers]

    def loss():
        return reference_loss(net, weights, biases, X, y, sw, alpha, masks, rate)[0]

    grads_w, grads_b = [], []
    for layer, W, b in zip(net.layers, weights, biases):
        rows = np.repeat(np.arange(layer.n_out), np.diff(layer.indptr))
        g = np.empty(layer.n_connections)
        for k, (i, j) in enumerate(zip(layer.indices, rows)):
            keep = W[i, j]
            W[i, j] = keep + eps
            up = loss()
            W[i, j] = keep - eps
            down = loss()
            W[i, j] = keep
            g[k] = (up - down) / (2 * eps)
        grads_w.append(g)
        gb = np.empty(layer.n_out)
        for j in range(layer.n_out):
            keep = b[j]
            b[j] = keep + eps
            up = loss()
            b[j] = keep - eps
            down = loss()
            b[j] = keep
            gb[j] = (up - down) / (2 * eps)
        grads_b.append(gb)
    return grads_w, grads_b


# relu and identity are piecewise linear: finite differences are exact away
# from kinks, which random float64 inputs avoid almost surely.
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_gradients_match_finite_differences(activation, output):
    net = make_net(activation, output, (6, 9, 7, 3), 0.5, 1)
    X, y, sw = make_data(net, 11, 1)
    analytic_w, analytic_b = _analytic_gradients(net, X, y, sw, alpha=0.3)
    numeric_w, numeric_b = _numeric_gradients(net, X, y, sw, alpha=0.3)
    for a, n in zip(analytic_w + analytic_b, numeric_w + numeric_b):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "allrelu"])
def test_gradients_with_dropout_match_finite_differences(activation):
    net = make_net(activation, "softmax", (5, 8, 6, 3), 0.4, 2)
    X, y, sw = make_data(net, 9, 2)
    rate = 0.3
    # the engine draws one uniform array per hidden layer, in order
    rng = np.random.default_rng(5)
    masks = [rng.random((n, X.shape[0])) for n in net.layer_sizes[1:-1]]
    analytic_w, analytic_b = _analytic_gradients(net, X, y, sw, 0.1, dropout=rate, seed=5)
    numeric_w, numeric_b = _numeric_gradients(net, X, y, sw, 0.1, masks, rate)
    for a, n in zip(analytic_w + analytic_b, numeric_w + numeric_b):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8)


def test_no_hidden_layer_network_gradients():
    net = make_net("relu", "softmax", (7, 4), 0.5, 3)
    X, y, sw = make_data(net, 10, 3)
    analytic_w, analytic_b = _analytic_gradients(net, X, y, sw, alpha=0.2)
    numeric_w, numeric_b = _numeric_gradients(net, X, y, sw, alpha=0.2)
    for a, n in zip(analytic_w + analytic_b, numeric_w + numeric_b):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_step_follows_its_formula(nesterov):
    net = make_net("tanh", "softmax", (6, 8, 3), 0.5, 4)
    X, y, sw = make_data(net, 12, 4)
    grads_w, _ = _analytic_gradients(net, X, y, sw, alpha=0.05)
    rng = np.random.default_rng(0)
    velocity = [rng.normal(size=layer.n_connections) for layer in net.layers]
    for layer, v in zip(net.layers, velocity):
        # (the gradients' plain SGD step dropped the velocities)
        layer.velocity = v.copy()
        layer.bias_velocity = np.zeros_like(layer.bias)
    old = [layer.values.copy() for layer in net.layers]
    lr, mu = 0.1, 0.8
    net.train_epoch(X, y, sw, batch_size=X.shape[0], learning_rate=lr, momentum=mu,
                    nesterov=nesterov, alpha=0.05, dropout=0.0, shuffle=False, rng=rng)
    for layer, w, v, g in zip(net.layers, old, velocity, grads_w):
        new_v = mu * v - lr * g
        step = mu * new_v - lr * g if nesterov else new_v
        np.testing.assert_allclose(layer.velocity, new_v, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.values, w + step, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_without_momentum_keeps_no_velocity(nesterov, monkeypatch):
    """momentum=0: the layers drop their velocities, the step is
    ``w - lr * g`` (first layer, fused backward and bias steps alike), and
    the weights are those of the momentum step with zero momentum to the
    bit."""
    net = make_net("tanh", "softmax", (6, 8, 7, 3), 0.5, 4)
    X, y, sw = make_data(net, 12, 4)
    grads_w, _ = _analytic_gradients(net, X, y, sw, alpha=0.05)
    old = [layer.values.copy() for layer in net.layers]
    twin = net.copy()
    for layer in twin.layers:
        layer.velocity = np.zeros_like(layer.values)
        layer.bias_velocity = np.zeros_like(layer.bias)
    kw = dict(batch_size=X.shape[0], learning_rate=0.1, momentum=0.0, nesterov=nesterov,
              alpha=0.05, dropout=0.0, shuffle=False)
    net.train_epoch(X, y, sw, rng=np.random.default_rng(0), **kw)
    for layer, w, g in zip(net.layers, old, grads_w):
        assert layer.velocity.size == 0 and layer.bias_velocity.size == 0
        np.testing.assert_allclose(layer.values, w - 0.1 * g, rtol=1e-10, atol=1e-12)
    # the twin keeps zero velocities and takes the momentum step with mu = 0
    monkeypatch.setattr(SparseLayer, "use_optimizer_state", lambda self, **kw: None)
    twin.train_epoch(X, y, sw, rng=np.random.default_rng(0), **kw)
    for a, b in zip(net.layers, twin.layers):
        assert b.velocity.size == b.n_connections
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.bias, b.bias)


@pytest.mark.parametrize("n_chunks", [1, 2, 5])
def test_step_with_counted_positions_equals_stored_positions(n_chunks):
    """The step of a large layer counts by-input positions instead of
    reading them: the same weights and velocities to the bit, whatever the
    number of chunks."""
    rng = np.random.default_rng(3)
    layer = SparseLayer.random(40, 30, 500, rng, activation_code=kernels.RELU,
                               dtype=np.float32)
    _, t_order, _, _, t_position = layout.transpose_order(layer.indptr, layer.indices, 40)
    counted = layout.transpose_order(layer.indptr, layer.indices, 40, n_chunks,
                                      store_positions=False)
    grad = rng.normal(size=500).astype(np.float32)
    f32, sgd = np.float32, (np.float32(0), np.float32(0), np.float32(0))
    no_second = np.empty(0, np.float32)
    results = []
    for position, start in ((t_position, np.empty((0, 40), t_position.dtype)),
                            (counted[4], counted[3])):
        values, velocity = layer.values.copy(), rng.normal(size=500).astype(np.float32)
        velocity[:] = 0.5
        kernels.step_connections(values, velocity, layer.indptr, layer.indices, position,
                                 start, np.empty_like(start), grad, f32(0.1), f32(0.9), True,
                                 f32(1e-3), no_second, sgd)
        results.append((values, velocity))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    # and it is the step of gradient grad[p] for connection k at position p
    expected_v = f32(0.9) * f32(0.5) - f32(0.1) * (grad[t_position] + f32(1e-3) * layer.values)
    np.testing.assert_allclose(results[0][1], expected_v, rtol=1e-5)


def test_large_layers_count_positions_instead_of_storing_them(monkeypatch):
    """Above STORED_POSITIONS_MAX connections a layer keeps no by-input
    position per connection, and trains to the same weights."""
    from sklearn_set._engine import layer as layer_module

    net = make_net("tanh", "softmax", (6, 8, 7, 3), 0.5, 4)
    twin = net.copy()
    X, y, sw = make_data(net, 24, 4)
    kw = dict(batch_size=8, learning_rate=0.1, momentum=0.9, nesterov=True, alpha=1e-3,
              dropout=0.0, shuffle=False)
    net.train_epoch(X, y, sw, rng=np.random.default_rng(0), **kw)
    monkeypatch.setattr(layer_module, "STORED_POSITIONS_MAX", 0)
    twin.train_epoch(X, y, sw, rng=np.random.default_rng(0), **kw)
    assert twin.layers[1].t_position.size == 0 and twin.layers[1].t_start.shape[0] >= 1
    for a, b in zip(net.layers, twin.layers):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.velocity, b.velocity)


def test_minibatch_epoch_equals_sequential_steps():
    """An epoch of several batches is the same as steps on each batch."""
    net = make_net("relu", "identity", (5, 12, 2), 0.5, 6)
    twin = make_net("relu", "identity", (5, 12, 2), 0.5, 6)
    X, y, sw = make_data(net, 20, 6)
    kw = dict(learning_rate=0.05, momentum=0.9, nesterov=True, alpha=1e-3,
              dropout=0.0, shuffle=False)
    net.train_epoch(X, y, sw, batch_size=8, rng=np.random.default_rng(0), **kw)
    for start in range(0, 20, 8):
        sl = slice(start, start + 8)
        twin.train_epoch(X[sl], y[sl], sw[sl], batch_size=8, rng=np.random.default_rng(0), **kw)
    for a, b in zip(net.layers, twin.layers):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-12)


@pytest.mark.parametrize("storage", [np.float32, np.uint16])
def test_results_do_not_depend_on_thread_count(storage):
    outputs = []
    for n_jobs in (1, 2):
        net = make_net("relu", "softmax", (30, 64, 64, 4), 0.8, 7, np.float32)
        net.store_rows_as(storage)
        X, y, sw = make_data(net, 100, 7)
        with kernel_threads(n_jobs):
            for _ in range(3):
                net.train_epoch(X, y, sw, batch_size=16, learning_rate=0.05, momentum=0.9,
                                nesterov=True, alpha=1e-4, dropout=0.2, shuffle=True,
                                rng=np.random.default_rng(1))
            outputs.append(net.predict_output(X))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_transpose_order_groups_by_input():
    rng = np.random.default_rng(0)
    M = sp.random(20, 30, density=0.2, random_state=0, format="csr")  # rows: outputs
    indptr, indices = M.indptr.astype(np.int64), M.indices.astype(np.int32)
    for n_chunks in (1, 3, 20, 25):
        t_indptr, t_order, t_rows, t_start, t_position = layout.transpose_order(
            indptr, indices, 30, n_chunks, store_positions=False)
        assert t_position.shape == (0,)
        T = M.tocsc()
        np.testing.assert_array_equal(t_indptr, T.indptr)
        rows = np.repeat(np.arange(20), np.diff(indptr))
        np.testing.assert_array_equal(t_rows, rows[t_order])
        np.testing.assert_array_equal(indices[t_order],
                                      np.repeat(np.arange(30), np.diff(t_indptr)))
        np.testing.assert_array_equal(np.sort(t_order), np.arange(len(indices)))
        # t_start[c, i]: by-input position of input i's first connection whose
        # output lies in chunk c or later
        assert t_start.shape == (n_chunks, 30)
        for c in range(n_chunks):
            first_output = c * 20 // n_chunks
            for i in range(30):
                p = np.arange(t_indptr[i], t_indptr[i + 1])
                later = p[t_rows[p] >= first_output]
                assert t_start[c, i] == (later[0] if later.size else t_indptr[i + 1])
        # stored, the positions are the inverse permutation
        stored = layout.transpose_order(indptr, indices, 30, n_chunks)
        for a, b in zip(stored[:3], (t_indptr, t_order, t_rows)):
            np.testing.assert_array_equal(a, b)
        assert stored[3].shape == (0, 30)
        np.testing.assert_array_equal(stored[4][t_order], np.arange(len(indices)))
    assert rng is not None


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_gather_csr_matches_dense(index_dtype):
    X = sp.random(15, 9, density=0.3, random_state=1, format="csr", dtype=np.float32)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    rows = np.array([3, 0, 14, 3, 7], dtype=np.int64)
    out = np.full((9, 5), np.nan, dtype=np.float32)
    layout.gather_csr(X.data, X.indices, X.indptr, rows, out)
    np.testing.assert_array_equal(out, X.toarray()[rows].T)
    dense = np.empty((9, 5), dtype=np.float32)
    layout.gather_dense(X.toarray(), rows, dense)
    np.testing.assert_array_equal(dense, out)


def test_gather_dense_many_features():
    """A whole block of 16 samples and a partial one."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 37)).astype(np.float32)
    rows = rng.integers(0, 50, size=19).astype(np.int64)
    out = np.empty((37, 19), dtype=np.float32)
    layout.gather_dense(x, rows, out)
    np.testing.assert_array_equal(out, x[rows].T)


def test_forward_dropout_matches_numpy():
    """Inverted dropout fused into the forward kernel: units whose draw is
    below the rate are zeroed, the others scaled by 1 / (1 - rate); the
    pre-activations are those of the pass without dropout."""
    rng = np.random.default_rng(4)
    net = make_net("tanh", "softmax", (6, 9, 3), 0.5, 4, np.float32)
    layer = net.layers[0]
    a_in = rng.normal(size=(6, 13)).astype(np.float32)
    u = rng.random((9, 13)).astype(np.float32)
    rate, scale = np.float32(0.3), np.float32(1 / 0.7)
    no_mask = np.empty((0, 0), np.float32)
    z1, a1 = np.empty((9, 13), np.float32), np.empty((9, 13), np.float32)
    kernels.sparse_forward(layer.indptr, layer.indices, layer.values, layer.bias, a_in, z1, a1,
                     kernels.TANH, np.float32(0), no_mask, np.float32(0), np.float32(1))
    z2, a2 = np.empty((9, 13), np.float32), np.empty((9, 13), np.float32)
    kernels.sparse_forward(layer.indptr, layer.indices, layer.values, layer.bias, a_in, z2, a2,
                     kernels.TANH, np.float32(0), u, rate, scale)
    assert 0 < np.count_nonzero(u < rate) < u.size
    np.testing.assert_array_equal(z1, z2)
    np.testing.assert_array_equal(a2, np.where(u < rate, np.float32(0), a1 * scale))


@pytest.mark.parametrize("row_length", [1, 3, 4, 7, 8, 9, 12, 13, 17, 30])
def test_forward_and_backward_unrolled_paths(row_length):
    """Rows whose length hits every unroll remainder (8 / 4 / 1) give the
    dense reference's output and gradients."""
    rng = np.random.default_rng(row_length)
    n = 40
    net = SparseMLP((n, n, 3), activation="relu", output="softmax", dtype=np.float64)
    net.initialize(0.0, rng)
    for layer in net.layers:  # exactly row_length connections per output
        keep = np.zeros(layer.n_connections, bool)
        for j in range(layer.n_out):
            lo, hi = layer.indptr[j], layer.indptr[j + 1]
            keep[lo + rng.choice(hi - lo, min(row_length, hi - lo), replace=False)] = True
        rows = np.repeat(np.arange(layer.n_out), np.diff(layer.indptr))[keep]
        layer.indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=layer.n_out))]
        layer.indices = layer.indices[keep]
        layer.values = layer.values[keep]
        layer.velocity = layer.velocity[keep]
        layer.refresh_transpose()
    X, y, sw = make_data(net, 5, row_length)
    weights = [dense_weights(layer) for layer in net.layers]
    biases = [layer.bias.astype(np.float64) for layer in net.layers]
    _, z = reference_loss(net, weights, biases, X, y, sw, 0.0)
    np.testing.assert_allclose(net.predict_output(X),
                               np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-12)
    analytic_w, analytic_b = _analytic_gradients(net, X, y, sw, alpha=0.1)
    numeric_w, numeric_b = _numeric_gradients(net, X, y, sw, alpha=0.1)
    for a, nm in zip(analytic_w + analytic_b, numeric_w + numeric_b):
        np.testing.assert_allclose(a, nm, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 3, 4, 8, 9, 16, 23, 56, 64, 65, 100, 128, 131, 200])
def test_tiled_kernels_match_numpy_for_every_batch_tail(batch, dtype):
    """Forward, fused backward and first-layer gradient against NumPy for
    batches that end in every combination of 8/4/2/1-vector tiles and
    single columns, with rows of every length modulo the connection groups."""
    rng = np.random.default_rng(batch)
    n_in, n_out = 37, 29
    net = SparseMLP((n_in, n_out), activation="relu", output="identity", dtype=dtype)
    net.initialize(0.6, rng)
    layer = net.layers[0]
    assert len(set(np.diff(layer.indptr) % 8)) > 3  # group remainders vary
    layer.bias[:] = rng.normal(size=n_out)
    W = dense_weights(layer)
    a_in = rng.normal(size=(n_in, batch)).astype(dtype)
    d_out = rng.normal(size=(n_out, batch)).astype(dtype)
    tol = {"rtol": 2e-5, "atol": 2e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    one, zero = dtype(1), dtype(0)
    no_mask = np.empty((0, 0), dtype)
    sgd = (zero, zero, zero)  # Adam's (beta_1, beta_2, epsilon): unused by SGD

    z = np.empty((n_out, batch), dtype)
    kernels.sparse_forward(layer.indptr, layer.indices, layer.values, layer.bias, a_in, z, z,
                     kernels.IDENTITY, zero, no_mask, zero, one)
    np.testing.assert_allclose(z, W.T @ a_in + layer.bias[:, None], **tol)

    # lr=1, no momentum or decay: each velocity becomes minus its gradient
    expected_grad = (a_in.astype(np.float64) @ d_out.T.astype(np.float64))[
        layer.indices, np.repeat(np.arange(n_out), np.diff(layer.indptr))]
    values = layer.values.copy()
    velocity = np.zeros_like(layer.velocity)
    bias_in, bias_in_velocity = np.zeros(n_in, dtype), np.zeros(n_in, dtype)
    delta_in = np.empty((n_in, batch), dtype)
    empty_i, empty_f = np.empty(0, np.int64), np.empty(0, dtype)
    grad = np.empty(layer.n_connections, dtype)
    kernels.backward_update(layer.t_indptr, layer.t_order, layer.t_rows, grad, values,
                      a_in, a_in, d_out, delta_in, kernels.IDENTITY, zero, no_mask, zero, one, one,
                      zero, False, zero, bias_in, bias_in_velocity, empty_i,
                      empty_i.astype(np.int32), empty_f, empty_f, a_in, empty_f, empty_f, sgd)
    np.testing.assert_allclose(values, layer.values)  # the step comes next
    kernels.step_connections(values, velocity, layer.indptr, layer.indices, layer.t_position,
                             layer.t_start, layer.t_fill, grad, one, zero, False, zero, empty_f,
                             sgd)
    np.testing.assert_allclose(delta_in, W @ d_out, **tol)
    np.testing.assert_allclose(-velocity, expected_grad, **tol)
    np.testing.assert_allclose(values, layer.values - expected_grad, **tol)
    np.testing.assert_allclose(-bias_in_velocity, (W @ d_out).sum(axis=1), **tol)

    values = layer.values.copy()
    velocity = np.zeros_like(layer.velocity)
    bias, bias_velocity = np.zeros(n_out, dtype), np.zeros(n_out, dtype)
    kernels.update_first_layer(layer.indptr, layer.indices, values, velocity, bias, bias_velocity,
                         a_in, d_out, one, zero, False, zero, empty_f, empty_f, sgd)
    np.testing.assert_allclose(-velocity, expected_grad, **tol)
    np.testing.assert_allclose(-bias_velocity, d_out.sum(axis=1), **tol)


def _vector_loops(asm):
    """(number of ymm FMAs or bfloat16 dot products, number of ymm stack
    accesses, number of ymm left shifts of 32-bit words, number of bfloat16
    dot products) of each block."""
    import re

    blocks, current = [], []
    for line in asm.splitlines():
        if re.match(r"^\S+:", line):
            blocks.append(current)
            current = []
        else:
            current.append(line)
    blocks.append(current)
    return [(sum(("vfmadd" in x or "vdpbf16ps" in x) and "%ymm" in x for x in b),
             sum("(%rsp)" in x and "%ymm" in x for x in b),
             sum("vpslld" in x and "%ymm" in x for x in b),
             sum("vdpbf16ps" in x and "%ymm" in x for x in b)) for b in blocks]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch", [5, 128])
def test_kernels_give_the_same_bits_in_place(activation, batch):
    """The forward kernel with ``a_out`` the same array as ``z_out``, and the
    backward kernel with ``delta_in``, ``z_in`` and ``a_in`` one array (as
    the engine passes them), give the bits of separate arrays: their
    shared-row path only lets the activation loops vectorise."""
    dtype = np.float32
    rng = np.random.default_rng(batch)
    code, slope = activations.hidden_activation_codes(activation, 1)[0]
    slope = dtype(slope)
    n_in, n_out = 41, 23
    net = SparseMLP((n_in, n_out), activation="relu", output="identity", dtype=dtype)
    net.initialize(0.5, rng)
    layer = net.layers[0]
    layer.bias[:] = rng.normal(size=n_out)
    a_in = rng.normal(size=(n_in, batch)).astype(dtype)
    one, zero = dtype(1), dtype(0)
    no_mask = np.empty((0, 0), dtype)
    forward_args = (layer.indptr, layer.indices, layer.values, layer.bias, a_in)
    z, a = np.empty((n_out, batch), dtype), np.empty((n_out, batch), dtype)
    kernels.sparse_forward(*forward_args, z, a, code, slope, no_mask, zero, one)
    shared = np.empty((n_out, batch), dtype)
    kernels.sparse_forward(*forward_args, shared, shared, code, slope, no_mask, zero, one)
    expected = a if code != activations.IDENTITY else z
    np.testing.assert_array_equal(shared.view(np.int32), expected.view(np.int32))

    # backward: the input's pre-activations and activations, then the delta
    z_in = rng.normal(size=(n_in, batch)).astype(dtype)
    f_z = z_in.copy()
    kernels.activate_inplace(f_z.reshape(-1), code, slope)
    d_out = rng.normal(size=(n_out, batch)).astype(dtype)
    sgd = (zero, zero, zero)
    empty_i, empty_f = np.empty(0, np.int64), np.empty(0, dtype)
    deltas = []
    for in_place in (False, True):
        values = layer.values.copy()
        grad = np.empty(layer.n_connections, dtype)
        if in_place:
            # the engine's layout where f(z) reveals z's sign: one array
            rows = z_in if code == activations.IDENTITY else f_z.copy()
            z_arg, a_arg, delta_in = rows, rows, rows
        else:
            z_arg, a_arg, delta_in = z_in, f_z.copy(), np.empty((n_in, batch), dtype)
        kernels.backward_update(layer.t_indptr, layer.t_order, layer.t_rows, grad, values,
                                a_arg, z_arg, d_out, delta_in, code, slope, no_mask, zero,
                                one, one, zero, False, zero, np.zeros(n_in, dtype),
                                np.zeros(n_in, dtype), empty_i, empty_i.astype(np.int32),
                                empty_f, empty_f, a_arg, empty_f, empty_f, sgd)
        deltas.append((delta_in.copy(), grad))
    if slope >= 0:
        # the engine shares the rows only where f(z) shows z's sign
        np.testing.assert_array_equal(deltas[1][0].view(np.int32), deltas[0][0].view(np.int32))
        np.testing.assert_array_equal(deltas[1][1].view(np.int32), deltas[0][1].view(np.int32))


@pytest.mark.parametrize("storage, dot", [
    (np.float32, True), (np.uint16, False),
    pytest.param(np.uint16, True, marks=requires_bfloat16_dot)],
    ids=["float32", "bfloat16 multiply-adds", "bfloat16 dot"])
def test_tiles_stay_in_vector_registers(storage, dot, monkeypatch):
    """On x86-64 with AVX2 and FMA, the tile loops compile to ymm FMAs whose
    accumulators are not spilled to the stack (the point of _simd.py). With
    bfloat16 rows (uint16) the loops widen the rows in vector registers
    (shifts of ymm words) rather than falling back to scalar code; where
    the CPU has ``vdpbf16ps`` (``dot``), the forward tiles and the weight
    gradients' loops take it, nothing spilled; without it (the flag off, as
    on other CPUs) no kernel contains it."""
    import platform

    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if platform.machine() not in ("x86_64", "AMD64") or not (
            features.get("avx2") and features.get("fma")):
        pytest.skip("the assembly check is written for x86-64 with AVX2 and FMA")
    dtype = np.float32
    rng = np.random.default_rng(0)
    net = SparseMLP((64, 64), activation="relu", output="identity", dtype=dtype)
    net.initialize(0.5, rng)
    layer = net.layers[0]
    a = rng.normal(size=(64, 128)).astype(dtype)
    if storage == np.uint16:
        a = to_bfloat16(a)
    d, z, d_in = a.copy(), a.copy(), a.copy()
    one, zero = dtype(1), dtype(0)
    no_mask, empty_i, empty_f = np.empty((0, 0), dtype), np.empty(0, np.int64), np.empty(0, dtype)
    calls = {
        "sparse_forward": (layer.indptr, layer.indices, layer.values, layer.bias, a, z, z,
                           kernels.RELU, zero, no_mask, zero, one),
        "backward_update": (layer.t_indptr, layer.t_order, layer.t_rows,
                            np.empty(layer.n_connections, dtype),
                            layer.values, a, a, d, d_in, kernels.RELU, zero, no_mask, zero, one,
                            zero, zero, False, zero, layer.bias.copy(), layer.bias.copy(),
                            empty_i, empty_i.astype(np.int32), empty_f, empty_f, a, empty_f,
                            empty_f, (zero, zero, zero)),
        "update_first_layer": (layer.indptr, layer.indices, layer.values, layer.velocity,
                               layer.bias, layer.bias_velocity, a, d, zero, zero, False, zero,
                               empty_f, empty_f, (zero, zero, zero)),
    }
    # update_first_layer is a plain numba loop (the tiled version ran slower),
    # so only the absence of spills is checked for it; with vdpbf16ps its dot
    # products are a tile loop of their own.
    tiled_kernels = ("sparse_forward", "backward_update")
    dot_kernels = ("sparse_forward", "backward_update", "update_first_layer")
    monkeypatch.setattr(vectors, "ALLOW_BFLOAT16_DOT", dot)
    for name, args in calls.items():
        # a fresh, uncached compilation: cached code cannot be inspected
        kernel = njit(parallel=True, fastmath=kernels._FASTMATH)(getattr(kernels, name).py_func)
        kernel(*args)
        asm = "\n".join(kernel.inspect_asm().values())
        loops = _vector_loops(asm)
        widest = max(loops)
        if name in tiled_kernels:
            assert widest[0] >= 8, name
        assert all(spills == 0 for fmas, spills, _, _ in loops if fmas >= 8), name
        uses_dot = storage == np.uint16 and dot
        if name == "sparse_forward":
            assert any(n_dots >= 8 for *_, n_dots in loops) == uses_dot
        elif uses_dot and name in dot_kernels:
            assert max(n_dots for *_, n_dots in loops) >= 4, name
        if not uses_dot:
            assert "vdpbf16ps" not in asm, name
        if storage == np.uint16:
            assert all(shifts > 0 for fmas, _, shifts, n_dots in loops
                       if fmas >= 4 and not n_dots), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_velocities_without_gradient_decay_to_zero_not_to_subnormals(dtype):
    """With no gradient, momentum alone shrinks a velocity geometrically; it
    must end at exactly 0, not stuck at a subnormal fixed point."""
    rng = np.random.default_rng(0)
    net = SparseMLP((20, 10), activation="relu", output="identity", dtype=dtype)
    net.initialize(0.5, rng)
    layer = net.layers[0]
    tiny = np.finfo(dtype).tiny
    layer.velocity[:] = 1e3 * tiny
    layer.bias_velocity[:] = -1e3 * tiny
    x = rng.normal(size=(20, 8)).astype(dtype)
    no_gradient = np.zeros((10, 8), dtype)
    zero = dtype(0)
    # 0.9 ** 400 * 1e3 is far below tiny; without the flush the velocities
    # would stop at 4 times the smallest subnormal, which 0.9 maps to itself
    for _ in range(400):
        kernels.update_first_layer(layer.indptr, layer.indices, layer.values, layer.velocity,
                             layer.bias, layer.bias_velocity, x, no_gradient, zero,
                             dtype(0.9), True, zero, layer.second_moment,
                             layer.bias_second_moment, (zero, zero, zero))
    assert np.all(layer.velocity == 0)
    assert np.all(layer.bias_velocity == 0)


def test_tile_loops_refuse_rows_that_are_not_contiguous():
    """The tiled loops load whole vectors of a row: a strided view would be
    read wrongly, so compiling for one is a typing error, not wrong sums."""
    from numba.core.errors import TypingError

    rng = np.random.default_rng(0)
    net = SparseMLP((12, 5), activation="relu", output="identity", dtype=np.float32)
    net.initialize(0.5, rng)
    layer = net.layers[0]
    strided = np.ones((12, 16), np.float32)[:, ::2]
    z = np.empty((5, 8), np.float32)
    zero, one = np.float32(0), np.float32(1)
    with pytest.raises((TypeError, TypingError), match="C-contiguous"):
        kernels.sparse_forward(layer.indptr, layer.indices, layer.values, layer.bias, strided, z, z,
                         kernels.RELU, zero, np.empty((0, 0), np.float32), zero, one)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predictions_do_not_depend_on_the_rest_of_the_batch(dtype):
    """A row's output is bit-identical whether it falls in a whole vector of
    batch columns or in the columns left over after the last one."""
    rng = np.random.default_rng(0)
    net = SparseMLP((30, 40, 40, 5), activation="relu", output="softmax", dtype=dtype)
    net.initialize(0.5, rng)
    X = rng.normal(size=(64, 30)).astype(dtype)
    full = net.predict_output(X)
    for n in range(1, 64):
        np.testing.assert_array_equal(net.predict_output(X[:n]), full[:n])


# -- bfloat16 storage of the rows (dtype="bfloat16") -------------------------
# A kernel given bfloat16 rows forms every sum in float32, lane by lane in
# the order the float32 kernel uses, so each row it stores is the float32
# kernel's row (fed the same bfloat16 values) rounded to the nearest
# bfloat16: bit for bit where no transcendental function is involved. The
# weight gradients, which no row stores, are the exception: they are dot
# products of two bfloat16 rows, taken by vdpbf16ps where the CPU has it,
# in that instruction's order (tests/_bfloat16_dot.py emulates both orders).

def _bf16_layer(n_in, n_out, seed, sparsity=0.6):
    rng = np.random.default_rng(seed)
    net = SparseMLP((n_in, n_out), activation="relu", output="identity", dtype=np.float32)
    net.initialize(sparsity, rng)
    layer = net.layers[0]
    layer.bias[:] = rng.normal(scale=0.1, size=n_out)
    return layer, rng


def _assert_rounded(got16, want32, exact=True):
    """``got16`` (bfloat16 bits) is ``want32`` rounded to nearest even;
    not ``exact``: at most one unit apart, for a few entries only (float32
    tanh and exp may be vectorised differently for the two storages)."""
    want16 = to_bfloat16(want32)
    if exact:
        np.testing.assert_array_equal(got16, want16)
        return
    apart = np.abs(got16.astype(np.int64) - want16.astype(np.int64))
    assert apart.max() <= 1 and np.mean(apart > 0) < 0.01


def _activate_rows(z, code, slope):
    out = np.array(z, dtype=np.float32)
    for row in out:
        kernels.activate_inplace(row, code, slope)
    return out


def _flush(values):
    """float32 ``values`` with subnormals as zeros of their sign, as
    ``vdpbf16ps`` reads its inputs and writes its sums."""
    values = np.array(values, dtype=np.float32)
    tiny = np.abs(values) < np.finfo(np.float32).tiny
    values[tiny] = np.copysign(np.float32(0), values[tiny])
    return values


def _bfloat16_dot_sums(layer, a16):
    """The forward sums of ``vdpbf16ps`` in NumPy: weights rounded to
    bfloat16; the connections of an output taken in pairs (k, k + 1) from
    its first, the product of k + 1 added first, each addition rounded to
    float32; an odd last connection paired with weight 0 and a zero row;
    subnormal inputs and sums flushed to zero."""
    x = _flush(from_bfloat16(a16))
    w = _flush(from_bfloat16(to_bfloat16(layer.values)))
    zero = np.float32(0)
    sums = np.empty((layer.n_out, a16.shape[1]), np.float32)
    for j in range(layer.n_out):
        total = _flush(np.full(a16.shape[1], layer.bias[j], np.float32))
        end = layer.indptr[j + 1]
        with np.errstate(invalid="ignore"):  # inf - inf in the NaN and inf rows
            for k in range(layer.indptr[j], end, 2):
                odd = x[layer.indices[k + 1]] * w[k + 1] if k + 1 < end else zero * zero
                total = _flush(total + odd)
                total = _flush(total + x[layer.indices[k]] * w[k])
        sums[j] = total
    return sums


def _assert_same_floats(got, want):
    """Same NaN positions (NaN payloads may differ), same bits elsewhere."""
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got.view(np.uint32)[ok], want.view(np.uint32)[ok])


@pytest.mark.parametrize("dot", [pytest.param(True, marks=requires_bfloat16_dot), False],
                         ids=["bfloat16 dot", "multiply-adds"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch", [5, 40, 128, 133])
@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_bfloat16_forward_rounds_each_stored_row(activation, batch, rate, dot,
                                                 forward_without_bfloat16_dot):
    """Pre-activations: the float32 sums rounded; activations: f of the
    stored pre-activations, rounded; dropout: of the stored activations,
    rounded. The sums: those of ``vdpbf16ps`` (weights rounded to
    bfloat16, see :func:`_bfloat16_dot_sums`) where the CPU has it, else
    those of the float32 kernel fed the same rows; either agrees with a
    dense float64 product within bfloat16's precision."""
    code, slope = activations.hidden_activation_codes(activation, 1)[0]
    slope = np.float32(slope)
    layer, rng = _bf16_layer(37, 29, batch)
    a16 = to_bfloat16(rng.normal(size=(37, batch)))
    uniform = rng.random((29, batch), dtype=np.float32)
    rate32, scale = np.float32(rate), np.float32(1 / (1 - rate))
    args = (layer.indptr, layer.indices, layer.values, layer.bias)
    z16, out16 = np.empty((29, batch), np.uint16), np.empty((29, batch), np.uint16)
    forward = kernels.sparse_forward if dot else forward_without_bfloat16_dot
    forward(*args, a16, z16, out16, code, slope, uniform, rate32, scale)
    if dot:
        z32 = _bfloat16_dot_sums(layer, a16)
    else:
        z32 = np.empty((29, batch), np.float32)
        kernels.sparse_forward(*args, from_bfloat16(a16), z32, z32, IDENTITY, slope,
                               uniform, np.float32(0), np.float32(1))
    _assert_rounded(z16, z32)
    dense = dense_weights(layer).T @ from_bfloat16(a16).astype(np.float64) + layer.bias[:, None]
    tol = 2e-2 if dot else 1e-5  # the weights' rounding: 2^-9 relative each
    np.testing.assert_allclose(z32, dense, rtol=tol, atol=tol)
    if code == IDENTITY:
        return  # no activation is written to a row of its own (the engine shares z's)
    stored = from_bfloat16(to_bfloat16(_activate_rows(from_bfloat16(z16), code, slope)))
    if rate > 0:
        stored = np.where(uniform < rate, np.float32(0), stored * scale)
    _assert_rounded(out16, stored, exact=code not in (TANH, LOGISTIC))


def _dot_layer(n_in, n_out, seed):
    """A layer whose outputs have odd and even numbers of connections,
    with weights whose bfloat16 rounding goes both ways, ties included, and
    a subnormal weight (flushed by vdpbf16ps)."""
    layer, rng = _bf16_layer(n_in, n_out, seed, sparsity=0.5)
    counts = np.diff(layer.indptr)
    assert (counts % 2 == 0).any() and (counts % 2 == 1).any()
    bits = layer.values.view(np.uint32)
    bits[:8] = (bits[:8] & 0xFFFF0000) | 0x8000  # ties: to even, up or down
    layer.values[8] = 1e-39
    return layer, rng


def _special_rows(rng, n_in, batch):
    """bfloat16 rows of normal values, one scaled down to subnormals, a NaN
    in the last column, and +inf in every other row from the fourth on,
    each at a column of its own while there are columns left (an output
    then gets +-inf there, never inf - inf: NaN there would show a
    connection paired with a real row and weight 0)."""
    a = rng.normal(size=(n_in, batch)).astype(np.float32)
    a[1] *= np.float32(1e-38)
    a[2, batch - 1] = np.nan
    for column, i in enumerate(range(3, n_in, 2)[:batch - 1]):
        a[i, column] = np.inf
    return to_bfloat16(a)


@requires_bfloat16_dot
@pytest.mark.parametrize("batch", [1, 3, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 40, 56, 63,
                                   64, 65, 100, 120, 128, 131, 133, 200])
def test_bfloat16_dot_forward_matches_its_emulation(batch):
    """The forward sums with ``vdpbf16ps``, bit for bit against NumPy
    (:func:`_bfloat16_dot_sums`), at batches that end in every combination
    of 8/4/2/1-vector tiles and leftover columns, for outputs of odd and
    even connection counts, with NaN, infinite and subnormal entries:
    stored in bfloat16 (hidden layers) and in float32 (the output layer)."""
    layer, rng = _dot_layer(37, 29, batch)
    a16 = _special_rows(rng, 37, batch)
    want = _bfloat16_dot_sums(layer, a16)
    f32, zero, one = np.float32, np.float32(0), np.float32(1)
    no_mask = np.empty((0, 0), f32)
    args = (layer.indptr, layer.indices, layer.values, layer.bias, a16)
    z16 = np.empty((29, batch), np.uint16)
    kernels.sparse_forward(*args, z16, z16, IDENTITY, zero, no_mask, zero, one)
    z32 = np.empty((29, batch), f32)
    kernels.sparse_forward(*args, z32, z32, IDENTITY, zero, no_mask, zero, one)
    _assert_same_floats(z32, want)
    _assert_same_floats(from_bfloat16(z16), from_bfloat16(to_bfloat16(want)))
    assert np.isnan(want).any() and (batch == 1 or np.isinf(want).any())
    # the weights' rounding matters here: the float32 weights give other sums
    exact = np.empty((29, batch), f32)
    kernels.sparse_forward(layer.indptr, layer.indices, layer.values, layer.bias,
                           from_bfloat16(a16), exact, exact, IDENTITY, zero, no_mask, zero, one)
    assert not np.array_equal(exact, z32)


@requires_bfloat16_dot
def test_bfloat16_dot_forward_does_not_depend_on_the_rest_of_the_batch():
    """A column's sums are the same bits in a tile of 8, 4, 2 or 1 vectors
    or among the columns left over after the last vector."""
    layer, rng = _dot_layer(37, 29, 0)
    a16 = to_bfloat16(rng.normal(size=(37, 135)))
    f32, zero, one = np.float32, np.float32(0), np.float32(1)
    no_mask = np.empty((0, 0), f32)

    def forward(rows):
        z = np.empty((29, rows.shape[1]), np.uint16)
        kernels.sparse_forward(layer.indptr, layer.indices, layer.values, layer.bias,
                               np.ascontiguousarray(rows), z, z, IDENTITY, zero, no_mask, zero,
                               one)
        return z

    full = forward(a16)
    for start, stop in [(0, 5), (3, 20), (64, 135), (7, 135), (130, 135), (1, 2)]:
        np.testing.assert_array_equal(forward(a16[:, start:stop]), full[:, start:stop])


def test_bfloat16_forward_without_the_dot_product_multiplies_float32_weights(
        forward_without_bfloat16_dot):
    """Compiled for a CPU without ``vdpbf16ps``, the forward pass over
    bfloat16 rows multiplies the float32 weights (no rounding), with the
    special rows of the dot product's test: the float32 kernel's sums of
    the widened rows, rounded."""
    layer, rng = _dot_layer(37, 29, 1)
    a16 = _special_rows(rng, 37, 133)
    f32, zero, one = np.float32, np.float32(0), np.float32(1)
    no_mask = np.empty((0, 0), f32)
    z16 = np.empty((29, 133), np.uint16)
    forward_without_bfloat16_dot(layer.indptr, layer.indices, layer.values, layer.bias, a16,
                                 z16, z16, IDENTITY, zero, no_mask, zero, one)
    z32 = np.empty((29, 133), f32)
    kernels.sparse_forward(layer.indptr, layer.indices, layer.values, layer.bias,
                           from_bfloat16(a16), z32, z32, IDENTITY, zero, no_mask, zero, one)
    _assert_same_floats(from_bfloat16(z16), from_bfloat16(to_bfloat16(z32)))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch", [5, 40, 128, 133])
@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_bfloat16_backward_rounds_the_input_deltas(activation, batch, rate):
    """The fused backward pass with bfloat16 rows: input deltas are the
    float32 kernel's rounded; weight gradients, bias step and the fused
    first layer's step are the float32 sums of the stored values."""
    code, slope = activations.hidden_activation_codes(activation, 1)[0]
    slope = np.float32(slope)
    n_x, n_in, n_out = 23, 37, 29
    layer, rng = _bf16_layer(n_in, n_out, batch)
    first, _ = _bf16_layer(n_x, n_in, batch + 1)
    x16 = to_bfloat16(rng.normal(size=(n_x, batch)))
    z16 = to_bfloat16(rng.normal(size=(n_in, batch)))
    a16 = to_bfloat16(_activate_rows(from_bfloat16(z16), code, slope))
    d_out16 = to_bfloat16(rng.normal(size=(n_out, batch)))
    keep = rng.random((n_in, batch), dtype=np.float32)
    if rate > 0:  # a_in holds the dropped-out activations, as the engine's
        a16 = to_bfloat16(np.where(keep < rate, 0, from_bfloat16(a16) / np.float32(1 - rate)))
    f32 = np.float32
    lr, zero = f32(0.1), f32(0)
    empty = np.empty(0, f32)
    # the biases of the layer below, whose deltas these are
    bias16, bias32 = first.bias.copy(), first.bias.copy()
    first_values = first.values.copy()

    def run(rows, x, d_in, grad, bias, first_arrays):
        a_in, z_in, d_out = rows
        kernels.backward_update(
            layer.t_indptr, layer.t_order, layer.t_rows, grad, layer.values.copy(), a_in, z_in,
            d_out, d_in, code, slope, keep, f32(rate), f32(1 / (1 - rate)), lr, zero, False,
            zero, bias, empty, *first_arrays, x, empty, empty, (zero, zero, zero))

    d_in16 = np.empty((n_in, batch), np.uint16)
    grad16 = np.empty(layer.n_connections, f32)
    run((a16, z16, d_out16), x16, d_in16, grad16, bias16,
        (first.indptr, first.indices, first_values, empty))
    d_in32 = np.empty((n_in, batch), f32)
    grad32 = np.empty(layer.n_connections, f32)
    no_first = (np.empty(0, np.int64), np.empty(0, np.int32), empty, empty)
    run(tuple(from_bfloat16(r) for r in (a16, z16, d_out16)), from_bfloat16(x16), d_in32,
        grad32, bias32, no_first)
    _assert_rounded(d_in16, d_in32)
    # the weight gradients in by-input order, against float64 products
    A, D = from_bfloat16(a16).astype(np.float64), from_bfloat16(d_out16).astype(np.float64)
    rows = np.repeat(np.arange(n_out), np.diff(layer.indptr))
    want = (D @ A.T)[rows, layer.indices]
    np.testing.assert_allclose(grad16[layer.t_position], want, rtol=1e-5, atol=1e-5)
    # the steps below read the stored (rounded) deltas
    delta = from_bfloat16(d_in16).astype(np.float64)
    np.testing.assert_allclose(bias16, first.bias - 0.1 * delta.sum(axis=1), rtol=1e-5,
                               atol=1e-5)
    X = from_bfloat16(x16).astype(np.float64)
    first_rows = np.repeat(np.arange(n_in), np.diff(first.indptr))
    step = -0.1 * (delta @ X.T)[first_rows, first.indices]
    np.testing.assert_allclose(first_values - first.values, step, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("output", ["softmax", "logistic", "identity"])
def test_bfloat16_output_deltas_are_the_float32_ones_rounded(output):
    rng = np.random.default_rng(3)
    n_out, batch = 7, 45
    z = rng.normal(size=(n_out, batch)).astype(np.float32)
    weight = rng.uniform(0.5, 1.5, size=batch).astype(np.float32)
    if output == "softmax":
        target = rng.integers(0, n_out, size=batch).astype(np.int32)
    else:
        target = (rng.random((n_out, batch)) < 0.5).astype(np.float32)
    loss = OUTPUT_KINDS[output].loss
    proba = np.empty_like(z)
    d32, d16 = np.empty_like(z), np.empty((n_out, batch), np.uint16)
    assert loss(z, target, weight, proba, d16) == loss(z, target, weight, proba, d32)
    _assert_rounded(d16, d32)


def test_bfloat16_gathers_round_the_inputs():
    rng = np.random.default_rng(4)
    X = sp.random(40, 33, density=0.4, random_state=4, format="csr", dtype=np.float32)
    rows = rng.integers(0, 40, size=21).astype(np.int64)
    dense16, csr16 = np.empty((33, 21), np.uint16), np.empty((33, 21), np.uint16)
    layout.gather_dense(X.toarray(), rows, dense16)
    layout.gather_csr(X.data, X.indices, X.indptr, rows, csr16)
    _assert_rounded(dense16, X.toarray()[rows].T)
    np.testing.assert_array_equal(csr16, dense16)


@pytest.mark.parametrize("batch", [5, 128])
def test_bfloat16_first_layer_update_sums_the_stored_rows(batch):
    layer, rng = _bf16_layer(31, 19, batch)
    x16 = to_bfloat16(rng.normal(size=(31, batch)))
    d16 = to_bfloat16(rng.normal(size=(19, batch)))
    values, bias = layer.values.copy(), layer.bias.copy()
    f32, empty = np.float32, np.empty(0, np.float32)
    zero = f32(0)
    kernels.update_first_layer(layer.indptr, layer.indices, values, empty, bias, empty, x16,
                               d16, f32(0.1), zero, False, zero, empty, empty,
                               (zero, zero, zero))
    X, D = from_bfloat16(x16).astype(np.float64), from_bfloat16(d16).astype(np.float64)
    rows = np.repeat(np.arange(19), np.diff(layer.indptr))
    np.testing.assert_allclose(values - layer.values, -0.1 * (D @ X.T)[rows, layer.indices],
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bias - layer.bias, -0.1 * D.sum(axis=1), rtol=1e-5, atol=1e-6)


_HAS_BFLOAT16_DOT = vectors.use_bfloat16_dot(cpu_target.target_context)


@pytest.fixture(scope="module")
def kernels_without_bfloat16_dot():
    """backward_update and update_first_layer compiled afresh (uncached) as
    for a CPU without vdpbf16ps: ALLOW_BFLOAT16_DOT is False while they
    compile, at their first call."""
    fresh = {name: njit(parallel=True, fastmath=kernels._FASTMATH)(
        getattr(kernels, name).py_func) for name in ("backward_update", "update_first_layer")}

    def run(name, *args):
        allowed = vectors.ALLOW_BFLOAT16_DOT
        vectors.ALLOW_BFLOAT16_DOT = False
        try:
            fresh[name](*args)
        finally:
            vectors.ALLOW_BFLOAT16_DOT = allowed

    return run


def _kernel_runner(instruction, kernels_without):
    if not instruction:
        return kernels_without
    if not _HAS_BFLOAT16_DOT:
        pytest.skip("this CPU has no vdpbf16ps (AVX512_BF16 with AVX512VL)")
    return lambda name, *args: getattr(kernels, name)(*args)


def _rows_with_tiny_ones(rng, shape, n_tiny):
    """bfloat16 rows of normal values, the first ``n_tiny`` of subnormal
    ones (which vdpbf16ps reads as zeros)."""
    values = rng.normal(size=shape).astype(np.float32)
    values[:n_tiny] *= np.float32(1e-39)
    return to_bfloat16(values)


@pytest.mark.parametrize("instruction", [True, False])
@pytest.mark.parametrize("batch", [5, 16, 40, 128, 133, 143])
def test_bfloat16_weight_gradients_in_the_dot_order(instruction, batch,
                                                    kernels_without_bfloat16_dot):
    """The hidden layers' weight gradients with bfloat16 rows, bit for bit:
    per whole block of 16 columns one vdpbf16ps (odd product first,
    subnormals flushed) where the CPU has it, else two multiply-adds (even
    first); then the lanes, then the other columns in order. The first
    layer's gradients, fused or in update_first_layer, take the same order
    with the instruction; without it they are LLVM's vectorised loop."""
    run = _kernel_runner(instruction, kernels_without_bfloat16_dot)
    n_x, n_in, n_out = 23, 37, 29
    layer, rng = _bf16_layer(n_in, n_out, batch)
    first, _ = _bf16_layer(n_x, n_in, batch + 1)
    # inputs with subnormal rows; deltas large, so that their products with
    # those rows are normal numbers, which the flush removes
    a16 = _rows_with_tiny_ones(rng, (n_in, batch), 4)
    x16 = _rows_with_tiny_ones(rng, (n_x, batch), 4)
    d_out16 = to_bfloat16(rng.normal(size=(n_out, batch)) * 1e30)
    f32 = np.float32
    one, zero = f32(1), f32(0)
    empty = np.empty(0, f32)
    sgd = (zero, zero, zero)
    # lr=1, momentum 0: each velocity becomes minus its gradient, exactly
    grad = np.empty(layer.n_connections, f32)
    first_values, first_velocity = first.values.copy(), np.zeros(first.n_connections, f32)
    d_in16 = np.empty((n_in, batch), np.uint16)
    run("backward_update", layer.t_indptr, layer.t_order, layer.t_rows, grad,
        layer.values.copy(), a16, a16, d_out16, d_in16, IDENTITY, zero,
        np.empty((0, 0), f32), zero, one, one, zero, False, zero, first.bias.copy(),
        np.zeros(n_in, f32), first.indptr, first.indices, first_values, first_velocity, x16,
        empty, empty, sgd)
    inputs = np.repeat(np.arange(n_in), np.diff(layer.t_indptr))
    want = [row_dot(d_out16[j], a16[i], instruction) for i, j in zip(inputs, layer.t_rows)]
    np.testing.assert_array_equal(grad, np.array(want, f32))

    velocity = np.zeros(first.n_connections, f32)
    d16 = to_bfloat16(rng.normal(size=(n_in, batch)) * 1e30)
    run("update_first_layer", first.indptr, first.indices, first.values.copy(), velocity,
        first.bias.copy(), np.zeros(n_in, f32), x16, d16, one, zero, False, zero, empty,
        empty, sgd)
    outputs = np.repeat(np.arange(n_in), np.diff(first.indptr))
    for got, deltas in ((-first_velocity, d_in16), (-velocity, d16)):
        want = np.array([row_dot(deltas[j], x16[i], instruction)
                         for i, j in zip(first.indices, outputs)], f32)
        if instruction:
            np.testing.assert_array_equal(got, want)
        else:
            # LLVM's vectorised loop, in an order of its own: against float64,
            # to float32's precision relative to the largest gradient
            D, X = from_bfloat16(deltas).astype(np.float64), from_bfloat16(x16).astype(np.float64)
            exact = (D @ X.T)[outputs, first.indices]
            np.testing.assert_allclose(got, exact, rtol=1e-5, atol=1e-6 * np.abs(exact).max())
