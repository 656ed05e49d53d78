"""``sklearn-set export``: write a saved model for small devices in one of
the formats of :data:`sklearn_set._export.formats.EXPORTERS` (today portable
C, ``NAME.h`` and ``NAME.c``, by :func:`sklearn_set.export_c`), and print
what it takes on the device: flash for the constant tables, RAM for the work
buffers. With ``--dataset`` (required by ``--int8``), the split of
``sklearn-set train`` calibrates the int8 model and the held-out accuracy of
the float32 and int8 models is printed.

A format's own options live in :data:`FORMAT_OPTIONS`, one argument group
per format."""

import os

from .._export.formats import EXPORTERS
from . import _options


def _c_arguments(group):
    group.add_argument("--int8", action="store_true", help=(
        "integer-only int8 inference (default: float32); needs --dataset to calibrate on"))
    group.add_argument("--header-only", action="store_true", help=(
        "write NAME.h alone, the definitions included: #define NAME_IMPLEMENTATION (NAME in "
        "capitals) before including it in exactly one C file"))


def _c_keywords(args):
    return {"weights": "int8" if args.int8 else "float32", "header_only": args.header_only}


def _c_report(exported, args):
    files = exported.header if exported.source is None else \
        f"{exported.header} and {exported.source}"
    lines = [f"Wrote {files} ({'int8 weights and activations' if args.int8 else 'float32'})",
             f"  flash  {exported.flash_bytes:>9} bytes  (constant tables: weights, indices, "
             "biases, scales)",
             f"  RAM    {exported.ram_bytes:>9} bytes  (work buffers)"]
    if exported.source is None:  # without it, every file that includes it links nothing
        lines.append(f"  #define {args.name.upper()}_IMPLEMENTATION before including "
                     f"{os.path.basename(exported.header)} in exactly one C file: it then "
                     "holds the definitions")
    return lines


# format (a key of EXPORTERS): (its options' group title, the function that
# adds them, the exporter's keywords from them, the lines that say what it wrote)
FORMAT_OPTIONS = {
    "c": ("C (--format c)", _c_arguments, _c_keywords, _c_report),
}


def add_arguments(parser):
    """The arguments of ``sklearn-set export``: those of every format, and
    per format an argument group of its own."""
    parser.add_argument("model", help="model file written by 'sklearn-set train'")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder to write the files into")
    parser.add_argument("--format", choices=sorted(EXPORTERS), default="c", help=(
        "; ".join(f"{name}: {EXPORTERS[name][2]}" for name in sorted(EXPORTERS))
        + " (default: c)"))
    parser.add_argument("--name", default="set_model", help=(
        "the files' name and the prefix of the identifiers in them (default: set_model)"))
    _options.dataset_options(parser, default=None, help=(
        "the data the model was trained on, as given to 'sklearn-set train': its training "
        "split calibrates --int8, and the held-out accuracy is printed"))
    _options.random_state_option(parser, help=(
        "the --random-state (--seed) of 'sklearn-set train', for the same split "
        "(default: 0)"))
    parser.add_argument("--allow-disconnected", action="store_true", help=(
        "export a model whose network has no input-to-output path (it predicts the "
        "same for every input; refused by default)"))
    _options.trust_pickle_option(parser)
    for title, add_format_arguments, _, _ in FORMAT_OPTIONS.values():
        add_format_arguments(parser.add_argument_group(title))


def _held_out(args, model):
    """``(X_train, X_test, y_train, y_test)`` of ``train``'s split; the
    columns must be the model's."""
    from sklearn.model_selection import train_test_split

    from .io import UsageError, load_dataset
    from .pipeline import check_classification_data

    X, y, names, description = load_dataset(args.dataset, args.target)
    check_classification_data(y, description)
    expected = getattr(model, "feature_names_in_", None)
    if names and expected is not None and list(names) != [str(n) for n in expected]:
        raise UsageError(f"--dataset {args.dataset!r} has other columns than the model was "
                         "trained on")
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=args.seed)


def _accuracies(model, network, X, y):
    """Held-out accuracy of the model (float32) and of its int8 network."""
    import warnings

    with warnings.catch_warnings():  # the model was fitted on named columns
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return model.score(X, y), None if network is model else network.score(X, y)


def run(args):
    from .. import quantize
    from .._export.formats import exporter
    from .io import UsageError, last_line, load_model, prepare_output_folder

    _, _, keywords, report = FORMAT_OPTIONS[args.format]
    export = exporter(args.format)
    if args.int8 and args.dataset is None:
        raise UsageError("--int8 calibrates the int8 activations on data: give --dataset "
                         "(with --target and --random-state as given to 'sklearn-set "
                         "train')")
    model, _ = load_model(args.model, trust_pickle=args.trust_pickle)
    network = model[-1] if hasattr(model, "steps") else model
    topology = getattr(network, "topology_", None)
    if topology is not None and topology["outputs_reached"] == 0 and not args.allow_disconnected:
        raise UsageError(
            f"cannot export {args.model!r}: its network has no path from an input to an "
            f"output ({int(topology['connections'].sum())} connections), so it predicts the "
            "same for every input; train it at a lower sparsity, or pass "
            "--allow-disconnected to export it anyway")
    data = None if args.dataset is None else _held_out(args, model)
    prepare_output_folder(args.out, "--out folder")
    try:
        network = quantize(model, data[0]) if args.int8 else model
        exported = export(network, args.out, name=args.name, **keywords(args))
        accuracies = None if data is None else _accuracies(model, network, data[1], data[3])
    except (TypeError, ValueError) as exc:  # an estimator, name or data it cannot export
        raise UsageError(f"cannot export {args.model!r}: {last_line(exc)}") from None
    print("\n".join(report(exported, args)))
    if accuracies is not None:
        float_accuracy, int8_accuracy = accuracies
        line = f"  held-out accuracy  float32 {float_accuracy:.4f}"
        if int8_accuracy is not None:
            line += f", int8 {int8_accuracy:.4f} (as the C code computes it)"
        print(f"{line}  ({len(data[1])} samples, the 25% split of 'sklearn-set train')")
    return 0
