"""
How sparse can a network be? A sparsity sweep on the digits
===========================================================

We train a two-hidden-layer :class:`~sklearn_set.SETClassifier` on the 8x8
digits at sparsity levels from 0.5 up to 0.9995 (from 42,240 connections down
to 42), cross-validating each level with
:func:`~sklearn_set.sparsity_curve`. Then we fit a
:class:`~sklearn_set.SparsityCurveRegressor` to the accuracies and read off
the dense-regime accuracy, the knee where accuracy starts to drop, the
extreme-sparsity contour where it collapses, and the highest sparsity that
stays within one point of the dense accuracy. A leave-one-level-out check
tells how well the curve predicts a level it has not seen, and
:class:`~sklearn_set.SparsityCurveDisplay` draws everything on a log-density
axis.

Run as a script, the figure is saved to ``sparsity_curve_digits.png`` in the
current directory; pass another path as the first argument or in the
``SPARSITY_CURVE_PNG`` environment variable.
"""

# %%
# The data and the model
# ----------------------
# The inputs are standardised in a pipeline. ``max_iter`` is kept small so
# that the whole sweep (55 fits) runs in about a minute on two cores; the
# sparse networks converge faster than the denser ones anyway.
import os
import sys
import time
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import (
    SETClassifier,
    SparsityCurveDisplay,
    SparsityCurveWarning,
    sparsity_curve,
)

X, y = load_digits(return_X_y=True)
n_classes = np.unique(y).size
model = make_pipeline(
    StandardScaler(),
    SETClassifier(hidden_layer_sizes=(256, 256), max_iter=30, random_state=0),
)
sizes = [X.shape[1], 256, 256, n_classes]
dense_connections = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
print(f"{X.shape[0]} samples, {X.shape[1]} features, {n_classes} classes; "
      f"a dense 64-256-256-10 network has {dense_connections:,} connections.")

# %%
# The sweep
# ---------
# ``param_name="sparsity"`` finds ``setclassifier__sparsity`` in the
# pipeline. The same five folds are used at every level; the connection
# count of each fitted network is recorded on the fly.
sparsities = [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.997, 0.998, 0.999, 0.9995]
start = time.perf_counter()
with warnings.catch_warnings():
    # 30 epochs do not always reach the loss tolerance
    warnings.simplefilter("ignore", ConvergenceWarning)
    result = sparsity_curve(model, X, y, sparsities=sparsities, cv=5)
sweep_seconds = time.perf_counter() - start
print(f"Swept {result.param_name!r}: {result.n_levels} levels x "
      f"{result.n_folds} folds in {sweep_seconds:.1f} s.")

# %%
# The curve
# ---------
# A collapsed network predicts one class, so we fix the collapsed accuracy at
# the share of the most frequent class and let the family be chosen by AICc
# (on real SET sweeps it is usually ``"capacity_connectivity"``: a slow
# decline as capacity shrinks, then a cliff when input-to-output paths
# vanish). Every fold counts as one measurement, weighted by the spread of
# its level.
curve_params = {"collapse_accuracy": float(np.bincount(y).max() / y.size)}
curve = result.fit_curve(**curve_params)

mean = result.test_scores.mean(axis=1)
std = result.test_scores.std(axis=1)
connections = result.n_connections.mean(axis=1)
regimes = curve.regime(result.sparsities[:, None])
print()
print(f"{'sparsity':>9} {'connections':>11} {'accuracy':>9} {'std':>6} "
      f"{'fit s':>6}  regime")
for s, n, m, sd, t, r in zip(result.sparsities, connections, mean, std,
                             result.fit_times.mean(axis=1), regimes):
    print(f"{s:>9.4f} {int(round(n)):>11,d} {m:>9.4f} {sd:>6.4f} {t:>6.2f}  {r}")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", SparsityCurveWarning)
    within_one_point = curve.max_sparsity(curve.dense_accuracy_ - 0.01)
print()
print("Fitted curve")
print(f"  family                        {curve.family_}")
print("  parameters                    "
      + ", ".join(f"{k}={v:.4g}" for k, v in curve.params_.items()))
print(f"  dense accuracy                {curve.dense_accuracy_:.4f}")
print(f"  collapse accuracy (fixed)     {curve.collapse_accuracy_:.4f}")
print(f"  knee sparsity                 {curve.knee_sparsity_:.4f}")
print(f"  extreme sparsity (contour)    {curve.extreme_sparsity_:.4f}")
print(f"  collapse identified           {curve.collapse_identified_}")
print(f"  max sparsity within 1 point   {within_one_point:.4f} "
      f"(about {(1 - within_one_point) * dense_connections:,.0f} connections)")

# %%
# Leave one level out
# -------------------
# How well does the curve predict a sparsity level it was not fitted to?
# Refit it without each level in turn and compare its prediction, and its
# 95% interval for a level's mean, with that level's mean accuracy. The
# first and last levels are extrapolations.
print()
print(f"{'left out':>9} {'measured':>9} {'predicted':>9} {'95% interval':>15} "
      f"{'error (pt)':>10}")
errors, covered = [], []
for i, s in enumerate(result.sparsities):
    keep = np.arange(result.n_levels) != i
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparsityCurveWarning)
        refit = type(curve)(**curve_params).fit_scores(
            result.sparsities[keep], result.test_scores[keep])
    predicted = float(refit.predict([[s]])[0])
    low, high = refit.predict_interval([[s]])
    errors.append(100 * abs(predicted - mean[i]))
    covered.append(low[0] <= mean[i] <= high[0])
    print(f"{s:>9.4f} {mean[i]:>9.4f} {predicted:>9.4f}  [{low[0]:.3f}, {high[0]:.3f}] "
          f"{errors[-1]:>10.2f}")
errors = np.array(errors)
print(f"Leave-one-level-out error: median {np.median(errors):.2f} points, "
      f"max {errors.max():.2f} points "
      f"(at sparsity {result.sparsities[np.argmax(errors)]:.4f}); the interval "
      f"held {np.sum(covered)} of {len(covered)} level means.")

# %%
# The plot
# --------
# Density ``1 - sparsity`` on a log axis, reversed so that sparsity grows to
# the right: the measured accuracies (mean and standard deviation over the
# folds), the fitted curve with the 95% interval of a level's mean, the three
# regimes and the extreme-sparsity contour. The top axis counts connections.
# The user guide's "How to read this plot" explains each element.
fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
if np.isfinite(within_one_point):
    # drawn first so that the display's legend includes it
    ax.axvline(1 - within_one_point, color="tab:green", linestyle=":", linewidth=1.5,
               label=f"within 1 point of dense (S = {within_one_point:.3f})")
display = SparsityCurveDisplay(
    sparsities=result.sparsities,
    test_scores=result.test_scores,
    curve=curve,
    n_connections=result.n_connections,
    score_name="Accuracy (5-fold CV)",
).plot(ax=ax)
ax.set_title("SETClassifier 64-256-256-10 on digits")

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "SPARSITY_CURVE_PNG", "sparsity_curve_digits.png")
    fig.savefig(path, dpi=120)
    print(f"\nSaved the figure to {os.path.abspath(path)}")
    non_interactive = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
    if matplotlib.get_backend().lower() not in non_interactive:
        plt.show()
