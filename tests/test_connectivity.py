"""Topology analytics (``_connectivity``) against brute-force dense references.

The references here never read the library's reachability code: they build
dense 0/1 adjacency matrices from a layer's CSR-by-output storage and answer
every question with boolean matrix products.
"""

import numpy as np
import pytest

from sklearn_set import connectivity_profile
from sklearn_set._engine.connectivity import active_masks, network_topology, reachability
from sklearn_set._engine.layer import erdos_renyi_allocation
from sklearn_set._engine.network import SparseMLP
from sklearn_set._evolution.policies import SETPolicy
from sklearn_set._evolution.rules import make_regrowth

# -- dense reference ------------------------------------------------------------


def dense_adjacency(layer):
    """Bool (n_in, n_out): ``A[i, j]`` iff the connection i -> j exists."""
    A = np.zeros((layer.n_in, layer.n_out), dtype=bool)
    for j in range(layer.n_out):
        for k in range(layer.indptr[j], layer.indptr[j + 1]):
            A[layer.indices[k], j] = True
    return A


def bool_product(a, b):
    return (a.astype(np.int64) @ b.astype(np.int64)) > 0


def dense_reference(adjacency):
    """Everything ``network_topology`` reports, by matrix products of the
    whole chain: ``prefix[u]`` (inputs x units of layer u) says which unit
    has a path from which input, ``suffix[u]`` (units x outputs) which unit
    has a path to which output."""
    n_inputs = adjacency[0].shape[0]
    n_layers = len(adjacency)
    prefix = [np.eye(n_inputs, dtype=bool)]
    for A in adjacency:
        prefix.append(bool_product(prefix[-1], A))
    suffix = [np.eye(adjacency[-1].shape[1], dtype=bool)]
    for A in reversed(adjacency):
        suffix.insert(0, bool_product(A, suffix[0]))
    forward = [p.any(axis=0) for p in prefix]
    backward = [s.any(axis=1) for s in suffix]
    active = [A & forward[l][:, None] & backward[l + 1][None, :]
              for l, A in enumerate(adjacency)]
    connections = np.array([A.sum() for A in adjacency])
    n_active = np.array([a.sum() for a in active])
    total = connections.sum()
    return {
        "forward": forward,
        "backward": backward,
        "active": active,
        "connections": connections,
        "active_connections": n_active,
        "active_fraction": n_active.sum() / total if total else 0.0,
        "live_neurons": np.array([np.sum(forward[u] & backward[u])
                                  for u in range(1, n_layers)], dtype=np.int64),
        "inputs_in_use": int(backward[0].sum()),
        "outputs_reached": int(forward[-1].sum()),
        "mean_in_degree": np.array([A.sum() / A.shape[1] for A in adjacency]),
        "max_in_degree": np.array([A.sum(axis=0).max() for A in adjacency]),
        "max_out_degree": np.array([A.sum(axis=1).max() for A in adjacency]),
    }


def assert_matches_reference(net):
    adjacency = [dense_adjacency(layer) for layer in net.layers]
    ref = dense_reference(adjacency)
    forward, backward = reachability(net.layers, net.layer_sizes[0])
    assert len(forward) == len(backward) == len(net.layer_sizes)
    for got, want in zip(forward, ref["forward"]):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(backward, ref["backward"]):
        np.testing.assert_array_equal(got, want)
    masks = active_masks(net.layers, forward, backward)
    for layer, mask, want in zip(net.layers, masks, ref["active"]):
        rows = np.repeat(np.arange(layer.n_out), np.diff(layer.indptr))
        np.testing.assert_array_equal(mask, want[layer.indices, rows])
    stats = network_topology(net.layers, net.layer_sizes[0])
    for key in ("connections", "active_connections", "live_neurons",
                "max_in_degree", "max_out_degree"):
        np.testing.assert_array_equal(stats[key], ref[key], err_msg=key)
    np.testing.assert_allclose(stats["mean_in_degree"], ref["mean_in_degree"])
    assert stats["active_fraction"] == pytest.approx(ref["active_fraction"])
    assert stats["inputs_in_use"] == ref["inputs_in_use"]
    assert stats["outputs_reached"] == ref["outputs_reached"]
    # the engine's record is the same, plus the turnover
    record = net.topology()
    np.testing.assert_array_equal(record["active_connections"], ref["active_connections"])
    assert "turnover" in record
    return ref


