"""Integer-only inference: a compact network with int8 weights and int8
activations, computed with integer arithmetic only, as the int8 C export
runs it (the scheme of CMSIS-NN and TensorFlow Lite Micro).

Every tensor ``t`` between layers is stored as ``q = round(t / s) + z``
clamped to int8, with one scale ``s`` and zero point ``z`` per tensor,
calibrated on data (the range the float network's values take there). The
weights of unit ``j`` are symmetric int8, ``w_ij = sw_j q_ij`` with
``sw_j = max_i |w_ij| / 127``. A unit accumulates in int32:

    acc_j = bias_j + sum_i q_ij * xq_i,   bias_j = round(b_j / (s_in sw_j)) - z_in sum_i q_ij

(the input zero point is folded into the int32 bias), so that
``s_in sw_j acc_j`` is the pre-activation. The requantisation to the next
tensor's scale multiplies by ``s_in sw_j / s_out`` in fixed point: a 31-bit
multiplier per unit and one right shift per layer, rounding half up, in 64
bits (on a 32-bit core, the high word of one 32x32->64 multiply plus a
constant, shifted).
ReLU is the clamp at the output's zero point; leaky ReLU and allReLU
requantise a negative accumulator with a second multiplier per unit, the
slope folded in (one rounding, the same shift); tanh and logistic are a
256-entry int8 table indexed by the requantised pre-activation. The output
layer is requantised to int32 at a fine scale (2^20 levels over its
calibrated range), so that the classes compare exactly; only turning those
into probabilities or targets uses float.

The input is quantised in float32 from the raw features: ``(x - mu) * m``
with ``mu`` the feature's offset (the scalers' map ``x a + c`` has its zero
at ``mu = -c / a``) and ``m = a / s_in``. Taking the offset away first keeps
features with large offsets (a pressure in Pa, a time stamp) exact, where
folding it into the biases cancels catastrophically.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import HasMethods, validate_params
from sklearn.utils.validation import check_array

from .._docstrings import fill_doc
from .._engine import activations
from .compact import activate, compact

INT8_LEVELS = 127
# Levels of the int32 output tensor over its calibrated range: classes are
# compared at this resolution, far finer than the int8 tensors'.
OUTPUT_LEVELS = 2 ** 20
# Share of the calibration values a tensor's range covers: the rest are
# clipped, so that a rare extreme value (a pixel that is almost always 0,
# standardised) does not coarsen every other value.
CALIBRATION_QUANTILE = 0.9999

# How a hidden layer applies its activation to the accumulators.
CLAMP, TABLE = 0, 1
ACTIVATION_KINDS = {
    activations.IDENTITY: CLAMP,
    activations.RELU: CLAMP,
    activations.LEAKY_RELU: CLAMP,
    activations.TANH: TABLE,
    activations.LOGISTIC: TABLE,
}
# Fixed output scale and zero point of the table activations: their values
# lie in (-1, 1) and (0, 1).
TABLE_OUTPUT = {activations.TANH: (1.0 / 128, 0), activations.LOGISTIC: (1.0 / 256, -128)}


def fixed_point(real):
    """``(m, shift)`` with ``real ~ m / 2**shift``: integer multipliers that
    share one shift, the largest in ``[2**30, 2**31)``, ``1 <= shift <= 62``.

    One shift per layer lets the C code shift by a constant (two
    instructions on a 32-bit core, where a variable 64-bit shift takes a
    dozen); a unit whose multiplier is ``2**k`` times smaller than the
    layer's largest keeps ``31 - k`` significant bits.

    Parameters
    ----------
    real : array-like of float
        Multipliers, each in ``(-2**30, 2**30)``.

    Returns
    -------
    m : ndarray of int64
    shift : int
    """
    real = np.asarray(real, dtype=np.float64)
    largest = np.abs(real).max() if real.size else 0.0
    if not np.isfinite(real).all() or largest >= 2.0 ** 30:
        raise ValueError("A requantisation multiplier is non-finite or above 2**30; the "
                         "network's scales cannot be represented in fixed point.")
    shift = 62 if largest == 0 else int(np.clip(31 - np.frexp(largest)[1], 1, 62))
    m = np.rint(real * 2.0 ** shift).astype(np.int64)
    if np.abs(m).max(initial=0) >= 2 ** 31:  # rounded up to 2**31
        shift -= 1
        m = np.rint(real * 2.0 ** shift).astype(np.int64)
    return m, shift


def requantize(acc, m, shift):
    """``floor((acc * m + 2**(shift - 1)) / 2**shift)``: ``acc * m /
    2**shift`` rounded half up, as the C code computes it in 64 bits."""
    product = np.asarray(acc, dtype=np.int64) * np.asarray(m, dtype=np.int64)
    return np.right_shift(product + (1 << (shift - 1)), shift)


@dataclass(frozen=True, eq=False)
class QuantizedLayer:
    """One layer of a :class:`QuantizedNetwork`, in CSR order by output unit.

    The parameters are stored as attributes of the same names.

    Parameters
    ----------
    n_inputs : int
        Number of inputs.
    weights : ndarray of int8
        The int8 weights, unit by unit: none is 0, except one for a unit
        that has no other (each unit has at least one weight, when the layer
        has inputs).
    indices : ndarray of int64
        Input unit of each weight.
    indptr : ndarray of int64
        Unit ``j``'s weights are ``weights[indptr[j]:indptr[j + 1]]``.
    bias : ndarray of int32
        Initial accumulator of each unit (the input zero point folded in).
    multiplier : ndarray of int64
        Fixed-point requantisation multiplier of each unit.
    shift : int
        Their common shift (see :func:`fixed_point`).
    zero_point : int
        Zero point of the layer's output (of its pre-activation, for a table
        activation).
    lowest : int
        Smallest output value: the zero point for ReLU, else -128.
    negative_multiplier : ndarray of int64 or None
        Leaky ReLU: the multiplier of each unit's negative accumulators (its
        multiplier times the slope, with the same shift); ``None`` for the
        other activations.
    table : ndarray of int8 or None
        Output for each pre-activation value + 128 (tanh, logistic).
    """

    n_inputs: int
    weights: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: int
    zero_point: int
    lowest: int
    negative_multiplier: object = None
    table: object = None

    @property
    def shape(self):
        """tuple of int: ``(n_inputs, n_units)``."""
        return self.n_inputs, len(self.indptr) - 1

    def accumulate(self, xq):
        """int64 accumulators ``(n_samples, n_units)`` of int8 inputs."""
        w = sp.csc_matrix((self.weights.astype(np.int64), self.indices, self.indptr),
                          shape=self.shape)
        return (w.T @ xq.astype(np.int64).T).T + self.bias.astype(np.int64)

    def forward(self, xq):
        """int8 outputs of int8 inputs (hidden layers)."""
        acc = self.accumulate(xq)
        m = self.multiplier
        if self.negative_multiplier is not None:
            m = np.where(acc < 0, self.negative_multiplier, m)
        out = np.clip(requantize(acc, m, self.shift) + self.zero_point,
                      self.lowest, INT8_LEVELS)
        if self.table is not None:
            out = self.table[out + 128]
        return out.astype(np.int8)


def _quantile_range(values):
    """``(low, high)`` of a tensor's calibration values, 0 included."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if not values.size:
        return 0.0, 0.0
    low, high = np.quantile(values, [1 - CALIBRATION_QUANTILE, CALIBRATION_QUANTILE])
    return min(low, 0.0), max(high, 0.0)


