"""An adaptive sparsity sweep against a fine log-density grid.

Runs ``sparsity_curve(..., sparsities="adaptive", n_levels=10, cv=3)`` and a
20-level grid evenly spaced in log density from 0.5 to 0.9998 (same model,
same folds), fits the default ``SparsityCurveRegressor`` to each, and prints
for each query (knee, extreme contour, highest sparsity within 1 point of
dense) both answers and their distance in decades of density,
``|log10(1 - s_a) - log10(1 - s_b)|``. The noise is shown by a bootstrap
over folds (resampling the columns of the (levels x folds) score table and
refitting the curve): its standard deviation in decades for each sweep. The
folds share each level's network initialisation and topology draw, so that
bootstrap misses the level-to-level scatter. ``--seeds`` runs both sweeps
again with other ``random_state`` values and reports, per seed, both answers
and their distance, and over the seeds the standard deviation of each
sweep's answers (the grid's is how reproducible "what the grid finds" is).

``digits``: StandardScaler + ``SETClassifier((128, 128), max_iter=40,
random_state=0)``, the setup the adaptive rule was designed on. ``classification``:
the same network on ``make_classification(n_samples=2000, n_features=40,
n_informative=12, n_classes=5, random_state=0)``, a second setup that the
adaptive rule was not designed on.

    python benchmarks/adaptive_vs_grid.py digits
    python benchmarks/adaptive_vs_grid.py classification --random-state 1
"""

import argparse
import time
import warnings

import numpy as np
from _common import footer, header, table
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, SparsityCurveRegressor, sparsity_curve
from sklearn_set._sweep.adaptive import DEFAULT_RANGE, curve_queries

QUERIES = (("knee", "knee"), ("contour", "extreme contour"),
           ("near_dense", "within 1 point of dense"))


def load(data):
    if data == "digits":
        return load_digits(return_X_y=True)
    return make_classification(n_samples=2000, n_features=40, n_informative=12,
                               n_classes=5, random_state=0)


def model(random_state):
    return make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(128, 128), max_iter=40, random_state=random_state))


def timed_sweep(estimator, X, y, **kwargs):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sparsity_curve(estimator, X, y, cv=3, **kwargs)
    return result, time.perf_counter() - start


