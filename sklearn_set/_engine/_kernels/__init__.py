"""numba kernels over flat arrays: training (``train``), topology
(``topology``) and the register-tiled inner loops they share (``simd``)."""