def _affine_int8(low, high):
    """Scale and zero point mapping ``[low, high]`` (containing 0) to int8."""
    scale = (high - low) / 255 if high > low else 1.0
    zero_point = int(np.clip(np.rint(-128 - low / scale), -128, INT8_LEVELS))
    return float(np.float32(scale)), zero_point


def _weights_int8(w, s_in, bias):
    """int8 weights and the per-unit weight scale; a unit whose bias would
    not fit 30 bits of accumulator at ``max |w| / 127`` gets a coarser scale."""
    counts = np.diff(w.indptr)
    peak = np.zeros(w.shape[1])
    nonempty = counts > 0
    peak[nonempty] = np.maximum.reduceat(np.abs(w.data), w.indptr[:-1][nonempty])
    scale = np.maximum(peak / INT8_LEVELS, np.abs(bias) / (s_in * 2.0 ** 30))
    scale[scale == 0] = 1.0
    q = np.rint(w.data / np.repeat(scale, counts))
    return np.clip(q, -INT8_LEVELS, INT8_LEVELS).astype(np.int8), scale


def _table(code, s_z, z_z, s_out, z_out):
    """int8 output of the activation for every int8 pre-activation."""
    z = s_z * (np.arange(-128, 128) - z_z)
    values = activate(z, code, 0.0)
    return np.clip(np.rint(values / s_out) + z_out, -128, INT8_LEVELS).astype(np.int8)


