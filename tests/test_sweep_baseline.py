"""The dense baseline of a sweep (sklearn_set._sweep.baseline)."""

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, compact, sparsity_curve
from sklearn_set._sweep.baseline import (
    dense_parameters,
    equal_size_widths,
    smallest_dense_network,
    verdict,
)


def test_dense_parameters_counts_weights_and_biases():
    # 13-4-3: 13*4 + 4*3 weights, 4 + 3 biases
    assert dense_parameters(13, (4,), 3) == 52 + 12 + 7


@pytest.mark.parametrize("hidden", [(256,), (256, 256), (300, 100)])
@pytest.mark.parametrize("budget", [30, 500, 5_000, 50_000])
def test_equal_size_widths_is_the_nearest_dense_network(hidden, budget):
    widths = equal_size_widths(64, hidden, 10, budget)
    assert len(widths) == len(hidden) and min(widths) >= 1
    size = dense_parameters(64, widths, 10)
    smallest = dense_parameters(64, (1,) * len(hidden), 10)
    if budget <= smallest:
        assert widths == (1,) * len(hidden)
        return
    # no other scaling of the hidden layers comes closer to the budget
    for factor in np.linspace(0.001, 2, 2000):
        other = tuple(int(w) for w in np.maximum(1, np.rint(np.array(hidden) * factor)))
        assert abs(size - budget) <= abs(dense_parameters(64, other, 10) - budget)


def test_verdict_names_where_sparsity_pays_and_where_it_loses():
    sparsities = np.array([0.5, 0.9, 0.99, 0.995, 0.999])
    params = np.array([[10_000] * 3, [2_000] * 3, [300] * 3, [60] * 3, [20] * 3], dtype=float)
    sparse = np.array([[0.95, 0.96, 0.97], [0.95, 0.95, 0.96], [0.90, 0.91, 0.92],
                       [0.3, 0.3, 0.3], [0.5, 0.5, 0.5]])
    dense = np.array([[0.97, 0.98, 0.99], [0.90, 0.90, 0.91], [0.90, 0.92, 0.91],
                      [0.6, 0.6, 0.6], [0.4, 0.4, 0.4]])
    # the last two levels' budgets are below the smallest dense network (87)
    sizes = np.array([10_010, 2_050, 310, 87, 87])
    widths = [(100,), (20,), (3,), (1,), (1,)]
    text = verdict(sparsities, params, sparse, dense, sizes, widths)
    assert text.startswith("sparsity pays at 0.9 and 0.999: up to +10.0 points over a "
                           "dense network at least as large (20 sparse parameters")
    assert "dense network of the same size is better at 0.5 (by up to 2.0 points" in text
    # where the dense network is larger than the budget, the verdict says so
    verdicts, smallest = text.split("; at ")
    assert smallest == ("0.995 and 0.999 no dense network is as small as the sparse one: "
                        "the comparison there is with the smallest dense network (87 "
                        "parameters).")
    # a tie (0.99) and a win of a larger dense network (0.995) prove nothing
    assert "0.99 " not in verdicts and "0.995" not in verdicts


def test_smallest_dense_network_marks_levels_no_dense_network_matches():
    params = np.array([[1000, 1000], [100, 100], [20, 24], [np.nan, 80], [370, 378]])
    sizes = np.array([1050, 87, 87, 87, 415])
    # the last is the nearest dense network, 11% above the budget, not the smallest
    widths = [(12, 12), (1, 1), (1, 1), (1, 1), (5, 5)]
    np.testing.assert_array_equal(smallest_dense_network(params, sizes, widths),
                                  [False, False, True, False, False])


@pytest.fixture(scope="module")
def wine_sweep():
    X, y = load_wine(return_X_y=True)
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(32, 32), max_iter=15, random_state=0))
    return X, y, sparsity_curve(model, X, y, sparsities=[0.5, 0.9, 0.95], baseline="dense",
                                cv=StratifiedKFold(3, shuffle=True, random_state=0))


def test_sweep_with_dense_baseline_fits_dense_networks_of_the_same_size(wine_sweep):
    X, y, result = wine_sweep
    assert result.baseline == "dense"
    assert result.baseline_scores.shape == result.test_scores.shape
    assert np.all((result.baseline_scores > 0.3) & (result.baseline_scores <= 1))
    budgets = result.n_parameters.mean(axis=1)
    for widths, size, budget in zip(result.baseline_hidden_layer_sizes,
                                    result.baseline_parameters, budgets):
        assert len(widths) == 2 and size == dense_parameters(13, widths, 3)
        assert size == dense_parameters(13, equal_size_widths(13, (32, 32), 3, budget), 3)
    # n_parameters are the compacted networks' counts
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(32, 32), max_iter=15, random_state=0, sparsity=0.95))
    train, test = next(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    model.fit(X[train], y[train])
    assert result.n_parameters[2, 0] == compact(model[-1]).n_parameters
    # the dense network of the densest level is one fit of the estimator at
    # sparsity 0 without rewiring
    dense = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=result.baseline_hidden_layer_sizes[0], max_iter=15,
        random_state=0, sparsity=0.0, zeta=0.0)).fit(X[train], y[train])
    assert dense[-1].n_connections_.sum() == sum(
        a * b for a, b in zip((13, *result.baseline_hidden_layer_sizes[0]),
                              (*result.baseline_hidden_layer_sizes[0], 3)))
    assert dense.score(X[test], y[test]) == result.baseline_scores[0, 0]


def test_sweep_without_baseline_has_none(wine_sweep):
    X, y, _ = wine_sweep
    result = sparsity_curve(SETClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0),
                            X, y, sparsities=[0.5], cv=2)
    assert result.baseline is None and result.baseline_scores is None
    assert np.all(result.n_parameters > 0)


def test_unknown_baseline_is_refused():
    X, y = load_wine(return_X_y=True)
    with pytest.raises(ValueError, match="'baseline' parameter of sparsity_curve must be a str"):
        sparsity_curve(SETClassifier(), X, y, sparsities=[0.5], baseline="small")
