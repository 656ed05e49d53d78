"""SETClassifier and SETRegressor behaviour."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.feature_selection import SelectFromModel
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

from sklearn_set import AccSETClassifier, SETClassifier, SETRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def small_problem():
    X, y = make_classification(n_samples=300, n_features=20, n_informative=8,
                               n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def test_digits_acceptance(digits_split):
    """The bar on digits: >= 0.95 test accuracy at sparsity 0.9."""
    X_train, X_test, y_train, y_test = digits_split
    clf = SETClassifier(hidden_layer_sizes=(256, 256), sparsity=0.9, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95
    assert abs(clf.sparsity_ - 0.9) <= 0.01


def test_auto_sparsity_keeps_narrow_layers_dense_and_makes_wide_ones_sparse():
    # 13 inputs, 100 hidden units, 3 classes: every layer is too small for
    # the rule's fan-in, so the network is dense
    X, y = make_classification(n_samples=120, n_features=13, n_informative=5, n_classes=3,
                               random_state=0)
    narrow = SETClassifier(max_iter=2, random_state=0).fit(X, y)
    assert narrow.sparsity == "auto"
    np.testing.assert_array_equal(narrow.n_connections_, [13 * 100, 100 * 3])
    assert narrow.sparsity_ == 0.0 and narrow.erdos_renyi_epsilon_ == np.inf
    # 784 inputs into 1000 units: that layer is sparse, the 1000x10 output dense
    X, y = make_classification(n_samples=60, n_features=784, n_informative=10,
                               n_classes=10, random_state=0)
    wide = SETClassifier(hidden_layer_sizes=(1000,), max_iter=1, random_state=0).fit(X, y)
    epsilon = wide.erdos_renyi_epsilon_
    assert np.isfinite(epsilon) and epsilon > 0
    first, output = wide.n_connections_
    assert first == np.ceil(epsilon * (784 + 1000)) and first < 0.1 * 784 * 1000
    assert output == 1000 * 10
    # sparsity_ reports the choice
    assert wide.sparsity_ == pytest.approx(1 - (first + output) / (784 * 1000 + 1000 * 10))
    assert wide.sparsity_ > 0.85


@pytest.mark.parametrize("Estimator", [SETClassifier, AccSETClassifier, SETRegressor])
def test_numeric_sparsity_keeps_its_meaning(Estimator):
    X, y = make_classification(n_samples=80, n_features=13, random_state=0)
    model = Estimator(sparsity=0.9, max_iter=1, random_state=0).fit(X, y)
    assert model.sparsity_ == pytest.approx(0.9, abs=1e-3)


def test_grid_search_over_sparsity_in_pipeline(small_problem):
    X, y = small_problem
    pipe = make_pipeline(StandardScaler(), SETClassifier(hidden_layer_sizes=(64,),
                                                         max_iter=20, random_state=0))
    search = GridSearchCV(pipe, {"setclassifier__sparsity": [0.5, 0.9, 0.99]}, cv=3, n_jobs=2)
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    assert search.best_score_ > 0.5


def test_fitted_attributes(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(50, 30), sparsity=0.8, max_iter=5,
                        random_state=0).fit(X, y)
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3
    assert clf.out_activation_ == "softmax"
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert clf.t_ == 5 * X.shape[0]
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    shapes = [(20, 50), (50, 30), (30, 3)]
    for coef, intercept, shape, count in zip(clf.coefs_, clf.intercepts_, shapes,
                                             clf.n_connections_):
        assert sp.issparse(coef) and coef.format == "csr" and coef.shape == shape
        assert coef.nnz == count and intercept.shape == (shape[1],)
    total = sum(a * b for a, b in shapes)
    assert clf.sparsity_ == pytest.approx(1 - clf.n_connections_.sum() / total)
    assert abs(clf.sparsity_ - 0.8) < 0.005
    assert np.isfinite(clf.erdos_renyi_epsilon_) and clf.erdos_renyi_epsilon_ > 0
    importances = clf.feature_importances_
    assert importances.shape == (20,) and importances.sum() == pytest.approx(1)


def test_coefs_reproduce_predict_proba(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(40,), activation="tanh", max_iter=3,
                        random_state=0).fit(X, y)
    hidden = np.tanh(X @ clf.coefs_[0].toarray() + clf.intercepts_[0])
    z = hidden @ clf.coefs_[1].toarray() + clf.intercepts_[1]
    proba = np.exp(z - z.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)))


def test_feature_importances_drive_select_from_model():
    X, y = make_classification(n_samples=400, n_features=30, n_informative=4,
                               n_redundant=0, shuffle=False, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = SETClassifier(hidden_layer_sizes=(64,), sparsity=0.5, max_iter=60, alpha=1e-2,
                        activation="relu",  # the activation the bar below is set for
                        random_state=0)
    selector = SelectFromModel(clf, max_features=4, threshold=-np.inf).fit(X, y)
    # SET prunes weak inputs' connections: the informative ones should rank high
    assert len(set(np.flatnonzero(selector.get_support())) & {0, 1, 2, 3}) >= 3


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_same_seed_same_predictions(small_problem, n_jobs):
    X, y = small_problem
    params = dict(hidden_layer_sizes=(64, 32), max_iter=5, dropout=0.1, random_state=3,
                  n_jobs=n_jobs)
    a = SETClassifier(**params).fit(X, y).predict_proba(X)
    b = SETClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_thread_count_does_not_change_the_model(small_problem):
    X, y = small_problem
    params = dict(hidden_layer_sizes=(64, 32), max_iter=5, random_state=3)
    a = SETClassifier(n_jobs=1, **params).fit(X, y).predict_proba(X)
    b = SETClassifier(n_jobs=2, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_pickle_round_trip(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(32,), max_iter=3, random_state=0).fit(X, y)
    clone_ = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), clone_.predict_proba(X))
    assert not hasattr(clone(clf), "coefs_")


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_gives_the_dense_result(fmt):
    X, y = make_classification(n_samples=200, n_features=40, random_state=0)
    X[np.abs(X) < 1] = 0
    params = dict(hidden_layer_sizes=(32,), max_iter=4, random_state=0)
    dense = SETClassifier(**params).fit(X, y)
    sparse = SETClassifier(**params).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(dense.predict_proba(X),
                               sparse.predict_proba(sp.csr_matrix(X).asformat(fmt)),
                               rtol=1e-5)


def test_pandas_input_records_feature_names(small_problem):
    pd = pytest.importorskip("pandas")
    X, y = small_problem
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = SETClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert clf.predict(frame).shape == (X.shape[0],)


def test_early_stopping_restores_best_epoch(small_problem, monkeypatch):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(64,), early_stopping=True, max_iter=40,
                        n_iter_no_change=5, learning_rate_init=0.2, random_state=0)
    seen = {}
    original = type(clf)._validation_score

    def record(self, X_val, y_val, w_val):
        seen["X"], seen["y"], seen["w"] = X_val, y_val, w_val
        return original(self, X_val, y_val, w_val)

    monkeypatch.setattr(type(clf), "_validation_score", record)
    clf.fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the returned model is the best epoch's, not the last one's
    assert original(clf, seen["X"], seen["y"], seen["w"]) == clf.best_validation_score_
    assert seen["X"].shape[0] == 30


def test_partial_fit_evolves_between_calls(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(64,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:100], y[:100], classes=np.unique(y))
    first = [c.copy() for c in clf.coefs_]
    counts = clf.n_connections_.copy()
    clf.partial_fit(X[100:], y[100:])
    # as in MLPClassifier, n_iter_ counts the epochs of the last call
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2
    np.testing.assert_array_equal(clf.n_connections_, counts)
    moved = [(a != a.multiply(b.astype(bool))).nnz > 0 or (a.indices != b.indices).any()
             if a.nnz == b.nnz else True for a, b in zip(first, clf.coefs_)]
    assert any(moved)
    assert clf.partial_fit(X, y).n_iter_ == 1 and len(clf.loss_curve_) == 3


def test_warm_start_continues(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(32,), max_iter=3, warm_start=True, random_state=0)
    clf.fit(X, y)
    clf.fit(X, y)
    # as in MLPClassifier 1.9: n_iter_ counts the epochs of the last fit, so
    # "n_iter_ < max_iter" still means the fit converged; loss_curve_ grows
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6
    clf.set_params(hidden_layer_sizes=(16,))
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        clf.fit(X, y)


def test_verbose_prints_one_line_per_epoch(small_problem, capsys):
    X, y = small_problem
    SETClassifier(hidden_layer_sizes=(16,), max_iter=3, verbose=True, early_stopping=True,
                  random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("Iteration")]
    assert len(lines) == 3
    assert re.match(r"Iteration 1, loss = [\d.]+, validation score = [\d.]+, "
                    r"sparsity = 0\.\d+, active = [\d.]+, [\d.]+ s", lines[0])


def test_class_weight_and_sample_weight(small_problem):
    X, y = small_problem
    params = dict(hidden_layer_sizes=(32,), max_iter=10, random_state=0)
    plain = SETClassifier(**params).fit(X, y)
    weighted = SETClassifier(class_weight={0: 10.0, 1: 1.0, 2: 1.0}, **params).fit(X, y)
    assert (weighted.predict(X) == 0).sum() > (plain.predict(X) == 0).sum()
    ones = SETClassifier(**params).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(ones.predict_proba(X), plain.predict_proba(X))
    # "balanced" is the weights compute_class_weight gives, nothing else
    balanced = SETClassifier(class_weight="balanced", **params).fit(X[:150], y[:150])
    weights = compute_class_weight("balanced", classes=np.unique(y[:150]), y=y[:150])
    explicit = SETClassifier(class_weight=dict(zip(np.unique(y[:150]), weights)),
                             **params).fit(X[:150], y[:150])
    assert len(set(np.round(weights, 6))) > 1  # the subset is imbalanced
    np.testing.assert_array_equal(balanced.predict_proba(X), explicit.predict_proba(X))


def test_binary_and_string_labels():
    X, y = make_classification(n_samples=200, n_features=10, random_state=1)
    labels = np.array(["no", "yes"])[y]
    clf = SETClassifier(hidden_layer_sizes=(32,), sparsity=0.5, max_iter=30,
                        random_state=0).fit(X, labels)
    assert set(clf.predict(X)) <= {"no", "yes"}
    assert clf.predict_proba(X).shape == (200, 2)
    assert clf.score(X, labels) > 0.8


def test_regressor_fits_and_handles_multioutput():
    X, y = make_regression(n_samples=400, n_features=10, n_targets=2, noise=0.1,
                           random_state=0)
    reg = SETRegressor(hidden_layer_sizes=(128,), sparsity=0.7, max_iter=100,
                       random_state=0).fit(X, y)
    assert reg.predict(X).shape == (400, 2)
    assert reg.score(X, y) > 0.9
    assert reg.out_activation_ == "identity"
    single = SETRegressor(hidden_layer_sizes=(32,), max_iter=3, random_state=0).fit(X, y[:, 0])
    assert single.predict(X).shape == (400,)


def test_regressor_target_scale_does_not_matter():
    X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    params = dict(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    small = SETRegressor(**params).fit(X, y).predict(X)
    large = SETRegressor(**params).fit(X, 1e4 * y + 7).predict(X)
    np.testing.assert_allclose(large, 1e4 * small + 7, rtol=1e-4, atol=1e-3 * np.abs(large).max())


def test_not_fitted_errors():
    for est in (SETClassifier(), SETRegressor()):
        with pytest.raises(NotFittedError):
            est.predict(np.zeros((2, 3)))
        with pytest.raises(NotFittedError):
            _ = est.coefs_


def test_max_iter_reached_warns(small_problem):
    X, y = small_problem
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        SETClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)


# -- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_X_is_refused(small_problem, value):
    X, y = small_problem
    X = X.copy()
    X[3, 2] = value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        SETClassifier(max_iter=1).fit(X, y)


def test_non_finite_y_is_refused():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    y[4] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        SETRegressor(max_iter=1).fit(X, y)


def test_wrong_feature_count_at_predict(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(8,), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but SETClassifier is expecting 20"):
        clf.predict(X[:, :5])


def test_single_class_is_refused(small_problem):
    X, _ = small_problem
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: 1"):
        SETClassifier(max_iter=1).fit(X, np.ones(len(X)))


def test_single_weighted_class_is_refused(small_problem):
    X, y = small_problem
    with pytest.raises(ValueError, match="at least 2 classes with a positive sample_weight"):
        SETClassifier(max_iter=1).fit(X, y, sample_weight=(y == 1).astype(float))


@pytest.mark.parametrize("params,match", [
    ({"sparsity": 1.0}, r"'sparsity' parameter .* range \[0.0, 1.0\)"),
    ({"sparsity": "dense"}, r"'sparsity' parameter .*\{'auto'\}"),
    ({"sparsity": -0.1}, r"'sparsity' parameter .* range \[0.0, 1.0\)"),
    ({"zeta": 1.0}, r"'zeta' parameter .* range \[0.0, 1.0\)"),
    ({"zeta": -0.5}, r"'zeta' parameter"),
    ({"dropout": 1.0}, r"'dropout' parameter"),
    ({"learning_rate_init": 0.0}, r"'learning_rate_init' parameter"),
    ({"activation": "softplus"}, r"'activation' parameter"),
    ({"batch_size": 0}, r"'batch_size' parameter"),
    ({"hidden_layer_sizes": (10, 0)}, r"hidden_layer_sizes must hold positive integers"),
    ({"hidden_layer_sizes": 0}, r"'hidden_layer_sizes' parameter"),
    ({"sparsity": 0.9999}, r"sparsity=0.9999 leaves layer \d \(shape \d+x\d+\) with no connection"),
])
def test_invalid_parameters_are_named(small_problem, params, match):
    X, y = small_problem
    with pytest.raises(ValueError, match=match):
        SETClassifier(hidden_layer_sizes=params.pop("hidden_layer_sizes", (10,)),
                      **params).fit(X, y)


def test_divergence_stops_with_a_clear_error(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(64,), learning_rate_init=1e6, sparsity=0.5,
                        max_iter=50, random_state=0)
    with pytest.raises(ValueError, match=r"Training diverged in epoch \d+.*learning_rate_init"):
        clf.fit(X * 1e3, y)
    with pytest.raises(NotFittedError):  # no NaN model is left behind
        clf.predict(X)


def test_overflowing_inputs_at_predict_are_refused(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="non-finite outputs"):
            clf.predict(np.full((2, 20), 3e38))


def test_float64_compute_dtype(small_problem):
    X, y = small_problem
    params = dict(hidden_layer_sizes=(32,), max_iter=10, random_state=0)
    single = SETClassifier(**params).fit(X, y)
    double = SETClassifier(dtype="float64", **params).fit(X, y)
    assert double.coefs_[0].dtype == np.float64 and single.coefs_[0].dtype == np.float32
    assert double.intercepts_[0].dtype == np.float64
    # same topology and training path; only rounding differs
    np.testing.assert_allclose(double.predict_proba(X), single.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize("Estimator", [SETClassifier, SETRegressor, AccSETClassifier])
def test_every_parameter_reaches_its_attribute(Estimator):
    # each parameter set to a value of its own (no two equal) comes back
    # under its own name: none is dropped or swapped on its way to the base
    names = Estimator._get_param_names()
    values = {name: f"value of {name}" for name in names}
    assert Estimator(**values).get_params(deep=False) == values
    defaults = Estimator().get_params(deep=False)
    assert set(defaults) == set(names)


@pytest.mark.parametrize("Estimator", [SETClassifier, SETRegressor, AccSETClassifier])
@pytest.mark.parametrize("solver, activation, dropout", [
    ("sgd", "relu", 0.0), ("adam", "tanh", 0.2), ("sgd", "allrelu", 0.0),
    ("adam", "logistic", 0.0), ("sgd", "leaky_relu", 0.1)])
def test_bfloat16_rows_train_like_float32(small_problem, Estimator, solver, activation,
                                          dropout):
    """float32 weights trained on bfloat16 rows: a model of its own (not the
    float32 one), as good on the training data, with float32 parameters."""
    X, y = small_problem
    if Estimator is SETRegressor:
        y = X[:, :3] @ np.array([1.0, -2.0, 0.5])
    params = dict(hidden_layer_sizes=(48, 32), max_iter=15, random_state=0, solver=solver,
                  activation=activation, dropout=dropout)
    if Estimator is AccSETClassifier:
        params.pop("hidden_layer_sizes")
        params["max_iter"] = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = Estimator(**params).fit(X, y)
        half = Estimator(dtype="bfloat16", **params).fit(X, y)
    assert half._network.storage == np.uint16 and single._network.storage == np.float32
    assert all(c.dtype == np.float32 for c in half.coefs_ + half.intercepts_)
    assert not np.array_equal(half.coefs_[0].toarray(), single.coefs_[0].toarray())
    assert half.score(X, y) >= single.score(X, y) - 0.1


def test_bfloat16_sparse_input_trains_the_dense_model(small_problem):
    X, y = small_problem
    X = np.where(np.abs(X) < 0.8, 0.0, X)
    params = dict(hidden_layer_sizes=(32,), max_iter=5, random_state=0, dtype="bfloat16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = SETClassifier(**params).fit(X, y)
        sparse = SETClassifier(**params).fit(sp.csr_matrix(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_array_equal(a.toarray(), b.toarray())


def test_bfloat16_warm_start_and_partial_fit_switch_the_rows(small_problem):
    """The weights are float32 either way: a warm start or partial_fit may
    change dtype between float32 and bfloat16 and train on."""
    X, y = small_problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SETClassifier(hidden_layer_sizes=(32,), max_iter=3, random_state=0,
                            warm_start=True).fit(X, y)
        before = clf.coefs_[0].toarray()
        clf.set_params(dtype="bfloat16").fit(X, y)
        assert clf._network.storage == np.uint16
        assert not np.array_equal(before, clf.coefs_[0].toarray())
        clf.set_params(dtype="float32").partial_fit(X, y)
    assert clf._network.storage == np.float32
    assert pickle.loads(pickle.dumps(clf)).score(X, y) == clf.score(X, y)


def test_bfloat16_divergence_stops_with_a_clear_error(small_problem):
    X, y = small_problem
    clf = SETClassifier(hidden_layer_sizes=(64,), learning_rate_init=1e6, sparsity=0.5,
                        max_iter=50, random_state=0, dtype="bfloat16")
    with pytest.raises(ValueError, match=r"Training diverged in epoch \d+.*learning_rate_init"):
        clf.fit(X * 1e3, y)
