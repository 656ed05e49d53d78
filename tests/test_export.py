"""Deployment: compaction, the C99 export (compiled and run on held-out rows)
and the conversion to scikit-learn's dense MLPs."""

import shutil
import subprocess

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

from sklearn_set import (
    AccSETClassifier,
    CompactNetwork,
    SETClassifier,
    SETRegressor,
    compact,
    export_c,
    to_mlp,
)
from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine.activations import ACTIVATIONS
from sklearn_set._export.c import host_driver_source
from sklearn_set._export.compact import prune
from sklearn_set._export.quantize import dequantized

CC = shutil.which("cc")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc) on this system")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2"]

FAST = dict(max_iter=4, random_state=0, batch_size=32)


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    """Raw digits (pixels 0..16), split 75/25."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def digits_model(digits):
    """The configuration of the deployment targets: StandardScaler +
    SETClassifier((256, 256), sparsity=0.95, regrowth="connected"), with the
    recipe they were measured with (relu, so that to_mlp can take it too)."""
    X_train, _, y_train, _ = digits
    return make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(256, 256), sparsity=0.95, regrowth="connected",
        activation="relu", alpha=1e-4, random_state=0)).fit(X_train, y_train)


def _run_c(model, X, directory, *, name="model", weights="float32"):
    """Export, compile with the strict flags, run on the rows of X; returns
    the export result and the printed numbers, one row per sample."""
    result = export_c(model, directory, name=name, weights=weights)
    driver = directory / f"{name}_main.c"
    driver.write_text(host_driver_source(model, name))
    program = directory / name
    compiled = subprocess.run([CC, *CFLAGS, "-o", str(program), str(result.source),
                               str(driver), "-lm"], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    rows = "\n".join(" ".join(repr(float(v)) for v in row) for row in np.asarray(X))
    out = subprocess.run([str(program)], input=rows, capture_output=True, text=True,
                         check=True).stdout
    printed = np.array([[float(v) for v in line.split()] for line in out.splitlines()])
    assert printed.shape[0] == len(X)
    return result, printed


def _classifier(activation, hidden=(32, 16), **params):
    return SETClassifier(hidden_layer_sizes=hidden, activation=activation,
                         **{**FAST, "sparsity": 0.8, **params})


# -- compaction ---------------------------------------------------------------

def _toy_network(activation_code, slope=0.0):
    """2 inputs, hidden layers of 3 and 2 units, 1 output. Hidden unit 1 of
    layer 1 has no input (a constant), unit 2 no output (useless)."""
    w0 = sp.csc_matrix(np.array([[1.0, 0.0, 2.0], [-1.5, 0.0, 0.5]]))
    w1 = sp.csc_matrix(np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 0.0]]))
    w2 = sp.csc_matrix(np.array([[1.0], [-2.0]]))
    return CompactNetwork(
        coefs=[w0, w1, w2], intercepts=[np.array([0.1, 0.7, -0.2]), np.array([0.3, -0.4]),
                                         np.array([0.05])],
        hidden_activations=[(activation_code, slope)] * 2, output="identity",
        hidden_units=[np.arange(3), np.arange(2)])


@pytest.mark.parametrize("code, slope", [(kernels.RELU, 0.0), (kernels.LEAKY_RELU, -0.6),
                                         (kernels.TANH, 0.0), (kernels.LOGISTIC, 0.0),
                                         (kernels.IDENTITY, 0.0)])
def test_prune_folds_constants_and_drops_useless_units(code, slope):
    network = _toy_network(code, slope)
    pruned = prune(network)
    assert pruned.layer_sizes == (2, 1, 2, 1)
    np.testing.assert_array_equal(pruned.hidden_units[0], [0])
    assert pruned.n_parameters == 2 + 2 + 2 + 1 + 2 + 1
    X = np.random.default_rng(0).normal(size=(50, 2)) * 3
    np.testing.assert_allclose(pruned.forward(X), network.forward(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_compact_matches_the_model(digits, activation):
    X_train, X_test, y_train, _ = digits
    hidden = (32, 16, 16) if activation == "allrelu" else (32, 16)
    model = make_pipeline(StandardScaler(), _classifier(activation, hidden)).fit(X_train, y_train)
    network = compact(model)
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(network.forward(X_test), proba, atol=1e-5)
    np.testing.assert_array_equal(network.forward(X_test).argmax(axis=1), proba.argmax(axis=1))


def test_compact_removes_dead_units_exactly(digits):
    X_train, X_test, y_train, _ = digits
    scaler = StandardScaler().fit(X_train)
    clf = SETClassifier(hidden_layer_sizes=(256, 256), sparsity=0.995, **FAST).fit(
        scaler.transform(X_train), y_train)
    coefs = clf.coefs_
    # both kinds of dead unit exist before compaction
    unreached = np.diff(coefs[1].tocsc().indptr)  # inputs of layer-2 units
    assert (np.diff(coefs[0].tocsc().indptr) == 0).any()
    assert (np.diff(coefs[1].tocsr().indptr) == 0).any() or (unreached == 0).any()
    network = compact(clf)
    assert all(n < 256 for n in network.layer_sizes[1:-1])
    assert network.n_connections.sum() < sum(w.nnz for w in coefs)
    assert network.n_parameters == (network.n_connections.sum()
                                    + sum(network.layer_sizes[1:]))
    X = scaler.transform(X_test)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(network.forward(X).argmax(axis=1), proba.argmax(axis=1))
    np.testing.assert_allclose(network.forward(X), proba, atol=1e-5)


def test_compact_regressor_undoes_target_scaling():
    X, y = make_regression(n_samples=200, n_features=8, n_targets=2, noise=1.0,
                           random_state=0)
    y = y * 50 + 1000
    model = make_pipeline(MinMaxScaler(), SETRegressor(hidden_layer_sizes=(32,), sparsity=0.7,
                                                       **FAST)).fit(X, y)
    np.testing.assert_allclose(compact(model).forward(X), model.predict(X), rtol=1e-5)


# -- the C export -----------------------------------------------------------

@needs_cc
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_c_classifier_matches_python(digits, activation, tmp_path):
    X_train, X_test, y_train, _ = digits
    hidden = (32, 16, 16) if activation == "allrelu" else (32, 16)
    model = make_pipeline(StandardScaler(), _classifier(activation, hidden)).fit(X_train, y_train)
    _, printed = _run_c(model, X_test, tmp_path)
    proba = model.predict_proba(X_test)
    np.testing.assert_array_equal(printed[:, 0], proba.argmax(axis=1))
    np.testing.assert_allclose(printed[:, 1:], proba, atol=1e-5)


@needs_cc
def test_c_digits_target_model(digits, digits_model, tmp_path):
    """float32: every held-out prediction identical; int8: what the int8
    export computes in Python, within 1 point of float32's accuracy."""
    _, X_test, _, y_test = digits
    result, printed = _run_c(digits_model, X_test, tmp_path, name="digits")
    proba = digits_model.predict_proba(X_test)
    np.testing.assert_array_equal(printed[:, 0], proba.argmax(axis=1))
    np.testing.assert_allclose(printed[:, 1:], proba, atol=1e-5)
    result8, printed8 = _run_c(digits_model, X_test, tmp_path, name="digits8", weights="int8")
    quantized = dequantized(compact(digits_model)).forward(X_test)
    np.testing.assert_allclose(printed8[:, 1:], quantized, atol=1e-5)
    accuracy = np.mean(digits_model.classes_[printed[:, 0].astype(int)] == y_test)
    accuracy8 = np.mean(digits_model.classes_[printed8[:, 0].astype(int)] == y_test)
    assert accuracy8 >= accuracy - 0.01
    assert result8.flash_bytes < 0.6 * result.flash_bytes


