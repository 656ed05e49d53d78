"""SparsityCurveDisplay: accuracy against sparsity, with the fitted curve.

matplotlib is imported inside the methods only, so that ``import sklearn_set``
never imports it. The drawing helpers live in :mod:`sklearn_set._display.axes`.
"""

import functools
import inspect

import numpy as np
from sklearn.utils._plotting import _validate_score_name, _validate_style_kwargs

from .._curve import SparsityCurveRegressor, check_sparsity_levels, parse_cv_results
from .._docstrings import fill_doc, parameter_docs
from .._sweep.sweep import sparsity_curve
from . import axes

__all__ = ["SparsityCurveDisplay"]


def _options_of(func):
    """The parameters of ``func`` that a caller may set by keyword: those
    with a default and the keyword-only ones (``estimator, X, y`` of
    :func:`sparsity_curve` and ``self`` of a method are not options)."""
    return [p for p in inspect.signature(func).parameters.values()
            if p.kind is p.KEYWORD_ONLY
            or (p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty)]


def _takes_options(**sources):
    """Decorator: a display builder takes, besides its own parameters, the
    options of each source function (its sweep, its parser, ``plot``),
    declared and documented there once.

    ``sources`` maps a parameter of the builder to a function; the builder
    gets that parameter as a dict of the function's options (except those
    the builder declares itself), all of them, defaults included. The
    builder's signature and docstring show every option: the template
    ``%(<parameter>)s`` is filled with the options' entries of the
    function's docstring. An unknown keyword is a TypeError before any work
    is done.
    """

    def decorate(builder):
        own = [p for name, p in inspect.signature(builder).parameters.items()
               if name not in sources]
        own_names = {p.name for p in own}
        groups = {
            group: [p.replace(kind=p.KEYWORD_ONLY) for p in _options_of(source)
                    if p.name not in own_names]
            for group, source in sources.items()
        }
        signature = inspect.Signature(own + [p for ps in groups.values() for p in ps])

        @functools.wraps(builder)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = bound.arguments
            options = {group: {p.name: values.pop(p.name) for p in ps}
                       for group, ps in groups.items()}
            return builder(**values, **options)

        wrapper.__signature__ = signature
        wrapper.__doc__ = fill_doc(builder.__doc__, **{
            group: parameter_docs(sources[group], [p.name for p in ps], indent=8)
            for group, ps in groups.items()})
        return wrapper

    return decorate


