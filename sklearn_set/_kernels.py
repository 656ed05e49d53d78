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

The kernels that change a topology (prune compaction, free-position
filters, merge of new connections, reachability) are in
``_kernels_topology.py``.

Results do not depend on the number of threads: each output value is computed
by exactly one thread in a fixed order.

Scalars that enter inner loops (learning rate, momentum, decay, slopes) must be
passed with the dtype of the arrays, so float32 arithmetic stays float32; for
the same reason constants inside kernels are made with ``arr.dtype.type(0)``:
numba types ``x * 0`` as float64 when ``x`` is float32 (an int64 literal),
which silently turns a float32 loop into a float64 one with conversions.
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
    zero = z.dtype.type(0)
    one = z.dtype.type(1)
    if code == RELU:
        for b in range(n):
            a[b] = z[b] if z[b] > 0 else z[b] * zero
    elif code == LEAKY_RELU:
        for b in range(n):
            a[b] = z[b] if z[b] > 0 else slope * z[b]
    elif code == TANH:
        for b in range(n):
            a[b] = math.tanh(z[b])
    elif code == LOGISTIC:
        for b in range(n):
            a[b] = one / (one + math.exp(-z[b]))
    else:
        for b in range(n):
            a[b] = z[b]


@njit(inline="always")
def _scale_by_derivative_row(d, z, a, code, slope):
    """d *= f'(z) for one feature row (a = f(z) is given too)."""
    n = d.shape[0]
    zero = d.dtype.type(0)
    one = d.dtype.type(1)
    if code == RELU:
        for b in range(n):
            if not z[b] > 0:
                d[b] = d[b] * zero
    elif code == LEAKY_RELU:
        for b in range(n):
            if not z[b] > 0:
                d[b] = d[b] * slope
    elif code == TANH:
        for b in range(n):
            d[b] = d[b] * (one - a[b] * a[b])
    elif code == LOGISTIC:
        for b in range(n):
            d[b] = d[b] * (a[b] * (one - a[b]))


