"""Register-tiled inner loops for the sparse kernels, as numba intrinsics.

Each intrinsic emits one loop over a neuron's connections in LLVM vector IR,
with its running sums as SSA values, so LLVM keeps them in vector registers
for the whole loop instead of in memory.

Why not plain numba loops: when a loop over the batch updates an output row
in memory while it reads gathered input rows, LLVM cannot prove that the rows
do not overlap. It then reloads and stores the output row for every group of
connections and guards each group with runtime overlap checks. Local numba
scalars do not help either: LLVM vectorises them across connections (as
gathers) rather than across the batch.

* :func:`gather_axpy_8` (and 4, 2, 1): ``out = init + sum_p w_p x_p`` over a
  tile of batch columns. ``inspect_asm`` on x86-64 (AVX2, znver3) shows the
  connection loop as it should be: per connection one index load, one
  ``vbroadcastss`` of the weight and eight ``vfmadd231ps`` with a memory
  operand into eight ``ymm`` accumulators, nothing spilled.
  With bfloat16 rows on a CPU that has ``vdpbf16ps`` (AVX512_BF16), the
  same intrinsics multiply pairs of connections instead: per 16 columns
  and pair two loads, two word shuffles (``vpunpcklwd``/``vpunpckhwd``) and
  two ``vdpbf16ps`` on the weights rounded to bfloat16
  (:func:`_gather_dot_pairs`).
* :func:`gather_dots_axpy`: per connection the dot product of its gathered
  row with a fixed row (a weight gradient), and the weighted sum of the
  gathered rows (an input delta). Taken four connections at a time over
  whole rows: one load of the fixed vector serves the group, each dot
  product is its own chain of ``vfmadd231ps`` (independent chains hide the
  FMA latency), and the sum is read and written once per vector per group.
  The assembly shows that loop unrolled four times, 32 ``ymm`` FMAs per 65
  instructions, no spills. (The same without the weighted sum, for the
  first layer's weight gradient, ran at 0.87-0.94x of the plain numba loop
  it would replace, so that loop stays.)
* bfloat16 rows on CPUs with ``vdpbf16ps`` (:func:`use_bfloat16_dot`): a
  weight gradient is the dot product of two bfloat16 rows, which that
  instruction takes as they are stored, 16 columns of both rows per
  instruction, with no widening and no multiply-add.
  :func:`gather_dots_axpy` then uses it for its dot products (the weighted
  sum still widens the rows), and :func:`gather_dots_bfloat16_4` (and 1)
  gives the first layer's dot products, in the same order. Elsewhere the
  kernels keep their loops.

``tests/test_kernels.py::test_tiles_stay_in_vector_registers`` keeps the
loops free of spills. numba's on-disk cache of a kernel is keyed by the
content of the file that defines it (``train.py``) alone (numba 0.68
hashes it; touching the file is not enough): after editing this file,
delete the ``*.nbi`` and ``*.nbc`` files of ``__pycache__``, or the old
loops keep being loaded. Every sum is
formed in a fixed order that depends neither on the number of threads nor
on where a column falls in the batch. Nothing here knows about layers.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .vectors import (
    Arrays,
    broadcast,
    check_contiguous,
    check_float_arrays,
    dot_bfloat16_pairs,
    horizontal_sum,
    use_bfloat16_dot,
    use_fma,
    vector_multiply_add,
    vector_type,
)


def _shuffle_mask(lanes):
    return ir.Constant(ir.VectorType(ir.IntType(32), len(lanes)), lanes)


# vdpbf16ps multiplies words of two bfloat16 values. Two rows p and q of a
# tile go in as the words (p[b], q[b]): 16 columns as vpunpcklwd and
# vpunpckhwd interleave them, within each 128-bit half (lane crossing
# shuffles cost more), so that the low words hold columns 0-3 and 8-11 and
# the high words 4-7 and 12-15; 8 columns in order, in one shuffle. (Index
# k + 16 is entry k of q in the shuffles of a 16-column block.)
_LOW_COLUMNS = (0, 1, 2, 3, 8, 9, 10, 11)
_HIGH_COLUMNS = (4, 5, 6, 7, 12, 13, 14, 15)
_UNPACK_LOW = _shuffle_mask([c + r for c in _LOW_COLUMNS for r in (0, 16)])
_UNPACK_HIGH = _shuffle_mask([c + r for c in _HIGH_COLUMNS for r in (0, 16)])
_INTERLEAVE = _shuffle_mask([c + r for c in range(8) for r in (0, 8)])
# a 16-column block's two sums (low words' columns, then high words') back
# in the order of the columns: 0-7, then 8-15
_IN_ORDER = (_shuffle_mask([0, 1, 2, 3, 8, 9, 10, 11]),
             _shuffle_mask([4, 5, 6, 7, 12, 13, 14, 15]))


def _weight_words(builder, arrays, p, q):
    """The bfloat16 weights of connections ``p`` and ``q = p + 1`` in one
    word, ``p``'s in the low half, from the bfloat16 copy of the weights
    (the intrinsics' ``words``); ``q`` None: ``p``'s and 0."""
    i32 = ir.IntType(32)
    if q is None:
        return builder.zext(arrays.load(4, p), i32)
    # two neighbouring entries: one load (x86 reads unaligned words)
    return builder.load(builder.bitcast(arrays.pointer(4, p), i32.as_pointer()), align=2)


def _gather_dot_pairs(context, builder, arrays, sig, args, n_vectors, mask=None):
    """The loop of :func:`_make_gather_axpy`'s intrinsics with bfloat16 rows
    where :func:`use_bfloat16_dot`: connections ``(p, p + 1)`` from the
    first on, in pairs, each pair's rows interleaved into words and
    multiplied by the word of their bfloat16 weights, one
    :func:`dot_bfloat16_pairs` per vector of columns (so ``p + 1``'s
    product is added first, then ``p``'s). An odd last connection is paired
    with a zero row and weight 0. Per 16 columns and pair: two loads, two
    shuffles and two dot products, where the multiply-add loop widens four
    vectors and does four multiply-adds. ``mask`` (``n_vectors`` 1): the
    columns to form, the others are neither read nor written."""
    _, vec, lanes = vector_type(context, types.float32)
    assert lanes == 8 and n_vectors in (1, 2, 4, 8)
    words_type = ir.VectorType(ir.IntType(32), lanes)
    intp = context.get_value_type(types.intp)
    start, stop, col0 = (context.cast(builder, args[k], sig.args[k], types.intp)
                         for k in (5, 6, 7))
    init = broadcast(builder, context.cast(builder, args[8], sig.args[8], types.float32), vec)
    accs = [cgutils.alloca_once_value(builder, init) for _ in range(n_vectors)]
    width = 2 * lanes if n_vectors > 1 else lanes  # columns per load

    def add_pair(p, q):
        """Connection p and q's (None: a zero row) products to the sums."""
        weights = broadcast(builder, _weight_words(builder, arrays, p, q), words_type)
        rows = [arrays.load(2, r, to=types.intp) for r in (p, q) if r is not None]
        for v in range(0, n_vectors, width // lanes):
            col = builder.add(col0, ir.Constant(intp, v * lanes))
            xp, xq = [arrays.load_bits(1, width, r, col, mask=mask) for r in rows] + (
                [ir.Constant(ir.VectorType(ir.IntType(16), width), [0] * width)]
                if q is None else [])
            shuffles = (_UNPACK_LOW, _UNPACK_HIGH) if width > lanes else (_INTERLEAVE,)
            for u, shuffle in enumerate(shuffles):
                words = builder.bitcast(builder.shuffle_vector(xp, xq, shuffle), words_type)
                builder.store(dot_bfloat16_pairs(builder, builder.load(accs[v + u]), words,
                                                 weights), accs[v + u])

    one, two = ir.Constant(intp, 1), ir.Constant(intp, 2)
    pairs_stop = builder.sub(stop, builder.and_(builder.sub(stop, start), one))
    with cgutils.for_range_slice(builder, start, pairs_stop, two) as (p, _):
        add_pair(p, builder.add(p, one))
    with builder.if_then(builder.icmp_signed("<", pairs_stop, stop)):
        add_pair(pairs_stop, None)
    for v in range(0, n_vectors, width // lanes):
        col = builder.add(col0, ir.Constant(intp, v * lanes))
        if width == lanes:
            arrays.store_vector(builder.load(accs[v]), 0, col, mask=mask)
            continue
        low, high = builder.load(accs[v]), builder.load(accs[v + 1])
        for u, order in enumerate(_IN_ORDER):
            arrays.store_vector(builder.shuffle_vector(low, high, order), 0,
                                builder.add(col, ir.Constant(intp, u * lanes)))


def _uses_dot_pairs(context, rows):
    """Whether the gather intrinsics form their sums over ``rows`` (a numba
    array type) with :func:`_gather_dot_pairs`."""
    return rows.dtype == types.uint16 and use_bfloat16_dot(context)


def _check_gather_arrays(out, rows, weights, words):
    check_float_arrays((weights,), out, rows)
    check_contiguous(out, rows, words)
    if not (isinstance(words, types.Array) and words.dtype == types.uint16
            and words.ndim == 1):
        raise TypeError("the bfloat16 weights of a gather intrinsic are a 1-D uint16 array")
    return weights.dtype


@intrinsic
def uses_bfloat16_dot(typingctx, rows):
    """Whether the gather intrinsics multiply ``rows`` (a bfloat16 row
    array) in pairs with ``vdpbf16ps`` (:func:`use_bfloat16_dot`), reading
    the bfloat16 copy of the weights (``words``) instead of the weights: a
    constant of the compiled code."""
    if not isinstance(rows, types.Array):
        raise TypeError("uses_bfloat16_dot takes a row array")

    def codegen(context, builder, sig, args):
        return cgutils.true_bit if _uses_dot_pairs(context, sig.args[0]) else cgutils.false_bit

    return types.boolean(rows), codegen


def _make_gather_axpy(n_vectors):
    @intrinsic
    def gather_axpy(typingctx, out, rows, row_ids, weights, words, start, end, b0, init):
        """``out[b0:b0+T] = init + sum_p weights[p] * rows[row_ids[p], b0:b0+T]``
        for ``p`` in ``[start, end)``, ``T = n_vectors`` vectors of columns.
        Where :func:`uses_bfloat16_dot` (``rows``), the weights are read
        from ``words``, their bfloat16 copy (see :func:`_gather_dot_pairs`);
        elsewhere ``words`` is not read (an empty array will do)."""
        dtype = _check_gather_arrays(out, rows, weights, words)

        def codegen(context, builder, sig, args):
            arrays = Arrays(context, builder, sig, args)
            if _uses_dot_pairs(context, sig.args[1]):
                _gather_dot_pairs(context, builder, arrays, sig, args, n_vectors)
                return context.get_dummy_value()
            _, vec, lanes = vector_type(context, dtype)
            fma = use_fma(context)
            intp = context.get_value_type(types.intp)
            col0 = context.cast(builder, args[7], sig.args[7], types.intp)
            init_vec = broadcast(builder, context.cast(builder, args[8], sig.args[8], dtype), vec)
            accs = [cgutils.alloca_once_value(builder, init_vec) for _ in range(n_vectors)]
            start = context.cast(builder, args[5], sig.args[5], types.intp)
            stop = context.cast(builder, args[6], sig.args[6], types.intp)
            # bfloat16 rows in and out: two vectors of columns per load
            # (accumulators 2q and 2q + 1: the even and odd columns)
            step = 2 if n_vectors % 2 == 0 and arrays.paired(0, 1) else 1
            mask = arrays.odd_mask(vec) if step == 2 else None
            with cgutils.for_range_slice(builder, start, stop, ir.Constant(intp, 1)) as (p, _):
                row = arrays.load(2, p, to=types.intp)
                w = broadcast(builder, arrays.load(3, p), vec)
                for v in range(0, n_vectors, step):
                    col = builder.add(col0, ir.Constant(intp, v * lanes))
                    xs = (arrays.load_pair(1, vec, mask, row, col) if step == 2
                          else [arrays.load_vector(1, vec, row, col)])
                    for u, x in enumerate(xs):
                        builder.store(vector_multiply_add(builder, w, x, builder.load(accs[v + u]),
                                                    fma), accs[v + u])
            for v in range(0, n_vectors, step):
                col = builder.add(col0, ir.Constant(intp, v * lanes))
                if step == 2:
                    arrays.store_pair(builder.load(accs[v]), builder.load(accs[v + 1]), 0, col)
                else:
                    arrays.store_vector(builder.load(accs[v]), 0, col)
            return context.get_dummy_value()

        return types.none(out, rows, row_ids, weights, words, start, end, b0, init), codegen

    return gather_axpy


@intrinsic
def gather_axpy_columns(typingctx, out, rows, row_ids, weights, words, start, end, b0, init):
    """The columns from ``b0`` to the end of ``out`` (fewer than a vector's
    lanes) as :func:`gather_axpy_1` would form them, where it multiplies
    pairs with ``vdpbf16ps`` (:func:`uses_bfloat16_dot`): one tile whose
    loads and stores leave the columns past the end alone, so a column's
    sum does not depend on where it falls in the batch. Returns whether it
    formed them; elsewhere it does nothing and the caller's scalar loop
    forms them (as the multiply-add tiles do, column by column)."""
    _check_gather_arrays(out, rows, weights, words)

    def codegen(context, builder, sig, args):
        if not _uses_dot_pairs(context, sig.args[1]):
            return cgutils.false_bit
        arrays = Arrays(context, builder, sig, args)
        intp = context.get_value_type(types.intp)
        lanes = vector_type(context, types.float32)[2]
        n = arrays.arrays[0][2][0]
        col0 = context.cast(builder, args[7], sig.args[7], types.intp)
        mask = builder.icmp_signed("<", ir.Constant(ir.VectorType(intp, lanes), list(range(lanes))),
                                   broadcast(builder, builder.sub(n, col0),
                                              ir.VectorType(intp, lanes)))
        _gather_dot_pairs(context, builder, arrays, sig, args, 1, mask)
        return cgutils.true_bit

    return types.boolean(out, rows, row_ids, weights, words, start, end, b0, init), codegen


@intrinsic
def multiply_add(typingctx, a, b, c):
    """``a * b + c`` for scalars, rounded as the tile loops round each of
    their lanes (one fused multiply-add where the CPU has FMA). Columns left
    over after the last whole vector use it, so that a column's sum does not
    depend on where it falls in the batch: a plain ``+=`` loop would be
    reassociated under the kernels' fastmath flags."""
    if not (isinstance(a, types.Float) and a == b == c):
        raise TypeError("multiply_add takes three floats of one type")

    def codegen(context, builder, sig, args):
        x, y, z = args
        if use_fma(context):
            name = "llvm.fma.f32" if isinstance(x.type, ir.FloatType) else "llvm.fma.f64"
            fn = cgutils.get_or_insert_function(builder.module,
                                                ir.FunctionType(x.type, [x.type] * 3), name)
            return builder.call(fn, [x, y, z])
        return builder.fadd(builder.fmul(x, y), z)

    return a(a, b, c), codegen


def _add_products(builder, chain, x, f, halves, fma, instruction):
    """``chain`` plus the products of one load of columns of a gathered row
    ``x`` and a fixed row ``f``, lane by lane: one multiply-add for float
    vectors; for bfloat16 rows (``x`` and ``f`` the 32-bit words of
    :meth:`Arrays.load_words`) one ``vdpbf16ps`` where ``instruction``
    (the odd products added first, subnormals flushed), else the even then
    the odd products, each a multiply-add of the columns ``halves(words)``
    splits. The one step of every dot-product chain of the kernels."""
    if halves is None:
        return vector_multiply_add(builder, x, f, chain, fma)
    if instruction:
        return dot_bfloat16_pairs(builder, chain, x, f)
    for xh, fh in zip(halves(x), halves(f)):
        chain = vector_multiply_add(builder, xh, fh, chain, fma)
    return chain


def _make_gather_dots(group):
    @intrinsic
    def gather_dots(typingctx, fixed, rows, row_ids, weights, weight_ids, count, n_vectors,
                    dots, acc):
        """For ``p < count``: ``dots[p] = rows[row_ids[p], C] . fixed[C]`` over
        the first ``n_vectors`` vectors of columns ``C``, and
        ``acc[C] += weights[weight_ids[p]] * rows[row_ids[p], C]``.

        Connections are taken ``group`` at a time (then one at a time): one
        load of each vector of ``fixed`` serves the group, each dot product
        is its own chain of vector multiply-adds (independent chains hide
        the latency), and ``acc`` is read and written once per vector per
        group.

        When ``fixed`` and ``rows`` both hold bfloat16, ``n_vectors`` must be
        even: each load then brings two vectors of columns, split into even
        and odd columns (:meth:`Arrays.load_pair`), and ``acc`` holds each
        block of ``2 * lanes`` columns in that order, the even columns
        first; :func:`interleave_pairs` puts them back in order. Where
        :func:`use_bfloat16_dot`, the dot products take the loaded words
        as they are, one ``vdpbf16ps`` per load (see :func:`_add_products`)."""
        dtype = check_float_arrays((weights, dots, acc), fixed, rows)
        check_contiguous(fixed, rows, acc)

        def codegen(context, builder, sig, args):
            arrays = Arrays(context, builder, sig, args)
            scalar, vec, lanes = vector_type(context, dtype)
            fma = use_fma(context)
            intp = context.get_value_type(types.intp)
            one = ir.Constant(intp, 1)
            count = context.cast(builder, args[5], sig.args[5], types.intp)
            n_vec = context.cast(builder, args[6], sig.args[6], types.intp)
            zero = ir.Constant(vec, [ir.Constant(scalar, 0.0)] * lanes)
            n_grouped = builder.mul(builder.sdiv(count, ir.Constant(intp, group)),
                                    ir.Constant(intp, group))
            paired = arrays.paired(0, 1)
            instruction = paired and use_bfloat16_dot(context)
            mask = arrays.odd_mask(vec) if paired else None
            n_loads = builder.sdiv(n_vec, ir.Constant(intp, 2)) if paired else n_vec
            width = 2 * lanes if paired else lanes

            def halves(words):
                return arrays.split_words(words, vec, mask)

            def columns(pos, *indices):
                if paired:
                    return arrays.load_words(pos, vec, *indices)
                return arrays.load_vector(pos, vec, *indices)

            def connections(first, size):
                rows_ = [arrays.load(2, builder.add(first, ir.Constant(intp, g)), to=types.intp)
                         for g in range(size)]
                ws = [broadcast(builder, arrays.load(3, arrays.load(
                        4, builder.add(first, ir.Constant(intp, g)), to=types.intp)), vec)
                        for g in range(size)]
                chains = [cgutils.alloca_once_value(builder, zero) for _ in range(size)]
                with cgutils.for_range(builder, n_loads) as loop:
                    col = builder.mul(loop.index, ir.Constant(intp, width))
                    f = columns(0, col)
                    xs = [columns(1, r, col) for r in rows_]
                    for g in range(size):
                        builder.store(_add_products(builder, builder.load(chains[g]), xs[g], f,
                                                    halves if paired else None, fma,
                                                    instruction), chains[g])
                    xs = [halves(x) if paired else [x] for x in xs]
                    for half in range(len(xs[0])):
                        acc_ptr = arrays.vector_pointer(
                            8, vec, builder.add(col, ir.Constant(intp, half * lanes)))
                        total = builder.load(acc_ptr, align=1)
                        for g in range(size):
                            total = vector_multiply_add(builder, ws[g], xs[g][half], total, fma)
                        builder.store(total, acc_ptr, align=1)
                for g in range(size):
                    builder.store(horizontal_sum(builder, builder.load(chains[g])),
                                  arrays.pointer(7, builder.add(first, ir.Constant(intp, g))))

            with cgutils.for_range_slice(builder, ir.Constant(intp, 0), n_grouped,
                                         ir.Constant(intp, group)) as (first, _):
                connections(first, group)
            with cgutils.for_range_slice(builder, n_grouped, count, one) as (first, _):
                connections(first, 1)
            return context.get_dummy_value()

        return types.none(fixed, rows, row_ids, weights, weight_ids, count, n_vectors, dots,
                          acc), codegen

    return gather_dots


def _make_gather_dots_bfloat16(size):
    @intrinsic
    def gather_dots_bfloat16(typingctx, fixed, rows, row_ids, first):
        """The dot products ``rows[row_ids[first + g]] . fixed`` for
        ``g < size``, bfloat16 rows, over the first ``n // (2 * lanes)``
        blocks of ``2 * lanes`` columns (``n``: the length of ``fixed``), as
        a tuple of float32. Where :func:`use_bfloat16_dot` each row's words
        take one ``vdpbf16ps`` per block; the sums are those of
        :func:`gather_dots_axpy`'s dot products, lane by lane and then
        across lanes. The first layer's weight gradients, which need no
        input delta.

        Rows of another dtype are accepted, as by
        :func:`~.storage.word_at`, so that a kernel's bfloat16 branch
        compiles for every storage; a float row never takes that branch."""
        for arr in (fixed, rows):
            if not isinstance(arr, types.Array):
                raise TypeError("gather_dots_bfloat16 takes arrays")
        check_contiguous(fixed, rows)

        def codegen(context, builder, sig, args):
            arrays = Arrays(context, builder, sig, args)
            scalar, vec, lanes = vector_type(context, types.float32)
            intp = context.get_value_type(types.intp)
            first = context.cast(builder, args[3], sig.args[3], types.intp)
            row_ids = [arrays.load(2, builder.add(first, ir.Constant(intp, g)), to=types.intp)
                       for g in range(size)]
            instruction = use_bfloat16_dot(context)
            mask = arrays.odd_mask(vec)

            def halves(words):
                return arrays.split_words(words, vec, mask)

            n_blocks = builder.sdiv(arrays.arrays[0][2][0], ir.Constant(intp, 2 * lanes))
            zero = ir.Constant(vec, [ir.Constant(scalar, 0.0)] * lanes)
            chains = [cgutils.alloca_once_value(builder, zero) for _ in range(size)]
            with cgutils.for_range(builder, n_blocks) as loop:
                col = builder.mul(loop.index, ir.Constant(intp, 2 * lanes))
                f = arrays.load_words(0, vec, col)
                for g, row in enumerate(row_ids):
                    builder.store(_add_products(builder, builder.load(chains[g]),
                                                arrays.load_words(1, vec, row, col), f, halves,
                                                use_fma(context), instruction), chains[g])
            sums = [horizontal_sum(builder, builder.load(chain)) for chain in chains]
            return context.make_tuple(builder, sig.return_type, sums)

        return types.UniTuple(types.float32, size)(fixed, rows, row_ids, first), codegen

    return gather_dots_bfloat16


@intrinsic
def interleave_pairs(typingctx, acc, n_vectors):
    """Put the columns of the first ``n_vectors`` (even) vectors of ``acc``
    back in order where :func:`gather_dots_axpy` left each block of two
    vectors as its even columns, then its odd ones: two shuffles per block,
    once per row rather than once per connection."""
    dtype = check_float_arrays((acc,))
    check_contiguous(acc)

    def codegen(context, builder, sig, args):
        arrays = Arrays(context, builder, sig, args)
        _, vec, lanes = vector_type(context, dtype)
        intp = context.get_value_type(types.intp)
        i32 = ir.IntType(32)
        n_vec = context.cast(builder, args[1], sig.args[1], types.intp)
        low = ir.Constant(ir.VectorType(i32, lanes),
                          [k // 2 + (lanes if k % 2 else 0) for k in range(lanes)])
        high = ir.Constant(ir.VectorType(i32, lanes),
                           [lanes // 2 + k // 2 + (lanes if k % 2 else 0) for k in range(lanes)])
        with cgutils.for_range(builder, builder.sdiv(n_vec, ir.Constant(intp, 2))) as loop:
            col = builder.mul(loop.index, ir.Constant(intp, 2 * lanes))
            even_ptr = arrays.vector_pointer(0, vec, col)
            odd_ptr = arrays.vector_pointer(0, vec, builder.add(col, ir.Constant(intp, lanes)))
            even = builder.load(even_ptr, align=1)
            odd = builder.load(odd_ptr, align=1)
            builder.store(builder.shuffle_vector(even, odd, low), even_ptr, align=1)
            builder.store(builder.shuffle_vector(even, odd, high), odd_ptr, align=1)
        return context.get_dummy_value()

    return types.none(acc, n_vectors), codegen


# One intrinsic per tile width: a kernel covers a batch with the widest tiles
# that fit, then narrower ones, then scalar columns.
gather_axpy_8 = _make_gather_axpy(8)
gather_axpy_4 = _make_gather_axpy(4)
gather_axpy_2 = _make_gather_axpy(2)
gather_axpy_1 = _make_gather_axpy(1)
# four gathered rows, their weights and chains fit the sixteen registers
gather_dots_axpy = _make_gather_dots(4)
gather_dots_bfloat16_4 = _make_gather_dots_bfloat16(4)
gather_dots_bfloat16_1 = _make_gather_dots_bfloat16(1)
