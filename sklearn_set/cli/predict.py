"""``sklearn-set predict``: predict each row of a CSV file with a saved
model, its features found by name (or, without a header, by position)."""

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
        except Exception as exc:  # values the model refuses, or a model of damaged data
            raise UsageError(f"cannot predict the rows of {args.data!r} with "
                             f"{args.model!r}: {type(exc).__name__}: {last_line(exc)}"
                             ) from None
    if args.out:
        try:
            with atomic_write(args.out, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["prediction"])
                writer.writerows([[p] for p in predictions])
        except OSError as exc:  # the folder was checked first: it changed, or a full disk
            raise RunFailed(f"cannot write {args.out!r}: {exc.strerror or exc}; nothing "
                            "was written") from None
        print(f"{len(predictions)} predictions written to {args.out}")
    else:
        print("\n".join(map(str, predictions)), flush=True)
    return 0