@njit(cache=True)
def scale_by_derivative(d, z, a, code, slope):
    """``d *= f'(z)`` for a feature-major array (``a = f(z)`` given too)."""
    for i in range(d.shape[0]):
        _scale_by_derivative_row(d[i], z[i], a[i], code, slope)


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def sparse_forward(indptr, indices, values, bias, a_in, z_out, a_out, code, slope,
                   uniform, drop_rate, drop_scale):
    """Pre-activation ``z_out = W a_in + b`` and activation ``a_out = f(z_out)``.

    ``a_out`` may be the same array as ``z_out``. When ``drop_rate > 0`` the
    activation then gets inverted dropout as in :func:`apply_dropout` (units
    whose ``uniform`` draw is below ``drop_rate`` are zeroed, the others
    scaled by ``drop_scale``); ``uniform`` is not read otherwise.

    The connections of an output are consumed eight (then four, then one) at
    a time, so each pass over the output row does eight multiply-adds per
    load and store of the row: a one-at-a-time loop is bound by the row's
    load/store traffic, not by arithmetic. Rows of ``a_in`` and ``z_out``
    should start on 64-byte boundaries (the engine's workspaces do): a vector
    load that straddles two cache lines costs two.
    """
    n_out = z_out.shape[0]
    n_batch = z_out.shape[1]
    for j in prange(n_out):
        z = z_out[j]
        bj = bias[j]
        k = indptr[j]
        end = indptr[j + 1]
        # the first group of eight also writes the bias: one pass less
        if k + 8 <= end:
            w0 = values[k]
            w1 = values[k + 1]
            w2 = values[k + 2]
            w3 = values[k + 3]
            w4 = values[k + 4]
            w5 = values[k + 5]
            w6 = values[k + 6]
            w7 = values[k + 7]
            s0 = a_in[indices[k]]
            s1 = a_in[indices[k + 1]]
            s2 = a_in[indices[k + 2]]
            s3 = a_in[indices[k + 3]]
            s4 = a_in[indices[k + 4]]
            s5 = a_in[indices[k + 5]]
            s6 = a_in[indices[k + 6]]
            s7 = a_in[indices[k + 7]]
            for b in range(n_batch):
                z[b] = bj + (((w0 * s0[b] + w1 * s1[b]) + (w2 * s2[b] + w3 * s3[b]))
                             + ((w4 * s4[b] + w5 * s5[b]) + (w6 * s6[b] + w7 * s7[b])))
            k += 8
        else:
            for b in range(n_batch):
                z[b] = bj
        while k + 8 <= end:
            w0 = values[k]
            w1 = values[k + 1]
            w2 = values[k + 2]
            w3 = values[k + 3]
            w4 = values[k + 4]
            w5 = values[k + 5]
            w6 = values[k + 6]
            w7 = values[k + 7]
            s0 = a_in[indices[k]]
            s1 = a_in[indices[k + 1]]
            s2 = a_in[indices[k + 2]]
            s3 = a_in[indices[k + 3]]
            s4 = a_in[indices[k + 4]]
            s5 = a_in[indices[k + 5]]
            s6 = a_in[indices[k + 6]]
            s7 = a_in[indices[k + 7]]
            for b in range(n_batch):
                z[b] += (((w0 * s0[b] + w1 * s1[b]) + (w2 * s2[b] + w3 * s3[b]))
                         + ((w4 * s4[b] + w5 * s5[b]) + (w6 * s6[b] + w7 * s7[b])))
            k += 8
        if k + 4 <= end:
            w0 = values[k]
            w1 = values[k + 1]
            w2 = values[k + 2]
            w3 = values[k + 3]
            s0 = a_in[indices[k]]
            s1 = a_in[indices[k + 1]]
            s2 = a_in[indices[k + 2]]
            s3 = a_in[indices[k + 3]]
            for b in range(n_batch):
                z[b] += (w0 * s0[b] + w1 * s1[b]) + (w2 * s2[b] + w3 * s3[b])
            k += 4
        while k < end:
            w = values[k]
            src = a_in[indices[k]]
            for b in range(n_batch):
                z[b] += w * src[b]
            k += 1
        if code != IDENTITY:
            _activate_row(z, a_out[j], code, slope)
        if drop_rate > 0:
            a = a_out[j]
            u = uniform[j]
            for b in range(n_batch):
                if u[b] < drop_rate:
                    a[b] = 0
                else:
                    a[b] *= drop_scale


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
def logistic_cross_entropy(z, y, weight, proba, delta):
    """Independent sigmoids (multilabel outputs, one row per label).

    ``proba`` receives the sigmoids and ``delta`` the gradient of
    ``sum_b weight[b] * BCE_b / n_batch``, where ``BCE_b`` sums the binary
    cross-entropy over labels as MLPClassifier's ``binary_log_loss`` does.
    Returns that loss; ``y`` (0/1) is feature-major like ``z``.
    """
    n_out, n_batch = z.shape
    one = z.dtype.type(1)
    total = 0.0
    for b in range(n_batch):
        scale = weight[b] / n_batch
        for o in range(n_out):
            x = z[o, b]
            # log(1 + exp(-|x|)) + max(x, 0) - y x: no overflow for any x
            total += weight[b] * (max(x, 0.0) - y[o, b] * x + math.log1p(math.exp(-abs(x))))
            p = one / (one + math.exp(-x)) if x >= 0 else math.exp(x) / (one + math.exp(x))
            proba[o, b] = p
            delta[o, b] = (p - y[o, b]) * scale
    return total / n_batch


@njit(cache=True)
def logistic_inplace(z):
    """Element-wise sigmoid, in place."""
    one = z.dtype.type(1)
    for o in range(z.shape[0]):
        for b in range(z.shape[1]):
            x = z[o, b]
            z[o, b] = one / (one + math.exp(-x)) if x >= 0 else math.exp(x) / (one + math.exp(x))


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


@njit(inline="always")
def _step(values, velocity, k, w, grad, lr, momentum, nesterov, decay):
    """SGD (Nesterov) momentum step of connection ``k`` whose weight before
    the step is ``w`` and whose data gradient is ``grad``."""
    g = grad + decay * w
    v = momentum * velocity[k] - lr * g
    velocity[k] = v
    if nesterov:
        values[k] = w + (momentum * v - lr * g)
    else:
        values[k] = w + v


@njit(inline="always")
def _bias_step(bias, velocity, j, d, lr, momentum, nesterov):
    """SGD step of bias ``j``; its gradient is the batch sum of ``d``."""
    g = d.dtype.type(0)
    for b in range(d.shape[0]):
        g += d[b]
    _sgd_momentum(bias, velocity, j, g, lr, momentum, nesterov)