def make_net(sizes, sparsity, seed, dtype=np.float64):
    return SparseMLP(sizes, activation="relu", output="softmax",
                     dtype=dtype).initialize(sparsity, np.random.default_rng(seed))


CASES = [
    ((5, 3), 0.6),                  # one layer, no hidden units
    ((12, 20, 15, 4), 0.5),
    ((12, 20, 15, 4), 0.85),
    ((12, 20, 15, 4), 0.95),        # partly disconnected
    ((30, 40, 40, 5), 0.97),        # mostly disconnected
    ((8, 6, 6, 6, 6, 3), 0.8),      # deep and narrow
    ((40, 60, 60, 5), 0.985),       # some layers with a handful of connections
]


@pytest.mark.parametrize("sizes, sparsity", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_analytics_match_dense_reference(sizes, sparsity, seed):
    assert_matches_reference(make_net(sizes, sparsity, seed))


def test_reference_cases_cover_connected_and_disconnected_networks():
    """The cases above must include networks with dead connections, unreached
    outputs and unused inputs, or the comparison would prove little."""
    seen = {"dead": False, "full": False, "unreached": False, "unused": False}
    for sizes, sparsity in CASES:
        for seed in range(3):
            net = make_net(sizes, sparsity, seed)
            ref = dense_reference([dense_adjacency(layer) for layer in net.layers])
            seen["dead"] |= bool(ref["active_connections"].sum() < ref["connections"].sum())
            seen["full"] |= bool(ref["active_connections"].sum() == ref["connections"].sum())
            seen["unreached"] |= ref["outputs_reached"] < sizes[-1]
            seen["unused"] |= ref["inputs_in_use"] < sizes[0]
    assert all(seen.values()), seen


@pytest.mark.parametrize("rule", ["random", "connected", "gradient"])
def test_analytics_match_dense_reference_after_evolution(rule):
    sizes = (12, 20, 15, 4)
    rng = np.random.default_rng(5)
    net = make_net(sizes, 0.9, 5)
    X = rng.standard_normal((30, sizes[0]))
    y = rng.integers(0, sizes[-1], 30)
    w = np.ones(30)
    policy = SETPolicy(regrowth=make_regrowth(rule))
    for _ in range(3):
        for layer in net.layers:  # magnitudes as after training
            layer.values[:] = rng.standard_normal(layer.n_connections)
        policy.evolve(net, 0.4, rng, (X, y, w))
        assert_matches_reference(net)


def test_analytics_of_a_layer_without_connections():
    net = make_net((12, 20, 15, 4), 0.7, 0)
    middle = net.layers[1]
    assert middle.drop(np.zeros(middle.n_connections, dtype=bool)) > 0
    assert middle.n_connections == 0
    ref = assert_matches_reference(net)
    assert ref["outputs_reached"] == 0 and ref["inputs_in_use"] == 0
    stats = net.topology()
    assert stats["active_connections"].sum() == 0
    assert stats["active_fraction"] == 0.0
    np.testing.assert_array_equal(stats["live_neurons"], [0, 0])


def test_analytics_of_a_network_without_connections():
    net = make_net((6, 4, 3), 0.5, 0)
    for layer in net.layers:
        layer.drop(np.zeros(layer.n_connections, dtype=bool))
    stats = net.topology()
    np.testing.assert_array_equal(stats["connections"], [0, 0])
    assert stats["active_fraction"] == 0.0
    assert stats["outputs_reached"] == 0 and stats["inputs_in_use"] == 0
    np.testing.assert_array_equal(stats["max_in_degree"], [0, 0])
    np.testing.assert_array_equal(stats["max_out_degree"], [0, 0])


# -- connectivity_profile -----------------------------------------------------


def monte_carlo_profile(sizes, sparsity, n_draws, rng):
    """Sample networks with every position of layer l present independently
    with the layer's Erdos-Renyi density; per draw the same quantities as
    the profile (vectorised over draws)."""
    shapes = list(zip(sizes[:-1], sizes[1:]))
    counts, _ = erdos_renyi_allocation(shapes, sparsity)
    adjacency = [rng.random((n_draws, n_in, n_out)) < count / (n_in * n_out)
                 for (n_in, n_out), count in zip(shapes, counts)]
    forward = [np.ones((n_draws, sizes[0]), dtype=bool)]
    for A in adjacency:
        forward.append(np.einsum("di,dij->dj", forward[-1].astype(np.float32),
                                 A.astype(np.float32)) > 0)
    backward = [np.ones((n_draws, sizes[-1]), dtype=bool)]
    for A in reversed(adjacency):
        backward.insert(0, np.einsum("dij,dj->di", A.astype(np.float32),
                                     backward[0].astype(np.float32)) > 0)
    active = sum((A & forward[l][:, :, None] & backward[l + 1][:, None, :]).sum(axis=(1, 2))
                 for l, A in enumerate(adjacency))
    samples = {
        "active_connections": active.astype(np.float64),
        "outputs_reached": forward[-1].mean(axis=1),
        "inputs_in_use": backward[0].mean(axis=1),
        "p_all_outputs_reached": forward[-1].all(axis=1).astype(np.float64),
    }
    for h in range(1, len(sizes) - 1):
        samples[f"live_{h}"] = (forward[h] & backward[h]).mean(axis=1)
    return counts, samples


@pytest.mark.parametrize("sizes, sparsity", [
    ((10, 30, 30, 4), 0.9),
    ((10, 30, 30, 4), 0.95),
    ((6, 12, 8, 12, 3), 0.8),
])
def test_profile_matches_monte_carlo_of_its_model(sizes, sparsity):
    n_draws = 20000
    counts, samples = monte_carlo_profile(sizes, sparsity, n_draws, np.random.default_rng(0))
    profile = connectivity_profile(sizes, [sparsity])
    assert profile["connections"][0] == counts.sum()
    assert profile["sparsity"][0] == sparsity
    expected = {key: profile[key][0] for key in
                ("active_connections", "outputs_reached", "inputs_in_use",
                 "p_all_outputs_reached")}
    for h in range(1, len(sizes) - 1):
        expected[f"live_{h}"] = profile["live_neurons"][0, h - 1]
    interesting = 0
    for key, value in expected.items():
        draws = samples[key]
        stderr = draws.std() / np.sqrt(n_draws)
        assert abs(value - draws.mean()) <= 5 * stderr + 1e-9, (key, value, draws.mean(), stderr)
        interesting += 0.02 < draws.mean() / max(draws.max(), 1e-300) < 0.98
    assert profile["active_fraction"][0] == pytest.approx(
        profile["active_connections"][0] / counts.sum())
    # not a degenerate all-connected (or all-dead) case
    assert interesting >= 3


def test_profile_roughly_matches_initialized_networks():
    """The estimators draw an exact count per layer rather than independent
    positions; with a few dozen connections per layer the profile still
    predicts what initialisation gives."""
    sizes, sparsity, n_draws = (20, 60, 60, 5), 0.93, 300
    rng = np.random.default_rng(1)
    records = [make_net(sizes, sparsity, int(seed)).topology()
               for seed in rng.integers(0, 2**31, n_draws)]
    profile = connectivity_profile(sizes, sparsity)
    connections = np.mean([r["connections"].sum() for r in records])
    assert profile["connections"][0] == connections
    active = np.mean([r["active_connections"].sum() for r in records])
    assert active == pytest.approx(profile["active_connections"][0], rel=0.08)
    outputs = np.mean([r["outputs_reached"] for r in records]) / sizes[-1]
    assert outputs == pytest.approx(profile["outputs_reached"][0], abs=0.05)
    inputs = np.mean([r["inputs_in_use"] for r in records]) / sizes[0]
    assert inputs == pytest.approx(profile["inputs_in_use"][0], abs=0.05)
    live = np.mean([r["live_neurons"] for r in records], axis=0) / np.array(sizes[1:-1])
    np.testing.assert_allclose(live, profile["live_neurons"][0], atol=0.05)
    assert 0.1 < profile["active_fraction"][0] < 0.9  # a regime where it matters


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.8, 0.9])
def test_profile_of_one_hidden_layer_in_closed_form(sparsity):
    """With one hidden layer every expectation has a closed form: a hidden
    unit is reached with probability 1 - (1 - d1)^n_in and reaches an output
    with probability 1 - (1 - d2)^n_out (independent events), an input is in
    use when one of its connections goes to such a unit, and so on."""
    sizes = (8, 16, 4)
    n_in, n_hid, n_out = sizes
    counts, _ = erdos_renyi_allocation([(n_in, n_hid), (n_hid, n_out)], sparsity)
    d1, d2 = counts[0] / (n_in * n_hid), counts[1] / (n_hid * n_out)
    f = 1 - (1 - d1) ** n_in
    b = 1 - (1 - d2) ** n_out
    profile = connectivity_profile(sizes, [sparsity])
    assert profile["connections"][0] == counts.sum()
    np.testing.assert_allclose(profile["live_neurons"][0], [f * b], rtol=1e-9)
    np.testing.assert_allclose(profile["active_connections"][0],
                               counts[0] * b + counts[1] * f, rtol=1e-9)
    np.testing.assert_allclose(profile["inputs_in_use"][0],
                               1 - (1 - d1 * b) ** n_hid, rtol=1e-9)
    np.testing.assert_allclose(profile["outputs_reached"][0],
                               1 - (1 - d2 * f) ** n_hid, rtol=1e-9)
    if sparsity == 0.0:
        assert profile["active_fraction"][0] == 1.0
        assert profile["p_all_outputs_reached"][0] == 1.0


