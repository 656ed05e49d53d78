"""LLVM building blocks of the tile intrinsics in :mod:`.simd`: vector
types, broadcasts, multiply-adds, the horizontal sum, element and vector
pointers into numba arrays (:class:`Arrays`, which also widens and rounds
bfloat16 rows as it loads and stores them), and the CPU's bfloat16 dot
product (``vdpbf16ps``), with the switch that says whether a kernel being
compiled may use it.

Functions here emit LLVM IR into a builder; none is a kernel or an
intrinsic itself. Like :mod:`.simd`, nothing here knows about layers.
"""

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils

from .storage import round_to_bfloat16_bits, widen_bfloat16_bits

# the target is x86 (the asm constraint of Arrays.odd_mask names its registers)
X86 = llvm.get_process_triple().split("-")[0] in ("x86_64", "i386", "i686")

#: Width of one vector register in bytes (AVX2). LLVM splits wider vectors
#: on narrower targets (SSE, NEON), so the code stays correct everywhere.
VECTOR_BYTES = 32


def use_fma(context):
    # An x86 CPU without FMA would lower llvm.fma to a libm call per lane.
    return "-fma" not in context.codegen()._tm_features.split(",")


if X86:
    # numba's JIT does not set up the assembly parser, which the inline
    # assembly of dot_bfloat16_pairs needs
    llvm.initialize_native_asmparser()


#: Whether kernels compiled from now on may use ``vdpbf16ps`` where the CPU
#: has it (read by :func:`use_bfloat16_dot` as a kernel is compiled). Tests
#: turn it off to compile the other path on a CPU that has the instruction;
#: numba's on-disk cache does not know it, so only fresh, uncached
#: compilations may be made with it off.
ALLOW_BFLOAT16_DOT = True


def use_bfloat16_dot(context):
    """Whether the target CPU has ``vdpbf16ps`` on 256-bit vectors
    (AVX512_BF16 with AVX512VL: AMD Zen 4 and later, Intel Cooper Lake,
    Sapphire Rapids and later) and :data:`ALLOW_BFLOAT16_DOT` is set.
    numba's on-disk cache is keyed by the CPU and its features, so code
    that uses it is never loaded elsewhere."""
    features = context.codegen()._tm_features.split(",")
    return (ALLOW_BFLOAT16_DOT and X86 and "+avx512bf16" in features
            and "+avx512vl" in features)


def dot_bfloat16_pairs(builder, acc, a, b):
    """``acc + a_odd * b_odd + a_even * b_even``, lane by lane, in one
    ``vdpbf16ps`` (call only where :func:`use_bfloat16_dot`).

    ``a`` and ``b`` are vectors of 32-bit words, each holding two bfloat16
    values (the even entry in the low half, as a row stores them); ``acc``
    is a float32 vector of as many lanes. The products of two bfloat16
    values are exact in float32; the odd product is added first, then the
    even one, each addition rounded to nearest, ties to even. Unlike the
    FMA path, subnormal inputs and results count as zero (the instruction
    ignores MXCSR). LLVM has the instruction only for its ``bfloat`` type,
    which llvmlite cannot name, so it goes in as inline assembly: LLVM
    cannot reorder it, which the tile loops do not need."""
    fnty = ir.FunctionType(acc.type, [acc.type, a.type, b.type])
    return builder.asm(fnty, "vdpbf16ps $3, $2, $0", "=x,0,x,x", [acc, a, b],
                       side_effect=False)


def vector_type(context, dtype):
    scalar = context.get_value_type(dtype)
    lanes = VECTOR_BYTES // (dtype.bitwidth // 8)
    return scalar, ir.VectorType(scalar, lanes), lanes


