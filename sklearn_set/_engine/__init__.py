"""The training engine: sparse layers, the network that trains them, topology
analytics and kernel threads. Plain numpy and numba; no scikit-learn."""
