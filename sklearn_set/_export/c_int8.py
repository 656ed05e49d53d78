"""The integer forward pass of an int8 C export (see
:mod:`~sklearn_set._export.quantize`): int8 tables, int32 accumulators,
fixed-point requantisation; and the float quantisation of the input."""

import numpy as np

from .ctext import C_TYPES, index_type

INT32_LIMIT = 2 ** 31 - 1
# trunc(2 v) of an input beyond 2^23 in magnitude: far outside int8.
SATURATED = 2 ** 24


def _requantize(prefix, factors, shift, limit, offset=0, bound=None):
    """C statements setting the int32 ``r`` to ``floor((product + 2^(shift-1))
    / 2^shift) + offset`` for the product of ``factors`` (two C expressions
    of int32 values), where ``bound`` is the largest ``|product|``:
    with a shift above 32, the product's high word plus the constant's
    (whose low word is 0) shifted by a constant (one 32x32->64 multiply, no
    64-bit addition or shift); with a shift of 32, the high word of the
    64-bit sum; else saturated to +-limit, unless the bound proves it fits."""
    half = (1 << (shift - 1)) + (offset << shift)
    high = half >> 32
    if shift > 32 and (bound >> 32) + 1 + abs(high) < INT32_LIMIT:
        sign = "-" if high < 0 else "+"
        return [f"        r = ({prefix}_mul_high({factors[0]}, {factors[1]}) {sign} {abs(high)}L)"
                f" >> {shift - 32};"]
    product = f"(int64_t){factors[0]} * {factors[1]}"
    if shift >= 32:
        tail = f" >> {shift - 32}" if shift > 32 else ""
        return [f"        r = (int32_t)(({product} + INT64_C({half})) >> 32){tail};"]
    if ((bound + abs(half)) >> shift) < limit:
        return [f"        r = (int32_t)(({product} + INT64_C({half})) >> {shift});"]
    return [f"        t = ({product} + INT64_C({half})) >> {shift};",
            f"        r = (int32_t)(t > {limit} ? {limit} : t < -{limit} - 1 ? -{limit} - 1 : t);"]


def _mul_high(prefix):
    """C of ``NAME_mul_high(a, b)``, ``floor(a * b / 2^32)`` of two int32:
    one instruction where the core multiplies 32x32->64 (``smull``), four
    16x16 multiplies on ARMv6-M, which has none (where the compiler calls a
    64x64 library routine, twice as long)."""
    return f"""
/* floor(a * b / 2^32) of two int32. */
#if defined(__ARM_ARCH_6M__)
static int32_t {prefix}_mul_high(int32_t a, int32_t b)
{{
    /* a b = ah bh 2^32 + (ah bl + al bh) 2^16 + al bl, the halves al, bl
     * unsigned; every partial product fits 32 bits */
    uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
    int32_t ah = a >> 16, bh = b >> 16;
    int32_t lh = ah * (int32_t)bl, hl = (int32_t)al * bh;
    uint32_t mid = ((al * bl) >> 16) + ((uint32_t)lh & 0xFFFFu) + ((uint32_t)hl & 0xFFFFu);
    return ah * bh + (lh >> 16) + (hl >> 16) + (int32_t)(mid >> 16);
}}
#else
#define {prefix}_mul_high(a, b) ((int32_t)(((int64_t)(a) * (b)) >> 32))
#endif
"""


def _product_bound(layer):
    """The largest ``|acc * m|`` of a layer over every int8 input (|x| <= 128)."""
    units = np.repeat(np.arange(layer.shape[1]), np.diff(layer.indptr))
    weights = np.bincount(units, np.abs(layer.weights.astype(np.int64)),
                          minlength=layer.shape[1]).astype(np.int64)
    acc = np.abs(layer.bias.astype(np.int64)) + 128 * weights
    m = np.abs(layer.multiplier)
    if layer.negative_multiplier is not None:
        m = np.maximum(m, np.abs(layer.negative_multiplier))
    return max((int(a) * int(b) for a, b in zip(acc, m)), default=0)


