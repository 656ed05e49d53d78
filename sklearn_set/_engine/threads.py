"""How many threads the kernels run on.

Every minibatch launches about eight parallel kernels, each ending at a
barrier. When another program holds a core, the thread that shares that core
is descheduled mid-kernel and the others wait for it: on 2 cores with one
busy, 2 threads ran a SET epoch 2.5-8x slower than 1 thread and a small
network (wine, 100 hidden units) 5-40x slower, while on a quiet machine 2
threads run the SET epoch up to 1.8x faster and the small network no faster.
No libgomp wait policy gives both: ``OMP_WAIT_POLICY=passive`` or
``GOMP_SPINCOUNT=0`` (which act only if set before libgomp loads) avoid the
collapse but made the small network 4-5x slower on a quiet machine, and the
"workqueue" layer 7x slower even on one thread (``benchmarks/busy_core.py``).

So with ``n_jobs=None`` the engine measures instead: :class:`AdaptiveThreads`
times the batches and runs them on whichever of 1 or all threads was faster
lately, spending a bounded share of the time re-trying the other count. The
kernels give bit-identical results at any thread count, so switching between
batches changes nothing in the model.
"""

import contextlib
import sys
import threading
import time
from collections import deque

import numba

# Kernels run under this lock: numba's "workqueue" threading layer (the
# fallback when neither omp nor tbb is available) must not be entered by two
# Python threads at once, and the prediction workspaces are shared.
_KERNEL_LOCK = threading.RLock()

# The most threads the engine may choose batch by batch under the innermost
# kernel_threads() of this Python thread (n_jobs=None), else None. Not
# numba.get_num_threads(): the choice itself changes that.
_context = threading.local()


def kernel_n_jobs(n_jobs):
    """Threads for the kernels: ``n_jobs``, except that None inside a
    dask.distributed worker means the worker's own thread count.

    joblib's loky workers cap numba through NUMBA_NUM_THREADS; dask's workers
    do not (their nanny sets OMP/MKL/OPENBLAS_NUM_THREADS only), so numba
    would start one thread per core in every worker process.
    """
    if n_jobs is not None:
        return n_jobs
    distributed = sys.modules.get("distributed")  # a dask worker has imported it
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except (ValueError, AttributeError):  # not running inside a worker's task
        return None
    nthreads = getattr(getattr(worker, "state", worker), "nthreads", None)
    return int(nthreads) if nthreads else None


@contextlib.contextmanager
def kernel_threads(n_jobs):
    """Run numba kernels on ``n_jobs`` threads (None: up to numba's default,
    which honours NUMBA_NUM_THREADS as set by joblib workers, chosen batch by
    batch by :class:`AdaptiveThreads`; -1: all; -2: all but one, ...)."""
    available = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        n = available
    elif n_jobs < 0:
        n = max(1, available + 1 + n_jobs)
    else:
        n = min(int(n_jobs), available)
    with _KERNEL_LOCK:
        previous = numba.get_num_threads()
        outer = getattr(_context, "adaptive", None)
        numba.set_num_threads(n)
        _context.adaptive = n if n_jobs is None and n > 1 else None
        try:
            yield n
        finally:
            _context.adaptive = outer
            numba.set_num_threads(previous)


def batch_threads(workspace):
    """The :class:`AdaptiveThreads` of the minibatches that use
    ``workspace`` (a dict kept per batch shape, so the measurements carry
    over from one call to the next), or None when the thread count is fixed
    (an explicit ``n_jobs``, one thread, or no :func:`kernel_threads`)."""
    n = getattr(_context, "adaptive", None)
    if n is None:
        return None
    chooser = workspace.get("threads")
    if chooser is None or chooser.n_threads != n:
        chooser = workspace["threads"] = AdaptiveThreads(n)
    chooser._applied = numba.get_num_threads()
    return chooser


