"""Roofline of the sparse kernels: this machine's bandwidths and FLOP peak,
the bytes each kernel moves per connection and sample, and how close the
kernels come to the bound.

Machine (measured here, best of ``--repeats``):

* memory bandwidth: a STREAM-like triad ``a = b + s * c`` (float32, three
  arrays of ``--triad-mib`` MiB each, far larger than the last-level cache),
  counted as STREAM counts it, 12 bytes per element (two reads, one write;
  the write-allocate read is not counted), on 1 and 2 threads;
* cache bandwidth: a vectorised sum over an array that stays in one cache
  level (16 KiB: L1; 256 KiB: L2; 4 MiB a thread: L3), 4 bytes per element
  read, on 1 and 2 threads: the roof for data a kernel re-reads from cache;
* FLOP peak: NumPy's float32 matrix product (SGEMM, 2048 x 2048),
  2 n^3 FLOP, on 1 and 2 BLAS threads.

The model. A layer of ``nnz`` connections runs a batch of ``B`` samples
(activations feature-major, ``n_in x B``). Per connection and sample a kernel
does 2 FLOP per product it forms (forward: 1 product; the backward pass of a
layer with a hidden input: 2, the weight gradient and the input delta; the
first layer's update: 1). Its bytes come in two streams, and "bytes moved"
means a different thing for each:

* **Compulsory traffic** (what must cross from wherever the layer lives, at
  least once per batch): the connection arrays, read (and written by a step)
  once per batch, so ``C / B`` bytes per connection and sample, where ``C``
  (bytes per connection and batch) is summed below from the itemsizes of the
  layer's arrays; plus the activation and delta rows read and written once
  per batch, ``R * (n_in + n_out) * s / nnz`` per connection and sample
  (``R`` rows per unit, ``s`` bytes per activation).
* **Gathered traffic**: every connection reads one whole batch row of its
  source (an input activation forward, an output delta backward): ``s``
  bytes per connection and sample, rounded up to whole 64-byte lines when a
  row is gathered from memory. The gathered matrix (``n_in x B x s``, 512 KB
  for a 1000-unit layer at B = 128) is re-read ``nnz / n_in`` times per
  batch, so it is served by the cache level that holds it: L2 for the
  eps=20 network's layers, memory for a layer of 500,000 units. The
  backward pass also reads its fixed row and reads and writes its
  accumulator row once per group of four connections (``(1 + 2) * s / 4``).

The kernel's time is bounded below by each roof: FLOP / peak, compulsory
bytes / memory bandwidth, gathered bytes / bandwidth of the level holding the
gathered matrix. The largest of these is the bound; ``% of bound`` is that
bound time over the measured time (the best of ``--rounds``, as the roofs
are the best of their repeats; the median is printed beside it). At B = 128
the compulsory traffic of a 1000 x 1000 layer at 4% is under 0.3 bytes per
connection and sample, so the
memory roof is far away: the gathers, from L2, set the bound. Fewer bytes
per connection at rest then change memory use, not the speed of small layers;
they pay off where the connection arrays themselves stream from memory (wide
layers, small batches).

    python benchmarks/roofline.py
    python benchmarks/roofline.py --threads 1 --batch 128 --rounds 5
    python benchmarks/roofline.py --dtype float32 bfloat16

``--dtype bfloat16`` stores the rows (activations, deltas) as the engine's
bfloat16 path does, 2 bytes each: ``s`` halves in both streams, while the
backward pass's accumulator row stays float32 (4 bytes).
"""

import argparse
import time

import numba
import numpy as np
from _common import OtherLoad, footer, header, median, table
from kernels import _NO_FIRST, _NO_MASK, _SGD, backward_and_step, timeit
from numba import njit, prange

from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine._kernels.storage import BFLOAT16, to_bfloat16
from sklearn_set._engine.layer import SparseLayer
from sklearn_set._engine.network import _aligned_empty

LINE = 64
# --dtype: storage of the activation and delta rows
ROW_STORAGE = {"float32": np.float32, "bfloat16": BFLOAT16}
_FASTMATH = {"reassoc", "contract", "arcp"}


