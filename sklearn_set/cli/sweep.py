"""``sklearn-set sweep``: a cross-validated sweep over sparsity, its fitted
curve, a table and a summary on screen and files in the output folder.

The steps: :func:`plan` (every check that can be made before a fit),
:func:`announce`, the kernels compiled once, :func:`fit_levels` (the sweep
itself, each finished fit reported), :func:`summarize` (the curve, fitted
by :meth:`~sklearn_set.SparsityCurveResult.fit_curve`, its
leave-one-level-out check and the table's rows), :func:`write` and
:func:`print_report`.
"""

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field

from .._names import CURVE_FAMILIES
from . import _options
from .progress import FitCounter

DEFAULT_SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998,
                      0.999, 0.9995)

# what a sweep writes into its output folder
OUTPUT_FILES = ("fits.csv", "results.csv", "curve.json", "sparsity_curve.png")
# the folder inside --out where an --overwrite sweep writes until it is done
STAGING = ".overwrite"


@dataclass
class Plan:
    """What the arguments and the data decide before any fit."""

    args: object
    X: object
    y: object
    description: str
    levels: list
    n_classes: int
    chance: float  # majority-class share: what a collapsed network scores
    adaptive: dict
    estimator: object
    n_levels: int
    n_jobs: int
    model_name: str = field(init=False)

    def __post_init__(self):
        self.model_name = type(self.estimator[-1]).__name__

    @property
    def n_fits(self):
        return self.n_levels * self.args.cv

    @property
    def folder(self):
        """Where the sweep writes: ``--out``, or with ``--overwrite`` its
        staging folder, whose files replace those of ``--out`` once all are
        written."""
        return (os.path.join(self.args.out, STAGING) if self.args.overwrite
                else self.args.out)

    @property
    def fits_csv(self):
        return os.path.join(self.folder, "fits.csv")

    def resume_command(self):
        """The command line that goes on with this sweep: ``--resume``, or
        the same ``--overwrite`` (which goes on with the fits it kept)."""
        import shlex

        if self.args.overwrite:
            return "sklearn-set " + shlex.join(self.args.argv)
        argv = [arg for arg in self.args.argv if arg != "--resume"]
        return "sklearn-set " + shlex.join(argv + ["--resume"])

    def settings(self):
        """The settings that decide the fits, as ``curve.json`` records them."""
        args = self.args
        return {"dataset": self.description, "model": self.model_name,
                "hidden_layer_sizes": list(args.hidden), "epochs": args.epochs,
                "regrowth": args.regrowth, "activation": args.activation, "cv": args.cv,
                "seed": args.seed}


@dataclass
class Curve:
    """What the sweep's fits make: the table's rows, the curve, its summary
    and the notes for the user."""

    rows: list
    curve: object
    summary: dict
    notes: list
    achieved: object  # final sparsities of AccSET fits, else None


