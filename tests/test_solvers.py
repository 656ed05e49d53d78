"""Adam, the learning-rate schedules and the rewiring schedule, checked
against plain NumPy and against MLPClassifier's optimizers."""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SETRegressor
from sklearn_set._engine._kernels import layout
from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine.network import SparseMLP, adam_rate
from sklearn_set._evolution.policies import ZETA_SCHEDULES
from sklearn_set._evolution.rules import grow, prune_weakest

BETAS = (0.9, 0.999, 1e-8)


def _numpy_adam(w, m, v, g, lr, beta_1, beta_2, epsilon):
    """One Adam update with the rate ``lr`` already bias-corrected."""
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    return w - lr * m / (np.sqrt(v) + epsilon), m, v


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_step_of_a_few_connections_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    n = 7
    values = rng.normal(size=n).astype(dtype)
    first = rng.normal(size=n).astype(dtype) * dtype(0.1)
    second = rng.random(n).astype(dtype) * dtype(0.01)
    grad = rng.normal(size=n).astype(dtype)
    # three outputs, five inputs; the kernel finds the gradient of connection
    # k at its by-input position
    indptr = np.array([0, 3, 5, n], np.int64)
    indices = np.array([0, 2, 4, 1, 2, 0, 3], np.int32)
    _, t_order, _, t_start, t_position = layout.transpose_order(indptr, indices, 5, 2,
                                                                 store_positions=False)
    t_grad = grad[t_order]
    lr, decay = dtype(0.003), dtype(0.01)
    moments = tuple(dtype(b) for b in BETAS)
    expected = _numpy_adam(values.astype(np.float64), first.astype(np.float64),
                           second.astype(np.float64), grad + 0.01 * values.astype(np.float64),
                           0.003, *BETAS)
    kernels.step_connections(values, first, indptr, indices, t_position, t_start,
                             np.empty_like(t_start), t_grad, lr, dtype(0.9), True, decay,
                             second, moments)
    # float32: 1 - beta_2 itself is off by 5e-5 relative
    tol = {"rtol": 2e-4} if dtype == np.float32 else {"rtol": 1e-12}
    for got, want in zip((values, first, second), expected):
        np.testing.assert_allclose(got, want, **tol)

    # biases: the gradient is the batch sum of the deltas, no decay
    bias = rng.normal(size=3).astype(dtype)
    bias_first, bias_second = np.zeros(3, dtype), np.zeros(3, dtype)
    delta = rng.normal(size=(3, 5)).astype(dtype)
    expected = _numpy_adam(bias.astype(np.float64), 0.0, 0.0,
                           delta.astype(np.float64).sum(axis=1), 0.003, *BETAS)
    kernels.update_bias(bias, bias_first, delta, lr, dtype(0.9), True, bias_second, moments)
    for got, want in zip((bias, bias_first, bias_second), expected):
        np.testing.assert_allclose(got, want, **tol)


def _dense(layer):
    W = np.zeros((layer.n_in, layer.n_out))
    rows = np.repeat(np.arange(layer.n_out), np.diff(layer.indptr))
    W[layer.indices, rows] = layer.values
    return W