def _layer(w, b, s_in, z_in, out_scale, out_zero, code, slope, lowest, table=None):
    q, sw = _weights_int8(w, s_in, b)
    units = np.repeat(np.arange(w.shape[1]), np.diff(w.indptr))
    sums = np.bincount(units, q.astype(np.int64), minlength=w.shape[1]).astype(np.int64)
    bias = np.rint(b / (s_in * sw)) - z_in * sums
    real = s_in * sw / out_scale
    negative = None
    if code == activations.LEAKY_RELU:
        # both multipliers of a unit share the layer's shift
        m, shift = fixed_point(np.concatenate([real, slope * real]))
        m, negative = m[:real.size], m[real.size:]
    else:
        m, shift = fixed_point(real)
    # a weight that rounds to 0 adds nothing to any accumulator: drop it; but
    # every unit keeps one weight (0 on input 0 if need be), so that the C
    # loops over a unit's weights need no test for none
    kept = q != 0
    counts = np.bincount(units[kept], minlength=w.shape[1])
    q, indices, units = q[kept], w.indices[kept], units[kept]
    if w.shape[0] and (counts == 0).any():
        empty = np.flatnonzero(counts == 0)
        q = np.concatenate([q, np.zeros(empty.size, dtype=np.int8)])
        indices = np.concatenate([indices, np.zeros(empty.size, dtype=indices.dtype)])
        order = np.argsort(np.concatenate([units, empty]), kind="stable")
        q, indices = q[order], indices[order]
        counts[empty] = 1
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return QuantizedLayer(
        n_inputs=w.shape[0], weights=q, indices=indices.astype(np.int64),
        indptr=indptr.astype(np.int64),
        bias=bias.astype(np.int32), multiplier=m, shift=shift, zero_point=int(out_zero),
        lowest=int(lowest), negative_multiplier=negative, table=table)


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """A compact sparse network in int8, as the int8 C export computes it.

    Returned by :func:`quantize`. Its integer methods (:meth:`quantize_input`,
    :meth:`predict_q`, :meth:`decision_q`) give bit for bit what the C
    functions ``NAME_quantize_input`` and ``NAME_predict_q`` give; its float
    methods (:meth:`predict`, :meth:`predict_proba`, :meth:`score`) are the
    C ``NAME_predict`` and ``NAME_predict_proba``, for a preview of the
    deployed model's accuracy before compiling anything.

    The parameters are stored as attributes of the same names.

    Parameters
    ----------
    input_offset : ndarray of float32, shape (n_features,)
        The raw value of each feature that the scalers map to 0.
    input_factor : ndarray of float32, shape (n_features,)
        The scalers' factor of each feature divided by the input scale.
    input_zero_point : int
        Zero point of the int8 input.
    layers : list of QuantizedLayer
        The integer layers; the last one's requantised accumulators are the
        int32 outputs.
    output_scale : ndarray of float32, shape (n_outputs,)
        Real value of one unit of each int32 output.
    output : {"softmax", "logistic", "identity"}
        Output function, as in :class:`CompactNetwork`.
    classes : ndarray or None
        ``classes_`` of a classifier, ``None`` for a regressor.
    network : CompactNetwork
        The float network that was quantised.
    """

    input_offset: np.ndarray
    input_factor: np.ndarray
    input_zero_point: int
    layers: list
    output_scale: np.ndarray
    output: str
    classes: object
    network: object

    @property
    def n_features_in_(self):
        """int: number of raw features."""
        return self.input_offset.shape[0]

    @property
    def n_connections(self):
        """int: number of non-zero int8 weights (those that round to 0 are
        dropped)."""
        return int(sum(np.count_nonzero(layer.weights) for layer in self.layers))

    @property
    def n_parameters(self):
        """int: the int8 weights plus the biases of the units."""
        return self.n_connections + sum(layer.shape[1] for layer in self.layers)

    def _check(self, X):
        X = check_array(X, dtype=np.float32, ensure_all_finite=True)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the network expects "
                             f"{self.n_features_in_}.")
        return X

    def quantize_input(self, X):
        """The int8 inputs of raw features, as ``NAME_quantize_input``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features (before any scaler); finite.

        Returns
        -------
        Xq : ndarray of int8, shape (n_samples, n_features)
            The int8 inputs of :meth:`predict_q`.
        """
        X = self._check(X)
        v = (X - self.input_offset) * self.input_factor  # float32, as in C
        big = np.abs(v) >= 2.0 ** 23
        # trunc(2 v) (doubling is exact), saturated beyond 2^23
        t = np.where(big, np.sign(v) * 2.0 ** 24, np.trunc(np.where(big, 0, v) * 2))
        t = t.astype(np.int64)
        s = t + np.sign(t)
        q = np.sign(s) * (np.abs(s) // 2) + self.input_zero_point  # half away from zero
        return np.clip(q, -128, INT8_LEVELS).astype(np.int8)

    def decision_q(self, Xq):
        """The int32 outputs of int8 inputs, as ``NAME_predict_q`` computes them.

        ``output_scale`` times them are the output layer's pre-activations
        (logits, or targets).

        Parameters
        ----------
        Xq : array-like of int8, shape (n_samples, n_features)
            int8 inputs, from :meth:`quantize_input`.

        Returns
        -------
        yq : ndarray of int32, shape (n_samples, n_outputs)
            The requantised output accumulators.
        """
        a = np.asarray(Xq)
        if a.dtype != np.int8 or a.ndim != 2 or a.shape[1] != self.n_features_in_:
            raise ValueError(f"Xq must be an int8 array of shape (n_samples, "
                             f"{self.n_features_in_}), got {a.dtype} {a.shape}.")
        for layer in self.layers[:-1]:
            a = layer.forward(a)
        last = self.layers[-1]
        out = requantize(last.accumulate(a), last.multiplier, last.shift)
        return np.clip(out, -2 ** 31, 2 ** 31 - 1).astype(np.int32)

    def predict_q(self, Xq):
        """What ``NAME_predict_q`` returns for int8 inputs.

        Parameters
        ----------
        Xq : array-like of int8, shape (n_samples, n_features)
            int8 inputs, from :meth:`quantize_input`.

        Returns
        -------
        y : ndarray
            Classifier: the index into ``classes`` of the first largest
            output; multilabel: 0/1 per label (output above 0); regressor:
            the int32 outputs (:meth:`decision_q`).
        """
        yq = self.decision_q(Xq)
        if self.classes is None:
            return yq
        if self.output == "logistic":
            return (yq > 0).astype(np.int64)
        return yq.argmax(axis=1)

    def decision_function(self, X):
        """The output layer's pre-activations of raw features, float32.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features (before any scaler); finite.

        Returns
        -------
        z : ndarray of float32, shape (n_samples, n_outputs)
            ``decision_q(quantize_input(X))`` times ``output_scale``.
        """
        return self.decision_q(self.quantize_input(X)).astype(np.float32) * self.output_scale

    def predict(self, X):
        """Predictions of the deployed int8 model for raw features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features (before any scaler); finite.

        Returns
        -------
        y : ndarray
            Class labels (classifier), a 0/1 indicator matrix (multilabel)
            or the targets (regressor; a 1-d array for one target).
        """
        if self.classes is None:
            y = self.decision_function(X)
            return y[:, 0] if y.shape[1] == 1 else y
        index = self.predict_q(self.quantize_input(X))
        return index if self.output == "logistic" else self.classes[index]

    def predict_proba(self, X):
        """Class (or label) probabilities of the deployed int8 model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features (before any scaler); finite.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the int8 model's logits (per-label logistic, for
            multilabel classifiers).
        """
        if self.classes is None:
            raise AttributeError("A regressor has no predict_proba.")
        z = self.decision_function(X).astype(np.float64)
        if self.output == "logistic":
            return activate(z, activations.LOGISTIC, 0.0)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def score(self, X, y):
        """Accuracy or R^2 of the deployed int8 model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features (before any scaler); finite.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True labels, label indicators (multilabel) or targets.

        Returns
        -------
        score : float
            Accuracy for classifiers (subset accuracy for multilabel), R^2
            for regressors.
        """
        predicted = self.predict(X)
        if self.classes is None:
            return float(r2_score(y, predicted))
        return float(accuracy_score(y, predicted))


def _input_map(network, X):
    """Offset ``mu`` and factor ``a`` of each feature (``x a + c = (x - mu) a``)."""
    n = network.layer_sizes[0]
    if network.input_affine is None:
        return np.zeros(n), np.ones(n)
    a, c = network.input_affine
    return -c / a, a


@validate_params({"model": [HasMethods(["predict"])], "X": ["array-like"]},
                 prefer_skip_nested_validation=True)
def quantize(model, X):
    """The int8 network the int8 C export runs, calibrated on ``X``.

    The model is compacted (:func:`compact`), then quantised: int8 weights
    with one scale per unit, int8 activations with a scale and zero point
    per layer, calibrated on the values the float network computes for
    ``X`` (the training data, or a sample like it), int32 accumulation and
    fixed-point requantisation. tanh and logistic hidden layers use
    256-entry tables. Its methods give, bit for bit, what the C functions
    give (``predict_q`` without any float arithmetic), so its accuracy is
    that of the deployed model.

    Parameters
    ----------
%(exported_model_parameter)s
    X : array-like of shape (n_samples, n_features)
        Raw features (before any scaler) to calibrate the activation ranges
        on: the training data, or a sample like it. Finite.

    Returns
    -------
    network : QuantizedNetwork
        ``predict``, ``predict_proba``, ``score`` for a preview; pass it to
        :func:`export_c` to export exactly this network.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_set import SETClassifier, quantize
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), SETClassifier(
    ...     hidden_layer_sizes=(16,), sparsity=0.5, max_iter=50, random_state=0)).fit(X, y)
    >>> network = quantize(model, X)
    >>> network.quantize_input(X[:1]).dtype
    dtype('int8')
    >>> bool(abs(network.score(X, y) - model.score(X, y)) < 0.05)
    True
    """
    network = compact(model)
    X = check_array(X, dtype=np.float64, ensure_all_finite=True)
    if X.shape[1] != network.layer_sizes[0]:
        raise ValueError(f"X has {X.shape[1]} features, but the model expects "
                         f"{network.layer_sizes[0]}.")
    offset, factor = _input_map(network, X)
    # the float network's values: each layer's input, pre-activation, output
    a = (X - offset) * factor
    s_in, z_in = _affine_int8(*_quantile_range(a))
    input_scale, input_zero_point = s_in, z_in
    coefs, intercepts = list(network.coefs), list(network.intercepts)
    coefs[0], intercepts[0] = network.scaled_input_layer()
    layers = []
    last = len(coefs) - 1
    for index, (w, b) in enumerate(zip(coefs, intercepts)):
        z = np.asarray(a @ w) + b if w.nnz else np.broadcast_to(b, (a.shape[0], b.shape[0]))
        if index == last:
            peak = np.abs(z).max(axis=0) if z.size else np.zeros(w.shape[1])
            if network.classes is not None:
                peak = np.full_like(peak, peak.max() if peak.size else 1.0)
            scale = np.where(peak > 0, peak, 1.0) / OUTPUT_LEVELS
            scale = scale.astype(np.float32).astype(np.float64)
            layers.append(_layer(w, b, s_in, z_in, scale, 0, 0, 0.0, -128))
            break
        code, slope = network.hidden_activations[index]
        a = activate(z, code, slope)
        if ACTIVATION_KINDS[code] == TABLE:
            s_z, z_z = _affine_int8(*_quantile_range(z))
            s_out, z_out = TABLE_OUTPUT[code]
            layers.append(_layer(w, b, s_in, z_in, s_z, z_z, code, slope, -128,
                                 table=_table(code, s_z, z_z, s_out, z_out)))
        else:
            s_out, z_out = _affine_int8(*_quantile_range(a))
            lowest = z_out if code == activations.RELU else -128
            layers.append(_layer(w, b, s_in, z_in, s_out, z_out, code, slope, lowest))
        s_in, z_in = s_out, z_out
    return QuantizedNetwork(
        input_offset=offset.astype(np.float32),
        input_factor=(factor / input_scale).astype(np.float32),
        input_zero_point=input_zero_point, layers=layers,
        output_scale=scale.astype(np.float32), output=network.output,
        classes=network.classes, network=network)


quantize.__doc__ = fill_doc(quantize.__doc__)