class AdaptiveThreads:
    """Choose, batch after batch, between 1 and ``n_threads`` threads from
    the measured time per sample of recent batches.

    A two-armed bandit whose arms drift as other programs come and go.
    Batches run on the count whose recent batches were faster. Now and then
    the other count is *probed* for up to ``probe_batches`` batches; a probe
    ends after one batch if that batch was ``switch_margin`` times slower,
    and switches if the probed count was faster. After a probe that lost
    ``c`` seconds (its batches' time beyond the current count's estimate),
    the next one waits until ``c / budget`` seconds of batches have run, so
    probing costs at most about ``budget`` of the time; each further probe
    in a row that loses doubles that wait, up to ``2 ** max_backoff`` times.
    Switching costs more than the probe batch (the other thread's caches
    are cold): on a quiet machine, probes every ``c / budget`` seconds made
    the SET eps=20 epoch 17% slower than a fixed 2 threads (1.22 against
    1.04 s), not 5%.

    Probes of ``n_threads`` are the risky ones: on a loaded machine one
    batch whose kernels must wait for a descheduled thread took 60-125 ms
    here, against 0.03 ms for a wine-sized batch on one thread. So it starts
    on one thread and treats the first probe as if it would lose
    ``probe_cost`` seconds: small fits, which gain nothing from threads,
    never pay for one. Leaving ``n_threads`` is cheap to try, so a probe of
    one thread also starts at once when the batches on ``n_threads`` become
    ``switch_margin`` times slower than the last estimate on one thread.

    The engine calls :meth:`begin` before a batch and :meth:`end` after it;
    :meth:`record` is the decision step alone (unit tests feed it timings).

    Parameters
    ----------
    n_threads : int
        The most threads to use (> 1).
    budget : float
        Share of the time that probes may lose.
    probe_cost : float
        Seconds the first probe of ``n_threads`` is assumed to lose.
    probe_batches : int
        Batches per probe, and the window of the running estimates.
    switch_margin : float
        How much slower a count must look to end a probe or start one early.
    max_backoff : int
        Doublings of the wait after probes that keep losing.

    Attributes
    ----------
    batches : dict
        Batches run at each thread count (for benchmarks and tests).
    """

    def __init__(self, n_threads, *, budget=0.05, probe_cost=0.05, probe_batches=3,
                 switch_margin=1.25, max_backoff=3):
        self.n_threads = int(n_threads)
        self.budget = budget
        self.max_backoff = max_backoff
        self._losing_probes = 0  # probes in a row that did not switch
        self.probe_batches = probe_batches
        self.switch_margin = switch_margin
        # seconds per sample of the latest batches at each count
        self._recent = {c: deque(maxlen=probe_batches) for c in (1, self.n_threads)}
        self._best = self._current = 1  # where probes return / the next batch
        self._probing = False
        self._lost = 0.0                # seconds lost by the running probe
        self._wait = probe_cost / budget if budget > 0 else float("inf")
        self._since = 0.0               # seconds measured since the last probe
        self._since_batches = 0
        self._warm = False
        self._applied = None  # numba's thread count, as last set or seen
        self.batches = {1: 0, self.n_threads: 0}

    @property
    def threads(self):
        """Threads for the next batch."""
        return self._current

    def estimate(self, count):
        """Recent seconds per sample at ``count`` threads (None: unmeasured)."""
        recent = sorted(self._recent[count])
        n = len(recent)
        if n == 0:
            return None
        return recent[n // 2] if n % 2 else 0.5 * (recent[n // 2 - 1] + recent[n // 2])

    def begin(self):
        """Set numba's thread count for the next batch; return a start time."""
        # (numba.get_num_threads costs microseconds: batches of small
        # networks take about 30)
        if self._applied != self._current:
            numba.set_num_threads(self._current)
            self._applied = self._current
        return time.perf_counter()

    def end(self, started, n_samples):
        """Record the batch of ``n_samples`` begun at ``started``."""
        self.record(time.perf_counter() - started, n_samples)

    def record(self, seconds, n_samples):
        """Take the time of a batch run at :attr:`threads`; choose the next."""
        self.batches[self._current] += 1
        if not self._warm:
            # the first batch fills caches and touches fresh workspaces
            self._warm = True
            return
        per_sample = seconds / max(n_samples, 1)
        self._recent[self._current].append(per_sample)
        if self._probing:
            self._probe_step(per_sample, n_samples)
            return
        self._since += seconds
        self._since_batches += 1
        if self._since_batches < self.probe_batches:
            return
        if self._since >= self._wait or (
                self._best > 1 and self._recent[1]
                and self.estimate(self._best) > self.switch_margin * self.estimate(1)):
            self._probing = True
            self._current = 1 if self._best > 1 else self.n_threads
            self._recent[self._current].clear()

    def _probe_step(self, per_sample, n_samples):
        best = self.estimate(self._best)
        self._lost += max(0.0, per_sample - best) * n_samples
        lost_at_once = per_sample > self.switch_margin * best
        if not lost_at_once and len(self._recent[self._current]) < self.probe_batches:
            return
        self._probing = False
        if not lost_at_once and self.estimate(self._current) < best:
            self._best = self._current
            self._losing_probes = 0
        else:
            self._losing_probes = min(self._losing_probes + 1, self.max_backoff)
        backoff = 2 ** max(self._losing_probes - 1, 0)
        self._wait = (backoff * self._lost / self.budget if self.budget > 0
                      else float("inf"))
        self._lost = self._since = 0.0
        self._since_batches = 0
        self._current = self._best
