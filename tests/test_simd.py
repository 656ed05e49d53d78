"""The LLVM building blocks of the tile loops (``_engine/_kernels/simd.py``)."""

import numpy as np
import pytest
from _bfloat16_dot import BLOCK, dot_pairs, row_dot
from llvmlite import ir
from numba import njit, types
from numba.core.registry import cpu_target
from numba.extending import intrinsic

from sklearn_set._engine._kernels import simd, vectors
from sklearn_set._engine._kernels.storage import to_bfloat16

LANES = 8

requires_bfloat16_dot = pytest.mark.skipif(
    not vectors.use_bfloat16_dot(cpu_target.target_context),
    reason="this CPU has no vdpbf16ps (AVX512_BF16 with AVX512VL)")


@intrinsic
def _dot_pairs(typingctx, acc, a, b):
    """acc[:8] += pairwise dot of the 16 bfloat16 entries of a and b."""
    def codegen(context, builder, sig, args):
        arrays = vectors.Arrays(context, builder, sig, args)
        floats = ir.VectorType(ir.FloatType(), LANES)
        words = ir.VectorType(ir.IntType(32), LANES)
        zero = ir.Constant(context.get_value_type(types.intp), 0)
        total = vectors.dot_bfloat16_pairs(
            builder, builder.load(arrays.vector_pointer(0, floats, zero), align=1),
            builder.load(arrays.vector_pointer(1, words, zero), align=1),
            builder.load(arrays.vector_pointer(2, words, zero), align=1))
        builder.store(total, arrays.vector_pointer(0, floats, zero), align=1)
        return context.get_dummy_value()

    return types.none(acc, a, b), codegen


@njit
def _dot_pairs_into(acc, a, b):
    _dot_pairs(acc, a, b)


@requires_bfloat16_dot
@pytest.mark.parametrize("seed", range(20))
def test_dot_bfloat16_pairs_rounds_like_its_emulation(seed):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-30, 30, size=2 * LANES)
    a = to_bfloat16(rng.standard_normal(2 * LANES).astype(np.float32) * scale)
    b = to_bfloat16(rng.standard_normal(2 * LANES).astype(np.float32))
    acc = (rng.standard_normal(LANES) * 10.0 ** rng.integers(-30, 30, size=LANES)).astype(
        np.float32)
    out = acc.copy()
    _dot_pairs_into(out, a, b)
    np.testing.assert_array_equal(out, dot_pairs(acc, a, b))


@requires_bfloat16_dot
def test_dot_bfloat16_pairs_adds_the_odd_product_first():
    # 1 + 2^-24 (odd) rounds to 1 (a tie, to even), then -1 (even) gives 0;
    # the even product first would give 2^-24
    a = to_bfloat16(np.tile(np.float32([-1.0, 2.0 ** -24]), LANES))
    b = to_bfloat16(np.ones(2 * LANES, np.float32))
    out = np.ones(LANES, np.float32)
    _dot_pairs_into(out, a, b)
    np.testing.assert_array_equal(out, np.zeros(LANES, np.float32))
    np.testing.assert_array_equal(out, dot_pairs(np.ones(LANES, np.float32), a, b))


@requires_bfloat16_dot
def test_dot_bfloat16_pairs_keeps_nan_and_infinity():
    a = to_bfloat16(np.tile(np.float32([np.nan, 1.0, np.inf, 1.0]), LANES // 2))
    b = to_bfloat16(np.ones(2 * LANES, np.float32))
    out = np.zeros(LANES, np.float32)
    _dot_pairs_into(out, a, b)
    assert np.isnan(out[0::2]).all() and np.isposinf(out[1::2]).all()


def _gather_dots_bfloat16_with(instruction, monkeypatch):
    """gather_dots_bfloat16_4 compiled afresh, with or without vdpbf16ps."""
    if instruction and not vectors.use_bfloat16_dot(cpu_target.target_context):
        pytest.skip("this CPU has no vdpbf16ps (AVX512_BF16 with AVX512VL)")
    monkeypatch.setattr(vectors, "ALLOW_BFLOAT16_DOT", instruction)

    @njit
    def dots(fixed, rows, ids, first):
        return simd.gather_dots_bfloat16_4(fixed, rows, ids, first)

    return dots


@pytest.mark.parametrize("instruction", [True, False])
@pytest.mark.parametrize("n", [16, 47, 512])
def test_gather_dots_bfloat16_sums_like_its_emulation(instruction, n, monkeypatch):
    """The first layer's dot products over whole blocks of columns, bit for
    bit: with vdpbf16ps its order and flushing (subnormal entries among the
    rows), without it the even product first. Entries span six orders of
    magnitude, so that the order of the additions shows in the sums."""
    dots = _gather_dots_bfloat16_with(instruction, monkeypatch)
    rng = np.random.default_rng(n)
    values = rng.standard_normal((9, n)).astype(np.float32)
    if instruction:  # subnormals, which the instruction reads as zeros
        values[rng.random((9, n)) < 0.1] = np.float32(3e-39)
    rows = to_bfloat16(values * np.float32(10.0) ** rng.integers(-3, 4, size=(9, n)))
    if instruction:  # and a row of them, whose products would not be lost in rounding
        rows[5] = to_bfloat16(rng.standard_normal(n).astype(np.float32) * np.float32(1e-39))
    fixed = to_bfloat16(rng.standard_normal(n).astype(np.float32) * np.float32(1e30))
    ids = np.array([7, 2, 2, 5, 0], np.int32)
    got = dots(fixed, rows, ids, 1)
    whole = n // BLOCK * BLOCK
    want = [row_dot(rows[i, :whole], fixed[:whole], instruction) for i in ids[1:]]
    np.testing.assert_array_equal(np.array(got, np.float32), np.array(want, np.float32))


@pytest.mark.parametrize("allow", [True, False])
def test_the_bfloat16_dot_is_chosen_when_a_kernel_compiles(allow, monkeypatch):
    """``uses_bfloat16_dot`` is a constant of the compiled code: true for
    bfloat16 rows where the CPU has ``vdpbf16ps`` and
    ``ALLOW_BFLOAT16_DOT`` was set as the function compiled, false for
    float rows."""
    context = cpu_target.target_context
    features = context.codegen()._tm_features.split(",")
    has_dot = "+avx512bf16" in features and "+avx512vl" in features
    monkeypatch.setattr(vectors, "ALLOW_BFLOAT16_DOT", allow)
    assert vectors.use_bfloat16_dot(context) == (allow and has_dot)

    @njit
    def uses(rows):
        return simd.uses_bfloat16_dot(rows)

    assert uses(np.zeros((2, 8), np.uint16)) == (allow and has_dot)
    assert not uses(np.zeros((2, 8), np.float32))
    monkeypatch.setattr(vectors, "ALLOW_BFLOAT16_DOT", not allow)
    assert uses(np.zeros((2, 8), np.uint16)) == (allow and has_dot)  # compiled already
