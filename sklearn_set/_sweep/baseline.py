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

__all__ = ["BASELINES", "dense_parameters", "equal_size_widths", "verdict"]

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


def verdict(sparsities, n_parameters, sparse_scores, dense_scores, dense_sizes):
    """One sentence: where the sparse networks beat dense ones of their size.

    Of the levels that have a dense network of their size, a level "pays" when the sparse networks' mean score beats the dense
    networks' by more than twice the standard error of the fold-paired
    difference, and "loses" when it is that much below; other levels tie.

    Parameters
    ----------
    sparsities : ndarray of shape (n_levels,)
    n_parameters : ndarray of shape (n_levels, n_folds)
        Live parameters of each sparse network.
    sparse_scores, dense_scores : ndarray of shape (n_levels, n_folds)
        Test scores on the same splits.
    dense_sizes : ndarray of shape (n_levels,)
        Parameters of each level's dense network. A level whose budget is
        below the smallest dense network of that depth (one unit per hidden
        layer) has no dense network of its size and is left out.

    Returns
    -------
    text : str
    """
    diff = np.asarray(sparse_scores, float) - np.asarray(dense_scores, float)
    ok = np.isfinite(diff)
    n = ok.sum(axis=1)
    mean = np.array([d[k].mean() if k.any() else np.nan for d, k in zip(diff, ok)])
    se = np.array([d[k].std(ddof=1) / np.sqrt(k.sum()) if k.sum() > 1 else np.inf
                   for d, k in zip(diff, ok)])
    pays = (n > 0) & (mean > 2 * se)
    loses = (n > 0) & (mean < -2 * se)
    size = np.nanmean(np.asarray(n_parameters, float), axis=1)
    # 10% over the budget still counts as "the same size" (widths are whole)
    comparable = np.asarray(dense_sizes, float) <= 1.1 * size
    pays &= comparable
    loses &= comparable

    def levels(mask):
        s = np.asarray(sparsities)[mask]
        return f"{s.min():.6g}" if s.size == 1 else f"{s.min():.6g} to {s.max():.6g}"

    parts = []
    if pays.any():
        best = np.nanargmax(np.where(pays, mean, -np.inf))
        parts.append(f"sparsity pays at {levels(pays)}: up to {100 * mean[best]:+.1f} points "
                     f"over a dense network of the same size ({size[best]:,.0f} parameters "
                     f"at sparsity {sparsities[best]:.6g})")
    else:
        parts.append("sparsity does not pay at any level: no sparse network beat the dense "
                     "network of its size by more than the fold-to-fold noise")
    if loses.any():
        worst = np.nanargmin(np.where(loses, mean, np.inf))
        parts.append(f"a dense network of the same size is better at {levels(loses)} "
                     f"(by up to {-100 * mean[worst]:.1f} points, at "
                     f"{size[worst]:,.0f} parameters)")
    if not comparable.all():
        smallest = np.asarray(dense_sizes)[~comparable].min()
        parts.append(f"at {levels(~comparable)} the sparse networks are smaller than the "
                     f"smallest dense network of their depth ({smallest:,} parameters)")
    return "; ".join(parts) + "."
