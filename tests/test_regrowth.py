"""Regrowth rules and connectivity policies: invariants of an evolution,
the gradient rule against dense numpy, and the ``regrowth`` parameter of
the estimators.

References here are computed independently of the library: dense 0/1
adjacency matrices for reachability, a sort-based magnitude pruning, dense
forward and backward passes for gradients.
"""

import copy
import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_set import AccSETClassifier, SETClassifier, SETRegressor
from sklearn_set._engine._kernels import topology as topology_kernels
from sklearn_set._engine.layer import SparseLayer
from sklearn_set._engine.network import SparseMLP
from sklearn_set._evolution.policies import AccSETPolicy, SETPolicy
from sklearn_set._evolution.rules import (
    NEW_WEIGHT_SCALE,
    REGROWTH_RULES,
    GradientRegrowth,
    RegrowthRule,
    core_widths,
    make_regrowth,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RULES = ["random", "connected", "gradient"]

# -- references -------------------------------------------------------------------


def keys_of(layer):
    """Key ``j * n_in + i`` of every connection, in storage order."""
    rows = np.repeat(np.arange(layer.n_out, dtype=np.int64), np.diff(layer.indptr))
    return rows * layer.n_in + layer.indices.astype(np.int64)


def check_storage(layer):
    """CSR by output, inputs sorted and distinct within each output, in range."""
    assert layer.indptr.shape == (layer.n_out + 1,)
    assert layer.indptr[0] == 0 and layer.indptr[-1] == layer.n_connections
    assert np.all(np.diff(layer.indptr) >= 0)
    assert layer.values.shape == layer.velocity.shape == layer.indices.shape
    if layer.n_connections:
        assert layer.indices.min() >= 0 and layer.indices.max() < layer.n_in
    keys = keys_of(layer)
    assert np.all(np.diff(keys) > 0), "unsorted or duplicate connections"


def dense_adjacency(layer):
    A = np.zeros((layer.n_in, layer.n_out), dtype=bool)
    keys = keys_of(layer)
    A[keys % layer.n_in, keys // layer.n_in] = True
    return A


def dense_reach(layers):
    """Forward and backward reachability per unit layer by boolean products."""
    adjacency = [dense_adjacency(layer) for layer in layers]
    forward = [np.ones(adjacency[0].shape[0], dtype=bool)]
    for A in adjacency:
        forward.append((forward[-1].astype(np.int64) @ A.astype(np.int64)) > 0)
    backward = [np.ones(adjacency[-1].shape[1], dtype=bool)]
    for A in reversed(adjacency):
        backward.insert(0, (A.astype(np.int64) @ backward[0].astype(np.int64)) > 0)
    return forward, backward


def dense_active_keys(layers):
    """Per layer, the set of keys of connections on an input-to-output path."""
    forward, backward = dense_reach(layers)
    out = []
    for l, layer in enumerate(layers):
        keys = keys_of(layer)
        ok = forward[l][keys % layer.n_in] & backward[l + 1][keys // layer.n_in]
        out.append(set(keys[ok].tolist()))
    return out


def magnitude_survivors(keys, values, zeta):
    """SET's pruning by sorting: drop ``int(zeta * count)`` of the
    non-negative weights closest to zero and as many (by their own count) of
    the negative ones; the surviving keys as a set."""
    keys, values = np.asarray(keys), np.asarray(values, dtype=np.float64)
    gone = set()
    for sign in (values >= 0, values < 0):
        k, v = keys[sign], np.abs(values[sign])
        n = int(zeta * k.shape[0])
        gone.update(k[np.argsort(v, kind="stable")[:n]].tolist())
    return set(keys.tolist()) - gone


def expected_survivors(net, rule, zeta):
    """Per layer, the keys a rule's pruning keeps: magnitude pruning, after
    removing the connections on no path first for "connected"."""
    active = dense_active_keys(net.layers) if rule == "connected" else None
    out = []
    for l, layer in enumerate(net.layers):
        keys, values = keys_of(layer), layer.values
        if layer.n_connections == layer.size:  # a dense layer is not rewired
            out.append(set(keys.tolist()))
            continue
        if active is not None:
            live = np.isin(keys, list(active[l]))
            keys, values = keys[live], values[live]
        out.append(magnitude_survivors(keys, values, zeta))
    return out


def state_of(layer):
    keys = keys_of(layer)
    return {int(k): (float(v), float(m)) for k, v, m in zip(keys, layer.values, layer.velocity)}


def dense_weights(layer):
    W = np.zeros((layer.n_in, layer.n_out))
    keys = keys_of(layer)
    W[keys % layer.n_in, keys // layer.n_in] = layer.values
    return W


def dense_signals(net, X, y, weight, rows):
    """Activations entering and deltas leaving each layer (feature-major,
    float64) of a relu network, by dense numpy: softmax cross-entropy or
    squared error, each sample weighted by ``weight`` and the sum divided by
    the number of samples (as ``_kernels.losses.softmax_cross_entropy`` and
    ``squared_error``)."""
    a = np.asarray(X, dtype=np.float64)[rows].T
    activations, pre = [], []
    for l, layer in enumerate(net.layers):
        activations.append(a)
        z = dense_weights(layer).T @ a + layer.bias.astype(np.float64)[:, None]
        pre.append(z)
        a = np.maximum(z, 0) if l < len(net.layers) - 1 else z
    n = len(rows)
    w = np.asarray(weight, dtype=np.float64)[rows]
    if net.output.name == "softmax":
        e = np.exp(a - a.max(axis=0))
        proba = e / e.sum(axis=0)
        onehot = np.zeros_like(proba)
        onehot[np.asarray(y)[rows], np.arange(n)] = 1
        delta = (proba - onehot) * w / n
    else:
        delta = (a - np.asarray(y, dtype=np.float64)[rows].T) * w / n
    deltas = [delta]
    for l in range(len(net.layers) - 1, 0, -1):
        deltas.insert(0, (dense_weights(net.layers[l]) @ deltas[0]) * (pre[l - 1] > 0))
    return activations, deltas


def dense_gradients(net, X, y, weight, rows):
    """|dLoss/dW| at every position of every layer, (n_in, n_out) each."""
    activations, deltas = dense_signals(net, X, y, weight, rows)
    return [np.abs(a @ d.T) for a, d in zip(activations, deltas)]


def assert_top_among(chosen, candidates, scores, n_in):
    """``chosen`` keys are among ``candidates`` and none of the other
    candidates scores higher (up to rounding); when the boundary is not a
    near-tie, they are exactly the top ones."""
    chosen, candidates = np.asarray(chosen), np.asarray(candidates)
    assert set(chosen.tolist()) <= set(candidates.tolist())
    if chosen.shape[0] == 0 or chosen.shape[0] == candidates.shape[0]:
        return
    score = scores[candidates % n_in, candidates // n_in]
    picked = np.isin(candidates, chosen)
    scale = max(score.max(), 1e-300)
    assert score[picked].min() >= score[~picked].max() - 1e-9 * scale
    ordered = np.sort(score)[::-1]
    n = chosen.shape[0]
    if ordered[n - 1] - ordered[n] > 1e-6 * scale:
        top = candidates[np.argsort(-score, kind="stable")[:n]]
        assert set(top.tolist()) == set(chosen.tolist())


# -- a small network and data -----------------------------------------------------

SIZES = (10, 24, 16, 4)


def make_network(seed, sparsity=0.8, sizes=SIZES, dtype=np.float64):
    """A network whose weights and velocities look trained: distinct
    magnitudes of both signs, non-zero momentum."""
    rng = np.random.default_rng(seed)
    net = SparseMLP(sizes, activation="relu", output="softmax",
                    dtype=dtype).initialize(sparsity, rng)
    for layer in net.layers:
        layer.values[:] = rng.standard_normal(layer.n_connections)
        layer.velocity[:] = rng.uniform(0.5, 1.5, layer.n_connections)
        layer.bias[:] = 0.1 * rng.standard_normal(layer.n_out)
    return net, rng


def make_data(rng, n=40, sizes=SIZES):
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    w = rng.uniform(0.2, 2.0, n)
    return X, y, w / w.mean()


def make_policy(kind, rule, net):
    if kind == "set":
        return SETPolicy(regrowth=make_regrowth(rule))
    policy = AccSETPolicy(tolerance=0.01, shrink_rate=0.1, max_sparsity=0.99,
                          regrowth=make_regrowth(rule))
    policy.start(net)
    return policy


# -- invariants of one evolution ----------------------------------------------------


def evolve_and_check(net, rng, policy, rule, zeta, data):
    """One evolution, checked against the references; returns the results."""
    before = [state_of(layer) for layer in net.layers]
    survivors = expected_survivors(net, rule, zeta)
    count_before = net.n_connections.copy()
    result = policy.evolve(net, zeta, rng, data)
    assert len(result) == len(net.layers)
    for l, layer in enumerate(net.layers):
        check_storage(layer)
        n_pruned, n_regrown = result[l]
        keys = keys_of(layer)
        regrown = np.asarray(layer.last_regrown)
        assert regrown.dtype == np.int64
        assert np.all(np.diff(regrown) > 0)
        # pruning removed exactly what the reference removes
        assert n_pruned == count_before[l] - len(survivors[l])
        # new connections: at positions free after pruning, all present,
        # exactly the connections that are not survivors
        assert not set(regrown.tolist()) & survivors[l]
        assert set(keys.tolist()) == survivors[l] | set(regrown.tolist())
        assert n_regrown == regrown.shape[0] == layer.n_connections - len(survivors[l])
        # survivors keep weight and momentum; new ones start small, at rest
        is_new = np.isin(keys, regrown)
        for k, v, m in zip(keys[~is_new], layer.values[~is_new], layer.velocity[~is_new]):
            assert (v, m) == before[l][int(k)]
        assert np.all(layer.velocity[is_new] == 0)
        assert np.all(np.abs(layer.values[is_new])
                      <= NEW_WEIGHT_SCALE * layer.init_bound * (1 + 1e-6))
        # the transposed view matches the new topology
        np.testing.assert_array_equal(np.sort(layer.t_rows.astype(np.int64) * layer.n_in
                                              + layer.indices[layer.t_order]),
                                      np.sort(keys))
    return result, survivors


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", [0, 1])
def test_set_evolution_invariants(rule, seed):
    net, rng = make_network(seed)
    data = make_data(rng)
    policy = make_policy("set", rule, net)
    total = net.n_connections.sum()
    for _ in range(3):
        start = net.n_connections.copy()
        result, _ = evolve_and_check(net, rng, policy, rule, 0.3, data)
        # SET: every pruned connection comes back (there is room)
        assert net.n_connections.sum() == total
        assert sum(r for _, r in result) == sum(p for p, _ in result)
        if rule != "connected":  # "connected" may move budget between layers
            np.testing.assert_array_equal(net.n_connections, start)
            assert all(p == r for p, r in result)
        for layer in net.layers:  # as if trained: new weights get magnitudes
            layer.values[:] = rng.standard_normal(layer.n_connections)
            layer.velocity[:] = rng.uniform(0.5, 1.5, layer.n_connections)


@pytest.mark.parametrize("rule", RULES)
def test_accset_evolution_shrinks_and_grows_to_its_targets(rule):
    net, rng = make_network(3, sparsity=0.6)
    data = make_data(rng)
    policy = make_policy("accset", rule, net)
    start = net.n_connections.sum()
    # accuracy holds: the density shrinks by shrink_rate
    policy.observe(1, net, 0.9)
    targets = policy.layer_targets.copy()
    assert targets.sum() == math.floor(start * 0.9)
    evolve_and_check(net, rng, policy, rule, 0.3, data)
    assert net.n_connections.sum() == targets.sum()
    if rule != "connected":
        np.testing.assert_array_equal(net.n_connections, targets)
    # accuracy falls: it grows back, never above the start
    policy.observe(2, net, 0.5)
    targets = policy.layer_targets.copy()
    assert targets.sum() == min(start, math.ceil(net.n_connections.sum() / 0.9))
    assert targets.sum() > net.n_connections.sum()
    for layer in net.layers:
        layer.values[:] = rng.standard_normal(layer.n_connections)
    evolve_and_check(net, rng, policy, rule, 0.3, data)
    assert net.n_connections.sum() == targets.sum()
    if rule != "connected":
        np.testing.assert_array_equal(net.n_connections, targets)


@pytest.mark.parametrize("rule", RULES)
def test_evolution_without_pruning_changes_nothing(rule):
    net, rng = make_network(4, sparsity=0.5)
    data = make_data(rng)
    # zeta=0 and every connection on a path: nothing to prune or regrow
    assert all(len(a) == layer.n_connections
               for a, layer in zip(dense_active_keys(net.layers), net.layers))
    before = [state_of(layer) for layer in net.layers]
    result = make_policy("set", rule, net).evolve(net, 0.0, rng, data)
    assert result == [(0, 0)] * len(net.layers)
    assert [state_of(layer) for layer in net.layers] == before
    assert all(layer.last_regrown.shape == (0,) for layer in net.layers)


def test_a_full_layer_is_not_rewired():
    """A dense layer has nowhere else to grow: SET leaves it as it is
    (weights and momentum kept) instead of replacing trained weights by
    fresh small ones at the same positions."""
    for rule in RULES:
        net, rng = make_network(5, sparsity=0.0, sizes=(4, 5, 3))
        for layer in net.layers:
            layer.velocity[:] = rng.random(layer.n_connections)
        before = [state_of(layer) for layer in net.layers]
        data = make_data(rng, sizes=(4, 5, 3))
        result = make_policy("set", rule, net).evolve(net, 0.4, rng, data)
        assert result == [(0, 0), (0, 0)]
        assert [state_of(layer) for layer in net.layers] == before
        assert all(layer.last_regrown.size == 0 for layer in net.layers)


def test_a_dense_layer_shrinks_when_accset_asks():
    net, rng = make_network(5, sparsity=0.0, sizes=(4, 5, 3))
    policy = make_policy("accset", "random", net)
    policy.observe(1, net, 0.9)  # holding: the budget shrinks below dense
    targets = policy.layer_targets.copy()
    result = policy.evolve(net, 0.4, rng, None)
    sizes = np.array([layer.size for layer in net.layers])
    assert np.any(targets < sizes)
    for (n_pruned, _), target, size in zip(result, targets, sizes):
        assert (n_pruned > 0) == (target < size)
    np.testing.assert_array_equal(net.n_connections, targets)


# -- "connected" ----------------------------------------------------------------------


def test_connected_prunes_dead_connections_first():
    # a network with many dead connections, given the largest weights, so
    # that magnitude pruning alone would keep them
    net, rng = make_network(6, sparsity=0.93, sizes=(30, 40, 40, 5))
    active = dense_active_keys(net.layers)
    n_dead = sum(layer.n_connections - len(a) for layer, a in zip(net.layers, active))
    assert n_dead > 10
    for layer, a in zip(net.layers, active):
        dead = ~np.isin(keys_of(layer), list(a))
        layer.values[dead] = 10 + rng.random(int(dead.sum()))
    dead_keys = [set(keys_of(layer).tolist()) - a for layer, a in zip(net.layers, active)]
    result, survivors = evolve_and_check(net, rng, make_policy("set", "connected", net),
                                         "connected", 0.3, None)
    for l, layer in enumerate(net.layers):
        assert not dead_keys[l] & survivors[l]
        still = dead_keys[l] & set(keys_of(layer).tolist())
        # a dead position may only come back as a new connection
        assert still <= set(layer.last_regrown.tolist())
    assert sum(p for p, _ in result) >= n_dead


def share_of_regrown_on_paths(rule, sizes, sparsity, seeds, n_evolutions=3):
    on_path = placed = 0
    for seed in seeds:
        net, rng = make_network(seed, sparsity=sparsity, sizes=sizes)
        policy = make_policy("set", rule, net)
        for _ in range(n_evolutions):
            for layer in net.layers:
                layer.values[:] = rng.standard_normal(layer.n_connections)
            policy.evolve(net, 0.3, rng, None)
            active = dense_active_keys(net.layers)
            for layer, a in zip(net.layers, active):
                placed += layer.last_regrown.shape[0]
                on_path += len(set(layer.last_regrown.tolist()) & a)
    return on_path / placed


def test_connected_regrowth_lies_on_paths_at_extreme_sparsity():
    """The digits architecture at sparsity 0.998, where random topologies
    fall apart: the connections "connected" regrows are (nearly all) on an
    input-to-output path after the evolution, where random regrowth puts
    few there."""
    sizes, sparsity, seeds = (64, 256, 256, 10), 0.998, [0, 1, 2]
    connected = share_of_regrown_on_paths("connected", sizes, sparsity, seeds)
    random = share_of_regrown_on_paths("random", sizes, sparsity, seeds)
    assert random < 0.3
    assert connected > 0.75


@pytest.mark.parametrize("sizes, sparsity", [((12, 20, 15, 4), 0.7), ((12, 20, 15, 4), 0.8),
                                             ((64, 256, 256, 10), 0.99),
                                             ((64, 256, 256, 10), 0.997)])
@pytest.mark.parametrize("seed", range(2))
def test_connected_regrowth_stays_in_the_connected_core(sizes, sparsity, seed):
    """Regrown connections join units of the connected core: the live units
    (on a path after pruning, dense reference) topped up with other units to
    the width `core_widths` gives. So, per hidden layer, the regrown
    connections touch no more non-live units than that top-up, and where the
    live units alone are at least as wide as the core, every regrown
    connection touching that layer joins live units."""
    zeta = 0.3
    net, rng = make_network(seed, sparsity=sparsity, sizes=sizes)
    total = int(net.n_connections.sum())
    twin = copy.deepcopy(net)
    survivors = expected_survivors(twin, "connected", zeta)
    for layer, keep in zip(twin.layers, survivors):
        layer.drop(np.isin(keys_of(layer), list(keep)))
    forward, backward = dense_reach(twin.layers)
    widths = core_widths(sizes, total, 0.9)
    make_policy("set", "connected", net).evolve(net, zeta, rng, None)
    for u in range(1, len(sizes) - 1):
        live = forward[u] & backward[u]
        below, above = net.layers[u - 1], net.layers[u]
        touched = set((below.last_regrown // below.n_in).tolist())  # as targets
        touched |= set((above.last_regrown % above.n_in).tolist())  # as sources
        not_live = {unit for unit in touched if not live[unit]}
        assert len(not_live) <= max(0, int(widths[u - 1]) - int(live.sum())), (u, not_live)


# -- "gradient" against dense numpy ------------------------------------------------------


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_activations_and_deltas_match_dense_numpy(dtype, rtol):
    net, rng = make_network(7, sparsity=0.6, dtype=dtype)
    X, y, w = make_data(rng, n=50)
    rows = np.sort(rng.choice(50, size=23, replace=False))
    activations, deltas = net.activations_and_deltas(X.astype(dtype), y, w, rows)
    ref_a, ref_d = dense_signals(net, X.astype(dtype), y, w, rows)
    assert len(activations) == len(deltas) == len(net.layers)
    for l, layer in enumerate(net.layers):
        assert activations[l].shape == (layer.n_in, 23)
        assert deltas[l].shape == (layer.n_out, 23)
        scale_a = np.abs(ref_a[l]).max()
        scale_d = np.abs(ref_d[l]).max()
        np.testing.assert_allclose(activations[l], ref_a[l], rtol=rtol, atol=rtol * scale_a)
        np.testing.assert_allclose(deltas[l], ref_d[l], rtol=rtol, atol=rtol * scale_d)
    # the deltas are gradients: a finite difference of the loss agrees
    layer = net.layers[1]
    if dtype == np.float64:
        k = layer.n_connections // 2
        j = int(np.searchsorted(layer.indptr, k, side="right") - 1)
        i = int(layer.indices[k])
        grad = activations[1][i] @ deltas[1][j]

        def loss():
            a_out = dense_signals(net, X, y, w, rows)
            z = a_out[0][-1]  # input of the last layer
            out = dense_weights(net.layers[-1]).T @ z + net.layers[-1].bias[:, None]
            e = np.exp(out - out.max(axis=0))
            p = e / e.sum(axis=0)
            return np.sum(w[rows] * -np.log(p[y[rows], np.arange(len(rows))])) / len(rows)

        h = 1e-6
        layer.values[k] += h
        up = loss()
        layer.values[k] -= 2 * h
        down = loss()
        layer.values[k] += h
        assert (up - down) / (2 * h) == pytest.approx(grad, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("activation", ["identity", "relu", "leaky_relu", "allrelu", "tanh",
                                        "logistic"])
def test_activations_entering_each_layer_match_dense_numpy(activation):
    """Every hidden activation, the identity too: its forward kernel writes
    no separate activation array, so the gradient rule once scored
    uninitialised memory with it."""
    rng = np.random.default_rng(11)
    net = SparseMLP((6, 9, 7, 3), activation=activation, output="softmax",
                    dtype=np.float64).initialize(0.5, rng)
    X = rng.standard_normal((20, 6))
    y = rng.integers(0, 3, 20)
    rows = np.arange(0, 20, 3)
    activations, _ = net.activations_and_deltas(X, y, np.ones(20), rows)
    functions = {"identity": lambda z, s: z, "relu": lambda z, s: np.maximum(z, 0),
                 "leaky_relu": lambda z, s: np.where(z > 0, z, s * z),
                 "allrelu": lambda z, s: np.where(z > 0, z, s * z),
                 "tanh": lambda z, s: np.tanh(z),
                 "logistic": lambda z, s: 1 / (1 + np.exp(-z))}
    a = X[rows].T
    for l, layer in enumerate(net.layers):
        np.testing.assert_allclose(activations[l], a, rtol=1e-12, atol=1e-12)
        if l < len(net.hidden_codes):
            z = dense_weights(layer).T @ a + layer.bias[:, None]
            a = functions[activation](z, net.hidden_codes[l][1])


def test_activations_and_deltas_of_a_regressor_match_dense_numpy():
    rng = np.random.default_rng(8)
    net = SparseMLP((6, 12, 3), activation="relu", output="identity",
                    dtype=np.float64).initialize(0.5, rng)
    X = rng.standard_normal((30, 6))
    Y = rng.standard_normal((30, 3))
    w = rng.uniform(0.5, 1.5, 30)
    rows = np.arange(0, 30, 2)
    activations, deltas = net.activations_and_deltas(X, Y, w, rows)
    ref_a, ref_d = dense_signals(net, X, Y, w, rows)
    for got, want in zip(activations + deltas, ref_a + ref_d):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def pruned_twin(net, zeta):
    """A copy of ``net`` pruned as SET (magnitude) pruning does, by the
    reference."""
    twin = copy.deepcopy(net)
    for layer, keep in zip(twin.layers, expected_survivors(twin, "random", zeta)):
        layer.drop(np.isin(keys_of(layer), list(keep)))
    return twin


def free_keys(layer):
    taken = set(keys_of(layer).tolist())
    return np.array([k for k in range(layer.size) if k not in taken], dtype=np.int64)


@pytest.mark.parametrize("block_positions", [2**20, 30, 1])
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_regrowth_picks_the_largest_gradients(block_positions, seed):
    zeta = 0.3
    net, rng = make_network(seed, sparsity=0.7)
    X, y, w = make_data(rng, n=40)
    twin = pruned_twin(net, zeta)
    # n_samples above the data size: the rule scores every sample
    grads = dense_gradients(twin, X, y, w, np.arange(40))
    rule = GradientRegrowth(n_samples=1000, block_positions=block_positions)
    result, _ = evolve_and_check(net, rng, SETPolicy(regrowth=rule), "gradient", zeta,
                                 (X, y, w))
    for l, (layer, twin_layer) in enumerate(zip(net.layers, twin.layers)):
        assert result[l][1] == result[l][0] > 0
        assert_top_among(layer.last_regrown, free_keys(twin_layer), grads[l], layer.n_in)


def test_gradient_regrowth_is_not_random():
    """The chosen positions' gradients are far above those of random free
    positions (guards the reference itself against scoring nothing)."""
    zeta = 0.3
    net, rng = make_network(2, sparsity=0.7)
    X, y, w = make_data(rng, n=40)
    twin = pruned_twin(net, zeta)
    grads = dense_gradients(twin, X, y, w, np.arange(40))
    SETPolicy(regrowth=GradientRegrowth(n_samples=1000)).evolve(net, zeta, rng, (X, y, w))
    for layer, twin_layer, g in zip(net.layers, twin.layers, grads):
        k = layer.last_regrown
        free = free_keys(twin_layer)
        assert g[k % layer.n_in, k // layer.n_in].mean() > 1.5 * g[free % layer.n_in,
                                                                   free // layer.n_in].mean()


def test_gradient_regrowth_on_sampled_candidates(monkeypatch):
    """Layers above ``max_positions`` positions score a sample of free
    positions: the picks are free, among the sampled candidates, and the
    largest gradients among them."""
    zeta = 0.3
    net, rng = make_network(3, sparsity=0.7)
    X, y, w = make_data(rng, n=40)
    twin = pruned_twin(net, zeta)
    grads = dense_gradients(twin, X, y, w, np.arange(40))
    sampled = {}
    original = SparseLayer.sample_free

    def spy(self, n_new, rng_):
        keys = original(self, n_new, rng_)
        sampled[id(self)] = (n_new, keys)
        return keys

    monkeypatch.setattr(SparseLayer, "sample_free", spy)
    max_positions = 50
    rule = GradientRegrowth(n_samples=1000, max_positions=max_positions)
    result, _ = evolve_and_check(net, rng, SETPolicy(regrowth=rule), "gradient", zeta,
                                 (X, y, w))
    for l, (layer, twin_layer) in enumerate(zip(net.layers, twin.layers)):
        assert layer.size > max_positions
        n_asked, candidates = sampled[id(layer)]
        free = set(free_keys(twin_layer).tolist())
        assert candidates.shape[0] == min(max_positions, len(free))
        assert set(candidates.tolist()) <= free
        assert result[l][1] == result[l][0]
        assert_top_among(layer.last_regrown, candidates, grads[l], layer.n_in)


def test_gradient_regrowth_samples_the_rows_it_scores():
    """With fewer ``n_samples`` than rows, a subset of samples is scored:
    the picks are still free and their count is the budget."""
    net, rng = make_network(4, sparsity=0.7)
    data = make_data(rng, n=40)
    rule = GradientRegrowth(n_samples=8)
    result, _ = evolve_and_check(net, rng, SETPolicy(regrowth=rule), "gradient", 0.3, data)
    assert all(p == r for p, r in result)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_kernels_match_numpy(dtype):
    rng = np.random.default_rng(9)
    n_in, n_out, n_batch = 7, 9, 13
    a_in = rng.standard_normal((n_in, n_batch)).astype(dtype)
    d_out = rng.standard_normal((n_out, n_batch)).astype(dtype)
    full = np.abs(a_in.astype(np.float64) @ d_out.astype(np.float64).T)  # (n_in, n_out)
    keys = np.sort(rng.choice(n_in * n_out, size=20, replace=False)).astype(np.int64)
    indptr = np.zeros(n_out + 1, dtype=np.int64)
    np.add.at(indptr, keys // n_in + 1, 1)
    indptr = np.cumsum(indptr)
    indices = (keys % n_in).astype(np.int32)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for j0, j1 in [(0, n_out), (2, 7), (8, 9)]:
        scores = np.full((j1 - j0) * n_in, np.nan)
        topology_kernels.gradient_block(indptr, indices, a_in, d_out, j0, j1, scores)
        want = full[:, j0:j1].T.copy()  # row j - j0, column i
        for k in keys:
            j, i = divmod(int(k), n_in)
            if j0 <= j < j1:
                want[j - j0, i] = -1.0
        np.testing.assert_allclose(scores, want.ravel(), rtol=rtol)
    query = np.array([0, 5, 20, n_in * n_out - 1, int(keys[3])], dtype=np.int64)
    scores = np.full(query.shape[0], np.nan)
    topology_kernels.gradient_at_keys(query, n_in, a_in, d_out, scores)
    np.testing.assert_allclose(scores, full[query % n_in, query // n_in], rtol=rtol)


# -- turnover ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_turnover_matches_tracked_keys(rule):
    zeta = 0.3
    net, rng = make_network(10, sparsity=0.7)
    data = make_data(rng)
    policy = make_policy("set", rule, net)
    assert math.isnan(net.topology()["turnover"])
    survivors = expected_survivors(net, rule, zeta)
    policy.evolve(net, zeta, rng, data)
    # the first evolution follows none: no turnover to measure
    assert math.isnan(net.turnover)
    new = [set(keys_of(layer).tolist()) - kept for layer, kept in zip(net.layers, survivors)]
    # train a little (new weights drift), then evolve again
    X, y, w = data
    net.train_epoch(X, y, w, batch_size=10, learning_rate=0.05, momentum=0.9,
                    nesterov=True, alpha=1e-4, dropout=0.0, shuffle=True, rng=rng)
    survivors = expected_survivors(net, rule, zeta)
    policy.evolve(net, zeta, rng, data)
    spared = sum(len(n & s) for n, s in zip(new, survivors))
    expected = spared / sum(len(n) for n in new)
    assert 0 < sum(len(n) for n in new)
    assert net.turnover == pytest.approx(expected)
    assert net.topology()["turnover"] == pytest.approx(expected)


# -- estimators ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(n_samples=150, n_features=12, n_informative=6,
                               n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=150, n_features=12, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), y


ESTIMATORS = [SETClassifier, SETRegressor, AccSETClassifier]


def problem_for(cls, classification, regression):
    return regression if cls is SETRegressor else classification


def small(cls, **params):
    base = dict(hidden_layer_sizes=(24, 12), sparsity=0.8, max_iter=4, random_state=0)
    if cls is AccSETClassifier:
        base["accuracy_window"] = 1
    base.update(params)
    return cls(**base)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_unknown_regrowth_is_a_clear_error(cls, classification, regression):
    X, y = problem_for(cls, classification, regression)
    with pytest.raises(InvalidParameterError, match="regrowth"):
        small(cls, regrowth="bogus").fit(X, y)
    with pytest.raises(ValueError, match="unknown regrowth rule 'bogus'"):
        make_regrowth("bogus")


def test_every_rule_is_a_regrowth_rule_by_its_name():
    for name, rule in REGROWTH_RULES.items():
        assert issubclass(rule, RegrowthRule) and rule.name == name
        assert isinstance(make_regrowth(name), RegrowthRule)
    with pytest.raises(TypeError, match="abstract"):
        RegrowthRule()

    class PruneOnly(RegrowthRule):  # a rule must say where connections regrow
        def prune(self, layer_index, layer, zeta):
            return 0

    with pytest.raises(TypeError, match="place"):
        PruneOnly()


def reference_topology(coefs):
    """Connections and active connections per layer from ``coefs_``."""
    adjacency = [c.toarray() != 0 for c in coefs]
    forward = [np.ones(adjacency[0].shape[0], dtype=bool)]
    for A in adjacency:
        forward.append((forward[-1].astype(int) @ A.astype(int)) > 0)
    backward = [np.ones(adjacency[-1].shape[1], dtype=bool)]
    for A in reversed(adjacency):
        backward.insert(0, (A.astype(int) @ backward[0].astype(int)) > 0)
    active = [int((A & forward[l][:, None] & backward[l + 1][None, :]).sum())
              for l, A in enumerate(adjacency)]
    return [c.nnz for c in coefs], active


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_each_rule_fits_and_records_its_topology(cls, rule, classification, regression):
    X, y = problem_for(cls, classification, regression)
    est = small(cls, regrowth=rule, sparsity=0.9).fit(X, y)
    assert len(est.topology_history_) == est.n_iter_ >= 1
    for record in est.topology_history_:
        assert record["active_connections"].shape == (3,)
        assert np.all(record["active_connections"] <= record["connections"])
        assert 0 <= record["active_fraction"] <= 1
    connections, active = reference_topology(est.coefs_)
    np.testing.assert_array_equal(est.topology_["connections"], connections)
    np.testing.assert_array_equal(est.topology_["active_connections"], active)
    np.testing.assert_array_equal(est.n_connections_, connections)
    if cls is not AccSETClassifier:  # SET: the connection count stays
        totals = {int(r["connections"].sum()) for r in est.topology_history_}
        assert totals == {int(est.n_connections_.sum())}
    assert np.all(np.isfinite(est.predict(X).astype(float)))


def assert_same_model(a, b, X):
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(ca.indptr, cb.indptr)
        np.testing.assert_array_equal(ca.indices, cb.indices)
        np.testing.assert_array_equal(ca.data, cb.data)
    for ia, ib in zip(a.intercepts_, b.intercepts_):
        np.testing.assert_array_equal(ia, ib)
    out = "predict_proba" if hasattr(a, "predict_proba") else "predict"
    np.testing.assert_array_equal(getattr(a, out)(X), getattr(b, out)(X))


@pytest.mark.parametrize("cls, rule", [(SETClassifier, r) for r in RULES]
                         + [(SETRegressor, "connected"), (AccSETClassifier, "gradient")])
def test_thread_count_does_not_change_the_fit(cls, rule, classification, regression):
    X, y = problem_for(cls, classification, regression)
    one = small(cls, regrowth=rule, n_jobs=1, max_iter=3).fit(X, y)
    two = small(cls, regrowth=rule, n_jobs=2, max_iter=3).fit(X, y)
    assert_same_model(one, two, X)
    assert one.loss_curve_ == two.loss_curve_


@pytest.mark.parametrize("rule", RULES)
def test_pickle_then_partial_fit_continues_identically(rule, classification):
    X, y = classification
    est = small(SETClassifier, regrowth=rule)
    est.partial_fit(X, y, classes=np.unique(y))
    est.partial_fit(X, y)
    twin = pickle.loads(pickle.dumps(est))
    for model in (est, twin):
        model.partial_fit(X, y)
        model.partial_fit(X, y)
    assert est.n_iter_ == twin.n_iter_ == 1 and len(est.loss_curve_) == 4
    assert_same_model(est, twin, X)
    assert len(twin.topology_history_) == 4


@pytest.mark.parametrize("rule", RULES)
def test_fitted_model_does_not_keep_the_training_data(rule, classification):
    """A fitted model's pickle must not carry the training set: its size
    does not grow with the number of training samples."""
    X, y = classification
    big_X = np.tile(X, (20, 1))
    big_y = np.tile(y, 20)
    sizes = [len(pickle.dumps(small(SETClassifier, regrowth=rule, max_iter=2).fit(a, b)))
             for a, b in ((X, y), (big_X, big_y))]
    assert sizes[1] - sizes[0] < big_X.nbytes // 20, sizes


@pytest.mark.parametrize("rule", RULES)
def test_warm_start_equals_one_longer_fit(rule, classification):
    X, y = classification
    warm = small(SETClassifier, regrowth=rule, max_iter=2, warm_start=True)
    warm.fit(X, y)
    warm.fit(X, y)
    # n_iter_ counts the last fit (MLPClassifier 1.9); the history every epoch
    assert warm.n_iter_ == 2 and len(warm.topology_history_) == len(warm.loss_curve_) == 4
    cold = small(SETClassifier, regrowth=rule, max_iter=4).fit(X, y)
    assert_same_model(warm, cold, X)


@pytest.mark.parametrize("rule", RULES)
def test_turnover_is_recorded_per_epoch(rule, classification):
    X, y = classification
    est = small(SETClassifier, regrowth=rule, max_iter=5, zeta=0.3).fit(X, y)
    turnover = [record["turnover"] for record in est.topology_history_]
    # epoch 1: no evolution yet; epoch 2: the first one, after no regrowth
    assert math.isnan(turnover[0]) and math.isnan(turnover[1])
    assert all(0 <= t <= 1 for t in turnover[2:]), turnover
    still = small(SETClassifier, regrowth=rule, max_iter=3, zeta=0.0).fit(X, y)
    if rule != "connected":  # "connected" may still drop connections on no path
        assert all(math.isnan(r["turnover"]) for r in still.topology_history_)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert est.topology_["turnover"] == turnover[-1]
