"""
==========================================
Scaling a sparsity sweep out with dask
==========================================

A grid search over ``sparsity`` is many independent fits. joblib's ``"dask"``
backend sends them to a dask.distributed cluster; here a local cluster of two
single-threaded worker processes stands in for a real one (pass the
scheduler's address to :class:`~dask.distributed.Client` instead). Inside a
dask worker, ``n_jobs=None`` runs the numba kernels on the worker's own
thread count, so the workers do not oversubscribe the cores.

The example skips (with a message) when dask.distributed is not installed:
``pip install "sklearn-set[distributed]"``.
"""

# %%
import time
import warnings

import numpy as np
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SparsityCurveRegressor

try:
    from dask.distributed import Client, LocalCluster
except ImportError:
    Client = None
    print("dask.distributed is not installed; install the 'distributed' extra "
          "to run this example. Skipping.")

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = load_digits(return_X_y=True)
pipeline = make_pipeline(StandardScaler(), SETClassifier(
    hidden_layer_sizes=(128, 128), max_iter=40, random_state=0))
grid = {"setclassifier__sparsity": [0.5, 0.9, 0.97, 0.99, 0.995, 0.998]}

# %%
# The sweep on the cluster. dask starts its worker processes with "spawn",
# which re-imports this script: the cluster is therefore created under a
# ``__main__`` guard, as for any multiprocessing program.


def sweep_on_cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        search = GridSearchCV(pipeline, grid, cv=3, n_jobs=-1)
        start = time.perf_counter()
        with parallel_backend("dask"):
            search.fit(X, y)
        seconds = time.perf_counter() - start
    results = search.cv_results_
    print(f"{len(results['params']) * 3} fits on 2 dask workers in {seconds:.1f} s")
    print(f"{'sparsity':>9} {'mean acc':>9} {'std':>7}")
    for level, mean, std in zip(results["param_setclassifier__sparsity"],
                                results["mean_test_score"], results["std_test_score"]):
        print(f"{level:>9} {mean:>9.4f} {std:>7.4f}")

    # The curve, fitted on every fold's score
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve = SparsityCurveRegressor.from_cv_results(
            results, param_name="setclassifier__sparsity")
    print(f"curve family {curve.family_}, dense accuracy {curve.dense_accuracy_:.4f}, "
          f"collapse identified: {curve.collapse_identified_}")
    print("predicted accuracy at sparsity 0.98:", np.round(curve.predict([[0.98]]), 4))


if __name__ == "__main__" and Client is not None:
    sweep_on_cluster()