@needs_cc
@pytest.mark.parametrize("scalers", [[StandardScaler()], [MinMaxScaler()], [MaxAbsScaler()],
                                     [MinMaxScaler((-1, 1)), StandardScaler(with_mean=False)],
                                     []], ids=["standard", "minmax", "maxabs", "chain", "none"])
def test_c_pipeline_scalers_are_folded(digits, scalers, tmp_path):
    X_train, X_test, y_train, _ = digits
    model = make_pipeline(*scalers, _classifier("tanh")).fit(X_train, y_train)
    _, printed = _run_c(model, X_test, tmp_path)
    proba = model.predict_proba(X_test)
    np.testing.assert_array_equal(printed[:, 0], proba.argmax(axis=1))
    np.testing.assert_allclose(printed[:, 1:], proba, atol=1e-5)


@needs_cc
@pytest.mark.parametrize("n_targets", [1, 3])
def test_c_regressor_matches_python(n_targets, tmp_path):
    X, y = make_regression(n_samples=300, n_features=10, n_targets=n_targets, noise=1.0,
                           random_state=0)
    y = y * 20 - 500
    model = make_pipeline(StandardScaler(), SETRegressor(
        hidden_layer_sizes=(32, 32), activation="logistic", sparsity=0.7, **FAST)).fit(X, y)
    result, printed = _run_c(model, X[:100], tmp_path, name="reg")
    assert f"#define REG_N_OUTPUTS {n_targets}" in result.header.read_text()
    expected = model.predict(X[:100]).reshape(100, n_targets)
    np.testing.assert_allclose(printed, expected, rtol=1e-5, atol=1e-5 * np.abs(y).max())


