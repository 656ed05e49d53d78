"""SETClassifier and SETRegressor: truly sparse MLPs trained with Sparse
Evolutionary Training."""

from numbers import Number

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ._base import _DTYPES, BaseSparseMLP, passed_on
from ._callbacks import with_callbacks
from ._docstrings import fill_doc


def _explain_label_types(y):
    """Raise a ValueError naming the kinds of labels an object ``y`` mixes
    (scikit-learn only reports such targets as of "unknown" type)."""
    if y.dtype != object:
        return
    kinds = set()
    for value in y:
        if value is None or (isinstance(value, float) and value != value):
            kinds.add("missing values (None or NaN)")
        elif isinstance(value, str):
            kinds.add("strings")
        elif isinstance(value, (Number, np.number, np.bool_)):
            kinds.add("numbers")
        else:
            kinds.add(f"{type(value).__name__} objects")
    if len(kinds) > 1 or "missing values (None or NaN)" in kinds:
        raise ValueError(
            f"y mixes {' and '.join(sorted(kinds))}; class labels must be all strings "
            "or all numbers, with no missing value.")


class _SparseClassifierMixin(ClassifierMixin):
    """Target handling and prediction shared by the sparse classifiers."""

    @property
    def _output(self):
        # one softmax over classes, or independent sigmoids over labels
        return "logistic" if getattr(self, "_multilabel", False) else "softmax"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _encode_targets(self, X, y, first_call, classes, incremental):
        if not sp.issparse(y):
            y = np.asarray(y)
        if sp.issparse(y) or (y.ndim == 2 and y.shape[1] > 1):
            return self._encode_multilabel(X, y, first_call, classes)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        try:
            check_classification_targets(y)
        except ValueError:
            _explain_label_types(y)
            raise
        self._check_target_kind(y, ("binary", "multiclass"))
        if first_call:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if labels.shape[0] < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, "
                    f"but the data contain only one class: {labels[0]}.")
            self.classes_ = labels
            self.n_outputs_ = labels.shape[0]
            self._multilabel = False
        else:
            self._check_same_targets(classes, multilabel=False)
        self._check_known_labels(np.unique(y), incremental)
        return np.searchsorted(self.classes_, y).astype(np.int32)

    def _check_known_labels(self, labels, incremental):
        """Raise, with MLPClassifier's messages, if the ``labels`` of ``y``
        do not fit ``classes_``: a warm-started fit needs exactly the same
        classes, partial_fit any of them."""
        if not incremental:
            if not np.array_equal(labels, self.classes_):  # both sorted and unique
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` has "
                    f"{labels}")
        elif np.setdiff1d(labels, self.classes_).size:
            raise ValueError(
                "`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {labels}.")

    def _encode_multilabel(self, X, y, first_call, classes):
        """A label indicator matrix: one sigmoid output per label, as in
        MLPClassifier; ``classes_`` is ``arange(n_labels)``."""
        self._check_target_kind(y, ("multilabel-indicator",))
        Y = y.toarray() if sp.issparse(y) else np.asarray(y)
        check_consistent_length(X, Y)
        if first_call:
            labels = np.arange(Y.shape[1])
            if classes is not None and not np.array_equal(np.unique(classes), labels):
                raise ValueError(
                    f"classes={classes!r} does not match the {Y.shape[1]} label columns "
                    f"of the multilabel y, whose classes are {labels!r}.")
            self.classes_ = labels
            self.n_outputs_ = Y.shape[1]
            self._multilabel = True
        else:
            self._check_same_targets(classes, multilabel=True)
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {Y.shape[1]} label columns; the model was "
                                 f"fitted on {self.n_outputs_}.")
        return np.ascontiguousarray(Y, dtype=_DTYPES[self.dtype])

    def _check_target_kind(self, y, accepted):
        kind = type_of_target(y, input_name="y")
        if kind not in accepted:
            raise ValueError(f"{type(self).__name__} supports binary, multiclass and "
                             f"multilabel-indicator targets, got {kind}.")

    def _check_same_targets(self, classes, *, multilabel):
        """A later fit (partial_fit, warm start) must keep the kind of target
        and the classes of the first."""
        if multilabel != self._multilabel:
            kinds = {True: "multilabel-indicator", False: "binary or multiclass"}
            raise ValueError(f"y is {kinds[multilabel]} but the model was fitted on "
                             f"{kinds[self._multilabel]} targets.")
        if classes is not None and not np.array_equal(self.classes_, np.unique(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_!r}")

    def _target_weights(self, y):
        if self.class_weight is None:
            return np.ones(y.shape[0])
        if self._multilabel:
            raise ValueError("class_weight is not supported for multilabel targets; "
                             "pass sample_weight instead.")
        present = np.unique(y)
        per_class = compute_class_weight(self.class_weight, classes=self.classes_[present],
                                         y=self.classes_[y])
        weights = np.zeros(self.classes_.shape[0])
        weights[present] = per_class
        return weights[y]

    def _check_training_targets(self, y, sample_weight):
        if self._multilabel:
            return
        weighted = np.unique(y[sample_weight > 0])
        if weighted.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes with a "
                f"positive sample_weight, but only class {self.classes_[weighted[0]]} "
                "has any.")

    def _validation_score(self, X, y, sample_weight):
        """Accuracy; for multilabel targets the share of samples whose labels
        are all right (subset accuracy, as ``accuracy_score`` defines it)."""
        network = self._network
        predicted = network.output.predict(network.predict_output(X))
        return accuracy_score(y, predicted, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, in the order of ``classes_``; for multilabel
            targets the probability of each label (rows need not sum to 1).
        """
        proba = self._network_output(X).astype(np.float64)
        if not self._multilabel:  # sigmoids of multilabel outputs stay as they are
            proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities (``-inf`` where a probability underflows to 0).
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels; for multilabel targets a 0/1 indicator matrix
            (probability above 0.5).
        """
        check_is_fitted(self)
        predicted = self._network.output.predict(self._network_output(X))
        # multilabel predictions are the 0/1 indicators themselves
        return predicted if self._multilabel else self.classes_[predicted]

    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over the given data.

        The topology evolves (prune and regrow) at the start of every call
        after the first, that is between calls, so the model a call returns
        never holds untrained fresh connections. With ``early_stopping=True``
        it raises a ValueError, as MLPClassifier's does. The arguments come in
        MLPClassifier's order (``sample_weight`` before ``classes``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix (multilabel: one
            sigmoid output per label, trained with binary cross-entropy).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample loss weights.
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if not hasattr(self, "_network") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)


