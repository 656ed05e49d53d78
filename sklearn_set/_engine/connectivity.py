"""Which connections and neurons lie on an input-to-output path.

Two views of the same question:

* :func:`network_topology` measures a given (trained) network: per layer
  its connections, the *active* ones (on at least one input-to-output path),
  live neurons, inputs in use, outputs reached and degree summaries, in
  O(connections) time and memory.
* :func:`connectivity_profile` computes what to *expect* of an untrained
  Erdos-Renyi random architecture at any list of sparsities, without
  building a network: the collapse of SET at extreme sparsity follows the
  percolation of the random topology, and this predicts where it happens.

No scikit-learn here.
"""

import math

import numpy as np
from scipy.stats import binom

from ._kernels import topology as topology_kernels
from .layer import erdos_renyi_allocation
from .levels import check_sparsity_levels

# Probability mass below which a state of the reachability chain is dropped:
# far below float64 rounding of the expectations the profile reports.
_NEGLIGIBLE_MASS = 1e-15
# Beyond this many (count, state) pairs per layer the counts are binned to
# _MAX_STATES states: exact below, a close approximation above (layers of
# thousands of units near their percolation threshold).
_MAX_CELLS = 4_000_000
_MAX_STATES = 2000


def reachability(layers, n_inputs):
    """Forward and backward reachability of every unit of a network.

    Parameters
    ----------
    layers : list of SparseLayer
    n_inputs : int

    Returns
    -------
    forward : list of bool ndarrays, one per unit layer (inputs first):
        the unit is reachable from some input (every input is).
    backward : list of bool ndarrays, one per unit layer: the unit reaches
        some output (every output does).
    """
    forward = [np.ones(n_inputs, dtype=np.bool_)]
    for layer in layers:
        out = np.empty(layer.n_out, dtype=np.bool_)
        topology_kernels.reach_forward(layer.indptr, layer.indices, forward[-1], out)
        forward.append(out)
    backward = [np.ones(layers[-1].n_out, dtype=np.bool_)]
    for layer in reversed(layers):
        out = np.empty(layer.n_in, dtype=np.bool_)
        topology_kernels.reach_backward(layer.indptr, layer.indices, backward[0], out)
        backward.insert(0, out)
    return forward, backward


def active_masks(layers, forward, backward):
    """Per layer, a bool array over its connections (storage order): the
    connection lies on an input-to-output path."""
    masks = []
    for idx, layer in enumerate(layers):
        mask = np.empty(layer.n_connections, dtype=np.bool_)
        topology_kernels.active_connections(layer.indptr, layer.indices, forward[idx],
                              backward[idx + 1], mask)
        masks.append(mask)
    return masks


def network_topology(layers, n_inputs):
    """Connectivity statistics of a network, one dict.

    Keys (arrays have one entry per layer of connections, or per hidden
    layer of units where said):

    ``connections``, ``active_connections`` : int64 arrays
        Connections, and those on at least one input-to-output path.
    ``active_fraction`` : float
        Share of all connections that are active.
    ``live_neurons`` : int64 array, per hidden layer
        Units reachable from an input that also reach an output.
    ``inputs_in_use`` : int
        Inputs with a path to some output.
    ``outputs_reached`` : int
        Outputs with a path from some input.
    ``mean_in_degree``, ``max_in_degree``, ``max_out_degree`` : arrays
        Degree summaries: connections per output unit (mean, max) and per
        input unit (max) of each layer.
    """
    forward, backward = reachability(layers, n_inputs)
    connections = np.array([layer.n_connections for layer in layers], dtype=np.int64)
    # counted in place: a mask, or np.bincount's int64 copy of the input ids,
    # would cost 1 or 8 bytes per connection at the end of every epoch
    active = np.array([topology_kernels.count_active(layer.indptr, layer.indices,
                                                     forward[idx], backward[idx + 1])
                       for idx, layer in enumerate(layers)], dtype=np.int64)
    total = int(connections.sum())
    return {
        "connections": connections,
        "active_connections": active,
        "active_fraction": float(active.sum() / total) if total else 0.0,
        "live_neurons": np.array([int(np.count_nonzero(f & b))
                                  for f, b in zip(forward[1:-1], backward[1:-1])],
                                 dtype=np.int64),
        "inputs_in_use": int(np.count_nonzero(backward[0])),
        "outputs_reached": int(np.count_nonzero(forward[-1])),
        "mean_in_degree": connections / np.array([layer.n_out for layer in layers]),
        "max_in_degree": np.array([int(np.diff(layer.indptr).max()) for layer in layers],
                                  dtype=np.int64),
        "max_out_degree": np.array(
            [int(topology_kernels.max_out_degree(layer.indices, layer.n_in))
             for layer in layers], dtype=np.int64),
    }


