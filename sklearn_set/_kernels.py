"""Numba kernels for truly sparse layers.

Every function here is a pure function over flat NumPy arrays; nothing in this
module knows about layers, estimators or scikit-learn.

Layout conventions
------------------
* Activations, pre-activations and deltas are *feature-major*: an array of
  shape ``(n_units, n_batch)``, C-contiguous, so the innermost loops run over
  the batch with unit stride and vectorise.
* A layer's connections are stored grouped by output neuron (CSR by output):
  ``indptr`` (n_out + 1), ``indices`` (input id of each connection),
  ``values`` and ``velocity`` (one entry per connection).
* The backward pass of a layer with a hidden input walks the connections
  grouped by *input* through a permutation (``t_indptr``, ``t_order``,
  ``t_rows``) rebuilt only when the topology changes. One sweep then yields
  the weight gradient, the momentum update and the input delta of each
  connection without write races: every thread owns whole input rows.

Results do not depend on the number of threads: each output value is computed
by exactly one thread in a fixed order.

Scalars that enter inner loops (learning rate, momentum, decay, slopes) must be
passed with the dtype of the arrays, so float32 arithmetic stays float32.
"""

import math

import numpy as np
from numba import njit, prange

IDENTITY = 0
RELU = 1
LEAKY_RELU = 2
TANH = 3
LOGISTIC = 4

# reassoc lets LLVM vectorise the float32 dot products over the batch; NaN and
# inf semantics are kept so divergence stays detectable.
_FASTMATH = {"reassoc", "contract", "arcp"}


@njit(inline="always")
def _activate_row(z, a, code, slope):
    """a = f(z) for one feature row."""
    n = z.shape[0]
    if code == RELU:
        for b in range(n):
            a[b] = z[b] if z[b] > 0 else z[b] * 0
    elif code == LEAKY_RELU:
        for b in range(n):
            a[b] = z[b] if z[b] > 0 else slope * z[b]
    elif code == TANH:
        for b in range(n):
            a[b] = math.tanh(z[b])
    elif code == LOGISTIC:
        for b in range(n):
            a[b] = 1 / (1 + math.exp(-z[b]))
    else:
        for b in range(n):
            a[b] = z[b]


@njit(inline="always")
def _scale_by_derivative_row(d, z, a, code, slope):
    """d *= f'(z) for one feature row (a = f(z) is given too)."""
    n = d.shape[0]
    if code == RELU:
        for b in range(n):
            if not z[b] > 0:
                d[b] = d[b] * 0
    elif code == LEAKY_RELU:
        for b in range(n):
            if not z[b] > 0:
                d[b] = d[b] * slope
    elif code == TANH:
        for b in range(n):
            d[b] = d[b] * (1 - a[b] * a[b])
    elif code == LOGISTIC:
        for b in range(n):
            d[b] = d[b] * (a[b] * (1 - a[b]))


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def sparse_forward(indptr, indices, values, bias, a_in, z_out, a_out, code, slope):
    """Pre-activation ``z_out = W a_in + b`` and activation ``a_out = f(z_out)``.

    ``a_out`` may be the same array as ``z_out`` when ``code`` is IDENTITY.
    """
    n_out = z_out.shape[0]
    for j in prange(n_out):
        z = z_out[j]
        bj = bias[j]
        for b in range(z.shape[0]):
            z[b] = bj
        for k in range(indptr[j], indptr[j + 1]):
            w = values[k]
            src = a_in[indices[k]]
            for b in range(z.shape[0]):
                z[b] += w * src[b]
        if code != IDENTITY:
            _activate_row(z, a_out[j], code, slope)


@njit(parallel=True, cache=True)
def apply_dropout(a, uniform, drop_rate, scale):
    """Inverted dropout in place: zero units whose ``uniform`` draw is below
    ``drop_rate`` and scale the survivors by ``scale = 1 / (1 - drop_rate)``."""
    for i in prange(a.shape[0]):
        for b in range(a.shape[1]):
            if uniform[i, b] < drop_rate:
                a[i, b] = 0
            else:
                a[i, b] *= scale


