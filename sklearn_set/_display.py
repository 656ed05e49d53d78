"""SparsityCurveDisplay: accuracy against sparsity, with the fitted curve.

matplotlib is imported inside the methods only, so that ``import sklearn_set``
never imports it.
"""


import numpy as np

from ._curve import SparsityCurveRegressor, parse_cv_results
from ._sweep import sparsity_curve

__all__ = ["SparsityCurveDisplay"]

_REGIME_COLORS = {"plateau": "tab:green", "transition": "tab:orange", "extreme": "tab:red"}


def _check_matplotlib(caller):
    """Raise an ImportError naming the ``plot`` extra if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install it with "
            "`pip install sklearn-set[plot]` (or `pip install matplotlib`)."
        ) from exc


def _format_sparsity(s, significant=2):
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


def _density_ticks(d_lo, d_hi):
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


def _as_scores(values, n_levels, name):
    scores = np.asarray(values, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] != n_levels:
        raise ValueError(
            f"{name} must have shape (n_levels, n_folds) with n_levels={n_levels} "
            f"(one row per sparsity); got shape {np.shape(values)}."
        )
    return scores


def _row_stats(scores):
    """Mean and standard deviation over the folds, NaN-aware, quietly."""
    with np.errstate(invalid="ignore"):
        count = np.sum(np.isfinite(scores), axis=1)
        total = np.where(np.isfinite(scores), scores, 0.0).sum(axis=1)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        dev = np.where(np.isfinite(scores), scores - mean[:, None], 0.0)
        std = np.where(count > 0, np.sqrt((dev**2).sum(axis=1) / np.maximum(count, 1)), np.nan)
    return mean, std


def _name_from_score_key(score_key):
    name = score_key
    for prefix in ("mean_", "std_", "rank_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    for prefix in ("test_", "train_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name == "score":
        return "Score"
    if name.startswith("neg_"):
        name = "Negative " + name[4:]
    return name.replace("_", " ").capitalize()


class SparsityCurveDisplay:
    """Accuracy-versus-sparsity visualization with the fitted sparsity curve.

    Shows the measured scores (mean and standard deviation over folds) at
    every sparsity level, the fitted
    :class:`~sklearn_set.SparsityCurveRegressor` with a band of two standard
    errors, the plateau / transition / extreme regimes, and the
    extreme-sparsity contour when the collapse is identified. The x axis is
    the density ``1 - sparsity`` on a log scale, reversed so that sparsity
    grows to the right, and labelled in sparsity (0, 0.9, 0.99, ...).

    It is recommended to create it with :meth:`from_estimator` or
    :meth:`from_cv_results`. All parameters are stored as attributes.

    Parameters
    ----------
    sparsities : array-like of shape (n_levels,)
        Sparsity levels in ``[0, 1)``.

    test_scores : array-like of shape (n_levels, n_folds) or (n_levels,)
        Test scores at each level (NaN for a failed fit).

    curve : SparsityCurveRegressor, default=None
        A fitted curve; without it only the measured scores are drawn.

    train_scores : array-like of shape (n_levels, n_folds), default=None
        Training scores, drawn with ``score_type="both"`` or ``"train"``.

    n_connections : array-like of shape (n_levels, n_folds), default=None
        Connection counts of the fitted networks; when given, the top axis is
        labelled in connections.

    score_name : str, default=None
        Label of the y axis; ``None`` means ``"Score"``.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.

    figure_ : matplotlib Figure
        Figure containing the plot.

    errorbar_ : list of matplotlib ErrorbarContainer
        Measured scores: test first, then train when drawn.

    line_ : matplotlib Line2D or None
        The fitted curve over the measured sparsity range.

    extrapolation_lines_ : list of matplotlib Line2D
        The fitted curve outside the measured range (dashed).

    fill_between_ : matplotlib PolyCollection or None
        The band of plus or minus two standard errors of the fitted curve.

    regions_ : dict of str to list of matplotlib Artist
        Shaded spans of each regime (``"plateau"``, ``"transition"``,
        ``"extreme"``).

    contour_line_ : matplotlib Line2D or None
        Vertical line at the extreme-sparsity contour; None when the
        collapse is not identified.

    connections_axis_ : matplotlib SecondaryAxis or None
        Top axis in connections, when ``n_connections`` is known.

    See Also
    --------
    sparsity_curve : Run the sweep.
    SparsityCurveRegressor : Fit the curve.
    sklearn.model_selection.ValidationCurveDisplay : The general display.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_set import SparsityCurveRegressor
    >>> from sklearn_set import SparsityCurveDisplay
    >>> sparsity = 1 - np.logspace(-0.3, -3.5, 12)
    >>> d = 1 - sparsity
    >>> error = 0.02 * ((d**2 + 0.002**2 * 45 ** (2 / 1.5)) / (d**2 + 0.002**2)) ** 0.75
    >>> rng = np.random.default_rng(0)
    >>> scores = (1 - error)[:, None] + rng.normal(0, 0.005, (12, 3))
    >>> curve = SparsityCurveRegressor(family="rosenfeld").fit(
    ...     np.repeat(sparsity, 3)[:, None], scores.ravel())
    >>> display = SparsityCurveDisplay(
    ...     sparsities=sparsity, test_scores=scores, curve=curve,
    ...     score_name="Accuracy").plot()
    >>> display.ax_.get_xscale()
    'log'
    >>> display.contour_line_ is not None
    True
    """

    def __init__(
        self,
        *,
        sparsities,
        test_scores,
        curve=None,
        train_scores=None,
        n_connections=None,
        score_name=None,
    ):
        self.sparsities = sparsities
        self.test_scores = test_scores
        self.curve = curve
        self.train_scores = train_scores
        self.n_connections = n_connections
        self.score_name = score_name

    # ------------------------------------------------------------------ plot

    def plot(
        self,
        ax=None,
        *,
        score_name=None,
        score_type="test",
        show_band=True,
        show_regimes=True,
        errorbar_kw=None,
        line_kw=None,
        fill_between_kw=None,
        regime_kw=None,
        contour_kw=None,
        n_points=400,
    ):
        """Plot the sweep and the fitted curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; ``None`` creates a figure and axes.

        score_name : str, default=None
            Label of the y axis; overrides the ``score_name`` attribute.

        score_type : {"test", "train", "both"}, default="test"
            Which measured scores to draw. The curve is always the one given
            (fitted to test scores by :meth:`from_estimator`).

        show_band : bool, default=True
            Draw the band of plus or minus two standard errors of the curve
            (``curve.predict(..., return_std=True)``).

        show_regimes : bool, default=True
            Shade the plateau, transition and extreme regimes of the curve.

        errorbar_kw : dict, default=None
            Keyword arguments of ``ax.errorbar`` for the measured test scores.

        line_kw : dict, default=None
            Keyword arguments of ``ax.plot`` for the fitted curve.

        fill_between_kw : dict, default=None
            Keyword arguments of ``ax.fill_between`` for the band.

        regime_kw : dict, default=None
            Keyword arguments of ``ax.axvspan`` for the regime shading.

        contour_kw : dict, default=None
            Keyword arguments of ``ax.axvline`` for the extreme contour.

        n_points : int, default=400
            Number of points at which the curve is drawn.

        Returns
        -------
        display : SparsityCurveDisplay
            The display, with the artists stored as attributes.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

        if score_type not in ("test", "train", "both"):
            raise ValueError(
                f"score_type must be 'test', 'train' or 'both'; got {score_type!r}."
            )
        sparsities = np.asarray(self.sparsities, dtype=np.float64).ravel()
        if sparsities.size == 0 or np.any(~np.isfinite(sparsities)):
            raise ValueError("sparsities must be a non-empty array of finite numbers.")
        if np.any((sparsities < 0) | (sparsities >= 1)):
            raise ValueError("sparsities must lie in [0, 1).")
        n_levels = sparsities.size
        test = _as_scores(self.test_scores, n_levels, "test_scores")
        train = None
        if score_type in ("train", "both"):
            if self.train_scores is None:
                raise ValueError(
                    f"score_type={score_type!r} needs train_scores, which are None."
                )
            train = _as_scores(self.train_scores, n_levels, "train_scores")

        if ax is None:
            _, ax = plt.subplots()
        density = 1.0 - sparsities
        order = np.argsort(sparsities)

        # ---- extent of the x axis (density, log scale, reversed)
        d_min, d_max = float(density.min()), float(density.max())
        d_lo = d_min / 2.0
        d_hi = 1.0
        margin = 10.0 ** (0.04 * max(1.0, np.log10(d_hi / d_lo)))
        # reversed: dense networks on the left, sparse ones on the right
        x_left, x_right = d_hi * margin, d_lo / margin

        y_values = []
        self.regions_ = {}
        self.line_ = None
        self.extrapolation_lines_ = []
        self.fill_between_ = None
        self.contour_line_ = None
        self.connections_axis_ = None

        # ---- fitted curve, band and regimes
        curve = self.curve
        if curve is not None:
            grid = np.geomspace(d_lo, d_hi, int(n_points))
            grid = np.unique(np.concatenate([grid, [d_min, d_max]]))
            s_grid = np.clip(1.0 - grid, 0.0, 1.0)
            pred, std = curve.predict(s_grid[:, None], return_std=True)

            if show_regimes:
                self._shade_regimes(ax, curve, grid, s_grid, sparsities, x_left, x_right,
                                    regime_kw)

            if show_band and np.any(np.isfinite(std)):
                kw = {"alpha": 0.2, "color": "tab:blue", "linewidth": 0,
                      "label": "curve $\\pm$ 2 s.e."}
                kw.update(fill_between_kw or {})
                finite = np.isfinite(std)
                self.fill_between_ = ax.fill_between(
                    grid[finite], (pred - 2 * std)[finite], (pred + 2 * std)[finite], **kw
                )

            kw = {"color": "tab:blue", "linewidth": 2,
                  "label": f"fitted curve ({curve.family_})"}
            kw.update(line_kw or {})
            inside = (grid >= d_min * (1 - 1e-12)) & (grid <= d_max * (1 + 1e-12))
            (self.line_,) = ax.plot(grid[inside], pred[inside], **kw)
            extra_kw = {k: v for k, v in kw.items() if k != "label"}
            extra_kw.update(linestyle="--", linewidth=max(1.0, kw.get("linewidth", 2) * 0.6),
                            color=self.line_.get_color())
            for part in (grid <= d_min * (1 + 1e-12), grid >= d_max * (1 - 1e-12)):
                if np.sum(part) > 1:
                    (line,) = ax.plot(grid[part], pred[part], **extra_kw)
                    self.extrapolation_lines_.append(line)
            y_values.append(pred)

            if curve.collapse_identified_ and np.isfinite(curve.extreme_sparsity_):
                s_ext = curve.extreme_sparsity_
                kw = {"color": "tab:red", "linestyle": "--", "linewidth": 1.5,
                      "label": f"extreme-sparsity contour (S = {_format_sparsity(s_ext)})"}
                kw.update(contour_kw or {})
                self.contour_line_ = ax.axvline(1.0 - s_ext, **kw)

        # ---- measured scores
        self.errorbar_ = []
        series = []
        if score_type in ("test", "both"):
            series.append(("Test", test, errorbar_kw or {}, {"color": "black"}))
        if train is not None:
            series.append(("Train", train, {}, {"color": "tab:gray", "alpha": 0.8}))
        for label, scores, user_kw, defaults in series:
            mean, sd = _row_stats(scores)
            n_folds = scores.shape[1]
            kw = {"fmt": "o", "markersize": 5, "capsize": 3, "zorder": 5,
                  "label": (f"{label} (mean $\\pm$ std, {n_folds} folds)" if n_folds > 1
                            else label), **defaults}
            kw.update(user_kw)
            keep = order[np.isfinite(mean[order])]
            self.errorbar_.append(
                ax.errorbar(density[keep], mean[keep], yerr=sd[keep], **kw)
            )
            y_values.extend([mean[keep] - sd[keep], mean[keep] + sd[keep]])

        # ---- axes: log density, reversed, labelled in sparsity
        ax.set_xscale("log")
        ax.set_xlim(x_left, x_right)
        majors, minors = _density_ticks(d_lo, d_hi)
        ax.xaxis.set_major_locator(FixedLocator(majors))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda d, _: _format_sparsity(1.0 - d)))
        ax.xaxis.set_minor_locator(FixedLocator(minors))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("Sparsity (log-density scale)")
        name = score_name if score_name is not None else self.score_name
        ax.set_ylabel(name if name is not None else "Score")

        finite = np.concatenate([np.ravel(v) for v in y_values]) if y_values else np.array([])
        finite = finite[np.isfinite(finite)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            pad = 0.06 * max(hi - lo, 1e-3)
            ax.set_ylim(lo - pad, hi + pad)
        ax.grid(True, which="major", alpha=0.3)

        if self.n_connections is not None:
            self._connections_axis(ax, density)

        # legend: measurements, the curve, anything else, the regimes
        handles, labels = ax.get_legend_handles_labels()

        def rank(label):
            for i, start in enumerate(("Test", "Train", "fitted", "curve", "extreme-")):
                if label.startswith(start):
                    return i
            return 6 if label.endswith(" regime") else 5

        ranked = sorted(zip(handles, labels), key=lambda hl: rank(hl[1]))
        if ranked:
            ax.legend(*zip(*ranked), loc="lower left", fontsize="small", framealpha=0.9)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _shade_regimes(self, ax, curve, grid, s_grid, sparsities, x_left, x_right, regime_kw):
        """Shade contiguous runs of ``curve.regime`` with exact boundaries."""
        order = np.argsort(s_grid)
        s_sorted = s_grid[order]
        labels = curve.regime(s_sorted[:, None])
        # the span reaches the axes' edges (in density)
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
                cut = float(sparsities.max())
            else:
                cut = 0.5 * (s_sorted[i] + s_sorted[i + 1])
            starts.append(cut)
        ends = starts[1:] + [s_right]
        run_labels = [labels[0]] + [labels[i + 1] for i in change]
        kw = {"alpha": 0.1, "linewidth": 0, "zorder": 0}
        kw.update(regime_kw or {})
        for label, start, end in zip(run_labels, starts, ends):
            if label not in _REGIME_COLORS:
                continue
            first = label not in self.regions_
            span = ax.axvspan(
                1.0 - start, 1.0 - end,
                **{"color": _REGIME_COLORS[label], **kw,
                   "label": f"{label} regime" if first else None},
            )
            self.regions_.setdefault(label, []).append(span)

    def _connections_axis(self, ax, density):
        """Top axis in connections (proportional to density)."""
        n_connections = _as_scores(self.n_connections, density.size, "n_connections")
        per_level, _ = _row_stats(n_connections)
        ratio = per_level / density
        ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
        if ratio.size == 0:
            return
        total = float(np.median(ratio))
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        secax = ax.secondary_xaxis(
            "top", functions=(lambda d: d * total, lambda n: n / total)
        )
        secax.xaxis.set_major_locator(LogLocator(base=10.0))
        secax.xaxis.set_major_formatter(FuncFormatter(lambda n, _: f"{n:,.0f}"))
        secax.xaxis.set_minor_formatter(NullFormatter())
        secax.set_xlabel("Connections")
        self.connections_axis_ = secax

    # ------------------------------------------------------------- builders

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sparsities,
        param_name="sparsity",
        groups=None,
        cv=5,
        scoring=None,
        n_jobs=None,
        verbose=0,
        error_score=np.nan,
        params=None,
        curve_params=None,
        ax=None,
        score_name=None,
        score_type="test",
        show_band=True,
        show_regimes=True,
        errorbar_kw=None,
        line_kw=None,
        fill_between_kw=None,
    ):
        """Sweep the sparsity of an estimator, fit the curve and plot both.

        Runs :func:`sparsity_curve`, fits a
        :class:`~sklearn_set.SparsityCurveRegressor` to the test scores (every
        fold one measurement) and plots.

        Parameters
        ----------
        estimator : estimator object
            A sparse network or a pipeline holding one; cloned for each fit.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Targets.

        sparsities : array-like of shape (n_levels,)
            Sparsity levels in ``[0, 1)``. Fitting the curve needs at least
            four distinct levels (three with a fixed ``collapse_accuracy``).

        param_name : str, default="sparsity"
            The swept parameter; see :func:`sparsity_curve`.

        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv`` splitter.

        cv : int, cross-validation generator or iterable, default=5
            Cross-validation strategy.

        scoring : str, callable or None, default=None
            A single metric with values in ``[0, 1]``, higher is better (the
            curve is fitted in ``1 - score``).

        n_jobs : int, default=None
            Parallel jobs over all (level, split) pairs.

        verbose : int, default=0
            Verbosity.

        error_score : "raise" or float, default=np.nan
            Score of a failed fit.

        params : dict, default=None
            Parameters passed to the estimator's ``fit``.

        curve_params : dict, default=None
            Parameters of the :class:`~sklearn_set.SparsityCurveRegressor`.

        ax : matplotlib Axes, default=None
            Axes to plot on; ``None`` creates a figure and axes.

        score_name : str, default=None
            Label of the y axis; ``None`` infers it from ``scoring``.

        score_type : {"test", "train", "both"}, default="test"
            Which measured scores to draw.

        show_band, show_regimes : bool, default=True
            See :meth:`plot`.

        errorbar_kw, line_kw, fill_between_kw : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : SparsityCurveDisplay
            The display; ``display.curve`` is the fitted regressor.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import make_classification
        >>> from sklearn_set import SETClassifier
        >>> from sklearn_set import SparsityCurveDisplay
        >>> X, y = make_classification(n_samples=200, n_features=10, random_state=0)
        >>> display = SparsityCurveDisplay.from_estimator(
        ...     SETClassifier(hidden_layer_sizes=(32,), max_iter=10, random_state=0),
        ...     X, y, sparsities=[0.5, 0.8, 0.9, 0.95, 0.99], cv=3,
        ...     curve_params={"collapse_accuracy": 0.5})
        >>> display.curve.collapse_accuracy_
        0.5
        >>> display.ax_.get_xscale()
        'log'
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        result = sparsity_curve(
            estimator,
            X,
            y,
            sparsities=sparsities,
            param_name=param_name,
            groups=groups,
            cv=cv,
            scoring=scoring,
            n_jobs=n_jobs,
            verbose=verbose,
            error_score=error_score,
            params=params,
        )
        curve = result.fit_curve(**(curve_params or {}))
        display = cls(
            sparsities=result.sparsities,
            test_scores=result.test_scores,
            curve=curve,
            train_scores=result.train_scores,
            n_connections=result.n_connections,
            score_name=score_name if score_name is not None else result.score_name,
        )
        return display.plot(
            ax=ax,
            score_type=score_type,
            show_band=show_band,
            show_regimes=show_regimes,
            errorbar_kw=errorbar_kw,
            line_kw=line_kw,
            fill_between_kw=fill_between_kw,
        )

    @classmethod
    def from_cv_results(
        cls,
        cv_results,
        *,
        param_name="sparsity",
        score_key="mean_test_score",
        curve_params=None,
        ax=None,
        score_name=None,
        score_type="test",
        show_band=True,
        show_regimes=True,
        errorbar_kw=None,
        line_kw=None,
        fill_between_kw=None,
    ):
        """Plot the ``cv_results_`` of a sparsity grid search and its curve.

        The curve is :meth:`SparsityCurveRegressor.from_cv_results`; the
        points are the per-split scores (``"split<i>_<name>"`` columns for a
        ``"mean_<name>"`` key) or, without them, the column itself.

        Parameters
        ----------
        cv_results : dict
            ``cv_results_`` of :class:`~sklearn.model_selection.GridSearchCV`
            or an equivalent dict.

        param_name : str, default="sparsity"
            The swept parameter: the full key (``"param_clf__sparsity"``), the
            name after ``"param_"``, or a unique suffix after ``"__"``.

        score_key : str, default="mean_test_score"
            Score column.

        curve_params : dict, default=None
            Parameters of the :class:`~sklearn_set.SparsityCurveRegressor`.

        ax : matplotlib Axes, default=None
            Axes to plot on; ``None`` creates a figure and axes.

        score_name : str, default=None
            Label of the y axis; ``None`` derives it from ``score_key``.

        score_type : {"test", "train", "both"}, default="test"
            Which measured scores to draw; train scores need the search to
            have run with ``return_train_score=True``.

        show_band, show_regimes : bool, default=True
            See :meth:`plot`.

        errorbar_kw, line_kw, fill_between_kw : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : SparsityCurveDisplay
            The display; ``display.curve`` is the fitted regressor.

        Notes
        -----
        When several candidates share a sparsity level (other parameters vary
        in the grid), the one with the best ``score_key`` is drawn, as the
        curve does.
        """
        _check_matplotlib(f"{cls.__name__}.from_cv_results")
        sweep = parse_cv_results(cv_results, param_name=param_name, score_key=score_key)
        levels, test, train = sweep.sparsities, sweep.test, sweep.train
        curve = SparsityCurveRegressor(**(curve_params or {})).fit_scores(levels, test)
        display = cls(
            sparsities=levels,
            test_scores=test,
            curve=curve,
            train_scores=train,
            score_name=score_name if score_name is not None
            else _name_from_score_key(score_key),
        )
        return display.plot(
            ax=ax,
            score_type=score_type,
            show_band=show_band,
            show_regimes=show_regimes,
            errorbar_kw=errorbar_kw,
            line_kw=line_kw,
            fill_between_kw=fill_between_kw,
        )
