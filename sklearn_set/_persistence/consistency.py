"""The check of the networks a loaded model holds: arrays of data only can
still be inconsistent (an input index past the layer's width, say), and the
numba kernels read them without bounds checks. A model is used only once
every layer's arrays agree with its shape."""

import numpy as np

from .audit import RefusedContent

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _array(layer, name, length, dtype, where):
    value = getattr(layer, name, None)
    if not (isinstance(value, np.ndarray) and value.ndim == 1):
        raise RefusedContent(f"{where}: {name} is not a 1-d array")
    if value.dtype != dtype:
        raise RefusedContent(f"{where}: {name} is {value.dtype}, not {dtype}")
    if length is not None and value.shape[0] not in np.atleast_1d(length):
        raise RefusedContent(f"{where}: {name} has {value.shape[0]} entries, not "
                             f"{' or '.join(map(str, np.atleast_1d(length)))}")
    return value


def check_layer(layer, where, shape=None, dtype=None):
    """Refuse a :class:`SparseLayer` whose arrays do not make a CSR matrix
    of ``shape`` (its own by default) with weights of ``dtype``."""
    n_in, n_out = getattr(layer, "n_in", None), getattr(layer, "n_out", None)
    if not all(isinstance(n, int) and n >= 1 for n in (n_in, n_out)):
        raise RefusedContent(f"{where}: its size is not a pair of positive integers")
    if shape is not None and (n_in, n_out) != shape:
        raise RefusedContent(f"{where}: {n_in}x{n_out}, where the network has {shape[0]}x"
                             f"{shape[1]}")
    values = getattr(layer, "values", None)
    dtype = dtype if dtype is not None else getattr(values, "dtype", None)
    if dtype not in _FLOATS:
        raise RefusedContent(f"{where}: its weights are not float32 or float64")
    indptr = _array(layer, "indptr", n_out + 1, np.int64, where)
    nnz = int(indptr[-1])
    if indptr[0] != 0 or np.any(np.diff(indptr) < 0) or nnz > n_in * n_out:
        raise RefusedContent(f"{where}: indptr does not delimit rows of connections")
    indices = _array(layer, "indices", nnz, np.int32, where)
    if nnz and (indices.min() < 0 or indices.max() >= n_in):
        raise RefusedContent(f"{where}: an input index lies outside [0, {n_in})")
    rows = np.repeat(np.arange(n_out, dtype=np.int64), np.diff(indptr))
    if np.any(np.diff(rows * n_in + indices) <= 0):  # the engine's order: by output, then input
        raise RefusedContent(f"{where}: its connections are not sorted and distinct")
    for name in ("values", "velocity"):
        _array(layer, name, nnz, dtype, where)
    for name in ("bias", "bias_velocity"):
        _array(layer, name, n_out, dtype, where)
    _array(layer, "second_moment", (0, nnz), dtype, where)
    _array(layer, "bias_second_moment", (0, n_out), dtype, where)
    _array(layer, "last_regrown", None, np.int64, where)
    if getattr(layer, "_by_input", None) is not None:
        raise RefusedContent(f"{where}: it holds a by-input view, which files never hold")


def check_network(network, where):
    """Refuse a :class:`SparseMLP` whose layers do not chain its layer
    sizes with its dtype, or whose activation codes are not its
    activation's."""
    from .._engine.activations import ACTIVATIONS, hidden_activation_codes

    sizes = getattr(network, "layer_sizes", None)
    if not (isinstance(sizes, tuple) and len(sizes) >= 2
            and all(isinstance(n, int) and n >= 1 for n in sizes)):
        raise RefusedContent(f"{where}: its layer sizes are not positive integers")
    layers = getattr(network, "layers", None)
    if not (isinstance(layers, list) and len(layers) == len(sizes) - 1):
        raise RefusedContent(f"{where}: it has not one layer per pair of layer sizes")
    dtype = getattr(network, "dtype", None)
    if dtype not in _FLOATS:
        raise RefusedContent(f"{where}: its dtype is not float32 or float64")
    # older files have no storage: their rows were stored in dtype
    storage = getattr(network, "storage", dtype)
    if storage != dtype and not (storage == np.uint16 and dtype == np.float32):
        raise RefusedContent(f"{where}: its rows are stored neither in its dtype nor "
                             "in bfloat16 with float32 weights")
    for i, layer in enumerate(layers):
        check_layer(layer, f"{where}, layer {i + 1}", (sizes[i], sizes[i + 1]), dtype)
    activation = getattr(network, "activation", None)
    codes = getattr(network, "hidden_codes", None)
    if not (isinstance(activation, str) and activation in ACTIVATIONS
            and np.array_equal(codes, hidden_activation_codes(activation, len(sizes) - 2))):
        raise RefusedContent(f"{where}: its activation codes are not those of its "
                             "activation")


def check_networks(model):
    """Check every network and layer ``model`` holds, wherever it is: in
    containers and in the attributes of the classes a model file may hold
    (nothing else is entered: a trusted pickle may hold anything)."""
    from .._engine.layer import SparseLayer
    from .._engine.network import SparseMLP
    from .allowed import allowed_types

    entered = tuple(allowed_types()["ObjectNode"].values())
    seen, stack = set(), [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if type(obj) is SparseMLP:
            check_network(obj, "a network")
        elif type(obj) is SparseLayer:
            check_layer(obj, "a layer")
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set)):
            stack.extend(obj)
        elif type(obj) is np.ndarray and obj.dtype == object:
            stack.extend(obj.ravel())
        elif isinstance(obj, entered):
            stack.extend(vars(obj).values())