def add_arguments(parser):
    """The options of ``sklearn-set sweep``."""
    _options.model_options(parser, hidden=(256, 256), epochs=100, why=(
        ", the sweep's own: a network wide enough to show the collapse, within "
        "minutes on digits"))
    # default None, so that --adaptive can tell an explicit list from the default
    parser.add_argument("--sparsities", type=_options.sparsity_list, default=None,
                        metavar="LEVELS", help=(
                            "comma-separated sparsity levels in [0, 1) (default: "
                            # ", ": the help wraps between levels, not inside one
                            + ", ".join(str(s) for s in DEFAULT_SPARSITIES) + ")"))
    parser.add_argument("--adaptive", type=_options.positive_int, default=None,
                        metavar="N", help=(
                            "measure N levels chosen adaptively between the default "
                            "levels' ends: a coarse grid, then levels where the curve is "
                            "least certain (instead of --sparsities)"))
    parser.add_argument("--cv", type=_options.folds, default=5, metavar="K",
                        help="cross-validation folds, at least 2 (default: 5)")
    parser.add_argument("--n-jobs", type=_options.n_jobs, default=None, metavar="J",
                        help=_options.N_JOBS_MEANING["sweep"] + ", -1 for all cores "
                             "(default: all cores)")
    parser.add_argument("--family", choices=("auto", *CURVE_FAMILIES), default="auto",
                        metavar="FAMILY", help=(
                            "curve family, one of %(choices)s (default: auto, the best "
                            "by AICc)"))
    parser.add_argument("--no-baseline", action="store_true", help=(
        "skip the dense networks of the same sizes (by default each level is also "
        "compared with a dense network of as many parameters, on the same folds)"))
    parser.add_argument("--no-loo", action="store_true", help=(
        "skip the leave-one-level-out refits of the curve (the table's last column "
        "and the summary's last line)"))
    parser.add_argument("--out", default="sklearn-set-results", metavar="DIR",
                        help="output folder (default: ./sklearn-set-results)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help=(
        "go on with the sweep in --out: fit only the (level, fold) pairs missing from "
        "its fits.csv; the settings must be the same"))
    again.add_argument("--overwrite", action="store_true",
                       help="replace what --out holds (without it a non-empty --out is "
                            "refused)")


def run(args):
    plan_ = plan(args)
    announce(plan_)
    from .pipeline import compile_kernels

    compile_kernels(plan_.estimator, plan_.X, plan_.y)
    fitted = fit_levels(plan_)
    if fitted is None:  # interrupted: said so
        return 130
    result, progress, seconds = fitted
    curve = summarize(plan_, result, progress)
    written = write(plan_, result, curve)
    print_report(plan_, curve, written, seconds, progress.kept, progress.dense_done)
    return 1 if any(row["failed_fits"] for row in curve.rows) else 0


# -- before any fit --------------------------------------------------------------

def plan(args):
    """Check everything that can be checked before a fit; a mistake raises
    :class:`~.io.UsageError`."""
    from joblib import effective_n_jobs

    from .io import UsageError, load_dataset
    from .pipeline import check_classification_data, check_network_sizes, scaled_set_pipeline

    if args.adaptive is not None and args.sparsities is not None:
        raise UsageError("--adaptive chooses its own levels: drop --sparsities")
    check_output_folder(args.out, resume=args.resume, overwrite=args.overwrite)
    X, y, _, description = load_dataset(args.dataset, args.target)
    classes, counts = check_classification_data(y, description)
    if counts.min() < args.cv:
        raise UsageError(f"--cv {args.cv}: the smallest class of {description} has only "
                         f"{counts.min()} samples")
    levels = sorted(set(args.sparsities if args.sparsities is not None
                        else DEFAULT_SPARSITIES))
    chance = float(counts.max() / counts.sum())
    adaptive = _adaptive_options(args, levels, chance)
    if len(levels) < 5:
        raise UsageError("--sparsities needs at least 5 distinct levels to fit a curve")
    estimator = scaled_set_pipeline(args, levels[0])
    n_levels = args.adaptive or len(levels)
    n_jobs = args.n_jobs if args.n_jobs is not None else -1
    # the fits that run at once must fit in memory together
    at_once = min(n_levels * args.cv, effective_n_jobs(n_jobs))
    check_network_sizes(estimator, levels, X, classes.size, args, n_fits=at_once)
    plan_ = Plan(args, X, y, description, levels, classes.size, chance, adaptive, estimator,
                 n_levels, n_jobs)
    if args.overwrite:  # the earlier files stay until the new ones are all written
        from .io import prepare_output_folder

        prepare_output_folder(plan_.folder)
        if _kept(plan_) is None:  # a damaged checkpoint of an earlier --overwrite: anew
            os.remove(plan_.fits_csv)
    elif args.resume and _kept(plan_) is None:
        raise UsageError(f"--resume: {_checkpoint_problem(plan_)}; repair or remove it, or "
                         "pass --overwrite (or another --out) to start anew")
    return plan_


