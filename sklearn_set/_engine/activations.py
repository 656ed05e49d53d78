"""The hidden activations: one table, from which every consumer takes what
it needs.

:data:`FUNCTIONS` has a row per function the kernels compute, by kernel
code; :data:`ACTIVATIONS` a row per ``activation`` name, which picks a
function and the slope of each hidden layer. The kernels branch on the
codes (numba folds them in as constants); compaction and quantisation call
the kernels' own function (:func:`~._kernels.train.activate_inplace`); the
float C export writes :attr:`Function.c_expression`; :func:`to_mlp` uses
:attr:`Activation.mlp_name`. Adding an activation is a row here and its
branches in ``_kernels/train.py``.

Nothing here imports NumPy or numba, so that the command line lists and
checks ``--activation`` from :data:`ACTIVATIONS` without loading them
(``collections`` is loaded by ``argparse`` already).
"""

from collections import namedtuple

# Kernel codes of the activation functions.
IDENTITY = 0
RELU = 1
LEAKY_RELU = 2
TANH = 3
LOGISTIC = 4

# Negative-side slope of "leaky_relu", and magnitude of the alternating slope
# of "allrelu" (Curci, Mocanu and Pechenizkiy, 2021).
LEAKY_SLOPE = 0.01
ALLRELU_SLOPE = 0.6

class Function(namedtuple("Function", "name c_expression c_math glorot_factor")):
    """A function the kernels compute, ``f(z)`` of a pre-activation ``z``.

    Attributes
    ----------
    name : str
        What messages call it.
    c_expression : str
        ``f(z)`` as a C expression of the ``float z``; ``{slope}`` stands
        for the layer's negative-side slope, written as a C float.
    c_math : bool
        Whether ``c_expression`` calls a ``<math.h>`` function.
    glorot_factor : float
        The numerator of the Glorot-uniform bound ``sqrt(factor / (fan_in
        + fan_out))``: 2 for logistic units and 6 otherwise, as in
        scikit-learn's MLP.
    """

    __slots__ = ()


class Activation(namedtuple("Activation", "code slopes mlp_name")):
    """A hidden activation, the value of an estimator's ``activation``.

    Attributes
    ----------
    code : int
        The kernel code of its function, a key of :data:`FUNCTIONS`.
    slopes : tuple of float
        Negative-side slopes of hidden layers 1, 2, 3, ... in turn, repeated
        (read by the leaky ReLU only).
    mlp_name : str or None
        The ``activation`` of scikit-learn's MLPClassifier and MLPRegressor
        that computes the same function; None where they have none.
    """

    __slots__ = ()


#: The kernels' functions, by kernel code.
FUNCTIONS = {
    IDENTITY: Function("identity", "z", False, 6.0),
    RELU: Function("relu", "(z > 0.0f ? z : 0.0f)", False, 6.0),
    LEAKY_RELU: Function("leaky_relu", "(z > 0.0f ? z : {slope} * z)", False, 6.0),
    TANH: Function("tanh", "tanhf(z)", True, 6.0),
    LOGISTIC: Function("logistic", "(1.0f / (1.0f + expf(-z)))", True, 2.0),
}

#: Hidden activations by name ("allrelu" uses -ALLRELU_SLOPE on hidden layers
#: 1, 3, ... and +ALLRELU_SLOPE on layers 2, 4, ...).
ACTIVATIONS = {
    "identity": Activation(IDENTITY, (0.0,), "identity"),
    "relu": Activation(RELU, (0.0,), "relu"),
    "leaky_relu": Activation(LEAKY_RELU, (LEAKY_SLOPE,), None),
    "allrelu": Activation(LEAKY_RELU, (-ALLRELU_SLOPE, ALLRELU_SLOPE), None),
    "tanh": Activation(TANH, (0.0,), "tanh"),
    "logistic": Activation(LOGISTIC, (0.0,), "logistic"),
}


def hidden_activation_codes(activation, n_hidden):
    """Kernel code and negative slope for each hidden layer."""
    try:
        code, slopes, _ = ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(f"unknown activation {activation!r}; choose one of "
                         f"{sorted(ACTIVATIONS)}") from None
    return [(code, slopes[layer % len(slopes)]) for layer in range(n_hidden)]
