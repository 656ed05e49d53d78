"""Helpers shared by the benchmark scripts: machine description, timing,
table printing. Not part of the package."""

import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "n/a"


def header(title):
    """Print what was run, on what, with which versions and under which load."""
    import numba

    print(f"# {title}")
    print(f"# command : {shlex.join([sys.executable] + sys.argv)}")
    print(f"# cwd     : {os.getcwd()}")
    print(f"# cpu     : {cpu_model()}, {os.cpu_count()} logical cores")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, "
          f"numba {numba.__version__} (threads {numba.config.NUMBA_NUM_THREADS}, "
          f"layer {numba.config.THREADING_LAYER})")
    try:
        import sklearn
        print(f"# scikit-learn {sklearn.__version__}")
    except ImportError:
        pass
    print(f"# load average at start: {load_average()}  "
          f"({time.strftime('%Y-%m-%d %H:%M:%S')})")
    sys.stdout.flush()


def footer():
    print(f"# load average at end: {load_average()}  "
          f"({time.strftime('%Y-%m-%d %H:%M:%S')})")
    sys.stdout.flush()


def median(xs):
    return statistics.median(xs)


def table(rows, columns):
    """Print ``rows`` (list of dicts) as an aligned text table."""
    cells = [[str(c) for c in columns]]
    for row in rows:
        cells.append([_fmt(row.get(c, "")) for c in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for n, r in enumerate(cells):
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def _fmt(v):
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        if abs(v) >= 0.01:
            return f"{v:.3f}"
        return f"{v:.2e}"
    return str(v)


def set_eps20_sparsity(layer_sizes, eps=20.0):
    """Sparsity at which the Erdos-Renyi allocation gives ``eps`` (classic SET)."""
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    n = sum(min(a * b, eps * (a + b)) for a, b in shapes)
    total = sum(a * b for a, b in shapes)
    return 1.0 - n / total, int(round(n))


def _proc_status_bytes(field):
    """A ``kB`` field of /proc/self/status in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_bytes():
    """This process's resident memory now (Linux), else its peak."""
    now = _proc_status_bytes("VmRSS")
    return peak_rss_bytes() if now is None else now


def peak_rss_bytes():
    """This process's peak resident memory since it started or since the
    last successful :func:`reset_peak_rss`."""
    peak = _proc_status_bytes("VmHWM")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss():
    """Set the peak resident memory back to the current one (Linux's
    ``/proc/self/clear_refs``); returns False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def timed_epoch(model, X, y):
    """One epoch, ``model.partial_fit(X, y)`` with its warnings silenced
    (a ConvergenceWarning each epoch): its seconds and the other load
    meanwhile (:class:`OtherLoad`)."""
    import warnings

    t = time.perf_counter()
    with warnings.catch_warnings(), OtherLoad() as other:
        warnings.simplefilter("ignore")
        model.partial_fit(X, y)
    return time.perf_counter() - t, other.cores


class OtherLoad:
    """CPU time used by *other* processes (and stolen by the hypervisor)
    while a block runs, in cores: 0 on a quiet machine, 1 when another
    process kept one core busy. Read from /proc/stat and os.times()."""

    def __enter__(self):
        self._sys = _proc_stat()
        self._own = _own_cpu()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._t
        tick = os.sysconf("SC_CLK_TCK")
        busy0, steal0 = self._sys
        busy1, steal1 = _proc_stat()
        busy = (busy1 - busy0) / tick
        own = _own_cpu() - self._own
        self.cores = max(0.0, busy - own) / wall if wall > 0 else 0.0
        self.steal = (steal1 - steal0) / tick / wall if wall > 0 else 0.0
        return False


def _proc_stat():
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    # user nice system idle iowait irq softirq steal
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy, (v[7] if len(v) > 7 else 0)


def _own_cpu():
    t = os.times()
    return t.user + t.system


def import_emlearn():
    """emlearn 0.23 calls ``np.seterr(all="raise")`` when imported, which
    turns harmless underflows elsewhere into errors: put the state back."""
    saved = np.geterr()
    import emlearn
    np.seterr(**saved)
    return emlearn


def emlearn_dense(scaler, mlp, directory):
    """emlearn's C header (``dense.h``, ``dense_predict``) of a fitted MLP
    whose inputs a fitted StandardScaler standardises: the scaler is folded
    into the first layer (as export_c does), so the C model takes raw
    features."""
    import contextlib

    emlearn = import_emlearn()
    mlp.intercepts_[0] = mlp.intercepts_[0] - (scaler.mean_ / scaler.scale_) @ mlp.coefs_[0]
    mlp.coefs_[0] = mlp.coefs_[0] / scaler.scale_[:, None]
    header = directory / "dense.h"
    with contextlib.chdir(directory):  # emlearn builds a test program in ./tmp
        emlearn.convert(mlp, method="inline").save(file=str(header), name="dense")
    return header
