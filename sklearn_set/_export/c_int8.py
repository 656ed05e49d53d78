"""The integer forward pass of an int8 C export (see
:mod:`~sklearn_set._export.quantize`): int8 tables, int32 accumulators,
fixed-point requantisation; and the float quantisation of the input."""

import numpy as np

from .ctext import C_TYPES, index_type

INT32_LIMIT = 2 ** 31 - 1
# trunc(2 v) of an input beyond 2^23 in magnitude: far outside int8.
SATURATED = 2 ** 24


def _requantize(product, shift, limit, offset=0):
    """C statements setting the int32 ``r`` to ``floor((product + 2^(shift-1))
    / 2^shift) + offset``, saturated to +-limit when it might not fit: with a
    shift of 32 or more, the high word shifted by a constant (no 64-bit
    shift)."""
    half = f"INT64_C({(1 << (shift - 1)) + (offset << shift)})"
    if shift >= 32:
        tail = f" >> {shift - 32}" if shift > 32 else ""
        return [f"        r = (int32_t)(({product} + {half}) >> 32){tail};"]
    return [f"        t = ({product} + {half}) >> {shift};",
            f"        r = (int32_t)(t > {limit} ? {limit} : t < -{limit} - 1 ? -{limit} - 1 : t);"]


def _dot_function(prefix, itype):
    """``sum w[k] x[i[k]]`` over ``n > 0`` weights, for one index type: a
    function of its own (not inlined), so that compilers optimising for size
    keep its loop in registers."""
    macro = prefix.upper()
    suffix = C_TYPES[itype][1]
    return f"""
{macro}_NOINLINE static int32_t {prefix}_dot_{suffix.lower()}({macro}_POINTEE int8_t *w,
    {macro}_POINTEE {itype} *i, const int8_t *x, uint32_t n)
{{
    int32_t sum = 0;
    do {{
        sum += (int32_t){macro}_READ_I8(w) * x[{macro}_READ_{suffix}(i)];
        ++w;
        ++i;
    }} while (--n);
    return sum;
}}
"""


def _layer_code(layer, index, prefix, src, dst, tables, last, pointers):
    """Tables and loop of one integer layer. Each unit reads its number of
    weights (at least one) and its (bias, multiplier) pair; one running
    offset walks through the weights and their input indices."""
    p = f"{prefix}_l{index}"
    n_in, n_out = layer.shape
    nnz = layer.weights.shape[0]
    counts = np.diff(layer.indptr)
    if nnz:
        itype, ntype = index_type(n_in - 1), index_type(counts.max())
        tables.add("int8_t", f"{p}_w", layer.weights, f"layer {index + 1} int8 weights")
        tables.add(itype, f"{p}_i", layer.indices, "input unit of each weight")
        tables.add(ntype, f"{p}_n", counts, "number of weights of each unit")
    tables.add("int32_t", f"{p}_bm", np.column_stack([layer.bias, layer.multiplier]),
               f"layer {index + 1}: int32 bias and requantisation multiplier of each unit "
               f"(shift {layer.shift})")
    if layer.table is not None:
        tables.add("int8_t", f"{p}_t", layer.table, "activation of each pre-activation + 128")
    if not n_out:
        return ""
    lines = [f"    /* layer {index + 1}: {n_in} -> {n_out} units, {nnz} connections */"]
    if nnz:
        pointers.add(itype)
        lines.append("    k = 0;")
    lines += [f"    for (j = 0; j < {n_out}u; ++j) {{",
              f"        acc = {tables.read('int32_t', f'{p}_bm[2 * j]')};"]
    if nnz:
        lines += [f"        n = {tables.read(ntype, f'{p}_n[j]')};",
                  f"        acc += {prefix}_dot_{C_TYPES[itype][1].lower()}({p}_w + k, "
                  f"{p}_i + k, {src}, n);",
                  "        k += n;"]
    m, shift = layer.slope
    if m:
        lines.append("        if (acc < 0) {")
        lines += ["    " + line for line in _requantize(f"(int64_t)acc * {m}L", shift,
                                                          INT32_LIMIT)]
        lines += ["            acc = r;", "        }"]
    product = f"(int64_t)acc * {tables.read('int32_t', f'{p}_bm[2 * j + 1]')}"
    if last:
        lines += _requantize(product, layer.shift, INT32_LIMIT)
        lines.append(f"        {dst}[j] = r;")
    else:
        # the zero point rides in the rounding constant; one unsigned
        # comparison finds the values outside [lowest, 127]
        lines += _requantize(product, layer.shift, 65536, layer.zero_point)
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
    uses = ["int32_t acc, r;", "uint32_t j;"]
    if min(layer.shift for layer in qnet.layers) < 32 or any(
            0 < layer.slope[1] < 32 for layer in qnet.layers):
        uses.append("int64_t t;")
    dots = "".join(_dot_function(prefix, ctype) for ctype in sorted(pointers))
    if pointers:
        uses.append("uint32_t k, n;")
    if not qnet.layers[0].weights.shape[0]:
        uses.append("(void)xq;")
    body = "\n".join("    " + u for u in uses) + "\n" + "".join(loops)
    text = "".join(f"static int8_t {prefix}_buf{i}[{widest}];\n" for i in range(n_buffers))
    text += f"static int32_t {prefix}_out[{n_out}];\n"
    text += f"static int8_t {prefix}_xq[{n_features}];\n\n"
    if dots:
        text += (f"\n#if defined(__GNUC__)\n#define {macro}_NOINLINE __attribute__((noinline))\n"
                 f"#else\n#define {macro}_NOINLINE\n#endif\n") + dots
    text += (f"/* The requantisation shifts negative numbers right: arithmetic shifts, as\n"
             f" * every C compiler for these targets does them (checked here). */\n"
             f"typedef char {prefix}_arithmetic_shift[(INT64_C(-3) >> 1) == -2 ? 1 : -1];\n")
    text += (f"\n/* The int32 outputs of the int8 inputs xq: integer arithmetic only. */\n"
             f"static const int32_t *{prefix}_forward_q(const int8_t *xq)\n{{\n{body}"
             f"    return {prefix}_out;\n}}\n" + quantize)
    return text, n_buffers * widest + 4 * n_out + n_features
