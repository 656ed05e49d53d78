"""numba kernels over flat arrays: training (``train``), topology
(``topology``), the data layouts they read (``layout``) and the
register-tiled inner loops they share (``simd``)."""
