"""Numba kernels for truly sparse layers.

Every function here is a pure function over flat NumPy arrays; nothing in this
module knows about layers, estimators or scikit-learn.

Layout conventions
------------------
* Activations, pre-activations and deltas are *feature-major*: an array of
  shape ``(n_units, n_batch)``, C-contiguous, so the innermost loops run over
  the batch with unit stride and vectorise (the tiled loops of
  :mod:`sklearn_set._engine._kernels.simd`). Rows should start on 64-byte boundaries, as
  the engine's workspaces do: a vector load that straddles two cache lines
  costs two.
* A layer's connections are stored grouped by output neuron (CSR by output):
  ``indptr`` (n_out + 1), ``indices`` (input id of each connection),
  ``values`` and ``velocity`` (one entry per connection); with Adam,
  ``velocity`` holds the first moments and ``second`` the second moments
  (empty for SGD, which selects the SGD step).
* The backward pass of a layer with a hidden input walks the connections
  grouped by *input* through a permutation (``t_indptr``, ``t_order``,
  ``t_rows``, and its inverse ``t_position``, or for large layers per chunk
  of outputs the first by-input position of each input, ``t_start``, from
  which the step counts the inverse) rebuilt only when the topology
  changes. One sweep yields the weight gradient (in by-input
  order) and the input delta of each connection without write races: every
  thread owns whole input rows. A second, sequential sweep takes the
  steps.

The kernels that change a topology (prune compaction, free-position
filters, merge of new connections, reachability) are in ``topology.py``;
the by-input permutation and the batch gathering are in ``layout.py``;
the output layer's losses and their deltas in ``losses.py``.

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

from ..activations import IDENTITY, LEAKY_RELU, LOGISTIC, RELU, TANH
from .simd import (
    gather_axpy_1,
    gather_axpy_2,
    gather_axpy_4,
    gather_axpy_8,
    gather_axpy_columns,
    gather_dots_axpy,
    gather_dots_bfloat16_1,
    gather_dots_bfloat16_4,
    interleave_pairs,
    multiply_add,
    uses_bfloat16_dot,
)
from .storage import (
    BFLOAT16,
    even_bfloat16,
    load,
    odd_bfloat16,
    real,
    store,
    word_at,
)
from .vectors import VECTOR_BYTES

# reassoc lets LLVM vectorise the float32 dot products over the batch; NaN and
# inf semantics are kept so divergence stays detectable.
_FASTMATH = {"reassoc", "contract", "arcp"}

# Tasks of backward_update's parallel loop over inputs: each sums its
# inputs' deltas in a scratch row of its own.
_BACKWARD_CHUNKS = 64

# columns of bfloat16 that gather_dots_bfloat16_* take per load of a row
_BFLOAT16_BLOCK = 2 * VECTOR_BYTES // 4


@njit(inline="always")
def _activate_row(z, a, code, slope):
    """a = f(z) for one feature row (rows of bfloat16 too: see
    :mod:`.storage`)."""
    n = z.shape[0]
    zero = real(z, 0)
    one = real(z, 1)
    if code == RELU:
        for b in range(n):
            v = load(z, b)
            store(a, b, v if v > 0 else v * zero)
    elif code == LEAKY_RELU:
        for b in range(n):
            v = load(z, b)
            store(a, b, v if v > 0 else slope * v)
    elif code == TANH:
        for b in range(n):
            store(a, b, math.tanh(load(z, b)))
    elif code == LOGISTIC:
        for b in range(n):
            store(a, b, one / (one + math.exp(-load(z, b))))
    else:
        for b in range(n):
            store(a, b, load(z, b))


@njit(cache=True)
def activate_inplace(z, code, slope):
    """``z = f(z)`` for a 1-D array, as the forward pass computes it:
    compaction and quantisation evaluate the activations with it, so they
    compute the kernels' own function."""
    _activate_row(z, z, code, slope)


