"""The check of a ``.skops`` file's ``schema.json`` against the allow-list,
made on its text alone: nothing the file names is imported before every
name in it is known to be allowed.

skops describes each object as a node: a JSON object with ``__loader__``
(the node kind), ``__module__`` and ``__class__`` (the object's class, which
loading imports and often calls) and its content. Every such object
anywhere in the schema is checked, not only those skops would reach, so
no node escapes the check by where it sits.
"""

import importlib
import inspect
import json
import sys

from .allowed import BIT_GENERATORS, CALLED_PARAMETERS, REFUSED_NODE_KINDS, allowed_types


class RefusedContent(Exception):
    """What makes a model file unsafe or malformed, in one sentence."""


def _is_node(value):
    return isinstance(value, dict) and "__loader__" in value


def _nodes(schema):
    """Every node of the schema, depth first, without recursion (a file may
    nest deeper than Python's stack)."""
    stack = [schema]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "__loader__" in value:
                yield value
            stack.extend(reversed(list(value.values())))  # in the file's order
        elif isinstance(value, list):
            stack.extend(reversed(value))


def _full_name(node):
    module, name = node.get("__module__"), node.get("__class__")
    if not isinstance(module, str) or not isinstance(name, str):
        raise RefusedContent(f"a node of kind {node['__loader__']!r} has no module and class "
                             "name (the file is damaged or was not written by skops)")
    return module, name


def _check_node(node):
    """Refuse a node whose kind or class is not allowed; return its full
    name and class."""
    kind = node["__loader__"]
    if not isinstance(kind, str):
        raise RefusedContent("a node's kind is not a string (the file is damaged)")
    module, name = _full_name(node)
    full = f"{module}.{name}"
    if kind == "MethodNode" and isinstance(node.get("content"), dict):
        full += f".{node['content'].get('func')}"
    if kind in REFUSED_NODE_KINDS:
        raise RefusedContent(f"it holds {full}, {REFUSED_NODE_KINDS[kind]}: a model file "
                             "may hold data only, never code")
    allowed = allowed_types().get(kind)
    if allowed is None:
        raise RefusedContent(f"it holds {full} as a node of unknown kind {kind!r}")
    if full not in allowed:
        if kind == "TypeNode":  # skops stores builtin functions as types
            raise RefusedContent(f"it holds {full}, a function or type that a model file "
                                 "may not hold: it may hold data only, never code")
        raise RefusedContent(f"it holds an object of {full}, which is not among the types a "
                             "model file may hold")
    return full, allowed[full]


def _content_dict(node):
    """The attribute names and value nodes of an object node's state (a
    DictNode), or None if its state is not a dict."""
    state = node.get("content")
    if not (_is_node(state) and state["__loader__"] == "DictNode"):
        return None
    content = state.get("content")
    if not isinstance(content, dict):
        raise RefusedContent("an object's state has no content (the file is damaged)")
    return content


def _check_attributes(node, cls, full):
    """Refuse a state that would hide a method or property of the class
    behind an instance attribute, or set a special attribute."""
    content = _content_dict(node)
    for key in content or ():
        if not isinstance(key, str):
            raise RefusedContent(f"{full} has an attribute name that is not a string")
        if key.startswith("__") and key.endswith("__"):
            raise RefusedContent(f"{full} sets the special attribute {key!r}")
        static = inspect.getattr_static(cls, key, None)
        if static is not None and (callable(static) or hasattr(static, "__get__")):
            raise RefusedContent(f"{full} has an attribute {key!r} that would replace its "
                                 "method or property of that name")


def _is_null(node):
    return (_is_node(node) and node["__loader__"] == "JsonNode"
            and node.get("content") == "null")


def _check_called_parameters(node, full):
    content = _content_dict(node) or {}
    for key in CALLED_PARAMETERS.get(full, ()):
        if key in content and not _is_null(content[key]):
            raise RefusedContent(f"it holds a {full} with a {key}: a model file may hold "
                                 "data only, never code")


def _check_bit_generator(node):
    try:
        state = node["content"]["bit_generator"]["content"]["bit_generator"]
        name = json.loads(state["content"])
    except (KeyError, TypeError, ValueError):
        raise RefusedContent("a random generator's state names no bit generator (the file "
                             "is damaged)") from None
    if name not in BIT_GENERATORS:
        raise RefusedContent(f"a random generator names the bit generator {name!r}, which "
                             f"is not one of numpy's ({', '.join(sorted(BIT_GENERATORS))})")


_SPECIAL_CHECKS = {
    "RandomGeneratorNode": lambda node, cls, full: _check_bit_generator(node),
    "ObjectNode": _check_attributes,
}


def _code_first(node):
    """Order of the checks: nodes of code first (what makes a file
    dangerous, whatever else it holds), then types, then the others."""
    kind = node["__loader__"]
    if not isinstance(kind, str):
        return 2
    return 0 if kind in REFUSED_NODE_KINDS else 1 if kind == "TypeNode" else 2


def check_schema(schema):
    """Check every node of a parsed ``schema.json``; return the full names
    it holds. Raise :class:`RefusedContent` at the first refused node."""
    if not _is_node(schema):
        raise RefusedContent("its schema.json does not describe an object")
    nodes = list(_nodes(schema))
    nodes.sort(key=_code_first)
    found = {}
    for node in nodes:
        full, cls = _check_node(node)
        found[full] = cls
        special = _SPECIAL_CHECKS.get(node["__loader__"])
        if special is not None:
            special(node, cls, full)
        _check_called_parameters(node, full)
    return found


def check_resolved(found):
    """Check that each name resolves to the allowed class itself, defined
    where its name says. The modules are those of allowed classes, imported
    already."""
    for full, cls in found.items():
        module_name = cls.__module__
        if not full.startswith(module_name + "."):
            raise RefusedContent(f"{full} is not where its class is defined")
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        resolved = getattr(module, full[len(module_name) + 1:], None)
        if resolved is not cls or f"{cls.__module__}.{cls.__qualname__}" != full:
            raise RefusedContent(f"{full} does not resolve to the allowed class of that "
                                 "name")
