"""GFLOP/s of the sparse kernels next to dense float32 GEMM, same run.

One 1000x1000 layer, uniformly random connections at densities 0.1%-10%,
batch 32-256, float32, activations feature-major. FLOP counted:

* forward ``sparse_forward``: 2 * nnz * batch (z = W a + b, ReLU);
* fused backward ``backward_update`` then ``step_connections``, as the
  engine runs a hidden layer's backward pass: 4 * nnz * batch (weight
  gradient and input delta in one sweep by input, bias step, then the SGD
  momentum step of the weights);
* weight gradient ``update_first_layer``: 2 * nnz * batch (weight gradient,
  SGD step, bias step; the kernel of a layer whose input needs no delta);
* input gradient alone (``dX only``): 2 * nnz * batch, a measurement-only
  kernel defined here (same loop as the fused one without the weight
  gradient and step), to show what the fusion costs;
* dense GEMM: numpy ``(batch x 1000) @ (1000 x 1000)`` float32, 2 * 1e6 *
  batch: the dense layer's forward (its two backward products are the same
  size).

Activation and delta buffers start on 64-byte boundaries, as the engine's
workspaces do. Per configuration the kernels and the GEMM are timed in
interleaved rounds (with a short untimed pause after the GEMM, whose
OpenBLAS threads keep spinning after returning);
each number is the median over rounds. ``%GEMM`` is the kernel's GFLOP/s
over the GEMM's in the same configuration.

    python benchmarks/kernels.py
    python benchmarks/kernels.py --threads 1 --rounds 7
"""

import argparse
import time

import numba
import numpy as np
from _common import OtherLoad, footer, header, median, table
from numba import njit, prange

from sklearn_set._engine._kernels import train as kernels
from sklearn_set._engine.layer import SparseLayer
from sklearn_set._engine.network import _aligned_empty

FM = {"reassoc", "contract", "arcp"}


@njit(parallel=True, fastmath=FM)
def input_gradient_only(t_indptr, t_order, t_rows, values, delta_out, delta_in):
    """dX only (measurement reference): delta_in[i] = sum_j w_ij delta_out[j]."""
    n_in, n_batch = delta_in.shape
    for i in prange(n_in):
        acc = delta_in[i]
        for b in range(n_batch):
            acc[b] = 0
        p = t_indptr[i]
        end = t_indptr[i + 1]
        while p + 4 <= end:
            w0 = values[t_order[p]]
            w1 = values[t_order[p + 1]]
            w2 = values[t_order[p + 2]]
            w3 = values[t_order[p + 3]]
            d0 = delta_out[t_rows[p]]
            d1 = delta_out[t_rows[p + 1]]
            d2 = delta_out[t_rows[p + 2]]
            d3 = delta_out[t_rows[p + 3]]
            for b in range(n_batch):
                acc[b] += (w0 * d0[b] + w1 * d1[b]) + (w2 * d2[b] + w3 * d3[b])
            p += 4
        while p < end:
            w = values[t_order[p]]
            d = delta_out[t_rows[p]]
            for b in range(n_batch):
                acc[b] += w * d[b]
            p += 1


# what backward_update takes for "no dropout" and "no first layer to update"
_NO_MASK = np.empty((0, 0), np.float32)
_NO_FIRST = (np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.float32),
             np.empty(0, np.float32))
# Adam's (beta_1, beta_2, epsilon), unused by SGD (empty second moments)
_SGD = (np.float32(0), np.float32(0), np.float32(0))


def backward_and_step(layer, a_in, d_out, d_in, lr, mom, decay, grad):
    """A hidden layer's backward pass as the engine runs it: the fused
    kernel, then the step of its weights; ``grad`` is the gradient scratch
    (``layer.n_connections`` floats)."""
    f32 = np.float32
    kernels.backward_update(layer.t_indptr, layer.t_order, layer.t_rows, grad,
                            layer.values, a_in, a_in, d_out, d_in, kernels.RELU, f32(0),
                            _NO_MASK, f32(0), f32(1), lr, mom, True, decay, layer.bias,
                            layer.bias_velocity, *_NO_FIRST, a_in, _NO_FIRST[2], _NO_FIRST[2],
                            _SGD)
    kernels.step_connections(layer.values, layer.velocity, layer.indptr, layer.indices,
                             layer.t_position, layer.t_start, layer.t_fill, grad, lr, mom, True,
                             decay, _NO_FIRST[2], _SGD)