@njit(inline="always")
def _scale_by_derivative_row(d, z, a, code, slope):
    """d *= f'(z) for one feature row (a = f(z) is given too)."""
    n = d.shape[0]
    zero = real(d, 0)
    one = real(d, 1)
    if code == RELU:
        for b in range(n):
            if not load(z, b) > 0:
                store(d, b, load(d, b) * zero)
    elif code == LEAKY_RELU:
        for b in range(n):
            if not load(z, b) > 0:
                store(d, b, load(d, b) * slope)
    elif code == TANH:
        for b in range(n):
            ab = load(a, b)
            store(d, b, load(d, b) * (one - ab * ab))
    elif code == LOGISTIC:
        for b in range(n):
            ab = load(a, b)
            store(d, b, load(d, b) * (ab * (one - ab)))


@njit(inline="always")
def _derivative_times_row(out, d, z, a, code, slope):
    """out = d * f'(z) for one feature row, with the arithmetic of
    :func:`_scale_by_derivative_row`; ``out`` may be ``z`` or ``a``
    (each entry is read before it is written)."""
    n = d.shape[0]
    zero = real(d, 0)
    one = real(d, 1)
    if code == RELU:
        for b in range(n):
            db = load(d, b)
            store(out, b, db if load(z, b) > 0 else db * zero)
    elif code == LEAKY_RELU:
        for b in range(n):
            db = load(d, b)
            store(out, b, db if load(z, b) > 0 else db * slope)
    elif code == TANH:
        for b in range(n):
            ab = load(a, b)
            store(out, b, load(d, b) * (one - ab * ab))
    elif code == LOGISTIC:
        for b in range(n):
            ab = load(a, b)
            store(out, b, load(d, b) * (ab * (one - ab)))
    else:
        for b in range(n):
            store(out, b, load(d, b))


@njit(cache=True)
def scale_by_derivative(d, z, a, code, slope):
    """``d *= f'(z)`` for a feature-major array (``a = f(z)`` given too)."""
    for i in range(d.shape[0]):
        _scale_by_derivative_row(d[i], z[i], a[i], code, slope)


@njit(inline="always")
def _weighted_rows_sum(indptr, indices, values, words, a_in, z, j, init):
    """``z = init + sum_k values[k] * a_in[indices[k]]`` over the connections
    ``k`` of output ``j``: register tiles of 8, 4, 2, 1 vectors across the
    batch (see :mod:`sklearn_set._engine._kernels.simd`), then single columns.

    Where the tiles multiply bfloat16 rows with the CPU's bfloat16 dot
    product (:func:`uses_bfloat16_dot`), they read the weights rounded to
    bfloat16 from ``words`` (one entry per connection); elsewhere ``words``
    is not read."""
    n = z.shape[0]
    lanes = VECTOR_BYTES // values.itemsize  # of the float32 sums, whatever z stores
    start = indptr[j]
    end = indptr[j + 1]
    b0 = 0
    while b0 + 8 * lanes <= n:
        gather_axpy_8(z, a_in, indices, values, words, start, end, b0, init)
        b0 += 8 * lanes
    if b0 + 4 * lanes <= n:
        gather_axpy_4(z, a_in, indices, values, words, start, end, b0, init)
        b0 += 4 * lanes
    if b0 + 2 * lanes <= n:
        gather_axpy_2(z, a_in, indices, values, words, start, end, b0, init)
        b0 += 2 * lanes
    if b0 + lanes <= n:
        gather_axpy_1(z, a_in, indices, values, words, start, end, b0, init)
        b0 += lanes
    if b0 < n and not gather_axpy_columns(z, a_in, indices, values, words, start, end, b0,
                                          init):
        for b in range(b0, n):
            total = init
            for k in range(start, end):
                total = multiply_add(values[k], load(a_in[indices[k]], b), total)
            store(z, b, total)