@njit(parallel=True, fastmath=_FASTMATH)
def _triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


@njit(parallel=True, fastmath=_FASTMATH)
def _cache_read(buf, repeats, out):
    """Each thread sums its own row of ``buf`` ``repeats`` times."""
    for t in prange(buf.shape[0]):
        row = buf[t]
        total = row.dtype.type(0)
        for _ in range(repeats):
            for i in range(row.shape[0]):
                total += row[i]
        out[t] = total


def best_time(fn, repeats):
    fn()
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def triad_bandwidth(n_threads, mib, repeats):
    n = mib * 2**20 // 4
    a = np.empty(n, np.float32)
    b = np.full(n, 1.0, np.float32)
    c = np.full(n, 2.0, np.float32)
    numba.set_num_threads(n_threads)
    t = best_time(lambda: _triad(a, b, c, np.float32(3.0)), repeats)
    return 12 * n / t


def cache_bandwidth(n_threads, kib, repeats):
    n = kib * 1024 // 4
    buf = np.ones((n_threads, n), np.float32)
    out = np.empty(n_threads, np.float32)
    reps = max(1, (256 * 2**20) // (n * 4))  # about 256 MiB read per thread
    numba.set_num_threads(n_threads)
    t = best_time(lambda: _cache_read(buf, reps, out), repeats)
    return 4 * n * reps * n_threads / t


def sgemm_flops(n_threads, repeats, n=2048):
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    A = rng.random((n, n), dtype=np.float32)
    B = rng.random((n, n), dtype=np.float32)
    with threadpool_limits(n_threads, user_api="blas"):
        t = best_time(lambda: A @ B, repeats)
    time.sleep(0.3)  # OpenBLAS threads spin after a call
    return 2.0 * n**3 / t


def cache_size(level):
    """Bytes of the data (or unified) cache of ``level`` seen by CPU 0."""
    import glob

    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        with open(f"{path}/level") as f:
            if int(f.read()) != level:
                continue
        with open(f"{path}/type") as f:
            if f.read().strip() == "Instruction":
                continue
        with open(f"{path}/size") as f:
            text = f.read().strip()
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        return int(text.rstrip("KMG")) * units.get(text[-1], 1)
    return {2: 2**19, 3: 2**23}[level]


# -- bytes per connection and batch, from the layout -------------------------

def layout_bytes(layer):
    """Compulsory bytes per connection and batch of each kernel, summed from
    the itemsizes of the arrays it reads (r) and writes (w) once per batch:

    forward      indices r + values r
    backward     (fused pass) t_rows r + t_order r + values r (through
                 t_order) + gradient w; (step) t_position r, or indices r in
                 a layer that counts its positions + gradient r + values
                 r/w + velocity r/w
    first layer  indices r + values r/w + velocity r/w

    (The counters of a layer that counts positions, ``2 * n_chunks * n_in``
    positions, are left out: a few bytes per input, not per connection.)
    """
    idx, w, v = (getattr(layer, name).dtype.itemsize for name in ("indices", "values",
                                                                   "velocity"))
    rows, order = layer.t_rows.dtype.itemsize, layer.t_order.dtype.itemsize
    position = layer.t_position.dtype.itemsize if layer.t_position.size else idx
    grad = w  # the gradient scratch has the dtype of the weights
    return {
        "forward": idx + w,
        "backward": rows + order + w + grad + position + grad + 2 * w + 2 * v,
        "first layer": idx + 2 * w + 2 * v,
    }


# rows of n_in / n_out units read or written once per batch:
# forward a_in r, z w; backward a_in r, z_in r, delta_out r, delta_in w;
# first layer a_in r, delta_out r
ROWS = {"forward": (1, 1), "backward": (3, 1), "first layer": (1, 1)}
# products (2 FLOP each) per connection and sample
PRODUCTS = {"forward": 1, "backward": 2, "first layer": 1}


def gathered_bytes(kernel, batch, itemsize, from_memory, sum_itemsize=4):
    row = batch * itemsize
    if from_memory:
        row = -(-row // LINE) * LINE
    per_sample = row / batch
    if kernel == "backward":
        # fixed row, accumulator (float32 sums) r/w, per 4 connections
        per_sample += (itemsize + 2 * sum_itemsize) / 4
    elif kernel == "first layer":
        per_sample += itemsize / 4      # fixed delta row per 4 connections
    return per_sample


def kernel_calls(layer, a_in, z, d_out, d_in):
    """The three kernels as the engine calls them (see benchmarks/kernels.py)."""
    f32 = np.float32
    lr, mom, decay = f32(1e-7), f32(0.9), f32(1e-6)
    grad = np.empty(layer.n_connections, f32)
    return {
        "forward": lambda: kernels.sparse_forward(
            layer.indptr, layer.indices, layer.values, layer.bias, a_in, z, z, kernels.RELU,
            f32(0), _NO_MASK, f32(0), f32(1)),
        "backward": lambda: backward_and_step(layer, a_in, d_out, d_in, lr, mom, decay, grad),
        "first layer": lambda: kernels.update_first_layer(
            layer.indptr, layer.indices, layer.values, layer.velocity, layer.bias,
            layer.bias_velocity, a_in, d_out, lr, mom, True, decay, _NO_FIRST[2],
            _NO_FIRST[2], _SGD),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="1000x1000@0.04,200000x200000@0.0001",
                        help="n_in x n_out @ density, comma separated")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", default="1,2", help="numba thread counts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5,
                        help="repeats of each machine measurement (best kept)")
    parser.add_argument("--triad-mib", type=int, default=256)
    parser.add_argument("--dtype", nargs="+", default=["float32"],
                        choices=list(ROW_STORAGE),
                        help="storage of the activation and delta rows (weights: float32)")
    args = parser.parse_args()
    header(f"roofline of the sparse kernels, batch {args.batch}, float32 weights, rows "
           f"in {' and '.join(args.dtype)}")
    threads = [int(t) for t in args.threads.split(",")]

    machine = {}
    rows = []
    for t in threads:
        with OtherLoad() as other:
            machine[t] = {
                "triad": triad_bandwidth(t, args.triad_mib, args.repeats),
                "L1": cache_bandwidth(t, 16, args.repeats),
                "L2": cache_bandwidth(t, 256, args.repeats),
                "L3": cache_bandwidth(t, 4096, args.repeats),
                "sgemm": sgemm_flops(t, args.repeats),
            }
        m = machine[t]
        rows.append({"threads": t, "triad GB/s": m["triad"] / 1e9,
                     "L1 read GB/s": m["L1"] / 1e9, "L2 read GB/s": m["L2"] / 1e9,
                     "L3 read GB/s": m["L3"] / 1e9, "SGEMM GFLOP/s": m["sgemm"] / 1e9,
                     "other load": f"{other.cores:.2f}"})
    print("# machine")
    table(rows, ["threads", "triad GB/s", "L1 read GB/s", "L2 read GB/s", "L3 read GB/s",
                 "SGEMM GFLOP/s", "other load"])

    f32 = np.float32
    rng = np.random.default_rng(0)
    l2_bytes, l3_bytes = cache_size(2), cache_size(3)
    results = []
    model_rows = []
    for spec in args.layers.split(","):
        shape, density = spec.split("@")
        n_in, n_out = (int(v) for v in shape.split("x"))
        density = float(density)
        layer = SparseLayer.random(n_in, n_out, int(round(density * n_in * n_out)), rng,
                                   activation_code=kernels.RELU, dtype=f32)
        for dtype in args.dtype:
            _roofline_rows(args, layer, shape, density, dtype, machine, threads, rng,
                           l2_bytes, l3_bytes, model_rows, results)
    print("# bytes per connection: C from the layout (see layout_bytes), compulsory = "
          "C / batch + activation rows; gathered = one row element per connection")
    table(model_rows, ["layer", "density", "nnz", "kernel", "rows", "FLOP/conn/sample",
                       "C B/conn/batch", "compulsory B/conn/sample", "gathered B/conn/sample",
                       "gathered from"])
    print("# achieved (best round): GB/s of each stream; % bound: roof time over measured time "
          "(FLOP: SGEMM; memory: triad; gather: read bandwidth of the level holding the "
          "gathered rows, triad if memory)")
    table(results, ["layer", "kernel", "rows", "threads", "ms (median)", "ms (best)", "GFLOP/s",
                    "% FLOP bound",
                    "compulsory GB/s", "% memory bound", "gathered GB/s", "% gather bound",
                    "binding roof", "% of bound", "other load"])
    footer()


def _roofline_rows(args, layer, shape, density, dtype, machine, threads, rng, l2_bytes,
                   l3_bytes, model_rows, results):
    """Model and measured rows of one layer's three kernels with rows in ``dtype``."""
    f32 = np.float32
    batch = args.batch
    n_in, n_out, nnz = layer.n_in, layer.n_out, layer.n_connections
    storage = ROW_STORAGE[dtype]
    itemsize = np.dtype(storage).itemsize

    def buffer(n, fill):
        out = _aligned_empty(n * batch, storage).reshape(n, batch)
        out[:] = to_bfloat16(fill) if storage == BFLOAT16 else fill
        return out

    a_in = buffer(n_in, rng.random((n_in, batch), dtype=f32))
    z = buffer(n_out, np.zeros((n_out, batch), f32))
    d_out = buffer(n_out, rng.standard_normal((n_out, batch), dtype=f32) * f32(1e-3))
    d_in = buffer(n_in, np.zeros((n_in, batch), f32))
    calls = kernel_calls(layer, a_in, z, d_out, d_in)
    compulsory = layout_bytes(layer)
    gathered_from = {"forward": n_in, "backward": n_out, "first layer": n_in}
    for name, fn in calls.items():
        rows_in, rows_out = ROWS[name]
        c = compulsory[name]
        act = (rows_in * n_in + rows_out * n_out) * itemsize / nnz
        gathered_matrix = gathered_from[name] * batch * itemsize
        level = ("L2" if gathered_matrix <= l2_bytes
                 else "L3" if gathered_matrix <= l3_bytes else "memory")
        g = gathered_bytes(name, batch, itemsize, level == "memory")
        model_rows.append({
            "layer": shape, "density": f"{density:g}", "nnz": nnz, "kernel": name,
            "rows": dtype,
            "C B/conn/batch": c, "compulsory B/conn/sample": c / batch + act,
            "gathered B/conn/sample": g, "gathered from": level,
            "FLOP/conn/sample": 2 * PRODUCTS[name]})
        for t in threads:
            numba.set_num_threads(t)
            times = []
            with OtherLoad() as other:
                for _ in range(args.rounds):
                    times.append(timeit(fn, min_time=0.05))
            # best of the rounds, as the roofs are best of their repeats
            sec = min(times)
            m = machine[t]
            work = nnz * batch
            flop_t = 2 * PRODUCTS[name] * work / m["sgemm"]
            comp_t = (c / batch + act) * work / m["triad"]
            gath_bw = m["triad"] if level == "memory" else m[level]
            gath_t = g * work / gath_bw
            bound = max(flop_t, comp_t, gath_t)
            binding = {flop_t: "FLOP", comp_t: "compulsory", gath_t: f"gathered ({level})"}
            results.append({
                "layer": shape, "kernel": name, "rows": dtype, "threads": t,
                "ms (median)": 1e3 * median(times), "ms (best)": 1e3 * sec,
                "GFLOP/s": 2 * PRODUCTS[name] * work / sec / 1e9,
                "% FLOP bound": f"{100 * flop_t / sec:.0f}%",
                "compulsory GB/s": (c / batch + act) * work / sec / 1e9,
                "% memory bound": f"{100 * comp_t / sec:.0f}%",
                "gathered GB/s": g * work / sec / 1e9,
                "% gather bound": f"{100 * gath_t / sec:.0f}%",
                "binding roof": binding[bound],
                "% of bound": f"{100 * bound / sec:.0f}%",
                "other load": f"{other.cores:.2f}"})
        print(f"# done {shape} {name} {dtype}", flush=True)


if __name__ == "__main__":
    main()