def _numpy_training(net, X, y, batch_size, lr_init, alpha, n_updates):
    """Minibatches of Adam on the network's dense equivalent (relu hidden
    layers, softmax output), in order: the expected weights, biases and
    moments of every layer."""
    Ws = [_dense(layer) for layer in net.layers]
    masks = [W != 0 for W in Ws]
    bs = [layer.bias.astype(np.float64) for layer in net.layers]
    mW = [np.zeros_like(W) for W in Ws]
    vW = [np.zeros_like(W) for W in Ws]
    mb = [np.zeros_like(b) for b in bs]
    vb = [np.zeros_like(b) for b in bs]
    for t, start in enumerate(range(0, X.shape[0], batch_size), start=n_updates + 1):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        nb = xb.shape[0]
        acts, zs = [xb], []
        for W, b in zip(Ws[:-1], bs[:-1]):
            zs.append(acts[-1] @ W + b)
            acts.append(np.maximum(zs[-1], 0))
        out = acts[-1] @ Ws[-1] + bs[-1]
        p = np.exp(out - out.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        delta = p.copy()
        delta[np.arange(nb), yb] -= 1
        delta /= nb
        lr = lr_init * math.sqrt(1 - BETAS[1] ** t) / (1 - BETAS[0] ** t)
        grads = []
        for l in range(len(Ws) - 1, -1, -1):
            gW = (acts[l].T @ delta + alpha / nb * Ws[l]) * masks[l]
            gb = delta.sum(axis=0)
            grads.append((l, gW, gb))
            if l:
                delta = (delta @ Ws[l].T) * (zs[l - 1] > 0)
        for l, gW, gb in grads:
            Ws[l], mW[l], vW[l] = _numpy_adam(Ws[l], mW[l], vW[l], gW, lr, *BETAS)
            Ws[l] *= masks[l]
            bs[l], mb[l], vb[l] = _numpy_adam(bs[l], mb[l], vb[l], gb, lr, *BETAS)
    return Ws, bs, mW, vW, mb, vb


@pytest.mark.parametrize("n_batches", [1, 3])
def test_adam_training_steps_equal_numpy(n_batches):
    """The engine's fused kernels (first layer inside the backward pass of
    the second, the middle layer's connection step, the output biases) take
    exactly the Adam steps of a dense NumPy computation on the same
    connections; the bias correction counts steps across epochs."""
    rng = np.random.default_rng(1)
    sizes = (12, 10, 8, 4)
    net = SparseMLP(sizes, activation="relu", output="softmax", dtype=np.float64)
    net.initialize(0.5, rng)
    for layer in net.layers:
        layer.bias[:] = rng.normal(size=layer.n_out) * 0.1
    n = 6 * n_batches
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], n).astype(np.int32)
    alpha, lr = 0.05, 0.01
    n_updates = 5  # as if five steps came before: rates use t = 6, 7, ...
    expected = _numpy_training(net, X, y, 6, lr, alpha, n_updates)
    net.train_epoch(X, y, np.ones(n), batch_size=6, learning_rate=lr, momentum=0.9,
                    nesterov=True, alpha=alpha, dropout=0.0, shuffle=False,
                    rng=np.random.default_rng(0), moments=BETAS, n_updates=n_updates)
    Ws, bs, mW, vW, mb, vb = expected
    for l, layer in enumerate(net.layers):
        rows = np.repeat(np.arange(layer.n_out), np.diff(layer.indptr))
        np.testing.assert_allclose(layer.values, Ws[l][layer.indices, rows], rtol=1e-10)
        np.testing.assert_allclose(layer.velocity, mW[l][layer.indices, rows], rtol=1e-10,
                                   atol=1e-15)
        np.testing.assert_allclose(layer.second_moment, vW[l][layer.indices, rows],
                                   rtol=1e-10, atol=1e-18)
        np.testing.assert_allclose(layer.bias, bs[l], rtol=1e-10)
        np.testing.assert_allclose(layer.bias_velocity, mb[l], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer.bias_second_moment, vb[l], rtol=1e-10, atol=1e-18)


def test_adam_rate_is_scikit_learns():
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer

    params = [np.zeros(3)]
    opt = AdamOptimizer(params, learning_rate_init=0.002, beta_1=0.8, beta_2=0.99,
                        epsilon=1e-7)
    for t in range(1, 5):
        opt.update_params(params, [np.ones(3)])
        assert adam_rate(0.002, (0.8, 0.99, 1e-7), t) == pytest.approx(opt.learning_rate,
                                                                        rel=1e-14)


def keys_of(layer):
    """Each connection's position key, output-major, in storage order."""
    rows = np.repeat(np.arange(layer.n_out, dtype=np.int64), np.diff(layer.indptr))
    return rows * layer.n_in + layer.indices.astype(np.int64)


