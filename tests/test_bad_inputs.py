"""Bad inputs and faults: every public estimator, fed something wrong, either
gives the correct result or raises a clear exception naming the problem;
nothing crashes, hangs or returns NaN quietly.

The table ``CASES`` holds one row per bad input (its id says what it is).
Below it: faults during training (Ctrl-C in an epoch, a network too large
for memory).
"""

import functools
import re
import signal
import sys
import threading
import time
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_set import (
    AccSETClassifier,
    SETClassifier,
    SETRegressor,
    SparsityCurveRegressor,
    _interrupt,
    _preflight,
)
from sklearn_set._engine.layer import erdos_renyi_allocation
from sklearn_set._engine.network import SparseMLP, network_memory_bytes
from sklearn_set._evolution.policies import ConnectivityPolicy

try:  # part of the test extra; without it only its rows are skipped
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None

# FAST networks (16 units on 6 features at sparsity 0.9: 14 connections) are
# made to be quick, and often leave an output unreached: the bad input, not
# the network, is what each case is about (the warning has its own tests)
pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore::sklearn_set.DisconnectedNetworkWarning")]

# A case that takes longer than this is a hang (the largest one takes < 1 s).
CASE_TIME_LIMIT = 60

X, Y = make_classification(n_samples=90, n_features=6, n_informative=4, n_redundant=0,
                           n_classes=3, random_state=0)
XR, YR = make_regression(n_samples=90, n_features=6, noise=1.0, random_state=0)
FAST = dict(hidden_layer_sizes=(16,), max_iter=4, random_state=0)
LABELS = np.array(["ant", "bee", "cat"])


def clf(**params):
    return SETClassifier(**{**FAST, **params})


def reg(**params):
    return SETRegressor(**{**FAST, **params})


def _sparse_values():
    dense = X.copy()
    dense[np.abs(dense) < 0.8] = 0
    return dense


XS = sp.csr_matrix(_sparse_values())
# Clean float64 versions of the data that the odd inputs hold losslessly.
REFERENCE_DATA = {
    "X": X,
    "sparse": _sparse_values(),
    "float16": X.astype(np.float16).astype(np.float64),
    "bool": (X > 0).astype(np.float64),
    "int": np.round(X * 4),
}


@functools.cache
def reference(kind="clf", data="X"):
    """The fit on clean float data that a lossless conversion must reproduce."""
    if kind == "clf":
        return clf().fit(REFERENCE_DATA[data], Y)
    return reg().fit(XR, YR)


def _with_explicit_zeros():
    """XS's values with its zeros stored explicitly."""
    M = sp.csr_matrix(X)
    M.data[np.abs(M.data) < 0.8] = 0
    assert (M.data == 0).any() and M.nnz > XS.nnz
    return M


def _unsorted(M):
    M = M.copy()
    for r in range(M.shape[0]):
        lo, hi = M.indptr[r], M.indptr[r + 1]
        M.indices[lo:hi] = M.indices[lo:hi][::-1].copy()
        M.data[lo:hi] = M.data[lo:hi][::-1].copy()
    M.has_sorted_indices = False
    assert not M.has_sorted_indices
    return M


def _int64_indices(M):
    M = M.copy()  # the constructor would downcast: set the arrays afterwards
    M.indices, M.indptr = M.indices.astype(np.int64), M.indptr.astype(np.int64)
    assert M.indices.dtype == M.indptr.dtype == np.int64
    return M


def _duplicates(M):
    """Every stored value split in two halves stored as two entries (scipy's
    meaning of duplicates: they add up)."""
    indptr = np.r_[0, np.cumsum(2 * np.diff(M.indptr))]
    out = sp.csr_matrix((np.repeat(M.data / 2, 2), np.repeat(M.indices, 2), indptr),
                        shape=M.shape)
    assert out.nnz == 2 * M.nnz and not out.has_canonical_format
    return out


def _read_only(a):
    a = np.ascontiguousarray(a, dtype=np.float32)
    a.flags.writeable = False
    return a


def _nan_at(a, row=5, col=2):
    a = np.array(a, dtype=np.float64)
    a[row, col] = np.nan
    return a


# -- expected outcomes ----------------------------------------------------


class Raises:
    """A clear exception: its type and a message naming the problem."""

    def __init__(self, exc, match):
        self.exc, self.match = exc, match

    def __call__(self, action):
        with pytest.raises(self.exc, match=self.match):
            action()


class Same:
    """The conversion is lossless: the outputs are bitwise those of the
    reference fit on clean data."""

    def __init__(self, X_model, data="X", kind="clf", method="predict_proba"):
        self.X_model, self.data, self.kind, self.method = X_model, data, kind, method

    def __call__(self, action):
        model = action()
        got = getattr(model, self.method)(self.X_model)
        X_reference = REFERENCE_DATA[self.data] if self.kind == "clf" else XR
        want = getattr(reference(self.kind, self.data), self.method)(X_reference)
        assert np.isfinite(got).all()
        np.testing.assert_array_equal(got, want)