def _layer_code(layer, index, prefix, src, dst, tables, last, pointers):
    """Tables and loop of one integer layer. Each unit reads its number of
    weights (at least one) and its row of int32 constants (bias,
    multiplier, and for leaky ReLU the negative accumulators' multiplier);
    one pointer walks through the weights, one through their input
    indices."""
    macro = prefix.upper()
    p = f"{prefix}_l{index}"
    n_in, n_out = layer.shape
    nnz = layer.weights.shape[0]
    counts = np.diff(layer.indptr)
    columns = [layer.bias, layer.multiplier]
    if layer.negative_multiplier is not None:
        columns.append(layer.negative_multiplier)
    if nnz:
        itype, ntype = index_type(n_in - 1), index_type(counts.max())
        tables.add("int8_t", f"{p}_w", layer.weights, f"layer {index + 1} int8 weights")
        tables.add(itype, f"{p}_i", layer.indices, "input unit of each weight")
        tables.add(ntype, f"{p}_n", counts, "number of weights of each unit")
    tables.add("int32_t", f"{p}_u", np.column_stack(columns),
               f"layer {index + 1}: int32 bias, requantisation multiplier"
               + (" and negative accumulators' multiplier" if len(columns) == 3 else "")
               + f" of each unit (shift {layer.shift})")
    if layer.table is not None:
        tables.add("int8_t", f"{p}_t", layer.table, "activation of each pre-activation + 128")
    if not n_out:
        return ""
    lines = [f"    /* layer {index + 1}: {n_in} -> {n_out} units, {nnz} connections */",
             f"    u = {p}_u;"]
    if nnz:
        suffix = C_TYPES[itype][1]
        index_pointer = f"i{suffix.lower()}"
        pointers.add(itype)
        lines += [f"    w = {p}_w;", f"    {index_pointer} = {p}_i;"]
    lines += [f"    for (j = 0; j < {n_out}u; ++j, u += {len(columns)}) {{",
              f"        acc = {macro}_READ_I32(&u[0]);"]
    if nnz:
        lines += [f"        end = w + {tables.read(ntype, f'{p}_n[j]')};",
                  "        do {",
                  f"            acc += (int32_t){macro}_READ_I8(w) * "
                  f"{src}[{macro}_READ_{suffix}({index_pointer})];",
                  "            ++w;",
                  f"            ++{index_pointer};",
                  "        } while (w != end);"]
    # leaky ReLU: the negative accumulators' multiplier is the next one
    column = "1 + (acc < 0)" if len(columns) == 3 else "1"
    factors = ("acc", f"{macro}_READ_I32(&u[{column}])")
    bound = _product_bound(layer)
    if last:
        lines += _requantize(prefix, factors, layer.shift, INT32_LIMIT, bound=bound)
        lines.append(f"        {dst}[j] = r;")
    else:
        # the zero point rides in the rounding constant; one unsigned
        # comparison finds the values outside [lowest, 127]
        lines += _requantize(prefix, factors, layer.shift, 65536, layer.zero_point,
                             bound=bound)
        low = layer.lowest
        lines += [f"        if ((uint32_t)(r - ({low})) > {127 - low}u)",
                  f"            r = r < {low} ? {low} : 127;"]
        value = (tables.read("int8_t", f"{p}_t[r + 128]") if layer.table is not None
                 else "(int8_t)r")
        lines.append(f"        {dst}[j] = {value};")
    lines.append("    }")
    return "\n".join(lines) + "\n"


