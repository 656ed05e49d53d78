"""Persistence: pickled models load and predict identically (here and in a
fresh process), keep training identically, carry no compiled code or
workspaces; ``clone`` of a fitted model is unfitted."""

import io
import os
import pickle
import pickletools
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SETRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _classification():
    X, y = make_classification(n_samples=200, n_features=15, n_informative=6, n_classes=3,
                               random_state=0)
    return StandardScaler().fit_transform(X), np.array(["ant", "bee", "cat"])[y]


def _regression():
    X, y = make_regression(n_samples=200, n_features=15, n_targets=2, noise=1.0,
                           random_state=0)
    return StandardScaler().fit_transform(X), y * 1000


def _sparse(X, y):
    X = X.copy()
    X[np.abs(X) < 0.7] = 0
    return sp.csr_matrix(X), y


MODELS = {
    "classifier": (lambda: SETClassifier(hidden_layer_sizes=(32, 16), dropout=0.1,
                                         early_stopping=True, n_iter_no_change=3,
                                         max_iter=6, random_state=0), _classification),
    "classifier-float64-csr": (lambda: SETClassifier(hidden_layer_sizes=(32,), dtype="float64",
                                                     max_iter=4, random_state=1),
                               lambda: _sparse(*_classification())),
    "regressor-multioutput": (lambda: SETRegressor(hidden_layer_sizes=(32,), max_iter=5,
                                                   activation="tanh", random_state=2),
                              _regression),
}


def _outputs(model, X):
    if hasattr(model, "classes_"):
        return model.predict(X), model.predict_proba(X)
    return (model.predict(X),)


def _assert_same_outputs(a, b, X):
    for got, want in zip(_outputs(a, X), _outputs(b, X)):
        np.testing.assert_array_equal(got, want)


def _assert_same_fitted_state(a, b):
    for name in ("n_iter_", "t_", "loss_", "loss_curve_", "validation_scores_",
                 "best_validation_score_", "n_features_in_", "n_outputs_", "sparsity_",
                 "erdos_renyi_epsilon_"):
        assert getattr(a, name) == getattr(b, name), name
    np.testing.assert_array_equal(a.n_connections_, b.n_connections_)
    for ca, cb in zip(a.coefs_, b.coefs_):
        assert ca.dtype == cb.dtype and (ca != cb).nnz == 0
    for ia, ib in zip(a.intercepts_, b.intercepts_):
        np.testing.assert_array_equal(ia, ib)


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request):
    make, data = MODELS[request.param]
    X, y = data()
    model = make().fit(X, y)
    model.predict(X)  # prediction workspaces exist now and must not be pickled
    return request.param, model, X, y


@pytest.mark.parametrize("protocol", [pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip_predicts_identically(fitted, protocol):
    _, model, X, _ = fitted
    loaded = pickle.loads(pickle.dumps(model, protocol=protocol))
    _assert_same_fitted_state(loaded, model)
    _assert_same_outputs(loaded, model, X)
    assert loaded.get_params() == model.get_params()


def test_joblib_round_trip_predicts_identically(fitted, tmp_path):
    _, model, X, _ = fitted
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    _assert_same_outputs(joblib.load(path), model, X)


def test_pickle_holds_no_compiled_code_nor_workspaces(fitted):
    _, model, _, _ = fitted
    payload = pickle.dumps(model)
    referenced = {arg for op, arg, _ in pickletools.genops(io.BytesIO(payload))
                  if isinstance(arg, str)}
    assert "sklearn_set._set" in referenced  # the scan does see module names
    assert not [name for name in referenced if name.startswith("numba")]
    assert model._network._workspace, "the fixture should have built workspaces"
    assert pickle.loads(payload)._network._workspace == {}


def test_loaded_model_trains_on_identically(fitted):
    """The random generator and optimizer state travel with the model:
    continuing training after a round trip gives the same model."""
    _, model, X, y = fitted
    a = pickle.loads(pickle.dumps(model)).set_params(warm_start=True, max_iter=2)
    b = pickle.loads(pickle.dumps(model)).set_params(warm_start=True, max_iter=2)
    a.fit(X, y)
    pickle.loads(pickle.dumps(b)).fit(X, y)  # an extra round trip must not matter
    b.fit(X, y)
    _assert_same_outputs(a, b, X)
    # partial_fit continues the same way too (it refuses early stopping)
    c, d = (pickle.loads(pickle.dumps(model)).set_params(early_stopping=False)
            for _ in range(2))
    c.partial_fit(X, y)
    pickle.loads(pickle.dumps(d.partial_fit(X, y)))
    _assert_same_outputs(c, d, X)


_LOAD_AND_PREDICT = textwrap.dedent("""
    import pickle, sys
    import numpy as np
    with open(sys.argv[1], "rb") as f:
        model, X = pickle.load(f)
    out = model.predict_proba(X) if hasattr(model, "classes_") else model.predict(X)
    np.save(sys.argv[2], out)
""")


def test_model_pickled_here_predicts_identically_in_a_fresh_process(fitted, tmp_path):
    _, model, X, _ = fitted
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump((model, X), f)
    run = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_PREDICT, str(tmp_path / "model.pkl"),
         str(tmp_path / "out.npy")], capture_output=True, text=True, timeout=300,
        env=dict(os.environ))
    assert run.returncode == 0, run.stderr[-3000:]
    expected = _outputs(model, X)[-1]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_clone_of_a_fitted_model_is_unfitted(fitted):
    _, model, X, _ = fitted
    fresh = clone(model)
    assert fresh.get_params() == model.get_params()
    for name in ("coefs_", "n_iter_", "loss_curve_", "_network", "_rng", "classes_"):
        assert not hasattr(fresh, name), name
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    # and cloning left the original untouched
    assert hasattr(model, "coefs_")