@njit(cache=True)
def softmax_cross_entropy(z, y, weight, proba, delta):
    """Softmax over classes (rows) for each sample (column).

    ``proba`` receives the probabilities and ``delta`` the gradient of
    ``sum_b weight[b] * CE_b / n_batch`` with respect to ``z``. Returns the
    weighted mean cross-entropy of the batch. ``y`` holds class indices.
    """
    n_classes, n_batch = z.shape
    total = 0.0
    for b in range(n_batch):
        zmax = z[0, b]
        for c in range(1, n_classes):
            if z[c, b] > zmax:
                zmax = z[c, b]
        norm = 0.0
        for c in range(n_classes):
            e = math.exp(z[c, b] - zmax)
            proba[c, b] = e
            norm += e
        log_norm = math.log(norm)
        for c in range(n_classes):
            proba[c, b] = proba[c, b] / norm
        total += weight[b] * (log_norm - (z[y[b], b] - zmax))
        scale = weight[b] / n_batch
        for c in range(n_classes):
            delta[c, b] = proba[c, b] * scale
        delta[y[b], b] -= scale
    return total / n_batch


@njit(cache=True)
def softmax_inplace(z):
    """Column-wise softmax of a feature-major array, in place."""
    n_classes, n_batch = z.shape
    for b in range(n_batch):
        zmax = z[0, b]
        for c in range(1, n_classes):
            if z[c, b] > zmax:
                zmax = z[c, b]
        norm = 0.0
        for c in range(n_classes):
            e = math.exp(z[c, b] - zmax)
            z[c, b] = e
            norm += e
        for c in range(n_classes):
            z[c, b] = z[c, b] / norm


@njit(cache=True)
def squared_error(z, y, weight, delta):
    """Gradient of ``sum_b weight[b] * ||z_b - y_b||^2 / (2 n_batch)``.

    Returns that loss; ``y`` is feature-major like ``z``.
    """
    n_out, n_batch = z.shape
    total = 0.0
    for b in range(n_batch):
        scale = weight[b] / n_batch
        sq = 0.0
        for o in range(n_out):
            r = z[o, b] - y[o, b]
            sq += r * r
            delta[o, b] = r * scale
        total += weight[b] * sq
    return total / (2 * n_batch)


