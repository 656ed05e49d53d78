"""AccSETClassifier: SET whose connection budget is steered by accuracy."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from ._base import passed_on
from ._docstrings import fill_doc
from ._evolution.policies import AccSETPolicy
from ._evolution.rules import make_regrowth
from ._set import SETClassifier


class AccSETClassifier(SETClassifier):
    __doc__ = fill_doc("""Sparse MLP classifier whose sparsity is steered by accuracy (AccSET).

    The same network, kernels and training as :class:`SETClassifier`; only
    the connectivity policy differs. After every epoch the accuracy on a
    held-out validation split decides how many pruned connections come back:

    * while it (averaged over the last ``accuracy_window`` epochs) stays
      within ``tolerance`` of the best such average seen so far,
      the global density shrinks by the factor ``1 - shrink_rate`` (fewer
      connections are regrown than were pruned), down to the density
      ``1 - max_sparsity``;
    * when it falls further, the density grows back by ``1 / (1 - shrink_rate)``
      per epoch, never above the starting density ``1 - sparsity``.

    The connection budget is split over layers the Erdos-Renyi way. The
    fitted model is the sparsest one seen whose validation accuracy is within
    ``tolerance`` of the best (its weights and topology are restored at the
    end), so one run finds a sparsity level the data support.

    The idea of accuracy-steered regrowth comes from a University of Twente
    study [4]_ of adaptive performance-based connectivity for SET [1]_; its
    exact rule is not published in full, and the rule above is **this
    package's formulation**.

    Read more in the :ref:`User Guide <accset>`.

    Parameters
    ----------
%(hidden_layer_sizes_parameter)s

%(activation_parameter)s

%(sparsity_parameter)s

%(topology_parameters)s

%(alpha_parameter)s

%(training_parameters)s

%(accset_max_iter_parameter)s

%(training_tail_parameters)s

%(accset_stopping_parameters)s

%(class_weight_parameter)s

%(execution_parameters)s

    tolerance : float >= 0, default=0.01
        Validation-accuracy drop below the best seen that still counts as
        holding (0.01 = one percentage point).

    shrink_rate : float in (0, 1), default=0.02
        Relative change of the density per epoch. Shrinking by 2% an epoch
        takes a network from sparsity 0.8 to 0.95 in about 70 epochs, which
        leaves SGD time to adapt (on digits, 5% lost up to 4 points of test
        accuracy against 2%); it should stay below ``zeta`` so that pruning,
        not regrowth, sets the pace.

    max_sparsity : float in (0, 1), default=0.999
        Sparsity the network never exceeds.

    accuracy_window : int >= 1, default=5
        The accuracy that steers and selects is the mean validation accuracy
        of the last ``accuracy_window`` epochs. Averaging damps the noise of a
        small validation split, which otherwise lets the selection favour a
        lucky sparse epoch.

    Attributes
    ----------
%(classifier_attributes)s

    sparsity_history_ : ndarray of shape (`n_iter_`,)
        Sparsity of the network trained in each epoch.

    validation_accuracy_history_ : ndarray of shape (`n_iter_`,)
        Validation accuracy measured after each epoch.

    best_sparsity_ : float
        Sparsity of the selected (returned) model; equals ``sparsity_``.

    best_epoch_ : int
        Epoch (1-based) of the selected model.

%(fitted_attributes)s

    See Also
    --------
    SETClassifier : Constant sparsity.
    SparsityCurveRegressor : Fit accuracy against sparsity, e.g. on the path
        ``(sparsity_history_, validation_accuracy_history_)``.

    References
    ----------
%(set_references)s
    .. [4] Lapshyna, University of Twente, 2020: a study of adaptive,
       performance-based connectivity for SET, where the idea of
       accuracy-steered connectivity comes from. This estimator's rule is
       the package's own formulation of that idea.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_set import AccSETClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = AccSETClassifier(hidden_layer_sizes=(128,), sparsity=0.8,
    ...                        max_iter=40, random_state=0).fit(X, y)
    >>> bool(clf.sparsity_ > 0.8)
    True
    >>> len(clf.sparsity_history_) == len(clf.validation_accuracy_history_) == clf.n_iter_
    True

    The path the network took, one (sparsity, validation accuracy) pair per
    epoch, can feed the sparsity curve directly. This short run never reached
    the collapse, and the curve says so instead of extrapolating it:

    >>> import warnings
    >>> from sklearn_set import SparsityCurveRegressor
    >>> path = clf.sparsity_history_.reshape(-1, 1)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     curve = SparsityCurveRegressor().fit(path, clf.validation_accuracy_history_)
    >>> curve.collapse_identified_
    False
    """)

    _parameter_constraints = {
        **SETClassifier._parameter_constraints,
        "tolerance": [Interval(Real, 0, None, closed="left")],
        "shrink_rate": [Interval(Real, 0, 1, closed="neither")],
        "max_sparsity": [Interval(Real, 0, 1, closed="neither")],
        "accuracy_window": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(100,),
        activation="allrelu",
        sparsity="auto",
        zeta=0.3,
        zeta_schedule="constant",
        regrowth="random",
        alpha=0.1,
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
        class_weight=None,
        n_jobs=None,
        dtype="float32",
        tolerance=0.01,
        shrink_rate=0.02,
        max_sparsity=0.999,
        accuracy_window=5,
    ):
        super().__init__(**passed_on(super().__init__, locals()))
        self.tolerance = tolerance
        self.shrink_rate = shrink_rate
        self.max_sparsity = max_sparsity
        self.accuracy_window = accuracy_window

    def _finish(self, best_state):
        super()._finish(best_state)
        chosen = self._policy.selected()
        if chosen is None:  # no epoch had a validation score (partial_fit alone)
            return
        self.sparsity_history_ = self._policy.sparsity_history.copy()
        self.validation_accuracy_history_ = self._policy.score_history.copy()
        self.best_sparsity_ = chosen.sparsity
        self.best_epoch_ = chosen.epoch

    def _make_policy(self):
        # the network is allocated already: "auto" has become a number
        start = float(self._network.sparsity)
        if self.max_sparsity < start:
            raise ValueError(
                f"max_sparsity={self.max_sparsity} is below the starting "
                f"sparsity={self.sparsity}"
                + (f" ({start:.4g} on this network)" if self.sparsity == "auto" else "")
                + "; AccSET only makes networks sparser.")
        return AccSETPolicy(tolerance=self.tolerance, shrink_rate=self.shrink_rate,
                            max_sparsity=self.max_sparsity, window=self.accuracy_window,
                            patience=self.n_iter_no_change if self.early_stopping else None,
                            regrowth=make_regrowth(self.regrowth))