class Valid:
    """A correct result, as the given check defines it."""

    def __init__(self, check):
        self.check = check

    def __call__(self, action):
        self.check(action())


class ValidOrRaises:
    """At the edge of a numerical limit, where rounding decides which way it
    goes: a result that passes the check, or the given clear exception."""

    def __init__(self, check, exc, match):
        self.check, self.exc, self.match = check, exc, match

    def __call__(self, action):
        try:
            result = action()
        except self.exc as error:
            assert re.search(self.match, str(error)), str(error)
            return
        self.check(result)


def _valid_proba(X_eval):
    def check(model):
        proba = model.predict_proba(X_eval)
        assert np.isfinite(proba).all() and (proba >= 0).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
        assert np.isin(model.predict(X_eval), model.classes_).all()
    return check


def _relabelled(labels, y_reference=Y):
    """Fitting on ``labels[y]`` is fitting on ``y`` with the classes renamed."""
    def check(model):
        np.testing.assert_array_equal(model.classes_, np.unique(labels))
        expected = np.asarray(labels)[reference().predict(X)]
        np.testing.assert_array_equal(np.asarray(model.predict(X)), expected)
    return check


def _rescaled_targets(scale):
    """Targets times ``scale``: the same standardised problem, predictions
    times ``scale``."""
    def check(model):
        got = model.predict(XR)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got / scale, reference("reg").predict(XR), rtol=1e-9)
    return check


def _constant_target(model):
    c = 250.0
    pred = model.predict(XR)
    assert np.isfinite(pred).all()
    # standardised target 0, so the network only learns a small offset
    assert np.abs(pred - c).max() < 0.1 * c


def _one_sample_regression(model):
    """One target: its mean is the target itself and its spread 0 (scale 1
    is used), so the model predicts close to it."""
    pred = model.predict(XR[:1])
    assert np.isfinite(pred).all()
    assert abs(pred[0] - YR[0]) < 0.5


def _scaled_pipeline_equals_unit_scale(model):
    unit = make_pipeline(StandardScaler(), clf()).fit(X, Y)
    np.testing.assert_array_equal(model.predict_proba(X * 1e-30), unit.predict_proba(X))


def _one_class_per_sample(model):
    assert model.classes_.shape == (X.shape[0],)
    _valid_proba(X)(model)


def _too_large_step(model):
    """The loss grows but stays finite: a valid (poor) model whose
    loss_curve_ shows the problem."""
    assert np.isfinite(model.loss_curve_).all()
    assert model.loss_curve_[-1] > model.loss_curve_[0]
    _valid_proba(X)(model)


def _fit_then(estimator, fit_args, then):
    def action():
        fitted = estimator.fit(*fit_args)
        return then(fitted)
    return action


def _absurd_network():
    return clf(hidden_layer_sizes=(10**6, 10**6), sparsity=0.0).fit(X, Y)


# -- the table ------------------------------------------------------------

