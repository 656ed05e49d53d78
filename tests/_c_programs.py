"""C programs around an export, for the tests and the benchmarks (not part
of an export): a host program that predicts rows read from stdin."""

# What a host program prints for each row, by kind of model: the prediction,
# then the probabilities of a classifier (or the targets of a regressor).
_PRINTED = {
    "classifier": """status = {name}_predict(row);
        printf("%d", status);
        if (status != {macro}_ERROR) {{
            {name}_predict_proba(row, out);
            for (c = 0; c < OUTPUTS; ++c) printf(" %.9g", out[c]);
        }}""",
    "multilabel": """status = {name}_predict(row, labels);
        if (status == {macro}_ERROR) printf("%d", status);
        else {{
            for (c = 0; c < OUTPUTS; ++c) printf("%d ", labels[c]);
            {name}_predict_proba(row, out);
            for (c = 0; c < OUTPUTS; ++c) printf(" %.9g", out[c]);
        }}""",
    "regressor": """status = {name}_predict(row, out);
        if (status == {macro}_ERROR) printf("%d", status);
        else for (c = 0; c < OUTPUTS; ++c) printf(" %.9g", out[c]);""",
}
_TIMED = {
    "classifier": "sink += {name}_predict(row)",
    "multilabel": "{name}_predict(row, labels); sink += labels[0]",
    "regressor": "{name}_predict(row, out); sink += (int)out[0]",
}
# int8 exports: the int8 inputs first, then what NAME_predict_q returns.
_PRINTED_Q = {
    "classifier": 'printf(" %d", {name}_predict_q(xq));',
    "multilabel": ('{name}_predict_q(xq, labels);\n'
                   '            for (c = 0; c < OUTPUTS; ++c) printf(" %d", labels[c]);'),
    "regressor": ('{name}_predict_q(xq, yq);\n'
                  '            for (c = 0; c < OUTPUTS; ++c) printf(" %ld", (long)yq[c]);'),
}


def host_driver_source(kind, name, *, int8=False):
    """C source of a host program for an export named ``name`` of a model
    of ``kind`` ("classifier", "multilabel" or "regressor"): it reads rows of
    ``NAME_N_FEATURES`` numbers from stdin and prints one line per row (the
    prediction, then the probabilities of a classifier, or the targets of a
    regressor; ``NAME_ERROR`` alone for a row it refuses). With ``int8``,
    lines follow with the int8 inputs and what ``NAME_predict_q`` gives. With
    an argument ``R`` it instead predicts every row ``R`` times and prints the
    microseconds per prediction."""
    macro = name.upper()
    count = f"{macro}_N_OUTPUTS" if kind == "regressor" else f"{macro}_N_CLASSES"
    printed = _PRINTED[kind].format(name=name, macro=macro)
    if int8:
        printed += f"""
        printf("\\nq");
        if ({name}_quantize_input(row, xq) == 0) {{
            for (i2 = 0; i2 < FEATURES; ++i2) printf(" %d", xq[i2]);
            printf(" :");
            {_PRINTED_Q[kind].format(name=name)}
        }}"""
    declarations = ("int8_t xq[FEATURES]; int32_t yq[OUTPUTS]; int i2; (void)yq;" if int8
                    else "")
    return host_program(f"{name}.h", f"{macro}_N_FEATURES", count,
                        _TIMED[kind].format(name=name), printed, declarations)


def host_program(header, n_features, n_outputs, timed_call, printed, declarations=""):
    """C source of a host program around a model's ``header``: it reads rows
    of ``n_features`` numbers from stdin; for each row ``row`` it runs the
    statements ``printed`` (with ``out`` (float), ``labels`` (int) arrays of
    ``n_outputs``, ``c`` and ``status`` at hand) and ends the line. With an
    argument ``R`` it instead runs ``timed_call`` (which should add to the
    volatile ``sink``) on every row ``R`` times and prints the microseconds
    per call."""
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
    int n = 0, i, c, r, status;
    long repeat = argc > 1 ? atol(argv[1]) : 0;
    volatile int sink = 0;
    float out[OUTPUTS];
    int labels[OUTPUTS];
    {declarations}
    (void)labels;
    (void)status;
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
