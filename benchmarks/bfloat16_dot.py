"""The bfloat16 forward kernel with and without the CPU's bfloat16 dot
product, alternating in one process.

``sparse_forward`` over bfloat16 rows (ReLU, the activations stored in
place, as the engine runs a hidden layer) is compiled twice: once as this
CPU runs it (``vdpbf16ps`` where it has AVX512_BF16), once with
``vectors.ALLOW_BFLOAT16_DOT`` off (the multiply-add tiles that CPUs without
the instruction run). Both are timed in alternating rounds of ``--calls``
calls, so that a disturbance of the machine falls on both; the table gives
the best and median round of each and the ratio of the multiply-add
kernel's time to the dot product's (above 1: the dot product is faster).
On a CPU without the instruction both compilations are the same kernel.

    python benchmarks/bfloat16_dot.py
    python benchmarks/bfloat16_dot.py --threads 1 --batches 32,128,256
"""

import argparse
import time

import numba
import numpy as np
from _common import OtherLoad, footer, header, median, table
from numba import njit
from numba.core.registry import cpu_target

from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine._kernels import vectors
from sklearn_set._engine._kernels.storage import to_bfloat16
from sklearn_set._engine.layer import SparseLayer
from sklearn_set._engine.network import _aligned_empty


def _fresh_forward(allow_dot):
    """sparse_forward compiled afresh (numba's cache does not know the flag)
    with the bfloat16 dot product allowed or not; compiled on first call."""
    kernel = njit(parallel=True, fastmath=kernels._FASTMATH)(kernels.sparse_forward.py_func)

    def forward(*args):
        allowed = vectors.ALLOW_BFLOAT16_DOT
        vectors.ALLOW_BFLOAT16_DOT = allow_dot
        try:
            kernel(*args)
        finally:
            vectors.ALLOW_BFLOAT16_DOT = allowed
    return forward


def _rows(n, batch, rng):
    rows = _aligned_empty(n * batch, np.uint16).reshape(n, batch)
    rows[:] = to_bfloat16(rng.normal(size=(n, batch)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="1000x1000@0.04",
                        help="n_in x n_out @ density, comma separated")
    parser.add_argument("--batches", default="128")
    parser.add_argument("--threads", type=int, default=1, help="numba threads")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=20, help="calls per timed round")
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    header("bfloat16 forward kernel: vdpbf16ps against multiply-adds")
    print(f"# this CPU has vdpbf16ps: {vectors.use_bfloat16_dot(cpu_target.target_context)}")
    f32 = np.float32
    no_mask = np.empty((0, 0), f32)
    kernels_by_name = {"multiply-adds": _fresh_forward(False), "bfloat16 dot": _fresh_forward(True)}
    rows = []
    for spec in args.layers.split(","):
        shape, density = spec.split("@")
        n_in, n_out = (int(v) for v in shape.split("x"))
        nnz = int(round(float(density) * n_in * n_out))
        rng = np.random.default_rng(0)
        layer = SparseLayer.random(n_in, n_out, nnz, rng, activation_code=kernels.RELU,
                                   dtype=f32)
        for batch in (int(b) for b in args.batches.split(",")):
            a_in = _rows(n_in, batch, rng)
            z = _rows(n_out, batch, rng)
            call = (layer.indptr, layer.indices, layer.values, layer.bias, a_in, z, z,
                    kernels.RELU, f32(0), no_mask, f32(0), f32(1))
            for forward in kernels_by_name.values():
                forward(*call)  # compiles
            times = {name: [] for name in kernels_by_name}
            with OtherLoad() as load:
                for _ in range(args.rounds):
                    for name, forward in kernels_by_name.items():
                        start = time.perf_counter()
                        for _ in range(args.calls):
                            forward(*call)
                        times[name].append((time.perf_counter() - start) / args.calls)
            row = {"layer": shape, "density": float(density), "nnz": nnz, "batch": batch,
                   "threads": args.threads}
            for name, ts in times.items():
                row[f"{name} ms (best)"] = min(ts) * 1e3
                row[f"{name} ms (median)"] = median(ts) * 1e3
                row[f"{name} GFLOP/s (best)"] = 2 * nnz * batch / min(ts) / 1e9
            row["ratio (best)"] = min(times["multiply-adds"]) / min(times["bfloat16 dot"])
            row["ratio (median)"] = median(times["multiply-adds"]) / median(times["bfloat16 dot"])
            row["other load"] = load.cores
            rows.append(row)
            print(f"# done {shape} batch {batch}", flush=True)
    table(rows, list(rows[0]))
    print("# ratio: multiply-add kernel's time over the dot product's (above 1: the dot "
          "product is faster); other load: cores' worth of CPU used by other processes")
    footer()


if __name__ == "__main__":
    main()