@needs_cc
def test_c_binary_and_accset(digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    model = make_pipeline(StandardScaler(), AccSETClassifier(
        hidden_layer_sizes=(32,), **FAST)).fit(X_train, y_train % 2 == 0)
    _, printed = _run_c(model, X_test, tmp_path)
    proba = model.predict_proba(X_test)
    assert printed.shape[1] == 3
    np.testing.assert_array_equal(printed[:, 0], proba.argmax(axis=1))
    np.testing.assert_allclose(printed[:, 1:], proba, atol=1e-5)


@needs_cc
def test_c_multilabel(tmp_path):
    X, Y = make_multilabel_classification(n_samples=300, n_features=12, n_classes=4,
                                          random_state=0)
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(32,), sparsity=0.6, **FAST)).fit(X, Y)
    result, printed = _run_c(model, X, tmp_path, name="tags")
    assert "#define TAGS_MULTILABEL 1" in result.header.read_text()
    np.testing.assert_array_equal(printed[:, :4], model.predict(X))
    np.testing.assert_allclose(printed[:, 4:], model.predict_proba(X), atol=1e-5)


@needs_cc
def test_c_network_without_connections_is_constant(digits, tmp_path):
    """Every weight 0: all hidden units fold away, the outputs are the
    biases, and the (degenerate) source still compiles without warnings."""
    X_train, X_test, y_train, _ = digits
    clf = _classifier("logistic").fit(X_train / 16, y_train)
    for layer in clf._network.layers:
        layer.values[:] = 0
    assert compact(clf).layer_sizes == (64, 0, 0, 10)
    result, printed = _run_c(clf, X_test[:20] / 16, tmp_path)
    np.testing.assert_allclose(printed[:, 1:], clf.predict_proba(X_test[:20] / 16), atol=1e-6)
    assert result.n_parameters == 10


