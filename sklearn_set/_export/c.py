"""C99 source of a compact sparse network: const arrays in CSR-by-output-unit
order, static ping-pong buffers, no allocation, only <math.h> and
<stdint.h>."""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._docstrings import fill_doc
from .._engine import activations
from .compact import compact
from .quantize import dequantized, input_factors, quantize_columns

WEIGHT_TYPES = {"float32": ("float", 4), "int8": ("int8_t", 1)}

# Smallest unsigned type holding every value up to the bound.
INDEX_TYPES = ((0xFF, "uint8_t", 1), (0xFFFF, "uint16_t", 2), (0xFFFFFFFF, "uint32_t", 4))

C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for "
    "goto if inline int long register restrict return short signed sizeof static struct "
    "switch typedef union unsigned void volatile while _Bool _Complex _Imaginary".split())

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _activation_c(code, slope):
    """C expression of a hidden activation of the float ``z``."""
    if code == activations.LEAKY_RELU:
        return f"(z > 0.0f ? z : {_float(slope)} * z)"
    return _HIDDEN_C[code]


_HIDDEN_C = {
    activations.IDENTITY: "z",
    activations.RELU: "(z > 0.0f ? z : 0.0f)",
    activations.TANH: "tanhf(z)",
    activations.LOGISTIC: "(1.0f / (1.0f + expf(-z)))",
}


@dataclass(frozen=True)
class CExport:
    """Files and sizes of a model exported by :func:`export_c`.

    The parameters are stored as attributes of the same names.

    Parameters
    ----------
    header : pathlib.Path
        ``NAME.h``: macros and prototypes.
    source : pathlib.Path
        ``NAME.c``: the arrays and the functions.
    flash_bytes : int
        Bytes of the const arrays (weights, indices, offsets, biases, scales).
    ram_bytes : int
        Bytes of the static work buffers.
    n_parameters : int
        Connections plus biases of the live units (see :func:`compact`).

    Examples
    --------
    >>> from pathlib import Path
    >>> from sklearn_set import CExport
    >>> result = CExport(Path("m.h"), Path("m.c"), flash_bytes=900, ram_bytes=256,
    ...                  n_parameters=150)
    >>> result.flash_bytes + result.ram_bytes
    1156
    """

    header: Path
    source: Path
    flash_bytes: int
    ram_bytes: int
    n_parameters: int


def _index_type(largest):
    for bound, ctype, size in INDEX_TYPES:
        if largest <= bound:
            return ctype, size
    raise ValueError(f"{largest} connections or units do not fit a uint32 index.")


def _float(value):
    text = f"{float(np.float32(value)):.9g}"
    if "e" not in text and "." not in text and "n" not in text:
        text += ".0"
    return text + "f"


def _array(ctype, name, values, comment, fmt=str):
    values = list(values)
    rows = [", ".join(fmt(v) for v in values[i:i + 8]) for i in range(0, len(values), 8)]
    body = ",\n    ".join(rows)
    return f"/* {comment} */\nstatic const {ctype} {name}[{len(values)}] = {{\n    {body}\n}};\n"


class _Writer:
    """Collects the const arrays of the source and counts their bytes."""

    def __init__(self):
        self.parts = []
        self.flash_bytes = 0

    def array(self, ctype, size, name, values, comment, fmt=str):
        if not len(values):  # ISO C has no empty arrays; nothing reads it
            return
        self.parts.append(_array(ctype, name, values, comment, fmt))
        self.flash_bytes += size * len(values)


