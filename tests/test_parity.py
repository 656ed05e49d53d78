"""Behaviours shared with MLPClassifier / MLPRegressor where a parameter
means the same (the gaps scikit-learn's own MLP tests found)."""

import inspect
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_set import AccSETClassifier, SETClassifier, SETRegressor


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(n_samples=240, n_features=12, n_classes=4,
                                          random_state=0)
    return X / X.max(), Y


def quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


# -- 1. multilabel indicator targets ----------------------------------------


@pytest.mark.parametrize("Estimator", [SETClassifier, AccSETClassifier])
def test_multilabel_targets_get_one_sigmoid_per_label(Estimator, multilabel):
    X, Y = multilabel
    clf = quiet_fit(Estimator(hidden_layer_sizes=(32,), sparsity=0.5, max_iter=40,
                              random_state=0), X, Y)
    assert clf.out_activation_ == "logistic"
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    proba = clf.predict_proba(X)
    assert proba.shape == (240, 4) and np.all((proba >= 0) & (proba <= 1))
    # independent labels: rows do not sum to one
    assert not np.allclose(proba.sum(axis=1), 1)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    # learned something: subset accuracy well above always predicting the
    # most frequent label set
    _, counts = np.unique(Y, axis=0, return_counts=True)
    assert accuracy_score(Y, pred) > counts.max() / len(Y) + 0.1


def test_accset_validation_accuracy_is_subset_accuracy(multilabel):
    X, Y = multilabel
    clf = quiet_fit(AccSETClassifier(hidden_layer_sizes=(32,), sparsity=0.5, max_iter=5,
                                     random_state=0), X, Y)
    scores = clf.validation_accuracy_history_
    # subset accuracy of a held-out set of 24 samples: multiples of 1/24
    np.testing.assert_allclose(scores * 24, np.round(scores * 24), atol=1e-9)
    assert np.all((0 <= scores) & (scores <= 1))


def test_multilabel_partial_fit_and_errors(multilabel):
    X, Y = multilabel
    clf = SETClassifier(hidden_layer_sizes=(16,), random_state=0)
    clf.partial_fit(X, Y, classes=np.arange(4)).partial_fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    with pytest.raises(ValueError, match="label columns"):
        clf.partial_fit(X, Y[:, :3])
    with pytest.raises(ValueError, match="but the model was fitted on multilabel"):
        clf.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="class_weight is not supported for multilabel"):
        SETClassifier(class_weight="balanced").fit(X, Y)


# -- 2. dense layers are not rewired ----------------------------------------


def test_dense_network_keeps_its_weights_between_epochs():
    """At sparsity 0 evolution would only replace trained weights by fresh
    small ones at the same places: it does not happen, so two epochs of SET
    equal two epochs of a static network (zeta=0)."""
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    y = y[:300]
    kw = dict(hidden_layer_sizes=(16,), sparsity=0.0, max_iter=2, random_state=0)
    evolving = quiet_fit(SETClassifier(zeta=0.3, **kw), X, y)
    static = quiet_fit(SETClassifier(zeta=0.0, **kw), X, y)
    for a, b in zip(evolving.coefs_, static.coefs_):
        np.testing.assert_array_equal(a.toarray(), b.toarray())


# -- 3. partial_fit with other classes -------------------------------------


def test_partial_fit_with_other_classes_is_refused():
    X, y = load_digits(return_X_y=True)
    clf = SETClassifier(hidden_layer_sizes=(16,), random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    with pytest.raises(ValueError, match=r"is not the same as on last call to partial_fit"):
        clf.partial_fit(X[:100], y[:100], classes=np.arange(11))
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))  # the same classes: fine


# -- 4. n_iter_ counts the last fit ------------------------------------------


def test_n_iter_counts_the_epochs_of_the_last_fit():
    X, y = load_digits(return_X_y=True)
    clf = SETClassifier(hidden_layer_sizes=(16,), max_iter=3, warm_start=True,
                        random_state=0)
    quiet_fit(clf, X, y)
    quiet_fit(clf, X, y)
    assert clf.n_iter_ == 3
    assert len(clf.loss_curve_) == len(clf.topology_history_) == 6


# -- 5. n_iter_no_change=np.inf ---------------------------------------------


def test_n_iter_no_change_inf_disables_stopping():
    X, y = load_digits(return_X_y=True)
    kw = dict(hidden_layer_sizes=(16,), max_iter=8, tol=10.0, random_state=0)
    stopping = quiet_fit(SETClassifier(n_iter_no_change=1, **kw), X, y)
    never = quiet_fit(SETClassifier(n_iter_no_change=np.inf, **kw), X, y)
    assert stopping.n_iter_ < 8 and never.n_iter_ == 8
    with pytest.raises(InvalidParameterError):
        SETClassifier(n_iter_no_change=-np.inf).fit(X, y)


# -- 6. a validation split too small ------------------------------------------


@pytest.mark.parametrize("Estimator", [SETClassifier, SETRegressor])
def test_early_stopping_refuses_a_one_sample_validation_split(Estimator):
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="The validation set is too small"):
        Estimator(early_stopping=True, max_iter=2).fit(X[:10], y[:10])


