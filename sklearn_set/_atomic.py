"""Writing a file all at once: into a temporary file in the same folder,
renamed over the destination once complete. A reader sees the old file or
the new one, never a part; a write that fails (a full disk) leaves the old
file as it was and no temporary file behind."""

import contextlib
import os
import tempfile


def _umask():
    """The process's umask, read without changing it where the system says
    (os.umask sets it while reading it, which another thread could see)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# the permissions a new file gets from open(): 0o666 less the umask
_NEW_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open a temporary file to write ``path``; on leaving the block
    without an exception, it is flushed to disk and renamed to ``path``.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.
    mode : {"w", "wb"}, default="w"
        Text or binary.
    **open_kwargs
        Passed to :func:`open` (``newline``, ``encoding``).

    Yields
    ------
    file : file object
        The temporary file.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=folder)
    try:
        with open(fd, mode, **open_kwargs) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _NEW_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as file:
        file.write(data)
