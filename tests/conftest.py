"""Fixtures shared by the test modules."""

import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def digits_split():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


# -- sparsity sweeps without training networks (curve, sweep, display tests) --

def _rosenfeld_scores(sparsity, n_folds=3, seed=0, noise=0.005):
    """Accuracies of the Rosenfeld form of tests/_curve_data.py (e_np 0.02,
    e_up 0.9, g 1.5, p 0.002; contour near S = 0.993), one row per level,
    Gaussian noise per fold."""
    import numpy as np
    from _curve_data import rosenfeld_accuracy

    accuracy = rosenfeld_accuracy(sparsity)
    rng = np.random.default_rng(seed)
    return np.clip(accuracy[:, None] + rng.normal(0, noise, (accuracy.size, n_folds)), 0, 1)


@pytest.fixture(scope="session")
def rosenfeld_scores():
    """Function (sparsities, n_folds=3, seed=0, noise=0.005) -> scores."""
    return _rosenfeld_scores


@pytest.fixture(scope="session")
def degrading_classifier():
    """A fast stand-in for a sparse network whose accuracy collapses with
    sparsity: a nearest-centroid classifier that replaces a fraction
    ``q = 1 / (1 + (d / 0.003)**2)`` of its predictions (density
    ``d = 1 - sparsity``) by random labels, and fails to fit above
    ``fail_above``."""
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils.validation import validate_data

    class DegradingClassifier(ClassifierMixin, BaseEstimator):
        def __init__(self, sparsity=0.0, random_state=0, fail_above=1.0):
            self.sparsity = sparsity
            self.random_state = random_state
            self.fail_above = fail_above

        def fit(self, X, y):
            if self.sparsity > self.fail_above:
                raise RuntimeError(f"too sparse: {self.sparsity}")
            X, y = validate_data(self, X, y)
            self.classes_ = np.unique(y)
            self.centroids_ = np.array([X[y == c].mean(axis=0) for c in self.classes_])
            return self

        def predict(self, X):
            X = validate_data(self, X, reset=False)
            dist = ((X[:, None, :] - self.centroids_[None]) ** 2).sum(axis=-1)
            pred = self.classes_[np.argmin(dist, axis=1)]
            q = 1.0 / (1.0 + ((1.0 - self.sparsity) / 0.003) ** 2)
            rng = np.random.RandomState(self.random_state)
            guess = rng.uniform(size=len(X)) < q
            pred[guess] = rng.choice(self.classes_, size=int(guess.sum()))
            return pred

    return DegradingClassifier


# -- fitted sparsity curves shared by the test_curve_* modules (tests/_curve_data.py) --

@pytest.fixture(scope="session")
def full_fit():
    """Rosenfeld family fitted on a sweep that reaches the collapse."""
    import warnings

    from _curve_data import FIT_LEVELS, sweep

    from sklearn_set._curve import CollapseNotIdentifiedWarning, SparsityCurveRegressor

    X, y = sweep(FIT_LEVELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseNotIdentifiedWarning)
        return SparsityCurveRegressor(family="rosenfeld").fit(X, y)


@pytest.fixture(scope="session")
def short_fit():
    """A sweep that stops at S=0.97, long before the collapse (S~0.993)."""
    import numpy as np
    from _curve_data import sweep

    from sklearn_set._curve import CollapseNotIdentifiedWarning, SparsityCurveRegressor

    levels = 1.0 - np.logspace(np.log10(0.5), np.log10(0.03), 12)
    X, y = sweep(levels)
    with pytest.warns(CollapseNotIdentifiedWarning, match="do not identify"):
        est = SparsityCurveRegressor().fit(X, y)
    return est, levels


@pytest.fixture(scope="session")
def digits_curve():
    """The curve ``"auto"`` fits to the real SET sweep of ``DIGITS_SCORES``."""
    from _curve_data import DIGITS_LEVELS, DIGITS_SCORES

    from sklearn_set._curve import SparsityCurveRegressor

    return SparsityCurveRegressor().fit_scores(DIGITS_LEVELS, DIGITS_SCORES)


# -- isolation: the README's commands compose, nothing is left behind ----------
# Each test runs in a folder of its own, so that no test reads or writes the
# current folder (a checkout's ./sklearn-set-results of an earlier
# 'sklearn-set sweep', say) and nothing a test writes stays there; and
# hypothesis writes nothing (.hypothesis/) in it.

@pytest.fixture(scope="session")
def forward_without_bfloat16_dot():
    """``sparse_forward`` as a CPU without ``vdpbf16ps`` runs it, compiled
    afresh with ``ALLOW_BFLOAT16_DOT`` off (numba's cache does not know the
    flag, so the cached kernel cannot serve)."""
    from numba import njit

    from sklearn_set._engine._kernels import train as kernels
    from sklearn_set._engine._kernels import vectors

    kernel = njit(parallel=True, fastmath=kernels._FASTMATH)(kernels.sparse_forward.py_func)

    def forward(*args):
        allowed = vectors.ALLOW_BFLOAT16_DOT
        vectors.ALLOW_BFLOAT16_DOT = False  # read as the call compiles the kernel
        try:
            kernel(*args)
        finally:
            vectors.ALLOW_BFLOAT16_DOT = allowed
    return forward


@pytest.fixture(autouse=True)
def _own_working_folder(tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def _hypothesis_outside_the_checkout():
    """No example database, and hypothesis's other files (the constants it
    collects from the source) in a temporary folder, not ./.hypothesis."""
    import atexit
    import os
    import shutil
    import tempfile

    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        folder = tempfile.mkdtemp(prefix="sklearn-set-hypothesis-")
        atexit.register(shutil.rmtree, folder, True)
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = folder
    try:
        from hypothesis import settings
    except ImportError:  # pragma: no cover - the test extra has it
        return
    settings.register_profile("sklearn-set", database=None)
    settings.load_profile("sklearn-set")


_hypothesis_outside_the_checkout()
