"""Run the Examples sections of the public docstrings, so they cannot rot."""

import doctest
import importlib

import pytest

import sklearn_set

MODULES = sorted({getattr(sklearn_set, name).__module__
                  for name in sklearn_set.__all__ if name != "__version__"})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no docstring example"
    assert result.failed == 0
