"""The names the package's registries answer to, in a module that imports
nothing.

The command line lists and checks ``--regrowth`` and ``--family`` from
here (and ``--activation`` from ``_engine.activations``, which imports
nothing either), so that its help and its argument errors answer
without loading numpy, numba or scikit-learn. Each registry is built through
:func:`registry`, which refuses at import a table whose names differ from
these, and the estimators' parameter constraints are built from these names:
the command line, the registries and ``fit`` accept exactly the same values.
"""

#: Where pruned connections grow back, the keys of
#: ``_evolution.rules.REGROWTH_RULES``.
REGROWTH_RULES = ("random", "connected", "gradient")

#: Curve families, the keys of ``_curve._families.FAMILIES``, in the order
#: ``family="auto"`` fits them.
CURVE_FAMILIES = ("rosenfeld", "logistic", "weibull", "capacity_connectivity",
                  "structural")


def registry(names, table):
    """Return ``table``, a dict keyed by name, after checking that it holds
    exactly ``names`` in their order."""
    if tuple(table) != tuple(names):
        raise RuntimeError(f"a registry holds {list(table)} but sklearn_set._names "
                           f"lists {list(names)}; keep the two the same.")
    return table
