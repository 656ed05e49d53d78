"""
=========================================================
AccSET against a SET sparsity sweep on the digits data
=========================================================

:class:`~sklearn_set.SETClassifier` trains at the sparsity you ask for, so
finding how sparse a network can be means sweeping that level.
:class:`~sklearn_set.AccSETClassifier` starts at one sparsity and lets
validation accuracy decide how many pruned connections come back, so one run
walks towards a sparsity the data support.

This example trains a 64-256-256-10 network on scikit-learn's digits data
with SET at several fixed sparsity levels, and with AccSET from sparsity 0.8,
then plots test accuracy against the final sparsity of each model, together
with the path AccSET took (validation accuracy per epoch).
"""

# %%
# Data and settings shared by every model
import os
import sys
import time
import warnings

import matplotlib

if __name__ == "__main__" and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_set import AccSETClassifier, SETClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
common = dict(hidden_layer_sizes=(256, 256), max_iter=150, random_state=0)

# %%
# A SET sweep: one model per sparsity level
levels = [0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995]
set_scores = []
print(f"{'model':<8} {'sparsity':>9} {'connections':>12} {'test acc':>9} {'seconds':>8}")
for level in levels:
    start = time.perf_counter()
    clf = SETClassifier(sparsity=level, **common).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    set_scores.append(clf.score(X_test, y_test))
    print(f"{'SET':<8} {clf.sparsity_:>9.4f} {int(clf.n_connections_.sum()):>12} "
          f"{set_scores[-1]:>9.4f} {seconds:>8.1f}")

# %%
# One AccSET run from sparsity 0.8
start = time.perf_counter()
acc = AccSETClassifier(sparsity=0.8, **common).fit(X_train, y_train)
seconds = time.perf_counter() - start
acc_score = acc.score(X_test, y_test)
print(f"{'AccSET':<8} {acc.sparsity_:>9.4f} {int(acc.n_connections_.sum()):>12} "
      f"{acc_score:>9.4f} {seconds:>8.1f}")
print(f"AccSET selected epoch {acc.best_epoch_} of {acc.n_iter_}; the sparsest "
      f"network it trained had sparsity {acc.sparsity_history_.max():.4f}")

# %%
# Accuracy against sparsity, on a log-density axis
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
density = 1 - np.asarray(levels)
left.plot(density, set_scores, "o-", label="SET, one fit per level (test)")
left.plot(1 - acc.sparsity_, acc_score, "*", markersize=16, color="C3",
          label="AccSET, one fit (test)")
left.set_xscale("log")
left.invert_xaxis()
ticks = [0.2, 0.1, 0.05, 0.02, 0.01, 0.005]
left.set_xticks(ticks)
left.set_xticklabels([f"{1 - t:g}" for t in ticks])
left.set_xlabel("sparsity")
left.set_ylabel("test accuracy")
left.set_title("Final models")
left.legend(loc="lower left")

right.plot(1 - acc.sparsity_history_, acc.validation_accuracy_history_, ".-",
           color="C3", alpha=0.6, label="AccSET path (validation)")
right.plot(1 - acc.sparsity_, acc.validation_accuracy_history_[acc.best_epoch_ - 1], "*",
           markersize=16, color="C3", label="selected epoch")
right.set_xscale("log")
right.invert_xaxis()
right.set_xticks(ticks)
right.set_xticklabels([f"{1 - t:g}" for t in ticks])
right.set_xlabel("sparsity")
right.set_ylabel("validation accuracy")
right.set_title("AccSET's path, one point per epoch")
right.legend(loc="lower left")
fig.tight_layout()

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    out = os.environ.get("SKLEARN_SET_EXAMPLE_OUT", "accset_vs_set.png")
    fig.savefig(out, dpi=110)
    print(f"plot written to {out}")