def test_clone_refits_to_the_same_model(fitted):
    _, model, X, y = fitted
    _assert_same_outputs(clone(model).fit(X, y), model, X)


def test_unfitted_model_round_trips_unfitted():
    loaded = pickle.loads(pickle.dumps(SETClassifier(sparsity=0.8)))
    assert loaded.sparsity == 0.8
    with pytest.raises(NotFittedError):
        loaded.predict(np.zeros((1, 3)))


# -- skops model files ---------------------------------------------------------

def _skops_round_trip(model, path):
    import skops.io

    skops.io.dump(model, path)
    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))


def test_skops_round_trip_keeps_the_fitted_state(fitted, tmp_path):
    _, model, X, _ = fitted
    loaded = _skops_round_trip(model, tmp_path / "model.skops")
    _assert_same_fitted_state(loaded, model)
    _assert_same_outputs(loaded, model, X)
    # the per-epoch lists come back as lists (a file stores them as arrays)
    assert isinstance(loaded.loss_curve_, list) and isinstance(model.loss_curve_, list)
    history = loaded.topology_history_
    assert history.dtype == model.topology_history_.dtype
    assert history.tobytes() == model.topology_history_.tobytes()
    assert loaded.topology_.keys() == model.topology_.keys()


def _digits_pipeline(max_iter):
    """The model ``sklearn-set train --dataset digits`` saves, trained for
    exactly ``max_iter`` epochs on part of the data (the file's size does not
    depend on the number of training samples)."""
    from sklearn.datasets import load_digits
    from sklearn.pipeline import make_pipeline

    X, y = load_digits(return_X_y=True)
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(256, 256), sparsity=0.9, max_iter=max_iter,
        n_iter_no_change=np.inf, random_state=0))
    return model.fit(X[:300], y[:300])


def test_digits_model_file_is_proportional_to_the_model(tmp_path):
    """A digits model of 8,448 connections trained 200 epochs (the command
    line's default) saves to a compressed .skops file under 200 KB and a
    pickle under 200 KB, and each epoch adds a few hundred bytes to the file
    (the topology record and the loss), not a listing of the epoch."""
    import zipfile

    import skops.io

    sizes = {}
    for epochs in (20, 200):
        model = _digits_pipeline(epochs)
        assert model[-1].n_iter_ == epochs
        assert int(model[-1].n_connections_.sum()) == 8448
        plain, deflated = tmp_path / f"{epochs}.skops", tmp_path / f"{epochs}-deflated.skops"
        skops.io.dump(model, plain)
        skops.io.dump(model, deflated, compression=zipfile.ZIP_DEFLATED)
        sizes[epochs] = (plain.stat().st_size, deflated.stat().st_size,
                         len(pickle.dumps(model)))
    plain, deflated, pickled = sizes[200]
    assert deflated < 200_000, sizes
    assert pickled < 200_000, sizes
    per_epoch = (plain - sizes[20][0]) / 180
    assert per_epoch < 400, sizes