def answers(sparsities, scores):
    """The curve's answer to each query, as sparsities (NaN where unplaced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve = SparsityCurveRegressor().fit_scores(sparsities, scores)
    return curve_queries(curve)


def bootstrap(result, n_boot, rng):
    """Answers of curves refitted to fold-resampled score tables."""
    out = {key: [] for key, _ in QUERIES}
    n_folds = result.n_folds
    for _ in range(n_boot):
        cols = rng.integers(0, n_folds, n_folds)
        found = answers(result.sparsities, result.test_scores[:, cols])
        for key, _ in QUERIES:
            out[key].append(found[key])
    return {key: np.array(v) for key, v in out.items()}


def decades(s):
    return np.log10(1.0 - np.asarray(s, dtype=np.float64))


def boot_sd(values):
    """Standard deviation in decades over the replicates that placed the query."""
    x = decades(values)
    x = x[np.isfinite(x)]
    return (float(np.std(x, ddof=1)) if x.size > 1 else np.nan), x.size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", choices=("digits", "classification"), nargs="?",
                        default="digits")
    parser.add_argument("--random-state", type=int, default=0,
                        help="the network's random_state (default 0)")
    parser.add_argument("--n-levels", type=int, default=10, help="adaptive levels")
    parser.add_argument("--grid-levels", type=int, default=20, help="grid levels")
    parser.add_argument("--n-boot", type=int, default=30,
                        help="bootstrap replicates (folds resampled) per sweep")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4],
                        help="other random_state values to run both sweeps with")
    args = parser.parse_args()
    header(f"adaptive sweep ({args.n_levels} levels) vs {args.grid_levels}-level "
           f"log-density grid, {args.data}, random_state={args.random_state}")
    X, y = load(args.data)
    lo, hi = DEFAULT_RANGE
    grid_levels = 1.0 - np.logspace(np.log10(1 - lo), np.log10(1 - hi), args.grid_levels)
    grid, t_grid = timed_sweep(model(args.random_state), X, y, sparsities=grid_levels)
    adapt, t_adapt = timed_sweep(model(args.random_state), X, y, sparsities="adaptive",
                                 n_levels=args.n_levels)

    print("\nadaptive levels (round chosen):")
    print("  " + ", ".join(f"{s:.5g} ({r})" for s, r in zip(adapt.sparsities, adapt.rounds)))
    print("  mean accuracy: " + ", ".join(f"{m:.3f}" for m in adapt.test_scores.mean(1)))
    print("grid mean accuracy:")
    print("  " + ", ".join(f"{s:.5g}: {m:.3f}" for s, m in
                            zip(grid.sparsities, grid.test_scores.mean(1))))

    g = answers(grid.sparsities, grid.test_scores)
    a = answers(adapt.sparsities, adapt.test_scores)
    rng = np.random.default_rng(0)
    g_boot = bootstrap(grid, args.n_boot, rng)
    a_boot = bootstrap(adapt, args.n_boot, rng)
    rows = []
    for key, label in QUERIES:
        sd_g, n_g = boot_sd(g_boot[key])
        sd_a, n_a = boot_sd(a_boot[key])
        rows.append({
            "query": label,
            "grid S": f"{g[key]:.4f}",
            "adaptive S": f"{a[key]:.4f}",
            "decades apart": f"{abs(decades(g[key]) - decades(a[key])):.3f}",
            "grid boot sd": f"{sd_g:.3f} ({n_g}/{args.n_boot})",
            "adaptive boot sd": f"{sd_a:.3f} ({n_a}/{args.n_boot})",
        })
    print()
    table(rows, ["query", "grid S", "adaptive S", "decades apart", "grid boot sd",
                 "adaptive boot sd"])
    print("\n(boot sd: standard deviation in decades of density over curves refitted "
          "to fold-resampled scores; in brackets how many replicates placed the query)\n")
    table([{"sweep": "grid", "levels": grid.n_levels, "fits": grid.test_scores.size,
            "seconds": f"{t_grid:.1f}"},
           {"sweep": "adaptive", "levels": adapt.n_levels, "fits": adapt.test_scores.size,
            "seconds": f"{t_adapt:.1f}"}],
          ["sweep", "levels", "fits", "seconds"])

    if args.seeds:
        seeds_table(args, X, y, grid_levels, {args.random_state: (g, a)})
    footer()


def seeds_table(args, X, y, grid_levels, found):
    """Both sweeps again with other seeds: how far apart their answers are,
    and how much each sweep's answer moves from seed to seed."""
    for seed in args.seeds:
        grid, _ = timed_sweep(model(seed), X, y, sparsities=grid_levels)
        adapt, _ = timed_sweep(model(seed), X, y, sparsities="adaptive",
                               n_levels=args.n_levels)
        found[seed] = (answers(grid.sparsities, grid.test_scores),
                       answers(adapt.sparsities, adapt.test_scores))
    seeds = list(found)
    rows = []
    for key, label in QUERIES:
        g = np.array([found[seed][0][key] for seed in seeds])
        a = np.array([found[seed][1][key] for seed in seeds])
        apart = np.abs(decades(g) - decades(a))
        for seed, gs, as_, d in zip(seeds, g, a, apart):
            rows.append({"query": label, "random_state": seed, "grid S": f"{gs:.4f}",
                         "adaptive S": f"{as_:.4f}", "decades apart": f"{d:.3f}"})
        rows.append({
            "query": label, "random_state": "all",
            "grid S": f"sd {boot_sd(g)[0]:.3f}", "adaptive S": f"sd {boot_sd(a)[0]:.3f}",
            "decades apart": f"median {np.nanmedian(apart):.3f}, "
                             f"{int(np.sum(apart <= 0.03))}/{len(seeds)} <= 0.03"})
    print(f"\nrandom_state {', '.join(map(str, seeds))} (sd: over the seeds, in decades "
          "of density; the grid's sd is how reproducible 'what the grid finds' is)\n")
    table(rows, ["query", "random_state", "grid S", "adaptive S", "decades apart"])


if __name__ == "__main__":
    main()
