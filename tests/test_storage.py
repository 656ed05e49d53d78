"""bfloat16 conversions of the row storage, against a reference written
without the bit trick: the nearest of the two neighbouring bfloat16 values,
ties to the even one."""

import numpy as np
import pytest
from numba import njit
from numba.core.registry import cpu_target

from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine._kernels import vectors
from sklearn_set._engine._kernels.storage import (
    bfloat16_to_float32,
    float32_to_bfloat16,
    from_bfloat16,
    to_bfloat16,
)


def nearest_bfloat16(value):
    """bfloat16 bits of float32 ``value`` (a NumPy scalar), chosen by
    comparing distances in float64."""
    bits = int(np.float32(value).view(np.uint32))
    if np.isnan(value):
        return np.uint16(bits >> 16 | 0x0040)
    if np.isinf(value):
        return np.uint16(bits >> 16)
    low = bits >> 16
    high = low + 1  # the next bfloat16 away from zero (inf past the largest)
    # infinity rounds as if it were 2**128, the next power of two (IEEE 754)
    as_float = [float(np.uint32(b << 16).view(np.float32)) if b & 0x7FFF != 0x7F80
                else np.copysign(2.0**128, float(value)) for b in (low, high)]
    x = float(value)
    below, above = abs(x - as_float[0]), abs(as_float[1] - x)
    if below < above or (below == above and low % 2 == 0):
        return np.uint16(low)
    return np.uint16(high)


def _f32(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


# ties (both ways), just above and below a tie, NaN with a payload in the
# low half only (plain rounding would make it inf), infinities, subnormals
# (a tie included), signed zeros, the largest float32 (rounds to inf)
EDGE_BITS = [0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF, 0xBF808000, 0xBF818000,
             0x7F800001, 0xFF800001, 0x7FC00000, 0x7F800000, 0xFF800000,
             0x00000001, 0x00008000, 0x00018000, 0x807FFFFF, 0x00000000, 0x80000000,
             0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F7FFF, 0x3F800000]


def _random_bits(n=20000, seed=0):
    return np.random.default_rng(seed).integers(0, 2**32, size=n, dtype=np.uint64).astype(
        np.uint32)


def _values():
    return np.concatenate([_f32(EDGE_BITS), _random_bits().view(np.float32)])


def _same_bits_or_both_nan(got, values):
    want = np.array([nearest_bfloat16(v) for v in values], dtype=np.uint16)
    nan = np.isnan(values)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.all(np.isnan(from_bfloat16(got[nan])))


def test_to_bfloat16_rounds_to_nearest_even():
    values = _values()
    got = to_bfloat16(values)
    _same_bits_or_both_nan(got, values)
    # the edge cases by hand
    np.testing.assert_array_equal(to_bfloat16(_f32([0x3F808000, 0x3F818000, 0x00008000,
                                                    0x7F7FFFFF, 0x80000000])),
                                  [0x3F80, 0x3F82, 0x0000, 0x7F80, 0x8000])
    assert np.isnan(from_bfloat16(to_bfloat16(_f32([0x7F800001])))[0])


def test_from_bfloat16_is_exact_for_every_bit_pattern():
    bits = np.arange(2**16, dtype=np.uint16)
    values = from_bfloat16(bits)
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values.view(np.uint32), bits.astype(np.uint32) << 16)
    finite = ~np.isnan(values)
    np.testing.assert_array_equal(to_bfloat16(values)[finite], bits[finite])


@njit
def _round_all(values, out):
    for k in range(values.shape[0]):
        out[k] = float32_to_bfloat16(values[k])


@njit
def _widen_all(bits, out):
    for k in range(bits.shape[0]):
        out[k] = bfloat16_to_float32(bits[k])


def test_numba_scalar_conversions_match():
    values = _values()
    got = np.empty(values.shape[0], np.uint16)
    _round_all(values, got)
    _same_bits_or_both_nan(got, values)
    bits = np.arange(2**16, dtype=np.uint16)
    widened = np.empty(bits.shape[0], np.float32)
    _widen_all(bits, widened)
    np.testing.assert_array_equal(widened.view(np.uint32), from_bfloat16(bits).view(np.uint32))


@pytest.mark.parametrize("dot", [pytest.param(True, marks=pytest.mark.skipif(
    not vectors.use_bfloat16_dot(cpu_target.target_context),
    reason="this CPU has no vdpbf16ps (AVX512_BF16 with AVX512VL)")), False],
    ids=["bfloat16 dot", "multiply-adds"])
@pytest.mark.parametrize("batch", [5, 40, 128, 133])
def test_vector_stores_round_like_the_reference(batch, dot, forward_without_bfloat16_dot):
    """The forward kernel's stores (pairs of vectors, single vectors and
    the scalar columns past them, depending on the batch) round each sum to
    the nearest bfloat16: one connection of weight 1 from an input of -0,
    so each output's sum is its bias, exactly. ``vdpbf16ps`` (``dot``)
    reads a subnormal bias as 0 and adds +0 (the zero row paired with the
    lone connection): those sums are +0."""
    values = _values()[:4096]
    n_out = values.shape[0]
    indptr = np.arange(n_out + 1, dtype=np.int64)
    indices = np.zeros(n_out, np.int32)
    weights = np.ones(n_out, np.float32)
    a_in = np.full((1, batch), 0x8000, np.uint16)  # -0.0: -0 + b is b, -0 too
    z = np.empty((n_out, batch), np.uint16)
    one, zero = np.float32(1), np.float32(0)
    forward = kernels.sparse_forward if dot else forward_without_bfloat16_dot
    forward(indptr, indices, weights, values, a_in, z, z, kernels.IDENTITY, zero,
            np.empty((0, 0), np.float32), zero, one)
    if dot:
        values = np.where(np.abs(values) < np.finfo(np.float32).tiny, np.float32(0), values)
    for b in range(batch):
        _same_bits_or_both_nan(z[:, b], values)
