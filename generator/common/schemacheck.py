"""Compile the JSON-schema subset this project's schemas use into one yes/no Python function.

jsonschema takes about 6 ms for a 20-turn conversation row, and importing it costs more than scoring a handful of
responses; the compiled function reads the same schema and is many times faster. It is only a fast path: when it
says no, or when the schema uses a keyword outside the subset (:func:`compile_schema` then returns None),
jsonschema runs and words the failure. The function may be stricter than jsonschema (``1.0`` is not an integer
here, a mapping with a non-string key is refused) but never more lenient, so "yes" always means valid.

Supported: ``type`` (one name or a list of them), ``enum`` of strings, ``const`` (a string or an integer),
``minLength``, ``pattern``, ``minimum``, ``maximum``, ``minItems``, ``maxItems``, ``items``, ``properties``,
``patternProperties``, ``required``, ``additionalProperties: false`` and local ``$ref`` to ``#/$defs/...``.
Type tests follow jsonschema's (``bool`` is neither an integer nor a number, arrays are lists, objects are
mappings).

Standard library only: the released ``scoring.py`` embeds this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_SUPPORTED = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "required", "additionalProperties",
              "properties", "patternProperties", "items", "minItems", "maxItems", "minLength", "minimum", "maximum",
              "pattern", "enum", "const"}

#: Python test of each JSON type, on the variable ``{v}``.
_TYPE_TESTS = {
    "object": "isinstance({v}, Mapping)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool))",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
}


class Unsupported(Exception):
    """The schema uses a keyword or a form the compiler does not handle: jsonschema alone is used."""


class _Emitter:
    """Writes the source of ``def check(value)``: one ``return False`` per violated rule, ``return True`` at the end."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {"Mapping": Mapping}
        self.counter = 0

    def name(self, prefix: str, value: Any = None) -> str:
        self.counter += 1
        key = f"{prefix}{self.counter}"
        if value is not None:
            self.constants[key] = value
        return key

    def fail_if(self, condition: str, indent: int) -> None:
        self.lines.append(" " * indent + f"if {condition}: return False")

    def emit(self, node: Mapping[str, Any], var: str, indent: int) -> None:
        if not isinstance(node, Mapping):
            raise Unsupported("a schema that is not an object")
        if set(node) - _SUPPORTED:
            raise Unsupported(sorted(set(node) - _SUPPORTED))
        if "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/$defs/") or len(node.keys() - {"$ref", "description"}):
                raise Unsupported(ref)
            self.emit(self.schema["$defs"][ref.rsplit("/", 1)[1]], var, indent)
            return
        kind = node.get("type")
        kinds = [kind] if isinstance(kind, str) else kind
        if kinds is not None:
            if not isinstance(kinds, list) or not kinds or any(k not in _TYPE_TESTS for k in kinds):
                raise Unsupported(kind)
            self.fail_if("not (" + " or ".join(_TYPE_TESTS[k].format(v=var) for k in kinds) + ")", indent)
        if "const" in node:
            value = node["const"]
            if isinstance(value, str):
                self.fail_if(f"not (isinstance({var}, str) and {var} == {value!r})", indent)
            elif isinstance(value, int) and not isinstance(value, bool):
                self.fail_if(f"not ({_TYPE_TESTS['integer'].format(v=var)} and {var} == {value!r})", indent)
            else:
                raise Unsupported("const")
        if "enum" in node:
            options = node["enum"]
            if not all(isinstance(o, str) for o in options):
                raise Unsupported("enum")
            self.fail_if(f"not (isinstance({var}, str) and {var} in {self.name('E', frozenset(options))})", indent)
        if "minLength" in node:
            self.fail_if(f"isinstance({var}, str) and len({var}) < {int(node['minLength'])}", indent)
        if "pattern" in node:
            search = self.name("P", re.compile(node["pattern"]).search)
            self.fail_if(f"isinstance({var}, str) and {search}({var}) is None", indent)
        number = _TYPE_TESTS["number"].format(v=var)
        for keyword, operator in (("minimum", "<"), ("maximum", ">")):
            if keyword in node:
                bound = node[keyword]
                if not isinstance(bound, int | float) or isinstance(bound, bool):
                    raise Unsupported(keyword)
                self.fail_if(f"{number} and {var} {operator} {bound!r}", indent)
        for keyword, operator in (("minItems", "<"), ("maxItems", ">")):
            if keyword in node:
                self.fail_if(f"isinstance({var}, list) and len({var}) {operator} {int(node[keyword])}", indent)
        if "items" in node:
            if kinds is None or "array" not in kinds:
                raise Unsupported("items without type array")
            item = self.name("v")
            self.lines.append(" " * indent + f"if isinstance({var}, list):")
            self.lines.append(" " * (indent + 4) + f"for {item} in {var}:")
            self.emit(node["items"], item, indent + 8)
        if "properties" in node or "required" in node or "patternProperties" in node:
            if kinds != ["object"]:
                raise Unsupported("properties without type object")
            self.emit_object(node, var, indent)

    def emit_object(self, node: Mapping[str, Any], var: str, indent: int) -> None:
        props = dict(node.get("properties") or {})
        patterns = dict(node.get("patternProperties") or {})
        required = list(node.get("required") or [])
        closed = node.get("additionalProperties")
        if closed not in (None, False):
            raise Unsupported("additionalProperties schema")
        if closed is False and set(required) == set(props) and not patterns:
            self.fail_if(f"{var}.keys() != {self.name('K', frozenset(props))}", indent)
        else:
            if required:
                self.fail_if(f"not {self.name('R', frozenset(required))}.issubset({var})", indent)
            if closed is False and not patterns:
                self.fail_if(f"not {self.name('A', frozenset(props))}.issuperset({var})", indent)
        for key, sub in props.items():
            value = self.name("v")
            if key in required:
                self.lines.append(" " * indent + f"{value} = {var}[{key!r}]")
                self.emit(sub, value, indent)
            else:
                self.lines.append(" " * indent + f"if {key!r} in {var}:")
                self.lines.append(" " * (indent + 4) + f"{value} = {var}[{key!r}]")
                self.emit(sub, value, indent + 4)
        if patterns:
            # Every key matching a pattern is checked against that pattern's schema (as well as against its entry
            # in ``properties``, if any); with ``additionalProperties: false`` a key matching neither is refused.
            key, value = self.name("k"), self.name("v")
            known = self.name("A", frozenset(props))
            self.lines.append(" " * indent + f"for {key}, {value} in {var}.items():")
            inner = indent + 4
            self.fail_if(f"not isinstance({key}, str)", inner)
            searches = []
            for pattern, sub in patterns.items():
                search = self.name("P", re.compile(pattern).search)
                searches.append(search)
                self.lines.append(" " * inner + f"if {search}({key}) is not None:")
                self.emit(sub, value, inner + 4)
            if closed is False:
                matched = " or ".join(f"{search}({key}) is not None" for search in searches)
                self.fail_if(f"{key} not in {known} and not ({matched})", inner)

    def build(self, name: str) -> Callable[[Any], bool]:
        self.emit(self.schema, "value", 4)
        source = "def check(value):\n" + "\n".join(self.lines) + "\n    return True\n"
        namespace = dict(self.constants)
        exec(compile(source, f"<{name}>", "exec"), namespace)
        return namespace["check"]  # type: ignore[no-any-return]


def compile_schema(schema: Mapping[str, Any], name: str = "schema") -> Callable[[Any], bool] | None:
    """The compiled yes/no check of ``schema``, or None when the schema needs jsonschema."""
    try:
        return _Emitter(schema).build(name)
    except Unsupported:
        return None
