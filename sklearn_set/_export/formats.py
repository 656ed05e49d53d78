"""The export formats: a name, the module and function that write a fitted
model in that format, and a line that says what comes out. A new format is
one module whose function takes ``(model, directory, *, name, ...)`` and
returns what it wrote, and one row here; the command line looks formats up
in this table."""

import importlib

# name: (module under sklearn_set._export, function, what it writes)
EXPORTERS = {
    "c": ("c", "export_c", "portable C99 (NAME.h and NAME.c, or one header), float32 or "
                           "integer-only int8"),
}


def exporter(name):
    """The export function of format ``name`` (a key of :data:`EXPORTERS`)."""
    try:
        module, function, _ = EXPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown export format {name!r}; choose one of "
                         f"{sorted(EXPORTERS)}") from None
    return getattr(importlib.import_module(f".{module}", __package__), function)
