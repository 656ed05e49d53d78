"""Tests of the registries' names (sklearn_set._names)."""

import pytest

from sklearn_set import _names
from sklearn_set._curve._families import FAMILIES
from sklearn_set._evolution.rules import REGROWTH_RULES


@pytest.mark.parametrize("names, table", [
    (_names.REGROWTH_RULES, REGROWTH_RULES), (_names.CURVE_FAMILIES, FAMILIES)])
def test_each_registry_holds_its_names_in_order(names, table):
    assert tuple(table) == names


@pytest.mark.parametrize("table", [{"relu": 1}, {"b": 1, "a": 2}, {"a": 1, "b": 2, "c": 3}])
def test_registry_refuses_other_names_or_order(table):
    with pytest.raises(RuntimeError, match="keep the two the same"):
        _names.registry(("a", "b"), table)
