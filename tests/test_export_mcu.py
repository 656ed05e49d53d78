"""The int8 C export on the chips it is for: Cortex-M0/M0+ (qemu -M
microbit), Cortex-M4F (qemu -M mps2-an386) and the ATmega328P (avr-gcc,
simavr). Each test skips, naming the missing tool and its Debian package,
where the cross tools are not installed (.ci/run installs them)."""

import subprocess
import warnings

import numpy as np
import pytest
from _mcu import (
    ARM_TOOLS,
    AVR_TOOLS,
    SOFT_FLOAT,
    avr_program,
    build_avr,
    build_cortex_m,
    cortex_m_program,
    missing,
    parse,
    run_avr,
    run_cortex_m,
    size,
    symbols,
)
from _sensor_data import sensor_data
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, export_c, quantize


def _needs(tools):
    absent = missing(tools)
    return pytest.mark.skipif(bool(absent), reason="not installed: " + ", ".join(absent))


needs_arm = _needs(ARM_TOOLS)
needs_avr = _needs(AVR_TOOLS)
needs_simavr = _needs(("simavr",))


def _fit(X, y, hidden, sparsity):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(StandardScaler(), SETClassifier(
            hidden_layer_sizes=hidden, sparsity=sparsity, random_state=0)).fit(X, y)


class Deployed:
    """A model, its int8 network, the export and the held-out rows."""

    def __init__(self, name, data, hidden, sparsity, directory):
        X_train, X_test, y_train, y_test = data
        self.name, self.X_test, self.y_test = name, X_test, y_test
        self.model = _fit(X_train, y_train, hidden, sparsity)
        self.network = quantize(self.model, X_train)
        self.directory = directory
        self.export = export_c(self.network, directory, name=name, weights="int8")
        self.X_q = self.network.quantize_input(X_test)
        self.expected = self.network.predict_q(self.X_q)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """Digits 64-64 at 0.9 and the raw sensor readings, exported once."""
    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    X, y, _ = sensor_data()
    sensor = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    return {"digits": Deployed("digits", digits, (64, 64), 0.9,
                               tmp_path_factory.mktemp("digits")),
            "sensor": Deployed("sensor", sensor, (64, 64), 0.8,
                               tmp_path_factory.mktemp("sensor"))}


@needs_arm
@pytest.mark.parametrize("target", ["cortex-m0", "cortex-m4f"])
@pytest.mark.parametrize("dataset", ["digits", "sensor"])
def test_int8_predict_on_cortex_m_equals_python(deployed, dataset, target):
    """NAME_predict on the raw float rows (the input quantised on the chip,
    in software float on the M0): every held-out row's class is the Python
    simulation's, and the sensor model is within 1 point of the float one."""
    d = deployed[dataset]
    main = d.directory / f"main_{target}.c"
    main.write_text(cortex_m_program(d.name, d.X_test.astype(np.float32)))
    elf = build_cortex_m(target, [d.export.source, main], d.directory / f"{target}.elf")
    predicted, stack = parse(run_cortex_m(target, elf))
    np.testing.assert_array_equal(predicted, d.expected)
    assert 0 < stack < 512
    accuracy = np.mean(d.model.classes_[predicted] == d.y_test)
    assert accuracy >= d.model.score(d.X_test, d.y_test) - 0.01


@needs_arm
def test_predict_q_on_cortex_m0plus_links_no_soft_float(deployed):
    """A build that calls only NAME_predict_q (int8 rows from the Python
    quantisation) links no soft-float helper of libgcc, and returns the
    classes of the Python simulation on every row; the float build of the
    same program does link them (the check can fail)."""
    d = deployed["sensor"]
    main = d.directory / "main_q.c"
    main.write_text(cortex_m_program(d.name, d.X_q, quantized=True))
    elf = build_cortex_m("cortex-m0plus", [d.export.source, main], d.directory / "q.elf")
    assert [s for s in symbols(elf) if SOFT_FLOAT.match(s)] == []
    predicted, _ = parse(run_cortex_m("cortex-m0plus", elf))
    np.testing.assert_array_equal(predicted, d.expected)
    main.write_text(cortex_m_program(d.name, d.X_test.astype(np.float32)))
    elf = build_cortex_m("cortex-m0plus", [d.export.source, main], d.directory / "f.elf")
    assert {"__aeabi_fmul", "__aeabi_fsub", "__aeabi_f2iz"} <= set(symbols(elf))


@needs_avr
def test_avr_build_fits_an_atmega328p(deployed):
    """Digits 64-64 at 0.9, int8, NAME_predict with the tables in program
    memory: links for an ATmega328P within 32 KB of flash and 2 KB of RAM
    (the program holds 40 test rows too). Without the placement macro the
    tables are copied to RAM, and do not fit."""
    d = deployed["digits"]
    main = d.directory / "main_avr.c"
    main.write_text(avr_program(d.name, d.X_test[:40]))
    elf = build_avr([d.export.source, main], d.directory / "avr.elf",
                    defines=["-DDIGITS_PROGMEM"])
    text, data, bss = size(elf, "avr-size")
    assert text + data <= 32 * 1024 and data + bss <= 2048 - 256  # 256 B left for the stack
    with pytest.raises(RuntimeError, match="section `.data' is not within region `data'"):
        build_avr([d.export.source, main], d.directory / "avr_ram.elf")


@needs_avr
@needs_simavr
@pytest.mark.parametrize("placement", [["-DDIGITS_PROGMEM"], ["-DDIGITS_CONST=const __flash"]],
                         ids=["PROGMEM", "__flash"])
def test_avr_reads_the_tables_from_flash(deployed, placement):
    """In simavr, the ATmega328P build with its tables in flash (avr-libc's
    PROGMEM through NAME_PROGMEM, or avr-gcc's __flash) predicts what
    Python does on every row; PROGMEM tables read as if in RAM do not (they
    give other classes, or indices that never end a loop)."""
    d = deployed["digits"]
    main = d.directory / "main_sim.c"
    main.write_text(avr_program(d.name, d.X_test[:60]))
    elf = build_avr([d.export.source, main], d.directory / "sim.elf", defines=placement)
    predicted = np.array(run_avr(elf).split(), dtype=np.int64)
    np.testing.assert_array_equal(predicted, d.expected[:60])
    if placement == ["-DDIGITS_PROGMEM"]:
        wrong = build_avr([d.export.source, main], d.directory / "wrong.elf",
                          defines=["-DDIGITS_CONST=const __attribute__((progmem))",
                                   "-DDIGITS_POINTEE=const"])
        try:
            predicted = np.array(run_avr(wrong, timeout=5).split(), dtype=np.int64)
        except subprocess.TimeoutExpired:
            predicted = None
        assert not np.array_equal(predicted, d.expected[:60])
