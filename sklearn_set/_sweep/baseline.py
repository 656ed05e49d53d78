"""The dense baseline of a sparsity sweep: at each level, a dense network of
the same size.

"Same size" counts parameters the way a deployed model stores them: for a
sparse network the connections and biases left after
:func:`~sklearn_set.compact` removed its dead units, for a dense network all
its weights and biases. The dense network keeps the depth of the sparse one,
its hidden layers narrowed by one common factor, and everything else of the
estimator (solver, schedule, regularisation, epochs, early stopping): it is
the same estimator at ``sparsity=0`` with ``zeta=0`` (nothing to rewire), so
any tuning the user gave the sparse network applies to the dense one too.
"""

import numpy as np

__all__ = ["BASELINES", "dense_parameters", "equal_size_widths", "smallest_dense_network",
           "verdict"]

# whole widths rarely hit the budget exactly: 10% either way is "the same size"
SAME_SIZE = 0.1

# The baselines a sweep can measure; a name maps to the parameters that turn
# the swept estimator into that baseline (besides its hidden layer sizes).
BASELINES = {"dense": {"sparsity": 0.0, "zeta": 0.0}}


def dense_parameters(n_inputs, widths, n_outputs):
    """Weights and biases of a dense MLP with hidden layers ``widths``."""
    sizes = [int(n_inputs), *map(int, widths), int(n_outputs)]
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + sum(sizes[1:])


def equal_size_widths(n_inputs, hidden_layer_sizes, n_outputs, n_parameters):
    """Hidden layer widths of the dense network closest in size to ``n_parameters``.

    The widths are ``hidden_layer_sizes`` scaled by one common factor and
    rounded, each at least 1 (so the smallest dense network of that depth
    stands in for any smaller budget).

    Parameters
    ----------
    n_inputs, n_outputs : int
        Units of the input and output layers.
    hidden_layer_sizes : sequence of int
        The sparse network's hidden layers.
    n_parameters : float
        The parameter budget.

    Returns
    -------
    widths : tuple of int
    """
    hidden = np.asarray(hidden_layer_sizes, dtype=np.float64)

    def widths(factor):
        return tuple(int(w) for w in np.maximum(1, np.rint(hidden * factor)))

    def size(factor):
        return dense_parameters(n_inputs, widths(factor), n_outputs)

    # the size grows with the factor: bisect for the budget, then take the
    # nearer of the two roundings around it
    low, high = 0.0, 1.0
    while size(high) < n_parameters:
        high *= 2.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if size(middle) < n_parameters else (low, middle)
    candidates = {widths(low), widths(high)}
    return min(candidates, key=lambda w: (abs(dense_parameters(n_inputs, w, n_outputs)
                                              - n_parameters), w))


def smallest_dense_network(n_parameters, dense_sizes, dense_widths):
    """Levels where no dense network of the sparse one's depth is as small:
    the dense network measured is the smallest one (one unit per hidden
    layer) and larger than the sparse budget by more than :data:`SAME_SIZE`.

    Parameters
    ----------
    n_parameters : ndarray of shape (n_levels, n_folds)
        Live parameters of each sparse network.
    dense_sizes : ndarray of shape (n_levels,)
        Parameters of each level's dense network.
    dense_widths : list of tuple of int (or None), length n_levels
        Hidden layer sizes of each level's dense network.

    Returns
    -------
    mask : ndarray of bool, shape (n_levels,)
    """
    one_unit = np.array([w is not None and all(int(v) == 1 for v in w) for w in dense_widths],
                        dtype=bool)
    with np.errstate(invalid="ignore"):
        size = np.nanmean(np.asarray(n_parameters, float), axis=1)
        return one_unit & (np.asarray(dense_sizes, float) > (1 + SAME_SIZE) * size)


def verdict(sparsities, n_parameters, sparse_scores, dense_scores, dense_sizes, dense_widths):
    """One sentence: where the sparse networks beat dense ones of their size.

    A level "pays" when the sparse networks' mean score beats the dense
    networks' by more than twice the standard error of the fold-paired
    difference and the dense network is not smaller (within 10%); it "loses"
    when the dense network is that much better and not larger (within 10%).
    Other levels tie: a dense network larger than the budget (the smallest
    one of a depth has one unit per hidden layer) proves nothing when it wins.

    Parameters
    ----------
    sparsities : ndarray of shape (n_levels,)
    n_parameters : ndarray of shape (n_levels, n_folds)
        Live parameters of each sparse network.
    sparse_scores, dense_scores : ndarray of shape (n_levels, n_folds)
        Test scores on the same splits.
    dense_sizes : ndarray of shape (n_levels,)
        Parameters of each level's dense network.
    dense_widths : list of tuple of int (or None), length n_levels
        Its hidden layer sizes.

    Returns
    -------
    text : str
    """
    diff = np.asarray(sparse_scores, float) - np.asarray(dense_scores, float)
    ok = np.isfinite(diff)
    mean = np.array([d[k].mean() if k.any() else np.nan for d, k in zip(diff, ok)])
    se = np.array([d[k].std(ddof=1) / np.sqrt(k.sum()) if k.sum() > 1 else np.inf
                   for d, k in zip(diff, ok)])
    size = np.nanmean(np.asarray(n_parameters, float), axis=1)
    dense_sizes = np.asarray(dense_sizes, float)
    pays = (mean > 2 * se) & (dense_sizes >= (1 - SAME_SIZE) * size)
    loses = (mean < -2 * se) & (dense_sizes <= (1 + SAME_SIZE) * size)
    smallest = smallest_dense_network(n_parameters, dense_sizes, dense_widths)

    def levels(mask):
        names = [f"{s:.6g}" for s in np.asarray(sparsities)[mask]]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    parts = []
    if pays.any():
        best = np.nanargmax(np.where(pays, mean, -np.inf))
        parts.append(f"sparsity pays at {levels(pays)}: up to {100 * mean[best]:+.1f} points "
                     f"over a dense network at least as large ({size[best]:,.0f} sparse "
                     f"parameters at sparsity {sparsities[best]:.6g})")
    else:
        parts.append("sparsity does not pay at any level: no sparse network beat a dense "
                     "network at least as large by more than the fold-to-fold noise")
    if loses.any():
        worst = np.nanargmin(np.where(loses, mean, np.inf))
        parts.append(f"a dense network of the same size is better at {levels(loses)} "
                     f"(by up to {-100 * mean[worst]:.1f} points, at "
                     f"{size[worst]:,.0f} parameters)")
    if smallest.any():
        parts.append(f"at {levels(smallest)} no dense network is as small as the sparse "
                     f"one: the comparison there is with the smallest dense network "
                     f"({np.nanmin(dense_sizes[smallest]):,.0f} parameters)")
    return "; ".join(parts) + "."