def _layer_code(w, b, prefix, layer, src, dst, activation, weights, out, factors=None):
    """Arrays and loop of one layer: ``dst[j] = f(b[j] + sum w src[i])``
    (int8: ``sum q src[i] * factors[i]`` when there are input factors)."""
    p = f"{prefix}_l{layer}"
    n_in, n_out = w.shape
    if w.nnz:
        wtype, wsize = WEIGHT_TYPES[weights]
        if weights == "int8":
            q, scale = quantize_columns(w, factors)
            out.array(wtype, wsize, f"{p}_w", q, "int8 weights", fmt=lambda v: str(int(v)))
            out.array("float", 4, f"{p}_s", scale, "weight scale of each unit", fmt=_float)
            if factors is not None:
                out.array("float", 4, f"{p}_a", factors, "scaler factor of each input",
                          fmt=_float)
        else:
            out.array(wtype, wsize, f"{p}_w", w.data, "weights", fmt=_float)
        itype, isize = _index_type(n_in - 1)
        out.array(itype, isize, f"{p}_i", w.indices, "input unit of each weight")
        ptype, psize = _index_type(w.nnz)
        out.array(ptype, psize, f"{p}_p", w.indptr,
                  f"weights of unit j: {p}_p[j] to {p}_p[j + 1] - 1")
    out.array("float", 4, f"{p}_b", b, "biases", fmt=_float)
    if not n_out:
        return ""
    lines = [f"    /* layer {layer + 1}: {n_in} -> {n_out} units, {w.nnz} connections */",
             f"    for (j = 0; j < {n_out}u; ++j) {{"]
    if not w.nnz:
        lines.append(f"        z = {p}_b[j];")
    else:
        if weights == "int8":
            term = (f"{src}[{p}_i[k]]" if factors is None
                    else f"({src}[{p}_i[k]] * {p}_a[{p}_i[k]])")
            lines += ["        acc = 0.0f;",
                      f"        for (k = {p}_p[j]; k < (uint32_t){p}_p[j + 1]; ++k)",
                      f"            acc += (float){p}_w[k] * {term};",
                      f"        z = acc * {p}_s[j] + {p}_b[j];"]
        else:
            lines += [f"        z = {p}_b[j];",
                      f"        for (k = {p}_p[j]; k < (uint32_t){p}_p[j + 1]; ++k)",
                      f"            z += {p}_w[k] * {src}[{p}_i[k]];"]
    lines += [f"        {dst}[j] = {activation};", "    }"]
    return "\n".join(lines) + "\n"


