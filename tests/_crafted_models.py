"""A corpus of crafted model files: each would run code, or feed the kernels
inconsistent data, if a loader trusted it. ``build(folder)`` writes them and
returns a :class:`Crafted` per file, naming what a loader that ran them would
do. ``python tests/_crafted_models.py FOLDER`` writes them for a look.

The attacks of the trust review:

S1
    A pipeline whose FunctionTransformer calls
    ``sklearn.datasets.dump_svmlight_file``, whose arguments name a file to
    write: ``predict`` writes it.
S2
    A function saved under a scikit-learn module that imports it
    (``sklearn.utils._testing.check_output`` is subprocess's,
    ``sklearn.datasets._lfw.remove`` is ``os.remove``,
    ``sklearn.utils.discovery.import_module`` is importlib's): a check of the
    name's prefix passes, and loading resolves the real function.

and the other ways skops' format can name code or build objects by calls.
"""

import builtins
import functools
import io
import json
import operator
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field

import numpy as np

# a module whose import writes its marker file: naming it must not import it
EVIL_MODULE = "sklearn_set_crafted_import_marker"

# the files build() writes, in its order
NAMES = ["s1_dump_svmlight_dummy", "s1_dump_svmlight_set", "s2_check_output", "s2_remove",
         "s2_import_module", "partial", "bound_method", "builtin_eval", "builtin_open",
         "numpy_save", "numpy_load", "numpy_ufunc", "attrgetter", "unknown_module",
         "decision_tree", "dummy_classifier", "s2_as_object", "function_transformer_type",
         "attribute_replaces_method", "special_attribute", "bit_generator",
         "index_out_of_range", "target_regressor_type"]


@dataclass
class Crafted:
    """A crafted file: ``path``; the message part a refusal must contain;
    the file that running it would create (must never exist); the
    ``(module, name)`` of a function that running it would call (replaced
    by a spy in the tests)."""

    path: str
    refusal: str
    marker: str
    spy: tuple = None
    finding: str = ""
    notes: list = field(default_factory=list)


