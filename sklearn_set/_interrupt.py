"""Ctrl-C during fit: the estimator returns the model of its last finished
epoch (see :class:`InterruptGuard`), unless the fit runs in a sweep, which
stops instead (see :func:`interrupt_abandons_fit`)."""

import contextlib
import contextvars
import warnings

# True while a KeyboardInterrupt must stop the fit instead of being caught.
# Networks whose arrays take more bytes than this keep their Ctrl-C copy in a
# temporary file (see SparseMLP.snapshot_to_file): at a million units the
# copy in memory was 12 of the 45 bytes per connection of a fit.
IN_MEMORY_COPY_MAX_BYTES = 256 * 2**20

_ABANDONS_FIT = contextvars.ContextVar("sklearn_set_interrupt_abandons_fit", default=False)


@contextlib.contextmanager
def interrupt_abandons_fit():
    """Context in which a KeyboardInterrupt (Ctrl-C) stops ``fit``.

    :class:`InterruptGuard` then lets the interrupt propagate instead of
    returning the model of the last finished epoch. For fits whose model is
    discarded and whose scores are recorded, as in a sparsity sweep: a model
    truncated by Ctrl-C must not be recorded as a finished fit. Enter it in
    the process (and thread) that runs the fit: a context variable does not
    travel to worker processes.
    """
    token = _ABANDONS_FIT.set(True)
    try:
        yield
    finally:
        _ABANDONS_FIT.reset(token)


class InterruptGuard:
    """Context of the epoch loop that makes Ctrl-C return a usable model.

    :meth:`commit` records the end of each finished epoch: a snapshot of the
    network (the engine updates weights in place during an epoch, so that
    state cannot be rebuilt afterwards), the bookkeeping attributes and the
    random generator's state. A KeyboardInterrupt raised in the loop rolls
    the estimator back to the last commit, warns and is swallowed, so ``fit``
    returns as if it had stopped after that epoch. Without a commit (a new
    model interrupted in its first epoch) the half-built network is discarded
    and the interrupt propagates. Within :func:`interrupt_abandons_fit` (a
    sweep's fits) the interrupt always propagates, without a rollback: the
    model is discarded.

    The previous snapshot is released before the next is copied, so the
    guard holds one copy of the network's arrays (12 bytes per connection
    with SGD and float32): in memory for networks of up to
    ``IN_MEMORY_COPY_MAX_BYTES``, in an anonymous temporary file for larger
    ones, which then hold no memory for it. A snapshot copies O(connections)
    bytes per epoch against the epoch's O(connections x samples) work:
    measured at 0.02-0.3% of the epoch time for networks of 8k-126k
    connections on 1.3k-60k samples, 3-4% only for toy networks whose epochs
    take under a millisecond.
    """

    _ATTRIBUTES = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_",
                   "_no_improvement_count", "_learning_rate", "_n_updates")

    def __init__(self, estimator):
        self.estimator = estimator
        self.interrupted = False
        self.best_state = None
        self._last = None
        if estimator.loss_curve_:  # warm start or partial_fit: the state fit starts from
            self.commit(None)

    def commit(self, best_state, *, shared=False):
        """Record the end of a finished epoch; ``shared``: ``best_state`` is a
        snapshot of this very epoch and is reused instead of copying again."""
        est = self.estimator
        scores = est.validation_scores_
        # Until the next epoch starts, the network itself is this epoch's
        # state (None below: nothing to roll back), so the previous snapshot
        # can go before the new one is copied: one snapshot in memory, not two.
        self._last = (
            None,
            best_state,
            {name: getattr(est, name) for name in self._ATTRIBUTES if hasattr(est, name)},
            len(est.loss_curve_),
            None if scores is None else len(scores),
            len(est.topology_history_),
            est._rng.bit_generator.state,
            est._policy.state(),
        )
        self._last = (self._copy(est._network) if not shared else best_state,) + self._last[1:]

    @staticmethod
    def _copy(network):
        """The network's copy: in memory when small, else in a temporary
        file (in memory after all, with a warning, if the file cannot be
        written)."""
        if network.state_nbytes <= IN_MEMORY_COPY_MAX_BYTES:
            return network.snapshot()
        try:
            return network.snapshot_to_file()
        except OSError as exc:
            warnings.warn(
                f"the copy of the network that Ctrl-C returns to could not be written to a "
                f"temporary file ({exc}); it is kept in memory instead.", UserWarning,
                stacklevel=5)
            return network.snapshot()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # the copy is released when the fit leaves the loop (a file at once)
        last, self._last = self._last, None
        if (exc_type is None or not issubclass(exc_type, KeyboardInterrupt)
                or _ABANDONS_FIT.get()):
            return False
        est = self.estimator
        if last is None:
            del est._network
            return False
        (network_state, self.best_state, attributes, n_losses, n_scores, n_records,
         rng_state, policy_state) = last
        if network_state is not None:
            est._network.restore(network_state)
        est._policy.restore(policy_state)
        for name, value in attributes.items():
            setattr(est, name, value)
        del est.loss_curve_[n_losses:]
        est.topology_history_ = est.topology_history_[:n_records]
        if n_scores is not None:
            del est.validation_scores_[n_scores:]
        est._rng.bit_generator.state = rng_state
        self.interrupted = True
        warnings.warn(
            f"{type(est).__name__}.fit was interrupted by KeyboardInterrupt during "
            f"epoch {est.n_iter_ + 1}; it returns as if training had stopped after "
            f"epoch {est.n_iter_}, the last one that finished (n_iter_={est.n_iter_}).",
            UserWarning, stacklevel=3)
        return True
