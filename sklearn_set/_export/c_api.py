"""The public C functions of an export and its header: what a program
calls, for the float32 and the int8 forward passes and each kind of model
(classifier, multilabel classifier, regressor)."""

from .ctext import c_string


def model_kind(network):
    if network.classes is None:
        return "regressor"
    return "multilabel" if network.output == "logistic" else "classifier"


def _prototypes(prefix, macro, kind, int8):
    """(comment, prototype) of each public function."""
    error = f"{macro}_ERROR if x holds NaN or infinity"
    funcs = []
    if int8:
        funcs.append((f"xq[{macro}_N_FEATURES] = the int8 inputs of the raw features "
                      f"x[{macro}_N_FEATURES]; 0, or {error}.",
                      f"int {prefix}_quantize_input(const float *x, int8_t *xq)"))
    if kind == "classifier":
        if int8:
            funcs.append(("Index into NAME_classes of the most probable class of the int8 "
                          "inputs xq (integer arithmetic only).",
                          f"int {prefix}_predict_q(const int8_t *xq)"))
        funcs += [(f"Index into NAME_classes of the most probable class of x, or {error}.",
                   f"int {prefix}_predict(const float *x)"),
                  (f"proba[{macro}_N_CLASSES] = the probability of each class; 0, or {error}.",
                   f"int {prefix}_predict_proba(const float *x, float *proba)")]
    elif kind == "multilabel":
        if int8:
            funcs.append((f"labels[{macro}_N_CLASSES]: 1 where a label is predicted for the "
                          "int8 inputs xq, else 0 (integer arithmetic only).",
                          f"void {prefix}_predict_q(const int8_t *xq, int *labels)"))
        funcs += [(f"labels[{macro}_N_CLASSES]: 1 where a label's probability exceeds 0.5, "
                   f"else 0; 0, or {error}.",
                   f"int {prefix}_predict(const float *x, int *labels)"),
                  (f"proba[{macro}_N_CLASSES] = the probability of each label; 0, or {error}.",
                   f"int {prefix}_predict_proba(const float *x, float *proba)")]
    else:
        if int8:
            funcs.append((f"yq[{macro}_N_OUTPUTS] = the int32 outputs of the int8 inputs xq "
                          f"(integer arithmetic only); {prefix}_dequantize turns them into "
                          "targets.", f"void {prefix}_predict_q(const int8_t *xq, int32_t *yq)"))
            funcs.append((f"y[{macro}_N_OUTPUTS] = the targets of the int32 outputs yq.",
                          f"void {prefix}_dequantize(const int32_t *yq, float *y)"))
        funcs.append((f"y[{macro}_N_OUTPUTS] = the predicted targets; 0, or {error}.",
                      f"int {prefix}_predict(const float *x, float *y)"))
    return [(comment.replace("NAME", prefix), proto) for comment, proto in funcs]


