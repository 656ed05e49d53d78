"""The progress lines of the commands: :class:`FitCounter` numbers the
fits of a sweep and estimates the time left, :class:`EpochLines` (a
callback of scikit-learn's callback API, which the estimators support from
scikit-learn 1.9) reports the epochs of ``train``'s fit."""

import math
import time


class FitCounter:
    """The ``[n/N]`` counter of finished fits of one kind (the swept
    networks, or the dense baseline's) and the time left for the others,
    estimated from the fits after the first (whose time includes loading the
    kernels in each worker process).

    The estimate starts once more fits than ``workers`` are done: the first
    fits of parallel workers end together and would make it far too short.
    ``kept`` fits (read back by a resumed sweep) count as done but took no
    time here.
    """

    def __init__(self, total, workers, kept=0):
        self.total = total
        self.workers = workers
        self.kept = kept
        self.done = kept
        self.first_done_at = None

    def count(self):
        """Count a finished fit; return its ``[n/N]`` tag and the time left
        (an empty string until it can be estimated)."""
        now = time.perf_counter()
        self.done += 1
        if self.first_done_at is None:
            self.first_done_at = now
        tag = f"[{self.done:>{len(str(self.total))}}/{self.total}]"
        if self.done - self.kept <= self.workers:
            return tag, ""
        per_fit = (now - self.first_done_at) / (self.done - self.kept - 1)
        return tag, f", about {duration(per_fit * (self.total - self.done))} left"


# At most one progress line in this many seconds; the first and the last
# epoch's lines are always shown.
LINE_INTERVAL = 1.0


class EpochLines:
    """A callback (the ``FitCallback`` protocol of ``sklearn.callback``)
    that prints the progress of a fit, flushed: the first epoch's line, then
    at most one every ``interval`` seconds, and the last epoch's.

    Parameters
    ----------
    held_out_score : callable
        Scores the model of an epoch (a fitted copy of the estimator) on data
        it is not trained on, for an estimator that measures no validation
        score of its own.

    interval : float, default=LINE_INTERVAL
        Seconds between two lines, at least.
    """

    def __init__(self, held_out_score, *, interval=LINE_INTERVAL):
        self.held_out_score = held_out_score
        self.interval = interval

    def setup(self, estimator, context):
        self._started = None  # when the first epoch began
        self._shown_at = -math.inf
        self._pending = None  # the line of the last epoch, not shown yet

    def teardown(self, estimator, context):
        self._pending = None  # with it, its copy of the network

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == "epoch" and self._started is None:
            self._started = time.perf_counter()

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch":  # the fit ended (early, or by Ctrl-C): its last line
            if self._pending is not None:
                self._show(*self._pending, last=True)
            return False
        now = time.perf_counter()
        scores = estimator.validation_scores_
        epoch, max_iter = estimator.n_iter_, estimator.max_iter
        self._pending = (epoch, max_iter, estimator.loss_curve_[-1],
                         scores[-1] if scores else None, fitted_estimator, now - self._started)
        if epoch in (1, max_iter) or now - self._shown_at >= self.interval:
            self._show(*self._pending, last=epoch == max_iter)
            self._shown_at = time.perf_counter()  # after the line's own scoring
        return False

    def _show(self, epoch, max_iter, loss, validation, model, seconds, *, last):
        if validation is None:
            label, score = "held-out accuracy", self.held_out_score(model)
        else:
            label, score = "validation accuracy", validation
        line = (f"  epoch {epoch:>{len(str(max_iter))}}/{max_iter}: loss {loss:.4f}, "
                f"{label} {score:.4f}")
        if not last:
            per_epoch = seconds / epoch
            # early stopping may end sooner
            line += (f", at most {duration(per_epoch * (max_iter - epoch))} left "
                     f"({per_epoch:.2f} s an epoch)")
        print(line, flush=True)
        self._pending = None


def duration(seconds):
    """A time span in words: seconds, minutes or hours."""
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
