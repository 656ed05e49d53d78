"""The float32 forward pass of a C export: CSR tables of float weights and
biases (the scalers folded in), two static float buffers."""

from .._engine.activations import FUNCTIONS
from .ctext import c_float, index_type


def _activation_c(code, slope):
    """C expression of a hidden activation of the float ``z``."""
    return FUNCTIONS[code].c_expression.format(slope=c_float(slope))


def _layer_code(w, b, prefix, layer, src, dst, activation, tables):
    """Tables and loop of one layer: ``dst[j] = f(b[j] + sum w src[i])``."""
    p = f"{prefix}_l{layer}"
    n_in, n_out = w.shape
    if w.nnz:
        tables.add("float", f"{p}_w", w.data, f"layer {layer + 1} weights")
        itype, ptype = index_type(n_in - 1), index_type(w.nnz)
        tables.add(itype, f"{p}_i", w.indices, "input unit of each weight")
        tables.add(ptype, f"{p}_p", w.indptr, f"weights of unit j: {p}_p[j] to {p}_p[j + 1] - 1")
    tables.add("float", f"{p}_b", b, f"layer {layer + 1} biases")
    if not n_out:
        return ""
    bias = tables.read("float", f"{p}_b[j]")
    lines = [f"    /* layer {layer + 1}: {n_in} -> {n_out} units, {w.nnz} connections */"]
    if w.nnz:
        lines.append("    k = 0;")
    lines += [f"    for (j = 0; j < {n_out}u; ++j) {{", f"        z = {bias};"]
    if w.nnz:
        lines += [f"        end = {tables.read(ptype, f'{p}_p[j + 1]')};",
                  "        for (; k < end; ++k)",
                  f"            z += {tables.read('float', f'{p}_w[k]')} * "
                  f"{src}[{tables.read(itype, f'{p}_i[k]')}];"]
    lines += [f"        {dst}[j] = {activation};", "    }"]
    return "\n".join(lines) + "\n"


def float_forward(network, prefix, tables):
    """C text of ``static const float *NAME_forward(const float *x)`` (the
    output pre-activations) with its buffers, and their RAM bytes."""
    sizes = network.layer_sizes
    widest = max(1, max(sizes[1:]))
    n_layers = len(network.coefs)
    loops = []
    # Layers write to alternate buffers; an empty layer writes nothing (and
    # the next one, without connections, reads nothing).
    src, used = "x", []
    for layer, (w, b) in enumerate(zip(network.coefs, network.intercepts)):
        dst = f"{prefix}_buf{len(used) % 2}"
        activation = (_activation_c(*network.hidden_activations[layer])
                      if layer < n_layers - 1 else "z")
        loops.append(_layer_code(w, b, prefix, layer, src, dst, activation, tables))
        if w.shape[1]:
            used.append(dst)
            src = dst
    n_buffers = len(set(used))
    uses = ["float z;", "uint32_t j;"]
    if any(w.nnz for w in network.coefs):
        uses.append("uint32_t k, end;")
    if not network.coefs[0].nnz:
        uses.append("(void)x;")
    body = "\n".join("    " + u for u in uses) + "\n" + "".join(loops)
    text = "".join(f"static float {prefix}_buf{i}[{widest}];\n" for i in range(n_buffers))
    text += (f"\n/* Output pre-activations of the raw features x. */\n"
             f"static const float *{prefix}_forward(const float *x)\n{{\n{body}"
             f"    return {src};\n}}\n")
    return text, n_buffers * widest * 4
