"""
==================================================
Feature selection with SET's feature importances
==================================================

SET prunes the weakest connections after every epoch and regrows at random.
Connections from uninformative inputs never become strong, so they keep
being pruned: the first layer's connection strength concentrates on the
useful inputs. :attr:`~sklearn_set.SETClassifier.feature_importances_` is
each input's share of that strength, which makes the estimator usable in
:class:`~sklearn.feature_selection.SelectFromModel`.

The data have 8 informative features (columns 0-7) hidden among 92 noise
features.
"""

# %%
import os
import sys
import warnings

import matplotlib

if __name__ == "__main__" and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_set import SETClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = make_classification(n_samples=1000, n_features=100, n_informative=8,
                           n_redundant=0, n_classes=3, shuffle=False, random_state=0)

# %%
# Fit once and look at the importances
X_scaled = StandardScaler().fit_transform(X)
set_clf = SETClassifier(hidden_layer_sizes=(128,), sparsity=0.9, alpha=0.1,
                        max_iter=100, random_state=0).fit(X_scaled, y)
importances = set_clf.feature_importances_
top = np.argsort(importances)[::-1][:8]
print("8 most important inputs:", sorted(top.tolist()))
print(f"share of importance on the 8 informative inputs: {importances[:8].sum():.3f} "
      f"(uniform would be {8 / 100:.3f})")

# %%
# Select 8 features with SET, then classify with an RBF SVM
selector = SelectFromModel(SETClassifier(hidden_layer_sizes=(128,), sparsity=0.9, alpha=0.1,
                                         max_iter=100, random_state=0),
                           max_features=8, threshold=-np.inf)
with_selection = make_pipeline(StandardScaler(), selector, SVC())
without = make_pipeline(StandardScaler(), SVC())
print(f"RBF SVM on all 100 features: "
      f"{cross_val_score(without, X, y, cv=5).mean():.4f}")
print(f"RBF SVM on the 8 SET-selected features: "
      f"{cross_val_score(with_selection, X, y, cv=5).mean():.4f}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
colors = ["C3"] * 8 + ["C0"] * (X.shape[1] - 8)
ax.bar(np.arange(X.shape[1]), importances, color=colors)
ax.set_xlabel("input feature (red: informative)")
ax.set_ylabel("feature_importances_")
ax.set_title("Share of first-layer connection strength per input")
fig.tight_layout()

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    out = os.environ.get("SKLEARN_SET_EXAMPLE_OUT", "feature_selection.png")
    fig.savefig(out, dpi=110)
    print(f"plot written to {out}")