class _SparseRegressorMixin(RegressorMixin):
    """Target handling and prediction shared by the sparse regressors."""

    _output = "identity"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _encode_targets(self, X, y, first_call, classes, incremental):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y", order="C")
        check_consistent_length(X, y)
        single = y.ndim == 1
        y = y.reshape(-1, 1) if single else y
        if first_call:
            self.n_outputs_ = y.shape[1]
            self._single_output = single
            # Train on standardised targets: SGD's stable step size then does
            # not depend on the targets' units. The statistics are taken in
            # float64 on y divided by its largest magnitude, so that no target
            # representable in float64 overflows them.
            peak = np.abs(y).max(axis=0)
            peak = np.where(peak > 0, peak, 1.0)
            unit = y / peak
            self._y_mean = unit.mean(axis=0) * peak
            scale = unit.std(axis=0) * peak
            self._y_scale = np.where(scale > 0, scale, 1.0)
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs, the model was fitted with "
                             f"{self.n_outputs_}.")
        with np.errstate(over="ignore", invalid="ignore"):
            y = ((y - self._y_mean) / self._y_scale).astype(_DTYPES[self.dtype])
        if not np.isfinite(y).all():
            raise ValueError(
                f"The standardised targets overflow {self.dtype}: y lies too far from the "
                f"mean {self._y_mean} and scale {self._y_scale} of the targets the model "
                "was first fitted on.")
        return np.ascontiguousarray(y)

    def _validation_score(self, X, y, sample_weight):
        return r2_score(y, self._network.predict_output(X), sample_weight=sample_weight)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        check_is_fitted(self)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._network_output(X).astype(np.float64) * self._y_scale + self._y_mean
        if not np.isfinite(out).all():
            raise ValueError("The predictions overflow float64 once brought back to the "
                             f"scale {self._y_scale} of the targets.")
        return out.ravel() if self._single_output else out

    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over the given data.

        The topology evolves (prune and regrow) at the start of every call
        after the first, that is between calls, so the model a call returns
        never holds untrained fresh connections. With ``early_stopping=True``
        it raises a ValueError, as MLPClassifier's does.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample loss weights.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)


