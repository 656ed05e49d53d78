"""Sparsity sweeps: :func:`sparsity_curve`, the sparsity counterpart of
:func:`sklearn.model_selection.validation_curve`.

It cross-validates an estimator at several sparsity levels and, besides the
train and test scores, records the size of every fitted network (its
connection count and measured sparsity) without keeping the fitted networks.
"""

import inspect
import os
import traceback
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.utils import indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.parallel import Parallel, delayed

from .._curve import check_sparsity_levels
from .._interrupt import interrupt_abandons_fit
from .._warnings import DisconnectedNetworkWarning
from . import adaptive
from .baseline import BASELINES, dense_parameters, equal_size_widths
from .checkpoint import Checkpoint, fit_key, sweep_settings
from .result import SparsityCurveResult

__all__ = ["SparsityCurveResult", "sparsity_curve"]

# Keys of the internal scorers that read the fitted network's size.
_SCORE = "score"
_N_CONNECTIONS = "n_connections"
_MEASURED_SPARSITY = "measured_sparsity"
_ACTIVE_FRACTION = "active_fraction"
_N_PARAMETERS = "n_parameters"
_N_INPUTS = "n_inputs"
_N_OUTPUTS = "n_outputs"
# What each fit returns (and a checkpoint records): all a result is made of.
_OUTPUTS = ("fit_time", "score_time", "train_" + _SCORE, "test_" + _SCORE,
            "test_" + _N_CONNECTIONS, "test_" + _MEASURED_SPARSITY, "test_" + _ACTIVE_FRACTION,
            "test_" + _N_PARAMETERS, "test_" + _N_INPUTS, "test_" + _N_OUTPUTS)


# --------------------------------------------------------------------------
# Finding the sparse network inside a (fitted) estimator
# --------------------------------------------------------------------------


def _resolve_param_name(estimator, param_name):
    """Return the full parameter name that ``param_name`` designates.

    An exact parameter name of ``estimator`` (nested ``"step__sparsity"``
    names included) is returned as is; otherwise a name that exactly one
    nested parameter ends with after ``"__"`` (``"sparsity"`` for
    ``"setclassifier__sparsity"``).
    """
    params = estimator.get_params(deep=True)
    if param_name in params:
        return param_name
    matches = sorted(k for k in params if k.endswith("__" + param_name))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(
            f"param_name {param_name!r} is ambiguous for {type(estimator).__name__}: "
            f"it matches {matches}. Pass the full nested name."
        )
    like = sorted(k for k in params if "sparsity" in k)
    hint = f" Parameters that mention sparsity: {like}." if like else ""
    raise ValueError(
        f"{type(estimator).__name__} has no parameter {param_name!r}.{hint} "
        "Use 'step__param' names for parameters of a pipeline's steps."
    )


def _find_sparse_network(fitted, param_name):
    """The fitted object that exposes ``n_connections_``, or None.

    Looked for, in order: the object whose parameter is swept (``fitted`` for
    a plain name, the nested object for ``"a__b__sparsity"``), the last step
    of a pipeline, and ``fitted`` itself.
    """
    prefix = param_name.rpartition("__")[0]
    candidates = []
    if prefix:
        owner = fitted.get_params(deep=True).get(prefix)
        if owner is not None:
            candidates.append(owner)
    if isinstance(fitted, Pipeline):
        candidates.append(fitted[-1])
    candidates.append(fitted)
    for candidate in candidates:
        if hasattr(candidate, "n_connections_"):
            return candidate
    return None


def _active_fraction(network):
    topology = getattr(network, "topology_", None)
    return np.nan if topology is None else topology["active_fraction"]


def _live_parameters(network):
    from .._export.compact import compact

    return compact(network).n_parameters


# What each size metric reads from a fitted sparse network.
_NETWORK_MEASURES = {
    _N_CONNECTIONS: lambda network: np.sum(network.n_connections_),
    _MEASURED_SPARSITY: lambda network: getattr(network, "sparsity_", np.nan),
    _ACTIVE_FRACTION: _active_fraction,
    _N_PARAMETERS: _live_parameters,
    _N_INPUTS: lambda network: network.coefs_[0].shape[0],
    _N_OUTPUTS: lambda network: network.coefs_[-1].shape[1],
}