@njit(inline="always")
def _sgd_momentum(values, velocity, k, grad, lr, momentum, nesterov):
    v = momentum * velocity[k] - lr * grad
    velocity[k] = v
    if nesterov:
        values[k] += momentum * v - lr * grad
    else:
        values[k] += v


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def update_first_layer(indptr, indices, values, velocity, a_in, delta_out, lr,
                       momentum, nesterov, decay):
    """Weight gradient and SGD step for a layer whose input needs no delta.

    ``grad_k = delta_out[j] . a_in[i] + decay * w_k`` for each connection
    ``k = (i -> j)``; the step is SGD with (Nesterov) momentum.
    """
    n_out = delta_out.shape[0]
    n_batch = delta_out.shape[1]
    for j in prange(n_out):
        d = delta_out[j]
        for k in range(indptr[j], indptr[j + 1]):
            src = a_in[indices[k]]
            g = lr * 0
            for b in range(n_batch):
                g += d[b] * src[b]
            g += decay * values[k]
            _sgd_momentum(values, velocity, k, g, lr, momentum, nesterov)


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def backward_update(t_indptr, t_order, t_rows, values, velocity, a_in, z_in,
                    delta_out, delta_in, code, slope, keep_mask, drop_rate,
                    drop_scale, lr, momentum, nesterov, decay):
    """Fused backward pass and SGD step of a layer with a hidden input.

    Walks connections grouped by input ``i``. For each connection
    ``k = (i -> j)`` it forms the weight gradient from ``delta_out[j]`` and
    ``a_in[i]``, adds ``w_k * delta_out[j]`` (the weight *before* its update)
    to ``delta_in[i]`` and updates ``w_k``. Finally ``delta_in[i]`` is
    multiplied by the activation derivative of the input layer and by the
    dropout mask that was applied to ``a_in`` (when ``drop_rate > 0``).
    """
    n_in = delta_in.shape[0]
    n_batch = delta_in.shape[1]
    for i in prange(n_in):
        acc = delta_in[i]
        for b in range(n_batch):
            acc[b] = 0
        src = a_in[i]
        for p in range(t_indptr[i], t_indptr[i + 1]):
            k = t_order[p]
            d = delta_out[t_rows[p]]
            w = values[k]
            g = lr * 0
            for b in range(n_batch):
                g += d[b] * src[b]
                acc[b] += w * d[b]
            g += decay * w
            _sgd_momentum(values, velocity, k, g, lr, momentum, nesterov)
        if drop_rate > 0:
            mask = keep_mask[i]
            for b in range(n_batch):
                if mask[b] < drop_rate:
                    acc[b] = 0
                else:
                    acc[b] *= drop_scale
            # a_in holds the dropped-out activation; the derivative needs
            # f(z), which only matters for tanh and logistic.
            if code == TANH or code == LOGISTIC:
                for b in range(n_batch):
                    if mask[b] >= drop_rate:
                        fz = src[b] / drop_scale
                        if code == TANH:
                            acc[b] *= 1 - fz * fz
                        else:
                            acc[b] *= fz * (1 - fz)
                    # dropped units already have acc[b] == 0
            else:
                _scale_by_derivative_row(acc, z_in[i], src, code, slope)
        else:
            _scale_by_derivative_row(acc, z_in[i], src, code, slope)


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def update_bias(bias, velocity, delta_out, lr, momentum, nesterov):
    """SGD step for the biases: gradient is the batch sum of ``delta_out``."""
    for j in prange(bias.shape[0]):
        d = delta_out[j]
        g = lr * 0
        for b in range(d.shape[0]):
            g += d[b]
        _sgd_momentum(bias, velocity, j, g, lr, momentum, nesterov)


@njit(cache=True)
def gather_dense(x, rows, out):
    """``out[f, b] = x[rows[b], f]``: a batch of rows, transposed."""
    n_features = x.shape[1]
    for b in range(rows.shape[0]):
        r = rows[b]
        for f in range(n_features):
            out[f, b] = x[r, f]


@njit(cache=True)
def gather_csr(data, indices, indptr, rows, out):
    """Like :func:`gather_dense` for a CSR matrix given by its arrays."""
    out[:, :] = 0
    for b in range(rows.shape[0]):
        r = rows[b]
        for p in range(indptr[r], indptr[r + 1]):
            out[indices[p], b] += data[p]


@njit(cache=True)
def gather_labels(y, rows, out):
    for b in range(rows.shape[0]):
        out[b] = y[rows[b]]


@njit(cache=True)
def transpose_order(indptr, indices, n_in):
    """Group connections by input with a counting sort, O(nnz).

    Returns ``t_indptr`` (n_in + 1), ``t_order`` (position of each connection
    in the output-grouped arrays) and ``t_rows`` (its output neuron). Within
    one input the connections keep their output order.
    """
    nnz = indices.shape[0]
    n_out = indptr.shape[0] - 1
    t_indptr = np.zeros(n_in + 1, dtype=np.int64)
    for k in range(nnz):
        t_indptr[indices[k] + 1] += 1
    for i in range(n_in):
        t_indptr[i + 1] += t_indptr[i]
    fill = t_indptr[:-1].copy()
    t_order = np.empty(nnz, dtype=np.int64)
    t_rows = np.empty(nnz, dtype=np.int32)
    for j in range(n_out):
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            p = fill[i]
            t_order[p] = k
            t_rows[p] = j
            fill[i] = p + 1
    return t_indptr, t_order, t_rows


@njit(cache=True)
def input_strength(indices, values, n_in):
    """Sum of absolute connection weights leaving each input."""
    out = np.zeros(n_in, dtype=np.float64)
    for k in range(indices.shape[0]):
        out[indices[k]] += abs(values[k])
    return out
