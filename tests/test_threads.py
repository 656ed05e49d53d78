"""The kernels' thread count: the adaptive choice behind n_jobs=None, fed
simulated batch timings (no clock), and its wiring into the engine."""

import numba
import numpy as np
import pytest
from sklearn.base import clone

from sklearn_set import SETClassifier
from sklearn_set._engine import threads as _threads
from sklearn_set._engine.network import SparseMLP
from sklearn_set._engine.threads import AdaptiveThreads, batch_threads, kernel_threads

N = 2
BATCH = 128


def simulate(cost, n_batches, chooser=None):
    """Drive a chooser with ``cost(batch_index, threads)`` seconds per batch;
    return the chooser, the total time and the thread count of each batch."""
    chooser = chooser or AdaptiveThreads(N)
    total, counts = 0.0, []
    for b in range(n_batches):
        threads = chooser.threads
        seconds = cost(b, threads)
        chooser.record(seconds, BATCH)
        total += seconds
        counts.append(threads)
    return chooser, total, np.array(counts)


class Alternate(AdaptiveThreads):
    """1, N, 1, N, ... threads, batch after batch."""

    def record(self, seconds, n_samples):
        self.batches[self.threads] += 1
        self._current = N + 1 - self._current


def machine(one, many):
    """Seconds per batch at 1 and at N threads, whatever the batch."""
    return lambda b, threads: one if threads == 1 else many


def test_quiet_machine_runs_on_all_threads():
    # 2 threads 1.6x faster (measured quiet SET epoch): the default must not
    # be slower than one thread, and close to two
    chooser, total, counts = simulate(machine(1.6e-3, 1.0e-3), 2000,
                                      AdaptiveThreads(N, probe_cost=0.0))
    assert (counts == N).mean() > 0.9
    assert total < 1.06 * 2000 * 1.0e-3
    assert chooser.batches[N] + chooser.batches[1] == 2000


def test_first_probe_of_all_threads_waits_for_its_assumed_cost():
    # default: assume 0.05 s lost, so wait 0.05 / 0.05 = 1 s of batches
    _, _, counts = simulate(machine(1.6e-3, 1.0e-3), 2000)
    first = np.flatnonzero(counts == N)[0]
    assert 1.0 <= first * 1.6e-3 < 1.1
    assert (counts[-1000:] == N).mean() > 0.9
    # a small fit (wine: 0.03 ms a batch, 80 ms for a batch on 2 threads
    # under load) never pays for a probe; with probe_cost=0 it runs 3x slower
    _, total, counts = simulate(machine(3e-5, 80e-3), 1200)
    assert (counts == 1).all() and total == pytest.approx(1200 * 3e-5)


def test_busy_core_runs_on_one_thread_and_probing_stays_in_budget():
    # another process on one core: 2 threads 36x slower (the wine user's case)
    chooser, total, counts = simulate(machine(1.0e-3, 36e-3), 3000)
    assert (counts == 1).mean() > 0.98
    # budget 5%: 1.04x the best (1.96x with budget=1)
    assert total < 1.08 * 3000 * 1.0e-3


def test_a_collapsing_probe_lasts_one_batch():
    chooser, _, counts = simulate(machine(1.0e-3, 10e-3), 400,
                                  AdaptiveThreads(N, probe_cost=0.0))
    runs_at_n = np.diff(np.flatnonzero(np.diff(np.r_[0, counts == N, 0])))[::2]
    assert runs_at_n.size > 1 and (runs_at_n == 1).all()


def test_load_arriving_moves_to_one_thread_within_a_few_batches():
    # 3x faster on N threads until load makes them 1.5x slower than one: the
    # next scheduled probe would come ~10 batches later, the early one after 4
    def cost(b, threads):
        if threads == 1:
            return 3e-3
        return 1e-3 if b < 500 else 4.5e-3
    _, _, counts = simulate(cost, 1000, AdaptiveThreads(N, probe_cost=0.0))
    assert (counts[400:500] == N).mean() > 0.8
    assert (counts[506:] == 1).mean() > 0.9


