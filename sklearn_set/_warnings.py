"""Warnings of the estimators that are this package's own."""


class DisconnectedNetworkWarning(UserWarning):
    """Warning that a fitted network has no path from an input to an output.

    Every prediction of such a network is the same constant, whatever the
    input: training ended (or the network started) with too few connections
    to link the inputs to the outputs, usually because ``sparsity`` is too
    high for ``hidden_layer_sizes``. Lower ``sparsity``, narrow the hidden
    layers (fewer, better connected units), or use
    ``regrowth="connected"``. ``topology_["active_fraction"]`` is 0 for
    such a model, and :func:`~sklearn_set.export_c` refuses it.

    Examples
    --------
    Three connections for 13 inputs, 2 hidden units and 3 classes:

    >>> import warnings
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_set import DisconnectedNetworkWarning, SETClassifier
    >>> X, y = load_wine(return_X_y=True)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     clf = SETClassifier(hidden_layer_sizes=(2,), sparsity=0.9, max_iter=5,
    ...                         random_state=1).fit(scale(X), y)
    >>> [str(w.message)[:49] for w in caught if w.category is DisconnectedNetworkWarning]
    ['SETClassifier ended with no path from an input to']
    >>> clf.topology_["outputs_reached"]
    0
    """
