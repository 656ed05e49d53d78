"""Deployment: compaction, the C99 export (compiled and run on held-out rows)
and the conversion to scikit-learn's dense MLPs."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from _c_programs import host_driver_source
from _sensor_data import sensor_data
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
from sklearn_set._engine.activations import ACTIVATIONS, FUNCTIONS
from sklearn_set._export.c_api import model_kind
from sklearn_set._export.compact import prune
from sklearn_set._export.quantize import QuantizedNetwork, quantize

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
def sensor():
    """tests/_sensor_data.py's raw sensor readings, split 75/25."""
    X, y, _ = sensor_data(n_samples=1200)
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


def compile_c(directory, name, sources):
    """Compile and link with the strict flags; the program's path."""
    program = directory / name
    compiled = subprocess.run([CC, *CFLAGS, "-o", str(program), *map(str, sources), "-lm"],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    return program


def _run_program(program, X):
    rows = "\n".join(" ".join(repr(float(v)) for v in row) for row in np.asarray(X))
    return subprocess.run([str(program)], input=rows, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def _run_c(model, X, directory, *, name="model", weights="float32", calibration=None):
    """Export, compile with the strict flags, run on the rows of X; returns
    the export result and the printed numbers, one row per sample (int8:
    and the lines of int8 inputs and predict_q results)."""
    result = export_c(model, directory, name=name, weights=weights, X=calibration)
    kind = model_kind(model.network if isinstance(model, QuantizedNetwork) else compact(model))
    driver = directory / f"{name}_main.c"
    driver.write_text(host_driver_source(kind, name, int8=weights == "int8"))
    lines = _run_program(compile_c(directory, name, [result.source, driver]), X)
    if weights == "int8":
        lines, quantized = lines[0::2], lines[1::2]
    printed = [[float(v) for v in line.split()] for line in lines]
    if len({len(line) for line in printed}) == 1:
        printed = np.array(printed)
    assert len(printed) == len(X)
    if weights == "int8":
        return result, printed, quantized
    return result, printed


def _parse_quantized(lines):
    """The int8 inputs and the predict_q results printed by the host program."""
    xq = np.array([[int(v) for v in line[1:].split(":")[0].split()] for line in lines])
    out = np.array([[int(v) for v in line.split(":")[1].split()] for line in lines])
    return xq.astype(np.int8), out


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


@pytest.mark.parametrize("code", FUNCTIONS)
def test_prune_folds_constants_and_drops_useless_units(code):
    network = _toy_network(code, -0.6)  # the slope is read by the leaky ReLU only
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
    """float32: every held-out prediction identical; int8: bit for bit what
    quantize() computes, within 1 point of float32's accuracy, smaller."""
    X_train, X_test, _, y_test = digits
    result, printed = _run_c(digits_model, X_test, tmp_path, name="digits")
    proba = digits_model.predict_proba(X_test)
    np.testing.assert_array_equal(printed[:, 0], proba.argmax(axis=1))
    np.testing.assert_allclose(printed[:, 1:], proba, atol=1e-5)
    network = quantize(digits_model, X_train)
    result8, printed8, lines = _run_c(digits_model, X_test, tmp_path, name="digits8",
                                      weights="int8", calibration=X_train)
    xq, predicted_q = _parse_quantized(lines)
    np.testing.assert_array_equal(xq, network.quantize_input(X_test))
    np.testing.assert_array_equal(predicted_q[:, 0], network.predict_q(xq))
    np.testing.assert_array_equal(printed8[:, 0], predicted_q[:, 0])
    np.testing.assert_allclose(printed8[:, 1:], network.predict_proba(X_test), atol=1e-6)
    accuracy = np.mean(digits_model.classes_[printed[:, 0].astype(int)] == y_test)
    accuracy8 = np.mean(digits_model.classes_[printed8[:, 0].astype(int)] == y_test)
    assert accuracy8 == network.score(X_test, y_test)
    assert accuracy8 >= accuracy - 0.01
    assert result8.flash_bytes < 0.6 * result.flash_bytes


@needs_cc
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_c_int8_on_raw_sensor_features_is_exact(sensor, activation, tmp_path):
    """Raw features with offsets up to 1e5 and scales from 0.1 to 1000: the
    int8 C model gives bit for bit what quantize() gives (int8 inputs,
    classes, probabilities), within 1 point of the float model, for every
    hidden activation."""
    X_train, X_test, y_train, y_test = sensor
    hidden = (32, 16, 16) if activation == "allrelu" else (32, 16)
    model = make_pipeline(StandardScaler(), _classifier(
        activation, hidden, max_iter=30, sparsity=0.5)).fit(X_train, y_train)
    network = quantize(model, X_train)
    _, printed, lines = _run_c(network, X_test, tmp_path, name="sensor", weights="int8")
    xq, predicted_q = _parse_quantized(lines)
    np.testing.assert_array_equal(xq, network.quantize_input(X_test))
    np.testing.assert_array_equal(predicted_q[:, 0], network.predict_q(xq))
    np.testing.assert_array_equal(printed[:, 0], predicted_q[:, 0])
    np.testing.assert_allclose(printed[:, 1:], network.predict_proba(X_test), atol=1e-6)
    accuracy = np.mean(printed[:, 0] == y_test)
    assert accuracy == network.score(X_test, y_test)
    assert accuracy >= model.score(X_test, y_test) - 0.01


@needs_cc
@pytest.mark.parametrize("activation", ["allrelu", "relu"])
def test_c_int8_saturated_inputs_are_exact(activation, tmp_path):
    """Raw features far outside the calibration range saturate every int8
    input at -128 or 127, driving the accumulators to the extremes that the
    export's range proofs (no clamp on the int32 outputs, the high word of
    the product plus a constant) rely on: the int32 outputs of the C
    regressor are still bit for bit quantize()'s."""
    X, y = make_regression(n_samples=300, n_features=8, n_targets=2, noise=1.0, random_state=0)
    model = make_pipeline(StandardScaler(), SETRegressor(
        hidden_layer_sizes=(32, 16), activation=activation, sparsity=0.5, **FAST)).fit(X, y)
    network = quantize(model, X)
    signs = np.random.default_rng(0).choice([-1.0, 1.0], size=(200, X.shape[1]))
    extreme = np.vstack([signs * 1e6, np.full((1, X.shape[1]), 1e6),
                         np.full((1, X.shape[1]), -1e6)])
    _, _, lines = _run_c(network, extreme, tmp_path, name="reg", weights="int8")
    xq, yq = _parse_quantized(lines)
    assert set(np.unique(xq)) == {-128, 127}
    np.testing.assert_array_equal(yq, network.predict_q(xq))
    assert np.abs(yq).max() > np.abs(network.predict_q(network.quantize_input(X))).max()


@needs_cc
def test_c_mul_high_is_the_high_word_of_the_64_bit_product(tmp_path):
    """NAME_mul_high, the requantisation's multiply, is floor(a b / 2^32)
    for int32 extremes and random pairs: the 64-bit version, and the
    16-bit-halves one that ARMv6-M (Cortex-M0/M0+) compiles, forced here
    on the host."""
    from sklearn_set._export.c_int8 import _mul_high

    edges = [-2 ** 31, -2 ** 31 + 1, -65537, -65536, -32769, -32768, -1, 0, 1, 32767, 32768,
             65535, 65536, 2 ** 31 - 1]
    rng = np.random.default_rng(0)
    pairs = [(a, b) for a in edges for b in edges]
    pairs += [tuple(map(int, pair)) for pair in rng.integers(-2 ** 31, 2 ** 31, (3000, 2))]
    expected = [(a * b) >> 32 for a, b in pairs]
    source = tmp_path / "mul.c"
    source.write_text("#include <stdint.h>\n#include <stdio.h>\n" + _mul_high("t") + """
int main(void)
{
    long long a, b;
    while (scanf("%lld %lld", &a, &b) == 2)
        printf("%ld\\n", (long)t_mul_high((int32_t)a, (int32_t)b));
    return 0;
}
""")
    rows = "\n".join(f"{a} {b}" for a, b in pairs)
    for flags in ([], ["-D__ARM_ARCH_6M__"]):
        program = tmp_path / f"mul{len(flags)}"
        compiled = subprocess.run([CC, *CFLAGS, *flags, "-o", str(program), str(source)],
                                  capture_output=True, text=True)
        assert compiled.returncode == 0, compiled.stderr
        printed = subprocess.run([str(program)], input=rows, capture_output=True, text=True,
                                 check=True).stdout.split()
        assert [int(v) for v in printed] == expected


@needs_cc
def test_c_int8_multilabel_and_regressor_are_exact(tmp_path):
    X, Y = make_multilabel_classification(n_samples=300, n_features=12, n_classes=4,
                                          random_state=0)
    X = X * 50 + 1e4  # offsets far from the spread
    model = make_pipeline(StandardScaler(), SETClassifier(
        hidden_layer_sizes=(32,), sparsity=0.6, **FAST)).fit(X, Y)
    network = quantize(model, X)
    _, printed, lines = _run_c(network, X, tmp_path, name="tags", weights="int8")
    xq, labels_q = _parse_quantized(lines)
    np.testing.assert_array_equal(labels_q, network.predict_q(xq))
    np.testing.assert_array_equal(printed[:, :4], network.predict(X))
    np.testing.assert_allclose(printed[:, 4:], network.predict_proba(X), atol=1e-6)
    assert (network.predict(X) == model.predict(X)).mean() > 0.95
    X, y = make_regression(n_samples=300, n_features=8, n_targets=2, noise=1.0, random_state=0)
    y = y * 20 - 500
    model = make_pipeline(MinMaxScaler(), SETRegressor(
        hidden_layer_sizes=(32, 16), activation="relu", sparsity=0.5, **FAST)).fit(X, y)
    network = quantize(model, X)
    _, printed, lines = _run_c(network, X[:100], tmp_path, name="reg", weights="int8")
    xq, yq = _parse_quantized(lines)
    np.testing.assert_array_equal(yq, network.predict_q(xq))
    np.testing.assert_array_equal(printed.astype(np.float32), network.predict(X[:100]))
    assert abs(network.score(X, y) - model.score(X, y)) < 0.02


@needs_cc
@pytest.mark.parametrize("weights", ["float32", "int8"])
@pytest.mark.parametrize("kind", ["classifier", "multilabel", "regressor"])
def test_c_non_finite_input_returns_the_error_value(digits, kind, weights, tmp_path):
    """A row with NaN or an infinity gets NAME_ERROR (-1), documented in the
    header, from every function taking x; finite rows still predict."""
    X_train, X_test, y_train, _ = digits
    targets = {"classifier": y_train, "multilabel": np.eye(10, dtype=int)[y_train][:, :3],
               "regressor": y_train.astype(float)}
    estimator = SETRegressor if kind == "regressor" else SETClassifier
    model = make_pipeline(StandardScaler(), estimator(
        hidden_layer_sizes=(16,), sparsity=0.5, **FAST)).fit(X_train, targets[kind])
    bad = np.repeat(X_test[:1], 4, axis=0)
    bad[0, 5], bad[1, :] = np.nan, np.nan
    bad[2, 7], bad[3, 0] = np.inf, -np.inf
    rows = np.vstack([bad, X_test[:3]])
    result, printed = _run_c(model, rows, tmp_path, weights=weights, calibration=X_train)[:2]
    assert "#define MODEL_ERROR (-1)" in result.header.read_text()
    assert [line[0] for line in printed[:4]] == [-1] * 4
    assert all(len(line) == 1 for line in printed[:4])
    assert all(len(line) > 1 or line[0] >= 0 for line in printed[4:])


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
        result = export_c(model, tmp_path, name=f"m_{weights}", weights=weights, X=X_train)
        source = result.source.read_text()
        macro = f"M_{weights.upper()}_CONST"
        assert f"static {macro} uint8_t m_{weights}_l0_i" in source  # 64 inputs
        assert f"static {macro} uint16_t m_{weights}_l1_i" in source  # 300 inputs
        if weights == "float32":
            assert f"static {macro} uint16_t m_{weights}_l0_p" in source  # > 255 weights
        else:  # weights per unit: at most 64
            assert f"static {macro} uint8_t m_{weights}_l0_n" in source
        assert "malloc" not in source and "#include <stdlib.h>" not in source
        obj = tmp_path / f"m_{weights}.o"
        subprocess.run([CC, *CFLAGS, "-c", "-o", str(obj), str(result.source)], check=True)
        symbols = subprocess.run([nm, "-S", str(obj)], capture_output=True, text=True,
                                 check=True).stdout.split()
        sizes = {}
        for i in range(len(symbols) - 3):
            if (symbols[i + 3].startswith(f"m_{weights}_")
                    and symbols[i + 3] != f"m_{weights}_classes"):
                sizes[symbols[i + 3]] = (symbols[i + 2].lower(), int(symbols[i + 1], 16))
        assert result.flash_bytes == sum(n for kind, n in sizes.values() if kind == "r")
        assert result.ram_bytes == sum(n for kind, n in sizes.values() if kind == "b")


def test_export_c_header_and_int8_scheme(digits, tmp_path):
    X_train, _, y_train, _ = digits
    model = _classifier("relu").fit(X_train / 16, y_train)
    result = export_c(model, tmp_path / "new", name="Digits_v2", weights="int8",
                      X=X_train / 16)
    header = result.header.read_text()
    for line in ("#define DIGITS_V2_N_FEATURES 64", "#define DIGITS_V2_N_CLASSES 10",
                 "#define DIGITS_V2_INT8 1", "int Digits_v2_predict(const float *x);",
                 "int Digits_v2_predict_q(const int8_t *xq);",
                 "int Digits_v2_quantize_input(const float *x, int8_t *xq);",
                 "int Digits_v2_predict_proba(const float *x, float *proba);",
                 "extern const char *const Digits_v2_classes[DIGITS_V2_N_CLASSES];"):
        assert line in header
    source = result.source.read_text()
    assert "static DIGITS_V2_CONST int8_t Digits_v2_l0_w" in source
    # nothing after the input is float: the integer forward pass has no float
    forward = source[source.index("*Digits_v2_forward_q("):source.index(
        "int Digits_v2_quantize_input")]
    assert "float" not in forward and "F32" not in forward
    network = quantize(model, X_train / 16)
    assert result.n_parameters == network.n_parameters
    assert network.n_parameters <= compact(model).n_parameters
    for layer, w in zip(network.layers, compact(model).coefs):
        assert layer.weights.dtype == np.int8 and np.abs(layer.weights).max() == 127
        counts = np.diff(layer.indptr)
        assert (counts >= 1).all() and layer.shape == w.shape
        assert (layer.weights != 0).sum() >= layer.weights.size - (counts == 1).sum()
        assert np.abs(layer.multiplier).max() >= 2 ** 30
        assert (np.abs(layer.multiplier) < 2 ** 31).all() and 1 <= layer.shift <= 62


def test_fixed_point_requantisation_rounds_half_up():
    from sklearn_set._export.quantize import fixed_point, requantize

    rng = np.random.default_rng(0)
    real = np.exp(rng.uniform(np.log(1e-3), np.log(1e2), 500))
    m, shift = fixed_point(real)
    assert 2 ** 30 <= m.max() < 2 ** 31
    # a multiplier 2**k times below the largest keeps about 31 - k bits
    assert (np.abs(m / 2.0 ** shift - real) <= 2.0 ** -shift).all()
    acc = rng.integers(-2 ** 30, 2 ** 30, 500)
    exact = acc * (m / 2.0 ** shift)
    np.testing.assert_array_equal(requantize(acc, m, shift), np.floor(exact + 0.5))
    np.testing.assert_array_equal(requantize([3, -3, 1, -1], 2 ** 30, 31), [2, -1, 1, 0])
    m, shift = fixed_point([-0.6])
    assert m[0] == -round(0.6 * 2 ** 31) and shift == 31
    with pytest.raises(ValueError, match="fixed point"):
        fixed_point([2.0 ** 31])


def test_quantize_checks_its_data(digits):
    X_train, X_test, y_train, y_test = digits
    model = _classifier("relu").fit(X_train, y_train)
    with pytest.raises(ValueError, match="X has 3 features, but the model expects 64"):
        quantize(model, X_train[:, :3])
    bad = X_train.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        quantize(model, bad)
    network = quantize(model, X_train)
    with pytest.raises(ValueError, match="X has 3 features, but the network expects 64"):
        network.predict(X_test[:, :3])
    with pytest.raises(ValueError, match="int8 array"):
        network.predict_q(X_test)
    with pytest.raises(ValueError, match="needs X"):
        export_c(model, "unused", weights="int8")
    with pytest.raises(ValueError, match='weights="int8"'):
        export_c(network, "unused")
    assert network.score(X_test, y_test) == np.mean(network.predict(X_test) == y_test)


@pytest.mark.parametrize("name", ["1model", "my-model", "", "a b", "_model", "x\u00e9"])
def test_export_c_rejects_bad_names(digits, name, tmp_path):
    X_train, _, y_train, _ = digits
    model = _classifier("relu").fit(X_train[:100], y_train[:100])
    with pytest.raises(ValueError, match="C identifier"):
        export_c(model, tmp_path, name=name)


@pytest.mark.parametrize("name, what", [("int", "C keyword"), ("bool", "C keyword"),
                                        ("math", "C standard header"),
                                        ("stdint", "C standard header"),
                                        ("main", "C library"), ("printf", "C library")])
def test_export_c_rejects_names_that_collide(digits, name, what, tmp_path):
    X_train, _, y_train, _ = digits
    model = _classifier("relu").fit(X_train[:100], y_train[:100])
    with pytest.raises(ValueError, match=f"collides with a {what}"):
        export_c(model, tmp_path, name=name)
    assert not any(tmp_path.iterdir())


def test_export_c_refuses_non_finite_constants(digits, tmp_path):
    """A weight beyond float32's range (or a NaN scaler) cannot become a C
    constant: a clear error, and no file written."""
    X_train, _, y_train, _ = digits
    clf = _classifier("relu").fit(X_train[:200], y_train[:200])
    clf._network.layers[0].values[0] = np.float32(3e38)
    model = make_pipeline(StandardScaler(with_mean=False), clf)
    model[0].fit(X_train[:200])
    model[0].scale_ = model[0].scale_ / 1e3  # the folded weight leaves float32's range
    with pytest.raises(ValueError, match="NaN or infinite values"):
        export_c(model, tmp_path / "out")
    model[0].scale_[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        export_c(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_c_errors(digits, tmp_path):
    X_train, _, y_train, _ = digits
    model = _classifier("relu").fit(X_train[:200], y_train[:200])
    with pytest.raises(ValueError, match=r"The 'weights' parameter of export_c must be a str "
                       r"among \{.*'int8'.*\}. Got 'float16' instead"):
        export_c(model, tmp_path, weights="float16")
    with pytest.raises(TypeError, match=r"The 'directory' parameter of export_c must be an "
                       r"instance of 'str' or an instance of 'os.PathLike'. Got 3 instead"):
        export_c(model, 3)
    for name in (None, b"model"):
        with pytest.raises(TypeError, match="The 'name' parameter of export_c must be an "
                           "instance of 'str'"):
            export_c(model, tmp_path, name=name)
    with pytest.raises(TypeError, match="The 'header_only' parameter of export_c must be an "
                       "instance of 'bool'"):
        export_c(model, tmp_path, header_only="yes")
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


@pytest.mark.parametrize("function", [compact, to_mlp, export_c, quantize])
def test_export_functions_refuse_what_is_not_a_model(function, tmp_path):
    args = {export_c: (tmp_path,), quantize: (np.zeros((2, 4)),)}.get(function, ())
    with pytest.raises(TypeError, match=f"The 'model' parameter of {function.__name__} must "
                       "be an object implementing 'predict'. Got 'model.skops' instead"):
        function("model.skops", *args)
    assert not any(tmp_path.iterdir())


# -- C text that user data cannot turn into code ---------------------------

CRAFTED = Path(__file__).parent / "data" / "crafted" / "c_injection_label.csv"


@needs_cc
def test_c_class_labels_cannot_inject_code(tmp_path):
    """A CSV target holding C code (tests/data/crafted/c_injection_label.csv)
    trains and exports through the command line; a program calling the
    function the label spells does not link, and the labels come back
    unchanged through NAME_classes."""
    from sklearn_set.cli import main

    assert main(["train", "--dataset", str(CRAFTED), "--target", "label", "--hidden", "8",
                 "--epochs", "50", "--save", str(tmp_path / "m.skops")]) == 0
    assert main(["export", str(tmp_path / "m.skops"), "--out", str(tmp_path / "c"),
                 "--name", "crafted"]) == 0
    source = (tmp_path / "c" / "crafted.c").read_text()
    assert "injected" in source  # the label is there, as string data
    caller = tmp_path / "c" / "caller.c"
    caller.write_text('#include "crafted.h"\nint injected(void);\n'
                      "int main(void) { return injected(); }\n")
    linked = subprocess.run([CC, *CFLAGS, "-o", str(tmp_path / "caller"), str(caller),
                             str(tmp_path / "c" / "crafted.c"), "-lm"],
                            capture_output=True, text=True)
    assert linked.returncode != 0
    assert "undefined reference to `injected'" in linked.stderr
    printer = tmp_path / "c" / "printer.c"
    printer.write_text('#include <stdio.h>\n#include "crafted.h"\nint main(void) {\n'
                       "    int c;\n    for (c = 0; c < CRAFTED_N_CLASSES; ++c)\n"
                       '        printf("%s\\n", crafted_classes[c]);\n    return 0;\n}\n')
    program = compile_c(tmp_path, "printer", [printer, tmp_path / "c" / "crafted.c"])
    printed = subprocess.run([str(program)], capture_output=True, check=True).stdout
    labels = sorted({line.rsplit(",", 1)[-1] for line in CRAFTED.read_text(
        encoding="utf-8").splitlines()[1:]})
    assert len(labels) == 3
    expected = sorted(label.strip('"').replace('""', '"').strip() for label in labels)
    assert printed.decode("utf-8").splitlines() == expected


def test_c_string_escapes_everything_but_plain_ascii():
    from sklearn_set._export.ctext import c_string

    assert c_string("plain 1.5") == '"plain 1.5"'
    assert c_string('a"b\\c?\n\u00e9') == '"a\\042b\\134c\\077\\012\\303\\251"'
    assert c_string("*/ x /*") == '"*/ x /*"'  # harmless inside a string literal


@needs_cc
def test_c_header_only(digits, tmp_path):
    """header_only writes NAME.h alone; NAME_IMPLEMENTATION in one file
    defines it, other files include the declarations, and it predicts as
    the two-file export does."""
    X_train, X_test, y_train, _ = digits
    model = make_pipeline(StandardScaler(), _classifier("relu")).fit(X_train, y_train)
    result = export_c(model, tmp_path, name="solo", weights="int8", X=X_train,
                      header_only=True)
    assert result.source is None and [p.name for p in tmp_path.iterdir()] == ["solo.h"]
    implementation = tmp_path / "solo_impl.c"
    implementation.write_text('#define SOLO_IMPLEMENTATION\n#include "solo.h"\n')
    driver = tmp_path / "main.c"
    driver.write_text(host_driver_source("classifier", "solo"))
    lines = _run_program(compile_c(tmp_path, "solo", [implementation, driver]), X_test)
    predicted = np.array([int(line.split()[0]) for line in lines])
    np.testing.assert_array_equal(predicted, quantize(model, X_train).predict_q(
        quantize(model, X_train).quantize_input(X_test)))


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


# The activations MLPClassifier has too, and those to_mlp refuses.
MLP_NAMED = [name for name, row in ACTIVATIONS.items() if row.mlp_name is not None]
MLP_LACKING = [name for name, row in ACTIVATIONS.items() if row.mlp_name is None]


@pytest.mark.parametrize("activation", MLP_NAMED)
def test_to_mlp_classifiers(digits, activation):
    X_train, X_test, y_train, _ = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])[y_train]
    clf = _classifier(activation).fit(X_train / 16, labels)
    mlp = to_mlp(clf)
    assert mlp.activation == ACTIVATIONS[activation].mlp_name
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


@pytest.mark.parametrize("activation", MLP_LACKING)
def test_to_mlp_refuses_activations_sklearn_lacks(digits, activation):
    X_train, _, y_train, _ = digits
    clf = _classifier(activation).fit(X_train[:200] / 16, y_train[:200])
    with pytest.raises(ValueError, match=f"activation='{activation}' has no scikit-learn MLP "
                       "counterpart; to_mlp supports identity, relu, tanh, logistic"):
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