def test_load_leaving_finds_all_threads_again():
    def cost(b, threads):
        if threads == 1:
            return 1.6e-3
        return 5e-3 if b < 500 else 1.0e-3
    _, _, counts = simulate(cost, 1500)
    assert (counts[:500] == 1).mean() > 0.9
    assert (counts[1000:] == N).mean() > 0.9


def test_cheap_probes_while_quiet_do_not_allow_a_burst_of_slow_ones():
    # equal counts for a long while (probes cost nothing), then N collapses
    def cost(b, threads):
        return 1e-3 if threads == 1 or b < 5000 else 50e-3
    _, _, counts = simulate(cost, 5400)
    assert (counts[:5000] == N).mean() > 0.3
    assert (counts[5010:] == N).sum() <= 2


def test_first_batch_is_not_measured():
    chooser = AdaptiveThreads(N)
    chooser.record(100.0, BATCH)  # cold caches, fresh workspaces
    assert chooser.estimate(1) is None
    chooser.record(1e-3, BATCH)
    assert chooser.estimate(1) == pytest.approx(1e-3 / BATCH)


def test_begin_sets_numba_threads():
    chooser = AdaptiveThreads(N)
    with kernel_threads(None):
        chooser.begin()
        assert numba.get_num_threads() == chooser.threads == 1


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_only_n_jobs_none_is_adaptive_and_contexts_nest():
    workspace = {}
    assert batch_threads(workspace) is None  # outside kernel_threads
    with kernel_threads(None):
        chooser = batch_threads(workspace)
        assert isinstance(chooser, AdaptiveThreads)
        assert batch_threads(workspace) is chooser  # kept across calls
        chooser.begin()  # an epoch's last batch on one thread: still the same chooser
        assert numba.get_num_threads() == 1 and batch_threads(workspace) is chooser
        with kernel_threads(2):
            assert batch_threads(workspace) is None
            with kernel_threads(None):
                assert batch_threads(workspace) is chooser
            assert batch_threads(workspace) is None
        assert batch_threads(workspace) is chooser
        with kernel_threads(1):
            assert batch_threads(workspace) is None
    assert batch_threads(workspace) is None


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_switching_threads_between_batches_keeps_the_model_bit_identical():
    rng = np.random.default_rng(0)
    X = rng.random((700, 30), dtype=np.float32)
    y = rng.integers(0, 3, 700)
    weight = np.ones(700)

    def train(n_jobs, switch):
        net = SparseMLP((30, 64, 64, 3), activation="relu", output="softmax")
        net.initialize(0.5, np.random.default_rng(1))
        with kernel_threads(n_jobs):
            for epoch in range(2):
                if switch:
                    ws = net._buffers(64, True, 0.0)
                    ws.setdefault("threads", Alternate(N))
                    assert batch_threads(ws).__class__ is Alternate
                net.train_epoch(X, y, weight, batch_size=64, learning_rate=0.1,
                                momentum=0.9, nesterov=True, alpha=1e-4, dropout=0.0,
                                shuffle=True, rng=np.random.default_rng(epoch))
        return net

    reference = train(1, False)
    switched = train(None, True)
    ws = switched._workspace[True]
    assert min(ws["threads"].batches.values()) >= 10  # both counts really ran
    for a, b in zip(reference.layers, switched.layers):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.bias, b.bias)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_default_fit_switching_threads_equals_one_thread_fit(digits_split, monkeypatch):
    X_train, X_test, y_train, _ = digits_split
    one = SETClassifier(hidden_layer_sizes=(64,), max_iter=3, early_stopping=True,
                        random_state=0, n_jobs=1).fit(X_train, y_train)
    monkeypatch.setattr(_threads, "AdaptiveThreads", Alternate)
    default = clone(one).set_params(n_jobs=None).fit(X_train, y_train)
    proba = default.predict_proba(X_test)
    ws = default._network._workspace
    assert min(ws[True]["threads"].batches.values()) >= 10
    assert isinstance(ws[False]["threads"], Alternate)
    for a, b in zip(one.coefs_, default.coefs_):
        np.testing.assert_array_equal(a.toarray(), b.toarray())
    assert one.validation_scores_ == default.validation_scores_
    np.testing.assert_array_equal(one.predict_proba(X_test), proba)
