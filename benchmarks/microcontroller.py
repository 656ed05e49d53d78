"""C exports on microcontrollers: accuracy, flash, RAM, stack and
instructions per inference of SET networks (export_c, float32 and int8)
and of emlearn's dense MLPClassifiers, on emulated Cortex-M0+ (qemu -M
microbit) and Cortex-M4F (qemu -M mps2-an386), and the link size on an
ATmega328P.

Data sets: digits (1797 x 64 pixels 0..16, split 75/25 stratified) and the
synthetic sensor readings of ``tests/_sensor_data.py`` (2000 x 6: pressure in
Pa, temperature in K, humidity, seconds since start, a load cell, a supply
voltage; offsets up to 1e5 and scales from 0.1 to 1000, raw units). Every
model is a ``StandardScaler`` pipeline fitted with random state 0; the C
models take the raw features.

* accuracy: of the Python model (float64), of :func:`sklearn_set.quantize`'s
  int8 simulation, and of the C model run on the emulated Cortex-M0 over
  every held-out row (``NAME_predict`` on the raw float features);
* flash, RAM: text + data and bss of the model's object file
  (``arm-none-eabi-gcc -Os -c``, Cortex-M0+ code; for emlearn its header
  compiled alone), every function included;
* stack: bytes below the caller's stack pointer written during the
  predictions (stack painting, Cortex-M0+ and M4F);
* instructions per inference (programs compiled with ``--optimize``): qemu's
  log of every executed instruction (``-singlestep -d exec,nochain``) between
  two marks around ``--trace-rows`` predictions, divided by their number:
  ``predict`` (float32 and emlearn; int8: the float input quantisation
  included) and int8 ``predict_q`` alone;
* AVR: ``avr-size`` of an ATmega328P program that predicts with the tables
  in program memory (``-DNAME_PROGMEM``; ``predict`` only, no test rows).

    nice python benchmarks/microcontroller.py
    nice python benchmarks/microcontroller.py --datasets sensor --trace-rows 3
    nice python benchmarks/microcontroller.py --optimize=-O2
"""

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from _common import emlearn_dense, footer, header, import_emlearn, table
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_set import SETClassifier, export_c, quantize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import _mcu  # noqa: E402  (the test harness: startup code, qemu, simavr)
from _sensor_data import sensor_data  # noqa: E402

# Optimisation of the programs run on the chips (--optimize).
OPTIMIZE = "-Os"

# data set: SET (hidden sizes, sparsity) and emlearn's dense hidden sizes
MODELS = {
    "digits": ([((64, 64), 0.9), ((256, 256), 0.95)], [(32,)]),
    "sensor": ([((64, 64), 0.8), ((16, 16), 0.5)], [(32,), (16, 16)]),
}


def load(dataset):
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        X, y, _ = sensor_data()
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def object_size(source, target, work, include=(), defines=()):
    """text + data and bss of the object of ``source`` for ``target``."""
    _, flags, _ = _mcu.CORTEX_M[target]
    obj = work / (Path(source).stem + f"_{target}.o")
    _mcu.run_checked(["arm-none-eabi-gcc", *flags, "-Os", "-std=gnu99", "-c",
                      *[f"-I{d}" for d in include], *defines, "-x", "c", str(source),
                      "-o", str(obj)])
    text, data, bss = _mcu.size(obj)
    return text + data, bss


def on_chips(name, sources, rows, work, trace_rows, *, quantized=False, call=None,
             header=None, include=()):
    """Classes of every row on the Cortex-M0, and per target (M0+, M4F) the
    stack and instructions per inference (compiled with ``OPTIMIZE``)."""
    main = work / f"main_{name}_{int(quantized)}.c"
    defines = [f"-I{d}" for d in include]
    strict = not include  # emlearn's code is not written for -pedantic -Werror
    main.write_text(_mcu.cortex_m_program(name, rows, quantized=quantized, call=call,
                                          header=header))
    elf = _mcu.build_cortex_m("cortex-m0", [*sources, main], work / "m0.elf", defines=defines,
                              strict=strict, optimize=OPTIMIZE)
    classes, _ = _mcu.parse(_mcu.run_cortex_m("cortex-m0", elf))
    main.write_text(_mcu.cortex_m_program(name, rows[:trace_rows], quantized=quantized,
                                          call=call, header=header))
    measured = {}
    for target in ("cortex-m0plus", "cortex-m4f"):
        elf = _mcu.build_cortex_m(target, [*sources, main], work / f"{target}.elf",
                                  defines=defines, strict=strict, optimize=OPTIMIZE)
        _, stack = _mcu.parse(_mcu.run_cortex_m(target, elf))
        count = _mcu.count_instructions(target, elf, work / "trace.log")
        measured[target] = (stack, count / trace_rows)
    return classes, measured


def set_rows(dataset, data, work, trace_rows):
    X_train, X_test, y_train, y_test = data
    rows, avr = [], []
    for hidden, sparsity in MODELS[dataset][0]:
        model = make_pipeline(StandardScaler(), SETClassifier(
            hidden_layer_sizes=hidden, sparsity=sparsity, random_state=0)).fit(X_train, y_train)
        network = quantize(model, X_train)
        label = f"SET {'-'.join(map(str, hidden))} @{sparsity}"
        for weights in ("float32", "int8"):
            directory = Path(tempfile.mkdtemp(dir=work))
            result = export_c(network if weights == "int8" else model, directory, name="m",
                              weights=weights)
            flash, ram = object_size(result.source, "cortex-m0plus", directory)
            classes, chips = on_chips("m", [result.source], X_test.astype(np.float32),
                                      directory, trace_rows)
            row = dict(model=label, weights=weights, parameters=result.n_parameters,
                       python=model.score(X_test, y_test),
                       int8=network.score(X_test, y_test) if weights == "int8" else None,
                       chip=np.mean(model.classes_[classes] == y_test), flash=flash, ram=ram,
                       m0_stack=chips["cortex-m0plus"][0], m4_stack=chips["cortex-m4f"][0],
                       m0=chips["cortex-m0plus"][1], m4=chips["cortex-m4f"][1])
            if weights == "int8":
                _, chips_q = on_chips("m", [result.source], network.quantize_input(X_test),
                                      directory, trace_rows, quantized=True)
                row["m0_q"], row["m4_q"] = (chips_q[t][1] for t in ("cortex-m0plus",
                                                                    "cortex-m4f"))
            rows.append(row)
            avr.append(avr_row(label, weights, result, directory))
    return rows, avr