CASES = [
    # X: dtypes and shapes
    pytest.param(lambda: clf().fit(X.astype(object), Y), Same(X), id="X-object-dtype-numbers"),
    pytest.param(lambda: clf().fit(np.full(X.shape, "a", dtype=object), Y),
                 Raises(ValueError, "could not convert string to float"),
                 id="X-object-dtype-strings"),
    pytest.param(lambda: clf().fit(X + 1j, Y), Raises(ValueError, "Complex data not supported"),
                 id="X-complex"),
    pytest.param(lambda: clf().fit(X.astype(np.float16), Y),
                 Same(X.astype(np.float16), "float16"),
                 id="X-float16"),
    pytest.param(lambda: clf().fit(X > 0, Y), Same(X > 0, "bool"),
                 id="X-bool"),
    pytest.param(lambda: clf().fit(np.round(X * 4).astype(np.int64), Y),
                 Same(np.round(X * 4).astype(np.int64), "int"), id="X-int64"),
    pytest.param(lambda: clf().fit(_read_only(X), Y), Same(_read_only(X)), id="X-read-only"),
    pytest.param(lambda: clf().fit(X.tolist(), Y.tolist()), Same(X.tolist()), id="X-lists"),
    pytest.param(lambda: clf().fit(X[:, 0], Y), Raises(ValueError, "Expected 2D array"),
                 id="X-1d"),
    pytest.param(lambda: clf().fit(X[:, :, None], Y), Raises(ValueError, "dim 3"), id="X-3d"),
    pytest.param(lambda: clf().fit(X[:0], Y[:0]), Raises(ValueError, r"0 sample\(s\)"),
                 id="X-empty"),
    pytest.param(lambda: clf().fit(X[:, :0], Y), Raises(ValueError, r"0 feature\(s\)"),
                 id="X-no-features"),
    pytest.param(lambda: clf().fit(_nan_at(X), Y), Raises(ValueError, "Input X contains NaN"),
                 id="X-nan"),
    pytest.param(lambda: clf().fit(np.where(X > 1, np.inf, X), Y),
                 Raises(ValueError, "Input X contains infinity"), id="X-inf"),
    pytest.param(lambda: clf().fit(X * 1e300, Y),
                 Raises(ValueError, r"infinity or a value too large for dtype\('float32'\)"),
                 id="X-beyond-float32-range"),
    pytest.param(lambda: clf().fit(X * 1e30, Y),
                 Raises(ValueError, "Training diverged.*scale the inputs"), id="X-huge-scale"),
    pytest.param(lambda: clf().fit(X * 1e-30, Y), Valid(_valid_proba(X * 1e-30)),
                 id="X-tiny-scale"),
    pytest.param(lambda: make_pipeline(StandardScaler(), clf()).fit(X * 1e-30, Y),
                 Valid(_scaled_pipeline_equals_unit_scale), id="X-tiny-scale-standardised"),
    pytest.param(lambda: clf().fit(X * 1e-42, Y), Valid(_valid_proba(X * 1e-42)),
                 id="X-subnormal-float32-scale"),
    pytest.param(lambda: clf().fit(np.ones_like(X), Y), Valid(_valid_proba(X)),
                 id="X-constant-columns"),
    # X: sparse
    pytest.param(lambda: clf().fit(_with_explicit_zeros(), Y),
                 Same(_with_explicit_zeros(), "sparse"),
                 id="csr-explicit-zeros"),
    pytest.param(lambda: clf().fit(_unsorted(XS), Y), Same(_unsorted(XS), "sparse"),
                 id="csr-unsorted-indices"),
    pytest.param(lambda: clf().fit(_int64_indices(XS), Y),
                 Same(_int64_indices(XS), "sparse"), id="csr-int64-indices"),
    pytest.param(lambda: clf().fit(_duplicates(XS), Y),
                 Same(_duplicates(XS), "sparse"), id="csr-duplicate-entries"),
    pytest.param(lambda: clf().fit(XS.tocoo(), Y), Same(XS.tocoo(), "sparse"),
                 id="coo-matrix"),
    pytest.param(lambda: clf().fit(XS.tocsc(), Y), Same(XS.tocsc(), "sparse"),
                 id="csc-matrix"),
    pytest.param(lambda: clf().fit(sp.csr_array(XS), Y),
                 Same(sp.csr_array(XS), "sparse"), id="csr-array"),
    pytest.param(lambda: clf().fit(sp.csr_matrix(_nan_at(_sparse_values(), 0, 0)), Y),
                 Raises(ValueError, "Input X contains NaN"), id="csr-nan"),
    # labels
    pytest.param(lambda: clf().fit(X, LABELS[Y]), Valid(_relabelled(LABELS)), id="y-strings"),
    pytest.param(lambda: clf().fit(X, Y == 1),
                 Valid(lambda m: np.testing.assert_array_equal(
                     m.predict(X), clf().fit(X, (Y == 1).astype(int)).predict(X) == 1)),
                 id="y-booleans"),
    pytest.param(lambda: clf().fit(X, np.array([1, "a", 2] * 30, dtype=object)),
                 Raises(ValueError, "y mixes numbers and strings"), id="y-mixed-numbers-strings"),
    pytest.param(lambda: clf().fit(X, np.array([None] + list(LABELS[Y[1:]]), dtype=object)),
                 Raises(ValueError, r"y mixes missing values \(None or NaN\)"), id="y-None-label"),
    pytest.param(lambda: clf().fit(X, np.r_[np.nan, Y[1:]]),
                 Raises(ValueError, "Input y contains NaN"), id="y-float-nan"),
    pytest.param(lambda: clf().fit(X, XR[:, 0]),
                 Raises(ValueError, "Unknown label type: continuous"), id="y-continuous"),
    pytest.param(lambda: clf().fit(X, np.c_[Y, Y]),
                 Raises(ValueError, "supports binary, multiclass and multilabel-indicator "
                                    "targets, got multiclass-multioutput"), id="y-2d"),
    pytest.param(lambda: clf().fit(X, Y[:-1]),
                 Raises(ValueError, "inconsistent numbers of samples"), id="y-length-mismatch"),
    pytest.param(lambda: clf().fit(X, None), Raises(ValueError, "requires y to be passed"),
                 id="y-None"),
    pytest.param(lambda: clf().fit(X, np.zeros(90)), Raises(ValueError, "at least 2 classes"),
                 id="y-one-class"),
    pytest.param(lambda: clf().fit(X[:1], Y[:1]), Raises(ValueError, "at least 2 classes"),
                 id="one-sample-classifier"),
    pytest.param(lambda: clf().fit(X, np.arange(90)), Valid(_one_class_per_sample),
                 id="y-one-class-per-sample"),
    pytest.param(lambda: clf(class_weight={0: 1.0, 7: 2.0}).fit(X, Y),
                 Raises(ValueError, r"classes, \[1, 2\], are not in class_weight"),
                 id="class-weight-unknown-classes"),
    # sample weights
    pytest.param(lambda: clf().fit(X, Y, sample_weight=-np.ones(90)),
                 Raises(ValueError, "Negative values in data passed to `sample_weight`"),
                 id="sample-weight-negative"),
    pytest.param(lambda: clf().fit(X, Y, sample_weight=np.r_[np.nan, np.ones(89)]),
                 Raises(ValueError, "sample_weight contains NaN"), id="sample-weight-nan"),
    pytest.param(lambda: clf().fit(X, Y, sample_weight=np.zeros(90)),
                 Raises(ValueError, "at least one non-zero"), id="sample-weight-all-zero"),
    pytest.param(lambda: clf().fit(X, Y, sample_weight=np.ones(5)),
                 Raises(ValueError, r"sample_weight.shape == \(5,\), expected \(90,\)"),
                 id="sample-weight-wrong-length"),
    # parameters and numerical faults
    pytest.param(lambda: clf(n_jobs=0).fit(X, Y), Raises(InvalidParameterError, "'n_jobs'"),
                 id="n-jobs-zero"),
    pytest.param(lambda: clf(learning_rate_init=1e6).fit(X, Y),
                 Raises(ValueError, "Training diverged.*Lower learning_rate_init"),
                 id="learning-rate-diverges"),
    pytest.param(lambda: clf(learning_rate_init=1e4).fit(X, Y),
                 ValidOrRaises(_too_large_step, ValueError,
                               "Training diverged.*Lower learning_rate_init"),
                 id="learning-rate-at-the-edge-of-divergence"),
    pytest.param(lambda: clf(learning_rate_init=np.inf).fit(X, Y),
                 Raises(InvalidParameterError, "'learning_rate_init'"), id="learning-rate-inf"),
    pytest.param(lambda: clf(sparsity=np.nan).fit(X, Y),
                 Raises(InvalidParameterError, "'sparsity'"), id="sparsity-nan"),
    pytest.param(lambda: clf(solver="lbfgs").fit(X, Y),
                 Raises(InvalidParameterError, "'solver'"), id="solver-unknown"),
    pytest.param(lambda: clf(learning_rate="cosine").fit(X, Y),
                 Raises(InvalidParameterError, "'learning_rate'"), id="learning-rate-unknown"),
    pytest.param(lambda: clf(zeta_schedule="linear").fit(X, Y),
                 Raises(InvalidParameterError, "'zeta_schedule'"), id="zeta-schedule-unknown"),
    pytest.param(lambda: clf(solver="adam", beta_1=1.0).fit(X, Y),
                 Raises(InvalidParameterError, "'beta_1'"), id="beta-1-one"),
    pytest.param(lambda: clf(solver="adam", beta_2=-0.1).fit(X, Y),
                 Raises(InvalidParameterError, "'beta_2'"), id="beta-2-negative"),
    pytest.param(lambda: clf(solver="adam", epsilon=0.0).fit(X, Y),
                 Raises(InvalidParameterError, "'epsilon'"), id="epsilon-zero"),
    pytest.param(lambda: clf(learning_rate="invscaling", power_t=-1).fit(X, Y),
                 Raises(InvalidParameterError, "'power_t'"), id="power-t-negative"),
    pytest.param(lambda: clf(sparsity=0.9999).fit(X, Y),
                 Raises(ValueError, "leaves layer 0 .* with no connection"),
                 id="sparsity-leaves-empty-layer"),
    pytest.param(lambda: clf(hidden_layer_sizes=(2.5,)).fit(X, Y),
                 Raises(ValueError, "hidden_layer_sizes must hold positive integers"),
                 id="hidden-layer-size-float"),
    pytest.param(_absurd_network, Raises(MemoryError, r"needs \d+ bytes .* available"),
                 id="network-larger-than-memory"),
    pytest.param(lambda: clf(early_stopping=True).fit(X[:2], [0, 1]),
                 Raises(ValueError, "The validation set is too small"),
                 id="early-stopping-two-samples"),
    pytest.param(lambda: clf(early_stopping=True).fit(X[:10], Y[:10]),
                 Raises(ValueError, "holds out 1 and leaves 9"), id="early-stopping-one-held-out"),
    # prediction and incremental fitting
    pytest.param(_fit_then(clf(), (X, Y), lambda m: m.predict(X[:, :3])),
                 Raises(ValueError, "X has 3 features, but SETClassifier is expecting 6"),
                 id="predict-wrong-feature-count"),
    pytest.param(_fit_then(clf(), (X, Y), lambda m: m.predict(_nan_at(X))),
                 Raises(ValueError, "Input X contains NaN"), id="predict-nan"),
    pytest.param(_fit_then(clf(), (X, Y), lambda m: m.predict_proba(X[:0])),
                 Raises(ValueError, r"0 sample\(s\)"), id="predict-empty"),
    pytest.param(lambda: clf().predict(X), Raises(NotFittedError, "not fitted"),
                 id="predict-unfitted"),
    pytest.param(lambda: clf().partial_fit(X, Y), Raises(ValueError, "classes must be passed"),
                 id="partial-fit-without-classes"),
    pytest.param(lambda: clf().partial_fit(X, Y, classes=[0, 1]),
                 Raises(ValueError, r"`y` has classes not in `self.classes_`"),
                 id="partial-fit-unknown-label"),
    pytest.param(_fit_then(clf(warm_start=True), (X, Y), lambda m: m.fit(X[:, :4], Y)),
                 Raises(ValueError, "X has 4 features, but SETClassifier is expecting 6"),
                 id="warm-start-feature-count-changes"),
    # regression targets
    pytest.param(lambda: reg().fit(XR, YR * 1e30), Valid(_rescaled_targets(1e30)),
                 id="regression-y-huge-scale"),
    pytest.param(lambda: reg().fit(XR, YR * 1e300), Valid(_rescaled_targets(1e300)),
                 id="regression-y-beyond-float32-range"),
    pytest.param(lambda: reg().fit(XR, YR * 1e-30), Valid(_rescaled_targets(1e-30)),
                 id="regression-y-tiny-scale"),
    pytest.param(lambda: reg().fit(XR, np.full(90, 250.0)), Valid(_constant_target),
                 id="regression-y-constant"),
    pytest.param(lambda: reg().fit(XR[:1], YR[:1]), Valid(_one_sample_regression),
                 id="regression-one-sample"),
    pytest.param(lambda: reg(early_stopping=True).fit(XR[:1], YR[:1]),
                 Raises(ValueError, "The validation set is too small"),
                 id="regression-early-stopping-one-sample"),
    pytest.param(lambda: reg(early_stopping=True).fit(XR[:10], YR[:10]),
                 Raises(ValueError, "The validation set is too small"),
                 id="regression-early-stopping-one-held-out"),
    pytest.param(lambda: reg().fit(XR, YR.astype(object)),
                 Same(XR, kind="reg", method="predict"), id="regression-y-object-numbers"),
    pytest.param(lambda: reg().fit(XR, np.full(90, "a")),
                 Raises(ValueError, "could not convert string to float"),
                 id="regression-y-strings"),
    pytest.param(lambda: reg().fit(XR, YR + 1j), Raises(ValueError, "Complex data not supported"),
                 id="regression-y-complex"),
    pytest.param(lambda: reg().fit(XR, np.r_[np.nan, YR[1:]]),
                 Raises(ValueError, "Input y contains NaN"), id="regression-y-nan"),
    pytest.param(lambda: reg().fit(XR, sp.csr_matrix(YR[:, None])),
                 Raises(TypeError, "Sparse data was passed for y"), id="regression-y-sparse"),
    pytest.param(lambda: reg().fit(XR, YR[:, None, None]), Raises(ValueError, "dim 3"),
                 id="regression-y-3d"),
    pytest.param(lambda: reg(learning_rate_init=1e4).fit(XR, YR),
                 Raises(ValueError, "Training diverged"), id="regression-learning-rate-diverges"),
]