@njit(inline="always")
def _update_row(indptr, indices, values, velocity, a_in, d, j, lr, momentum,
                nesterov, decay):
    """Weight gradient ``d . a_in[i] + decay * w`` and SGD step of every
    connection ``i -> j`` of output ``j``, four connections per pass over
    ``d`` (one load of ``d`` serves four dot products)."""
    n_batch = d.shape[0]
    zero = d.dtype.type(0)
    k = indptr[j]
    end = indptr[j + 1]
    while k + 4 <= end:
        s0 = a_in[indices[k]]
        s1 = a_in[indices[k + 1]]
        s2 = a_in[indices[k + 2]]
        s3 = a_in[indices[k + 3]]
        g0 = zero
        g1 = zero
        g2 = zero
        g3 = zero
        for b in range(n_batch):
            db = d[b]
            g0 += db * s0[b]
            g1 += db * s1[b]
            g2 += db * s2[b]
            g3 += db * s3[b]
        _step(values, velocity, k, values[k], g0, lr, momentum, nesterov, decay)
        _step(values, velocity, k + 1, values[k + 1], g1, lr, momentum, nesterov, decay)
        _step(values, velocity, k + 2, values[k + 2], g2, lr, momentum, nesterov, decay)
        _step(values, velocity, k + 3, values[k + 3], g3, lr, momentum, nesterov, decay)
        k += 4
    while k < end:
        src = a_in[indices[k]]
        g = zero
        for b in range(n_batch):
            g += d[b] * src[b]
        _step(values, velocity, k, values[k], g, lr, momentum, nesterov, decay)
        k += 1


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def update_first_layer(indptr, indices, values, velocity, bias, bias_velocity, a_in,
                       delta_out, lr, momentum, nesterov, decay):
    """Weight gradient and SGD step for a layer whose input needs no delta.

    ``grad_k = delta_out[j] . a_in[i] + decay * w_k`` for each connection
    ``k = (i -> j)``; the step is SGD with (Nesterov) momentum. The biases
    (gradient: batch sum of ``delta_out[j]``) take their step too.
    """
    for j in prange(delta_out.shape[0]):
        d = delta_out[j]
        _update_row(indptr, indices, values, velocity, a_in, d, j, lr, momentum,
                    nesterov, decay)
        _bias_step(bias, bias_velocity, j, d, lr, momentum, nesterov)


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def backward_update(t_indptr, t_order, t_rows, values, velocity, a_in, z_in,
                    delta_out, delta_in, code, slope, keep_mask, drop_rate,
                    drop_scale, lr, momentum, nesterov, decay, bias_in,
                    bias_in_velocity, first_indptr, first_indices, first_values,
                    first_velocity, x):
    """Fused backward pass and SGD step of a layer with a hidden input.

    Walks connections grouped by input ``i``. For each connection
    ``k = (i -> j)`` it forms the weight gradient from ``delta_out[j]`` and
    ``a_in[i]``, adds ``w_k * delta_out[j]`` (the weight *before* its update)
    to ``delta_in[i]`` and updates ``w_k``; four connections of an input at a
    time share each load and store of ``delta_in[i]``. Finally ``delta_in[i]`` is
    multiplied by the activation derivative of the input layer and by the
    dropout mask that was applied to ``a_in`` (when ``drop_rate > 0``).

    ``delta_in[i]`` is then complete, and the same thread uses it at once
    (while it is in cache) for the step of the layer *below*: the bias
    ``bias_in[i]`` and, when ``first_indptr`` is not empty (the layer below
    is the first layer, of input ``x``, stored by output like any layer),
    the weights of the first layer's output ``i``, as
    :func:`update_first_layer` would. This saves a pass over memory and two
    parallel launches per batch. Pass empty arrays when there is no first
    layer to update here.
    """
    fuse_first = first_indptr.shape[0] > 0
    # typed constants: an integer literal would promote float32 math to float64
    zero = delta_in.dtype.type(0)
    one = delta_in.dtype.type(1)
    n_in = delta_in.shape[0]
    n_batch = delta_in.shape[1]
    for i in prange(n_in):
        acc = delta_in[i]
        for b in range(n_batch):
            acc[b] = 0
        src = a_in[i]
        p = t_indptr[i]
        end = t_indptr[i + 1]
        while p + 4 <= end:
            k0 = t_order[p]
            k1 = t_order[p + 1]
            k2 = t_order[p + 2]
            k3 = t_order[p + 3]
            d0 = delta_out[t_rows[p]]
            d1 = delta_out[t_rows[p + 1]]
            d2 = delta_out[t_rows[p + 2]]
            d3 = delta_out[t_rows[p + 3]]
            w0 = values[k0]
            w1 = values[k1]
            w2 = values[k2]
            w3 = values[k3]
            g0 = zero
            g1 = zero
            g2 = zero
            g3 = zero
            for b in range(n_batch):
                sb = src[b]
                g0 += d0[b] * sb
                g1 += d1[b] * sb
                g2 += d2[b] * sb
                g3 += d3[b] * sb
                acc[b] += (w0 * d0[b] + w1 * d1[b]) + (w2 * d2[b] + w3 * d3[b])
            _step(values, velocity, k0, w0, g0, lr, momentum, nesterov, decay)
            _step(values, velocity, k1, w1, g1, lr, momentum, nesterov, decay)
            _step(values, velocity, k2, w2, g2, lr, momentum, nesterov, decay)
            _step(values, velocity, k3, w3, g3, lr, momentum, nesterov, decay)
            p += 4
        while p < end:
            k = t_order[p]
            d = delta_out[t_rows[p]]
            w = values[k]
            g = zero
            for b in range(n_batch):
                g += d[b] * src[b]
                acc[b] += w * d[b]
            _step(values, velocity, k, w, g, lr, momentum, nesterov, decay)
            p += 1
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
                            acc[b] *= one - fz * fz
                        else:
                            acc[b] *= fz * (one - fz)
                    # dropped units already have acc[b] == 0
            else:
                _scale_by_derivative_row(acc, z_in[i], src, code, slope)
        else:
            _scale_by_derivative_row(acc, z_in[i], src, code, slope)
        _bias_step(bias_in, bias_in_velocity, i, acc, lr, momentum, nesterov)
        if fuse_first:
            _update_row(first_indptr, first_indices, first_values, first_velocity,
                        x, acc, i, lr, momentum, nesterov, decay)


