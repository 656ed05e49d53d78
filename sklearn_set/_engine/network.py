"""The training engine: a stack of truly sparse layers, its workspaces, one
epoch of minibatch SGD, prediction, and the gradient signals of a batch.

The engine trains and answers; it never evolves a topology itself: the
policies of ``_evolution`` change the layers between epochs through their
storage operations. No scikit-learn here: inputs are validated by the
estimators. Data flows estimator -> engine -> kernels.
"""

import copy
import math
import os
import tempfile
from collections import namedtuple

import numpy as np
import scipy.sparse as sp

from ._kernels import layout, losses
from ._kernels import train as kernels
from ._kernels.storage import BFLOAT16
from .activations import IDENTITY, LEAKY_RELU, hidden_activation_codes
from .connectivity import network_topology
from .layer import SparseLayer, bytes_per_connection, erdos_renyi_allocation
from .threads import batch_threads


class OutputKind(namedtuple("OutputKind", "name class_indices loss activate predict")):
    """What the output layer of a network is.

    Attributes
    ----------
    name : str
        Its key in :data:`OUTPUT_KINDS` (an estimator's ``out_activation_``).
    class_indices : bool
        Targets are class indices, one per sample; otherwise a matrix of
        shape (n_samples, n_outputs).
    loss : callable
        ``loss(z, target, weight, proba, delta)``: the weighted mean loss of
        a batch of output pre-activations ``z`` (feature-major), its gradient
        written to ``delta``; ``proba`` is scratch for the outputs.
    activate : callable
        Turns pre-activations into outputs, in place (feature-major).
    predict : callable
        The prediction an output array of shape (n_samples, n_outputs)
        stands for: class indices, 0/1 labels, or the values themselves.

    Pickled by name: a network's pickle holds no kernel.
    """

    __slots__ = ()

    def __reduce__(self):
        return output_kind, (self.name,)


def _squared_error(z, target, weight, proba, delta):
    return losses.squared_error(z, target, weight, delta)


def _keep_outputs(z):
    """Identity outputs are their pre-activations: nothing to do."""


def _most_probable_class(out):
    return out.argmax(axis=1)


def _labels_above_half(out):
    return (out > 0.5).astype(np.int64)


def _outputs_themselves(out):
    return out


OUTPUT_KINDS = {kind.name: kind for kind in (
    # one softmax over classes, trained with cross-entropy
    OutputKind("softmax", True, losses.softmax_cross_entropy, losses.softmax_inplace,
               _most_probable_class),
    # independent sigmoids over labels (multilabel), binary cross-entropy
    OutputKind("logistic", False, losses.logistic_cross_entropy, losses.logistic_inplace,
               _labels_above_half),
    # linear outputs (regression), squared error
    OutputKind("identity", False, _squared_error, _keep_outputs, _outputs_themselves),
)}


def output_kind(name):
    """The :class:`OutputKind` called ``name``."""
    try:
        return OUTPUT_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown output kind {name!r}; choose one of "
                         f"{sorted(OUTPUT_KINDS)}") from None


# Upper bound on the activation workspace used by prediction.
_PREDICT_WORKSPACE_BYTES = 256 * 2**20
# Samples per prediction chunk: the input activations of a 1000-unit layer
# then stay in L2 (see benchmarks/kernels.py: GFLOP/s peak at batch 128-256).
# Not 256: rows of a feature-major chunk 1 KiB apart map to 4 of L1's 64 sets
# and the input transposition thrashed them (1.8 against 0.9 ns an element);
# 240 samples are 30 whole float32 vectors (predict_proba at sparsity 0.99
# and 0.999: 1.11x and 1.27x the rows/s, one thread).
_PREDICT_CHUNK = 240