def avr_row(label, weights, result, directory):
    main = directory / "avr_main.c"
    main.write_text('#include "m.h"\nvolatile float x[M_N_FEATURES];\nvolatile int y;\n'
                    "int main(void)\n{\n    y = m_predict((const float *)x);\n"
                    "    return 0;\n}\n")
    try:
        elf = _mcu.build_avr([result.source, main], directory / "avr.elf",
                             defines=["-DM_PROGMEM"])
    except RuntimeError as exc:
        region = "RAM" if "region `data'" in str(exc) else "flash"
        return dict(model=label, weights=weights, flash=f"does not fit ({region})", ram="")
    text, data, bss = _mcu.size(elf, "avr-size")
    return dict(model=label, weights=weights, flash=text + data, ram=data + bss)


def dense_rows(dataset, data, work, trace_rows):
    emlearn = import_emlearn()
    X_train, X_test, y_train, y_test = data
    rows = []
    for hidden in MODELS[dataset][1]:
        scaler = StandardScaler().fit(X_train)
        mlp = MLPClassifier(hidden_layer_sizes=hidden, max_iter=500, random_state=0).fit(
            scaler.transform(X_train), y_train)
        python = mlp.score(scaler.transform(X_test), y_test)
        directory = Path(tempfile.mkdtemp(dir=work))
        source = emlearn_dense(scaler, mlp, directory)
        flash, ram = object_size(source, "cortex-m0plus", directory,
                                 include=[emlearn.includedir])
        classes, chips = on_chips("dense", [], X_test.astype(np.float32), directory, trace_rows,
                                  call=f"dense_predict(row, {X_test.shape[1]})",
                                  header="dense.h", include=[emlearn.includedir])
        n_parameters = sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_)
        rows.append(dict(
            model="emlearn dense " + "-".join(map(str, (X_train.shape[1], *hidden,
                                                         len(mlp.classes_)))),
            weights="float32", parameters=n_parameters, python=python, int8=None,
            chip=np.mean(mlp.classes_[classes] == y_test), flash=flash, ram=ram,
            m0_stack=chips["cortex-m0plus"][0], m4_stack=chips["cortex-m4f"][0],
            m0=chips["cortex-m0plus"][1], m4=chips["cortex-m4f"][1]))
    return rows


def _f(value, digits=4):
    return "" if value is None else f"{value:.{digits}f}"


def report(dataset, rows, avr):
    print(f"\n## {dataset}: accuracy on the held-out rows")
    table([{"model": r["model"], "weights": r["weights"], "parameters": r["parameters"],
            "python": _f(r["python"]), "python int8": _f(r["int8"]),
            "C on Cortex-M0": _f(r["chip"])} for r in rows],
          ["model", "weights", "parameters", "python", "python int8", "C on Cortex-M0"])
    print(f"\n## {dataset}: size and cost per inference ({OPTIMIZE})")
    table([{"model": r["model"], "weights": r["weights"], "flash": r["flash"], "RAM": r["ram"],
            "stack M0+": r["m0_stack"], "stack M4F": r["m4_stack"],
            "instr M0+": f"{r['m0']:.0f}", "instr M4F": f"{r['m4']:.0f}",
            "predict_q M0+": _f(r.get("m0_q"), 0), "predict_q M4F": _f(r.get("m4_q"), 0)}
           for r in rows],
          ["model", "weights", "flash", "RAM", "stack M0+", "stack M4F", "instr M0+",
           "instr M4F", "predict_q M0+", "predict_q M4F"])
    print(f"\n## {dataset}: ATmega328P program (predict, tables in program memory)")
    table(avr, ["model", "weights", "flash", "ram"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--trace-rows", type=int, default=5,
                        help="predictions traced to count instructions (default: 5)")
    parser.add_argument("--optimize", default="-Os", choices=["-Os", "-O2", "-O3"],
                        help="optimisation of the programs run on the chips (default: -Os; "
                             "the flash column is -Os whatever this is)")
    args = parser.parse_args()
    global OPTIMIZE  # the one setting of the whole run
    OPTIMIZE = args.optimize
    absent = _mcu.missing(_mcu.ARM_TOOLS + _mcu.AVR_TOOLS)
    if absent:
        raise SystemExit("not installed: " + ", ".join(absent))
    header("C exports on microcontrollers: SET (export_c) against emlearn's dense MLPs")
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "avr-gcc"):
        print(f"# {_mcu.version(tool)}")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with tempfile.TemporaryDirectory() as work:
        for dataset in args.datasets:
            data = load(dataset)
            rows, avr = set_rows(dataset, data, Path(work), args.trace_rows)
            rows += dense_rows(dataset, data, Path(work), args.trace_rows)
            report(dataset, rows, avr)
    footer()


if __name__ == "__main__":
    if shutil.which("arm-none-eabi-gcc") is None:
        raise SystemExit("arm-none-eabi-gcc is needed (Debian: gcc-arm-none-eabi)")
    main()
