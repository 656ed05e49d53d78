"""Tests of the drawing helpers of the displays (sklearn_set._display.axes)."""

import numpy as np
import pytest

from sklearn_set._display.axes import density_ticks, format_sparsity


@pytest.mark.parametrize(
    "s, text",
    [(0.0, "0"), (0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"), (0.995, "0.995"),
     (0.999, "0.999"), (0.9995, "0.9995"), (0.99712, "0.9971")],
)
def test_format_sparsity(s, text):
    assert format_sparsity(s) == text


def testdensity_ticks():
    majors, minors = density_ticks(1e-4, 1.0)
    np.testing.assert_allclose(majors, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert 0.5 in minors and 0.002 in minors
    # less than two decades: every 1-2-5 tick is labelled
    majors, minors = density_ticks(0.05, 1.0)
    np.testing.assert_allclose(majors, [0.05, 0.1, 0.2, 0.5, 1.0])
    assert minors == []