def training_data():
    """Four rows of wine (all classes but one are there twice or more)."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    rows = [0, 1, 60, 61, 130, 131]
    return X[rows], y[rows]


def write_data(path):
    """The CSV ``predict`` reads (no header, 13 columns, six rows)."""
    X, _ = training_data()
    with open(path, "w") as handle:
        for row in X:
            handle.write(",".join(repr(float(value)) for value in row) + "\n")


def _fitted_set():
    import warnings

    from sklearn_set import SETClassifier

    X, y = training_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SETClassifier(hidden_layer_sizes=(8,), sparsity=0.5, max_iter=2,
                             random_state=0).fit(X, y)


def _dump(model, path):
    import skops.io

    skops.io.dump(model, path)


def read_members(source):
    """``{name: bytes}`` of the zip file ``source`` (a path, or bytes)."""
    source = io.BytesIO(source) if isinstance(source, bytes) else source
    with zipfile.ZipFile(source) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def zipped(members):
    """The bytes of a zip file of ``members`` (``{name: bytes}``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rewrite_schema(path, edit):
    """Rewrite the schema.json of the skops file ``path`` with ``edit``
    (schema -> schema); the other members are kept as they are."""
    members = read_members(path)
    members["schema.json"] = json.dumps(edit(json.loads(members["schema.json"]))).encode()
    with open(path, "wb") as handle:
        handle.write(zipped(members))


def arm(monkeypatch, folder, item):
    """Make running the crafted file ``item`` observable: the module of
    unknown_module importable from ``folder``, and the function an S2 file
    names replaced by a spy that writes the marker."""
    import importlib

    monkeypatch.syspath_prepend(str(folder))
    if item.spy is not None:
        module, name = item.spy

        def spy(*args, **kwargs):
            open(item.marker, "w").close()

        monkeypatch.setattr(importlib.import_module(module), name, spy)


def nodes(value):
    """Every node (dict with ``__loader__``) of a schema."""
    if isinstance(value, dict):
        if "__loader__" in value:
            yield value
        for child in value.values():
            yield from nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from nodes(child)


def _rename(module, name, new_module):
    """An edit giving the function ``module.name`` the module ``new_module``."""
    def edit(schema):
        for node in nodes(schema):
            if node.get("__module__") == module and node.get("__class__") == name:
                node["__module__"] = new_module
        return schema
    return edit


def _function_pipeline(func, kw_args=None, final=None):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    return Pipeline([("step", FunctionTransformer(func=func, kw_args=kw_args)),
                     ("model", final if final is not None else _fitted_set())])


def build(folder):
    """Write the crafted files into ``folder``; return ``{name: Crafted}``."""
    from sklearn.datasets import dump_svmlight_file
    from sklearn.dummy import DummyClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    folder = os.fspath(folder)
    crafted = {}

    def add(name, model, refusal, *, edit=None, spy=None, finding=""):
        path = os.path.join(folder, f"{name}.skops")
        marker = os.path.join(folder, f"{name}.ran")
        model = model(marker) if callable(model) else model
        _dump(model, path)
        if edit is not None:
            rewrite_schema(path, lambda schema: edit(schema, marker))
        crafted[name] = Crafted(path, refusal, marker, spy, finding)

    X, y = training_data()
    svmlight = {"y": np.zeros(len(X)), "comment": "written by a model file"}

    # S1: dump_svmlight_file writes the file its keyword arguments name
    add("s1_dump_svmlight_dummy", lambda marker: _function_pipeline(
        dump_svmlight_file, {**svmlight, "f": marker}, DummyClassifier().fit(X, y)),
        "sklearn.datasets._svmlight_format_io.dump_svmlight_file, a function", finding="S1")
    add("s1_dump_svmlight_set", lambda marker: _function_pipeline(
        dump_svmlight_file, {**svmlight, "f": marker}),
        "sklearn.datasets._svmlight_format_io.dump_svmlight_file, a function", finding="S1")
    # S2: a function renamed into a scikit-learn module that imports it
    for name, func, new_module in [
            ("s2_check_output", subprocess.check_output, "sklearn.utils._testing"),
            ("s2_remove", os.remove, "sklearn.datasets._lfw"),
            ("s2_import_module", __import__("importlib").import_module,
             "sklearn.utils.discovery")]:
        short = func.__name__
        add(name, _function_pipeline(func),
            f"{new_module}.{short}, a function",  # (os.remove: "a function or type")
            edit=lambda schema, marker, f=func, m=new_module: _rename(
                f.__module__, f.__name__, m)(schema),
            spy=(new_module, short), finding="S2")
    # the other ways of naming code
    add("partial", lambda marker: _function_pipeline(functools.partial(
        dump_svmlight_file, f=marker, y=np.zeros(len(X)))), "a functools.partial")
    add("bound_method", lambda marker: _function_pipeline(
        StandardScaler().fit(X).inverse_transform),
        "sklearn.preprocessing._data.StandardScaler.inverse_transform, a method")
    add("builtin_eval", _function_pipeline(builtins.eval), "builtins.eval, a function or type")
    add("builtin_open", _function_pipeline(builtins.open), "io.open, a function or type")
    add("numpy_save", _function_pipeline(np.save), "numpy.save, a function")
    add("numpy_load", _function_pipeline(np.load), "numpy.load, a function")
    # a ufunc: skops trusts these by default
    add("numpy_ufunc", _function_pipeline(np.log), "numpy.log, a function")
    add("attrgetter", _function_pipeline(operator.attrgetter("shape")),
        "an operator function")
    # a type whose module is unknown: importing it would run the module
    add("unknown_module", _fitted_set(), f"{EVIL_MODULE}.Anything",
        edit=lambda schema, marker: {**schema, "__module__": EVIL_MODULE,
                                     "__class__": "Anything"})
    # types of scikit-learn that are no part of a model of this package
    add("decision_tree", DecisionTreeClassifier(max_depth=2).fit(X, y), "a decision tree")
    add("dummy_classifier", DummyClassifier().fit(X, y),
        "sklearn.dummy.DummyClassifier, which is not among the types")
    # a function saved as an object of a scikit-learn module
    add("s2_as_object", _fitted_set(), "sklearn.utils._testing.check_output",
        edit=lambda schema, marker: {**schema, "__module__": "sklearn.utils._testing",
                                     "__class__": "check_output"})
    # an allowed type put where a function goes, and attributes that would
    # replace a method or a special attribute
    add("function_transformer_type", _function_pipeline(np.float64),
        "FunctionTransformer with a func")
    add("attribute_replaces_method", StandardScaler().fit(X), "replace its method",
        edit=lambda schema, marker: _set_attribute(schema, "transform", "null"))
    add("special_attribute", StandardScaler().fit(X), "special attribute '__class__'",
        edit=lambda schema, marker: _set_attribute(schema, "__class__", '"x"'))
    # a random generator whose bit generator is another numpy.random callable
    add("bit_generator", _fitted_set(), "bit generator 'seed'",
        edit=lambda schema, marker: _bit_generator(schema, "seed"))
    # data that is only data, inconsistent with the network it describes
    add("index_out_of_range", _fitted_set(), "an input index lies outside",
        edit=None)
    _corrupt_first_layer(crafted["index_out_of_range"].path)
    # a type called on the target by TransformedTargetRegressor
    from sklearn.compose import TransformedTargetRegressor

    add("target_regressor_type", TransformedTargetRegressor(
        _fitted_set(), func=np.float64, inverse_func=np.float64, check_inverse=False).fit(X, y),
        "TransformedTargetRegressor with a func")
    return crafted


def _set_attribute(schema, key, json_value):
    schema["content"]["content"][key] = {"__class__": "str", "__module__": "builtins",
                                         "__loader__": "JsonNode", "content": json_value,
                                         "is_json": True}
    return schema


def _bit_generator(schema, name):
    for node in nodes(schema):
        if node["__loader__"] == "RandomGeneratorNode":
            state = node["content"]["bit_generator"]["content"]["bit_generator"]
            state["content"] = json.dumps(name)
    return schema


def _corrupt_first_layer(path):
    """Point the first connection of the first layer at an input past the
    layer's width."""
    members = read_members(path)
    schema = json.loads(members["schema.json"])
    layer = next(node for node in nodes(schema) if node.get("__class__") == "SparseLayer")
    member = layer["content"]["content"]["indices"]["file"]
    indices = np.load(io.BytesIO(members[member]))
    indices[0] = 10**6
    buffer = io.BytesIO()
    np.save(buffer, indices, allow_pickle=False)
    members[member] = buffer.getvalue()
    with open(path, "wb") as handle:
        handle.write(zipped(members))


def write_evil_module(folder, marker):
    """A module named EVIL_MODULE in ``folder`` whose import creates
    ``marker``."""
    with open(os.path.join(folder, f"{EVIL_MODULE}.py"), "w") as handle:
        handle.write(f"open({marker!r}, 'w').close()\nclass Anything:\n    pass\n")


if __name__ == "__main__":  # pragma: no cover
    target = sys.argv[1]
    os.makedirs(target, exist_ok=True)
    for name, item in build(target).items():
        print(f"{name:28} {item.path}")