@njit(cache=True, fastmath=_FASTMATH)
def update_bias(bias, velocity, delta_out, lr, momentum, nesterov):
    """SGD step for the biases: gradient is the batch sum of ``delta_out``.

    Serial: it serves the output layer (a few units), where a parallel launch
    would cost more than the work.
    """
    for j in range(bias.shape[0]):
        _bias_step(bias, velocity, j, delta_out[j], lr, momentum, nesterov)


@njit(parallel=True, cache=True)
def gather_dense(x, rows, out):
    """``out[f, b] = x[rows[b], f]``: a batch of rows, transposed.

    Tiles of 16 samples x 64 features: the 64 output rows being written stay
    in L1 and each sample row is read sequentially; a task owns 16 whole
    columns (one 64-byte line of each output row), so threads never write
    to the same cache line.
    """
    n_features = x.shape[1]
    n_batch = rows.shape[0]
    for blk in prange((n_batch + 15) // 16):
        b0 = blk * 16
        b1 = min(b0 + 16, n_batch)
        for f0 in range(0, n_features, 64):
            f1 = min(f0 + 64, n_features)
            for b in range(b0, b1):
                src = x[rows[b]]
                for f in range(f0, f1):
                    out[f, b] = src[f]


@njit(cache=True)
def gather_csr(data, indices, indptr, rows, out):
    """Like :func:`gather_dense` for a CSR matrix given by its arrays."""
    out[:, :] = 0
    for b in range(rows.shape[0]):
        r = rows[b]
        for p in range(indptr[r], indptr[r + 1]):
            out[indices[p], b] += data[p]


@njit(cache=True)
def _transpose_fill(indptr, indices, t_indptr, t_order, t_rows):
    nnz = indices.shape[0]
    n_in = t_indptr.shape[0] - 1
    n_out = indptr.shape[0] - 1
    t_indptr[:] = 0
    for k in range(nnz):
        t_indptr[indices[k] + 1] += 1
    for i in range(n_in):
        t_indptr[i + 1] += t_indptr[i]
    fill = t_indptr[:-1].copy()
    for j in range(n_out):
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            p = fill[i]
            t_order[p] = k
            t_rows[p] = j
            fill[i] = p + 1


def transpose_order(indptr, indices, n_in):
    """Group connections by input with a counting sort, O(nnz).

    Returns ``t_indptr`` (int64, n_in + 1), ``t_order`` (position of each
    connection in the output-grouped arrays; int32 while positions fit, else
    int64) and ``t_rows`` (int32, its output neuron). Within one input the
    connections keep their output order.
    """
    nnz = indices.shape[0]
    t_indptr = np.empty(n_in + 1, dtype=np.int64)
    t_order = np.empty(nnz, dtype=index_dtype(nnz))
    t_rows = np.empty(nnz, dtype=np.int32)
    _transpose_fill(indptr, indices, t_indptr, t_order, t_rows)
    return t_indptr, t_order, t_rows


def index_dtype(n):
    """Smallest of int32/int64 that can hold positions ``0 .. n - 1``."""
    return np.int32 if n <= np.iinfo(np.int32).max else np.int64
