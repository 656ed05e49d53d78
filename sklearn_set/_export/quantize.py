"""Symmetric int8 quantisation of the weights, one scale per output unit.

Each unit ``j`` stores ``q_ij = round(127 w_ij / max_i |w_ij|)`` as int8 and
the float scale ``s_j = max_i |w_ij| / 127``; its pre-activation is
``s_j * sum_i q_ij a_i + b_j``. Biases and activations stay float32: the
inputs and hidden activations of a sparse network vary a lot between units
and samples, and with float activations the accumulation costs one
int-to-float conversion per connection and no calibration data.
"""

import dataclasses

import numpy as np
import scipy.sparse as sp

from .compact import prune

INT8_LEVELS = 127


def quantize_columns(w):
    """int8 values (in ``w.data`` order) and per-column scales of a CSC matrix.

    Parameters
    ----------
    w : scipy.sparse.csc_matrix
        Weights, one column per output unit.

    Returns
    -------
    q : ndarray of int8, shape (w.nnz,)
    scale : ndarray of float32, shape (w.shape[1],)
        0 for a column without connections.
    """
    counts = np.diff(w.indptr)
    peak = np.zeros(w.shape[1])
    nonempty = counts > 0
    peak[nonempty] = np.maximum.reduceat(np.abs(w.data), w.indptr[:-1][nonempty])
    scale = (peak / INT8_LEVELS).astype(np.float32)
    per_connection = np.repeat(scale.astype(np.float64), counts)
    q = np.rint(w.data / np.where(per_connection > 0, per_connection, 1.0))
    return np.clip(q, -INT8_LEVELS, INT8_LEVELS).astype(np.int8), scale


def dequantized(network):
    """``network`` with every weight replaced by its int8 value times its
    unit's scale, and pruned again (:func:`prune`): weights that round to 0
    are dropped, with the units that loses. This is the network the int8 C
    export stores; quantising it again gives the same int8 values."""
    coefs = []
    for w in network.coefs:
        q, scale = quantize_columns(w)
        values = q.astype(np.float64) * np.repeat(scale.astype(np.float64), np.diff(w.indptr))
        coefs.append(sp.csc_matrix((values, w.indices, w.indptr), shape=w.shape))
    return prune(dataclasses.replace(network, coefs=coefs))
