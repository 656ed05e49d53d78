"""A synthetic sensor data set: raw readings with large offsets and scales
from 0.1 to 1000, as a logger on a microcontroller records them. Shared by
the export tests and ``benchmarks/microcontroller.py``."""

import numpy as np
from sklearn.datasets import make_classification

# name: (offset, scale) of each feature in its own unit
SENSORS = {
    "pressure_pa": (101_325.0, 300.0),
    "temperature_k": (293.15, 2.0),
    "humidity_percent": (50.0, 10.0),
    "seconds_since_start": (100_000.0, 1000.0),
    "load_cell_g": (10_000.0, 0.1),
    "supply_v": (3.3, 0.1),
}


def sensor_data(n_samples=2000, random_state=0):
    """``(X, y, names)``: three classes of a nonlinear rule of six sensors
    (``make_classification``'s informative features, each mapped to
    ``offset + scale * value`` in its sensor's unit)."""
    Z, y = make_classification(n_samples=n_samples, n_features=len(SENSORS),
                               n_informative=len(SENSORS), n_redundant=0, n_classes=3,
                               n_clusters_per_class=2, class_sep=1.5, flip_y=0.01,
                               random_state=random_state)
    offset, scale = np.array(list(SENSORS.values())).T
    return offset + scale * Z, y, list(SENSORS)