@needs_cc
def test_c_sizes_match_the_object_file(digits, tmp_path):
    """flash_bytes and ram_bytes are the sizes of the const arrays and of the
    buffers in the compiled object (read with nm), index types the smallest."""
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm on this system")
    X_train, _, y_train, _ = digits
    model = make_pipeline(StandardScaler(), _classifier("relu", (300, 32), sparsity=0.5)).fit(
        X_train, y_train)
    for weights in ("float32", "int8"):
        result = export_c(model, tmp_path, name=f"m_{weights}", weights=weights)
        source = result.source.read_text()
        assert "static const uint8_t m_%s_l0_i" % weights in source  # 64 inputs
        assert "static const uint16_t m_%s_l1_i" % weights in source  # 300 inputs
        assert "static const uint16_t m_%s_l0_p" % weights in source  # > 255 weights
        assert "malloc" not in source and "#include <stdlib.h>" not in source
        obj = tmp_path / f"m_{weights}.o"
        subprocess.run([CC, *CFLAGS, "-c", "-o", str(obj), str(result.source)], check=True)
        symbols = subprocess.run([nm, "-S", str(obj)], capture_output=True, text=True,
                                 check=True).stdout.split()
        sizes = {}
        for i in range(len(symbols) - 3):
            if symbols[i + 3].startswith(f"m_{weights}_"):
                sizes[symbols[i + 3]] = (symbols[i + 2].lower(), int(symbols[i + 1], 16))
        assert result.flash_bytes == sum(n for kind, n in sizes.values() if kind == "r")
        assert result.ram_bytes == sum(n for kind, n in sizes.values() if kind == "b")


def test_export_c_header_and_int8_scheme(digits, tmp_path):
    X_train, _, y_train, _ = digits
    model = _classifier("relu").fit(X_train / 16, y_train)
    result = export_c(model, tmp_path / "new", name="Digits_v2", weights="int8")
    header = result.header.read_text()
    assert "#define DIGITS_V2_N_FEATURES 64" in header
    assert "#define DIGITS_V2_N_CLASSES 10" in header
    assert "int Digits_v2_predict(const float *x);" in header
    assert "void Digits_v2_predict_proba(const float *x, float *proba);" in header
    source = result.source.read_text()
    assert "static const int8_t Digits_v2_l0_w" in source
    assert "Digits_v2_l0_a" not in source
    pipeline = make_pipeline(StandardScaler(), _classifier("relu")).fit(X_train, y_train)
    assert "static const float m_l0_a[64]" in export_c(
        pipeline, tmp_path, name="m", weights="int8").source.read_text()
    for fitted in (model, pipeline):
        network = dequantized(compact(fitted))
        assert network.n_parameters <= compact(fitted).n_parameters
        factors = network.input_scale
        for layer, w in enumerate(network.coefs):
            if layer == 0 and factors is not None:  # quantised on the scaled features
                w = sp.csc_matrix(sp.diags(1 / factors) @ w)
            # every weight is its unit's scale times an int8 level
            scale = np.abs(w).max(axis=0).toarray().ravel() / 127
            levels = w.data / np.repeat(scale, np.diff(w.indptr))
            np.testing.assert_allclose(levels, np.rint(levels), atol=1e-3)
            assert np.abs(levels).max() <= 127.001
    assert result.n_parameters == dequantized(compact(model)).n_parameters


@pytest.mark.parametrize("name", ["1model", "my-model", "int", "", "a b", None])
def test_export_c_rejects_bad_names(digits, name, tmp_path):
    X_train, _, y_train, _ = digits
    model = _classifier("relu").fit(X_train[:100], y_train[:100])
    with pytest.raises(ValueError, match="C identifier"):
        export_c(model, tmp_path, name=name)


def test_export_c_errors(digits, tmp_path):
    X_train, _, y_train, _ = digits
    model = _classifier("relu").fit(X_train[:200], y_train[:200])
    with pytest.raises(ValueError, match=r"weights must be one of \['float32', 'int8'\]"):
        export_c(model, tmp_path, weights="float16")
    for other in (LogisticRegression(max_iter=50).fit(X_train[:200], y_train[:200]),
                  MLPClassifier(max_iter=5).fit(X_train[:200], y_train[:200])):
        with pytest.raises(TypeError, match="SETClassifier, AccSETClassifier or SETRegressor"):
            export_c(other, tmp_path)
    with pytest.raises(TypeError, match="PCA is not supported.*StandardScaler"):
        export_c(make_pipeline(PCA(4), _classifier("relu")).fit(X_train[:200], y_train[:200]),
                 tmp_path)
    with pytest.raises(ValueError, match="clip=True"):
        export_c(make_pipeline(MinMaxScaler(clip=True), _classifier("relu")).fit(
            X_train[:200], y_train[:200]), tmp_path)
    with pytest.raises(NotFittedError):
        export_c(_classifier("relu"), tmp_path)
    assert not any(tmp_path.iterdir())