def test_accset_holds_out_two_samples_on_tiny_data():
    X, y = load_digits(return_X_y=True)
    clf = quiet_fit(AccSETClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0),
                    X[:12] / 16, y[:12] % 2)
    # two held out: accuracies are multiples of one half
    np.testing.assert_allclose(clf.validation_accuracy_history_ * 2,
                               np.round(clf.validation_accuracy_history_ * 2))


# -- 7. zero sample weights equal dropped rows, L2 included --------------------


def test_zero_weights_equal_dropped_rows_with_l2():
    """Full-batch training, no shuffling: the L2 term is divided by the
    batch's weight sum (MLPClassifier), so rows of weight 0 change nothing.
    (SETRegressor standardises its targets with the unweighted statistics of
    all rows, a documented difference.)"""
    Estimator = SETClassifier
    X, y = load_digits(return_X_y=True)
    X, y = X[:120] / 16, y[:120]
    weight = np.ones(len(y))
    weight[::4] = 0
    kw = dict(hidden_layer_sizes=(16,), alpha=0.5, batch_size=len(y), shuffle=False,
              max_iter=3, random_state=0)
    zeros = quiet_fit(Estimator(**kw), X, y, sample_weight=weight)
    kw["batch_size"] = int((weight > 0).sum())
    dropped = quiet_fit(Estimator(**kw), X[weight > 0], y[weight > 0])
    for a, b in zip(zeros.coefs_, dropped.coefs_):
        np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=1e-5, atol=1e-7)


# -- 8. warm_start and partial_fit with other labels -------------------------


@pytest.mark.parametrize("Estimator", [SETClassifier, AccSETClassifier])
@pytest.mark.parametrize("labels", [[0, 1], [0, 1, 3], [0, 1, 2, 3]],
                         ids=["subset", "one-replaced", "one-more"])
def test_warm_start_refit_needs_the_first_fits_classes(Estimator, labels):
    X, y = load_digits(n_class=3, return_X_y=True)
    X = X[:120] / 16
    clf = quiet_fit(Estimator(hidden_layer_sizes=(8,), max_iter=2, warm_start=True,
                              random_state=0), X, y[:120])
    refit_y = np.resize(labels, 120)
    expected = ("warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got [0 1 2], `y` has {np.array(labels)}")
    with pytest.raises(ValueError, match=re.escape(expected)):
        clf.fit(X, refit_y)
    # the same classes in another order and proportion are fine
    quiet_fit(clf, X, np.sort(y[:120])[::-1])


def test_partial_fit_accepts_a_subset_and_names_unseen_labels():
    X = np.array([[3.0, 2.0], [1.0, 6.0], [2.0, 2.0]])
    clf = SETClassifier(hidden_layer_sizes=(4,), random_state=0)
    # a first batch of one sample of one class, the other class announced
    clf.partial_fit(X[:1], [0], classes=[0, 1])
    clf.partial_fit(X[1:2], [1])
    expected = ("`y` has classes not in `self.classes_`. `self.classes_` has [0 1]. "
                "'y' has [0 2].")
    with pytest.raises(ValueError, match=re.escape(expected)):
        clf.partial_fit(X[:2], [0, 2])


# -- 9. partial_fit refuses early stopping ----------------------------------


@pytest.mark.parametrize("Estimator", [SETClassifier, AccSETClassifier, SETRegressor])
def test_partial_fit_refuses_early_stopping(Estimator):
    X, y = load_digits(n_class=3, return_X_y=True)
    X, y = X[:90] / 16, y[:90]
    model = quiet_fit(Estimator(hidden_layer_sizes=(8,), max_iter=2, early_stopping=True,
                                random_state=0), X, y)
    kwargs = {} if Estimator is SETRegressor else {"classes": [0, 1, 2]}
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        model.partial_fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        Estimator(early_stopping=True).partial_fit(X, y, **kwargs)


# -- 10. what fit prints and warns ------------------------------------------


def test_verbose_epoch_line_starts_like_mlps(capsys):
    X, y = load_digits(n_class=2, return_X_y=True)
    clf = SETClassifier(hidden_layer_sizes=(8,), max_iter=2, tol=0.0, n_iter_no_change=1,
                        verbose=True, random_state=0)
    quiet_fit(clf, X[:60] / 16, y[:60])
    clf.partial_fit(X[:60] / 16, y[:60])
    lines = capsys.readouterr().out.splitlines()
    for n, line in zip([1, 2, 1], lines):
        assert re.match(rf"Iteration {n}, loss = \d+\.\d{{8}}, ", line), line


def test_convergence_warning_has_mlps_text():
    X, y = load_digits(n_class=2, return_X_y=True)
    with pytest.warns(ConvergenceWarning, match=re.escape(
            "Stochastic Optimizer: Maximum iterations (2) reached and the optimization "
            "hasn't converged yet.")):
        SETRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X[:60], y[:60])


@pytest.mark.parametrize("Estimator", [SETClassifier, AccSETClassifier, SETRegressor])
def test_partial_fit_takes_mlps_arguments_in_mlps_order(Estimator):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    mlp = MLPRegressor if Estimator is SETRegressor else MLPClassifier
    ours = list(inspect.signature(Estimator.partial_fit).parameters)
    assert ours == list(inspect.signature(mlp.partial_fit).parameters)