_LEVELS = [[0.1], [0.5], [0.9], [0.95], [0.3]]
# pandas inputs: built only where pandas is installed
PANDAS_CASES = [
    pytest.param(lambda: clf().fit(pd.DataFrame(_nan_at(X)), Y),
                 Raises(ValueError, "Input X contains NaN"), id="pandas-missing-values"),
    pytest.param(lambda: clf().fit(pd.DataFrame({"a": pd.array([1, None] * 45, dtype="Int64"),
                                                 "b": X[:, 0]}), Y),
                 Raises(ValueError, "Input X contains NaN"), id="pandas-NA-nullable-int"),
    pytest.param(lambda: clf().fit(pd.DataFrame({"a": ["x", "y"] * 45, "b": X[:, 0]}), Y),
                 Raises(ValueError, "could not convert string to float"),
                 id="pandas-string-column"),
    pytest.param(lambda: clf().fit(pd.DataFrame(X).astype("Float64"), Y),
                 Same(pd.DataFrame(X).astype("Float64")), id="pandas-nullable-float-no-missing"),
    pytest.param(lambda: clf().fit(X, pd.Series(pd.array([None] + list(Y[1:]), dtype="Int64"))),
                 Raises(ValueError, "Input y contains NaN"), id="pandas-y-missing"),
    pytest.param(lambda: clf().fit(X, pd.Series(LABELS[Y], dtype="category")),
                 Valid(_relabelled(LABELS)), id="pandas-y-categorical"),
    pytest.param(_fit_then(clf(), (pd.DataFrame(X, columns=list("abcdef")), Y),
                           lambda m: m.predict(pd.DataFrame(X, columns=list("fedcba")))),
                 Raises(ValueError, "feature names should match"),
                 id="pandas-columns-renamed-at-predict"),
] if pd is not None else [pytest.param(
    None, None, id="pandas", marks=pytest.mark.skip(reason="pandas is not installed"))]