class _NetworkSizeScorer:
    """Scorer-like callable returning a size of the fitted sparse network.

    Used as an extra metric of :func:`~sklearn.model_selection.cross_validate`
    so that connection counts are read right after each fit, and the fitted
    estimator can be dropped. Returns NaN when no object with
    ``n_connections_`` is found.
    """

    def __init__(self, param_name, what):
        self.param_name = param_name
        self.what = what

    def __call__(self, estimator, X, y=None, **kwargs):
        network = _find_sparse_network(estimator, self.param_name)
        if network is None:
            return np.nan
        return float(_NETWORK_MEASURES[self.what](network))


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------


def _score_name(estimator, scoring):
    """A readable name of the score, in the manner of scikit-learn displays."""
    if scoring is None:
        if is_classifier(estimator):
            return "Accuracy"
        if is_regressor(estimator):
            return "R2"
        return "Score"
    name = getattr(scoring, "__name__", None) if callable(scoring) else scoring
    if not isinstance(name, str):
        name = getattr(getattr(scoring, "_score_func", None), "__name__", "Score")
    if name.startswith("neg_"):
        name = "Negative " + name[4:]
    return name.replace("_", " ").capitalize()


# --------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------


def _fit_one_indexed(index, record, *args):
    """:func:`_fit_one` for job ``index``, its output then given to ``record``
    (the fit's checkpoint recorder, see :meth:`.Checkpoint.recorder`, or None)
    in the process that ran it. Return ``(index, output, whether record
    wrote it)``."""
    out = _fit_one(*args)
    return index, out, record is not None and record(out)