def test_profile_falls_with_sparsity_and_matches_the_documented_example():
    sizes = (64, 256, 256, 10)
    levels = [0.99, 0.995, 0.997, 0.998]
    profile = connectivity_profile(sizes, levels)
    # 400 networks drawn by SparseMLP.initialize at each level gave outputs
    # reached 0.928 / 0.480 / 0.197 (standard errors 0.004 / 0.008 / 0.007)
    # and active fractions 0.186 / 0.078 / 0.038 at 0.995 / 0.997 / 0.998.
    np.testing.assert_allclose(profile["outputs_reached"], [1.00, 0.928, 0.480, 0.197],
                               atol=0.015)
    np.testing.assert_allclose(profile["active_fraction"], [0.48, 0.186, 0.078, 0.038],
                               atol=0.01)
    for key in ("active_fraction", "outputs_reached", "inputs_in_use",
                "p_all_outputs_reached"):
        assert np.all(np.diff(profile[key]) <= 1e-12), key
    for key in ("sparsity", "connections", "active_connections", "active_fraction",
                "outputs_reached", "inputs_in_use", "p_all_outputs_reached"):
        assert profile[key].shape == (4,)
    assert profile["connections"].dtype.kind == "i"
    np.testing.assert_array_equal(profile["sparsity"], levels)