@njit(inline="always")
def _drop_out_row(row, uniform, drop_rate, drop_scale):
    """Inverted dropout of one feature row, in place: entries whose
    ``uniform`` draw is below ``drop_rate`` become 0, the others are scaled
    by ``drop_scale = 1 / (1 - drop_rate)``. The forward pass applies it to
    activations, the backward pass to their deltas (same draws)."""
    zero = real(row, 0)
    for b in range(row.shape[0]):
        if uniform[b] < drop_rate:
            store(row, b, zero)
        else:
            store(row, b, load(row, b) * drop_scale)


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def sparse_forward(indptr, indices, values, bias, a_in, z_out, a_out, code, slope,
                   uniform, drop_rate, drop_scale):
    """Pre-activation ``z_out = W a_in + b`` and activation ``a_out = f(z_out)``.

    ``a_out`` may be the same array as ``z_out``. When ``drop_rate > 0`` the
    activation then gets inverted dropout: units whose ``uniform`` draw is
    below ``drop_rate`` are zeroed, the others scaled by
    ``drop_scale = 1 / (1 - drop_rate)``; ``uniform`` is not read otherwise.

    Each output row is formed tile by tile, the tile's partial sums held in
    registers across all of the output's connections and written once.
    With bfloat16 rows (uint16 ``a_in``) on a CPU with ``vdpbf16ps``, the
    products are those of the weights rounded to bfloat16 (float32 sums,
    see :func:`~sklearn_set._engine._kernels.simd._gather_dot_pairs`);
    elsewhere of the weights themselves.
    """
    # With a_out the same array as z_out, a piecewise-linear activation is
    # applied to the row as one array: given two, LLVM checks them for
    # overlap at run time, finds it and runs its scalar loop (the kernel
    # took 1.14-1.18x the time at batch 32-128). Vector and scalar code give
    # these activations the same bits; tanh and logistic keep their path.
    in_place = (a_out.ctypes.data == z_out.ctypes.data
                and (code == RELU or code == LEAKY_RELU))
    # the weights rounded to bfloat16 where the tiles multiply bfloat16
    # pairs (2 bytes per connection while the call runs), in a pass of
    # their own. One thread, 1000 x 1000 at 4%, batch 128, each against
    # the multiply-add tiles in its run: rounding each pair's weights in
    # the tile loop took about 1.15x the time of this, and rounding each
    # output's weights just before its tiles about 1.25x.
    words = np.empty(values.shape[0] if uses_bfloat16_dot(a_in) else 0, BFLOAT16)
    if uses_bfloat16_dot(a_in):
        for k in prange(values.shape[0]):
            store(words, k, values[k])
    for j in prange(z_out.shape[0]):
        z = z_out[j]
        _weighted_rows_sum(indptr, indices, values, words, a_in, z, j, bias[j])
        if in_place:
            _activate_row(z, z, code, slope)
        elif code != IDENTITY:
            _activate_row(z, a_out[j], code, slope)
        if drop_rate > 0:
            _drop_out_row(a_out[j], uniform[j], drop_rate, drop_scale)


_TINY32 = float(np.finfo(np.float32).tiny)
_TINY64 = float(np.finfo(np.float64).tiny)


@njit(inline="always")
def _flush_subnormal(v, values):
    """``v``, or 0 when ``v`` is subnormal. Momentum shrinks the velocity of a
    connection that gets no gradient (one into a dead unit) by ``momentum``
    per step until it sticks at a subnormal fixed point: up to a quarter of
    the velocities at sparsity 0.999 with ``alpha=0``
    (``benchmarks/subnormals.py``). AMD Zen 3 computes with them at full
    speed, but many CPUs take a microcode assist per subnormal operand."""
    tiny = values.dtype.type(_TINY32 if values.itemsize == 4 else _TINY64)
    # v - v: a zero of v's own type (v * 0 would be float64) that keeps NaN
    return v if abs(v) >= tiny else v - v


@njit(inline="always")
def _sgd_momentum(values, velocity, k, grad, lr, momentum, nesterov):
    """SGD step of parameter ``k``: with (Nesterov) momentum, or plain when
    ``velocity`` is empty (``momentum=0``: the velocity would be the step
    itself, so the result is the same to the bit)."""
    if velocity.shape[0] == 0:
        values[k] += _flush_subnormal(-(lr * grad), values)
        return
    v = _flush_subnormal(momentum * velocity[k] - lr * grad, values)
    velocity[k] = v
    if nesterov:
        values[k] += momentum * v - lr * grad
    else:
        values[k] += v