class SETClassifier(_SparseClassifierMixin, BaseSparseMLP):
    __doc__ = fill_doc("""Truly sparse multilayer perceptron classifier trained with SET.

    Every layer is sparse from the first step: connections are allocated
    Erdos-Renyi style to reach ``sparsity``, stored as flat arrays, and only
    existing connections are ever computed (numba kernels, float32 by
    default). After each epoch but the last, Sparse Evolutionary Training
    (SET) [1]_ removes the fraction ``zeta`` of positive and of negative
    weights closest to zero and regrows as many connections at random empty
    positions. The output is a softmax trained with cross-entropy and
    minibatch SGD with momentum.

    Read more in the :ref:`User Guide <set>`.

    Parameters
    ----------
%(classifier_parameters)s

    Attributes
    ----------
%(classifier_attributes)s

%(fitted_attributes)s

    See Also
    --------
    AccSETClassifier : The same network; validation accuracy steers its
        sparsity.
    SETRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : The dense multilayer perceptron.

    References
    ----------
%(set_references)s

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_set import SETClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, stratify=y, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), SETClassifier(
    ...     hidden_layer_sizes=(256,), sparsity=0.9, max_iter=30, random_state=0))
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    >>> round(clf[-1].sparsity_, 3)
    0.9
    """)

    _parameter_constraints = {
        **BaseSparseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(100,),
        activation="allrelu",
        sparsity="auto",
        zeta=0.3,
        zeta_schedule="constant",
        regrowth="random",
        alpha=0.1,
        batch_size="auto",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=0.01,
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        dropout=0.0,
        max_iter=500,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        class_weight=None,
        n_jobs=None,
        dtype="float32",
    ):
        super().__init__(**passed_on(super().__init__, locals()))
        self.class_weight = class_weight


class SETRegressor(_SparseRegressorMixin, BaseSparseMLP):
    __doc__ = fill_doc("""Truly sparse multilayer perceptron regressor trained with SET.

    The regression counterpart of :class:`SETClassifier`: identity output
    units trained on the squared error, same sparse layers, kernels and
    Sparse Evolutionary Training [1]_. Targets are standardised internally
    (each output to mean 0 and variance 1, from the first fit or partial_fit
    call), so the default step size works whatever their units; predictions
    come back in the original units, while ``loss_`` and ``loss_curve_`` are
    in standardised units.

    Read more in the :ref:`User Guide <set>`.

    Parameters
    ----------
%(regressor_parameters)s

    Attributes
    ----------
    out_activation_ : str
        ``"identity"``.

%(fitted_attributes)s

    See Also
    --------
    SETClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : The dense multilayer perceptron.

    References
    ----------
%(set_references)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_set import SETRegressor
    >>> X, y = make_regression(n_samples=500, n_features=20, noise=1.0, random_state=0)
    >>> reg = make_pipeline(StandardScaler(), SETRegressor(
    ...     hidden_layer_sizes=(128,), sparsity=0.8, max_iter=50, random_state=0))
    >>> reg.fit(X, y).score(X, y) > 0.9
    True
    """)
