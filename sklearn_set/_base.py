"""Shared scikit-learn machinery of the sparse MLP estimators."""

import inspect
import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from . import _names, _preflight
from ._callbacks import CallbackSupportMixin, with_callbacks
from ._engine._kernels.storage import BFLOAT16
from ._engine.activations import ACTIVATIONS
from ._engine.layer import erdos_renyi_allocation
from ._engine.network import SparseMLP, network_memory_bytes
from ._engine.threads import kernel_n_jobs as _kernel_n_jobs
from ._engine.threads import kernel_threads
from ._evolution.policies import ZETA_SCHEDULES, SETPolicy
from ._evolution.rules import make_regrowth
from ._interrupt import IN_MEMORY_COPY_MAX_BYTES, InterruptGuard
from ._topology_history import append_record, empty_history, record_dict
from ._warnings import DisconnectedNetworkWarning

# the dtype parameter: the weights' and arithmetic's dtype, and the dtype
# the training workspaces store their rows in (bfloat16: uint16 arrays)
_DTYPES = {"float32": np.float32, "float64": np.float64, "bfloat16": np.float32}
_ROW_STORAGE = {"float32": np.float32, "float64": np.float64, "bfloat16": BFLOAT16}

# batch_size="auto" means min(_AUTO_BATCH_SIZE, n_samples).
_AUTO_BATCH_SIZE = 32

# sparsity="auto": every layer at this Erdos-Renyi epsilon (measured with
# benchmarks/suite.py; see the documentation page "Training recipe").
AUTO_ERDOS_RENYI_EPSILON = 12.0


def passed_on(init, arguments):
    """The entries of ``arguments``, the ``locals()`` of a subclass's
    ``__init__``, that ``init`` (its parent's bound ``__init__``) takes.

    A subclass calls ``super().__init__(**passed_on(super().__init__,
    locals()))`` first thing: each parameter is then named once, in its
    signature (which scikit-learn's ``get_params`` reads), and cannot be
    passed on under the wrong name.
    """
    return {name: arguments[name] for name in inspect.signature(init).parameters}