def header(prefix, network, kind, int8, description):
    macro = prefix.upper()
    count = "N_OUTPUTS" if kind == "regressor" else "N_CLASSES"
    lines = [f"/* {description} */", f"#ifndef {macro}_H", f"#define {macro}_H", "",
             "#include <stdint.h>", "",
             f"#define {macro}_N_FEATURES {network.layer_sizes[0]}",
             f"#define {macro}_{count} {network.layer_sizes[-1]}",
             "/* What the functions return for input that is NaN or infinite. */",
             f"#define {macro}_ERROR (-1)"]
    if kind == "multilabel":
        lines.append(f"#define {macro}_MULTILABEL 1")
    if int8:
        lines.append(f"#define {macro}_INT8 1")
    lines += ["", "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    if kind != "regressor":
        lines += ["/* The class labels, as text. */",
                  f"extern const char *const {prefix}_classes[{macro}_N_CLASSES];"]
    for comment, proto in _prototypes(prefix, macro, kind, int8):
        lines += [f"/* {comment} */", f"{proto};"]
    lines += ["", "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {macro}_H */", ""]
    return "\n".join(lines)


def classes_array(prefix, network):
    labels = ",\n    ".join(c_string(label) for label in network.classes)
    return (f"const char *const {prefix}_classes[{prefix.upper()}_N_CLASSES] = {{\n"
            f"    {labels}\n}};\n")


def _argmax(values, n):
    return f"""    uint32_t c;
    uint32_t best = 0;
    for (c = 1; c < {n}u; ++c)
        if ({values}[c] > {values}[best])
            best = c;
    return (int)best;"""


def _logits(prefix, n_out, n_features, int8):
    """``static int NAME_logits(const float *x, float *z)``: the output
    pre-activations in float, or NAME_ERROR."""
    macro = prefix.upper()
    if int8:
        return f"""
static int {prefix}_logits(const float *x, float *z)
{{
    const int32_t *out;
    uint32_t c;
    if ({prefix}_quantize_input(x, {prefix}_xq))
        return {macro}_ERROR;
    out = {prefix}_forward_q({prefix}_xq);
    for (c = 0; c < {n_out}u; ++c)
        z[c] = (float)out[c] * {prefix.upper()}_READ_F32(&{prefix}_out_scale[c]);
    return 0;
}}
"""
    return f"""
static int {prefix}_finite(const float *x)
{{
    uint32_t i;
    for (i = 0; i < {n_features}u; ++i)
        if (!(x[i] >= -FLT_MAX && x[i] <= FLT_MAX))
            return 0;
    return 1;
}}

static int {prefix}_logits(const float *x, float *z)
{{
    const float *out;
    uint32_t c;
    if (!{prefix}_finite(x))
        return {macro}_ERROR;
    out = {prefix}_forward(x);
    for (c = 0; c < {n_out}u; ++c)
        z[c] = out[c];
    return 0;
}}
"""


def functions(prefix, kind, n_out, n_features, int8):
    """C text of the public functions."""
    macro = prefix.upper()
    text = _logits(prefix, n_out, n_features, int8)
    if kind == "classifier":
        if int8:
            text += f"""
int {prefix}_predict_q(const int8_t *xq)
{{
    const int32_t *z = {prefix}_forward_q(xq);
{_argmax("z", n_out)}
}}

int {prefix}_predict(const float *x)
{{
    if ({prefix}_quantize_input(x, {prefix}_xq))
        return {macro}_ERROR;
    return {prefix}_predict_q({prefix}_xq);
}}
"""
        else:
            text += f"""
int {prefix}_predict(const float *x)
{{
    const float *z;
    if (!{prefix}_finite(x))
        return {macro}_ERROR;
    z = {prefix}_forward(x);
    {{
{_argmax("z", n_out)}
    }}
}}
"""
        return text + f"""
int {prefix}_predict_proba(const float *x, float *proba)
{{
    float top, total = 0.0f;
    uint32_t c;
    if ({prefix}_logits(x, proba))
        return {macro}_ERROR;
    top = proba[0];
    for (c = 1; c < {n_out}u; ++c)
        if (proba[c] > top)
            top = proba[c];
    for (c = 0; c < {n_out}u; ++c) {{
        proba[c] = expf(proba[c] - top);
        total += proba[c];
    }}
    for (c = 0; c < {n_out}u; ++c)
        proba[c] /= total;
    return 0;
}}
"""
    if kind == "multilabel":
        text += f"""
static float {prefix}_sigmoid(float z)
{{
    return z >= 0.0f ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}}

int {prefix}_predict_proba(const float *x, float *proba)
{{
    uint32_t c;
    if ({prefix}_logits(x, proba))
        return {macro}_ERROR;
    for (c = 0; c < {n_out}u; ++c)
        proba[c] = {prefix}_sigmoid(proba[c]);
    return 0;
}}
"""
        if int8:
            return text + f"""
void {prefix}_predict_q(const int8_t *xq, int *labels)
{{
    const int32_t *z = {prefix}_forward_q(xq);
    uint32_t c;
    for (c = 0; c < {n_out}u; ++c)
        labels[c] = z[c] > 0;
}}

int {prefix}_predict(const float *x, int *labels)
{{
    if ({prefix}_quantize_input(x, {prefix}_xq))
        return {macro}_ERROR;
    {prefix}_predict_q({prefix}_xq, labels);
    return 0;
}}
"""
        return text + f"""
int {prefix}_predict(const float *x, int *labels)
{{
    const float *z;
    uint32_t c;
    if (!{prefix}_finite(x))
        return {macro}_ERROR;
    z = {prefix}_forward(x);
    for (c = 0; c < {n_out}u; ++c)
        labels[c] = {prefix}_sigmoid(z[c]) > 0.5f;
    return 0;
}}
"""
    if int8:
        text += f"""
void {prefix}_predict_q(const int8_t *xq, int32_t *yq)
{{
    const int32_t *z = {prefix}_forward_q(xq);
    uint32_t c;
    for (c = 0; c < {n_out}u; ++c)
        yq[c] = z[c];
}}

void {prefix}_dequantize(const int32_t *yq, float *y)
{{
    uint32_t c;
    for (c = 0; c < {n_out}u; ++c)
        y[c] = (float)yq[c] * {macro}_READ_F32(&{prefix}_out_scale[c]);
}}
"""
    return text + f"""
int {prefix}_predict(const float *x, float *y)
{{
    return {prefix}_logits(x, y);
}}
"""
