"""
======================================================
Grid search over sparsity in a pipeline, and its curve
======================================================

``sparsity`` is an ordinary hyper-parameter: a
:class:`~sklearn.model_selection.GridSearchCV` over a pipeline sweeps it
like any other. Its ``cv_results_`` then feed
:class:`~sklearn_set.SparsityCurveRegressor` directly (every fold's score
counts), and :class:`~sklearn_set.SparsityCurveDisplay` plots the measured
points, the fitted curve and the regimes.

Note that the best score alone would pick a dense-ish network; the curve
tells how much sparsity costs, and ``max_sparsity`` picks the sparsest level
that stays within a tolerance of the best.
"""

# %%
import os
import sys
import warnings

import matplotlib

if __name__ == "__main__" and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SparsityCurveDisplay

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = load_breast_cancer(return_X_y=True)
pipeline = make_pipeline(StandardScaler(), SETClassifier(
    hidden_layer_sizes=(256, 256), max_iter=40, random_state=0))
levels = [0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995]
search = GridSearchCV(pipeline, {"setclassifier__sparsity": levels},
                      cv=StratifiedKFold(5, shuffle=True, random_state=0), n_jobs=2)
search.fit(X, y)
print("best sparsity by score alone:", search.best_params_["setclassifier__sparsity"],
      f"(accuracy {search.best_score_:.4f})")

# %%
# The curve fitted on every fold's score; a collapsed binary classifier
# predicts the majority class, so the low plateau is fixed at its share.
majority = max(y.mean(), 1 - y.mean())
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    display = SparsityCurveDisplay.from_cv_results(
        search.cv_results_, param_name="setclassifier__sparsity",
        curve_params={"collapse_accuracy": majority})
curve = display.curve
print(f"curve: {curve.family_}, dense accuracy {curve.dense_accuracy_:.4f}, "
      f"knee at sparsity {curve.knee_sparsity_:.4f}, "
      f"collapse identified: {curve.collapse_identified_}")
target = curve.dense_accuracy_ - 0.01
print(f"highest sparsity within 1 point of the dense accuracy: "
      f"{curve.max_sparsity(target):.4f}")

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    out = os.environ.get("SKLEARN_SET_EXAMPLE_OUT", "grid_search_sparsity.png")
    display.figure_.savefig(out, dpi=110, bbox_inches="tight")
    print(f"plot written to {out}")