def check_output_folder(folder, *, resume, overwrite):
    """Create ``folder`` if needed; refuse one that holds files unless the
    user said what to do with them (``--resume`` or ``--overwrite``)."""
    from .io import UsageError, prepare_output_folder

    prepare_output_folder(folder)
    held = sorted(os.listdir(folder))
    if held and not (resume or overwrite):
        shown = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
        raise UsageError(f"output folder {folder!r} is not empty ({shown}): pass --resume "
                         "to go on with its sweep, --overwrite to replace it, or another "
                         "--out")
    if resume and "fits.csv" not in held:
        raise UsageError(f"--resume: output folder {folder!r} holds no fits.csv, so there "
                         "is no sweep to go on with")


def _adaptive_options(args, levels, chance):
    """The options of an adaptive sweep (empty for a grid)."""
    if args.adaptive is None:
        return {}
    from .._sweep.adaptive import check_adaptive
    from .io import UsageError

    adaptive = {"n_levels": args.adaptive, "sparsity_range": (levels[0], levels[-1]),
                "curve_params": {"collapse_accuracy": chance}}
    try:
        check_adaptive(**adaptive)
    except ValueError as exc:
        raise UsageError(f"--adaptive {args.adaptive}: {exc}") from None
    return adaptive


def announce(plan):
    args = plan.args
    print(f"Sweep of {plan.model_name} on {plan.description}: {plan.X.shape[0]} samples, "
          f"{plan.X.shape[1]} features, hidden layers {','.join(map(str, args.hidden))}, "
          f"regrowth {args.regrowth}, {plan.n_levels} sparsity levels"
          + (" (chosen adaptively)" if plan.adaptive else "")
          + f" x {args.cv} folds = {plan.n_fits} fits", flush=True)
    kept = _kept(plan)
    # --resume's line waits for the sweep to accept fits.csv's settings
    # (Progress.confirm_resumed)
    if args.overwrite and kept:
        print(f"Going on with an interrupted --overwrite sweep: {_kept_fits(plan)} are kept "
              f"in {plan.fits_csv} (if it had these settings; else it starts anew)",
              flush=True)


def _kept(plan):
    """The fits that fits.csv holds, or None if it is not a checkpoint
    (:func:`_checkpoint_problem` says why)."""
    from .._sweep.checkpoint import CheckpointError, count_fits

    try:
        return count_fits(plan.fits_csv)
    except (CheckpointError, OSError):
        return None


def _kept_fits(plan):
    """What fits.csv holds, in words: "40 of the 65 fits", and "and 12 of
    dense networks of the same sizes" once the dense baseline has begun (a
    sweep interrupted there kept every sparse fit, yet is not finished)."""
    kept = _kept(plan)
    if kept is None:
        return "the fits that finished"
    dense = _kept_dense(plan)
    return f"{kept} of the {plan.n_fits} fits" + (
        f" and {dense} of dense networks of the same sizes" if dense else "")


def _kept_dense(plan):
    """The dense baseline's fits that fits.csv holds (0 if unreadable)."""
    from .._sweep.checkpoint import CheckpointError, count_fits

    try:
        return count_fits(plan.fits_csv, baseline=True)
    except (CheckpointError, OSError):
        return 0


def _checkpoint_problem(plan):
    """Why fits.csv is not a checkpoint, in one line."""
    from .._sweep.checkpoint import count_fits

    try:
        count_fits(plan.fits_csv)
    except OSError as exc:
        return f"cannot read {plan.fits_csv}: {exc.strerror or exc}"
    except ValueError as exc:
        return str(exc).split("; give another checkpoint path")[0]
    return "it is a checkpoint"


# -- the fits --------------------------------------------------------------------