class BaseSparseMLP(CallbackSupportMixin, BaseEstimator):
    """Base class of the truly sparse MLP estimators.

    ``__init__`` assigns the parameters every estimator shares; a subclass
    with parameters or defaults of its own declares them all in its signature,
    passes the shared ones on with :func:`passed_on` and assigns its own.
    Subclasses define the output kind and the target encoding, and may
    override :meth:`_make_policy`.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "sparsity": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "zeta": [Interval(Real, 0, 1, closed="left")],
        "zeta_schedule": [StrOptions(set(ZETA_SCHEDULES))],
        "regrowth": [StrOptions(set(_names.REGROWTH_RULES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"sgd", "adam"})],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             Options(Real, {np.inf})],
        "n_jobs": [Interval(Integral, None, -1, closed="right"),
                   Interval(Integral, 1, None, closed="left"), None],
        "dtype": [StrOptions(set(_DTYPES))],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        sparsity=0.9,
        zeta=0.3,
        zeta_schedule="constant",
        regrowth="random",
        alpha=1e-4,
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
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        n_jobs=None,
        dtype="float32",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.sparsity = sparsity
        self.zeta = zeta
        self.zeta_schedule = zeta_schedule
        self.regrowth = regrowth
        self.alpha = alpha
        self.batch_size = batch_size
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.dropout = dropout
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.n_jobs = n_jobs
        self.dtype = dtype

    # -- hooks for subclasses -------------------------------------------
    _output = None  # the output kind: a key of _engine.network.OUTPUT_KINDS

    def _make_policy(self):
        return SETPolicy(regrowth=make_regrowth(self.regrowth))

    def _allocation(self):
        """``(sparsity, epsilon)`` for the Erdos-Renyi allocation: a global
        sparsity, or for ``sparsity="auto"`` the fixed epsilon per layer."""
        if self.sparsity == "auto":
            return None, AUTO_ERDOS_RENYI_EPSILON
        return self.sparsity, None

    # -- fitted state -----------------------------------------------------
    # MLPClassifier's per-epoch lists, saved as arrays: skops writes a list
    # as one node per entry, an array as one block
    _EPOCH_LISTS = ("loss_curve_", "validation_scores_")

    def __getstate__(self):
        state = dict(super().__getstate__())  # which may be the instance's __dict__
        for name in self._EPOCH_LISTS:
            if isinstance(state.get(name), list):
                state[name] = np.asarray(state[name], dtype=np.float64)
        return state

    def __setstate__(self, state):
        for name in self._EPOCH_LISTS:
            if isinstance(state.get(name), np.ndarray):
                state[name] = state[name].tolist()
        super().__setstate__(state)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_network")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @property
    def coefs_(self):
        """list of scipy.sparse.csr_matrix: layer ``i`` has shape
        ``(n_units[i], n_units[i + 1])``; absent connections are not stored."""
        check_is_fitted(self)
        return [
            sp.csc_matrix((layer.values.copy(), layer.indices.copy(), layer.indptr.copy()),
                          shape=(layer.n_in, layer.n_out)).tocsr()
            for layer in self._network.layers
        ]

    @property
    def intercepts_(self):
        """list of ndarray: bias vector of each layer."""
        check_is_fitted(self)
        return [layer.bias.copy() for layer in self._network.layers]

    @property
    def feature_importances_(self):
        """ndarray of shape (`n_features_in_`,): each input's share of the total
        absolute weight of the first layer's connections (sums to 1)."""
        check_is_fitted(self)
        strength = self._network.layers[0].input_strength()
        total = strength.sum()
        if total <= 0:
            return np.full(strength.shape[0], 1.0 / strength.shape[0])
        return strength / total

    # -- input handling ---------------------------------------------------
    def _validate_X(self, X, reset):
        X = validate_data(
            self, X, reset=reset, accept_sparse=["csr", "csc"],
            dtype=_DTYPES[self.dtype], order="C", ensure_min_samples=1,
        )
        if sp.issparse(X):
            X = X.tocsr()
        return X

    def _resolved_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_SIZE, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the number of "
                f"samples ({n_samples}); it is clipped to {n_samples}.", stacklevel=3)
        return min(self.batch_size, n_samples)

    def _check_hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral):
            sizes = [sizes]
        sizes = list(sizes)
        for size in sizes:
            if not isinstance(size, Integral) or isinstance(size, bool) or size < 1:
                raise ValueError(
                    "hidden_layer_sizes must hold positive integers (a layer "
                    f"of width 0 has no units), got {self.hidden_layer_sizes!r}.")
        return [int(s) for s in sizes]

    # -- training -----------------------------------------------------------
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model: ``max_iter`` epochs of SGD with SET evolution.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. CSR and CSC are used as such (each minibatch is
            expanded on its own), never densified as a whole.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: class labels or a label indicator matrix for a
            classifier (multilabel: one sigmoid output per label, trained
            with binary cross-entropy), real values for a regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample loss weights (rescaled to mean 1).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """Validate the data, initialise a new model or continue the fitted
        one, run the epochs (one for ``incremental``) and finish."""
        if incremental and self.early_stopping:
            # as MLPClassifier: one epoch on a batch has nothing to stop or select
            raise ValueError("partial_fit does not support early_stopping=True")
        hidden = self._check_hidden_layer_sizes()
        first_call = not (hasattr(self, "_network") and (self.warm_start or incremental))
        X, y, sample_weight, given = self._validate_training_data(
            X, y, sample_weight, first_call, incremental, classes)
        if first_call:
            self._initialize(X.shape, hidden, incremental)
        else:
            self._check_same_architecture(hidden)
            if self._network.dtype == _DTYPES[self.dtype]:
                # float32 <-> bfloat16 rows: the same weights, trained on
                self._network.store_rows_as(_ROW_STORAGE[self.dtype])
        data, l2, validation = self._training_split(X, y, sample_weight, incremental)
        self.n_iter_ = 0  # like MLPClassifier: the epochs of this call
        callbacks = self._init_callback_context(
            task_name="partial_fit" if incremental else "fit",
            max_subtasks=1 if incremental else self.max_iter)
        callbacks.call_on_fit_task_begin(estimator=self, **given)
        with kernel_threads(_kernel_n_jobs(self.n_jobs)), InterruptGuard(self) as guard:
            best_state = self._run_epochs(data, l2, validation, incremental, guard,
                                          callbacks, given)
        if guard.interrupted:
            best_state = guard.best_state
        self._finish(best_state)
        callbacks.call_on_fit_task_end(estimator=self, **given, reconstruction_attributes={})
        return self

    def _validate_training_data(self, X, y, sample_weight, first_call, incremental, classes):
        """Validated ``X``, encoded targets, sample weights (times class
        weights) and the data as given, which callbacks see (a
        ScoringMonitor scores with them)."""
        X = self._validate_X(X, reset=first_call)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        given = {"X": X, "y": y}
        y = self._encode_targets(X, y, first_call, classes, incremental)
        sample_weight = self._prepare_sample_weight(X, y, sample_weight)
        if not incremental:
            self._check_training_targets(y, sample_weight)
        return X, y, sample_weight, given

    def _check_same_architecture(self, hidden):
        hidden_now = list(self._network.layer_sizes[1:-1])
        if hidden_now != hidden:
            raise ValueError(
                f"hidden_layer_sizes changed from {hidden_now} to {hidden}; "
                "warm_start and partial_fit need the same architecture.")

    def _training_split(self, X, y, sample_weight, incremental):
        """The training data ``(X, y, sample_weight)`` with weights of mean 1,
        ``alpha`` in their units, and the held-out validation data (None when
        no score is measured)."""
        validation = None
        if self.validation_scores_ is not None and not incremental:
            X, X_val, y, y_val, sample_weight, weight_val = self._split_validation(
                X, y, sample_weight)
            validation = (X_val, y_val, weight_val)
        sample_weight, l2 = self._normalized_weights(sample_weight)
        return (X, y, sample_weight), l2, validation

    def _initialize(self, shape, hidden, incremental):
        """A new network, its policy and the fitted attributes' start values."""
        n_samples, n_features = shape
        self._rng = np.random.default_rng(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        layer_sizes = [n_features] + hidden + [self.n_outputs_]
        self._check_memory(layer_sizes, n_samples)
        self._network = SparseMLP(layer_sizes, activation=self.activation,
                                  output=self._output, dtype=_DTYPES[self.dtype],
                                  storage=_ROW_STORAGE[self.dtype])
        sparsity, epsilon = self._allocation()
        self._network.initialize(sparsity, self._rng, epsilon=epsilon)
        self._policy = self._make_policy()
        self._policy.start(self._network)
        self.t_ = 0
        self.loss_curve_ = []
        self.topology_history_ = empty_history(self._network.topology())
        self.n_layers_ = len(layer_sizes)
        self.out_activation_ = self._output
        self.erdos_renyi_epsilon_ = self._network.epsilon
        self._no_improvement_count = 0
        # the optimizer's state: the scheduled SGD step size, Adam's step count
        self._learning_rate = float(self.learning_rate_init)
        self._n_updates = 0
        use_validation = (self.early_stopping or self._policy.needs_validation) and not incremental
        self.best_loss_ = None if use_validation else np.inf
        self.validation_scores_ = [] if use_validation else None
        self.best_validation_score_ = -np.inf if use_validation else None

    def _run_epochs(self, data, l2, validation, incremental, guard, callbacks, given):
        """Train one epoch (``incremental``) or up to ``max_iter``, evolving
        the topology between epochs; ``l2`` is ``alpha`` in the units of the
        normalised weights; ``callbacks`` is the fit's callback context (each
        epoch is a task; a callback may ask to stop after it), ``given`` the
        ``X`` and ``y`` passed to fit, for callbacks. Returns the
        snapshot of the best epoch (early stopping) or None."""
        X = data[0]
        n_epochs = 1 if incremental else self.max_iter
        batch_size = self._resolved_batch_size(X.shape[0])
        network = self._network
        # a policy that selects the returned model itself needs no best-epoch copy
        keep_best = validation is not None and not self._policy.selects_model
        best_state = None
        for epoch in range(n_epochs):
            start = time.perf_counter()
            task = callbacks.subcontext(task_name="epoch")
            task.call_on_fit_task_begin(estimator=self, **given)
            loss = self._evolve_and_train(data, l2, batch_size)
            score = self._record_epoch(loss, validation, X.shape[0])
            improved = self._track_improvement(loss, score)
            if self.learning_rate == "invscaling":
                # after each epoch, as MLPClassifier's SGD optimizer does
                self._learning_rate = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            if improved and keep_best:
                best_state = network.snapshot()
            guard.commit(best_state, shared=improved and keep_best)
            if self.verbose:
                self._report_epoch(loss, score, time.perf_counter() - start)
            requested = task.call_on_fit_task_end(
                estimator=self, **given, reconstruction_attributes=self._callback_state)
            if incremental or requested or self._stops(score):
                break
            if epoch == n_epochs - 1:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                    "reached and the optimization hasn't converged yet.",
                    ConvergenceWarning, stacklevel=4)
        return best_state

    def _evolve_and_train(self, data, l2, batch_size):
        """One epoch: the policy evolves the topology (not before the first
        epoch, and never after the last one, so the returned model has no
        untrained fresh connections), then the network trains on ``data``
        with the solver's step; returns the epoch's loss. A diverged model is
        discarded."""
        X, y, sample_weight = data
        if self.loss_curve_:
            self._policy.evolve(self._network, self._zeta(len(self.loss_curve_)), self._rng,
                                data)
        adam = self.solver == "adam"
        try:
            loss = self._network.train_epoch(
                X, y, sample_weight, batch_size=batch_size,
                learning_rate=self.learning_rate_init if adam else self._learning_rate,
                momentum=self.momentum, nesterov=self.nesterovs_momentum, alpha=l2,
                dropout=self.dropout, shuffle=self.shuffle, rng=self._rng,
                moments=(self.beta_1, self.beta_2, self.epsilon) if adam else None,
                n_updates=self._n_updates)
        except FloatingPointError as exc:
            del self._network
            raise ValueError(
                f"Training diverged in epoch {self.n_iter_ + 1}: {exc}. "
                "The model was discarded. Lower learning_rate_init "
                f"(now {self.learning_rate_init}) or scale the inputs, "
                "e.g. with StandardScaler.") from None
        if adam:
            self._n_updates += -(-X.shape[0] // batch_size)
        return loss

    def _zeta(self, n_epochs):
        """The fraction rewired after ``n_epochs`` epochs of training."""
        return self.zeta * ZETA_SCHEDULES[self.zeta_schedule](n_epochs / self.max_iter)

    def _record_epoch(self, loss, validation, n_samples):
        """Bookkeeping after an epoch's training on ``n_samples``; returns
        its validation score (None without validation)."""
        network = self._network
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_curve_.append(float(loss))
        self.loss_ = loss
        self.topology_history_ = append_record(self.topology_history_, network.topology())
        score = None if validation is None else self._validation_score(*validation)
        if score is not None:
            self.validation_scores_.append(score)
        # the policy numbers epochs over the model's whole training
        self._policy.observe(len(self.loss_curve_), network, score)
        return score

    def _stops(self, score):
        """Whether training stops now: the policy decides, given
        MLPClassifier's no-improvement rule."""
        stalled = self._no_improvement_count > self.n_iter_no_change
        if (stalled and self.solver == "sgd" and self.learning_rate == "adaptive"
                and self._learning_rate > 1e-6):
            # MLPClassifier's "adaptive" schedule: a stall divides the step
            # size by 5 instead of stopping, until it is 1e-6 or less
            self._learning_rate /= 5.0
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{self._stall_message(score)} Setting learning rate to "
                      f"{self._learning_rate:f}")
            stalled = False
        if not self._policy.stop(len(self.loss_curve_), stalled):
            return False
        if self.verbose and stalled:
            print(f"{self._stall_message(score)} Stopping.")
        return True

    def _stall_message(self, score):
        """MLPClassifier's verbose words for ``n_iter_no_change`` epochs
        without improvement of the validation ``score`` (or, when None, of
        the training loss)."""
        what = "Validation score" if score is not None else "Training loss"
        return (f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs.")

    def _callback_state(self):
        """The attributes that make a shallow copy of the estimator the model
        as it is now (for callbacks that look at it later: the network is
        copied, since training updates it in place)."""
        state = {"_network": self._network.copy(), "n_iter_": self.n_iter_,
                 "loss_curve_": list(self.loss_curve_),
                 "topology_history_": self.topology_history_.copy(),
                 "n_connections_": self._network.n_connections,
                 "sparsity_": float(self._network.sparsity),
                 "topology_": record_dict(self.topology_history_[-1])}
        if self.validation_scores_ is not None:
            state["validation_scores_"] = list(self.validation_scores_)
        return state

    def _report_epoch(self, loss, score, seconds):
        # MLPClassifier's line, then what only a sparse network has
        parts = [f"Iteration {self.n_iter_}", f"loss = {loss:.8f}"]
        if score is not None:
            parts.append(f"validation score = {score:.6f}")
        parts.append(f"sparsity = {self._network.sparsity:.6f}")
        active = self.topology_history_[-1]["active_fraction"]
        parts.append(f"active = {active:.3f}")
        parts.append(f"{seconds:.3f} s")
        print(", ".join(parts))

    def _finish(self, best_state):
        """Restore the model to end with and publish the fitted attributes."""
        network = self._network
        chosen = self._policy.selected()
        restored = chosen.snapshot if chosen is not None else best_state
        if restored is not None:
            network.restore(restored)
        self.n_connections_ = network.n_connections
        self.sparsity_ = float(network.sparsity)
        # an earlier epoch's model is described anew; the last epoch's record
        # already describes the network as it is
        self.topology_ = (network.topology() if restored is not None
                          else record_dict(self.topology_history_[-1]))
        self._warn_if_disconnected(network.layer_sizes[-1])

    def _warn_if_disconnected(self, n_outputs):
        """Say so when outputs are on no input-to-output path: their scores
        are constants (from the topology the fit computed already)."""
        reached = self.topology_["outputs_reached"]
        if reached == n_outputs:
            return
        what = ("no path from an input to an output: it predicts the same for every input"
                if reached == 0 else f"paths from the inputs to only {reached} of its "
                f"{n_outputs} outputs: the others give the same score for every input")
        warnings.warn(DisconnectedNetworkWarning(
            f"{type(self).__name__} ended with {what} ({int(self.n_connections_.sum())} "
            f"connections at sparsity {self.sparsity_:.4g}). Lower sparsity, narrow "
            "hidden_layer_sizes or use regrowth='connected'."), stacklevel=4)

    def _check_memory(self, layer_sizes, n_samples, n_fits=1):
        """Refuse, before anything is allocated, a network whose arrays cannot
        fit in the memory available; ``n_fits`` such networks when that many
        fits run at once (a parallel sweep)."""
        shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
        sparsity, epsilon = self._allocation()
        counts, _ = erdos_renyi_allocation(shapes, sparsity, epsilon=epsilon)
        dtype = _DTYPES[self.dtype]
        batch = min(n_samples, _AUTO_BATCH_SIZE if self.batch_size == "auto" else self.batch_size)
        # the network with its workspaces, and the snapshot fit keeps of an
        # epoch unless it goes to a file: input ids, weights, optimizer state
        floats = 3 if self.solver == "adam" else 2
        snapshot = int(counts.sum()) * (4 + floats * np.dtype(dtype).itemsize)
        if snapshot > IN_MEMORY_COPY_MAX_BYTES:
            snapshot = 0
        need = n_fits * (network_memory_bytes(layer_sizes, counts, dtype, batch, self.solver)
                         + snapshot)
        available = _preflight.available_memory_bytes()
        if available is not None and need > available:
            what = (f"{type(self).__name__} with layer sizes {list(layer_sizes)} and "
                    f"sparsity={self.sparsity}")
            if n_fits > 1:
                what = f"{n_fits} fits at once of {what} need"
            else:
                what += " needs"
            raise MemoryError(
                f"{what} {need} bytes ({need / 2**30:.3g} GiB) for "
                f"{n_fits * int(counts.sum())} connections, their snapshot and the "
                f"workspaces, but only {available} bytes ({available / 2**30:.3g} GiB) "
                "of memory are available. Raise sparsity or narrow hidden_layer_sizes"
                + (", or run fewer fits at once." if n_fits > 1 else "."))

    def _split_validation(self, X, y, sample_weight):
        """Hold out ``validation_fraction`` of the samples (at least two: a
        policy that steers by the score holds out two on tiny data sets;
        early stopping refuses fewer, as MLPClassifier does).

        Classifiers split stratified when every class can appear on both
        sides, and at random otherwise (tiny or very imbalanced data). The
        held-out samples keep their weights (sample_weight times
        class_weight): validation scores are weighted like the loss.
        """
        n_samples = X.shape[0]
        n_val = math.ceil(self.validation_fraction * n_samples)
        if self._policy.needs_validation:
            # the policy steers by this score: two samples at the least
            n_val = max(n_val, 2)
        if n_val < 2 or n_val >= n_samples:
            # as MLPClassifier: a score of one sample cannot steer or stop
            raise ValueError(
                f"The validation set is too small: validation_fraction="
                f"{self.validation_fraction} of {n_samples} samples holds out {n_val} "
                f"and leaves {n_samples - n_val} to train on; both need at least "
                f"{2 if n_val < 2 else 1}. Increase 'validation_fraction' or the size "
                "of your dataset.")
        stratify = None
        if self._network.output.class_indices:
            counts = np.bincount(y)
            counts = counts[counts > 0]
            if counts.min() >= 2 and min(n_val, n_samples - n_val) >= counts.size:
                stratify = y
        X, X_val, y, y_val, sample_weight, weight_val = train_test_split(
            X, y, sample_weight, test_size=n_val,
            random_state=self._rng.integers(np.iinfo(np.int32).max), stratify=stratify)
        if not weight_val.sum() > 0:
            weight_val = np.ones_like(weight_val)
        return X, X_val, y, y_val, sample_weight, weight_val

    def _track_improvement(self, loss, score):
        """Update the no-improvement counter as MLPClassifier does; return
        whether this epoch is the best so far."""
        if score is not None:
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
            return False
        if self.best_loss_ is None:  # partial_fit after a fit with validation
            self.best_loss_ = np.inf
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if loss < self.best_loss_:
            self.best_loss_ = loss
            return True
        return False

    def _prepare_sample_weight(self, X, y, sample_weight):
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        sample_weight = sample_weight * self._target_weights(y)
        total = sample_weight.sum()
        if not total > 0:
            raise ValueError("sample_weight (times class_weight) sums to zero; "
                             "at least one sample needs a positive weight.")
        return sample_weight

    def _normalized_weights(self, sample_weight):
        """Training weights rescaled to mean 1, which keeps the loss scale and
        thus ``learning_rate_init`` unchanged, and the L2 factor that keeps
        ``alpha`` in the units of the given weights (MLPClassifier divides
        the batch's L2 term by its weight sum)."""
        unit = sample_weight.mean()
        if not unit > 0:
            raise ValueError(
                "Every training sample left after the validation split has zero "
                "sample_weight (times class_weight); nothing can be learned.")
        return (sample_weight / unit).astype(_DTYPES[self.dtype]), self.alpha / unit

    def _target_weights(self, y):
        return np.ones(y.shape[0])

    def _check_training_targets(self, y, sample_weight):
        """Raise if the weighted targets cannot be learned (e.g. one class)."""

    def _network_output(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with kernel_threads(_kernel_n_jobs(self.n_jobs)):
            out = self._network.predict_output(X)
        if not np.isfinite(out).all():
            raise ValueError(
                "The network produced non-finite outputs for this X; its values "
                f"are probably too large for {self.dtype} (scale the inputs).")
        return out
