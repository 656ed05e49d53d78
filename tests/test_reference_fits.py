"""Fits are bit-identical to models recorded before the package's layout changed.

See ``tests/_reference_fits.py`` for the configurations and how they were
recorded.
"""

import warnings

import numpy as np
import pytest
from _reference_fits import CONFIGS, PATH, fit_all, recorded_defaults

from sklearn_set import AccSETClassifier, SETClassifier, SETRegressor

CLASSES = {"SETClassifier": SETClassifier, "AccSETClassifier": AccSETClassifier,
           "SETRegressor": SETRegressor}


@pytest.fixture(scope="module")
def refits():
    extra = recorded_defaults(SETClassifier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_all(CLASSES, extra)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fit_is_bit_identical_to_the_recorded_model(refits, name):
    recorded = np.load(PATH)
    keys = sorted(k.split("/", 1)[1] for k in recorded.files if k.startswith(name + "/"))
    assert keys == sorted(refits[name])
    for key in keys:
        np.testing.assert_array_equal(refits[name][key], recorded[f"{name}/{key}"],
                                      err_msg=f"{name}: {key}")