class Progress:
    """The progress line of each finished fit, counted (see
    :class:`~.progress.FitCounter`), and the reasons of failed fits."""

    def __init__(self, n_fits, workers, kept=0, dense_kept=0, resumed_line=None):
        self.workers = workers
        self.sparse = FitCounter(n_fits, workers, kept)
        self.dense = None  # the baseline's counter, from its first fit
        self.dense_kept = dense_kept
        self.failures = []
        self.resumed_line = resumed_line

    def confirm_resumed(self):
        """Say what a resumed sweep kept, once the sweep has accepted the
        checkpoint (before its first fit, or when none was left to run): a
        checkpoint of other settings is refused without it."""
        if self.resumed_line is not None:
            print(self.resumed_line, flush=True)
            self.resumed_line = None

    @property
    def kept(self):
        """Fits a resumed sweep read back, not reported here."""
        return self.sparse.kept

    @property
    def done(self):
        return self.sparse.done

    @property
    def dense_done(self):
        """Fits of the dense baseline run here."""
        return 0 if self.dense is None else self.dense.done - self.dense.kept

    def restart(self):
        """Forget the kept fits: the sweep starts anew."""
        self.sparse = FitCounter(self.sparse.total, self.workers)
        self.dense_kept = 0

    def __call__(self, level, fold, score, seconds, error=None, baseline=None,
                 n_baseline_fits=None):
        from .io import last_line

        self.confirm_resumed()
        failed = error is not None or not math.isfinite(seconds)
        if baseline is not None:  # a dense network of a level's size
            if self.dense is None:  # counted on from the dense fits a resumed sweep kept
                self.dense = FitCounter(n_baseline_fits + self.dense_kept, self.workers,
                                        self.dense_kept)
            tag, left = self.dense.count()
            sizes = "-".join(map(str, baseline))
            line = f"  {tag} dense {sizes} ({level:,.0f} parameters) fold {fold + 1}:"
            reason = last_line(error) if error else "no error text"
        else:
            tag, left = self.sparse.count()
            line = f"  {tag} sparsity {level:<7g} fold {fold + 1}:"
            reason = last_line(error) if error is not None else "see the note at the end"
            if failed:
                self.failures.append((level, reason))
        line += f" failed: {reason}" if failed else f" accuracy {score:.4f} in {seconds:.1f} s"
        print(line + left, flush=True)


def fit_levels(plan):
    """Run the sweep, each finished fit appended to fits.csv; return its
    result, the progress record and the seconds it took, or None if it was
    interrupted (having said how many fits were kept and how to go on)."""
    import warnings

    from joblib import effective_n_jobs
    from joblib.externals.loky.process_executor import TerminatedWorkerError
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning

    from .._sweep.checkpoint import CheckpointError
    from .._warnings import DisconnectedNetworkWarning
    from .io import RunFailed, UsageError, last_line
    from .pipeline import in_option_terms

    args, n_fits = plan.args, plan.n_fits
    resumed_line = (f"Resuming: {_kept_fits(plan)} are kept in {plan.fits_csv}; the others "
                    "are fitted now") if args.resume else None
    progress = Progress(n_fits, min(n_fits, effective_n_jobs(plan.n_jobs)),
                        kept=_kept(plan) or 0, dense_kept=_kept_dense(plan),
                        resumed_line=resumed_line)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # each fit stops at --epochs by design; each failure has its line; a
        # collapsed network is what the sweep measures (the "active" column)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.simplefilter("ignore", DisconnectedNetworkWarning)
        # Ctrl-C and SIGTERM (a KeyboardInterrupt, see main) stop the sweep and
        # the fits that run, which are not recorded (sparsity_curve does not
        # let a fit return its last finished epoch instead)
        try:
            try:
                result = _sparsity_curve(plan, progress)
            except CheckpointError as exc:
                if not (args.overwrite and exc.settings_differ):
                    raise
                # fits an earlier --overwrite kept, of other settings: start anew
                os.remove(plan.fits_csv)
                progress.restart()
                result = _sparsity_curve(plan, progress)
            progress.confirm_resumed()  # every fit was kept
        except KeyboardInterrupt:
            print(f"sklearn-set sweep: interrupted; {_kept_line(plan)}", file=sys.stderr,
                  flush=True)
            return None
        except CheckpointError as exc:  # fits.csv changed since plan() read it
            reason = in_option_terms(str(exc).split("; give another checkpoint path")[0],
                                     args)
            hint = ("run with that sweep's settings" if exc.settings_differ
                    else "repair or remove it")
            raise UsageError(f"--resume: {reason}; {hint}, or pass --overwrite (or another "
                             "--out) to start anew") from None
        except OSError as exc:  # a full disk, a folder made read-only
            raise RunFailed(f"cannot write {exc.filename or plan.fits_csv}: "
                            f"{exc.strerror or exc}; {_kept_line(plan)}") from None
        except ValueError as exc:
            if len(progress.failures) < n_fits - progress.kept:
                raise
            raise RunFailed(f"all {n_fits} fits failed, so no results were written (fits.csv "
                            f"records each failure); the first error: "
                            f"{progress.failures[0][1]}") from exc
        except TerminatedWorkerError as exc:  # killed by the system: out of memory?
            raise RunFailed(
                f"a worker process died after {progress.done} of {n_fits} fits, so the "
                f"sweep stopped ({last_line(exc)}); if it ran out of memory, run fewer fits "
                f"at once (--n-jobs) or raise the sparsity; {_kept_line(plan)}") from None
    return result, progress, time.perf_counter() - started


