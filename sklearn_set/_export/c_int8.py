"""The integer forward pass of an int8 C export (see
:mod:`~sklearn_set._export.quantize`): int8 tables, int32 accumulators,
fixed-point requantisation; and the float quantisation of the input."""

from .ctext import c_float, index_type

INT32_LIMIT = 2 ** 31 - 1


def _requantize(product, shift, limit):
    """C statements setting the int32 ``r`` to ``floor((product + 2^(shift-1))
    / 2^shift)``, saturated to +-limit when it might not fit: with a shift
    of 32 or more, the high word shifted by a constant (no 64-bit shift)."""
    half = f"INT64_C({1 << (shift - 1)})"
    if shift >= 32:
        tail = f" >> {shift - 32}" if shift > 32 else ""
        return [f"        r = (int32_t)(({product} + {half}) >> 32){tail};"]
    return [f"        t = ({product} + {half}) >> {shift};",
            f"        r = (int32_t)(t > {limit} ? {limit} : t < -{limit} - 1 ? -{limit} - 1 : t);"]


def _layer_code(layer, index, prefix, src, dst, tables, last):
    """Tables and loop of one integer layer."""
    p = f"{prefix}_l{index}"
    n_in, n_out = layer.shape
    nnz = layer.weights.shape[0]
    if nnz:
        itype, ptype = index_type(n_in - 1), index_type(nnz)
        tables.add("int8_t", f"{p}_w", layer.weights, f"layer {index + 1} int8 weights")
        tables.add(itype, f"{p}_i", layer.indices, "input unit of each weight")
        tables.add(ptype, f"{p}_p", layer.indptr,
                   f"weights of unit j: {p}_p[j] to {p}_p[j + 1] - 1")
    tables.add("int32_t", f"{p}_b", layer.bias, f"layer {index + 1} int32 biases")
    tables.add("int32_t", f"{p}_m", layer.multiplier,
               f"requantisation multiplier of each unit (shift {layer.shift})")
    if layer.table is not None:
        tables.add("int8_t", f"{p}_t", layer.table, "activation of each pre-activation + 128")
    if not n_out:
        return ""
    lines = [f"    /* layer {index + 1}: {n_in} -> {n_out} units, {nnz} connections */"]
    if nnz:
        lines.append("    k = 0;")
    lines += [f"    for (j = 0; j < {n_out}u; ++j) {{",
              f"        acc = {tables.read('int32_t', f'{p}_b[j]')};"]
    if nnz:
        lines += [f"        end = {tables.read(ptype, f'{p}_p[j + 1]')};",
                  "        for (; k < end; ++k)",
                  f"            acc += (int32_t){tables.read('int8_t', f'{p}_w[k]')} * "
                  f"{src}[{tables.read(itype, f'{p}_i[k]')}];"]
    m, shift = layer.slope
    if m:
        lines.append("        if (acc < 0) {")
        lines += ["    " + line for line in _requantize(f"(int64_t)acc * {m}L", shift,
                                                          INT32_LIMIT)]
        lines += ["            acc = r;", "        }"]
    product = f"(int64_t)acc * {tables.read('int32_t', f'{p}_m[j]')}"
    if last:
        lines += _requantize(product, layer.shift, INT32_LIMIT)
        lines.append(f"        {dst}[j] = r;")
    else:
        lines += _requantize(product, layer.shift, 65536)
        lines += [f"        r += {layer.zero_point};",
                  f"        r = r < {layer.lowest} ? {layer.lowest} : r > 127 ? 127 : r;"]
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
    quantize = f"""
int {prefix}_quantize_input(const float *x, int8_t *xq)
{{
    uint32_t i;
    float v;
    for (i = 0; i < {n_features}u; ++i) {{
        v = x[i];
        if (!(v >= -FLT_MAX && v <= FLT_MAX))
            return {macro}_ERROR;
        v = (v - {tables.read('float', f'{prefix}_in_offset[i]')}) * \
{tables.read('float', f'{prefix}_in_factor[i]')};
        if (v > {c_float(127 - z)})
            v = {c_float(127 - z)};
        else if (v < {c_float(-128 - z)})
            v = {c_float(-128 - z)};
        xq[i] = (int8_t)((int32_t)(v >= 0.0f ? v + 0.5f : v - 0.5f) + {z});
    }}
    return 0;
}}
"""
    hidden = [layer.shape[1] for layer in qnet.layers[:-1]]
    widest = max([1, *hidden])
    n_out = qnet.layers[-1].shape[1]
    loops, src, used = [], "xq", []
    for index, layer in enumerate(qnet.layers):
        last = index == len(qnet.layers) - 1
        dst = f"{prefix}_out" if last else f"{prefix}_buf{len(used) % 2}"
        loops.append(_layer_code(layer, index, prefix, src, dst, tables, last))
        if not last and layer.shape[1]:
            used.append(dst)
            src = dst
    n_buffers = len(set(used))
    uses = ["int32_t acc, r;", "uint32_t j;"]
    if min(layer.shift for layer in qnet.layers) < 32 or any(
            0 < layer.slope[1] < 32 for layer in qnet.layers):
        uses.append("int64_t t;")
    if qnet.n_connections:
        uses.append("uint32_t k, end;")
    if not qnet.layers[0].weights.shape[0]:
        uses.append("(void)xq;")
    body = "\n".join("    " + u for u in uses) + "\n" + "".join(loops)
    text = "".join(f"static int8_t {prefix}_buf{i}[{widest}];\n" for i in range(n_buffers))
    text += f"static int32_t {prefix}_out[{n_out}];\n"
    text += f"static int8_t {prefix}_xq[{n_features}];\n\n"
    text += (f"/* The requantisation shifts negative numbers right: arithmetic shifts, as\n"
             f" * every C compiler for these targets does them (checked here). */\n"
             f"typedef char {prefix}_arithmetic_shift[(INT64_C(-3) >> 1) == -2 ? 1 : -1];\n")
    text += (f"\n/* The int32 outputs of the int8 inputs xq: integer arithmetic only. */\n"
             f"static const int32_t *{prefix}_forward_q(const int8_t *xq)\n{{\n{body}"
             f"    return {prefix}_out;\n}}\n" + quantize)
    return text, n_buffers * widest + 4 * n_out + n_features
