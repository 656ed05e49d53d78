"""What ``sklearn-set sweep`` makes of its fits: the leave-one-level-out
check of the fitted curve, the table on screen, ``results.csv``,
``curve.json`` and the plot."""

import csv
import json
import math
import os
import warnings

import numpy as np

from .._atomic import atomic_write


def leave_one_level_out(curve, x, scores):
    """For each level: the curve refitted without that level's fits (see
    :meth:`SparsityCurveRegressor.leave_one_level_out`), its prediction of
    the level's mean accuracy and the absolute error; ``(None, None)`` where
    there is none."""
    check = curve.leave_one_level_out(x, scores)
    return [(None, None) if not np.isfinite(p) else (float(p), float(abs(p - m)))
            for p, m in zip(check.predicted, check.mean_score)]


def _mean_std(values):
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, None
    return float(values.mean()), float(values.std())


def result_rows(result, achieved):
    from .._sweep.baseline import smallest_dense_network

    rows = []
    if result.baseline_scores is not None:
        smallest = smallest_dense_network(result.n_parameters, result.baseline_parameters,
                                          result.baseline_hidden_layer_sizes)
    for i, level in enumerate(result.sparsities):
        accuracy, spread = _mean_std(result.test_scores[i])
        row = {
            "sparsity": float(level),
            "connections": _mean_std(result.n_connections[i])[0],
            "mean_accuracy": accuracy,
            "std_accuracy": spread,
            "mean_fit_seconds": _mean_std(result.fit_times[i])[0],
            # share of connections on an input-to-output path at the end
            "active_fraction": _mean_std(result.active_fractions[i])[0],
            # a fit without a score failed, whether or not it recorded why
            "failed_fits": int(np.sum(~np.isfinite(result.fit_times[i])
                                      | ~np.isfinite(result.test_scores[i]))),
        }
        if achieved is not None:
            row["final_sparsity"] = _mean_std(achieved[i])[0]
        row["parameters"] = _mean_std(result.n_parameters[i])[0]
        if result.baseline_scores is not None:
            size = result.baseline_parameters[i]
            row["dense_same_size_parameters"] = int(size) if np.isfinite(size) else None
            row["dense_same_size_accuracy"] = _mean_std(result.baseline_scores[i])[0]
            # no dense network is as small: the smallest one stands in
            row["dense_is_smallest_larger"] = bool(smallest[i])
        rows.append(row)
    return rows