def _fit_one(estimator, X, y, split, scorers, params, verbose, error_score):
    """Cross-validate one (level, split) pair; return floats only.

    A failed fit or scoring gives ``error_score`` as scores, NaN elsewhere and
    the error text under ``"error"`` (``cross_validate`` itself would raise
    since all of its one fit failed). A KeyboardInterrupt stops the fit and
    propagates: its truncated model must not pass for a finished fit.
    """
    try:
        # a collapsed network is what a sweep measures (active_fraction says it)
        with interrupt_abandons_fit(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DisconnectedNetworkWarning)
            out = cross_validate(
                estimator,
                X,
                y,
                cv=[split],
                scoring=scorers,
                params=params,
                return_train_score=True,
                error_score="raise",
                verbose=verbose,
            )
    except Exception as exc:
        if isinstance(error_score, str) and error_score == "raise":
            raise
        failed = {key: float(error_score) if key.endswith(_SCORE) else np.nan
                  for key in _OUTPUTS}
        failed["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return failed
    return {key: float(out[key][0]) for key in _OUTPUTS}


def _report_failures(outputs, sparsities, n_splits):
    failed = [i for i, out in enumerate(outputs) if "error" in out]
    if not failed:
        return
    first = outputs[failed[0]]["error"]
    levels = sorted({float(sparsities[i // n_splits]) for i in failed})
    where = ", ".join(f"{s:.6g}" for s in levels)
    if len(failed) == len(outputs):
        raise ValueError(
            f"All the {len(outputs)} fits failed. The first error was:\n{first}"
        )
    warnings.warn(
        f"{len(failed)} of the {len(outputs)} fits failed (at sparsity {where}); "
        f"their scores are error_score and their connection counts NaN. "
        f"The first error was:\n{first}",
        FitFailedWarning,
        stacklevel=3,
    )


@validate_params(
    {
        "estimator": [HasMethods(["fit", "get_params"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like", None],
        "sparsities": ["array-like", StrOptions({"adaptive"})],
        "param_name": [str],
        "groups": ["array-like", None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "error_score": [StrOptions({"raise"}), Real],
        "params": [dict, None],
        "progress": [callable, None],
        "n_levels": [Interval(Integral, 1, None, closed="left"), None],
        "sparsity_range": ["array-like", None],
        "curve_params": [dict, None],
        "checkpoint": [str, os.PathLike, None],
        "baseline": [StrOptions(set(BASELINES)), None],
    },
    prefer_skip_nested_validation=False,  # the swept estimator validates its own
)
def sparsity_curve(
    estimator,
    X,
    y,
    *,
    sparsities,
    param_name="sparsity",
    groups=None,
    cv=5,
    scoring=None,
    n_jobs=None,
    verbose=0,
    error_score=np.nan,
    params=None,
    progress=None,
    n_levels=None,
    sparsity_range=None,
    curve_params=None,
    checkpoint=None,
    baseline=None,
):
    """Cross-validated scores and network sizes over sparsity levels.

    The sparsity counterpart of
    :func:`~sklearn.model_selection.validation_curve`: the estimator is
    cloned, its sparsity parameter set to each level and cross-validated on
    the same splits. Besides the train and test scores it records the
    connection count and the measured sparsity of every fitted network, read
    right after each fit (by an extra metric of
    :func:`~sklearn.model_selection.cross_validate`), so no fitted network is
    kept in memory.

    Read more in the :ref:`User Guide <sparsity_curves>` and, for
    ``sparsities="adaptive"``, in :ref:`Adaptive sweeps <adaptive_sweeps>`.

    Parameters
    ----------
    estimator : estimator object
        A sparse network (:class:`~sklearn_set.SETClassifier`, ...) or a
        composite holding one, such as a :class:`~sklearn.pipeline.Pipeline`.
        It is cloned for every fit.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.

    sparsities : array-like of shape (n_levels,) or "adaptive"
        Sparsity levels in ``[0, 1)``, evaluated in the given order; or
        ``"adaptive"``: start from a coarse grid, evenly spaced in log
        density over ``sparsity_range``, and add levels, one per round,
        where the fitted curve is least certain of the knee, the
        extreme-sparsity contour and the highest sparsity within one point
        of the dense accuracy (the gap holding each of them, the widest
        :meth:`~SparsityCurveRegressor.predict_interval` first), until
        ``n_levels`` levels are measured. The levels come back sorted, with
        the round that chose each in ``result.rounds``.

    param_name : str, default="sparsity"
        The swept parameter. Nested names (``"setclassifier__sparsity"``)
        work; a name that exactly one nested parameter ends with after
        ``"__"`` is completed, so the default finds the sparsity of the single
        sparse network in a pipeline. The connection counts are read from the
        object that owns this parameter or else from the last step of a
        pipeline.

    groups : array-like of shape (n_samples,), default=None
        Group labels for a group-aware ``cv`` splitter.

    cv : int, cross-validation generator or iterable, default=5
        Cross-validation strategy, as in
        :func:`~sklearn.model_selection.cross_validate` (an int gives
        stratified folds for classifiers). The same splits are used at every
        level.

    scoring : str, callable or None, default=None
        A single metric; ``None`` uses the estimator's ``score`` (accuracy for
        classifiers).

    n_jobs : int, default=None
        Number of jobs to run in parallel over all (level, split) pairs (of
        each round, for an adaptive sweep).
        ``None`` means 1 unless in a :obj:`joblib.parallel_backend` context.

    verbose : int, default=0
        Verbosity: 1 reports the progress of the loop over (level, split)
        pairs; higher values also pass ``verbose - 1`` to each fit's
        :func:`~sklearn.model_selection.cross_validate`.

    error_score : "raise" or float, default=np.nan
        Score given to a failed fit or scoring (its connection count and
        times are then NaN), with a
        :class:`~sklearn.exceptions.FitFailedWarning`; ``"raise"`` raises the
        error. If every fit fails a ValueError is raised.

    params : dict, default=None
        Parameters passed to the estimator's ``fit`` (indexed per split), as
        in :func:`~sklearn.model_selection.cross_validate`.

    progress : callable or None, default=None
        Called in the calling process as each fit finishes (in completion
        order) with ``(sparsity, split_index, test_score, fit_time)``: for
        progress reports such as the command line's. A callable with an
        ``error`` keyword also gets the error text of a failed fit (None for
        a fit that succeeded).

    n_levels : int, default=None
        Number of levels of an adaptive sweep (at least the number of
        parameters of the curve family plus two); only with
        ``sparsities="adaptive"``.

    sparsity_range : tuple of two floats, default=None
        Sparsest and densest ends ``(low, high)`` of an adaptive sweep;
        ``None`` means ``(0.5, 0.9998)``.

    curve_params : dict, default=None
        Parameters of the :class:`~sklearn_set.SparsityCurveRegressor` that
        steers an adaptive sweep (e.g. ``collapse_accuracy``).

    checkpoint : str or path-like, default=None
        A CSV file that keeps every finished fit, the dense baseline's
        included. Each fit is appended to it as one row (sparsity, fold,
        the baseline's hidden layer sizes, test and train score, fit
        seconds, connection count, measured sparsity, active fraction, error
        text) as soon as it is scored, by the process that ran it (or, for a
        worker that cannot see the file, such as a dask worker on another
        machine, by this process when the result reaches it), so an
        interrupted sweep (Ctrl-C, SIGTERM, a killed worker) loses no
        finished fit. Ctrl-C stops the fits that run, which are not recorded:
        in a sweep a fit does not return the model of its last finished epoch
        as it does on its own. Its first lines record the settings that
        determine the fits: the estimator's parameters (all but ``n_jobs`` and
        ``verbose``, which do not change a fitted model), ``param_name``,
        ``sparsities`` (or the adaptive options), hashes of the
        cross-validation splits, of the data and of ``params``, ``scoring``
        and ``error_score``. Given an existing checkpoint written with the
        same settings, the sweep fits only the fits it lacks, reporting only
        those to ``progress``, and returns the same result
        as an uninterrupted run provided each fit is reproducible (an int
        ``random_state``; ``None`` gives a warning). An adaptive sweep
        resumes too: the rounds it had measured are read back, so it
        chooses the same levels again. See
        :func:`~sklearn_set._sweep.checkpoint.count_fits`.

    baseline : {"dense"} or None, default=None
        ``"dense"`` also cross-validates, on the same splits, a dense network
        of each level's size: the estimator at sparsity 0 (``zeta=0``: there
        is nothing to rewire) with all its other parameters, its hidden
        layers narrowed by one common factor until its weights and biases
        are as many as the sparse networks' live parameters (see
        ``result.n_parameters``). Its scores answer whether sparsity pays on
        this data. Levels whose dense networks coincide share their fits.
        The dense fits run after the sparse ones. ``progress`` is called for them too if it takes a
        ``baseline`` keyword (the dense hidden layer sizes; its first
        argument is then the dense network's parameter count), and with an
        ``n_baseline_fits`` keyword it also gets the number of dense fits
        that run (those the checkpoint does not hold), for a counter.

    Returns
    -------
    result : SparsityCurveResult
        With ``sparsities`` (n_levels,), and ``train_scores``,
        ``test_scores``, ``n_connections``, ``measured_sparsities``,
        ``fit_times``, ``score_times`` of shape (n_levels, n_folds), plus
        ``param_name`` (the resolved full name) and ``score_name``.
        ``result.fit_curve(**params)`` fits a
        :class:`~sklearn_set.SparsityCurveRegressor` to the test scores.

    Raises
    ------
    ValueError
        If a sparsity lies outside ``[0, 1)``, ``param_name`` is not a
        parameter of ``estimator`` (or is ambiguous), ``scoring`` asks for
        several metrics, every fit fails, ``n_levels`` is too small for the
        curve family, ``n_levels`` comes with an explicit list of levels, or
        ``checkpoint`` holds fits of other settings (the message names the
        first difference) or is not a checkpoint.

    See Also
    --------
    sklearn.model_selection.validation_curve : The general version.
    SparsityCurveDisplay.from_estimator : Run the sweep and plot it.
    SparsityCurveRegressor : Fit a curve to the scores.

    Notes
    -----
    A warning is raised if no fitted object exposes ``n_connections_`` (the
    connection counts are then NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_set import SETClassifier
    >>> from sklearn_set import sparsity_curve
    >>> X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    >>> model = make_pipeline(StandardScaler(), SETClassifier(
    ...     hidden_layer_sizes=(32,), max_iter=20, random_state=0))
    >>> result = sparsity_curve(model, X, y, sparsities=[0.5, 0.9, 0.99], cv=3)
    >>> result.param_name
    'setclassifier__sparsity'
    >>> result.test_scores.shape
    (3, 3)
    >>> result.n_connections[:, 0].astype(int).tolist()
    [192, 38, 4]
    >>> bool(result.test_scores[0].mean() > 0.8)
    True
    """
    adaptive_sweep = isinstance(sparsities, str)  # "adaptive", the one string allowed
    if adaptive_sweep:
        n_levels, sparsity_range, needed = adaptive.check_adaptive(
            n_levels, sparsity_range, curve_params)
    else:
        if n_levels is not None or sparsity_range is not None:
            raise ValueError(
                'n_levels and sparsity_range are for sparsities="adaptive"; an explicit '
                "list of levels is measured as given. Pass one or the other.")
        sparsities = check_sparsity_levels(sparsities, what="sparsity_curve")
    param_name = _resolve_param_name(estimator, param_name)
    verbose = int(verbose)

    X, y, groups = indexable(X, y, groups)
    cv = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(cv.split(X, y, groups))
    if checkpoint is not None:
        plan = (dict(sparsities="adaptive", n_levels=n_levels, sparsity_range=sparsity_range,
                     curve_params=curve_params) if adaptive_sweep else sparsities)
        checkpoint = Checkpoint(checkpoint, sweep_settings(
            estimator, param_name, plan, splits, scoring, error_score, X, y, params))
    setup = _SweepSetup(
        estimator=estimator, X=X, y=y, splits=splits,
        scorers={_SCORE: check_scoring(estimator, scoring=scoring),
                 **{what: _NetworkSizeScorer(param_name, what) for what in _NETWORK_MEASURES}},
        param_name=param_name, params=params, n_jobs=n_jobs, verbose=verbose,
        error_score=error_score, progress=progress, checkpoint=checkpoint)

    rounds = None
    if not adaptive_sweep:
        outputs = _measure(setup, sparsities)
    else:
        outputs = []

        def measure(levels):
            new = _measure(setup, levels)
            outputs.extend(new)
            return _collect(new, "test_" + _SCORE, (len(levels), len(splits)))

        sparsities, rounds = adaptive.measure_adaptively(
            measure, n_levels, sparsity_range, needed, curve_params)
        order = np.argsort(sparsities, kind="stable")
        outputs = [outputs[i * len(splits) + j] for i in order for j in range(len(splits))]
        sparsities, rounds = sparsities[order], rounds[order]

    _report_failures(outputs, sparsities, len(splits))
    shape = (sparsities.size, len(splits))
    result = SparsityCurveResult(
        sparsities=sparsities,
        train_scores=_collect(outputs, "train_" + _SCORE, shape),
        test_scores=_collect(outputs, "test_" + _SCORE, shape),
        n_connections=_collect(outputs, "test_" + _N_CONNECTIONS, shape),
        measured_sparsities=_collect(outputs, "test_" + _MEASURED_SPARSITY, shape),
        fit_times=_collect(outputs, "fit_time", shape),
        score_times=_collect(outputs, "score_time", shape),
        active_fractions=_collect(outputs, "test_" + _ACTIVE_FRACTION, shape),
        n_parameters=_collect(outputs, "test_" + _N_PARAMETERS, shape),
        param_name=param_name,
        score_name=_score_name(estimator, scoring),
        rounds=rounds,
    )
    if baseline is not None:
        _measure_baseline(setup, result, baseline, outputs)
    if np.all(np.isnan(result.n_connections)) and np.any(np.isfinite(result.test_scores)):
        warnings.warn(
            f"No fitted object with n_connections_ found in {type(estimator).__name__} "
            f"(looked at the owner of {param_name!r} and at a pipeline's last step); "
            "n_connections and measured_sparsities are NaN.",
            UserWarning,
            stacklevel=2,
        )
    return result


def _collect(outputs, key, shape):
    return np.array([out[key] for out in outputs], dtype=np.float64).reshape(shape)


@dataclass(frozen=True)
class _SweepSetup:
    """What every fit of one sweep shares: the estimator, the data and its
    splits, the scorers, the swept parameter's full name and the fit
    parameters; how the fits run (``n_jobs``, ``verbose``, ``error_score``),
    whom they are reported to (``progress``) and where they are kept
    (``checkpoint``, a :class:`.Checkpoint` or None)."""

    estimator: object
    X: object
    y: object
    splits: list
    scorers: dict
    param_name: str
    params: object
    n_jobs: object
    verbose: int
    error_score: object
    progress: object
    checkpoint: object


def _measure(setup, levels):
    """Cross-validate every (level, split) pair in parallel; outputs in
    (level, split) order, reported to ``setup.progress`` (and appended to
    ``setup.checkpoint``, by the worker that ran the fit where it can) as
    they finish. Pairs the checkpoint holds are read from it, not fitted."""
    progress = setup.progress
    tasks = [(fit_key(level, fold),
              clone(setup.estimator).set_params(**{setup.param_name: float(level)}), split)
             for level in levels for fold, split in enumerate(setup.splits)]
    wants_error = progress is not None and "error" in inspect.signature(progress).parameters

    def report(key, out, n_fitted):
        if progress is not None:
            level, fold, _ = key
            error = {"error": out.get("error")} if wants_error else {}
            progress(level, fold, out["test_" + _SCORE], out["fit_time"], **error)

    return _fit_all(setup, tasks, report)


def _fit_all(setup, tasks, report):
    """Cross-validate ``tasks``, a list of ``(key, estimator, split)`` whose
    ``key`` (see :func:`.checkpoint.fit_key`) names the fit in
    ``setup.checkpoint``; return their outputs in task order.

    Fits the checkpoint holds are read from it; the others run in parallel,
    are appended to the checkpoint as they finish (by the process that ran
    them, where it can) and are passed to ``report(key, output, n_fitted)``,
    ``n_fitted`` the number of tasks fitted (not read from the checkpoint).
    """
    checkpoint, verbose = setup.checkpoint, setup.verbose
    outputs = [None if checkpoint is None else checkpoint.get(key) for key, _, _ in tasks]
    jobs = [(index, estimator, split, None if checkpoint is None else checkpoint.recorder(key))
            for index, (key, estimator, split) in enumerate(tasks) if outputs[index] is None]
    # batch_size=1: each result reaches this process (and the checkpoint) on
    # its own, under every joblib backend (dask's included), as it finishes
    parallel = Parallel(n_jobs=setup.n_jobs, verbose=verbose, batch_size=1,
                        return_as="generator_unordered")
    for index, out, written in parallel(
            delayed(_fit_one_indexed)(index, record, estimator, setup.X, setup.y, split,
                                      setup.scorers, setup.params, max(verbose - 1, 0),
                                      setup.error_score)
            for index, estimator, split, record in jobs):
        outputs[index] = out
        key = tasks[index][0]
        if checkpoint is not None:
            checkpoint.append(key, out, written=written)
        report(key, out, len(jobs))
    return outputs


def _measure_baseline(setup, result, baseline, outputs):
    """Cross-validate, on the same splits, the dense network of each level's
    size (see :mod:`.baseline`) and store its scores in ``result``. Levels
    whose dense networks coincide share their fits, which the checkpoint
    records like the others."""
    estimator, splits, progress = setup.estimator, setup.splits, setup.progress
    shape = result.test_scores.shape
    n_inputs = np.nanmax(_collect(outputs, "test_" + _N_INPUTS, shape))
    n_outputs = np.nanmax(_collect(outputs, "test_" + _N_OUTPUTS, shape))
    owner = result.param_name.rpartition("__")[0]
    network = estimator.get_params(deep=True)[owner] if owner else estimator
    prefix = owner + "__" if owner else ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a level whose every fit failed
        budgets = np.nanmean(result.n_parameters, axis=1)
    # a level without a successful sparse fit has no size: no dense network
    widths = [equal_size_widths(n_inputs, network.hidden_layer_sizes, n_outputs, budget)
              if np.isfinite(budget) else None for budget in budgets]
    distinct = sorted(set(widths) - {None})
    settings = {prefix + name: value for name, value in BASELINES[baseline].items()}
    tasks = [(fit_key(BASELINES[baseline]["sparsity"], fold, w),
              clone(estimator).set_params(**settings, **{prefix + "hidden_layer_sizes": w}),
              split) for w in distinct for fold, split in enumerate(splits)]
    accepted = inspect.signature(progress).parameters if progress is not None else {}

    def report(key, out, n_fitted):
        if "baseline" in accepted:
            _, fold, w = key
            extra = {"error": out.get("error"), "n_baseline_fits": n_fitted}
            progress(dense_parameters(n_inputs, w, n_outputs), fold, out["test_" + _SCORE],
                     out["fit_time"], baseline=w,
                     **{name: value for name, value in extra.items() if name in accepted})

    dense_outputs = _fit_all(setup, tasks, report)
    by_width = {w: [dense_outputs[i * len(splits) + j]["test_" + _SCORE]
                    for j in range(len(splits))] for i, w in enumerate(distinct)}
    result.baseline = baseline
    result.baseline_hidden_layer_sizes = widths
    result.baseline_parameters = np.array(
        [np.nan if w is None else dense_parameters(n_inputs, w, n_outputs) for w in widths])
    result.baseline_scores = np.array(
        [[np.nan] * len(splits) if w is None else by_width[w] for w in widths],
        dtype=np.float64)