def timeit(fn, min_time=0.02):
    """Seconds per call: enough calls to last ``min_time``."""
    fn()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt >= min_time:
            return dt / n
        n *= 2 if dt < min_time / 4 else 1
        n = max(n, int(n * min_time / max(dt, 1e-9)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="layer width (n x n)")
    parser.add_argument("--densities", default="0.001,0.004,0.01,0.04,0.1")
    parser.add_argument("--batches", default="32,64,128,256")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="numba threads (default: numba's); GEMM uses OpenBLAS's own")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    header(f"sparse kernels vs float32 GEMM, {args.n}x{args.n} layer, "
           f"numba threads {numba.get_num_threads()}")
    try:
        from threadpoolctl import threadpool_info
        blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()
                if i.get("user_api") == "blas"]
        print(f"# BLAS (api, threads): {blas}")
    except ImportError:
        pass

    f32 = np.float32
    n = args.n
    rng = np.random.default_rng(0)
    W = rng.standard_normal((n, n), dtype=f32)
    lr, mom, decay = f32(1e-7), f32(0.9), f32(1e-6)
    no_mask = np.empty((0, 0), f32)
    rows = []
    for density in [float(d) for d in args.densities.split(",")]:
        layer = SparseLayer.random(n, n, int(round(density * n * n)), rng,
                                   activation_code=kernels.RELU, dtype=f32)
        nnz = layer.n_connections
        for batch in [int(b) for b in args.batches.split(",")]:
            A = rng.random((batch, n), dtype=f32)

            def buffer(init=None):
                out = _aligned_empty(n * batch, f32).reshape(n, batch)
                if init is not None:
                    out[:] = init
                return out

            a_in = buffer(A.T)
            z = buffer()
            d_out = buffer(rng.standard_normal((n, batch), dtype=f32) * f32(1e-3))
            d_in = buffer()
            grad = np.empty(nnz, f32)
            runs = {
                "gemm": (lambda: A @ W, 2.0 * n * n * batch),
                "forward": (lambda: kernels.sparse_forward(
                    layer.indptr, layer.indices, layer.values, layer.bias, a_in, z, z,
                    kernels.RELU, f32(0), no_mask, f32(0), f32(1)), 2.0 * nnz * batch),
                "fused bwd": (lambda: backward_and_step(layer, a_in, d_out, d_in, lr, mom,
                                                         decay, grad), 4.0 * nnz * batch),
                "dW (first)": (lambda: kernels.update_first_layer(
                    layer.indptr, layer.indices, layer.values, layer.velocity, layer.bias,
                    layer.bias_velocity, a_in, d_out, lr, mom, True, decay, _NO_FIRST[2],
                    _NO_FIRST[2], _SGD),
                    2.0 * nnz * batch),
                "dX only": (lambda: input_gradient_only(
                    layer.t_indptr, layer.t_order, layer.t_rows, layer.values, d_out, d_in),
                    2.0 * nnz * batch),
            }
            times = {k: [] for k in runs}
            with OtherLoad() as other:
                for _ in range(args.rounds):
                    for name, (fn, _) in runs.items():
                        times[name].append(timeit(fn))
                        if name == "gemm":
                            # OpenBLAS's threads spin for a while after a
                            # call and would steal the next kernel's cores
                            time.sleep(0.3)
            gflops = {k: runs[k][1] / median(times[k]) / 1e9 for k in runs}
            row = {"density": f"{100 * density:g}%", "nnz": nnz, "batch": batch,
                   "GEMM GF/s": gflops["gemm"], "other load": f"{other.cores:.2f}"}
            for name in ("forward", "fused bwd", "dW (first)", "dX only"):
                row[f"{name} GF/s"] = gflops[name]
                row[f"{name} %GEMM"] = f"{100 * gflops[name] / gflops['gemm']:.0f}%"
            rows.append(row)
            print(f"# done density {density:g} batch {batch}", flush=True)
    cols = ["density", "nnz", "batch", "other load", "GEMM GF/s"]
    for name in ("forward", "fused bwd", "dW (first)", "dX only"):
        cols += [f"{name} GF/s", f"{name} %GEMM"]
    table(rows, cols)
    print("# other load: cores' worth of CPU used by other processes during the "
          "configuration's measurements (0 = quiet)")
    footer()


if __name__ == "__main__":
    main()