def test_moments_follow_their_connections_through_pruning_and_regrowth():
    rng = np.random.default_rng(3)
    net = SparseMLP((30, 20, 5), activation="relu", output="softmax", dtype=np.float32)
    net.initialize(0.6, rng)
    layer = net.layers[0]
    layer.use_optimizer_state(velocity=True, second_moments=True)
    layer.velocity[:] = rng.random(layer.n_connections)
    layer.second_moment[:] = rng.random(layer.n_connections)
    before = dict(zip(keys_of(layer), zip(layer.velocity, layer.second_moment)))
    prune_weakest(layer, 0.3)
    assert layer.second_moment.shape == layer.values.shape
    for key, m, v in zip(keys_of(layer), layer.velocity, layer.second_moment):
        assert (m, v) == before[key]
    kept = set(keys_of(layer))
    assert grow(layer, layer.sample_free(40, rng), rng) == 40
    assert layer.second_moment.shape == layer.values.shape
    for key, m, v in zip(keys_of(layer), layer.velocity, layer.second_moment):
        if key in kept:
            assert (m, v) == before[key]
        else:  # regrown: zero moments
            assert m == 0 and v == 0
    twin = layer.copy()
    np.testing.assert_array_equal(twin.second_moment, layer.second_moment)
    keep = np.arange(layer.n_connections) % 3 > 0
    survivors = layer.second_moment[keep].copy()
    layer.drop(keep)
    np.testing.assert_array_equal(layer.second_moment, survivors)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sgd_layers_carry_no_second_moments():
    digits = load_digits()
    X = StandardScaler().fit_transform(digits.data[:200])
    clf = SETClassifier(hidden_layer_sizes=(20,), solver="sgd", max_iter=2,
                        random_state=0).fit(X, digits.target[:200])
    assert all(layer.second_moment.size == 0 for layer in clf._network.layers)
    clf.set_params(solver="adam", warm_start=True).fit(X, digits.target[:200])
    for layer in clf._network.layers:
        assert layer.second_moment.shape == layer.values.shape
        assert np.any(layer.second_moment > 0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_learning_rate_schedule_follows_mlpclassifier(learning_rate):
    """After the same epochs, the SGD step size is the one MLPClassifier's
    optimizer holds: invscaling after each epoch, adaptive divided by 5 at
    each stall of ``n_iter_no_change`` epochs (a huge ``tol`` makes every
    epoch after the first a stall, in both)."""
    digits = load_digits()
    X = StandardScaler().fit_transform(digits.data[:300])
    y = digits.target[:300]
    common = dict(solver="sgd", learning_rate=learning_rate, learning_rate_init=0.01,
                  power_t=0.4, max_iter=9, tol=1e9, n_iter_no_change=1, batch_size=50,
                  random_state=0)
    dense = MLPClassifier(hidden_layer_sizes=(10,), **common).fit(X, y)
    sparse = SETClassifier(hidden_layer_sizes=(10,), **common).fit(X, y)
    assert sparse.n_iter_ == dense.n_iter_
    assert sparse._learning_rate == pytest.approx(dense._optimizer.learning_rate, rel=1e-12)


def test_adaptive_schedule_stops_once_the_rate_is_tiny():
    digits = load_digits()
    X = StandardScaler().fit_transform(digits.data[:300])
    y = digits.target[:300]
    common = dict(solver="sgd", learning_rate="adaptive", learning_rate_init=1e-5,
                  max_iter=50, tol=1e9, n_iter_no_change=1, batch_size=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = MLPClassifier(hidden_layer_sizes=(10,), **common).fit(X, y)
    sparse = SETClassifier(hidden_layer_sizes=(10,), **common).fit(X, y)
    assert sparse.n_iter_ == dense.n_iter_ < 50


def test_adam_ignores_the_schedule_as_mlpclassifier_does():
    digits = load_digits()
    X = StandardScaler().fit_transform(digits.data[:300])
    y = digits.target[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [SETClassifier(hidden_layer_sizes=(10,), solver="adam", learning_rate=schedule,
                              learning_rate_init=0.001, max_iter=3, random_state=0).fit(X, y)
                for schedule in ("constant", "invscaling")]
    np.testing.assert_array_equal(fits[0].loss_curve_, fits[1].loss_curve_)


def test_cosine_zeta_schedule():
    cosine = ZETA_SCHEDULES["cosine"]
    assert cosine(0.0) == 1.0
    assert cosine(0.5) == pytest.approx(0.5)
    assert cosine(1.0) == pytest.approx(0.0, abs=1e-15)
    assert cosine(2.0) == pytest.approx(0.0, abs=1e-15)  # warm start past max_iter
    X = StandardScaler().fit_transform(load_digits().data[:300])
    y = load_digits().target[:300]
    clf = SETClassifier(hidden_layer_sizes=(40,), zeta=0.4, zeta_schedule="cosine",
                        max_iter=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [clf._zeta(e) for e in (0, 4, 8)] == pytest.approx([0.4, 0.2, 0.0], abs=1e-12)


def test_regressor_trains_with_adam():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = SETRegressor(hidden_layer_sizes=(32,), solver="adam", learning_rate_init=0.01,
                           max_iter=30, random_state=0).fit(X[:300], y[:300])
    assert reg.score(X[300:], y[300:]) > 0.3
