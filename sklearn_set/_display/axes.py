"""Drawing helpers of :class:`~sklearn_set.SparsityCurveDisplay`: the
log-density axis labelled in sparsity, score tables, regime shading and the
connections axis. matplotlib is imported inside the functions only."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._plotting import _validate_style_kwargs

REGIME_COLORS = {"plateau": "tab:green", "transition": "tab:orange", "extreme": "tab:red"}


def check_matplotlib(caller):
    """scikit-learn's check, with the hint of the ``plot`` extra."""
    try:
        check_matplotlib_support(caller)
    except ImportError as exc:
        raise ImportError(
            f"{exc} Or install sklearn-set with its plot extra: "
            "pip install 'sklearn-set[plot]'.") from exc


def format_sparsity(s, significant=2):
    """Sparsity as a short decimal, rounding the density ``1 - s``.

    0 -> "0", 0.9 -> "0.9", 0.999 -> "0.999", 0.99712 -> "0.9971".
    """
    d = 1.0 - float(s)
    if d <= 0.0:
        return "1"
    if d >= 1.0:
        return "0"
    decimals = max(0, significant - 1 - int(np.floor(np.log10(d))))
    return np.format_float_positional(round(1.0 - round(d, decimals), decimals), trim="-")


def density_ticks(d_lo, d_hi):
    """Major and minor tick densities in ``[d_lo, d_hi]``.

    Powers of ten are the major ticks (sparsity 0, 0.9, 0.99, ...) and 2 and
    5 times them minor ticks; over less than two decades all are major.
    """
    k_lo = int(np.floor(np.log10(d_lo))) - 1
    k_hi = int(np.ceil(np.log10(d_hi))) + 1
    tol = 1e-9
    decades = [10.0**k for k in range(k_lo, k_hi + 1) if 10.0**k <= 1.0 + tol]
    inside = [d for d in decades if d_lo * (1 - tol) <= d <= d_hi * (1 + tol)]
    between = [
        m * d
        for d in decades
        for m in (2.0, 5.0)
        if m * d < 1.0 - tol and d_lo * (1 - tol) <= m * d <= d_hi * (1 + tol)
    ]
    if len(inside) < 3:
        return sorted(inside + between), []
    return inside, sorted(between)


def as_scores(values, n_levels, name):
    scores = np.asarray(values, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] != n_levels:
        raise ValueError(
            f"{name} must have shape (n_levels, n_folds) with n_levels={n_levels} "
            f"(one row per sparsity); got shape {np.shape(values)}."
        )
    return scores


def row_stats(scores):
    """Mean and standard deviation over the folds, NaN-aware, quietly."""
    with np.errstate(invalid="ignore"):
        count = np.sum(np.isfinite(scores), axis=1)
        total = np.where(np.isfinite(scores), scores, 0.0).sum(axis=1)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        dev = np.where(np.isfinite(scores), scores - mean[:, None], 0.0)
        std = np.where(count > 0, np.sqrt((dev**2).sum(axis=1) / np.maximum(count, 1)), np.nan)
    return mean, std


def set_sparsity_axis(ax, d_lo, d_hi, x_left, x_right):
    """Log density, reversed (sparsity grows to the right), labelled in sparsity."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.set_xlim(x_left, x_right)
    majors, minors = density_ticks(d_lo, d_hi)
    ax.xaxis.set_major_locator(FixedLocator(majors))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda d, _: format_sparsity(1.0 - d)))
    ax.xaxis.set_minor_locator(FixedLocator(minors))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Sparsity (log-density scale)")


def shade_regimes(ax, curve, s_grid, s_max, x_left, x_right, regime_kw):
    """Shade the contiguous runs of ``curve.regime`` with exact boundaries;
    return ``{regime: [artists]}``."""
    s_sorted = np.sort(s_grid)
    labels = curve.regime(s_sorted[:, None])
    # the spans reach the axes' edges (in density)
    s_left, s_right = 1.0 - x_left, 1.0 - x_right
    change = np.flatnonzero(labels[1:] != labels[:-1])
    starts = [s_left]
    for i in change:
        before, after = labels[i], labels[i + 1]
        if after == "extreme" and np.isfinite(curve.extreme_sparsity_):
            cut = curve.extreme_sparsity_
        elif before == "plateau" and np.isfinite(curve.knee_sparsity_):
            cut = curve.knee_sparsity_
        elif after == "unknown":
            cut = s_max
        else:
            cut = 0.5 * (s_sorted[i] + s_sorted[i + 1])
        starts.append(cut)
    ends = starts[1:] + [s_right]
    run_labels = [labels[0]] + [labels[i + 1] for i in change]
    regions = {}
    for label, start, end in zip(run_labels, starts, ends):
        if label not in REGIME_COLORS:
            continue
        kw = _validate_style_kwargs(
            {"color": REGIME_COLORS[label], "alpha": 0.1, "linewidth": 0, "zorder": 0,
             "label": f"{label} regime" if label not in regions else None},
            regime_kw or {})
        regions.setdefault(label, []).append(ax.axvspan(1.0 - start, 1.0 - end, **kw))
    return regions


def connections_axis(ax, density, n_connections):
    """Top axis in connections (proportional to density), or None."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    per_level, _ = row_stats(as_scores(n_connections, density.size, "n_connections"))
    ratio = per_level / density
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    if ratio.size == 0:
        return None
    total = float(np.median(ratio))
    secax = ax.secondary_xaxis("top", functions=(lambda d: d * total, lambda n: n / total))
    secax.xaxis.set_major_locator(LogLocator(base=10.0))
    secax.xaxis.set_major_formatter(FuncFormatter(lambda n, _: f"{n:,.0f}"))
    secax.xaxis.set_minor_formatter(NullFormatter())
    secax.set_xlabel("Connections")
    return secax


def order_legend(ax, *, outside=False):
    """Legend: measurements, the curve, its interval, the contour, regimes.

    ``outside`` puts it right of the axes, where it covers no data (inside,
    its nine entries hid the cliff of a sweep's curve); inside, it sits in
    the lower left, for axes in a layout of the caller's."""
    handles, labels = ax.get_legend_handles_labels()

    def rank(label):
        for i, start in enumerate(("Test", "Train", "fitted", "95%", "extreme-")):
            if label.startswith(start):
                return i
        return 6 if label.endswith(" regime") else 5

    ranked = sorted(zip(handles, labels), key=lambda hl: rank(hl[1]))
    if not ranked:
        return
    place = (dict(loc="upper left", bbox_to_anchor=(1.02, 1.0)) if outside
             else dict(loc="lower left"))
    ax.legend(*zip(*ranked), fontsize="small", framealpha=0.9, **place)
