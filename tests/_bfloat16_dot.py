"""NumPy emulations of the bfloat16 dot products of the kernels, in their
order of operations, for bit-exact comparisons (tests only)."""

import numpy as np

from sklearn_set._engine._kernels.storage import from_bfloat16

#: float32 lanes of a vector, and bfloat16 columns of one load of a row
LANES = 8
BLOCK = 2 * LANES


def _flush(values):
    values = np.array(values, dtype=np.float32)
    values[np.abs(values) < np.finfo(np.float32).tiny] = 0
    return values


def dot_pairs(acc, a, b, instruction=True):
    """``acc`` plus the products of the pairs of bfloat16 entries ``a`` and
    ``b`` (uint16, ``2 * len(acc)`` each), lane by lane. ``instruction``:
    as ``vdpbf16ps`` computes it (exact products, the odd one added first,
    each sum rounded; subnormal inputs and results flushed to zero); else
    as two fused multiply-adds, the even product first, nothing flushed."""
    x, y = from_bfloat16(a), from_bfloat16(b)
    if not instruction:
        total = np.float32(acc) + x[0::2] * y[0::2]
        return total + x[1::2] * y[1::2]
    x, y = _flush(x), _flush(y)
    total = _flush(_flush(acc) + x[1::2] * y[1::2])
    return _flush(total + x[0::2] * y[0::2])


def horizontal_sum(vector):
    """The lanes' sum, halving the vector (as vectors.horizontal_sum)."""
    vector = np.asarray(vector, dtype=np.float32)
    while vector.size > 1:
        half = vector.size // 2
        vector = vector[:half] + vector[half:]
    return vector[0]


def row_dot(x, f, instruction=True):
    """The kernels' dot product of bfloat16 rows ``x`` and ``f``: a chain of
    :func:`dot_pairs` per whole block of :data:`BLOCK` columns, summed
    across lanes, then the columns past the last block one multiply-add
    each, in order."""
    n_blocks = x.shape[0] // BLOCK
    chain = np.zeros(LANES, np.float32)
    for c in range(n_blocks):
        cols = slice(c * BLOCK, (c + 1) * BLOCK)
        chain = dot_pairs(chain, x[cols], f[cols], instruction)
    total = horizontal_sum(chain)
    tail = slice(n_blocks * BLOCK, None)
    for xb, fb in zip(from_bfloat16(x[tail]), from_bfloat16(f[tail])):
        total = np.float32(total + xb * fb)
    return total
