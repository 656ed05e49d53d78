"""``sklearn-set predict``: predict each row of a CSV file with a saved
model, its features found by name (or, without a header, by position).

With ``--proba`` the answer is a CSV table, printed or written: the column
``prediction`` and one column per class, named by the class label, holding
the probability ``predict_proba`` gives it.
"""


import sys

from . import _options


def add_arguments(parser):
    """The arguments of ``sklearn-set predict``."""
    parser.add_argument("model", help="model file written by 'sklearn-set train'")
    parser.add_argument("data", help=(
        "CSV file with a header row naming the model's features (other columns are "
        "ignored)"))
    parser.add_argument("--no-header", action="store_true", help=(
        "the CSV file has no header row: its columns are the model's features, in "
        "training order"))
    parser.add_argument("--proba", action="store_true", help=(
        "also give each class's probability: a CSV table with the prediction and one "
        "column per class, named by the class label (for classifiers)"))
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="write predictions to this CSV file (default: print them)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the --out file if it exists")
    _options.trust_pickle_option(parser)
    _options.kernel_threads_option(parser, "predict")


def run(args):
    import csv
    import warnings

    from .._atomic import atomic_write
    from .io import (
        RunFailed,
        UsageError,
        feature_columns,
        last_line,
        load_model,
        prepare_output_file,
        read_csv_table,
    )

    if args.out:
        prepare_output_file(args.out, "--out file", overwrite=args.overwrite)
    model, names = load_model(args.model, trust_pickle=args.trust_pickle)
    if args.proba and not hasattr(model, "predict_proba"):
        raise UsageError(f"--proba: the model in {args.model!r} "
                         f"({type(_final_step(model)).__name__}) gives no class "
                         "probabilities (no predict_proba); drop --proba")
    n_features = getattr(model, "n_features_in_", None)
    table = read_csv_table(args.data, header=not args.no_header,
                           hint="pass --no-header if the file has no header row")
    columns = feature_columns(args.data, table.header, names, n_features)
    if columns is None:  # no header: by position, as the user said
        if n_features is not None and table.width != n_features:
            raise UsageError(f"CSV file {args.data!r} has {table.width} columns; the model "
                             f"needs {n_features} features")
        columns = list(range(table.width))
    X = table.numbers(columns)
    if args.n_jobs is not None and hasattr(model, "get_params"):
        model.set_params(**{key: args.n_jobs for key in model.get_params()
                            if key.rpartition("__")[2] == "n_jobs"})
    with warnings.catch_warnings():
        # the columns were matched to the model's feature names above
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        try:
            predictions = model.predict(X)
            probabilities = model.predict_proba(X) if args.proba else None
        except Exception as exc:  # values the model refuses, or a model of damaged data
            raise UsageError(f"cannot predict the rows of {args.data!r} with "
                             f"{args.model!r}: {type(exc).__name__}: {last_line(exc)}"
                             ) from None
    header, rows = _table(model, predictions, probabilities)
    if args.out:
        try:
            with atomic_write(args.out, "w", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)
        except OSError as exc:  # the folder was checked first: it changed, or a full disk
            raise RunFailed(f"cannot write {args.out!r}: {exc.strerror or exc}; nothing "
                            "was written") from None
        print(f"{len(predictions)} predictions written to {args.out}")
    elif probabilities is None:  # the predictions alone, one a line
        print("\n".join(map(str, predictions)), flush=True)
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        sys.stdout.flush()
    return 0


def _final_step(model):
    """The estimator at the end of a pipeline (or the model itself)."""
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _table(model, predictions, probabilities):
    """The header and rows of the answer: the predictions, and with
    ``probabilities`` one column per class named by its label (by its
    position where the model names no class per column, as a multilabel
    model's labels)."""
    if probabilities is None:
        return ["prediction"], [[p] for p in predictions]
    classes = list(getattr(model, "classes_", []))
    if len(classes) != probabilities.shape[1]:
        classes = list(range(probabilities.shape[1]))
    header = ["prediction"] + [str(c) for c in classes]
    rows = [[p] + [f"{q:.6g}" for q in row] for p, row in zip(predictions, probabilities)]
    return header, rows
