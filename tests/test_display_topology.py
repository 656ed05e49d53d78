"""Tests of TopologyHistoryDisplay (sklearn_set._display.topology)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklearn_set._display.topology import TopologyHistoryDisplay
from sklearn_set._set import SETClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def plt():
    """pyplot on the Agg backend; the test's figures are closed after it."""
    pytest.importorskip("matplotlib").use("Agg", force=True)
    import matplotlib.pyplot

    yield matplotlib.pyplot
    matplotlib.pyplot.close("all")


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6))
    y = (X[:, 0] > 0).astype(int)
    return SETClassifier(hidden_layer_sizes=(8, 8), sparsity=0.5, max_iter=3,
                         random_state=0).fit(X, y)


def test_from_estimator_draws_each_layer_and_epoch(plt, fitted):
    display = TopologyHistoryDisplay.from_estimator(fitted)
    left, right = display.axes_
    assert display.figure_ is left.figure
    # per layer of connections: the active (solid) and all (dashed) lines
    n_layers = len(fitted.topology_history_[0]["connections"])
    assert len(left.get_lines()) == 2 * n_layers
    active, everything = left.get_lines()[:2]
    np.testing.assert_array_equal(active.get_xdata(), np.arange(1, fitted.n_iter_ + 1))
    np.testing.assert_array_equal(
        active.get_ydata(), [r["active_connections"][0] for r in fitted.topology_history_])
    assert everything.get_linestyle() == "--"
    # one line of live units per hidden layer
    assert len(right.get_lines()) == 2


def test_topology_plot_bad_inputs(plt, fitted):
    with pytest.raises(ValueError, match="empty"):
        TopologyHistoryDisplay([]).plot()
    _, ax = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="ax must hold 2 Axes"):
        TopologyHistoryDisplay(fitted.topology_history_).plot(ax=ax)
    with pytest.raises(NotFittedError):
        TopologyHistoryDisplay.from_estimator(SETClassifier())