CURVE_CASES = [
    pytest.param(lambda: SparsityCurveRegressor().fit([[0.1], [0.5], [0.9], [1.2], [0.3]],
                                                      [0.9, 0.8, 0.5, 0.1, 0.9]),
                 Raises(ValueError, r"must lie in \[0, 1\); got maximum 1.2"),
                 id="curve-sparsity-above-1"),
    pytest.param(lambda: SparsityCurveRegressor().fit(_LEVELS, [90, 80, 50, 10, 90]),
                 Raises(ValueError, r"expects scores y in \[0, 1\]"), id="curve-y-in-percent"),
    pytest.param(lambda: SparsityCurveRegressor().fit([[0.1], [0.5]], [0.9, 0.8]),
                 Raises(ValueError, "at least 4 distinct sparsity levels"),
                 id="curve-too-few-levels"),
    pytest.param(lambda: SparsityCurveRegressor().fit(_LEVELS, [0.9, np.nan, 0.5, 0.1, 0.9]),
                 Raises(ValueError, "Input y contains NaN"), id="curve-y-nan"),
    pytest.param(lambda: SparsityCurveRegressor().fit(sp.csr_matrix(_LEVELS),
                                                      [0.9, 0.8, 0.5, 0.1, 0.9]),
                 Raises(TypeError, "Sparse data was passed for X"), id="curve-sparse-X"),
    pytest.param(lambda: SparsityCurveRegressor().fit(np.array(_LEVELS) + 1j,
                                                      [0.9, 0.8, 0.5, 0.1, 0.9]),
                 Raises(ValueError, "Complex data not supported"), id="curve-complex-X"),
    pytest.param(lambda: SparsityCurveRegressor().fit(np.c_[_LEVELS, np.ones(5)],
                                                      [0.9, 0.8, 0.5, 0.1, 0.9]),
                 Raises(ValueError, "single column"), id="curve-two-columns"),
    pytest.param(lambda: SparsityCurveRegressor().fit(_LEVELS, ["a"] * 5),
                 Raises(ValueError, "numeric scores y"), id="curve-y-strings"),
]


