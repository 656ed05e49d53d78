"""Compaction: the function a fitted sparse MLP computes, as per-layer sparse
weights without the units that lie on no input-to-output path.

A hidden unit that no input reaches outputs the constant ``f(bias)``: that
constant folds into the next layer's biases. A hidden unit that reaches no
output changes nothing and is dropped. An affine scaler in front of the
network folds into the first layer and a regressor's target
standardisation into the last, so the compact network maps raw inputs to
exactly what ``predict_proba`` (classifiers) or ``predict`` (regressors)
returns. Everything is computed in float64.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.utils._param_validation import HasMethods, validate_params
from sklearn.utils.validation import check_is_fitted

from .._base import BaseSparseMLP
from .._docstrings import fill_doc
from .._engine._kernels.train import activate_inplace
from .._engine.activations import hidden_activation_codes
from .._engine.network import output_kind
from .._set import _SparseClassifierMixin, _SparseRegressorMixin


def activate(z, code, slope):
    """``f(z)`` of the hidden activation ``(code, slope)`` as a new float64
    array: the kernels' own function
    (:func:`~sklearn_set._engine._kernels.train.activate_inplace`), so that
    a compact network computes what the estimator does."""
    a = np.array(z, dtype=np.float64, order="C")
    activate_inplace(a.reshape(-1), code, slope)
    return a


def _scaler_affine(scaler):
    """``(a, c)`` with ``scaler.transform(X) == X * a + c``, in float64."""
    check_is_fitted(scaler)
    n = scaler.n_features_in_
    if isinstance(scaler, StandardScaler):
        a = 1.0 / scaler.scale_ if scaler.with_std else np.ones(n)
        c = -scaler.mean_ * a if scaler.with_mean else np.zeros(n)
    elif isinstance(scaler, MinMaxScaler):
        if scaler.clip:
            raise ValueError("MinMaxScaler(clip=True) is not affine and cannot be folded "
                             "into the network; refit it with clip=False.")
        a, c = scaler.scale_, scaler.min_
    elif isinstance(scaler, MaxAbsScaler):
        a, c = 1.0 / scaler.scale_, np.zeros(n)
    else:
        raise TypeError(f"Pipeline step {type(scaler).__name__} is not supported; only the "
                        f"affine scalers {', '.join(s.__name__ for s in AFFINE_SCALERS)} "
                        "may precede the sparse network.")
    return np.asarray(a, dtype=np.float64), np.asarray(c, dtype=np.float64)


AFFINE_SCALERS = (StandardScaler, MinMaxScaler, MaxAbsScaler)
SPARSE_ESTIMATORS = "SETClassifier, AccSETClassifier or SETRegressor"


def split_pipeline(model):
    """The sparse estimator at the end of ``model`` and the affine map
    ``X * a + c`` of the scalers before it (``None`` without scalers)."""
    affine = None
    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps if step not in (None, "passthrough")]
        if not steps:
            raise TypeError("The pipeline has no steps.")
        for scaler in steps[:-1]:
            a, c = _scaler_affine(scaler)
            affine = (a, c) if affine is None else (affine[0] * a, affine[1] * a + c)
        model = steps[-1]
        if affine is not None and not (np.isfinite(affine[0]).all() and (affine[0] != 0).all()
                                       and np.isfinite(affine[1]).all()):
            raise ValueError("The scalers map a feature by a zero or non-finite factor or "
                             "offset; such a pipeline cannot be exported.")
    if not isinstance(model, BaseSparseMLP):
        raise TypeError(f"Expected a fitted {SPARSE_ESTIMATORS}, or a Pipeline of affine "
                        "scalers (StandardScaler, MinMaxScaler, MaxAbsScaler) ending in "
                        f"one, got {type(model).__name__}.")
    check_is_fitted(model)
    if affine is not None and affine[0].shape[0] != model.n_features_in_:
        raise ValueError(f"The scalers transform {affine[0].shape[0]} features but the "
                         f"network expects {model.n_features_in_}.")
    return model, affine


@dataclass(frozen=True, eq=False)
class CompactNetwork:
    """Per-layer sparse weights of a fitted sparse MLP, dead units removed.

    Returned by :func:`compact`: every unit on no input-to-output path is
    gone.

    The parameters are stored as attributes of the same names.

    Parameters
    ----------
    coefs : list of scipy.sparse.csc_matrix
        Layer ``i`` has shape ``(layer_sizes[i], layer_sizes[i + 1])``, float64;
        column ``j`` holds the connections into unit ``j`` (CSC is CSR by output
        unit).
    intercepts : list of ndarray
        Bias of each unit of each layer, float64.
    hidden_activations : list of tuple
        ``(activation_code, negative_slope)`` of each hidden layer, the codes of
        the training kernels.
    output : {"softmax", "logistic", "identity"}
        Output function: class probabilities, per-label probabilities
        (multilabel) or regression targets.
    hidden_units : list of ndarray
        For each hidden layer, the indices in the fitted network of the units
        kept.
    classes : ndarray or None, default=None
        ``classes_`` of a classifier, ``None`` for a regressor.
    input_affine : tuple of ndarray or None, default=None
        ``(a, c)``: the scalers' map ``x * a + c`` of the raw features,
        already folded into ``coefs[0]`` and ``intercepts[0]``; ``None``
        without scalers. The int8 export quantises the network on the scaled
        features (see :meth:`scaled_input_layer`).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_set import CompactNetwork
    >>> network = CompactNetwork(
    ...     coefs=[sp.csc_matrix(np.array([[1.0], [0.0]])), sp.csc_matrix(np.array([[2.0]]))],
    ...     intercepts=[np.zeros(1), np.array([0.5])], hidden_activations=[(0, 0.0)],
    ...     output="identity", hidden_units=[np.arange(1)])
    >>> network.layer_sizes, network.n_parameters
    ((2, 1, 1), 4)
    >>> network.forward([[3.0, 7.0]])
    array([[6.5]])
    """

    coefs: list
    intercepts: list
    hidden_activations: list
    output: str
    hidden_units: list
    classes: object = None
    input_affine: object = None

    @property
    def layer_sizes(self):
        """tuple of int: units per layer, inputs and outputs included."""
        return (self.coefs[0].shape[0],) + tuple(w.shape[1] for w in self.coefs)

    @property
    def n_connections(self):
        """ndarray of int: connections per layer."""
        return np.array([w.nnz for w in self.coefs], dtype=np.int64)

    @property
    def n_parameters(self):
        """int: connections plus the biases of the hidden and output units."""
        return int(self.n_connections.sum() + sum(b.shape[0] for b in self.intercepts))

    def scaled_input_layer(self):
        """The first layer on the scaled features ``x * a + c``.

        The scalers are unfolded: the weights and biases take the scaled
        features instead of the raw ones.

        Returns
        -------
        coef : scipy.sparse.csc_matrix
            Weights of shape ``(layer_sizes[0], layer_sizes[1])``.
        intercept : ndarray
            Biases of the first layer's units.
        """
        w, b = self.coefs[0], self.intercepts[0]
        if self.input_affine is None:
            return w, b
        a, c = self.input_affine
        w = sp.csc_matrix(sp.diags(1.0 / a) @ w)
        w.sort_indices()
        return w, b - np.asarray(c @ w).ravel()

    def forward(self, X):
        """What the network outputs for raw inputs ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs, before any scaler the network was compacted with.

        Returns
        -------
        out : ndarray of shape (n_samples, n_outputs)
            Class probabilities (softmax), label probabilities (logistic) or
            regression targets (identity), float64.
        """
        a = np.asarray(X, dtype=np.float64)
        last = len(self.coefs) - 1
        for layer, (w, b) in enumerate(zip(self.coefs, self.intercepts)):
            z = np.asarray(a @ w) + b if w.nnz else np.broadcast_to(b, (a.shape[0], b.shape[0]))
            if layer < last:
                code, slope = self.hidden_activations[layer]
                a = activate(z, code, slope)
        out = np.array(z, dtype=np.float64, order="C")
        output_kind(self.output).activate(out.T)  # as predict does, feature-major
        return out


def _drop_constant_units(coefs, intercepts, activations, kept):
    """Forward pass: a hidden unit without incoming connections outputs
    ``f(bias)``; add that constant times its outgoing weights to the next
    biases and remove the unit."""
    for layer in range(len(coefs) - 1):
        w = coefs[layer]
        reached = np.diff(w.indptr) > 0
        if reached.all():
            continue
        code, slope = activations[layer]
        constant = activate(intercepts[layer][~reached], code, slope)
        nxt = coefs[layer + 1].tocsr()
        intercepts[layer + 1] = intercepts[layer + 1] + nxt[~reached].T @ constant
        coefs[layer + 1] = nxt[reached].tocsc()
        coefs[layer] = w[:, reached]
        intercepts[layer] = intercepts[layer][reached]
        kept[layer] = kept[layer][reached]


def _drop_useless_units(coefs, intercepts, kept):
    """Backward pass: remove hidden units with no outgoing connection (after
    the later layers lost theirs)."""
    for layer in range(len(coefs) - 1, 0, -1):
        useful = np.diff(coefs[layer].tocsr().indptr) > 0
        if useful.all():
            continue
        coefs[layer] = coefs[layer].tocsr()[useful].tocsc()
        coefs[layer - 1] = coefs[layer - 1][:, useful]
        intercepts[layer - 1] = intercepts[layer - 1][useful]
        kept[layer - 1] = kept[layer - 1][useful]


@validate_params({"model": [HasMethods(["predict"])]}, prefer_skip_nested_validation=True)
def compact(model):
    """The network a fitted sparse MLP computes, without its dead units.

    Dead units lie on no input-to-output path.

    A hidden unit that no input reaches has the constant activation
    ``f(bias)``, which is added to the next layer's biases; a hidden unit
    that reaches no output is dropped; connections of weight exactly 0 are
    dropped. Affine scalers before the network in a Pipeline fold into the
    first layer (``w' = w * a``, ``b' = b + c @ w`` for the map
    ``x * a + c``) and a regressor's internal target standardisation into the
    last, so :meth:`CompactNetwork.forward` of raw inputs equals the model's
    ``predict_proba`` (classifiers) or ``predict`` (regressors) up to
    rounding. :attr:`CompactNetwork.n_parameters` counts what a deployed
    model stores: connections and the biases of live units.

    Parameters
    ----------
