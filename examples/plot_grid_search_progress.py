"""
===================================================
A grid search over sparsity with a progress bar
===================================================

With scikit-learn 1.9 or later, estimators can report their progress to
callbacks (``sklearn.callback``). :class:`~sklearn_set.SETClassifier`
reports every epoch as a task, so a :class:`~sklearn.callback.ProgressBar`
set on a :class:`~sklearn.model_selection.GridSearchCV` shows the epochs of
each fit. A callback may also stop a fit after an epoch; the model is then
exactly the one ``max_iter`` set to the epochs run would give.

The example also reads AccSET's validation accuracy, epoch by epoch, with a
:class:`~sklearn.callback.ScoringMonitor`.
"""

# %%
# The grid search, with a progress bar when the callback API exists
import os
import warnings

import matplotlib

if __name__ == "__main__" and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from sklearn_set import AccSETClassifier, SETClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
search = GridSearchCV(
    SETClassifier(hidden_layer_sizes=(128, 128), max_iter=15, random_state=0),
    {"sparsity": [0.5, 0.9, 0.98, 0.995]}, cv=3)
try:
    import rich  # noqa: F401  (ProgressBar draws with rich)
    from sklearn.callback import ProgressBar, ScoringMonitor
except ImportError:
    ProgressBar = ScoringMonitor = None
    print("No progress bar: it needs scikit-learn >= 1.9 and rich.")
if ProgressBar is not None:
    search.set_callbacks(ProgressBar())
search.fit(X, y)
levels = search.cv_results_["param_sparsity"].data.astype(float)
scores = search.cv_results_["mean_test_score"]
for level, score in zip(levels, scores):
    print(f"sparsity {level:<6} mean accuracy {score:.3f}")

# %%
# AccSET's validation accuracy, epoch by epoch, through a ScoringMonitor
accset = AccSETClassifier(hidden_layer_sizes=(128, 128), sparsity=0.8, max_iter=30,
                          random_state=0)
history = None
if ScoringMonitor is not None:

    def validation_accuracy(estimator, X, y):
        # a ScoringMonitor scoring function returns a dict of named scores
        return {"validation accuracy": estimator.validation_scores_[-1]}

    monitor = ScoringMonitor(scoring=validation_accuracy)
    accset.set_callbacks(monitor).fit(X, y)
    history = [row["validation accuracy"] for row in monitor.get_logs().data
               if row["task_name"] == "epoch"]
    print(f"ScoringMonitor saw {len(history)} epochs; AccSET selected sparsity "
          f"{accset.sparsity_:.3f}")
else:
    accset.fit(X, y)
    history = accset.validation_scores_

fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
ax[0].semilogx(1 - levels, scores, "o-")
ax[0].set(xlabel="density (1 - sparsity)", ylabel="3-fold CV accuracy",
          title="GridSearchCV over sparsity")
ax[1].plot(range(1, len(history) + 1), history)
ax[1].set(xlabel="epoch", ylabel="validation accuracy", title="AccSET, epoch by epoch")
fig.tight_layout()
fig.savefig("grid_search_progress.png")
