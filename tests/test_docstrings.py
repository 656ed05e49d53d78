"""Run the Examples sections of the public docstrings, so they cannot rot, and
check what they list against the tables they document."""

import doctest
import importlib
import re

import pytest

import sklearn_set
from sklearn_set._engine.activations import ACTIVATIONS

MODULES = sorted({getattr(sklearn_set, name).__module__
                  for name in sklearn_set.__all__ if name != "__version__"})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no docstring example"
    assert result.failed == 0


# numpydoc checks every public docstring must pass: parameters documented,
# known and in signature order, typed and described; returns documented; a
# summary line; no unknown section.
CHECKS = {"GL08", "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR10",
          "RT01", "RT03", "SS01", "SS03", "SS04", "SS06", "GL06", "GL07", "YD01"}


def _public_objects():
    for name in sklearn_set.__all__:
        if name == "__version__":
            continue
        obj = getattr(sklearn_set, name)
        yield f"sklearn_set.{name}"
        if isinstance(obj, type):
            for attr in dir(obj):
                member = getattr(obj, attr)
                # the package's own public methods (inherited from sklearn: not ours)
                if (not attr.startswith("_") and callable(member)
                        and getattr(member, "__module__", "").startswith("sklearn_set")):
                    yield f"sklearn_set.{name}.{attr}"


@pytest.mark.parametrize("qualname", sorted(_public_objects()))
def test_numpydoc_validation(qualname):
    validate = pytest.importorskip("numpydoc.validate").validate
    errors = [f"{code}: {message}" for code, message in validate(qualname)["errors"]
              if code in CHECKS]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("estimator", ["SETClassifier", "SETRegressor", "AccSETClassifier"])
def test_documented_activations_are_the_table(estimator):
    """The ``activation`` choices a docstring lists are the table's rows: a
    row added to ``_engine/activations.py`` is documented too."""
    doc = getattr(sklearn_set, estimator).__doc__
    choices = re.search(r"activation : \{([^}]*)\}", doc.replace("\\\n", ""))
    assert choices is not None, "no activation parameter documented"
    assert sorted(re.findall(r'"(\w+)"', choices.group(1))) == sorted(ACTIVATIONS)
