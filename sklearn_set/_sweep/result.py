"""The result of a sparsity sweep: :class:`SparsityCurveResult`."""

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(repr=False)
class SparsityCurveResult:
    """Scores and network sizes of a sparsity sweep.

    Returned by :func:`sparsity_curve`. Arrays of shape
    ``(n_levels, n_folds)`` have one row per sparsity level (in the order
    they were given) and one column per cross-validation split. The
    parameters are stored as attributes of the same names.

    Read more in the :ref:`User Guide <sparsity_curves>`.

    Parameters
    ----------
    sparsities : ndarray of shape (n_levels,)
        Requested sparsity levels.

    train_scores : ndarray of shape (n_levels, n_folds)
        Scores on the training splits.

    test_scores : ndarray of shape (n_levels, n_folds)
        Scores on the test splits.

    n_connections : ndarray of shape (n_levels, n_folds)
        Total number of connections of each fitted network (the sum of its
        ``n_connections_``). Float, so that a failed fit (or an estimator
        without ``n_connections_``) can be NaN.

    measured_sparsities : ndarray of shape (n_levels, n_folds)
        ``sparsity_`` of each fitted network: the realised sparsity, which
        may differ slightly from the requested one because connection counts
        are whole numbers.

    fit_times : ndarray of shape (n_levels, n_folds)
        Seconds spent fitting.

    score_times : ndarray of shape (n_levels, n_folds)
        Seconds spent scoring the test split.

    param_name : str
        Full name of the swept parameter (e.g. ``"setclassifier__sparsity"``).

    score_name : str
        Readable name of the score (``"Accuracy"`` for a classifier's
        default score).

    rounds : ndarray of shape (n_levels,) or None
        For an adaptive sweep, the round in which each level was chosen (0:
        the coarse starting grid); None for a sweep over given levels.

    active_fractions : ndarray of shape (n_levels, n_folds)
        Share of each fitted network's connections that lie on an
        input-to-output path (``topology_["active_fraction"]``): where it
        drops, the random topology is falling apart (see
        :func:`connectivity_profile`). NaN for a failed fit.

    n_parameters : ndarray of shape (n_levels, n_folds)
        Parameters of each fitted network as a deployed model stores them:
        connections and biases left once :func:`~sklearn_set.compact` has
        removed the units on no input-to-output path. NaN for a failed fit.

    baseline : {"dense"} or None
        The baseline measured (the ``baseline`` argument of
        :func:`sparsity_curve`), or None.

    baseline_scores : ndarray of shape (n_levels, n_folds) or None
        Test scores, on the same splits, of the dense network of each level's
        size: its hidden layers narrowed by one factor until its weights and
        biases are as many as the level's mean ``n_parameters``.

    baseline_parameters : ndarray of shape (n_levels,) or None
        Weights and biases of each level's dense network (NaN for a level
        none of whose sparse fits succeeded: it has no size to match).

    baseline_hidden_layer_sizes : list of tuple or None
        Hidden layer sizes of each level's dense network (None for such a
        level).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_set import SETClassifier, sparsity_curve
    >>> X, y = load_iris(return_X_y=True)
    >>> model = SETClassifier(hidden_layer_sizes=(32,), max_iter=10, random_state=0)
    >>> result = sparsity_curve(model, X, y, sparsities=[0.5, 0.9], cv=3,
    ...                         baseline="dense")
    >>> result.n_levels, result.n_folds, result.baseline_scores.shape
    (2, 3, (2, 3))
    >>> X_curve, y_curve = result.curve_data()
    >>> X_curve.shape
    (6, 1)
    """

    sparsities: np.ndarray
    train_scores: np.ndarray
    test_scores: np.ndarray
    n_connections: np.ndarray
    measured_sparsities: np.ndarray
    fit_times: np.ndarray
    score_times: np.ndarray
    param_name: str = "sparsity"
    score_name: str = "Score"
    rounds: object = None
    active_fractions: np.ndarray = None
    n_parameters: np.ndarray = None
    baseline: object = None
    baseline_scores: np.ndarray = None
    baseline_parameters: np.ndarray = None
    baseline_hidden_layer_sizes: list = None

    @property
    def n_levels(self):
        """Number of sparsity levels."""
        return self.test_scores.shape[0]

    @property
    def n_folds(self):
        """Number of cross-validation splits."""
        return self.test_scores.shape[1]

    def curve_data(self, *, sparsity="requested"):
        """Sparsity and test score of every fold, ready for a curve fit.

        Parameters
        ----------
        sparsity : {"requested", "measured"}, default="requested"
            Where each fold's score is placed: at the level requested
            (``sparsities``), or at the sparsity its fitted network ended
            with (``measured_sparsities``), which is what to fit for an
            estimator whose sparsity moves in training, such as
            :class:`~sklearn_set.AccSETClassifier`.

        Returns
        -------
        X : ndarray of shape (n_levels * n_folds, 1)
            The sparsity of each measurement:
            ``np.repeat(sparsities, n_folds)[:, None]``, or
            ``measured_sparsities.reshape(-1, 1)`` (NaN for a failed fit).

        y : ndarray of shape (n_levels * n_folds,)
            The test scores, ``test_scores.ravel()``. Failed fits give NaN
            here; :meth:`fit_curve` drops them.
        """
        if sparsity not in ("requested", "measured"):
            raise ValueError(
                f'sparsity must be "requested" or "measured"; got {sparsity!r}.')
        if sparsity == "measured":
            X = np.asarray(self.measured_sparsities, dtype=np.float64).reshape(-1, 1)
        else:
            X = np.repeat(self.sparsities, self.n_folds).reshape(-1, 1)
        return X, self.test_scores.ravel()

    def fit_curve(self, *, sparsity="requested", **params):
        """Fit a :class:`~sklearn_set.SparsityCurveRegressor` to the test scores.

        Every fold counts as one measurement at its sparsity; fits with a
        NaN score (failed fits), or with ``sparsity="measured"`` a NaN
        measured sparsity, are dropped with a
        :class:`~sklearn_set.SparsityCurveWarning`. With the default
        ``sparsity="requested"`` this is::

            SparsityCurveRegressor(**params).fit_scores(
                result.sparsities, result.test_scores)

        Parameters
        ----------
        sparsity : {"requested", "measured"}, default="requested"
            Where each fold's score is placed, as in :meth:`curve_data`.

        **params
            Parameters of the regressor (``family``, ``collapse_accuracy``, ...).

        Returns
        -------
        curve : SparsityCurveRegressor
            The fitted regressor.
        """
        from .._curve import SparsityCurveRegressor, SparsityCurveWarning

        if sparsity == "requested":
            return SparsityCurveRegressor(**params).fit_scores(self.sparsities,
                                                               self.test_scores)
        X, y = self.curve_data(sparsity=sparsity)
        failed = np.isnan(X[:, 0]) | np.isnan(y)
        if failed.any():
            warnings.warn(f"Dropping {int(failed.sum())} fit(s) with a NaN score or "
                          "measured sparsity (failed fits).", SparsityCurveWarning,
                          stacklevel=2)
        return SparsityCurveRegressor(**params).fit(X[~failed], y[~failed])

    def __repr__(self):
        levels = ", ".join(f"{s:.6g}" for s in self.sparsities)
        return (
            f"{type(self).__name__}(param_name={self.param_name!r}, "
            f"score_name={self.score_name!r}, n_levels={self.n_levels}, "
            f"n_folds={self.n_folds}, sparsities=[{levels}])"
        )
