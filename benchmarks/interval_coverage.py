"""Does predict_interval cover the levels it has not seen? And what do the
leave-one-level-out refits cost?

Runs three sparsity sweeps with 5 shuffled stratified folds (StandardScaler +
``SETClassifier(max_iter=100, random_state=0)``, the command line's sweep
settings):

- ``wine``: 13-128-128-3 over 9 levels (0.5 ... 0.999);
- ``breast_cancer``: 30-128-128-2 over the command line's 13 levels;
- ``digits``: 64-256-256-10 over the same 13 levels (the README's sweep).

Each sweep is fitted twice: with the collapsed accuracy fitted (as
``from_cv_results`` does by default) and fixed at the majority-class share
(as the command line does). For each fit the table reports

- ``coverage (refit)``: leave-one-level-out coverage of the 95% interval. For
  each level, the curve is fitted from scratch (every family, multi-start)
  to the other levels, and the level counts as covered when the mean of its
  fold scores lies in that curve's ``predict_interval`` at the level;
- ``coverage (warm)``: the same with
  :meth:`SparsityCurveRegressor.leave_one_level_out` (the fitted family,
  started from the full fit's parameters);
- ``plateau width / spread``: on the full fit, the largest ratio, over the
  plateau levels (sparsity up to ``knee_sparsity_``), of the interval's
  width to the level's fold spread (highest minus lowest fold score);
- ``extreme widest``: the widest interval at a level beyond the collapse
  midpoint (regime ``"extreme"``), in accuracy;
- seconds of the sweep, of the full curve fit, of the refits from scratch
  and of the warm refits.

``RuntimeWarnings`` counts the RuntimeWarnings that escaped the curve (fit,
refits, ``predict_interval`` on 201 sparsities from 0 to 1) per data set.

    python benchmarks/interval_coverage.py            # all three
    python benchmarks/interval_coverage.py wine --cache /tmp/sweeps
"""

import argparse
import os
import time
import warnings

import numpy as np
from _common import footer, header, table
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SparsityCurveRegressor, sparsity_curve

LEVELS_9 = [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999]
LEVELS_13 = [0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999,
             0.9995]
DATASETS = {"wine": (load_wine, (128, 128), LEVELS_9),
            "breast_cancer": (load_breast_cancer, (128, 128), LEVELS_13),
            "digits": (load_digits, (256, 256), LEVELS_13)}


def sweep(name, n_jobs, cache):
    """Levels, (levels x folds) test scores, majority share, sweep seconds."""
    path = os.path.join(cache, f"{name}.npz") if cache else None
    if path and os.path.exists(path):
        saved = np.load(path)
        return (saved["sparsities"], saved["scores"], float(saved["chance"]),
                float(saved["seconds"]))
    load, hidden, levels = DATASETS[name]
    X, y = load(return_X_y=True)
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=hidden, max_iter=100, random_state=0))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)  # convergence
        result = sparsity_curve(model, X, y, sparsities=levels, n_jobs=n_jobs,
                                cv=StratifiedKFold(5, shuffle=True, random_state=0))
    seconds = time.perf_counter() - started
    chance = float(np.bincount(y).max() / y.size)
    if path:
        os.makedirs(cache, exist_ok=True)
        np.savez(path, sparsities=result.sparsities, scores=result.test_scores,
                 chance=chance, seconds=seconds)
    return result.sparsities, result.test_scores, chance, seconds


def quiet_fit(params, sparsities, scores):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)  # the curve's own notes
        return SparsityCurveRegressor(**params).fit_scores(sparsities, scores)


def refit_coverage(params, sparsities, scores):
    """Leave-one-level-out coverage with every refit from scratch."""
    covered = []
    for i in range(sparsities.size):
        keep = np.arange(sparsities.size) != i
        curve = quiet_fit(params, sparsities[keep], scores[keep])
        (low,), (high,) = curve.predict_interval([[sparsities[i]]])
        covered.append(low <= scores[i].mean() <= high)
    return np.mean(covered), int(np.sum(covered))


def evaluate(name, sparsities, scores, chance, sweep_seconds):
    rows = []
    for collapse, params in (("fitted", {}), ("fixed", {"collapse_accuracy": chance})):
        started = time.perf_counter()
        curve = quiet_fit(params, sparsities, scores)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        refit, refit_n = refit_coverage(params, sparsities, scores)
        refit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        warm = curve.leave_one_level_out(sparsities, scores)
        warm_seconds = time.perf_counter() - started
        curve.predict_interval(np.linspace(0.0, 1.0, 201)[:, None])  # for the warnings
        low, high = curve.predict_interval(sparsities[:, None])
        plateau = sparsities <= curve.knee_sparsity_
        spread = np.ptp(scores, axis=1)
        ratio = (high - low)[plateau] / spread[plateau]
        extreme = curve.regime(sparsities[:, None]) == "extreme"
        rows.append({
            "data": name, "collapse": collapse, "family": curve.family_,
            "levels": sparsities.size,
            "coverage (refit)": f"{refit:.2f} ({refit_n}/{sparsities.size})",
            "coverage (warm)": (f"{warm.covered.mean():.2f} "
                                f"({int(warm.covered.sum())}/{sparsities.size})"),
            "plateau levels": int(plateau.sum()),
            "plateau width / spread": f"{ratio.max():.2f}" if ratio.size else "-",
            "extreme widest": f"{np.max((high - low)[extreme]):.3f}" if extreme.any() else "-",
            "sweep s": f"{sweep_seconds:.1f}", "fit s": f"{fit_seconds:.2f}",
            "refits s": f"{refit_seconds:.1f}", "warm s": f"{warm_seconds:.2f}"})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", help=f"some of {list(DATASETS)} (default: all)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--cache", help="folder to keep (and reuse) the sweeps' scores")
    args = parser.parse_args()
    unknown = set(args.datasets) - set(DATASETS)
    if unknown:
        parser.error(f"unknown data sets {sorted(unknown)}; choose from {list(DATASETS)}")
    args.datasets = args.datasets or list(DATASETS)
    header("predict_interval: leave-one-level-out coverage and cost (interval_coverage.py)")
    rows = []
    for name in args.datasets:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            found = evaluate(name, *sweep(name, args.n_jobs, args.cache))
        escaped = sum(issubclass(w.category, RuntimeWarning) for w in caught)
        for row in found:
            row["RuntimeWarnings"] = escaped
        rows += found
    table(rows, list(rows[0]))
    footer()


if __name__ == "__main__":
    main()