@njit(inline="always")
def _adam_change(first, second, k, grad, lr, moments):
    """Adam (Kingma and Ba, 2015) for one parameter: updates its first and
    second moments ``first[k]``, ``second[k]`` with ``grad`` and returns the
    change ``lr * m / (sqrt(v) + epsilon)`` to subtract from it, where
    ``lr`` is the step's bias-corrected rate and ``moments`` is
    ``(beta_1, beta_2, epsilon)``, as scikit-learn's AdamOptimizer computes
    it. Moments of parameters without gradient shrink geometrically: they
    are flushed to zero below the normal range like velocities."""
    beta_1, beta_2, epsilon = moments
    one = first.dtype.type(1)
    m = _flush_subnormal(beta_1 * first[k] + (one - beta_1) * grad, first)
    v = _flush_subnormal(beta_2 * second[k] + (one - beta_2) * (grad * grad), first)
    first[k] = m
    second[k] = v
    return lr * m / (math.sqrt(v) + epsilon)


@njit(inline="always")
def _step(values, velocity, second, k, w, grad, lr, momentum, nesterov, decay, moments):
    """Step of connection ``k`` whose weight before the step is ``w`` and
    whose data gradient is ``grad``: SGD with (Nesterov) momentum when
    ``second`` is empty (plain SGD when ``velocity`` is empty too), else
    Adam with ``velocity`` as first moment and ``second`` as second moment
    (see :func:`_adam_change`)."""
    g = grad + decay * w
    if second.shape[0] > 0:
        values[k] = w - _adam_change(velocity, second, k, g, lr, moments)
        return
    if velocity.shape[0] == 0:  # momentum=0: no velocity kept (see _sgd_momentum)
        values[k] = w + _flush_subnormal(-(lr * g), values)
        return
    v = _flush_subnormal(momentum * velocity[k] - lr * g, values)
    velocity[k] = v
    if nesterov:
        values[k] = w + (momentum * v - lr * g)
    else:
        values[k] = w + v


@njit(inline="always")
def _bias_step(bias, velocity, second, j, d, lr, momentum, nesterov, moments):
    """Step of bias ``j`` (SGD or Adam, as :func:`_step`); its gradient is
    the batch sum of ``d``."""
    g = bias.dtype.type(0)
    for b in range(d.shape[0]):
        g += load(d, b)
    if second.shape[0] > 0:
        bias[j] -= _adam_change(velocity, second, j, g, lr, moments)
    else:
        _sgd_momentum(bias, velocity, j, g, lr, momentum, nesterov)


@njit(inline="always")
def _gather_dots(fixed, rows, ids, weights, weight_ids, count, dots, acc):
    """``dots[q] = rows[ids[q]] . fixed`` for ``q < count`` and
    ``acc = sum_q weights[weight_ids[q]] * rows[ids[q]]``: whole vectors of
    columns in :mod:`sklearn_set._engine._kernels.simd`, the few columns past the last whole
    vector here."""
    n = fixed.shape[0]
    lanes = VECTOR_BYTES // acc.itemsize  # of the float32 sums, whatever the rows store
    # bfloat16 rows are read two vectors at a time (see gather_dots_axpy)
    paired = fixed.itemsize == 2 and rows.itemsize == 2
    n_vectors = n // (2 * lanes) * 2 if paired else n // lanes
    zero = acc.dtype.type(0)
    for b in range(n):
        acc[b] = zero
    gather_dots_axpy(fixed, rows, ids, weights, weight_ids, count, n_vectors, dots, acc)
    if paired:
        interleave_pairs(acc, n_vectors)
    b0 = n_vectors * lanes
    if b0 < n:
        for q in range(count):
            row = rows[ids[q]]
            total = dots[q]
            w = weights[weight_ids[q]]
            for b in range(b0, n):
                rb = load(row, b)
                total += rb * load(fixed, b)
                acc[b] = multiply_add(w, rb, acc[b])
            dots[q] = total


