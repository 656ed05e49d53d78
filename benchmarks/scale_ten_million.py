"""Ten million hidden neurons: SETClassifier(hidden_layer_sizes=(5000000, 5000000)).

784 input features, 10 classes, the sparsity of SET's Erdos-Renyi
epsilon 20 (350 million connections; the dense network would hold 25
trillion weights, 91 TiB in float32). Fits two epochs on 640 random samples
(default batch size), predicts probabilities for 64 of them, and prints
what ``benchmarks/scale_million.py`` prints. Target: peak RSS <= 16 GiB.

It needs about 15 GiB: check that ``free -g`` shows at least 18 GiB
available, and cap the process so that it cannot take a shared machine's
memory from others, e.g.::

    prlimit --as=$((20 * 2**30)) python benchmarks/scale_ten_million.py

(an address-space cap: numba and OpenBLAS reserve address space they do not
touch, so the cap is above the resident target).
"""

import argparse

from _common import footer, header, set_eps20_sparsity
from scale_million import run

HIDDEN = (5_000_000, 5_000_000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--connections", type=int, default=None,
                        help="total connections (default: ER epsilon 20)")
    parser.add_argument("--no-warm-up", dest="warm", action="store_false",
                        help="measure a fit that may compile kernels itself")
    args = parser.parse_args()
    sizes = (784,) + HIDDEN + (10,)
    sparsity, n = set_eps20_sparsity(sizes)
    if args.connections is not None:
        n = args.connections
        sparsity = 1.0 - n / sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    header(f"SETClassifier(hidden_layer_sizes={HIDDEN}, sparsity={sparsity!r}) "
           f"({n:,} connections), 640 samples, 2 epochs")
    run(HIDDEN, sparsity, n_predict=64, n_jobs=args.n_jobs, target_gib=16, warm=args.warm)
    footer()


if __name__ == "__main__":
    main()