def _aligned_empty(n, dtype, align=64):
    """Uninitialised 1-D array whose data starts on an ``align``-byte
    boundary. NumPy only guarantees 16 bytes; a feature row of a workspace
    (batch size a multiple of 16 floats) then starts on a cache line, so each
    64-byte vector load touches one line instead of two (measured: forward
    kernel +40% at batch 128)."""
    itemsize = np.dtype(dtype).itemsize
    buf = np.empty(n + align // itemsize, dtype=dtype)
    offset = (-buf.ctypes.data % align) // itemsize
    return buf[offset:offset + n]


def adam_rate(learning_rate, moments, t):
    """Adam's bias-corrected step size at step ``t`` (from 1), as
    scikit-learn's AdamOptimizer computes it: ``learning_rate *
    sqrt(1 - beta_2**t) / (1 - beta_1**t)``, ``moments`` being
    ``(beta_1, beta_2, epsilon)``."""
    beta_1, beta_2, _ = moments
    return learning_rate * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)


def network_memory_bytes(layer_sizes, n_connections, dtype, batch_size, solver="sgd"):
    """Bytes the engine will hold for connections, biases and workspaces."""
    itemsize = np.dtype(dtype).itemsize
    total = int(sum(n_connections)) * bytes_per_connection(dtype, solver=solver)
    biases = 3 if solver == "adam" else 2
    total += sum(layer_sizes[1:]) * biases * itemsize + sum(layer_sizes[:-1]) * 8
    total += sum(layer_sizes) * batch_size * 3 * itemsize
    return total


class FileSnapshot:
    """A copy of a network's layers in an anonymous temporary file.

    The arrays are written to a file that ``tempfile`` creates in its
    directory (``TMPDIR``, else ``/tmp``) and that has no name: the system
    removes it when the snapshot is released or the process ends. The
    written pages are synced and dropped from the page cache where the
    system allows (``posix_fadvise``), so the copy holds no memory, only
    disk space; :meth:`load` reads it back as new layers.

    Parameters
    ----------
    layers : list of SparseLayer

    Raises
    ------
    OSError
        If the file cannot be written (no room in the temporary directory).
    """

    def __init__(self, layers):
        self._file = tempfile.TemporaryFile()
        self._layers = []
        try:
            for layer in layers:
                sizes = []
                for name in SparseLayer.STATE_ARRAYS:
                    array = np.ascontiguousarray(getattr(layer, name))
                    self._file.write(array.view(np.uint8))
                    sizes.append((array.dtype, array.shape[0]))
                # last_regrown is never changed in place: shared, as layer copies do
                self._layers.append((layer.n_in, layer.n_out, layer.init_bound, sizes,
                                     layer.last_regrown))
            self._file.flush()
            os.fsync(self._file.fileno())
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        except BaseException:
            self._file.close()
            raise

    def load(self):
        """New layers with the copied arrays."""
        self._file.seek(0)
        layers = []
        for n_in, n_out, init_bound, sizes, last_regrown in self._layers:
            arrays = []
            for dtype, n in sizes:
                array = np.empty(n, dtype=dtype)
                if self._file.readinto(array.view(np.uint8)) != array.nbytes:
                    raise OSError("the temporary file of a network snapshot is truncated")
                arrays.append(array)
            (indptr, indices, values, velocity, bias, bias_velocity, second_moment,
             bias_second_moment) = arrays
            layer = SparseLayer(n_in, n_out, indptr, indices, values, velocity, bias,
                                bias_velocity, init_bound, second_moment, bias_second_moment)
            layer.last_regrown = last_regrown
            layers.append(layer)
        return layers

    def close(self):
        """Release the file (also done when the snapshot is collected)."""
        self._file.close()


