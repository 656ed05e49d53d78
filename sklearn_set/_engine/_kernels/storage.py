"""bfloat16 storage of feature-major rows: uint16 arrays that hold the high
half of a float32.

With ``dtype="bfloat16"`` the training workspaces (the gathered input batch,
activations, pre-activations and hidden deltas) are uint16 arrays of
bfloat16 values, while weights, biases, optimiser state and every sum stay
float32. The kernels gather these rows once per connection: half the bytes
halve the traffic that bounds them. bfloat16 rather than IEEE half: it has
float32's exponent range, so small deltas do not underflow and need no loss
scaling.

:func:`load` and :func:`store` read and write one entry of a row whatever
its dtype (a float row is read as it is), so a kernel written with them
serves both storages; numba compiles one version per array dtype. Stores
round to nearest, ties to even, as ``_round_bits`` below and the vector
stores of :mod:`.simd` do; a NaN stays a NaN (plain rounding could carry a
NaN with a small payload into infinity).

:func:`to_bfloat16` and :func:`from_bfloat16` are the same conversions for
NumPy arrays (tests, benchmarks).

numba's on-disk cache of a kernel is keyed by the content of the file
that defines it: after editing this file, delete the ``*.nbi`` and
``*.nbc`` files of ``__pycache__`` (touching ``train.py`` and ``layout.py``
is not enough with numba 0.68, which hashes them), or kernels compiled
with the old helpers keep being loaded.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

#: dtype of the arrays that hold bfloat16 values
BFLOAT16 = np.uint16


def round_to_bfloat16_bits(builder, value):
    """bfloat16 bits (i16, or a vector of i16) of float32 ``value`` (scalar
    or vector), rounded to nearest with ties to even; NaN stays NaN (quiet)."""
    if isinstance(value.type, ir.VectorType):
        n = value.type.count
        i32 = ir.VectorType(ir.IntType(32), n)
        i16 = ir.VectorType(ir.IntType(16), n)

        def const(v):
            return ir.Constant(i32, [v] * n)
    else:
        i32 = ir.IntType(32)
        i16 = ir.IntType(16)

        def const(v):
            return ir.Constant(i32, v)
    bits = builder.bitcast(value, i32)
    odd = builder.and_(builder.lshr(bits, const(16)), const(1))
    rounded = builder.lshr(builder.add(builder.add(bits, const(0x7FFF)), odd), const(16))
    quiet = builder.or_(builder.lshr(bits, const(16)), const(0x0040))
    is_nan = builder.fcmp_unordered("uno", value, value)
    return builder.trunc(builder.select(is_nan, quiet, rounded), i16)


def widen_bfloat16_bits(builder, bits, float_type):
    """float32 (scalar or vector, as ``float_type``) of bfloat16 ``bits``:
    zero-extended and shifted into the high half, then reinterpreted."""
    if isinstance(bits.type, ir.VectorType):
        i32 = ir.VectorType(ir.IntType(32), bits.type.count)
        sixteen = ir.Constant(i32, [16] * bits.type.count)
    else:
        i32 = ir.IntType(32)
        sixteen = ir.Constant(i32, 16)
    return builder.bitcast(builder.shl(builder.zext(bits, i32), sixteen), float_type)


def _scalar_conversion(argument, result, emit):
    """An intrinsic ``result(x)`` for one scalar ``x`` of type ``argument``,
    its LLVM code ``emit(builder, x)``."""
    @intrinsic
    def conversion(typingctx, x):
        if x != argument:
            raise TypeError(f"this conversion takes a {argument}, got {x}")

        def codegen(context, builder, sig, args):
            return emit(builder, args[0])

        return result(x), codegen

    return conversion


def _even_half(builder, word):
    return builder.bitcast(builder.shl(word, ir.Constant(ir.IntType(32), 16)), ir.FloatType())


def _odd_half(builder, word):
    return builder.bitcast(builder.and_(word, ir.Constant(ir.IntType(32), 0xFFFF0000)),
                           ir.FloatType())


#: float32 value of bfloat16 bits (uint16): exact
bfloat16_to_float32 = _scalar_conversion(
    types.uint16, types.float32, lambda builder, bits: widen_bfloat16_bits(
        builder, bits, ir.FloatType()))
#: bfloat16 bits (uint16) of a float32, rounded to nearest even
float32_to_bfloat16 = _scalar_conversion(types.float32, types.uint16, round_to_bfloat16_bits)
#: float32 value of the bfloat16 in the low half of a uint32 word (the even
#: one of two consecutive entries of a little-endian row)
even_bfloat16 = _scalar_conversion(types.uint32, types.float32, _even_half)
#: float32 value of the bfloat16 in the high half of a uint32 word (the odd one)
odd_bfloat16 = _scalar_conversion(types.uint32, types.float32, _odd_half)


@intrinsic
def word_at(typingctx, row, q):
    """Entries ``2q`` and ``2q + 1`` of a C-contiguous uint16 ``row`` as one
    uint32 word (the even entry in the low half, on little-endian CPUs).
    No bounds check: ``2q + 1`` must be an index of ``row``. (A uint32
    view of the row would cost a reference count update per row.)

    Float rows are accepted so that a kernel's bfloat16 branch compiles
    for every storage; it reads the first ``4q + 4`` bytes, inside any
    row of ``2q + 2`` entries, and a float row never takes that branch."""
    if not (isinstance(row, types.Array) and row.ndim == 1 and row.layout == "C"):
        raise TypeError("word_at reads a C-contiguous 1-D array")

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        words = builder.bitcast(arr.data, ir.IntType(32).as_pointer())
        index = context.cast(builder, args[1], sig.args[1], types.intp)
        return builder.load(builder.gep(words, [index]), align=2)

    return types.uint32(row, q), codegen


def load(row, b):
    """``row[b]`` as a float: bfloat16 entries (uint16 rows) widened to float32."""
    return row[b]


def store(row, b, value):
    """``row[b] = value``, rounded to bfloat16 for uint16 rows."""
    row[b] = value


def real(row, value):
    """``value`` in the arithmetic dtype of ``row``'s entries (float32 for
    bfloat16 rows): typed constants keep float32 loops float32."""
    return row.dtype.type(value)


def _is_bfloat16(row):
    return isinstance(row, types.Array) and row.dtype == types.uint16


@overload(load)
def _load(row, b):
    if _is_bfloat16(row):
        return lambda row, b: bfloat16_to_float32(row[b])
    return lambda row, b: row[b]


@overload(store)
def _store(row, b, value):
    if _is_bfloat16(row):
        def impl(row, b, value):
            row[b] = float32_to_bfloat16(np.float32(value))
        return impl

    def impl(row, b, value):
        row[b] = value
    return impl


@overload(real)
def _real(row, value):
    if _is_bfloat16(row):
        return lambda row, value: np.float32(value)
    dtype = row.dtype

    def impl(row, value):
        return dtype(value)
    return impl


def to_bfloat16(values):
    """bfloat16 bits (uint16 array) of ``values`` rounded to float32 first,
    then to nearest bfloat16, ties to even; NaN stays NaN."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    quiet = ((bits >> 16) | 0x0040).astype(np.uint16)
    return np.where(np.isnan(np.asarray(values, dtype=np.float32)), quiet, rounded)


def from_bfloat16(bits):
    """float32 values of bfloat16 ``bits`` (uint16 array): exact."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