def _name_from_score_key(score_key):
    """"mean_test_balanced_accuracy" -> "Balanced accuracy"."""
    name = score_key
    for prefix in ("mean_", "std_", "rank_", "test_", "train_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return _validate_score_name(None, name, negate_score=False)


class SparsityCurveDisplay:
    """Accuracy-versus-sparsity visualization with the fitted sparsity curve.

    Shows the measured scores (mean and standard deviation over folds) at
    every sparsity level, the fitted
    :class:`~sklearn_set.SparsityCurveRegressor` with the band where the mean
    score of a new level is expected (95% by default), the plateau /
    transition / extreme regimes, and the
    extreme-sparsity contour when the collapse is identified. The x axis is
    the density ``1 - sparsity`` on a log scale, reversed so that sparsity
    grows to the right, and labelled in sparsity (0, 0.9, 0.99, ...).

    It is recommended to create it with :meth:`from_estimator` or
    :meth:`from_cv_results`. All parameters are stored as attributes.

    Read more in the :ref:`User Guide <reading_the_plot>`.

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

    baseline_scores : array-like of shape (n_levels, n_folds), default=None
        Test scores of a dense network of each level's size
        (``SparsityCurveResult.baseline_scores`` of a sweep with
        ``baseline="dense"``), drawn as a second series.

    baseline_parameters : array-like of shape (n_levels,), default=None
        Parameters of each level's dense network
        (``SparsityCurveResult.baseline_parameters``). With
        ``n_parameters`` and ``baseline_hidden_layer_sizes``, the levels
        where no dense network is as small as the sparse one are drawn
        apart, labelled "smallest dense network (N parameters)".

    n_parameters : array-like of shape (n_levels, n_folds), default=None
        Live parameters of the sparse networks
        (``SparsityCurveResult.n_parameters``).

    baseline_hidden_layer_sizes : list of tuple of int, default=None
        Hidden layer sizes of each level's dense network
        (``SparsityCurveResult.baseline_hidden_layer_sizes``); needed with
        the two above to tell the smallest dense network.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.

    figure_ : matplotlib Figure
        Figure containing the plot.

    errorbar_ : list of matplotlib ErrorbarContainer
        Measured scores: test first, then the dense baseline (the networks
        of the same size, then the smallest dense network where it is larger
        than the sparse one) and train when drawn.

    line_ : matplotlib Line2D or None
        The fitted curve over the measured sparsity range.

    extrapolation_lines_ : list of matplotlib Line2D
        The fitted curve outside the measured range (dashed).

    fill_between_ : matplotlib PolyCollection or None
        The band of :meth:`SparsityCurveRegressor.predict_interval`: where
        the mean score of a new level is expected.

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
        baseline_scores=None,
        baseline_parameters=None,
        n_parameters=None,
        baseline_hidden_layer_sizes=None,
    ):
        self.sparsities = sparsities
        self.test_scores = test_scores
        self.curve = curve
        self.train_scores = train_scores
        self.n_connections = n_connections
        self.score_name = score_name
        self.baseline_scores = baseline_scores
        self.baseline_parameters = baseline_parameters
        self.n_parameters = n_parameters
        self.baseline_hidden_layer_sizes = baseline_hidden_layer_sizes

    # ------------------------------------------------------------------ plot

    def plot(
        self,
        ax=None,
        *,
        score_name=None,
        score_type="test",
        show_band=True,
        show_regimes=True,
        coverage=0.95,
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
            Axes to plot on; ``None`` creates a figure and axes, with the
            legend right of the axes (on given axes it sits in their lower
            left).

        score_name : str, default=None
            Label of the y axis; ``None`` uses the display's ``score_name``
            (which the builders infer from the score), else ``"Score"``.

        score_type : {"test", "train", "both"}, default="test"
            Which measured scores to draw. The curve is always the one given
            (fitted to test scores by the builders).

        show_band : bool, default=True
            Draw the interval where the mean score of a new level is expected
            (:meth:`SparsityCurveRegressor.predict_interval`).

        show_regimes : bool, default=True
            Shade the plateau, transition and extreme regimes of the curve.

        coverage : float in (0, 1), default=0.95
            Coverage of the band.

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
        axes.check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if score_type not in ("test", "train", "both"):
            raise ValueError(
                f"score_type must be 'test', 'train' or 'both'; got {score_type!r}.")
        sparsities = check_sparsity_levels(
            np.ravel(self.sparsities), what=f"{type(self).__name__}.plot")
        test = axes.as_scores(self.test_scores, sparsities.size, "test_scores")
        train = None
        if score_type in ("train", "both"):
            if self.train_scores is None:
                raise ValueError(
                    f"score_type={score_type!r} needs train_scores, which are None.")
            train = axes.as_scores(self.train_scores, sparsities.size, "train_scores")
        own_figure = ax is None
        if own_figure:  # wide enough for the legend beside the axes
            _, ax = plt.subplots(figsize=(10.5, 4.8), layout="constrained")

        density = 1.0 - sparsities
        # x extent: dense networks on the left, sparse ones on the right
        d_lo, d_hi = float(density.min()) / 2.0, 1.0
        margin = 10.0 ** (0.04 * max(1.0, np.log10(d_hi / d_lo)))
        x_left, x_right = d_hi * margin, d_lo / margin

        self.regions_ = {}
        self.line_ = None
        self.extrapolation_lines_ = []
        self.fill_between_ = None
        self.contour_line_ = None
        self.connections_axis_ = None
        y_values = []
        if self.curve is not None:
            y_values += self._draw_curve(
                ax, density, (d_lo, d_hi, x_left, x_right), show_band=show_band,
                show_regimes=show_regimes, coverage=coverage, line_kw=line_kw,
                fill_between_kw=fill_between_kw, regime_kw=regime_kw,
                contour_kw=contour_kw, n_points=n_points)
        y_values += self._draw_scores(ax, density, test if score_type != "train" else None,
                                      train, errorbar_kw)

        axes.set_sparsity_axis(ax, d_lo, d_hi, x_left, x_right)
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
            self.connections_axis_ = axes.connections_axis(ax, density, self.n_connections)
        axes.order_legend(ax, outside=own_figure)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _draw_curve(self, ax, density, extent, *, show_band, show_regimes, coverage,
                    line_kw, fill_between_kw, regime_kw, contour_kw, n_points):
        """The fitted curve, its band, the regimes and the contour; returns
        the y values drawn."""
        curve = self.curve
        d_lo, d_hi, x_left, x_right = extent
        d_min, d_max = float(density.min()), float(density.max())
        grid = np.unique(np.concatenate([np.geomspace(d_lo, d_hi, int(n_points)),
                                         [d_min, d_max]]))
        s_grid = np.clip(1.0 - grid, 0.0, 1.0)
        pred = curve.predict(s_grid[:, None])
        drawn = [pred]
        if show_regimes:
            self.regions_ = axes.shade_regimes(ax, curve, s_grid, float(1.0 - d_min),
                                            x_left, x_right, regime_kw)
        if show_band:
            low, high = curve.predict_interval(s_grid[:, None], coverage=coverage)
            finite = np.isfinite(low) & np.isfinite(high)
            if np.any(finite):
                kw = _validate_style_kwargs(
                    {"alpha": 0.2, "color": "tab:blue", "linewidth": 0,
                     "label": f"{coverage:.0%} interval of a level's mean"},
                    fill_between_kw or {})
                self.fill_between_ = ax.fill_between(grid[finite], low[finite], high[finite],
                                                     **kw)
                drawn += [low[finite], high[finite]]
        kw = _validate_style_kwargs(
            {"color": "tab:blue", "linewidth": 2, "label": f"fitted curve ({curve.family_})"},
            line_kw or {})
        inside = (grid >= d_min * (1 - 1e-12)) & (grid <= d_max * (1 + 1e-12))
        (self.line_,) = ax.plot(grid[inside], pred[inside], **kw)
        # outside the measured range: the same curve, dashed and thinner
        extra_kw = {k: v for k, v in kw.items() if k != "label"}
        extra_kw.update(linestyle="--", linewidth=max(1.0, kw.get("linewidth", 2) * 0.6),
                        color=self.line_.get_color())
        for part in (grid <= d_min * (1 + 1e-12), grid >= d_max * (1 - 1e-12)):
            if np.sum(part) > 1:
                (line,) = ax.plot(grid[part], pred[part], **extra_kw)
                self.extrapolation_lines_.append(line)
        if curve.collapse_identified_ and np.isfinite(curve.extreme_sparsity_):
            s_ext = curve.extreme_sparsity_
            kw = _validate_style_kwargs(
                {"color": "tab:red", "linestyle": "--", "linewidth": 1.5,
                 "label": f"extreme-sparsity contour (S = {axes.format_sparsity(s_ext)})"},
                contour_kw or {})
            self.contour_line_ = ax.axvline(1.0 - s_ext, **kw)
        return drawn

    def _draw_scores(self, ax, density, test, train, errorbar_kw):
        """Measured scores, mean and std over folds; returns the y values."""
        order = np.argsort(-density)
        self.errorbar_ = []
        drawn = []
        series = []
        if test is not None:
            series.append(("Test", test, errorbar_kw or {}, {"color": "black"}))
            if self.baseline_scores is not None:
                series += self._baseline_series(test.shape[0])
        if train is not None:
            series.append(("Train", train, {}, {"color": "tab:gray", "alpha": 0.8}))
        for label, scores, user_kw, defaults in series:
            mean, sd = axes.row_stats(scores)
            n_folds = scores.shape[1]
            kw = _validate_style_kwargs(
                {"fmt": "o", "markersize": 5, "capsize": 3, "zorder": 5, **defaults,
                 "label": (f"{label} (mean $\\pm$ std, {n_folds} folds)" if n_folds > 1
                           else label)},
                user_kw)
            keep = order[np.isfinite(mean[order])]
            self.errorbar_.append(ax.errorbar(density[keep], mean[keep], yerr=sd[keep], **kw))
            drawn += [mean[keep] - sd[keep], mean[keep] + sd[keep]]
        return drawn

    def _baseline_series(self, n_levels):
        """The dense baseline's series: the networks of the same size, and
        apart the smallest dense network where it is larger than the budget."""
        from .._sweep.baseline import smallest_dense_network

        dense = axes.as_scores(self.baseline_scores, n_levels, "baseline_scores")
        style = {"color": "tab:orange", "fmt": "s--", "linewidth": 1}
        larger = np.zeros(n_levels, dtype=bool)
        given = (self.baseline_parameters, self.n_parameters, self.baseline_hidden_layer_sizes)
        if all(value is not None for value in given):
            sizes = np.asarray(self.baseline_parameters, dtype=float)
            larger = smallest_dense_network(
                axes.as_scores(self.n_parameters, n_levels, "n_parameters"), sizes,
                self.baseline_hidden_layer_sizes)
        series = [("Dense network of the same size", np.where(larger[:, None], np.nan, dense),
                   {}, style)] if not larger.all() else []
        if larger.any():
            sizes_text = " or ".join(f"{n:,.0f}" for n in np.unique(sizes[larger]))
            series.append((f"Smallest dense network ({sizes_text} parameters)",
                           np.where(larger[:, None], dense, np.nan), {},
                           {**style, "fmt": "s:", "markerfacecolor": "none"}))
        return series

    # ------------------------------------------------------------- builders

    @classmethod
    @_takes_options(sweep_options=sparsity_curve, plot_options=plot)
    def from_estimator(cls, estimator, X, y, *, sweep_options, plot_options):
        """Sweep the sparsity of an estimator, fit the curve and plot both.

        Runs :func:`sparsity_curve` with every option of it, fits a
        :class:`~sklearn_set.SparsityCurveRegressor` with ``curve_params`` to
        the test scores (every fold one measurement; at least four distinct
        levels, three with a fixed ``collapse_accuracy``) and plots them with
        :meth:`plot`. The score must lie in ``[0, 1]``, higher is better: the
        curve is fitted in ``1 - score``.

        Parameters
        ----------
        estimator : estimator object
            A sparse network or a pipeline holding one; cloned for each fit.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Targets.

%(sweep_options)s

%(plot_options)s

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
        axes.check_matplotlib(f"{cls.__name__}.from_estimator")
        result = sparsity_curve(estimator, X, y, **sweep_options)
        score_name = plot_options["score_name"]
        display = cls(
            sparsities=result.sparsities,
            test_scores=result.test_scores,
            curve=result.fit_curve(**(sweep_options["curve_params"] or {})),
            train_scores=result.train_scores,
            n_connections=result.n_connections,
            score_name=score_name if score_name is not None else result.score_name,
            baseline_scores=result.baseline_scores,
            baseline_parameters=result.baseline_parameters,
            n_parameters=result.n_parameters,
            baseline_hidden_layer_sizes=result.baseline_hidden_layer_sizes,
        )
        return display.plot(**plot_options)

    @classmethod
    @_takes_options(parse_options=parse_cv_results, plot_options=plot)
    def from_cv_results(cls, cv_results, *, curve_params=None, parse_options,
                        plot_options):
        """Plot the ``cv_results_`` of a sparsity grid search and its curve.

        The points are the per-split scores (``"split<i>_<name>"`` columns
        for a ``"mean_<name>"`` key) or, without them, the column itself;
        the curve is fitted to the same table.

        Parameters
        ----------
        cv_results : dict
            ``cv_results_`` of :class:`~sklearn.model_selection.GridSearchCV`
            or an equivalent dict.

        curve_params : dict, default=None
            Parameters of the :class:`~sklearn_set.SparsityCurveRegressor`.

%(parse_options)s

%(plot_options)s

        Returns
        -------
        display : SparsityCurveDisplay
            The display; ``display.curve`` is the fitted regressor.

        Notes
        -----
        When several candidates share a sparsity level (other parameters vary
        in the grid), the one with the best ``score_key`` is drawn, as the
        curve does. Train scores need the search to have run with
        ``return_train_score=True``.
        """
        axes.check_matplotlib(f"{cls.__name__}.from_cv_results")
        sweep = parse_cv_results(cv_results, **parse_options)
        curve = SparsityCurveRegressor(**(curve_params or {})).fit_scores(
            sweep.sparsities, sweep.test)
        score_name = plot_options["score_name"]
        display = cls(
            sparsities=sweep.sparsities,
            test_scores=sweep.test,
            curve=curve,
            train_scores=sweep.train,
            score_name=score_name if score_name is not None
            else _name_from_score_key(parse_options["score_key"]),
        )
        return display.plot(**plot_options)
