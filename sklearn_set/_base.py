"""Shared scikit-learn machinery of the sparse MLP estimators."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._network import ACTIVATIONS, SparseMLP, kernel_threads
from ._policies import SETPolicy

_DTYPES = {"float32": np.float32, "float64": np.float64}


class BaseSparseMLP(BaseEstimator):
    """Base class of the truly sparse MLP estimators.

    Subclasses define ``__init__`` (the public parameters), the output kind
    and target encoding, and may override :meth:`_make_policy`.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "sparsity": [Interval(Real, 0, 1, closed="left")],
        "zeta": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
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
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "dtype": [StrOptions(set(_DTYPES))],
    }

    # -- hooks for subclasses -------------------------------------------
    _output = None  # "softmax" or "identity"

    def _make_policy(self):
        return SETPolicy()

    def _uses_validation(self):
        return self.early_stopping

    # -- fitted state -----------------------------------------------------
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
        """ndarray of shape (n_features_in_,): each input's share of the total
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
            return min(32, n_samples)
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
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        hidden = self._check_hidden_layer_sizes()
        first_call = not (hasattr(self, "_network") and (self.warm_start or incremental))
        X = self._validate_X(X, reset=first_call)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = self._encode_targets(X, y, first_call, classes)
        sample_weight = self._prepare_sample_weight(X, y, sample_weight)
        if not incremental:
            self._check_training_targets(y, sample_weight)
        if first_call:
            self._rng = np.random.default_rng(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            layer_sizes = [X.shape[1]] + hidden + [self.n_outputs_]
            self._network = SparseMLP(layer_sizes, activation=self.activation,
                                      output=self._output, dtype=_DTYPES[self.dtype])
            self._network.initialize(self.sparsity, self._rng)
            self._policy = self._make_policy()
            self._policy.start(self._network)
            self.n_iter_ = 0
            self.t_ = 0
            self.loss_curve_ = []
            self.n_layers_ = len(layer_sizes)
            self.out_activation_ = self._output
            self.epsilon_ = self._network.epsilon
            self._no_improvement_count = 0
            use_validation = self._uses_validation() and not incremental
            self.best_loss_ = None if use_validation else np.inf
            self.validation_scores_ = [] if use_validation else None
            self.best_validation_score_ = -np.inf if use_validation else None
        else:
            hidden_now = list(self._network.layer_sizes[1:-1])
            if hidden_now != hidden:
                raise ValueError(
                    f"hidden_layer_sizes changed from {hidden_now} to {hidden}; "
                    "warm_start and partial_fit need the same architecture.")
        use_validation = self.validation_scores_ is not None and not incremental

        X_val = y_val = None
        if use_validation:
            X, X_val, y, y_val, sample_weight, _ = train_test_split(
                X, y, sample_weight, test_size=self.validation_fraction,
                random_state=self._rng.integers(np.iinfo(np.int32).max),
                stratify=y if self._output == "softmax" else None)
            if X.shape[0] < 1 or X_val.shape[0] < 1:
                raise ValueError("validation_fraction leaves no sample to train or to validate on.")
            sample_weight = sample_weight / sample_weight.mean()

        n_epochs = 1 if incremental else self.max_iter
        batch_size = self._resolved_batch_size(X.shape[0])
        best_state = None
        network = self._network
        with kernel_threads(self.n_jobs):
            for epoch in range(n_epochs):
                start = time.perf_counter()
                if self.n_iter_ > 0:
                    # SET evolves between epochs: never after the last one, so
                    # the returned model has no untrained fresh connections.
                    network.evolve(self.zeta, self._rng, self._policy)
                try:
                    loss = network.train_epoch(
                        X, y, sample_weight, batch_size=batch_size,
                        learning_rate=self.learning_rate_init, momentum=self.momentum,
                        nesterov=self.nesterovs_momentum, alpha=self.alpha,
                        dropout=self.dropout, shuffle=self.shuffle, rng=self._rng)
                except FloatingPointError as exc:
                    del self._network
                    raise ValueError(
                        f"Training diverged in epoch {self.n_iter_ + 1}: {exc}. "
                        "The model was discarded. Lower learning_rate_init "
                        f"(now {self.learning_rate_init}) or scale the inputs, "
                        "e.g. with StandardScaler.") from None
                self.n_iter_ += 1
                self.t_ += X.shape[0]
                self.loss_curve_.append(loss)
                self.loss_ = loss
                score = None
                if use_validation:
                    score = self._validation_score(X_val, y_val)
                    self.validation_scores_.append(score)
                self._policy.observe(self.n_iter_, network, score)
                improved = self._track_improvement(loss, score)
                if improved and use_validation:
                    best_state = network.snapshot()
                if self.verbose:
                    parts = [f"Epoch {self.n_iter_}", f"loss = {loss:.6f}"]
                    if score is not None:
                        parts.append(f"validation score = {score:.6f}")
                    parts.append(f"sparsity = {network.sparsity:.6f}")
                    parts.append(f"{time.perf_counter() - start:.3f} s")
                    print(", ".join(parts))
                if incremental:
                    break
                if self._no_improvement_count > self.n_iter_no_change:
                    if self.verbose:
                        what = "Validation score" if use_validation else "Training loss"
                        print(f"{what} did not improve more than tol={self.tol} for "
                              f"{self.n_iter_no_change} consecutive epochs. Stopping.")
                    break
                if epoch == n_epochs - 1:
                    warnings.warn(
                        f"Stochastic optimizer: maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet.",
                        ConvergenceWarning, stacklevel=3)
        if use_validation and best_state is not None:
            network.restore(best_state)
        self._publish_topology()
        return self

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
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if loss < self.best_loss_:
            self.best_loss_ = loss
            return True
        return False

    def _publish_topology(self):
        network = self._network
        self.n_connections_ = network.n_connections
        self.sparsity_ = float(network.sparsity)

    def _prepare_sample_weight(self, X, y, sample_weight):
        dtype = _DTYPES[self.dtype]
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        sample_weight = sample_weight * self._target_weights(y)
        total = sample_weight.sum()
        if not total > 0:
            raise ValueError("sample_weight (times class_weight) sums to zero; "
                             "at least one sample needs a positive weight.")
        # Mean 1 keeps the loss scale, and thus learning_rate_init, unchanged.
        return (sample_weight * (sample_weight.shape[0] / total)).astype(dtype)

    def _target_weights(self, y):
        return np.ones(y.shape[0])

    def _check_training_targets(self, y, sample_weight):
        """Raise if the weighted targets cannot be learned (e.g. one class)."""

    def _network_output(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with kernel_threads(self.n_jobs):
            out = self._network.predict_output(X)
        if not np.isfinite(out).all():
            raise ValueError(
                "The network produced non-finite outputs for this X; its values "
                f"are probably too large for {self.dtype} (scale the inputs).")
        return out
