"""Tests of SparsityCurveDisplay (sklearn_set._display.curve)."""

import inspect
import os
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg", force=True)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import sklearn_set  # noqa: E402
from sklearn_set._curve import (  # noqa: E402
    CollapseNotIdentifiedWarning,
    SparsityCurveRegressor,
    SweepScores,
    parse_cv_results,
)
from sklearn_set._display import curve as curve_display  # noqa: E402
from sklearn_set._display.curve import SparsityCurveDisplay  # noqa: E402
from sklearn_set._set import SETClassifier  # noqa: E402
from sklearn_set._sweep.sweep import sparsity_curve  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def collapsed(rosenfeld_scores):
    """A sweep that reaches the collapse (contour near S = 0.993)."""
    s = 1 - np.logspace(-0.3, -3.5, 12)
    scores = rosenfeld_scores(s)
    curve = SparsityCurveRegressor(family="rosenfeld").fit(
        np.repeat(s, 3)[:, None], scores.ravel()
    )
    assert curve.collapse_identified_
    return s, scores, curve


@pytest.fixture(scope="module")
def not_collapsed(rosenfeld_scores):
    """A sweep that stops before the collapse."""
    s = 1 - np.logspace(-0.3, -2.0, 8)  # up to S = 0.99
    scores = rosenfeld_scores(s)
    with pytest.warns(CollapseNotIdentifiedWarning):
        curve = SparsityCurveRegressor(family="rosenfeld").fit(
            np.repeat(s, 3)[:, None], scores.ravel()
        )
    assert not curve.collapse_identified_
    return s, scores, curve


def span_x(span):
    """x extent (density) of an axvspan artist (Rectangle or Polygon)."""
    if hasattr(span, "get_width"):
        return np.array([span.get_x(), span.get_x() + span.get_width()])
    return np.unique(span.get_xy()[:, 0])


def tick_labels(ax):
    fig = ax.figure
    fig.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


# ------------------------------------------------------------------ plot


def test_plot_collapsed(collapsed):
    s, scores, curve = collapsed
    display = SparsityCurveDisplay(
        sparsities=s, test_scores=scores, curve=curve, score_name="Accuracy"
    ).plot()
    ax = display.ax_
    assert display.figure_ is ax.figure
    assert ax.get_xscale() == "log"
    left, right = ax.get_xlim()
    assert left > right  # density decreases, sparsity grows to the right
    assert left >= 1.0 and right < 1 - s.max()
    assert ax.get_ylabel() == "Accuracy"
    assert "Sparsity" in ax.get_xlabel()
    labels = tick_labels(ax)
    for text in ("0", "0.9", "0.99", "0.999"):
        assert text in labels

    # measured points: mean and std over folds at the densities
    assert len(display.errorbar_) == 1
    container = display.errorbar_[0]
    assert isinstance(container, ErrorbarContainer)
    x, y = container.lines[0].get_data()
    order = np.argsort(s)
    np.testing.assert_allclose(x, 1 - s[order])
    np.testing.assert_allclose(y, scores.mean(axis=1)[order])

    # fitted curve, over the measured range, and its band
    assert isinstance(display.line_, Line2D)
    xc, yc = display.line_.get_data()
    assert xc.min() == pytest.approx(1 - s.max()) and xc.max() == pytest.approx(1 - s.min())
    np.testing.assert_allclose(yc, curve.predict((1 - xc)[:, None]))
    assert isinstance(display.fill_between_, PolyCollection)
    assert len(display.extrapolation_lines_) == 2
    assert all(line.get_linestyle() == "--" for line in display.extrapolation_lines_)

    # regimes and the extreme-sparsity contour
    assert set(display.regions_) == {"plateau", "transition", "extreme"}
    assert isinstance(display.contour_line_, Line2D)
    np.testing.assert_allclose(
        display.contour_line_.get_xdata(), [1 - curve.extreme_sparsity_] * 2
    )
    assert display.connections_axis_ is None
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("Test")
    assert any("extreme-sparsity contour" in text for text in legend)