class SparseMLP:
    """A multilayer perceptron whose every layer is a :class:`SparseLayer`.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input and output included.
    activation : str
        Hidden activation, a key of :data:`.activations.ACTIVATIONS`.
    output : str
        The output kind, a key of :data:`OUTPUT_KINDS`: "softmax"
        (cross-entropy over classes), "logistic" (binary cross-entropy per
        label) or "identity" (squared error).
    dtype : numpy dtype
        Compute dtype of weights and activations.
    storage : numpy dtype, default=None
        dtype of the rows that training gathers (the input batch, hidden
        activations, pre-activations and deltas, the output deltas):
        ``dtype`` itself (None), or :data:`~._kernels.storage.BFLOAT16`
        (uint16 arrays of bfloat16 values, float32 ``dtype`` only), which
        halves the bytes the kernels gather. Sums, weights, optimiser
        state, the output pre-activations (the loss reads them) and
        prediction stay in ``dtype``.

    Attributes
    ----------
    output : OutputKind
    turnover : float
        Share of the connections the previous evolution added that the last
        one spared (set by the evolution; NaN before).
    """

    def __init__(self, layer_sizes, *, activation, output, dtype=np.float32, storage=None):
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        self.activation = activation
        self.output = output_kind(output)
        self.dtype = np.dtype(dtype)
        self.store_rows_as(storage)
        self.hidden_codes = hidden_activation_codes(activation, len(self.layer_sizes) - 2)
        self.layers = []
        self.epsilon = math.nan
        self.turnover = math.nan
        self._workspace = {}

    def store_rows_as(self, storage):
        """Train with the gathered rows in ``storage`` from now on (see the
        class's parameter; None: ``dtype``). A warm start may switch
        between float32 and bfloat16 rows: the weights are the same."""
        storage = self.dtype if storage is None else np.dtype(storage)
        if storage != self.dtype and not (storage == BFLOAT16 and self.dtype == np.float32):
            raise ValueError(f"the rows of a {self.dtype} network can be stored in "
                             f"{self.dtype}, or in bfloat16 when it is float32; got {storage}")
        if storage != getattr(self, "storage", None):
            self.storage = storage
            self._workspace = {}

    # -- construction -----------------------------------------------------
    def initialize(self, sparsity, rng, *, epsilon=None):
        """Allocate connections Erdos-Renyi style, to a global ``sparsity`` or
        (``sparsity=None``) at a fixed ``epsilon`` per layer, and draw initial
        weights."""
        shapes = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        counts, self.epsilon = erdos_renyi_allocation(shapes, sparsity, epsilon=epsilon)
        self.layers = []
        for idx, ((n_in, n_out), count) in enumerate(zip(shapes, counts)):
            code = self.hidden_codes[idx][0] if idx < len(self.hidden_codes) else IDENTITY
            self.layers.append(SparseLayer.random(
                n_in, n_out, count, rng, activation_code=code, dtype=self.dtype))
        self._workspace = {}
        return self

    def __getstate__(self):
        # the output kind is stored by name: its kernels are not data (and
        # skops, which stores attributes one by one, could not hold them)
        state = self.__dict__.copy()
        state["_workspace"] = {}
        state["output"] = self.output.name
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.output = output_kind(state["output"])

    @property
    def n_connections(self):
        return np.array([layer.n_connections for layer in self.layers], dtype=np.int64)

    @property
    def sparsity(self):
        total = sum(layer.size for layer in self.layers)
        return 1.0 - self.n_connections.sum() / total

    def copy(self):
        """An independent copy (no workspaces)."""
        twin = copy.copy(self)
        twin.layers = self.snapshot()
        twin._workspace = {}
        return twin

    @property
    def state_nbytes(self):
        """Bytes of the arrays a copy of the network holds."""
        return sum(layer.state_nbytes for layer in self.layers)

    def snapshot(self):
        """A copy of the layers, in memory."""
        return [layer.copy() for layer in self.layers]

    def snapshot_to_file(self):
        """A copy of the layers kept in a temporary file, not in memory
        (see :class:`FileSnapshot`)."""
        return FileSnapshot(self.layers)

    def restore(self, snapshot):
        """Take the layers of a :meth:`snapshot` (copied: it stays usable)
        or of a :meth:`snapshot_to_file`."""
        if isinstance(snapshot, FileSnapshot):
            # the layers (and the workspaces, sized for them) go first, so a
            # restore never holds two networks
            self.layers = []
            self._workspace = {}
            self.layers = snapshot.load()
        else:
            self.layers = [layer.copy() for layer in snapshot]

    # -- workspaces -------------------------------------------------------
    def _buffers(self, batch_size, training, dropout):
        """Flat buffers for ``batch_size`` samples, reused across batches."""
        key = (batch_size, dropout > 0)
        ws = self._workspace.get(training)
        if ws is not None and ws["key"] == key:
            return ws
        dt = self.dtype
        # the rows the kernels gather: in the storage dtype while training
        # (prediction stays in dtype, exact like the C export)
        # (networks saved before bfloat16 storage have no storage attribute)
        rows = getattr(self, "storage", dt) if training else dt
        sizes = self.layer_sizes
        hidden = sizes[1:-1]
        empty = _aligned_empty
        ws = {"key": key, "x": empty(sizes[0] * batch_size, rows)}
        ws["a"] = [empty(n * batch_size, rows) for n in hidden]
        ws["z"] = [empty(n * batch_size, rows) if self._keeps_z(l) else ws["a"][l]
                   for l, n in enumerate(hidden)]
        ws["out"] = empty(sizes[-1] * batch_size, dt)
        if training:
            # the output delta; a hidden layer's delta takes the place of its
            # activations, which backprop reads for the last time as it
            # writes the delta (see backward_update)
            ws["delta"] = empty(sizes[-1] * batch_size, rows)
            ws["proba"] = empty(sizes[-1] * batch_size, dt)
            ws["keep"] = ([empty(n * batch_size, dt) for n in hidden]
                          if dropout > 0 else None)
            # regression targets of a batch, feature-major (class labels and
            # sample weights are sliced from per-epoch permuted copies)
            ws["y"] = (None if self.output.class_indices
                       else np.empty(sizes[-1] * batch_size, dt))
        self._workspace[training] = ws
        return ws

    def _gradient_scratch(self, ws):
        """One array for the weight gradients of whichever layer is in its
        backward pass (see :func:`~sklearn_set._engine._kernels.train.backward_update`),
        as long as the most connections of a layer with a hidden input: the
        layers take turns, so they share it. Grown when the topology grows."""
        need = max((layer.n_connections for layer in self.layers[1:]), default=0)
        grad = ws.get("grad")
        if grad is None or grad.shape[0] < need:
            ws["grad"] = None  # free the old one first
            ws["grad"] = np.empty(need, self.dtype)
            ws.pop("views", None)

    def _keeps_z(self, l):
        """Whether hidden layer ``l`` needs its pre-activations ``z`` apart
        from its activations ``a``: only where ``f(z)`` does not reveal the
        sign of ``z`` (a negative slope). Elsewhere ``z`` and ``a`` share one
        array, and the forward kernel, which writes no activation for the
        identity, leaves ``f(z)`` in it."""
        code, slope = self.hidden_codes[l]
        return code == LEAKY_RELU and slope < 0

    def _views(self, ws, nb):
        """Views of the workspace shaped for a batch of ``nb`` samples,
        feature-major; built once per batch size and cached."""
        cache = ws.setdefault("views", {})
        views = cache.get(nb)
        if views is not None:
            return views
        sizes = self.layer_sizes

        def view(buf, n):
            return buf[: n * nb].reshape(n, nb)

        views = {
            "x": view(ws["x"], sizes[0]),
            "a": [view(buf, n) for buf, n in zip(ws["a"], sizes[1:-1])],
            "z": [view(buf, n) for buf, n in zip(ws["z"], sizes[1:-1])],
            "out": view(ws["out"], sizes[-1]),
        }
        if "delta" in ws:
            # delta of the units of layer u (1 .. n_layers): hidden ones in
            # their activations' place
            views["delta"] = [None] + views["a"] + [view(ws["delta"], sizes[-1])]
            views["proba"] = view(ws["proba"], sizes[-1])
            views["keep"] = ([view(buf, n) for buf, n in zip(ws["keep"], sizes[1:-1])]
                             if ws["keep"] is not None else None)
            views["y"] = view(ws["y"], sizes[-1]) if ws["y"] is not None else None
            views["grad"] = ws["grad"]
        cache[nb] = views
        return views

    # -- passes -----------------------------------------------------------
    def _load_inputs(self, X, rows, xb):
        if hasattr(X, "indptr"):
            layout.gather_csr(X.data, X.indices, X.indptr, rows, xb)
        else:
            layout.gather_dense(X, rows, xb)

    def _forward_calls(self, views, dropout=0.0):
        """The kernel calls of a forward pass, as ``(kernel, args)`` pairs
        (the layers' arrays do not change within an epoch or a predict)."""
        dt = self.dtype.type
        no_mask = np.empty((0, 0), self.dtype)
        rate = dt(dropout)
        scale = dt(1.0 / (1.0 - dropout))
        calls = []
        a_in = views["x"]
        for l, layer in enumerate(self.layers[:-1]):
            code, slope = self.hidden_codes[l]
            keep = views["keep"][l] if dropout > 0 else no_mask
            calls.append((kernels.sparse_forward, (
                layer.indptr, layer.indices, layer.values, layer.bias, a_in,
                views["z"][l], views["a"][l], code, dt(slope), keep, rate, scale)))
            a_in = views["a"][l]
        last = self.layers[-1]
        calls.append((kernels.sparse_forward, (
            last.indptr, last.indices, last.values, last.bias, a_in, views["out"],
            views["out"], IDENTITY, dt(0), no_mask, dt(0), dt(1))))
        return calls

    def _backward_calls(self, views, lr, mom, nesterov, decay, dropout, moments):
        """The kernel calls of a backward pass and step (see
        :func:`~sklearn_set._engine._kernels.train.backward_update` for the fusion);
        ``decay`` is the L2 factor of the batch; ``moments`` is Adam's
        ``(beta_1, beta_2, epsilon)`` (ignored by SGD layers, whose second
        moments are empty)."""
        dt = self.dtype.type
        decay = dt(decay)
        moments = tuple(dt(m) for m in moments)
        rate = dt(dropout)
        scale = dt(1.0 / (1.0 - dropout))
        no_mask = np.empty((0, 0), self.dtype)
        first = self.layers[0]
        no_first = (np.empty(0, first.indptr.dtype), np.empty(0, first.indices.dtype),
                    np.empty(0, self.dtype), np.empty(0, self.dtype))
        n_layers = len(self.layers)
        last = self.layers[-1]
        if n_layers == 1:
            return [(kernels.update_first_layer, (
                first.indptr, first.indices, first.values, first.velocity, first.bias,
                first.bias_velocity, views["x"], views["delta"][1], lr, mom,
                nesterov, decay, first.second_moment, first.bias_second_moment, moments))]
        # the output biases first, then layer by layer downwards
        calls = [(kernels.update_bias, (last.bias, last.bias_velocity, views["delta"][n_layers],
                                  lr, mom, nesterov, last.bias_second_moment, moments))]
        for l in range(n_layers - 1, 0, -1):
            layer = self.layers[l]
            below = self.layers[l - 1]
            code, slope = self.hidden_codes[l - 1]
            keep = views["keep"][l - 1] if dropout > 0 else no_mask
            fused = ((first.indptr, first.indices, first.values, first.velocity)
                     if l == 1 else no_first)
            fused_second = first.second_moment if l == 1 else no_first[2]
            grad = views["grad"][:layer.n_connections]
            calls.append((kernels.backward_update, (
                layer.t_indptr, layer.t_order, layer.t_rows, grad, layer.values,
                views["a"][l - 1], views["z"][l - 1],
                views["delta"][l + 1], views["delta"][l], code, dt(slope), keep,
                rate, scale, lr, mom, nesterov, decay, below.bias,
                below.bias_velocity) + fused + (views["x"], below.bias_second_moment,
                                                 fused_second, moments)))
            calls.append((kernels.step_connections, (
                layer.values, layer.velocity, layer.indptr, layer.indices, layer.t_position,
                layer.t_start, layer.t_fill, grad, lr, mom, nesterov, decay,
                layer.second_moment, moments)))
        return calls

    def train_epoch(self, X, y, sample_weight, *, batch_size, learning_rate,
                    momentum, nesterov, alpha, dropout, shuffle, rng, moments=None,
                    n_updates=0):
        """One pass of minibatch SGD, or Adam, over ``X``.

        ``moments=None`` trains with SGD (``momentum``, ``nesterov``);
        Adam's ``(beta_1, beta_2, epsilon)`` trains with Adam, whose step
        ``t`` (counted from 1 over the whole training) of a batch is
        ``n_updates`` plus the batch's rank in the epoch: its rate is
        ``learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, as in
        scikit-learn's AdamOptimizer. Layers get zero second moments on the
        first Adam epoch, and SGD without momentum keeps no velocities (see
        :meth:`SparseLayer.use_optimizer_state`).

        ``y`` holds class indices (softmax) or targets of shape
        (n_samples, n_outputs) (0/1 labels for logistic);
        ``sample_weight`` has mean 1. The L2 penalty of a batch is
        ``alpha / 2 * ||W||^2`` divided by the batch's weight sum, as in
        MLPClassifier (so a zero weight is the same as a missing row).
        Returns the mean loss, L2 penalty included (evaluated with the weights
        at the end of the epoch).

        Raises
        ------
        FloatingPointError
            If the loss becomes NaN or infinite.
        """
        n_samples = X.shape[0]
        dt = self.dtype.type
        lr, mom = dt(learning_rate), dt(momentum)
        for layer in self.layers:
            layer.use_optimizer_state(velocity=moments is not None or momentum != 0,
                                      second_moments=moments is not None)
        step_moments = (0.0, 0.0, 0.0) if moments is None else moments
        batch_size = min(batch_size, n_samples)
        ws = self._buffers(batch_size, True, dropout)
        self._gradient_scratch(ws)
        order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        order = order.astype(np.int64)
        class_indices = self.output.class_indices
        loss_of = self.output.loss
        # labels and weights in batch order once per epoch: each batch is then
        # a contiguous slice, no gather call
        weight_all = np.ascontiguousarray(sample_weight[order])
        y_all = np.ascontiguousarray(y[order]) if class_indices else None
        # equal weights (all 1): every batch of a size has the same L2 factor
        weighted = bool(np.any(weight_all != 1))
        plans = {}
        total_loss = 0.0
        threads = batch_threads(ws)
        for start in range(0, n_samples, batch_size):
            started = threads.begin() if threads else 0.0
            rows = order[start:start + batch_size]
            nb = rows.shape[0]
            plan = plans.get(nb)
            if plan is None:
                views = self._views(ws, nb)
                plan = plans[nb] = (
                    views, self._forward_calls(views, dropout),
                    self._backward_calls(views, lr, mom, nesterov, alpha / nb, dropout,
                                         step_moments))
            views, forward, backward = plan
            weight = weight_all[start:start + nb]
            if weighted or moments is not None:
                # the L2 factor, or Adam's rate, of this very batch
                weight_sum = float(weight.sum(dtype=np.float64)) if weighted else nb
                backward = self._backward_calls(
                    views, lr if moments is None else dt(adam_rate(
                        learning_rate, moments, n_updates + start // batch_size + 1)),
                    mom, nesterov, alpha / weight_sum if weight_sum > 0 else 0.0, dropout,
                    step_moments)
            self._load_inputs(X, rows, views["x"])
            if dropout > 0:
                # one uniform draw per hidden layer, in layer order
                for keep in views["keep"]:
                    rng.random(out=keep, dtype=self.dtype)
            for kernel, args in forward:
                kernel(*args)
            out = views["out"]
            delta = views["delta"][-1]
            if class_indices:
                target = y_all[start:start + nb]
            else:
                target = views["y"]
                layout.gather_dense(y, rows, target)
            loss = loss_of(out, target, weight, views["proba"], delta)
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"the training loss became {loss} at sample {start} of the epoch")
            total_loss += loss * nb
            for kernel, args in backward:
                kernel(*args)
            if threads:
                threads.end(started, nb)
        # Between epochs the network is copied (the Ctrl-C snapshot), its
        # topology recorded and evolved: without the by-input views and the
        # gradient scratch (8 bytes per connection, rebuilt in O(nnz) when
        # the next epoch starts; an evolution drops the views anyway), those
        # peaks stay below the training one.
        for layer in self.layers:
            layer.refresh_transpose()
        ws["grad"] = None
        ws.pop("views", None)
        penalty = sum(losses.sum_of_squares(layer.values) for layer in self.layers)
        mean_loss = total_loss / n_samples + 0.5 * alpha * penalty / batch_size
        if not math.isfinite(mean_loss):
            raise FloatingPointError(f"the training loss became {mean_loss}")
        return mean_loss

    def predict_output(self, X):
        """Output of the network for every row of ``X``, shape (n_samples,
        n_outputs): class probabilities (softmax), label probabilities
        (logistic) or predictions (identity)."""
        n_samples = X.shape[0]
        widest = max(self.layer_sizes)
        per_sample = widest * self.dtype.itemsize * 3
        chunk = int(max(1, min(_PREDICT_CHUNK, _PREDICT_WORKSPACE_BYTES // per_sample,
                               n_samples)))
        ws = self._buffers(chunk, False, 0.0)
        result = np.empty((n_samples, self.layer_sizes[-1]), dtype=self.dtype)
        plans = {}
        activate = self.output.activate
        threads = batch_threads(ws)
        for start in range(0, n_samples, chunk):
            started = threads.begin() if threads else 0.0
            rows = np.arange(start, min(start + chunk, n_samples), dtype=np.int64)
            nb = rows.shape[0]
            plan = plans.get(nb)
            if plan is None:
                views = self._views(ws, nb)
                plan = plans[nb] = (views, self._forward_calls(views))
            views, forward = plan
            self._load_inputs(X, rows, views["x"])
            for kernel, args in forward:
                kernel(*args)
            out = views["out"]
            activate(out)
            result[start:start + nb] = out.T
            if threads:
                threads.end(started, nb)
        return result

    def activations_and_deltas(self, X, y, sample_weight, rows):
        """Activations entering each layer and deltas (loss gradients with
        respect to the pre-activations) leaving it, for the samples ``rows``,
        with the current weights and no update: lists of feature-major arrays,
        ``activations[l]`` of shape (n_in, n) and ``deltas[l]`` of shape
        (n_out, n) for layer ``l``. The gradient of a connection ``i -> j``
        of layer ``l`` is ``activations[l][i] @ deltas[l][j]``.

        Fresh arrays, not the training workspace (which holds the thread
        chooser and would be reallocated for another batch size), in
        ``dtype`` whatever the row storage: the gradient-guided regrowth
        that reads them gets float32 values, as prediction does."""
        dt = self.dtype
        nb = rows.shape[0]
        hidden = self.layer_sizes[1:-1]
        a = [np.empty((n, nb), dt) for n in hidden]
        views = {"x": np.empty((self.layer_sizes[0], nb), dt), "a": a,
                 "z": [np.empty_like(a[l]) if self._keeps_z(l) else a[l]
                       for l in range(len(hidden))],
                 "out": np.empty((self.layer_sizes[-1], nb), dt)}
        self._load_inputs(X, rows, views["x"])
        for kernel, args in self._forward_calls(views):
            kernel(*args)
        out = views["out"]
        delta = np.empty_like(out)
        target = y[rows] if self.output.class_indices else y[rows].T
        self.output.loss(out, np.ascontiguousarray(target),
                         np.ascontiguousarray(sample_weight[rows]), np.empty_like(out), delta)
        deltas = [delta]
        for l in range(len(self.layers) - 1, 0, -1):
            layer = self.layers[l]
            weights = sp.csr_matrix((layer.values, layer.indices, layer.indptr),
                                    shape=(layer.n_out, layer.n_in))
            code, slope = self.hidden_codes[l - 1]
            below = np.ascontiguousarray(weights.T @ deltas[0], dtype=dt)
            kernels.scale_by_derivative(below, views["z"][l - 1], views["a"][l - 1], code,
                                  dt.type(slope))
            deltas.insert(0, below)
        return [views["x"]] + views["a"], deltas

    # -- topology ---------------------------------------------------------
    def topology(self):
        """Connectivity statistics of the current network (see
        :func:`~sklearn_set._engine.connectivity.network_topology`), with the
        ``turnover`` of the last evolution."""
        record = network_topology(self.layers, self.layer_sizes[0])
        record["turnover"] = self.turnover
        return record