def write_sweep(folder, rows, settings, summary, notes):
    """Write results.csv and curve.json into ``folder``, each whole or not
    at all; return their names. An OSError (a full disk) propagates."""
    with atomic_write(os.path.join(folder, "results.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with atomic_write(os.path.join(folder, "curve.json"), "w") as handle:
        json.dump({**settings, "curve": summary, "warnings": notes, "results": rows},
                  handle, indent=2)
    return ["results.csv", "curve.json"]


def print_table(rows, accset):
    def cell(value, width, digits):
        return f"{'n/a':>{width}}" if value is None else f"{value:>{width}.{digits}f}"

    loo = "curve_without_this_level" in rows[0]
    dense = "dense_same_size_accuracy" in rows[0]
    header = (f"{'sparsity':>9} {'connections':>12} {'params':>7} {'active':>7} "
              f"{'accuracy':>9} {'std':>7}" + f" {'dense same size':>16}" * dense
              + f" {'fit s':>7}" + f" {'curve w/o level':>16}" * loo)
    if accset:
        header = f"{'start':>9} {'final sparsity':>15}" + header[9:]
    print(header)
    for row in rows:
        first = f"{row['sparsity']:>9g}"
        if accset:
            first += " " + cell(row["final_sparsity"], 15, 4)
        cells = [first, cell(row["connections"], 12, 0), cell(row["parameters"], 7, 0),
                 cell(row["active_fraction"], 7, 3), cell(row["mean_accuracy"], 9, 4),
                 cell(row["std_accuracy"], 7, 4)]
        if dense:
            mark = "*" if row.get("dense_is_smallest_larger") else " "
            cells.append(cell(row["dense_same_size_accuracy"], 15, 4) + mark)
        cells.append(cell(row["mean_fit_seconds"], 7, 2))
        if loo:
            cells.append(cell(row["curve_without_this_level"], 16, 4))
        print(" ".join(cells))
    larger = [row for row in rows if row.get("dense_is_smallest_larger")]
    if larger:
        sizes = sorted({row["dense_same_size_parameters"] for row in larger})
        print(f"* the smallest dense network ({' or '.join(f'{n:,}' for n in sizes)} "
              "parameters): no dense network is as small as the sparse one")


def baseline_verdict(result):
    """Where sparsity pays against a dense network of the same size."""
    from .._sweep.baseline import verdict

    return verdict(result.sparsities, result.n_parameters, result.test_scores,
                   result.baseline_scores, result.baseline_parameters,
                   result.baseline_hidden_layer_sizes)


def _nan_to_none(value):
    value = float(value)
    return None if math.isnan(value) else value


def curve_summary(curve, rows):
    dense = curve.dense_accuracy_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        within_one_point = curve.max_sparsity(dense - 0.01)
    errors = np.array([row["leave_one_out_error"] for row in rows
                       if row.get("leave_one_out_error") is not None])
    return {
        "family": curve.family_,
        "family_chosen_by_aicc": curve.family == "auto",
        "params": {k: _nan_to_none(v) for k, v in curve.params_.items()},
        "dense_accuracy": _nan_to_none(dense),
        "collapse_accuracy": _nan_to_none(curve.collapse_accuracy_),
        "knee_sparsity": _nan_to_none(curve.knee_sparsity_),
        "extreme_sparsity": _nan_to_none(curve.extreme_sparsity_),
        "collapse_identified": bool(curve.collapse_identified_),
        "max_sparsity_within_1_point": _nan_to_none(within_one_point),
        "aicc": {k: _nan_to_none(v) for k, v in curve.aiccs_.items()},
        "residual_std": _nan_to_none(curve.residual_std_),
        "leave_one_level_out_mean_abs_error": float(errors.mean()) if errors.size else None,
        "leave_one_level_out_max_abs_error": float(errors.max()) if errors.size else None,
    }


def format_summary(summary):
    def fmt(value, digits=4):
        return "n/a" if value is None else f"{value:.{digits}f}"

    chosen = ", chosen by AICc" if summary["family_chosen_by_aicc"] else ""
    lines = [
        f"Sparsity curve ({summary['family']} family{chosen}; "
        f"collapse fixed at the majority-class accuracy {fmt(summary['collapse_accuracy'])}):",
        f"  dense accuracy                         {fmt(summary['dense_accuracy'])}",
        f"  knee (end of the plateau)              sparsity {fmt(summary['knee_sparsity'])}",
        f"  extreme sparsity (collapse midpoint)   sparsity "
        f"{fmt(summary['extreme_sparsity'])}",
        f"  highest sparsity within 1 point of dense accuracy   "
        f"{fmt(summary['max_sparsity_within_1_point'])}",
        f"  collapse identified by the data        {summary['collapse_identified']}",
    ]
    if summary.get("sparse_vs_dense") is not None:
        lines.append(f"  against dense networks of the same size: {summary['sparse_vs_dense']}")
    if summary["leave_one_level_out_mean_abs_error"] is not None:
        lines.append(
            "  leave-one-level-out error of the curve "
            f"mean {fmt(_points(summary['leave_one_level_out_mean_abs_error']), 2)}, "
            f"max {fmt(_points(summary['leave_one_level_out_max_abs_error']), 2)} "
            "percentage points")
    return "\n".join(lines)


def _points(value):
    return None if value is None else 100 * value


def plot_sweep(result, curve, path, title):
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._display.curve import SparsityCurveDisplay

    display = SparsityCurveDisplay(sparsities=result.sparsities, test_scores=result.test_scores,
                                   curve=curve, n_connections=result.n_connections,
                                   score_name="accuracy",
                                   baseline_scores=result.baseline_scores,
                                   baseline_parameters=result.baseline_parameters,
                                   n_parameters=result.n_parameters,
                                   baseline_hidden_layer_sizes=result.baseline_hidden_layer_sizes)
    display.plot()
    display.ax_.set_title(title)
    try:
        with atomic_write(path, "wb") as handle:
            display.figure_.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(display.figure_)
    return True