def test_the_legend_covers_no_data_on_its_own_figure(collapsed):
    """On the figure it makes, the display puts its legend beside the axes
    (inside, its entries hid the cliff); on axes it is given, inside them."""
    def overlap(display):
        display.figure_.canvas.draw()
        renderer = display.figure_.canvas.get_renderer()
        legend = display.ax_.get_legend().get_window_extent(renderer)
        return legend.overlaps(display.ax_.get_window_extent(renderer))

    s, scores, curve = collapsed
    display = SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve)
    assert not overlap(display.plot())
    _, ax = plt.subplots()
    assert overlap(display.plot(ax=ax))


def test_regime_boundaries_at_knee_and_contour(collapsed):
    s, scores, curve = collapsed
    display = SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve).plot()
    (plateau,) = display.regions_["plateau"]
    (extreme,) = display.regions_["extreme"]
    assert np.min(span_x(plateau)) == pytest.approx(1 - curve.knee_sparsity_)
    assert np.max(span_x(extreme)) == pytest.approx(1 - curve.extreme_sparsity_)
    # transition between the two
    (transition,) = display.regions_["transition"]
    np.testing.assert_allclose(
        sorted(span_x(transition)), [1 - curve.extreme_sparsity_, 1 - curve.knee_sparsity_]
    )


def test_plot_not_collapsed_has_no_contour(not_collapsed):
    s, scores, curve = not_collapsed
    display = SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve).plot()
    assert display.contour_line_ is None
    assert "extreme" not in display.regions_
    assert display.line_ is not None
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert not any("contour" in text for text in legend)
    assert display.ax_.get_ylabel() == "Score"


def test_plot_without_curve_and_with_connections(collapsed):
    s, scores, _ = collapsed
    n_connections = np.repeat(((1 - s) * 10_000).round()[:, None], 3, axis=1)
    _, ax = plt.subplots()
    display = SparsityCurveDisplay(
        sparsities=s, test_scores=scores, train_scores=scores + 0.01,
        n_connections=n_connections,
    ).plot(ax=ax, score_type="both", show_band=False)
    assert display.ax_ is ax
    assert display.line_ is None and display.fill_between_ is None
    assert display.contour_line_ is None and display.regions_ == {}
    assert len(display.errorbar_) == 2
    assert display.connections_axis_ is not None
    assert display.connections_axis_.get_xlabel() == "Connections"


def test_plot_options(collapsed):
    s, scores, curve = collapsed
    display = SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve).plot(
        show_band=False, show_regimes=False, line_kw={"color": "tab:purple"},
        score_name="Top-1 accuracy",
    )
    assert display.fill_between_ is None and display.regions_ == {}
    assert display.line_.get_color() == "tab:purple"
    assert display.contour_line_ is not None
    assert display.ax_.get_ylabel() == "Top-1 accuracy"


def test_plot_bad_inputs(collapsed):
    s, scores, curve = collapsed
    with pytest.raises(ValueError, match="shape"):
        SparsityCurveDisplay(sparsities=s, test_scores=scores[:-1]).plot()
    with pytest.raises(ValueError, match="train_scores"):
        SparsityCurveDisplay(sparsities=s, test_scores=scores).plot(score_type="both")
    with pytest.raises(ValueError, match="score_type"):
        SparsityCurveDisplay(sparsities=s, test_scores=scores).plot(score_type="val")
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        SparsityCurveDisplay(sparsities=[0.5, 1.0], test_scores=[0.9, 0.1]).plot()


def test_nan_level_is_skipped(collapsed):
    s, scores, _ = collapsed
    scores = scores.copy()
    scores[3] = np.nan  # every fold failed at one level
    display = SparsityCurveDisplay(sparsities=s, test_scores=scores).plot()
    x, _ = display.errorbar_[0].lines[0].get_data()
    assert len(x) == len(s) - 1


# ------------------------------------------------------- lazy matplotlib


def test_import_does_not_import_matplotlib():
    code = (
        "import sys; import sklearn_set, sklearn_set._sweep.sweep, sklearn_set._display.curve; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(sklearn_set.__file__)))
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONPATH": path})


def test_missing_matplotlib_error(monkeypatch, collapsed):
    s, scores, curve = collapsed
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"sklearn-set\[plot\]"):
        SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve).plot()
    # raised before any (costly) sweep
    with pytest.raises(ImportError, match="from_estimator requires matplotlib"):
        SparsityCurveDisplay.from_estimator(None, None, None, sparsities=[0.5])
    with pytest.raises(ImportError, match="from_cv_results requires matplotlib"):
        SparsityCurveDisplay.from_cv_results({})