def _sparsity_curve(plan, progress):
    from sklearn.model_selection import StratifiedKFold

    from .._sweep import sweep as sweeps

    args = plan.args
    return sweeps.sparsity_curve(
        plan.estimator, plan.X, plan.y,
        sparsities="adaptive" if plan.adaptive else plan.levels, **plan.adaptive,
        param_name=f"{plan.estimator.steps[-1][0]}__sparsity",
        cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.seed),
        n_jobs=plan.n_jobs, progress=progress, checkpoint=plan.fits_csv,
        baseline=None if args.no_baseline else "dense")


def _kept_line(plan):
    earlier = (f" (the earlier results in {plan.args.out} are untouched)"
               if plan.args.overwrite else "")
    return (f"{_kept_fits(plan)} are kept in {plan.fits_csv}{earlier}; go on with: "
            f"{plan.resume_command()}")


# -- after the fits ----------------------------------------------------------------

def summarize(plan, result, progress):
    """The curve on every fold's score, the table's rows and, unless
    ``--no-loo``, the curve refitted without each level."""
    from . import report

    achieved = result.measured_sparsities if plan.args.accset else None
    # AccSET moves the sparsity in training: its scores lie where it ended
    sparsity = "requested" if achieved is None else "measured"
    x = result.curve_data(sparsity=sparsity)[0].reshape(result.test_scores.shape)
    loo = not plan.args.no_loo
    print("Fitting the sparsity curve"
          + (f", and refitting it without each of the {result.n_levels} levels" if loo else "")
          + " ...", end=" ", flush=True)
    started = time.perf_counter()
    curve_params = {"family": plan.args.family}
    if plan.args.family != "auto":  # a family that models the architecture needs it
        curve_params["layer_sizes"] = (plan.X.shape[1], *plan.args.hidden, plan.n_classes)
    # A collapsed network predicts one class: its accuracy is the majority
    # class's share, so the curve's low plateau is fixed there.
    curve, notes = _fit_curve(result, sparsity, plan.chance, curve_params)
    rows = report.result_rows(result, achieved)
    failed = [row for row in rows if row["failed_fits"]]
    if failed:
        why = (progress.failures[0][1] if progress.failures
               else f"see the error column of {plan.fits_csv}")
        levels = ", ".join(f"{row['sparsity']:g}" for row in failed)
        notes.insert(0, f"{sum(row['failed_fits'] for row in failed)} of the {plan.n_fits} "
                        f"fits failed (at sparsity {levels}): {why}; the table and the curve "
                        "use the fits that succeeded")
    if loo and curve is not None:
        refits = report.leave_one_level_out(curve, x, result.test_scores)
        for row, (predicted, error) in zip(rows, refits):
            row["curve_without_this_level"] = predicted
            row["leave_one_out_error"] = error
    print(f"done in {time.perf_counter() - started:.0f} s", flush=True)
    summary = report.curve_summary(curve, rows) if curve is not None else None
    if result.baseline_scores is not None:
        if summary is not None:
            summary["sparse_vs_dense"] = report.baseline_verdict(result)
        else:
            notes.insert(0, report.baseline_verdict(result))
    return Curve(rows, curve, summary, notes, achieved)