class _Hang(Exception):
    pass


def _run_with_time_limit(outcome, action):
    """Run the case; turn a hang into a failure where SIGALRM exists."""
    use_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if use_alarm:
        def on_alarm(signum, frame):
            raise _Hang(f"the case ran for over {CASE_TIME_LIMIT} s")
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(CASE_TIME_LIMIT)
    start = time.perf_counter()
    try:
        outcome(action)
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - start < CASE_TIME_LIMIT


@pytest.mark.parametrize("action, outcome", CASES + PANDAS_CASES + CURVE_CASES)
def test_bad_input(action, outcome):
    _run_with_time_limit(outcome, action)


# --------------------------------------------------------------------------
# Faults during training: KeyboardInterrupt
# --------------------------------------------------------------------------


def _interrupt_at(monkeypatch, method, call, *, after=False):
    """Make ``SparseMLP.train_epoch`` or the policies' ``evolve`` (``method``)
    raise KeyboardInterrupt on its ``call``-th call. Before raising, the
    weights are scribbled over in place (as an epoch in progress does) or,
    with ``after``, the real method runs first (an interrupt arriving right
    after a topology change)."""
    owner = ConnectivityPolicy if method == "evolve" else SparseMLP
    original = getattr(owner, method)
    count = {"n": 0}

    def interrupted(self, *args, **kwargs):
        count["n"] += 1
        if count["n"] != call:
            return original(self, *args, **kwargs)
        if after:
            original(self, *args, **kwargs)
        else:
            network = args[0] if owner is ConnectivityPolicy else self
            for layer in network.layers:
                layer.values *= 3
                layer.bias += 1
        raise KeyboardInterrupt

    monkeypatch.setattr(owner, method, interrupted)
    return count


def _same_model(a, b, X_eval):
    out = (lambda m: m.predict_proba(X_eval)) if hasattr(a, "classes_") else (
        lambda m: m.predict(X_eval))
    np.testing.assert_array_equal(out(a), out(b))
    for name in ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.loss_curve_ == b.loss_curve_
    assert a.validation_scores_ == b.validation_scores_
    np.testing.assert_array_equal(a.n_connections_, b.n_connections_)
    assert a.sparsity_ == b.sparsity_
    for ca, cb in zip(a.coefs_, b.coefs_):
        assert (ca != cb).nnz == 0


INTERRUPTIBLE = {
    "classifier": (lambda **kw: clf(hidden_layer_sizes=(24, 12), **kw), X, Y),
    "classifier-early-stopping": (lambda **kw: clf(early_stopping=True, n_iter_no_change=50,
                                                   **kw), X, Y),
    "regressor": (lambda **kw: reg(**kw), XR, YR),
    "classifier-bfloat16": (lambda **kw: clf(hidden_layer_sizes=(24, 12), dtype="bfloat16",
                                             **kw), X, Y),
    # the policy's state (histories, candidates, budget) rolls back too
    "accset": (lambda **kw: AccSETClassifier(hidden_layer_sizes=(24, 12), shrink_rate=0.1,
                                             random_state=0, **kw), X, Y),
}