# ------------------------------------------------------- real estimators


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=150, n_features=8, n_informative=4,
                               random_state=0)


LEVELS = [0.5, 0.8, 0.95, 0.99]


def small_set():
    return SETClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0)


def test_from_estimator(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapseNotIdentifiedWarning)
        display = SparsityCurveDisplay.from_estimator(
            small_set(), X, y, sparsities=LEVELS, cv=3,
            curve_params={"collapse_accuracy": 0.5}, score_type="both",
        )
    assert isinstance(display.curve, SparsityCurveRegressor)
    assert display.curve.collapse_accuracy_ == pytest.approx(0.5)
    assert display.test_scores.shape == (4, 3) == display.n_connections.shape
    assert len(display.errorbar_) == 2
    assert display.ax_.get_ylabel() == "Accuracy"
    assert display.connections_axis_ is not None
    assert (display.contour_line_ is not None) == display.curve.collapse_identified_


@pytest.fixture(scope="module")
def grid_search(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), small_set())
    search = GridSearchCV(
        pipe, {"setclassifier__sparsity": LEVELS[::-1]}, cv=3, return_train_score=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return search.fit(X, y)


def test_from_cv_results(grid_search):
    results = grid_search.cv_results_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapseNotIdentifiedWarning)
        curve_params = {"family": "rosenfeld", "collapse_accuracy": 0.5}
        display = SparsityCurveDisplay.from_cv_results(
            results, score_type="both", curve_params=curve_params)
        reference = SparsityCurveRegressor.from_cv_results(results, **curve_params)
    # levels sorted; rows are the per-split scores of each candidate
    np.testing.assert_array_equal(display.sparsities, sorted(LEVELS))
    expected = np.column_stack([results[f"split{i}_test_score"] for i in range(3)])[::-1]
    np.testing.assert_array_equal(display.test_scores, expected)
    expected_train = np.column_stack([results[f"split{i}_train_score"] for i in range(3)])
    np.testing.assert_array_equal(display.train_scores, expected_train[::-1])
    assert display.curve.params_ == reference.params_
    assert display.ax_.get_ylabel() == "Score"
    assert display.ax_.get_xscale() == "log"
    assert len(display.errorbar_) == 2
    assert (display.contour_line_ is not None) == display.curve.collapse_identified_


def test_from_cv_results_bad_keys(grid_search):
    results = grid_search.cv_results_
    with pytest.raises(KeyError, match="No parameter column"):
        SparsityCurveDisplay.from_cv_results(results, param_name="density")
    with pytest.raises(KeyError, match="score_key"):
        SparsityCurveDisplay.from_cv_results(results, score_key="mean_test_f1")
    with pytest.raises(TypeError, match="cv_results"):
        SparsityCurveDisplay.from_cv_results([1, 2])


# ----------------------------------------------- style keywords, options


def test_style_aliases_override_defaults(collapsed):
    """``c``/``lw`` aliases replace the defaults (dict.update raised "Got
    both 'color' and 'c'")."""
    s, scores, curve = collapsed
    display = SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve).plot(
        line_kw={"c": "tab:red", "lw": 4}, contour_kw={"c": "k"},
        errorbar_kw={"c": "tab:green"}, fill_between_kw={"fc": "tab:gray"},
        regime_kw={"alpha": 0.3})
    assert display.line_.get_color() == "tab:red" and display.line_.get_linewidth() == 4
    assert display.contour_line_.get_color() == "k"
    assert display.errorbar_[0].lines[0].get_color() == "tab:green"
    assert all(span.get_alpha() == 0.3 for spans in display.regions_.values()
               for span in spans)
    with pytest.raises(TypeError, match="aliases"):
        SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve).plot(
            line_kw={"c": "red", "color": "blue"})


