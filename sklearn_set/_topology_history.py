"""The per-epoch topology records of a fitted network, as one numpy
structured array (``topology_history_``).

One row an epoch, one field per statistic of
:func:`~sklearn_set._engine.connectivity.network_topology` (a per-layer
statistic is a field of that many entries). A row reads like the record
it was made from (``history[-1]["active_fraction"]``), a field is the whole
column (``history["connections"]`` has shape ``(n_epochs, n_layers)``), and
the array is saved as one block: a model file's size does not grow by a
listing of every epoch's dict.
"""

import numpy as np


def empty_history(record):
    """A history of no epoch whose rows hold records like ``record``."""
    return np.empty(0, dtype=np.dtype([(name, np.asarray(value).dtype, np.shape(value))
                                       for name, value in record.items()]))


def append_record(history, record):
    """``history`` followed by the row of ``record`` (a new array)."""
    row = np.empty(1, dtype=history.dtype)
    for name in history.dtype.names:
        row[name] = record[name]
    return np.concatenate([history, row])


def record_dict(row):
    """A row as the dict it was made from: arrays for per-layer fields,
    Python numbers for the others."""
    return {name: row[name].copy() if row[name].ndim else row[name].item()
            for name in row.dtype.names}