@pytest.mark.parametrize("name", list(INTERRUPTIBLE))
@pytest.mark.parametrize("epoch, method, after", [
    (2, "train_epoch", False),  # mid-epoch, weights already changed in place
    (5, "train_epoch", False),
    (4, "evolve", True),  # evolve of epoch 4 done (new topology), then Ctrl-C
])
def test_keyboard_interrupt_returns_the_last_finished_epoch(monkeypatch, name, epoch, method,
                                                            after):
    make, Xd, yd = INTERRUPTIBLE[name]
    call = epoch if method == "train_epoch" else epoch - 1  # evolve runs from epoch 2
    count = _interrupt_at(monkeypatch, method, call, after=after)
    with pytest.warns(UserWarning, match=f"interrupted by KeyboardInterrupt during epoch "
                                         f"{epoch}; .* after epoch {epoch - 1}"):
        model = make(max_iter=8).fit(Xd, yd)
    assert count["n"] == call
    monkeypatch.undo()
    # exactly the model that training for epoch - 1 epochs gives
    reference_model = make(max_iter=epoch - 1).fit(Xd, yd)
    _same_model(model, reference_model, Xd)
    # and it trains on from there as that model does (random state restored)
    for m in (model, reference_model):
        m.set_params(warm_start=True, max_iter=2).fit(Xd, yd)
    _same_model(model, reference_model, Xd)


@pytest.mark.parametrize("name", ["classifier", "accset"])
def test_keyboard_interrupt_with_the_copy_in_a_file(monkeypatch, name):
    """A network above IN_MEMORY_COPY_MAX_BYTES keeps its Ctrl-C copy in a
    temporary file: the same model comes back, and trains on the same."""
    monkeypatch.setattr(_interrupt, "IN_MEMORY_COPY_MAX_BYTES", 0)
    to_file = {"n": 0}
    original = SparseMLP.snapshot_to_file

    def counted(self):
        to_file["n"] += 1
        return original(self)

    monkeypatch.setattr(SparseMLP, "snapshot_to_file", counted)
    make, Xd, yd = INTERRUPTIBLE[name]
    _interrupt_at(monkeypatch, "train_epoch", 5)
    with pytest.warns(UserWarning, match="after epoch 4"):
        model = make(max_iter=8).fit(Xd, yd)
    assert to_file["n"] == 4  # one copy per finished epoch, all of them in files
    monkeypatch.undo()
    reference_model = make(max_iter=4).fit(Xd, yd)
    _same_model(model, reference_model, Xd)
    for m in (model, reference_model):
        m.set_params(warm_start=True, max_iter=2).fit(Xd, yd)
    _same_model(model, reference_model, Xd)


def test_copy_kept_in_memory_when_its_file_cannot_be_written(monkeypatch):
    monkeypatch.setattr(_interrupt, "IN_MEMORY_COPY_MAX_BYTES", 0)

    def no_room(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SparseMLP, "snapshot_to_file", no_room)
    make, Xd, yd = INTERRUPTIBLE["classifier"]
    _interrupt_at(monkeypatch, "train_epoch", 3)
    with pytest.warns(UserWarning, match="could not be written to a temporary file"):
        with pytest.warns(UserWarning, match="after epoch 2"):
            model = make(max_iter=8).fit(Xd, yd)
    monkeypatch.undo()
    _same_model(model, make(max_iter=2).fit(Xd, yd), Xd)


def test_keyboard_interrupt_while_an_epoch_is_committed(monkeypatch):
    """Ctrl-C while the guard copies the network after epoch 3 (the previous
    copy already released): the network is epoch 3's, so the fit returns the
    3-epoch model."""
    original = SparseMLP.snapshot
    count = {"n": 0}

    def interrupted(self):
        count["n"] += 1
        if count["n"] == 3:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(SparseMLP, "snapshot", interrupted)
    make, Xd, yd = INTERRUPTIBLE["classifier"]
    with pytest.warns(UserWarning, match="after epoch 3"):
        model = make(max_iter=8).fit(Xd, yd)
    monkeypatch.undo()
    _same_model(model, make(max_iter=3).fit(Xd, yd), Xd)


def test_keyboard_interrupt_in_the_first_epoch_propagates(monkeypatch):
    _interrupt_at(monkeypatch, "train_epoch", 1)
    model = clf()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_keyboard_interrupt_in_partial_fit_keeps_the_previous_model(monkeypatch):
    model = clf().partial_fit(X, Y, classes=np.unique(Y)).partial_fit(X, Y)
    before = model.predict_proba(X)
    _interrupt_at(monkeypatch, "train_epoch", 1)
    with pytest.warns(UserWarning, match="after epoch 0"):
        model.partial_fit(X, Y)
    np.testing.assert_array_equal(model.predict_proba(X), before)
    # n_iter_ counts the epochs of the call (none finished), as in MLPClassifier
    assert model.n_iter_ == 0 and len(model.loss_curve_) == 2