# -- to_mlp -----------------------------------------------------------------

def test_to_mlp_digits_agrees_within_1e6(digits, digits_model):
    _, X_test, _, _ = digits
    mlp = to_mlp(digits_model)
    assert isinstance(mlp, MLPClassifier)
    np.testing.assert_allclose(mlp.predict_proba(X_test), digits_model.predict_proba(X_test),
                               atol=1e-6)
    np.testing.assert_array_equal(mlp.predict(X_test), digits_model.predict(X_test))
    np.testing.assert_array_equal(mlp.classes_, digits_model.classes_)
    assert mlp.hidden_layer_sizes == compact(digits_model).layer_sizes[1:-1]


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_to_mlp_classifiers(digits, activation):
    X_train, X_test, y_train, _ = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])[y_train]
    clf = _classifier(activation).fit(X_train / 16, labels)
    mlp = to_mlp(clf)
    np.testing.assert_allclose(mlp.predict_proba(X_test / 16), clf.predict_proba(X_test / 16),
                               atol=1e-5)
    np.testing.assert_array_equal(mlp.predict(X_test / 16), clf.predict(X_test / 16))
    binary = _classifier(activation).fit(X_train / 16, y_train >= 5)
    mlp = to_mlp(binary)
    assert mlp.n_outputs_ == 1 and mlp.out_activation_ == "logistic"
    np.testing.assert_allclose(mlp.predict_proba(X_test / 16),
                               binary.predict_proba(X_test / 16), atol=1e-5)
    np.testing.assert_array_equal(mlp.predict(X_test / 16), binary.predict(X_test / 16))


def test_to_mlp_multilabel_and_regressor():
    X, Y = make_multilabel_classification(n_samples=200, n_features=12, n_classes=3,
                                          random_state=0)
    clf = SETClassifier(hidden_layer_sizes=(16,), sparsity=0.5, activation="relu",
                        **FAST).fit(X, Y)
    mlp = to_mlp(clf)
    np.testing.assert_array_equal(mlp.predict(X), clf.predict(X))
    np.testing.assert_allclose(mlp.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    X, y = make_regression(n_samples=200, n_features=6, noise=1.0, random_state=0)
    reg = make_pipeline(MaxAbsScaler(), SETRegressor(hidden_layer_sizes=(16, 8), sparsity=0.5,
                                                     **FAST)).fit(X, y * 10 + 300)
    mlp = to_mlp(reg)
    assert isinstance(mlp, MLPRegressor)
    np.testing.assert_allclose(mlp.predict(X), reg.predict(X), rtol=1e-5)
    assert mlp.score(X, y * 10 + 300) == pytest.approx(reg.score(X, y * 10 + 300), abs=1e-6)


@pytest.mark.parametrize("activation", ["allrelu", "leaky_relu"])
def test_to_mlp_refuses_activations_sklearn_lacks(digits, activation):
    X_train, _, y_train, _ = digits
    clf = _classifier(activation).fit(X_train[:200] / 16, y_train[:200])
    with pytest.raises(ValueError, match="to_mlp supports identity, logistic, tanh, relu"):
        to_mlp(clf)


def test_to_mlp_keeps_feature_names(digits):
    pd = pytest.importorskip("pandas")
    X_train, X_test, y_train, _ = digits
    columns = [f"pixel{i}" for i in range(64)]
    model = make_pipeline(MinMaxScaler(), _classifier("relu")).fit(
        pd.DataFrame(X_train, columns=columns), y_train)
    mlp = to_mlp(model)
    np.testing.assert_array_equal(mlp.feature_names_in_, columns)
    frame = pd.DataFrame(X_test, columns=columns)
    np.testing.assert_array_equal(mlp.predict(frame), model.predict(frame))
