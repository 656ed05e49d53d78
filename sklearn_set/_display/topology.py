"""TopologyHistoryDisplay: how a network's connectivity evolved in training."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted


class TopologyHistoryDisplay:
    """Active connections and live neurons per layer over the epochs.

    A connection is *active* when it lies on at least one input-to-output
    path; a hidden unit is *live* when it is reachable from an input and
    reaches an output. At extreme sparsity a random topology loses its paths
    long before it runs out of connections: the gap between the connections
    and the active connections is the budget that does no work.

    Build it with :meth:`from_estimator`.

    Read more in the :ref:`User Guide <extreme_sparsity>`.

    Parameters
    ----------
    topology_history : structured ndarray or list of dict
        One record per epoch, as a fitted estimator's ``topology_history_``.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        Left: connections (dashed) and active connections (solid) of each
        layer; right: live units of each hidden layer.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_set import SETClassifier, TopologyHistoryDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SETClassifier(hidden_layer_sizes=(64,), sparsity=0.99, max_iter=5,
    ...                     regrowth="connected", random_state=0).fit(X / 16, y)
    >>> display = TopologyHistoryDisplay.from_estimator(clf)
    >>> display.axes_.shape
    (2,)
    """

    def __init__(self, topology_history):
        self.topology_history = topology_history

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the ``topology_history_`` of a fitted sparse MLP.

        Parameters
        ----------
        estimator : fitted SETClassifier, SETRegressor or AccSETClassifier
            (or a pipeline ending in one).
        ax : array of 2 matplotlib Axes, default=None
            Passed to :meth:`plot`.

        Returns
        -------
        display : TopologyHistoryDisplay
            The display of the estimator's history, drawn.
        """
        final = estimator[-1] if hasattr(estimator, "steps") else estimator
        check_is_fitted(final)
        return cls(final.topology_history_).plot(ax=ax)

    def plot(self, *, ax=None):
        """Draw the history.

        Parameters
        ----------
        ax : array of 2 matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : TopologyHistoryDisplay
            The display, with ``axes_`` and ``figure_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if len(self.topology_history) == 0:
            raise ValueError("topology_history is empty: nothing to plot.")
        if ax is None:
            fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
        ax = np.asarray(ax).ravel()
        if ax.shape[0] != 2:
            raise ValueError(f"ax must hold 2 Axes, got {ax.shape[0]}.")
        epochs = np.arange(1, len(self.topology_history) + 1)
        connections = np.array([r["connections"] for r in self.topology_history])
        active = np.array([r["active_connections"] for r in self.topology_history])
        live = np.array([r["live_neurons"] for r in self.topology_history])
        for layer in range(connections.shape[1]):
            (line,) = ax[0].plot(epochs, active[:, layer], label=f"layer {layer + 1} active")
            ax[0].plot(epochs, connections[:, layer], "--", color=line.get_color(),
                       label=f"layer {layer + 1} all")
        ax[0].set(xlabel="epoch", ylabel="connections",
                  title="connections on an input-to-output path")
        ax[0].legend(fontsize="small")
        for layer in range(live.shape[1]):
            ax[1].plot(epochs, live[:, layer], label=f"hidden layer {layer + 1}")
        ax[1].set(xlabel="epoch", ylabel="live units", title="live hidden units")
        if live.shape[1]:
            ax[1].legend(fontsize="small")
        self.axes_ = ax
        self.figure_ = ax[0].figure
        return self
