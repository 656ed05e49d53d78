"""Cold start: the first fit in a fresh process, without and with numba's cache.

The kernels are ``@njit(cache=True)``: the first ever call compiles them
(LLVM) and writes the machine code to numba's cache; later processes load it.
This script runs a small fit (``load_digits``, SETClassifier(hidden_layer_sizes
=(64,), max_iter=3), then predict) in fresh subprocesses:

* cold: ``NUMBA_CACHE_DIR`` pointing at a new empty directory (the same as a
  cleared cache: every kernel compiles);
* warm: again with that directory, now filled (what every run after the
  first ever sees);
* default: no ``NUMBA_CACHE_DIR``: the package's own cache location (see
  below), as an installed package uses it.

It also prints where the cache lives. Numba writes it next to the module, in
``sklearn_set/__pycache__/``, when that directory is writable (a user or
virtualenv install), else in a per-user directory (``~/.cache/numba`` style,
see numba's docs on ``NUMBA_CACHE_DIR``); ``NUMBA_CACHE_DIR`` overrides both.
The cache is keyed on the source file's path and modification time and on
the CPU, so upgrading the package or moving to another CPU recompiles once.

    python benchmarks/cold_start.py
    python benchmarks/cold_start.py --warm-runs 5
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _common import footer, header, median, table

CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
from sklearn.datasets import load_digits
from sklearn_set import SETClassifier
t_import = time.perf_counter() - t0
X, y = load_digits(return_X_y=True)
t = time.perf_counter()
clf = SETClassifier(hidden_layer_sizes=(64,), max_iter=3, random_state=0).fit(X, y)
t_fit = time.perf_counter() - t
t = time.perf_counter()
acc = float((clf.predict(X) == y).mean())
t_predict = time.perf_counter() - t
from sklearn_set._engine._kernels import train as kernels
impl = kernels.sparse_forward._cache._impl
print(json.dumps(dict(import_s=t_import, fit_s=t_fit, predict_s=t_predict,
                      total_s=time.perf_counter() - t0, accuracy=acc,
                      cache_dir=impl.locator.get_cache_path(),
                      locator=type(impl.locator).__name__)))
"""


def run(env):
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         env=env)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["wall_s"] = wall
    return r


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    header("cold start of a small fit in a new process")
    base = dict(os.environ)
    base["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
        + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else []))
    base.pop("NUMBA_CACHE_DIR", None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = dict(base, NUMBA_CACHE_DIR=cache)
        cold = run(env)
        rows.append(dict(run="cold (empty NUMBA_CACHE_DIR)", **_cells(cold)))
        warm = [run(env) for _ in range(args.warm_runs)]
        rows.append(dict(run=f"warm, same dir (median of {args.warm_runs})",
                         **_cells(_median(warm))))
        n_files = sum(len(f) for _, _, f in os.walk(cache))
        size = sum(os.path.getsize(os.path.join(d, x)) for d, _, f in os.walk(cache)
                   for x in f)
    default = [run(base) for _ in range(args.warm_runs)]
    rows.append(dict(run=f"default location (median of {args.warm_runs})",
                     **_cells(_median(default))))
    table(rows, ["run", "wall s", "import s", "fit s", "predict s", "accuracy"])
    print(f"# cache written by the cold run: {n_files} files, {size / 2**20:.1f} MiB")
    print(f"# default cache location: {default[0]['cache_dir']} "
          f"({default[0]['locator']})")
    footer()


def _median(runs):
    return {k: median([r[k] for r in runs]) if isinstance(runs[0][k], float) else runs[0][k]
            for k in runs[0]}


def _cells(r):
    return {"wall s": r["wall_s"], "import s": r["import_s"], "fit s": r["fit_s"],
            "predict s": r["predict_s"], "accuracy": f"{r['accuracy']:.3f}"}


if __name__ == "__main__":
    main()
