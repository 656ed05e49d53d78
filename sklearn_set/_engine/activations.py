"""The hidden activations: their kernel codes and slopes, by name.

A module that imports nothing, so that the command line lists and checks
``--activation`` from :data:`ACTIVATIONS` itself without loading numpy or
numba. The kernels branch on the integer codes (numba folds them in as
constants).
"""

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

#: Hidden activations: kernel code, and the negative-side slopes of hidden
#: layers 1, 2, 3, ... in turn ("allrelu" uses -ALLRELU_SLOPE on layers 1,
#: 3, ... and +ALLRELU_SLOPE on layers 2, 4, ...).
ACTIVATIONS = {
    "identity": (IDENTITY, (0.0,)),
    "relu": (RELU, (0.0,)),
    "leaky_relu": (LEAKY_RELU, (LEAKY_SLOPE,)),
    "allrelu": (LEAKY_RELU, (-ALLRELU_SLOPE, ALLRELU_SLOPE)),
    "tanh": (TANH, (0.0,)),
    "logistic": (LOGISTIC, (0.0,)),
}


def hidden_activation_codes(activation, n_hidden):
    """Kernel code and negative slope for each hidden layer."""
    try:
        code, slopes = ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(f"unknown activation {activation!r}; choose one of "
                         f"{sorted(ACTIVATIONS)}") from None
    return [(code, slopes[layer % len(slopes)]) for layer in range(n_hidden)]