def test_other_exceptions_are_not_swallowed(monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("engine failure")

    model = clf(max_iter=3).fit(X, Y)
    monkeypatch.setattr(SparseMLP, "train_epoch", broken)
    with pytest.raises(RuntimeError, match="engine failure"):
        model.set_params(warm_start=True).fit(X, Y)


# --------------------------------------------------------------------------
# Faults during training: a network larger than memory
# --------------------------------------------------------------------------


def test_network_larger_than_memory_is_refused_before_allocating():
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(MemoryError) as info:
            _absurd_network()
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    need = int(re.search(r"needs (\d+) bytes", str(info.value)).group(1))
    layer_sizes = [X.shape[1], 10**6, 10**6, 3]
    counts, _ = erdos_renyi_allocation(list(zip(layer_sizes[:-1], layer_sizes[1:])), 0.0)
    assert need >= network_memory_bytes(layer_sizes, counts, np.float32, 32) > 10**13
    # refused at once: well under the arrays' size and time to allocate them
    assert peak < 10**8 and elapsed < 5
    assert "Raise sparsity or narrow hidden_layer_sizes" in str(info.value)


def test_memory_refusal_threshold(monkeypatch):
    monkeypatch.setattr(_preflight, "available_memory_bytes", lambda: 0)
    with pytest.raises(MemoryError, match=r"only 0 bytes") as info:
        clf().fit(X, Y)
    need = int(re.search(r"needs (\d+) bytes", str(info.value)).group(1))
    monkeypatch.setattr(_preflight, "available_memory_bytes", lambda: need - 1)
    with pytest.raises(MemoryError):
        clf().fit(X, Y)
    monkeypatch.setattr(_preflight, "available_memory_bytes", lambda: need)
    assert clf().fit(X, Y).n_iter_ == FAST["max_iter"]
    # unknown memory (no /proc, no sysconf): no refusal
    monkeypatch.setattr(_preflight, "available_memory_bytes", lambda: None)
    assert clf().fit(X, Y).n_iter_ == FAST["max_iter"]


def test_available_memory_is_read():
    available = _preflight.available_memory_bytes()
    if sys.platform.startswith("linux"):
        assert isinstance(available, int) and available > 0
    else:  # pragma: no cover
        assert available is None or available > 0


def test_keyboard_interrupt_after_accset_policy_update_rolls_the_policy_back(monkeypatch):
    """Ctrl-C right after the policy recorded epoch k (its histories, candidates
    and next budget already updated): the policy returns to epoch k - 1."""
    from sklearn_set._evolution.policies import AccSETPolicy

    epoch = 5
    original = AccSETPolicy.observe

    def observe_then_interrupt(self, n_iter, network, score):
        original(self, n_iter, network, score)
        if n_iter == epoch:
            raise KeyboardInterrupt

    def make(**kw):
        return AccSETClassifier(hidden_layer_sizes=(24, 12), shrink_rate=0.1,
                                random_state=0, **kw)

    monkeypatch.setattr(AccSETPolicy, "observe", observe_then_interrupt)
    with pytest.warns(UserWarning, match="interrupted by KeyboardInterrupt"):
        model = make(max_iter=8).fit(X, Y)
    monkeypatch.undo()
    reference_model = make(max_iter=epoch - 1).fit(X, Y)
    _same_model(model, reference_model, X)
    np.testing.assert_array_equal(model.sparsity_history_, reference_model.sparsity_history_)
    for m in (model, reference_model):
        m.set_params(warm_start=True, max_iter=3).fit(X, Y)
    _same_model(model, reference_model, X)
    np.testing.assert_array_equal(model.sparsity_history_, reference_model.sparsity_history_)


# --------------------------------------------------------------------------
# A model that cannot work says so
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seed, said", [
    (1, "no path from an input to an output: it predicts the same for every input"),
    (0, "paths from the inputs to only 1 of its 3 outputs"),
])
def test_a_fit_whose_outputs_are_unreachable_warns(seed, said):
    """Three connections for 13 inputs, 2 hidden units and 3 classes: no
    path at all (seed 1), or one to a single output (seed 0). Either model
    predicts at most as well as chance; the warning names the cause."""
    from sklearn.datasets import load_wine

    from sklearn_set import DisconnectedNetworkWarning

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with pytest.warns(DisconnectedNetworkWarning, match=said):
        model = SETClassifier(hidden_layer_sizes=(2,), sparsity=0.9, max_iter=30,
                              random_state=seed).fit(X, y)
    assert model.topology_["outputs_reached"] == (0 if seed == 1 else 1)


def test_a_connected_fit_does_not_warn():
    from sklearn_set import DisconnectedNetworkWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", DisconnectedNetworkWarning)
        clf(sparsity=0.5).fit(X, Y)


def test_a_sweep_measures_collapsed_networks_without_a_warning_per_fit():
    """A sweep is meant to reach the collapse: its result says how much of
    each network is connected (active_fractions), so no fit warns."""
    from sklearn_set import DisconnectedNetworkWarning, sparsity_curve

    with warnings.catch_warnings():
        warnings.simplefilter("error", DisconnectedNetworkWarning)
        result = sparsity_curve(clf(hidden_layer_sizes=(4,)), X, Y, sparsities=[0.5, 0.95],
                                cv=2)
    assert np.nanmin(result.active_fractions) < 1