def test_profile_is_zero_when_a_layer_gets_no_connection():
    sizes = (64, 256, 256, 10)
    shapes = list(zip(sizes[:-1], sizes[1:]))
    with pytest.raises(ValueError):
        erdos_renyi_allocation(shapes, 0.99999)
    profile = connectivity_profile(sizes, [0.99, 0.99999])
    for key in ("active_connections", "active_fraction", "outputs_reached",
                "inputs_in_use", "p_all_outputs_reached"):
        assert profile[key][1] == 0, key
        assert profile[key][0] > 0, key
    np.testing.assert_array_equal(profile["live_neurons"][1], [0, 0])
    total = sum(a * b for a, b in shapes)
    assert profile["connections"][1] == round((1 - 0.99999) * total)


def test_profile_accepts_a_scalar_sparsity():
    profile = connectivity_profile([10, 5, 2], 0.5)
    assert profile["sparsity"].shape == (1,)
    assert profile["live_neurons"].shape == (1, 1)


@pytest.mark.parametrize("sizes", [[5], [], [5, 0, 3], [0, 4], [4, -1]])
def test_profile_rejects_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        connectivity_profile(sizes, [0.5])


@pytest.mark.parametrize("sparsities", [1.0, -0.1, [0.5, 1.0], [np.nan], [[0.5]], 2])
def test_profile_rejects_sparsity_outside_unit_interval(sparsities):
    with pytest.raises(ValueError, match="connectivity_profile"):
        connectivity_profile([10, 5, 2], sparsities)