def test_band_is_the_interval_of_a_level_mean(collapsed):
    s, scores, curve = collapsed
    display = SparsityCurveDisplay(sparsities=s, test_scores=scores, curve=curve).plot(
        coverage=0.8, n_points=50)
    vertices = display.fill_between_.get_paths()[0].vertices
    # the sparsest measured level is a point of the drawing grid
    at = vertices[np.isclose(vertices[:, 0], 1 - s.max(), rtol=1e-9), 1]
    low, high = curve.predict_interval([[s.max()]], coverage=0.8)
    np.testing.assert_allclose([at.min(), at.max()], [low[0], high[0]])
    assert "80% interval" in display.fill_between_.get_label()
    # n_points: the curve is drawn on that many points (plus the data ends)
    xs = np.concatenate([display.line_.get_xdata()] +
                        [line.get_xdata() for line in display.extrapolation_lines_])
    assert len(np.unique(xs)) <= 52


def test_builders_forward_every_plot_option(grid_search, data, degrading_classifier):
    """The options take effect in the drawings of both builders (a fast
    stand-in is swept: test_from_estimator sweeps a real SET network)."""
    options = dict(show_band=True, coverage=0.5, regime_kw={"alpha": 0.25},
                   contour_kw={"lw": 3}, n_points=30, line_kw={"c": "tab:purple"})
    # the family does not matter here: the fewest fits
    curve_params = {"family": "rosenfeld", "collapse_accuracy": 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_results = SparsityCurveDisplay.from_cv_results(
            grid_search.cv_results_, curve_params=curve_params, **options)
        X, y = data
        from_est = SparsityCurveDisplay.from_estimator(
            degrading_classifier(), X, y, sparsities=LEVELS, cv=3,
            curve_params=curve_params, **options)
    for display in (from_results, from_est):
        assert display.line_.get_color() == "tab:purple"
        assert "50% interval" in display.fill_between_.get_label()
        assert all(span.get_alpha() == 0.25 for spans in display.regions_.values()
                   for span in spans)
        if display.contour_line_ is not None:
            assert display.contour_line_.get_linewidth() == 3


# ------------------------------------------- options declared once, forwarded


class _Stop(Exception):
    """Raised by a spy once it has recorded its call."""


def _same_default(a, b):
    return a is b or a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))


def _options(func, *, skip=()):
    """The keyword options of func (parameters with a default or keyword-only)."""
    return {name: p for name, p in inspect.signature(func).parameters.items()
            if name not in skip and (p.kind is p.KEYWORD_ONLY or p.default is not p.empty)}


@pytest.mark.parametrize("builder, sources", [
    ("from_estimator", [sparsity_curve, SparsityCurveDisplay.plot]),
    ("from_cv_results", [parse_cv_results, SparsityCurveDisplay.plot]),
])
def test_builders_take_every_option_of_their_sources(builder, sources):
    """A builder's signature holds every option of the sweep (or parser) and
    of plot, with the same default, and its docstring documents each."""
    method = getattr(SparsityCurveDisplay, builder)
    taken = inspect.signature(method).parameters
    doc = method.__doc__
    for source in sources:
        for name, option in _options(source).items():
            assert name in taken, f"{builder} does not take {source.__name__}'s {name!r}"
            assert taken[name].kind is taken[name].KEYWORD_ONLY
            assert _same_default(taken[name].default, option.default), name
            assert f"\n        {name} : " in doc, f"{builder} does not document {name!r}"
    with pytest.raises(TypeError, match="unexpected keyword argument 'sparsity_rnage'"):
        SparsityCurveDisplay.from_estimator(None, None, None, sparsities=[0.5],
                                            sparsity_rnage=(0.5, 0.99))


def test_from_estimator_forwards_every_sweep_option(monkeypatch):
    """Each option of sparsity_curve reaches it unchanged (a spy stands in
    for the sweep), and an option not passed gets sparsity_curve's default."""
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        raise _Stop

    monkeypatch.setattr(curve_display, "sparsity_curve", spy)
    options = _options(sparsity_curve)
    sentinels = {name: object() for name in options}
    with pytest.raises(_Stop):
        SparsityCurveDisplay.from_estimator("estimator", "X", "y", **sentinels)
    with pytest.raises(_Stop):
        SparsityCurveDisplay.from_estimator("estimator", "X", "y", sparsities="levels")
    (args, forwarded), (_, defaults) = calls
    assert args == ("estimator", "X", "y")
    assert forwarded.keys() == sentinels.keys()
    assert all(forwarded[name] is sentinels[name] for name in sentinels)
    assert defaults.pop("sparsities") == "levels"
    assert all(_same_default(defaults[name], options[name].default) for name in defaults)
    assert {"sparsity_range", "progress"} <= forwarded.keys()


