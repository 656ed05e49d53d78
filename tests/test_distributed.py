"""Scale-out and determinism: dask.distributed sweeps, numba threads per
worker, and identical models whatever the process or thread count.

The dask tests need the ``distributed`` extra (CI installs it); without it they
are skipped with that reason.
"""

import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SETRegressor
from sklearn_set._base import _kernel_n_jobs

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(n_samples=240, n_features=20, n_informative=8,
                               n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


# Configurations that exercise every code path whose result could depend on
# threads or process: dropout, early stopping (validation split + restore),
# sparse input, float64, regression, several hidden layers, all-ReLU.
CONFIGS = {
    "clf-dropout": (SETClassifier, dict(hidden_layer_sizes=(48, 24), dropout=0.2), "dense"),
    "clf-early-stopping": (SETClassifier, dict(hidden_layer_sizes=(32,), early_stopping=True,
                                               n_iter_no_change=2), "dense"),
    "clf-csr-float64": (SETClassifier, dict(hidden_layer_sizes=(32,), dtype="float64"), "csr"),
    "reg-allrelu": (SETRegressor, dict(hidden_layer_sizes=(32, 32), activation="allrelu"),
                    "dense"),
}


def _data(kind, fmt):
    if kind is SETRegressor:
        X, y = make_regression(n_samples=200, n_features=12, noise=0.5, random_state=1)
    else:
        X, y = make_classification(n_samples=200, n_features=12, n_informative=6,
                                   n_classes=3, random_state=1)
    X = StandardScaler().fit_transform(X)
    if fmt == "csr":
        X[np.abs(X) < 0.7] = 0
        X = sp.csr_matrix(X)
    return X, y


def _fitted_output(name, n_jobs):
    kind, params, fmt = CONFIGS[name]
    X, y = _data(kind, fmt)
    model = kind(max_iter=6, random_state=7, n_jobs=n_jobs, **params).fit(X, y)
    out = model.predict_proba(X) if kind is SETClassifier else model.predict(X)
    return model, out


# --------------------------------------------------------------------------
# Determinism: one process, thread counts, other processes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONFIGS))
def test_same_seed_same_model_in_one_process(name):
    first, out_first = _fitted_output(name, None)
    second, out_second = _fitted_output(name, None)
    np.testing.assert_array_equal(out_first, out_second)
    for a, b in zip(first.coefs_, second.coefs_):
        assert (a != b).nnz == 0
    assert first.loss_curve_ == second.loss_curve_


@pytest.mark.parametrize("name", list(CONFIGS))
def test_thread_count_does_not_change_the_model(name):
    """1 thread against all of numba's threads (at least 2 are forced in the
    subprocess test below, so this holds on a one-core machine too)."""
    one, out_one = _fitted_output(name, 1)
    many, out_many = _fitted_output(name, -1)
    np.testing.assert_array_equal(out_one, out_many)
    assert one.loss_curve_ == many.loss_curve_


_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import test_distributed as t
    import numba
    out = {}
    for name in t.CONFIGS:
        _, result = t._fitted_output(name, int(sys.argv[2]))
        out[name] = result.tobytes().hex()
    out["threads"] = numba.config.NUMBA_NUM_THREADS
    print(json.dumps(out))
""")


@pytest.mark.parametrize("threads", [1, 3])
def test_other_processes_and_thread_counts_give_identical_models(threads):
    """A fresh interpreter started with NUMBA_NUM_THREADS=threads fits every
    configuration with n_jobs=threads; its outputs are bitwise those of this
    process with one thread. 3 threads run even on a one- or two-core
    machine, so the thread-count claim is always exercised."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([sys.executable, "-c", _CHILD, tests_dir, str(threads)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    child = json.loads(run.stdout.strip().splitlines()[-1])
    assert child["threads"] == threads
    for name in CONFIGS:
        _, here = _fitted_output(name, 1)
        assert bytes.fromhex(child[name]) == here.tobytes(), name


def test_kernel_threads_outside_a_dask_worker_follow_n_jobs():
    try:  # imported or not, distributed must not matter outside a worker's task
        import distributed  # noqa: F401
    except ImportError:
        pass
    assert _kernel_n_jobs(None) is None
    assert _kernel_n_jobs(1) == 1 and _kernel_n_jobs(-1) == -1


# --------------------------------------------------------------------------
# dask.distributed
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is the optional 'distributed' extra")
    cloudpickle = pytest.importorskip("cloudpickle")
    # The workers cannot import this test module: ship its functions by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_grid_search_on_dask_matches_the_local_run(dask_client, problem):
    from distributed import get_task_stream
    from joblib import parallel_config

    X, y = problem
    grid = {"sparsity": [0.5, 0.9], "hidden_layer_sizes": [(16,), (32,)]}
    estimator = SETClassifier(max_iter=8, random_state=0)
    local = GridSearchCV(estimator, grid, cv=3, n_jobs=1).fit(X, y)
    with get_task_stream(dask_client) as tasks, parallel_config(backend="dask"):
        remote = GridSearchCV(estimator, grid, cv=3, n_jobs=-1).fit(X, y)
    assert len(tasks.data) > 0, "no task ran on the dask cluster"
    assert {t["worker"] for t in tasks.data} <= set(dask_client.scheduler_info()["workers"])
    for key in [f"split{i}_test_score" for i in range(3)] + ["mean_test_score"]:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


def _fit_on_worker(name):
    """Runs in a worker: fit one configuration, report numba's thread count as
    seen inside every epoch, return the fitted model and its output."""
    import numba

    from sklearn_set._engine import network as _network

    seen = []
    original = _network.SparseMLP.train_epoch

    def spy(self, *args, **kwargs):
        seen.append(numba.get_num_threads())
        return original(self, *args, **kwargs)

    _network.SparseMLP.train_epoch = spy
    try:
        model, out = _fitted_output(name, None)
    finally:
        _network.SparseMLP.train_epoch = original
    return model, out, seen, numba.config.NUMBA_NUM_THREADS


def test_dask_workers_cap_numba_threads_and_fit_identical_models(dask_client):
    """threads_per_worker=1: the kernels must run on 1 thread in each worker
    (numba alone would use every core in every worker process), and the
    models fitted there equal the local ones."""
    futures = {name: dask_client.submit(_fit_on_worker, name, pure=False) for name in CONFIGS}
    for name, future in futures.items():
        model, out, seen, numba_default = future.result(timeout=120)
        assert seen and set(seen) == {1}, (name, seen, numba_default)
        local_model, local_out = _fitted_output(name, None)
        np.testing.assert_array_equal(out, local_out)
        # the model came back pickled: it predicts here exactly as there
        X, _ = _data(CONFIGS[name][0], CONFIGS[name][2])
        again = model.predict_proba(X) if hasattr(model, "classes_") else model.predict(X)
        np.testing.assert_array_equal(again, local_out)


def test_explicit_n_jobs_wins_inside_a_worker(dask_client):
    def threads_for(n_jobs):
        from sklearn_set._base import _kernel_n_jobs
        return _kernel_n_jobs(n_jobs)

    assert dask_client.submit(threads_for, None, pure=False).result() == 1
    assert dask_client.submit(threads_for, 2, pure=False).result() == 2
    assert dask_client.submit(threads_for, -1, pure=False).result() == -1



# --------------------------------------------------------------------------
# Threads sharing one process
# --------------------------------------------------------------------------


def test_concurrent_predict_on_one_model_matches_serial(problem):
    """numba's workqueue threading layer must not be entered by two threads
    at once and the model reuses its prediction workspaces: many threads
    predicting with one fitted model get exactly the serial answers."""
    from concurrent.futures import ThreadPoolExecutor

    X, y = problem
    model = SETClassifier(hidden_layer_sizes=(64, 32), max_iter=3, random_state=0).fit(X, y)
    # different batch sizes make the threads fight over differently shaped workspaces
    chunks = [X[i:i + size] for i, size in zip(range(0, 200, 10), [1, 7, 33, 64, 5] * 4)]
    calls = [(method, chunk) for chunk in chunks for method in ("predict_proba", "predict")]
    serial = [getattr(model, method)(chunk) for method, chunk in calls]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            results = list(pool.map(lambda call: getattr(model, call[0])(call[1]), calls))
            for got, want in zip(results, serial):
                np.testing.assert_array_equal(got, want)


def test_concurrent_fits_in_threads_match_serial_fits(problem):
    from concurrent.futures import ThreadPoolExecutor

    X, y = problem
    params = [dict(hidden_layer_sizes=(32,), sparsity=s, max_iter=3, random_state=s_i)
              for s_i, s in enumerate([0.5, 0.8, 0.9, 0.95])]
    serial = [SETClassifier(**p).fit(X, y).predict_proba(X) for p in params]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda p: SETClassifier(**p).fit(X, y).predict_proba(X),
                                 params))
    for got, want in zip(threaded, serial):
        np.testing.assert_array_equal(got, want)