def broadcast(builder, value, vec_type):
    lanes = vec_type.count
    one = builder.insert_element(ir.Constant(vec_type, ir.Undefined), value,
                                 ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
    return builder.shuffle_vector(one, ir.Constant(vec_type, ir.Undefined), mask)


def vector_multiply_add(builder, a, b, c, fma):
    """a * b + c"""
    if fma:
        suffix = "f32" if isinstance(a.type.element, ir.FloatType) else "f64"
        fnty = ir.FunctionType(a.type, [a.type] * 3)
        fn = cgutils.get_or_insert_function(builder.module, fnty,
                                            f"llvm.fma.v{a.type.count}{suffix}")
        return builder.call(fn, [a, b, c])
    return builder.fadd(builder.fmul(a, b), c)


class Arrays:
    """Element and vector pointers into the numba arrays of one intrinsic."""

    def __init__(self, context, builder, sig, args):
        self.context = context
        self.builder = builder
        self.arrays = {}
        for pos, (ty, value) in enumerate(zip(sig.args, args)):
            if isinstance(ty, types.Array):
                arr = context.make_array(ty)(context, builder, value)
                self.arrays[pos] = (ty, arr, cgutils.unpack_tuple(builder, arr.shape, ty.ndim),
                                    cgutils.unpack_tuple(builder, arr.strides, ty.ndim))

    def pointer(self, pos, *indices):
        ty, arr, shape, strides = self.arrays[pos]
        return cgutils.get_item_pointer2(self.context, self.builder, arr.data, shape, strides,
                                         ty.layout, list(indices))

    def load(self, pos, *indices, to=None):
        value = self.builder.load(self.pointer(pos, *indices))
        if to is not None:
            value = self.context.cast(self.builder, value, self.arrays[pos][0].dtype, to)
        return value

    def vector_pointer(self, pos, vec_type, *indices):
        return self.builder.bitcast(self.pointer(pos, *indices), vec_type.as_pointer())

    def _stored_as_bfloat16(self, pos):
        return self.arrays[pos][0].dtype == types.uint16

    def load_vector(self, pos, vec_type, *indices):
        """The vector of ``vec_type`` that starts at ``indices``; bfloat16
        rows (uint16) are widened to float32 as they are loaded (one
        ``vpmovzxwd`` and one ``vpslld`` per vector on x86)."""
        if self._stored_as_bfloat16(pos):
            bits = self.load_bits(pos, vec_type.count, *indices)
            return widen_bfloat16_bits(self.builder, bits, vec_type)
        return self.builder.load(self.vector_pointer(pos, vec_type, *indices), align=1)

    def store_vector(self, value, pos, *indices, mask=None):
        """Store ``value`` at ``indices``, rounded to bfloat16 for uint16 rows;
        with a ``mask`` (a vector of i1), only the lanes it sets."""
        if self._stored_as_bfloat16(pos):
            value = round_to_bfloat16_bits(self.builder, value)
        ptr = self.vector_pointer(pos, value.type, *indices)
        if mask is None:
            self.builder.store(value, ptr, align=1)
            return
        fnty = ir.FunctionType(ir.VoidType(), [value.type, ptr.type, ir.IntType(32), mask.type])
        fn = cgutils.get_or_insert_function(self.builder.module, fnty,
                                            f"llvm.masked.store.{vector_name(value.type)}.p0")
        self.builder.call(fn, [value, ptr, ir.Constant(ir.IntType(32), 1), mask])

    def load_bits(self, pos, count, *indices, mask=None):
        """The ``count`` bfloat16 entries (a vector of i16) that start at
        ``indices``; with a ``mask``, 0 in the lanes it does not set (which
        are not read: they may lie past the end of the array)."""
        bits_type = ir.VectorType(ir.IntType(16), count)
        ptr = self.vector_pointer(pos, bits_type, *indices)
        if mask is None:
            return self.builder.load(ptr, align=1)
        fnty = ir.FunctionType(bits_type, [ptr.type, ir.IntType(32), mask.type, bits_type])
        fn = cgutils.get_or_insert_function(self.builder.module, fnty,
                                            f"llvm.masked.load.v{count}i16.p0")
        return self.builder.call(fn, [ptr, ir.Constant(ir.IntType(32), 1), mask,
                                      ir.Constant(bits_type, [0] * count)])

    def paired(self, *positions):
        """Whether the rows at ``positions`` all hold bfloat16: then they are
        read (and written) in pairs of columns, see :meth:`load_pair`."""
        return all(self._stored_as_bfloat16(pos) for pos in positions)

    def odd_mask(self, vec_type):
        """The mask of the high halves of 32-bit words, for :meth:`load_pair`,
        made once before a loop. It passes through an empty asm statement:
        given the constant, LLVM turns the ``and`` into a word blend, which
        on Zen 4 runs on the two vector pipes that the shifts and FMAs
        need, where ``vpand`` runs on all four."""
        words_type = ir.VectorType(ir.IntType(32), vec_type.count)
        mask = ir.Constant(words_type, [0xFFFF0000] * vec_type.count)
        if not X86:  # "x": an x86 vector register
            return mask
        return self.builder.asm(ir.FunctionType(words_type, [words_type]), "", "=x,0",
                                [mask], side_effect=False)

    def load_pair(self, pos, vec_type, mask, *indices):
        """The even and the odd columns of the ``2 * lanes`` bfloat16 entries
        that start at ``indices``, as two float32 vectors. One plain load
        of 32 bytes, then a shift (even: low halves of the 32-bit words) and
        a mask (odd: high halves): two cheap integer operations per two
        vectors, where widening each vector would take a shuffle
        (``vpmovzxwd``) and a shift. Sums over connections are the same
        lane by lane, so the order of the columns does not matter until they
        are stored (:meth:`store_pair`)."""
        return self.split_words(self.load_words(pos, vec_type, *indices), vec_type, mask)

    def load_words(self, pos, vec_type, *indices):
        """The ``2 * lanes`` bfloat16 entries that start at ``indices`` as
        ``lanes`` 32-bit words, two entries each (the even one in the low
        half), as :func:`dot_bfloat16_pairs` takes them."""
        words_type = ir.VectorType(ir.IntType(32), vec_type.count)
        return self.builder.load(self.vector_pointer(pos, words_type, *indices), align=1)

    def split_words(self, words, vec_type, mask):
        """The even and the odd entries of :meth:`load_words`'s ``words`` as
        two float32 vectors (see :meth:`load_pair`)."""
        even = self.builder.shl(words, ir.Constant(words.type, [16] * vec_type.count))
        odd = self.builder.and_(words, mask)
        return self.builder.bitcast(even, vec_type), self.builder.bitcast(odd, vec_type)

    def store_pair(self, even, odd, pos, *indices):
        """Store the columns :meth:`load_pair` split, each rounded to
        bfloat16, back in their order: the rounded bits of an even column
        go to the low half of its word, those of an odd one to the high
        half (no shuffle)."""
        words_type = ir.VectorType(ir.IntType(32), even.type.count)
        low = self.builder.zext(round_to_bfloat16_bits(self.builder, even), words_type)
        high = self.builder.shl(
            self.builder.zext(round_to_bfloat16_bits(self.builder, odd), words_type),
            ir.Constant(words_type, [16] * even.type.count))
        self.builder.store(self.builder.or_(low, high),
                           self.vector_pointer(pos, words_type, *indices), align=1)


def vector_name(vec_type):
    """LLVM's name of a vector type in overloaded intrinsics: v8f32, v8i16"""
    element = vec_type.element
    kind = (f"i{element.width}" if isinstance(element, ir.IntType)
            else {ir.FloatType: "f32", ir.DoubleType: "f64"}[type(element)])
    return f"v{vec_type.count}{kind}"


def check_contiguous(*arrays):
    # vector loads read consecutive elements of a row
    for arr in arrays:
        if arr.layout != "C":
            raise TypeError("a tile intrinsic reads whole vectors: its row arrays must be "
                            f"C-contiguous, got layout {arr.layout!r}")


def check_float_arrays(compute, *rows):
    """The arithmetic dtype, that of the ``compute`` arrays (weights, sums);
    each row array has it too, or is a uint16 array of bfloat16 values when
    it is float32."""
    dtype = compute[0].dtype
    for arr in compute:
        if not isinstance(arr, types.Array) or arr.dtype != dtype:
            raise TypeError("the float arrays of a tile intrinsic must share one dtype")
    if not isinstance(dtype, types.Float):
        raise TypeError("tile intrinsics need float arrays")
    for arr in rows:
        if not isinstance(arr, types.Array) or not (
                arr.dtype == dtype or (arr.dtype == types.uint16 and dtype == types.float32)):
            raise TypeError("the rows of a tile intrinsic hold the dtype of its weights, or "
                            "bfloat16 (uint16) with float32 weights")
    return dtype


def horizontal_sum(builder, vec):
    """Sum of the lanes, halving the vector in a fixed order."""
    i32 = ir.IntType(32)
    width = vec.type.count
    while width > 1:
        half = width // 2
        undef = ir.Constant(vec.type, ir.Undefined)
        low = builder.shuffle_vector(vec, undef, ir.Constant(ir.VectorType(i32, half),
                                                              list(range(half))))
        high = builder.shuffle_vector(vec, undef, ir.Constant(ir.VectorType(i32, half),
                                                               list(range(half, width))))
        vec = builder.fadd(low, high)
        width = half
    return builder.extract_element(vec, ir.Constant(i32, 0))