%(exported_model_parameter)s

    Returns
    -------
    network : CompactNetwork
        Per-layer weights and biases (float64), activations and output kind.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_set import SETClassifier, compact
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SETClassifier(hidden_layer_sizes=(32,), sparsity=0.9, max_iter=5,
    ...                     random_state=0).fit(X, y)
    >>> network = compact(clf)
    >>> network.n_parameters <= sum(w.nnz for w in clf.coefs_) + 32 + 3
    True
    >>> bool(abs(network.forward(X) - clf.predict_proba(X)).max() < 1e-5)
    True
    """
    estimator, affine = split_pipeline(model)
    coefs = [sp.csc_matrix(w, dtype=np.float64) for w in estimator.coefs_]
    intercepts = [np.asarray(b, dtype=np.float64) for b in estimator.intercepts_]
    activations = hidden_activation_codes(estimator.activation, len(coefs) - 1)
    if affine is not None:
        a, c = affine
        intercepts[0] = intercepts[0] + coefs[0].T @ c
        coefs[0] = sp.csc_matrix(sp.diags(a) @ coefs[0])
    if isinstance(estimator, _SparseRegressorMixin):
        y_scale = np.asarray(estimator._y_scale, dtype=np.float64)
        coefs[-1] = sp.csc_matrix(coefs[-1] @ sp.diags(y_scale))
        intercepts[-1] = intercepts[-1] * y_scale + estimator._y_mean
    for values in [w.data for w in coefs] + intercepts:
        if not np.isfinite(values).all():
            raise ValueError("The network holds non-finite weights or biases (after "
                             "folding the scalers); it cannot be compacted.")
    classes = estimator.classes_ if isinstance(estimator, _SparseClassifierMixin) else None
    network = CompactNetwork(coefs=coefs, intercepts=intercepts,
                             hidden_activations=activations, output=estimator.out_activation_,
                             hidden_units=[np.arange(w.shape[1]) for w in coefs[:-1]],
                             classes=classes, input_affine=affine)
    return prune(network)


compact.__doc__ = fill_doc(compact.__doc__)


def prune(network):
    """``network`` without its zero weights and the units on no
    input-to-output path (see :func:`compact`)."""
    coefs = [w.copy() for w in network.coefs]
    intercepts = list(network.intercepts)
    kept = list(network.hidden_units)
    for w in coefs:
        w.eliminate_zeros()
        w.sort_indices()
    _drop_constant_units(coefs, intercepts, network.hidden_activations, kept)
    _drop_useless_units(coefs, intercepts, kept)
    for w in coefs:
        w.sort_indices()
    return dataclasses.replace(network, coefs=coefs, intercepts=intercepts, hidden_units=kept)
