"""A sparse model as a fitted dense scikit-learn MLPClassifier/MLPRegressor,
for the tools that read those (emlearn, skl2onnx, ...)."""

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import HasMethods, validate_params

from .._engine.activations import ACTIVATIONS
from .compact import compact, split_pipeline


def _dense_layers(network):
    """Dense float64 weights and biases; a hidden layer the compaction
    emptied keeps one inert unit (zero weights in and out), since
    MLPClassifier needs at least one."""
    coefs = [w.toarray() for w in network.coefs]
    intercepts = [b.copy() for b in network.intercepts]
    for layer in range(len(coefs) - 1):
        if coefs[layer].shape[1] == 0:
            coefs[layer] = np.zeros((coefs[layer].shape[0], 1))
            intercepts[layer] = np.zeros(1)
            coefs[layer + 1] = np.zeros((1, coefs[layer + 1].shape[1]))
    return coefs, intercepts


@validate_params({"model": [HasMethods(["predict"])]}, prefer_skip_nested_validation=True)
def to_mlp(model):
    """A fitted dense scikit-learn MLP with a sparse model's predictions.

    The model is compacted first (:func:`compact`), so the hidden layers have
    only the live units; a Pipeline's affine scalers are folded into the
    first layer (the MLP takes raw inputs) and a regressor's target
    standardisation into the last. A binary classifier's two softmax outputs
    become MLPClassifier's single logistic output (the difference of the two
    logits). Tools that read MLPClassifier or MLPRegressor, such as emlearn,
    skl2onnx or m2cgen, can then take the model; they store it densely.

    Parameters
    ----------
    model : estimator or Pipeline
        A fitted :class:`SETClassifier`, :class:`AccSETClassifier` or
        :class:`SETRegressor` whose ``activation`` MLPClassifier has too
        ("identity", "relu", "tanh" or "logistic"), or a
        :class:`~sklearn.pipeline.Pipeline` of ``StandardScaler``,
        ``MinMaxScaler`` or ``MaxAbsScaler`` steps ending in one.

    Returns
    -------
    mlp : MLPClassifier or MLPRegressor
        Fitted: ``predict``, ``predict_proba`` and ``score`` work.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_set import SETClassifier, to_mlp
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SETClassifier(hidden_layer_sizes=(32,), sparsity=0.9, activation="relu",
    ...                     max_iter=5, random_state=0).fit(X, y)
    >>> mlp = to_mlp(clf)
    >>> type(mlp).__name__, bool((mlp.predict(X) == clf.predict(X)).all())
    ('MLPClassifier', True)
    """
    estimator, _ = split_pipeline(model)
    mlp_activation = ACTIVATIONS[estimator.activation].mlp_name
    if mlp_activation is None:
        supported = [name for name, row in ACTIVATIONS.items() if row.mlp_name is not None]
        raise ValueError(f"activation={estimator.activation!r} has no scikit-learn MLP "
                         f"counterpart; to_mlp supports {', '.join(supported)}.")
    network = compact(model)
    coefs, intercepts = _dense_layers(network)
    hidden = tuple(w.shape[1] for w in coefs[:-1])
    if network.classes is None:
        mlp = MLPRegressor(hidden_layer_sizes=hidden, activation=mlp_activation)
        out_activation = "identity"
    else:
        mlp = MLPClassifier(hidden_layer_sizes=hidden, activation=mlp_activation)
        binarizer = LabelBinarizer()
        if network.output == "logistic":  # multilabel: an indicator matrix of the labels
            n_labels = network.classes.shape[0]
            binarizer.fit(np.vstack([np.eye(n_labels, dtype=int),
                                     np.zeros((1, n_labels), dtype=int)]))
            out_activation = "logistic"
        elif network.classes.shape[0] == 2:
            binarizer.fit(network.classes)
            coefs[-1] = coefs[-1][:, 1:] - coefs[-1][:, :1]
            intercepts[-1] = intercepts[-1][1:] - intercepts[-1][:1]
            out_activation = "logistic"
        else:
            binarizer.fit(network.classes)
            out_activation = "softmax"
        mlp._label_binarizer = binarizer
        mlp.classes_ = network.classes
    mlp.coefs_ = coefs
    mlp.intercepts_ = intercepts
    mlp.n_layers_ = len(coefs) + 1
    mlp.n_outputs_ = coefs[-1].shape[1]
    mlp.out_activation_ = out_activation
    mlp.n_features_in_ = coefs[0].shape[0]
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        mlp.feature_names_in_ = names
    mlp.n_iter_ = getattr(estimator, "n_iter_", 0)
    return mlp
