"""``sklearn-set train``: fit one model on a stratified 75% of a dataset,
report its accuracy on the other 25% and save the fitted pipeline.

While it fits, :class:`~.progress.EpochLines` (a callback of scikit-learn's
callback API, which the estimators support from scikit-learn 1.9) prints
about one line a second: the epoch, the training loss, a validation score
and the time left at most. The score is the estimator's own validation score where it
measures one (AccSET, early stopping); otherwise the accuracy on the
held-out 25%, for the eye only: it selects nothing, the saved model is the
last epoch's either way.
"""

import sys
import time

from . import _options
from .progress import EpochLines


def add_arguments(parser):
    """The options of ``sklearn-set train``."""
    _options.model_options(parser)
    parser.add_argument("--sparsity", type=_options.sparsity, default="auto", metavar="S",
                        help=(
                            "sparsity in [0, 1), or auto: each layer's density by the "
                            "Erdos-Renyi rule from its shape, dense where it is narrow "
                            "(default: auto, as SETClassifier's)"))
    parser.add_argument("--save", required=True, metavar="FILE", help=(
        "file to save the model to: .skops (safe to load) or .joblib/.pkl (a pickle); "
        "missing folders are created"))
    parser.add_argument("-q", "--quiet", action="store_true", help=(
        "print no progress lines while fitting (by default about one a second: the "
        "epoch, the training loss, a validation score and the time left at most)"))
    _options.kernel_threads_option(parser, "train")


def run(args):
    import warnings

    import numpy as np
    from sklearn.model_selection import train_test_split

    from .io import (
        RunFailed,
        UsageError,
        check_model_path,
        last_line,
        load_dataset,
        prepare_output_file,
        save_model,
    )
    from .pipeline import (
        FIRST_RUN,
        check_classification_data,
        check_network_sizes,
        kernels_need_compiling,
        scaled_set_pipeline,
    )

    prepare_output_file(args.save, "--save file")
    check_model_path(args.save)
    X, y, names, description = load_dataset(args.dataset, args.target)
    classes, counts = check_classification_data(y, description)
    if counts.min() < 2:
        rare = classes[counts.argmin()].item()
        raise UsageError(f"{description}: class {rare!r} has a single sample; train holds out "
                         "a stratified 25% to measure the accuracy, so every class needs at "
                         "least 2")
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=args.seed)
    except ValueError as exc:  # too few samples for a stratified split of all classes
        raise UsageError(f"{description}: cannot hold out a stratified 25% to measure the "
                         f"accuracy: {last_line(exc)}") from None
    model = scaled_set_pipeline(args, args.sparsity, n_jobs=args.n_jobs)
    check_network_sizes(model, [args.sparsity], X_train, classes.size, args)
    if kernels_need_compiling():
        print(FIRST_RUN + "; the fit time below includes it)", flush=True)
    clf = model[-1]
    with_lines = not args.quiet and hasattr(clf, "set_callbacks")
    if with_lines:
        # the scaler is fitted before the network, so an epoch's model sees it
        clf.set_callbacks(EpochLines(
            lambda epoch_model: epoch_model.score(model[:-1].transform(X_test), y_test)))
    elif not args.quiet:
        print("(no progress lines while fitting: they need scikit-learn 1.9 or later)",
              flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # an interrupted fit's warning, said in this command's own terms below
        warnings.filterwarnings("ignore", message=r".*\.fit was interrupted by KeyboardInterrupt")
        try:
            model.fit(X_train, y_train)
        except ValueError as exc:  # e.g. training diverged: the estimator says why
            raise RunFailed(f"the fit failed: {last_line(exc)}") from None
        except KeyboardInterrupt:  # before the first epoch finished: no model
            print(f"sklearn-set train: interrupted during epoch 1, before any epoch "
                  f"finished; nothing was saved to {args.save}", file=sys.stderr)
            return 130
        finally:
            if with_lines:  # the saved model holds no callback
                clf.set_callbacks()
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)
    if names:  # the scikit-learn convention, for whoever loads the model
        model[0].feature_names_in_ = np.asarray(names, dtype=object)
    save_model(model, args.save)
    print(f"{type(clf).__name__} on {description}")
    print(f"  held-out accuracy  {accuracy:.4f} "
          f"({X_test.shape[0]} samples, 25% stratified split)")
    print(f"  sparsity           {clf.sparsity_:.4f}")
    print(f"  connections        {int(clf.n_connections_.sum())}")
    print(f"  epochs             {clf.n_iter_}")
    print(f"  fit time           {seconds:.1f} s")
    print(f"  saved to           {args.save}", flush=True)
    for message in dict.fromkeys(last_line(w.message) for w in caught):
        print(f"warning: {_options.in_cli_terms(message, args)}", file=sys.stderr)
    if args.interrupts.count:
        print(f"sklearn-set train: interrupted during epoch {clf.n_iter_ + 1} of at most "
              f"{clf.max_iter}; the model as of epoch {clf.n_iter_} was saved to "
              f"{args.save}", file=sys.stderr)
        return 130
    return 0