def _reach_chain(sizes, densities):
    """Distribution of the number of reached units, layer after layer.

    Unit layer 0 is fully reached. Given ``r`` reached units in layer
    ``u - 1``, each of the ``sizes[u]`` units of layer ``u`` is reached
    independently with probability ``1 - (1 - densities[u - 1]) ** r`` (it
    has at least one connection from a reached unit), so the counts form a
    Markov chain whose distributions are propagated exactly (states with
    negligible mass dropped; very wide layers binned, see _MAX_CELLS).
    Returns the expected reached fraction of each unit layer and the
    probability that the last layer is fully reached.
    """
    support = np.array([sizes[0]], dtype=np.float64)
    mass = np.array([1.0])
    fractions = [1.0]
    for size, density in zip(sizes[1:], densities):
        # log1p: (1 - d) ** r loses every digit for d near 1e-7 otherwise
        p_reach = -np.expm1(support * math.log1p(-density)) if density < 1 else (
            (support > 0).astype(np.float64))
        # only counts within 12 standard deviations of some state's mean can
        # carry mass: evaluating the binomial there alone keeps it O(states^2)
        mean = size * p_reach
        spread = 12 * np.sqrt(mean * (1 - p_reach)) + 2
        lo = max(0, math.floor((mean - spread).min()))
        hi = min(size, math.ceil((mean + spread).max()))
        if (hi - lo + 1) * support.shape[0] <= _MAX_CELLS:
            k = np.arange(lo, hi + 1, dtype=np.float64)
            width = 1.0
        else:
            # a wide layer near its percolation threshold: the counts are
            # binned to _MAX_STATES states (each carries its bin's mass)
            k = np.unique(np.round(np.linspace(lo, hi, _MAX_STATES)))
            width = np.gradient(k)[:, None] if k.shape[0] > 1 else 1.0
        pmf = binom.pmf(k[:, None], size, p_reach[None, :]) * width
        dist = pmf @ mass
        keep = dist > _NEGLIGIBLE_MASS
        support, mass = k[keep], dist[keep] / dist[keep].sum()
        fractions.append(float(support @ mass) / size)
    p_full = float(mass[support == sizes[-1]].sum())
    return np.array(fractions), p_full


def expected_connectivity(sizes, counts):
    """Expected connectivity of random layers of ``sizes`` (units per layer)
    with ``counts`` connections each (see :func:`connectivity_profile`)."""
    counts = np.asarray(counts, dtype=np.float64)
    densities = counts / (np.asarray(sizes[:-1], dtype=np.float64) * np.asarray(sizes[1:]))
    forward, p_full = _reach_chain(sizes, densities)
    backward = _reach_chain(sizes[::-1], densities[::-1])[0][::-1]
    active = counts * forward[:-1] * backward[1:]
    return {
        "active_connections": active.sum(),
        "active_fraction": active.sum() / counts.sum(),
        "outputs_reached": forward[-1],
        "inputs_in_use": backward[0],
        "p_all_outputs_reached": p_full,
        "live_neurons": forward[1:-1] * backward[1:-1],
    }


def connectivity_profile(layer_sizes, sparsities):
    """Expected connectivity of untrained random sparse networks.

    For each sparsity the connections are split over layers the Erdos-Renyi
    way, exactly as :class:`SETClassifier` allocates them, and each position
    of layer ``l`` is taken as present independently with that layer's
    density (the estimators draw an exact count instead; the difference is
    negligible once a layer has more than a few connections). The expected
    values below are then computed exactly, without building or sampling a
    network: the number of units reachable from the inputs is a Markov chain
    over layers, and so is the number reaching the outputs; a connection is
    active when its input unit is reachable and its output unit reaches an
    output, two independent events.

    Read more in the :ref:`User Guide <extreme_sparsity>`.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, inputs and outputs included, e.g.
        ``(64, 256, 256, 10)``.
    sparsities : float or sequence of float in [0, 1)
        Global sparsity levels.

    Returns
    -------
    profile : dict of ndarrays, one entry per sparsity
        ``sparsity``; ``connections`` (total); ``active_connections``
        (expected number on an input-to-output path); ``active_fraction``;
        ``outputs_reached`` and ``inputs_in_use`` (expected fractions of the
        output and input units on some path); ``p_all_outputs_reached``
        (probability that every output is reachable); ``live_neurons``
        (expected fraction of each hidden layer's units on some path, shape
        ``(n_sparsities, n_hidden)``). A sparsity that leaves a layer
        without any connection has no path at all: zeros.

    Examples
    --------
    >>> from sklearn_set import connectivity_profile
    >>> profile = connectivity_profile((64, 256, 256, 10), [0.99, 0.998])
    >>> profile["outputs_reached"].round(2)
    array([1.  , 0.19])
    """
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"layer_sizes needs at least 2 positive sizes, got {layer_sizes!r}")
    levels = check_sparsity_levels(np.atleast_1d(sparsities), what="connectivity_profile")
    shapes = list(zip(sizes[:-1], sizes[1:]))
    n_hidden = len(sizes) - 2
    out = {name: np.zeros(levels.shape[0]) for name in (
        "sparsity", "connections", "active_connections", "active_fraction",
        "outputs_reached", "inputs_in_use", "p_all_outputs_reached")}
    out["live_neurons"] = np.zeros((levels.shape[0], n_hidden))
    out["sparsity"][:] = levels
    total = sum(n_in * n_out for n_in, n_out in shapes)
    for row, sparsity in enumerate(levels):
        try:
            counts, _ = erdos_renyi_allocation(shapes, sparsity)
        except ValueError:  # some layer gets no connection: nothing is connected
            out["connections"][row] = round((1 - sparsity) * total)
            continue
        expected = expected_connectivity(sizes, counts)
        out["connections"][row] = counts.sum()
        for name in ("active_connections", "active_fraction", "outputs_reached",
                     "inputs_in_use", "p_all_outputs_reached", "live_neurons"):
            out[name][row] = expected[name]
    out["connections"] = out["connections"].astype(np.int64)
    return out
