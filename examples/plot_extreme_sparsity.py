"""
=====================================================================
Extreme sparsity: the same 169 connections, random vs connected
=====================================================================

At sparsity 0.998 a 64-256-256-10 network has 169 connections. Spread at
random over its layers, they almost never form a path from an input to an
output: the network cannot do better than chance, however long it trains.
:func:`~sklearn_set.connectivity_profile` predicts this from the
architecture alone, without training.

``regrowth="connected"`` prunes connections that lie on no path first and
regrows inside a connected core, so the same budget stays useful. This
example shows the expected connectivity of the random architecture against
sparsity, then trains both rules at 0.998 (3-fold cross-validation) and
plots how the active connections evolve during one fit.
"""

# %%
# What the architecture alone predicts
import os

import matplotlib

if __name__ == "__main__" and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, TopologyHistoryDisplay, connectivity_profile

warnings.simplefilter("ignore", ConvergenceWarning)
layer_sizes = (64, 256, 256, 10)
levels = 1 - np.logspace(-0.3, -3.3, 40)
profile = connectivity_profile(layer_sizes, levels)
for s in (0.99, 0.995, 0.997, 0.998):
    row = connectivity_profile(layer_sizes, [s])
    print(f"sparsity {s}: {row['connections'][0]} connections, "
          f"outputs reached {row['outputs_reached'][0]:.2f}, "
          f"active fraction {row['active_fraction'][0]:.2f}")

# %%
# The same budget, two regrowth rules
X, y = load_digits(return_X_y=True)
cv = StratifiedKFold(3, shuffle=True, random_state=0)
scores, fitted = {}, {}
for rule in ("random", "connected"):
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=layer_sizes[1:-1], sparsity=0.998, max_iter=60,
        regrowth=rule, random_state=0))
    result = cross_validate(model, X, y, cv=cv, return_estimator=True)
    scores[rule] = result["test_score"]
    fitted[rule] = result["estimator"][0]
    active = np.mean([e[-1].topology_["active_fraction"] for e in result["estimator"]])
    print(f"regrowth={rule!r}: accuracy {scores[rule].mean():.3f} "
          f"(+- {scores[rule].std():.3f}), active fraction at the end {active:.2f}")

# %%
# Plots: the percolation of the random architecture, and one connected fit
fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
density = 1 - profile["sparsity"]
ax[0].semilogx(density, profile["outputs_reached"], label="outputs reachable")
ax[0].semilogx(density, profile["active_fraction"], label="connections on a path")
ax[0].axvline(1 - 0.998, color="grey", ls=":", label="sparsity 0.998")
ax[0].set(xlabel="density (1 - sparsity)", ylabel="expected fraction",
          title=f"random {'-'.join(map(str, layer_sizes))}")
ax[0].legend(fontsize="small")
ax[1].bar(list(scores), [scores[r].mean() for r in scores],
          yerr=[scores[r].std() for r in scores], color=["tab:grey", "tab:green"])
ax[1].axhline(0.1, color="k", ls=":", label="chance")
ax[1].set(ylabel="3-fold CV accuracy", title="169 connections, two regrowth rules")
ax[1].legend(fontsize="small")
fig.tight_layout()
fig.savefig("extreme_sparsity.png")

display = TopologyHistoryDisplay.from_estimator(fitted["connected"])
display.figure_.tight_layout()
display.figure_.savefig("extreme_sparsity_topology.png")