def _header(prefix, macro, network, kind, description):
    n_out = network.layer_sizes[-1]
    count = "N_OUTPUTS" if kind == "regressor" else "N_CLASSES"
    lines = [f"/* {description} */",
             f"#ifndef {macro}_H", f"#define {macro}_H", "",
             f"#define {macro}_N_FEATURES {network.layer_sizes[0]}",
             f"#define {macro}_{count} {n_out}"]
    if kind == "multilabel":
        lines.append(f"#define {macro}_MULTILABEL 1")
    lines += ["", "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    if kind == "classifier":
        classes = ", ".join(str(c) for c in network.classes)
        lines += [f"/* Index into the classes ({classes}) of the most probable class of x"
                  f"[{macro}_N_FEATURES]. */",
                  f"int {prefix}_predict(const float *x);",
                  f"/* Probability of each class: proba[{macro}_N_CLASSES]. */",
                  f"void {prefix}_predict_proba(const float *x, float *proba);"]
    elif kind == "multilabel":
        lines += [f"/* labels[{macro}_N_CLASSES]: 1 where a label's probability exceeds "
                  "0.5, else 0. */",
                  f"void {prefix}_predict(const float *x, int *labels);",
                  f"/* Probability of each label: proba[{macro}_N_CLASSES]. */",
                  f"void {prefix}_predict_proba(const float *x, float *proba);"]
    else:
        lines += [f"/* Predicted targets: y[{macro}_N_OUTPUTS]. */",
                  f"void {prefix}_predict(const float *x, float *y);"]
    lines += ["", "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {macro}_H */", ""]
    return "\n".join(lines)


def _output_functions(prefix, kind, n_out):
    forward = f"{prefix}_forward(x)"
    if kind == "classifier":
        return f"""
int {prefix}_predict(const float *x)
{{
    const float *z = {forward};
    uint32_t c;
    uint32_t best = 0;
    for (c = 1; c < {n_out}u; ++c)
        if (z[c] > z[best])
            best = c;
    return (int)best;
}}

void {prefix}_predict_proba(const float *x, float *proba)
{{
    const float *z = {forward};
    float top = z[0];
    float total = 0.0f;
    uint32_t c;
    for (c = 1; c < {n_out}u; ++c)
        if (z[c] > top)
            top = z[c];
    for (c = 0; c < {n_out}u; ++c) {{
        proba[c] = expf(z[c] - top);
        total += proba[c];
    }}
    for (c = 0; c < {n_out}u; ++c)
        proba[c] /= total;
}}
"""
    if kind == "multilabel":
        return f"""
static float {prefix}_sigmoid(float z)
{{
    return z >= 0.0f ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}}

void {prefix}_predict_proba(const float *x, float *proba)
{{
    const float *z = {forward};
    uint32_t c;
    for (c = 0; c < {n_out}u; ++c)
        proba[c] = {prefix}_sigmoid(z[c]);
}}

void {prefix}_predict(const float *x, int *labels)
{{
    const float *z = {forward};
    uint32_t c;
    for (c = 0; c < {n_out}u; ++c)
        labels[c] = {prefix}_sigmoid(z[c]) > 0.5f;
}}
"""
    return f"""
void {prefix}_predict(const float *x, float *y)
{{
    const float *z = {forward};
    uint32_t c;
    for (c = 0; c < {n_out}u; ++c)
        y[c] = z[c];
}}
"""


def _model_kind(network):
    if network.classes is None:
        return "regressor"
    return "multilabel" if network.output == "logistic" else "classifier"


def generate_c(network, prefix, weights):
    """Header text, source text, flash bytes and RAM bytes of ``network``."""
    kind = _model_kind(network)
    sizes = network.layer_sizes
    macro = prefix.upper()
    description = (f"Sparse MLP generated by sklearn-set: {'-'.join(map(str, sizes))} units "
                   f"after compaction, {int(network.n_connections.sum())} connections, "
                   f"{weights} weights.")
    widest = max(1, max(sizes[1:]))
    n_layers = len(network.coefs)
    out = _Writer()
    loops = []
    # Layers write to alternate buffers; an empty layer writes nothing (and
    # the next one, without connections, reads nothing).
    src, used = "x", []
    for layer, (w, b) in enumerate(zip(network.coefs, network.intercepts)):
        dst = f"{prefix}_buf{len(used) % 2}"
        if layer < n_layers - 1:
            activation = _activation_c(*network.hidden_activations[layer])
        else:
            activation = "z"
        factors = input_factors(network, layer) if weights == "int8" else None
        loops.append(_layer_code(w, b, prefix, layer, src, dst, activation, weights, out,
                                 factors))
        if w.shape[1]:
            used.append(dst)
            src = dst
    n_buffers = len(set(used))
    buffers = "".join(f"static float {prefix}_buf{i}[{widest}];\n" for i in range(n_buffers))
    uses = ["float z;", "uint32_t j;"]
    if any(w.nnz for w in network.coefs):
        uses.append("uint32_t k;")
    if weights == "int8" and any(w.nnz for w in network.coefs):
        uses.append("float acc;")
    if not network.coefs[0].nnz:
        uses.append("(void)x;")
    body = "\n".join("    " + u for u in uses) + "\n" + "".join(loops)
    forward = (f"/* Output pre-activations of x[{macro}_N_FEATURES]. */\n"
               f"static const float *{prefix}_forward(const float *x)\n{{\n{body}"
               f"    return {src};\n}}\n")
    source = (f"/* {description} */\n#include <math.h>\n#include <stdint.h>\n\n"
              f'#include "{prefix}.h"\n\n' + "\n".join(out.parts) + "\n" + buffers + "\n"
              + forward + _output_functions(prefix, kind, sizes[-1]))
    header = _header(prefix, macro, network, kind, description)
    return header, source, out.flash_bytes, n_buffers * widest * 4


def export_c(model, directory, *, name="set_model", weights="float32"):
    """Write a fitted sparse MLP as portable C99: ``NAME.h`` and ``NAME.c``.

    The network is first compacted (:func:`compact`): units on no
    input-to-output path are removed, affine scalers of a Pipeline are folded
    into the first layer and a regressor's target standardisation into the
    last. Each layer is stored as const arrays in CSR order by output unit:
    weights, the input index of each weight and the offsets of each unit's
    weights, with the smallest unsigned index types that fit (uint8, uint16
    or uint32), and the biases. Two static float buffers, as wide as the
    widest live layer, hold the activations; nothing is allocated and only
    ``<math.h>`` and ``<stdint.h>`` are included (link with ``-lm``).

    Functions, with ``NAME`` as given and macros ``NAME_N_FEATURES`` and
    ``NAME_N_CLASSES`` (classifiers) or ``NAME_N_OUTPUTS`` (regressors) in
    upper case:

    - classifier: ``int NAME_predict(const float *x)`` returns the index into
      ``classes_`` and ``void NAME_predict_proba(const float *x, float *proba)``
      fills the class probabilities;
    - multilabel classifier (``NAME_MULTILABEL`` is defined):
      ``void NAME_predict(const float *x, int *labels)`` sets each label to 0
      or 1 and ``NAME_predict_proba`` fills the label probabilities;
    - regressor: ``void NAME_predict(const float *x, float *y)``.

    The functions use the static buffers, so they are not reentrant.

    Parameters
    ----------
%(exported_model_parameter)s
    directory : str or path-like
        Where the two files are written (created if missing).
    name : str, default="set_model"
        File names and prefix of every C name; a C identifier.
    weights : {"float32", "int8"}, default="float32"
        ``"int8"`` stores each weight as a signed byte with one float scale
        per unit (symmetric quantisation, scale ``max |w| / 127``); weights
        that round to 0 are dropped, and the network compacted again.
        Biases and activations stay float32. The first layer is quantised
        on the scaled features, and a Pipeline's scaler factors are then
        stored (one float per feature) and applied in C.

    Returns
    -------
    result : CExport
        Paths ``header`` and ``source``, ``flash_bytes`` (const arrays),
        ``ram_bytes`` (static buffers) and ``n_parameters``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_set import SETClassifier, export_c
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), SETClassifier(
    ...     hidden_layer_sizes=(16,), sparsity=0.8, max_iter=5, random_state=0)).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     result = export_c(model, directory, name="iris")
    ...     print(result.header.name, result.source.name)
    iris.h iris.c
    >>> result.flash_bytes > 0 and result.ram_bytes > 0
    True
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or name in C_KEYWORDS:
        raise ValueError(f"name must be a C identifier (letters, digits and underscores, "
                         f"not starting with a digit, not a C keyword), got {name!r}.")
    if weights not in WEIGHT_TYPES:
        raise ValueError(f"weights must be one of {sorted(WEIGHT_TYPES)}, got {weights!r}.")
    network = compact(model)
    if weights == "int8":
        network = dequantized(network)
    header, source, flash_bytes, ram_bytes = generate_c(network, name, weights)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    header_path, source_path = directory / f"{name}.h", directory / f"{name}.c"
    header_path.write_text(header)
    source_path.write_text(source)
    return CExport(header=header_path, source=source_path, flash_bytes=flash_bytes,
                   ram_bytes=ram_bytes, n_parameters=network.n_parameters)


export_c.__doc__ = fill_doc(export_c.__doc__)


def host_driver_source(model, name):
    """C source of a host test program for an export of ``model`` named
    ``name``: it reads rows of ``NAME_N_FEATURES`` numbers from stdin and
    prints one line per row (the prediction, then the probabilities of a
    classifier, or the targets of a regressor). With an argument ``R`` it
    instead predicts every row ``R`` times and prints the microseconds per
    prediction. Used by the tests and benchmarks, not part of an export."""
    kind = _model_kind(compact(model))
    macro = name.upper()
    count = f"{macro}_N_OUTPUTS" if kind == "regressor" else f"{macro}_N_CLASSES"
    if kind == "classifier":
        call = f"sink += {name}_predict(row)"
        show = (f"printf(\"%d\", {name}_predict(row));\n"
                f"        {name}_predict_proba(row, out);\n"
                "        for (c = 0; c < OUTPUTS; ++c) printf(\" %.9g\", out[c]);")
    elif kind == "multilabel":
        call = f"{name}_predict(row, labels); sink += labels[0]"
        show = (f"{name}_predict(row, labels);\n"
                "        for (c = 0; c < OUTPUTS; ++c) printf(\"%d \", labels[c]);\n"
                f"        {name}_predict_proba(row, out);\n"
                "        for (c = 0; c < OUTPUTS; ++c) printf(\" %.9g\", out[c]);")
    else:
        call = f"{name}_predict(row, out); sink += (int)out[0]"
        show = (f"{name}_predict(row, out);\n"
                "        for (c = 0; c < OUTPUTS; ++c) printf(\" %.9g\", out[c]);")
    return host_program(f"{name}.h", f"{macro}_N_FEATURES", count, call, show)


def host_program(header, n_features, n_outputs, timed_call, printed):
    """C source of a host program around a model's ``header``: it reads rows
    of ``n_features`` numbers from stdin; for each row ``row`` it runs the
    statements ``printed`` (with ``out`` (float), ``labels`` (int) arrays of
    ``n_outputs`` and ``c`` at hand) and ends the line. With an argument
    ``R`` it instead runs ``timed_call`` (which should add to the volatile
    ``sink``) on every row ``R`` times and prints the microseconds per
    call."""
    return f"""#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "{header}"

#define FEATURES {n_features}
#define OUTPUTS {n_outputs}
#define MAX_ROWS 20000

static float rows[MAX_ROWS][FEATURES];

int main(int argc, char **argv)
{{
    int n = 0, i, c, r;
    long repeat = argc > 1 ? atol(argv[1]) : 0;
    volatile int sink = 0;
    float out[OUTPUTS];
    int labels[OUTPUTS];
    (void)labels;
    while (n < MAX_ROWS) {{
        for (i = 0; i < FEATURES; ++i)
            if (scanf("%f", &rows[n][i]) != 1)
                break;
        if (i < FEATURES)
            break;
        ++n;
    }}
    if (repeat > 0) {{
        clock_t start = clock();
        for (r = 0; r < repeat; ++r)
            for (i = 0; i < n; ++i) {{
                const float *row = rows[i];
                {timed_call};
            }}
        printf("%.4f\\n", 1e6 * (double)(clock() - start) / CLOCKS_PER_SEC / ((double)n * repeat));
        return 0;
    }}
    for (i = 0; i < n; ++i) {{
        const float *row = rows[i];
        {printed}
        printf("\\n");
    }}
    (void)sink;
    return 0;
}}
"""
