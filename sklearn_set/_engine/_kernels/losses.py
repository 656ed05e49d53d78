"""Numba kernels of the output layer: the losses (softmax and logistic
cross-entropy, squared error) with their deltas, the output functions used
at prediction, and the L2 penalty's sum of squares.

Pure functions over flat NumPy arrays, feature-major as in :mod:`.train`
(an array of shape ``(n_outputs, n_batch)``); deltas may be bfloat16 rows
(:mod:`.storage`).
"""

import math

from numba import njit

from .storage import real, store


@njit(inline="always")
def _softmax_column(z, b, proba):
    """Softmax of column ``b`` of ``z`` into column ``b`` of ``proba`` (which
    may be ``z`` itself); returns the column's maximum and the log of its
    normaliser, shifted by that maximum."""
    n_classes = z.shape[0]
    zmax = z[0, b]
    for c in range(1, n_classes):
        if z[c, b] > zmax:
            zmax = z[c, b]
    norm = 0.0
    for c in range(n_classes):
        e = math.exp(z[c, b] - zmax)
        proba[c, b] = e
        norm += e
    for c in range(n_classes):
        proba[c, b] = proba[c, b] / norm
    return zmax, math.log(norm)


@njit(cache=True)
def softmax_cross_entropy(z, y, weight, proba, delta):
    """Softmax over classes (rows) for each sample (column).

    ``proba`` receives the probabilities and ``delta`` the gradient of
    ``sum_b weight[b] * CE_b / n_batch`` with respect to ``z``. Returns the
    weighted mean cross-entropy of the batch. ``y`` holds class indices.
    ``delta`` may hold bfloat16 (see :mod:`.storage`), as may the deltas
    of the next two kernels.
    """
    n_classes, n_batch = z.shape
    total = 0.0
    for b in range(n_batch):
        zmax, log_norm = _softmax_column(z, b, proba)
        total += weight[b] * (log_norm - (z[y[b], b] - zmax))
        scale = weight[b] / n_batch
        for c in range(n_classes):
            # in float32 first, as a float32 row would hold it
            g = real(delta, proba[c, b] * scale)
            if c == y[b]:
                g -= scale
            store(delta[c], b, g)
    return total / n_batch


@njit(cache=True)
def softmax_inplace(z):
    """Column-wise softmax of a feature-major array, in place."""
    for b in range(z.shape[1]):
        _softmax_column(z, b, z)


@njit(inline="always")
def _sigmoid(x, one):
    """1 / (1 + exp(-x)), without overflow for any x."""
    return one / (one + math.exp(-x)) if x >= 0 else math.exp(x) / (one + math.exp(x))


@njit(cache=True)
def logistic_cross_entropy(z, y, weight, proba, delta):
    """Independent sigmoids (multilabel outputs, one row per label).

    ``proba`` receives the sigmoids and ``delta`` the gradient of
    ``sum_b weight[b] * BCE_b / n_batch``, where ``BCE_b`` sums the binary
    cross-entropy over labels as MLPClassifier's ``binary_log_loss`` does.
    Returns that loss; ``y`` (0/1) is feature-major like ``z``.
    """
    n_out, n_batch = z.shape
    one = z.dtype.type(1)
    total = 0.0
    for b in range(n_batch):
        scale = weight[b] / n_batch
        for o in range(n_out):
            x = z[o, b]
            # log(1 + exp(-|x|)) + max(x, 0) - y x: no overflow for any x
            total += weight[b] * (max(x, 0.0) - y[o, b] * x + math.log1p(math.exp(-abs(x))))
            p = _sigmoid(x, one)
            proba[o, b] = p
            store(delta[o], b, (p - y[o, b]) * scale)
    return total / n_batch


@njit(cache=True)
def logistic_inplace(z):
    """Element-wise sigmoid, in place."""
    one = z.dtype.type(1)
    for o in range(z.shape[0]):
        for b in range(z.shape[1]):
            z[o, b] = _sigmoid(z[o, b], one)


@njit(cache=True)
def squared_error(z, y, weight, delta):
    """Gradient of ``sum_b weight[b] * ||z_b - y_b||^2 / (2 n_batch)``.

    Returns that loss; ``y`` is feature-major like ``z``.
    """
    n_out, n_batch = z.shape
    total = 0.0
    for b in range(n_batch):
        scale = weight[b] / n_batch
        sq = 0.0
        for o in range(n_out):
            r = z[o, b] - y[o, b]
            sq += r * r
            store(delta[o], b, r * scale)
        total += weight[b] * sq
    return total / (2 * n_batch)


@njit(cache=True)
def sum_of_squares(values):
    """``sum(values ** 2)`` accumulated in float64 in index order: the L2
    penalty of the reported loss, the same on every CPU (BLAS's ``dot``
    picks its summation order by CPU model)."""
    total = 0.0
    for k in range(values.shape[0]):
        v = float(values[k])
        total += v * v
    return total