@njit(inline="always")
def _paired_dots(d, rows, ids, k, count, zero):
    """Dot products of bfloat16 row ``d`` with the first ``count`` (1 or 4)
    of the rows ``rows[ids[k]], rows[ids[k + 1]], ...``, reading two
    entries per 32-bit word. Where the CPU has ``vdpbf16ps``
    (:func:`~.simd.uses_bfloat16_dot`), whole blocks of columns take one
    instruction per word vector (:func:`~.simd.gather_dots_bfloat16_4`),
    in the order of the hidden layers' weight gradients, and the columns
    past the last block one multiply-add each, in order. Elsewhere a shift
    (even entry) and a mask (odd entry) per two columns, where widening
    each entry takes a shuffle and a shift."""
    n = d.shape[0]
    s0 = rows[ids[k]]
    s1 = rows[ids[k + 1]] if count == 4 else s0
    s2 = rows[ids[k + 2]] if count == 4 else s0
    s3 = rows[ids[k + 3]] if count == 4 else s0
    if uses_bfloat16_dot(d):
        if count == 4:
            g0, g1, g2, g3 = gather_dots_bfloat16_4(d, rows, ids, k)
        else:
            g0 = gather_dots_bfloat16_1(d, rows, ids, k)[0]
            g1 = g2 = g3 = g0
        # float32 already; real() lets float64 rows, which never get here, compile
        g0, g1, g2, g3 = real(d, g0), real(d, g1), real(d, g2), real(d, g3)
        for b in range(n // _BFLOAT16_BLOCK * _BFLOAT16_BLOCK, n):
            db = load(d, b)
            g0 = multiply_add(db, load(s0, b), g0)
            if count == 4:
                g1 = multiply_add(db, load(s1, b), g1)
                g2 = multiply_add(db, load(s2, b), g2)
                g3 = multiply_add(db, load(s3, b), g3)
        return g0, g1, g2, g3
    g0 = zero
    g1 = zero
    g2 = zero
    g3 = zero
    if count == 4:
        for q in range(n // 2):
            dw = word_at(d, q)
            de = even_bfloat16(dw)
            do = odd_bfloat16(dw)
            w0 = word_at(s0, q)
            w1 = word_at(s1, q)
            w2 = word_at(s2, q)
            w3 = word_at(s3, q)
            g0 += de * even_bfloat16(w0) + do * odd_bfloat16(w0)
            g1 += de * even_bfloat16(w1) + do * odd_bfloat16(w1)
            g2 += de * even_bfloat16(w2) + do * odd_bfloat16(w2)
            g3 += de * even_bfloat16(w3) + do * odd_bfloat16(w3)
    else:
        for q in range(n // 2):
            dw = word_at(d, q)
            w0 = word_at(s0, q)
            g0 += even_bfloat16(dw) * even_bfloat16(w0) + odd_bfloat16(dw) * odd_bfloat16(w0)
    if n % 2:
        db = load(d, n - 1)
        g0 += db * load(s0, n - 1)
        if count == 4:
            g1 += db * load(s1, n - 1)
            g2 += db * load(s2, n - 1)
            g3 += db * load(s3, n - 1)
    return g0, g1, g2, g3


@njit(inline="always")
def _update_row(indptr, indices, values, velocity, second, a_in, d, j, lr, momentum,
                nesterov, decay, moments):
    """Weight gradient ``d . a_in[i] + decay * w`` and step (:func:`_step`) of every
    connection ``i -> j`` of output ``j``, four connections per pass over
    ``d`` (one load of ``d`` serves four dot products)."""
    n_batch = d.shape[0]
    zero = values.dtype.type(0)
    # bfloat16 rows on both sides: read in pairs (a constant per compiled type)
    paired = a_in.itemsize == 2 and d.itemsize == 2
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
        if paired:
            g0, g1, g2, g3 = _paired_dots(d, a_in, indices, k, 4, zero)
        else:
            for b in range(n_batch):
                db = load(d, b)
                g0 += db * load(s0, b)
                g1 += db * load(s1, b)
                g2 += db * load(s2, b)
                g3 += db * load(s3, b)
        _step(values, velocity, second, k, values[k], g0, lr, momentum, nesterov,
              decay, moments)
        _step(values, velocity, second, k + 1, values[k + 1], g1, lr, momentum, nesterov,
              decay, moments)
        _step(values, velocity, second, k + 2, values[k + 2], g2, lr, momentum, nesterov,
              decay, moments)
        _step(values, velocity, second, k + 3, values[k + 3], g3, lr, momentum, nesterov,
              decay, moments)
        k += 4
    while k < end:
        src = a_in[indices[k]]
        g = zero
        if paired:
            g = _paired_dots(d, a_in, indices, k, 1, zero)[0]
        else:
            for b in range(n_batch):
                g += load(d, b) * load(src, b)
        _step(values, velocity, second, k, values[k], g, lr, momentum, nesterov, decay,
              moments)
        k += 1


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def update_first_layer(indptr, indices, values, velocity, bias, bias_velocity, a_in,
                       delta_out, lr, momentum, nesterov, decay, second, bias_second,
                       moments):
    """Weight gradient and step for a layer whose input needs no delta.

    ``grad_k = delta_out[j] . a_in[i] + decay * w_k`` for each connection
    ``k = (i -> j)``; the step is SGD with (Nesterov) momentum, or Adam when
    ``second`` (the connections' second moments; ``bias_second``, the
    biases') is not empty: see :func:`_step`. The biases (gradient: batch
    sum of ``delta_out[j]``) take their step too.

    Plain numba loops: the register-tiled dot products of
    :mod:`sklearn_set._engine._kernels.simd` ran this kernel at 0.87-0.94x of this on one
    thread (1000 x 1000 at 4%, batch 32 and 128). The exception: bfloat16
    rows on a CPU with ``vdpbf16ps``, whose dot products only a tile loop
    can use (:func:`_paired_dots`); 1.2x faster than the plain loop on one
    thread (same layer, batch 128).
    """
    for j in prange(delta_out.shape[0]):
        d = delta_out[j]
        _update_row(indptr, indices, values, velocity, second, a_in, d, j, lr, momentum,
                    nesterov, decay, moments)
        _bias_step(bias, bias_velocity, bias_second, j, d, lr, momentum, nesterov, moments)


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def backward_update(t_indptr, t_order, t_rows, t_grad, values, a_in, z_in,
                    delta_out, delta_in, code, slope, keep_mask, drop_rate,
                    drop_scale, lr, momentum, nesterov, decay, bias_in,
                    bias_in_velocity, first_indptr, first_indices, first_values,
                    first_velocity, x, bias_in_second, first_second, moments):
    """Fused backward pass of a layer with a hidden input.

    Walks connections grouped by input ``i``. For each connection
    ``k = (i -> j)`` it writes the weight gradient ``delta_out[j] . a_in[i]``
    to ``t_grad`` at the connection's by-input position and adds
    ``w_k * delta_out[j]`` to ``delta_in[i]``, both in one pass over
    ``delta_out[j]``. :func:`step_connections` then takes the SGD step of
    the layer's weights: done here, the steps would write ``values`` and
    ``velocity`` at scattered positions, which cost a fifth of this kernel
    on one thread and made two threads fight over cache lines (measured:
    36 against 50 GFLOP/s for the pair with 2 threads). Finally
    ``delta_in[i]`` is multiplied by the activation derivative of the input
    layer and by the dropout mask that was applied to ``a_in`` (when
    ``drop_rate > 0``).

    ``delta_in[i]`` is then complete, and the same thread uses it at once
    (while it is in cache) for the step of the layer *below*: the bias
    ``bias_in[i]`` and, when ``first_indptr`` is not empty (the layer below
    is the first layer, of input ``x``, stored by output like any layer),
    the weights of the first layer's output ``i``, as
    :func:`update_first_layer` would. This saves a pass over memory and two
    parallel launches per batch. Pass empty arrays when there is no first
    layer to update here. ``bias_in_second`` and ``first_second`` are the
    second moments of those biases and weights (empty: SGD; see
    :func:`_step`).

    ``delta_in`` may be ``a_in`` itself: row ``i`` is written after its
    last read, so the deltas need no memory of their own.
    """
    fuse_first = first_indptr.shape[0] > 0
    # delta_in, z_in and a_in one array (as the engine passes them for these
    # activations): the derivative's pass gets that row as one array, as in
    # sparse_forward (bit-identical: the same select per entry, vectorised)
    in_place = (delta_in.ctypes.data == a_in.ctypes.data
                and z_in.ctypes.data == a_in.ctypes.data
                and (code == RELU or code == LEAKY_RELU))
    # typed constants: an integer literal would promote float32 math to float64
    one = values.dtype.type(1)
    n_in = delta_in.shape[0]
    n_batch = delta_in.shape[1]
    n_chunks = min(n_in, _BACKWARD_CHUNKS)
    for c in prange(n_chunks):
        # delta_in[i] is summed in a row of its own, 64-byte aligned, and
        # written out by the derivative's pass: delta_in may be a_in itself
        # (the engine's deltas take the place of activations no longer
        # needed). The sum is in the weights' dtype even where the rows
        # are stored in bfloat16.
        buffer = np.empty(n_batch + 64 // values.itemsize, dtype=values.dtype)
        offset = (-buffer.ctypes.data % 64) // values.itemsize
        acc = buffer[offset:offset + n_batch]
        for i in range(c * n_in // n_chunks, (c + 1) * n_in // n_chunks):
            src = a_in[i]
            start = t_indptr[i]
            count = t_indptr[i + 1] - start
            order = t_order[start:start + count]
            _gather_dots(src, delta_out, t_rows[start:start + count], values, order, count,
                         t_grad[start:start + count], acc)
            delta = delta_in[i]
            if drop_rate > 0:
                mask = keep_mask[i]
                _drop_out_row(acc, mask, drop_rate, drop_scale)
                # a_in holds the dropped-out activation; the derivative needs
                # f(z), which only matters for tanh and logistic.
                if code == TANH or code == LOGISTIC:
                    for b in range(n_batch):
                        if mask[b] >= drop_rate:
                            fz = load(src, b) / drop_scale
                            if code == TANH:
                                acc[b] *= one - fz * fz
                            else:
                                acc[b] *= fz * (one - fz)
                        # dropped units already have acc[b] == 0
                else:
                    _scale_by_derivative_row(acc, z_in[i], src, code, slope)
                for b in range(n_batch):
                    store(delta, b, acc[b])
            elif in_place:
                # the derivative's pass writes the row out: no copy
                _derivative_times_row(delta, acc, delta, delta, code, slope)
            else:
                _derivative_times_row(delta, acc, z_in[i], src, code, slope)
            _bias_step(bias_in, bias_in_velocity, bias_in_second, i, delta, lr, momentum,
                       nesterov, moments)
            if fuse_first:
                _update_row(first_indptr, first_indices, first_values, first_velocity,
                            first_second, x, delta, i, lr, momentum, nesterov, decay, moments)


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def step_connections(values, velocity, indptr, indices, t_position, t_start, t_fill, t_grad,
                     lr, momentum, nesterov, decay, second, moments):
    """SGD (Nesterov) momentum step, or Adam step when ``second`` is not
    empty (:func:`_step`), of every connection ``k`` of a layer, with
    gradient ``t_grad[p] + decay * w_k``, ``p`` being the connection's
    by-input position (the gradients :func:`backward_update` left in
    by-input order). Writes are sequential; only the gradient reads are
    scattered.

    ``p`` is ``t_position[k]`` when the positions are stored (not empty).
    Otherwise the connections are walked in storage order and ``p`` counted
    per input as :func:`transpose_order` counted it: the outputs are split
    into ``len(t_start)`` chunks, one task each, ``t_start[c, i]`` is the
    position of input ``i``'s first connection in chunk ``c`` and ``t_fill``
    (same shape) the running count. That costs ``2 * n_chunks * n_in``
    positions instead of one per connection, and about three times the
    time of this step (a chain of dependent loads per connection instead of
    a vector gather)."""
    if t_position.shape[0] > 0:
        for k in prange(values.shape[0]):
            _step(values, velocity, second, k, values[k], t_grad[t_position[k]], lr,
                  momentum, nesterov, decay, moments)
    else:
        n_chunks = t_start.shape[0]
        n_out = indptr.shape[0] - 1
        for c in prange(n_chunks):
            fill = t_fill[c]
            fill[:] = t_start[c]
            for j in range(c * n_out // n_chunks, (c + 1) * n_out // n_chunks):
                for k in range(indptr[j], indptr[j + 1]):
                    i = indices[k]
                    p = fill[i]
                    fill[i] = p + 1
                    _step(values, velocity, second, k, values[k], t_grad[p], lr, momentum,
                          nesterov, decay, moments)


@njit(cache=True, fastmath=_FASTMATH)
def update_bias(bias, velocity, delta_out, lr, momentum, nesterov, second, moments):
    """SGD or Adam step (:func:`_bias_step`) for the biases: gradient is the
    batch sum of ``delta_out``.

    Serial: it serves the output layer (a few units), where a parallel launch
    would cost more than the work.
    """
    for j in range(bias.shape[0]):
        _bias_step(bias, velocity, second, j, delta_out[j], lr, momentum, nesterov, moments)