def test_builders_forward_every_plot_option_to_plot(monkeypatch, collapsed):
    """Each option of plot reaches it unchanged from both builders (the sweep
    and the parser replaced by spies that return the collapsed sweep)."""
    s, scores, _ = collapsed
    calls = []

    def plot_spy(self, **kwargs):
        calls.append(kwargs)
        return self

    def fit_curve(**params):
        return SparsityCurveRegressor(**params).fit_scores(s, scores)

    result = SimpleNamespace(sparsities=s, test_scores=scores, train_scores=None,
                             n_connections=None, score_name="Accuracy", fit_curve=fit_curve,
                             baseline_scores=None, baseline_parameters=None,
                             n_parameters=None, baseline_hidden_layer_sizes=None)
    sweep = SweepScores(key="param_sparsity", sparsities=s, test=scores, train=None, varying=[])
    monkeypatch.setattr(curve_display, "sparsity_curve", lambda *args, **kwargs: result)
    monkeypatch.setattr(curve_display, "parse_cv_results", lambda *args, **kwargs: sweep)
    plot_options = _options(SparsityCurveDisplay.plot)
    monkeypatch.setattr(SparsityCurveDisplay, "plot", plot_spy)
    sentinels = {name: object() for name in plot_options}
    curve_params = {"family": "rosenfeld"}
    SparsityCurveDisplay.from_estimator(None, None, None, sparsities=s,
                                        curve_params=curve_params, **sentinels)
    SparsityCurveDisplay.from_cv_results({}, curve_params=curve_params, **sentinels)
    assert len(calls) == 2
    for forwarded in calls:
        assert forwarded.keys() == sentinels.keys()
        assert all(forwarded[name] is sentinels[name] for name in sentinels)


def test_baseline_scores_are_drawn_as_a_second_series():
    sparsities = np.array([0.5, 0.9, 0.99])
    scores = np.array([[0.9, 0.92], [0.85, 0.86], [0.5, 0.55]])
    dense = scores - 0.05
    display = SparsityCurveDisplay(sparsities=sparsities, test_scores=scores,
                                   baseline_scores=dense).plot()
    assert len(display.errorbar_) == 2
    label = display.errorbar_[1].get_label()
    assert label.startswith("Dense network of the same size")
    np.testing.assert_allclose(np.sort(display.errorbar_[1].lines[0].get_ydata()),
                               np.sort(dense.mean(axis=1)))
    with pytest.raises(ValueError, match="baseline_scores"):
        SparsityCurveDisplay(sparsities=sparsities, test_scores=scores,
                             baseline_scores=dense[:2]).plot()


def test_smallest_dense_network_is_labelled_apart():
    """Where no dense network is as small as the sparse one, the plot does
    not call the dense network "the same size"."""
    sparsities = np.array([0.5, 0.9, 0.99])
    scores = np.array([[0.9, 0.92], [0.85, 0.86], [0.5, 0.55]])
    dense = scores - 0.05
    display = SparsityCurveDisplay(
        sparsities=sparsities, test_scores=scores, baseline_scores=dense,
        baseline_parameters=[1000, 300, 87], n_parameters=[[1000, 1010], [300, 290], [30, 40]],
        baseline_hidden_layer_sizes=[(12,), (3,), (1,)],
    ).plot()
    labels = [bar.get_label() for bar in display.errorbar_]
    assert labels[1].startswith("Dense network of the same size")
    assert labels[2].startswith("Smallest dense network (87 parameters)")
    np.testing.assert_allclose(np.sort(display.errorbar_[1].lines[0].get_ydata()),
                               np.sort(dense[:2].mean(axis=1)))
    np.testing.assert_allclose(display.errorbar_[2].lines[0].get_ydata(), dense[2].mean())