def _fit_curve(result, sparsity, chance, curve_params):
    """The curve fitted by the library on the scores that are not NaN, or
    None, and the warnings it gave (or why it could not be fitted)."""
    import warnings

    from .._curve import SparsityCurveWarning
    from .io import last_line

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # the failed fits have a note of their own (see summarize)
        warnings.filterwarnings("ignore", message=r"Dropping \d+ .*\(failed fits\)",
                                category=SparsityCurveWarning)
        try:
            curve = result.fit_curve(sparsity=sparsity, collapse_accuracy=chance,
                                     **curve_params)
        except ValueError as exc:
            return None, [f"no curve: {last_line(exc)}"]
    return curve, sorted({last_line(w.message) for w in caught})


def write(plan, result, curve):
    """Write results.csv, curve.json and the plot, each whole or not at all
    (with ``--overwrite``, then replace the earlier files with them); return
    the paths."""
    from . import report
    from .io import RunFailed

    try:
        names = ["fits.csv"] + report.write_sweep(plan.folder, curve.rows, plan.settings(),
                                                  curve.summary, curve.notes)
        if curve.curve is not None:
            title = f"{plan.model_name} on {plan.args.dataset}"
            if report.plot_sweep(result, curve.curve,
                                 os.path.join(plan.folder, "sparsity_curve.png"), title=title):
                names.append("sparsity_curve.png")
            else:
                curve.notes.append("no plot: matplotlib is not installed; get it with pip "
                                   "install 'sklearn-set[plot]' (or pip install matplotlib)")
        if plan.args.overwrite:
            _replace_earlier_files(plan, names)
    except OSError as exc:  # a full disk, a folder made read-only
        raise RunFailed(f"cannot write the results into {plan.folder}: {exc.strerror or exc}"
                        f"; {_kept_line(plan)}") from None
    return [os.path.join(plan.args.out, name) for name in names]


def _replace_earlier_files(plan, names):
    """Move the new files of an --overwrite sweep from its staging folder to
    --out, and remove the earlier sweep's files that have no new one."""
    for name in OUTPUT_FILES:
        target = os.path.join(plan.args.out, name)
        if name in names:
            os.replace(os.path.join(plan.folder, name), target)
        elif os.path.isfile(target):
            os.remove(target)
    with contextlib.suppress(OSError):  # a stray file in it: the results are in place
        os.rmdir(plan.folder)


def print_report(plan, curve, written, seconds, kept=0, dense=0):
    from . import report

    print()
    report.print_table(curve.rows, curve.achieved is not None)
    print()
    if curve.summary is not None:
        print(report.format_summary(curve.summary))
    for note in curve.notes:
        print(f"note: {note}")
    print()
    fitted = f"{plan.n_fits - kept} fits ({kept} kept from fits.csv)" if kept else (
        f"{plan.n_fits} fits")
    if dense:
        fitted += f" and {dense} of dense networks of the same sizes"
    print(f"{fitted} in {seconds:.0f} s. Wrote {', '.join(written[:-1])} and {written[-1]}",
          flush=True)
