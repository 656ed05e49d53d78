"""What the package asks the machine before it fits: how much memory is
available, and whether the numba kernels still need compiling.

Estimators refuse a network that cannot fit in memory before allocating it
(``_check_memory``, with :func:`available_memory_bytes`). A caller that
plans many fits at once, such as the command line, asks the same question
of all of them through :func:`check_fits_memory`, and whether the first fit
will compile the kernels through :func:`kernels_need_compiling`: the
package's deliberate answers, so that the caller never reaches into an
estimator's or numba's internals itself.
"""

import importlib
import math
import os

# the modules that hold the numba kernels (compiled on first use, cached on disk)
_KERNEL_MODULES = ("._engine._kernels.train", "._engine._kernels.topology",
                   "._engine._kernels.layout", "._engine._kernels.losses",
                   "._engine._kernels.simd")


def available_memory_bytes():
    """Memory this process may still allocate, in bytes, or None if unknown.

    Linux: /proc/meminfo's MemAvailable, capped by the cgroup (container)
    limit minus its usage. Elsewhere: free physical pages from os.sysconf.
    """
    found = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f_limit, open(usage_file) as f_usage:
                limit, usage = f_limit.read().strip(), f_usage.read().strip()
            if limit != "max":
                found.append(max(0, int(limit) - int(usage)))
        except (OSError, ValueError):
            pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            pass
    return min(found) if found else None


def check_fits_memory(estimator, n_samples, n_features, n_outputs, *, n_fits=1):
    """Refuse ``n_fits`` fits of ``estimator`` run at once that cannot fit in
    the memory available together.

    Parameters
    ----------
    estimator : SETClassifier, AccSETClassifier or SETRegressor
        Unfitted; its ``sparsity``, ``hidden_layer_sizes``, ``dtype`` and
        ``batch_size`` decide the size of a network.
    n_samples, n_features, n_outputs : int
        The training data of each fit.
    n_fits : int, default=1
        Fits that run at the same time (parallel workers), each with its own
        network.

    Raises
    ------
    MemoryError
        If the networks, their snapshots and their workspaces need more memory
        than is available; the message says how much.
    ValueError
        If the sparsity leaves a layer without a connection.
    """
    layer_sizes = [n_features, *estimator.hidden_layer_sizes, n_outputs]
    _check_connection_count(estimator, layer_sizes, n_fits)
    estimator._check_memory(layer_sizes, n_samples, n_fits=n_fits)


# Above this many connections the estimator's memory estimate (int64 bytes,
# up to about 100 per connection) could overflow.
_MAX_COUNTED_CONNECTIONS = 2**56


def _check_connection_count(estimator, layer_sizes, n_fits):
    """Refuse, counting with exact integers, networks too large for the
    estimator's own estimate, which counts in int64: their connections
    alone (2**56 and more, 512 PiB at 8 bytes each) exceed any memory."""
    pairs = [(int(a), int(b)) for a, b in zip(layer_sizes[:-1], layer_sizes[1:])]
    sparsity, epsilon = estimator._allocation()
    if sparsity is None:  # sparsity="auto": Erdos-Renyi at a fixed epsilon per layer
        connections = sum(min(a * b, math.ceil(epsilon * (a + b))) for a, b in pairs)
    else:
        connections = int((1 - sparsity) * sum(a * b for a, b in pairs))
    if connections >= _MAX_COUNTED_CONNECTIONS:
        need = n_fits * connections * 8  # a 4-byte weight and a 4-byte index at least
        raise MemoryError(
            f"{type(estimator).__name__} with layer sizes {[int(n) for n in layer_sizes]} and "
            f"sparsity={estimator.sparsity} needs more than {need} bytes ({need / 2**30:.3g} "
            f"GiB) for its {n_fits * connections} connections alone, more memory than a "
            "machine has. Raise sparsity or narrow hidden_layer_sizes.")


def kernels_need_compiling():
    """True if none of the package's numba kernels is in numba's on-disk
    cache yet (a fresh install, or the first run after an upgrade); False if
    they are, or if numba's cache cannot be inspected."""
    modules = [importlib.import_module(name, __package__) for name in _KERNEL_MODULES]
    try:  # numba's cache internals (as of numba 0.68): guard against changes
        from numba.core.caching import FunctionCache
        from numba.core.registry import CPUDispatcher

        caches = [obj._cache for module in modules for obj in vars(module).values()
                  if isinstance(obj, CPUDispatcher) and isinstance(obj._cache, FunctionCache)]
        return bool(caches) and not any(cache._cache_file._load_index() for cache in caches)
    except Exception:
        return False