def int8_forward(qnet, prefix, tables):
    """C text of ``NAME_quantize_input`` and of ``static const int32_t
    *NAME_forward_q(const int8_t *xq)`` (the int32 outputs) with its
    buffers, and their RAM bytes."""
    macro = prefix.upper()
    n_features = qnet.n_features_in_
    tables.add("float", f"{prefix}_in_offset", qnet.input_offset,
               "raw value of each feature that the scalers map to 0")
    tables.add("float", f"{prefix}_in_factor", qnet.input_factor,
               "scalers' factor of each feature over the input scale")
    tables.add("float", f"{prefix}_out_scale", qnet.output_scale,
               "real value of one unit of each int32 output")
    z = qnet.input_zero_point
    # Float arithmetic only where it cannot be avoided (a subtraction, a
    # multiplication, one conversion): the checks and the rounding work on
    # the bits, which on a core without an FPU saves five library calls.
    quantize = f"""
int {prefix}_quantize_input(const float *x, int8_t *xq)
{{
    union {{
        float f;
        uint32_t u;
    }} v;
    uint32_t i;
    int32_t t;
    for (i = 0; i < {n_features}u; ++i) {{
        v.f = x[i];
        if ((v.u & 0x7F800000UL) == 0x7F800000UL) /* NaN or an infinity */
            return {macro}_ERROR;
        v.f = (v.f - {tables.read('float', f'{prefix}_in_offset[i]')}) * \
{tables.read('float', f'{prefix}_in_factor[i]')};
        if ((v.u & 0x7FFFFFFFUL) >= 0x4B000000UL) /* |v| >= 2^23: saturate */
            t = v.u >> 31 ? -{SATURATED} : {SATURATED};
        else {{
            if (v.u & 0x7F800000UL) /* double v: one more in the exponent */
                v.u += 0x00800000UL;
            t = (int32_t)v.f; /* trunc(2 v) */
        }}
        /* round(v), half away from zero, plus the zero point, clamped */
        t = (t + (t > 0) - (t < 0)) / 2 + {z};
        xq[i] = (int8_t)(t < -128 ? -128 : t > 127 ? 127 : t);
    }}
    return 0;
}}
"""
    hidden = [layer.shape[1] for layer in qnet.layers[:-1]]
    widest = max([1, *hidden])
    n_out = qnet.layers[-1].shape[1]
    loops, src, used, pointers = [], "xq", [], set()
    for index, layer in enumerate(qnet.layers):
        last = index == len(qnet.layers) - 1
        dst = f"{prefix}_out" if last else f"{prefix}_buf{len(used) % 2}"
        loops.append(_layer_code(layer, index, prefix, src, dst, tables, last, pointers))
        if not last and layer.shape[1]:
            used.append(dst)
            src = dst
    n_buffers = len(set(used))
    code = "".join(loops)
    uses = ["int32_t acc, r;", "uint32_t j;"]
    if code:
        uses.append(f"{macro}_POINTEE int32_t *u;")
    if "t = (" in code:  # a requantisation that saturates
        uses.append("int64_t t;")
    if pointers:
        uses.append(f"{macro}_POINTEE int8_t *w, *end;")
    uses += [f"{macro}_POINTEE {ctype} *i{C_TYPES[ctype][1].lower()};"
             for ctype in sorted(pointers)]
    if not qnet.layers[0].weights.shape[0]:
        uses.append("(void)xq;")
    body = "\n".join("    " + u for u in uses) + "\n" + code
    text = "".join(f"static int8_t {prefix}_buf{i}[{widest}];\n" for i in range(n_buffers))
    text += f"static int32_t {prefix}_out[{n_out}];\n"
    text += f"static int8_t {prefix}_xq[{n_features}];\n\n"
    text += (f"/* The requantisation shifts negative numbers right: arithmetic shifts, as\n"
             f" * every C compiler for these targets does them (checked here). */\n"
             f"typedef char {prefix}_arithmetic_shift[(INT64_C(-3) >> 1) == -2 && "
             f"(INT32_C(-3) >> 1) == -2 ? 1 : -1];\n")
    if f"{prefix}_mul_high(" in code:
        text += _mul_high(prefix)
    text += (f"\n/* The int32 outputs of the int8 inputs xq: integer arithmetic only. */\n"
             f"static const int32_t *{prefix}_forward_q(const int8_t *xq)\n{{\n{body}"
             f"    return {prefix}_out;\n}}\n" + quantize)
    return text, n_buffers * widest + 4 * n_out + n_features
