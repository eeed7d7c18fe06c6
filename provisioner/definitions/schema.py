"""The shipped JSON Schemas (Draft 2020-12), validated with jsonschema-rs and turned into Findings.

One schema decides: the same files serve editors (``provisioner schema``) and the CLI. A subschema may
carry ``errorMessage`` (which editors show) and ``x-problem: {code, hint, at}``: its failures are then
reported under that rule code (e.g. ``conflicting-options``) rather than as a generic schema error.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema_rs

from provisioner.definitions.findings import Finding, did_you_mean, show
from provisioner.definitions.pointers import join_pointer, split_pointer
from provisioner.definitions.schema_hints import enum_hint, joined, range_hint, size_hint, type_hint
from provisioner.definitions.yaml_reader import YAML_1_1_BOOLEANS
from provisioner.model import Json

KIND_SCHEMAS: dict[str, str] = {
    "error-rate": "error-rate.json",
    "sidecar-injection": "sidecar-injection.json",
    "config-propagation": "config-propagation.json",
    "circuit-open": "circuit-open.json",
    "monitor": "monitor.json",
    "dashboard": "dashboard.json",
}
CONFIG_SCHEMA = "config.json"
EDITOR_SCHEMA = "definition.json"
_BASE_URI = "https://provisioner.invalid/schemas/"  # never fetched: every $ref names a shipped file
_FOLDER = Path(__file__).parent / "schemas"  # a plain folder: importlib.resources costs 3 ms of imports


@functools.cache
def schema_documents() -> dict[str, Any]:
    """Every shipped schema file, by file name."""
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in _FOLDER.iterdir()
        if entry.name.endswith(".json")
    }


@functools.cache
def _registry() -> jsonschema_rs.Registry:
    """Every shipped schema file, where a $ref finds it: built once and shared by every validator (building
    it cost each one as much as building the validator)."""
    return jsonschema_rs.Registry([(_BASE_URI + file, contents) for file, contents in schema_documents().items()])


@functools.cache
def _validator(name: str) -> jsonschema_rs.Validator:
    document = schema_documents()[name]
    return jsonschema_rs.validator_for(document, registry=_registry(), base_uri=_BASE_URI + name)


def check_schema(name: str, instance: Json) -> list[Finding]:
    """Violations of the shipped schema ``name`` (e.g. "error-rate.json"); [] when valid."""
    validator = _validator(name)
    if validator.is_valid(instance):
        return []
    findings: dict[Finding, None] = {}
    for error in validator.iter_errors(instance):
        for finding in _findings(_Error.of(error)):
            findings.setdefault(finding)
    return _without_noise_under_forbidden_keys(list(findings))


def _without_noise_under_forbidden_keys(findings: list[Finding]) -> list[Finding]:
    """A key that is not allowed at all makes any complaint about its value noise."""
    forbidden = [f.pointer for f in findings if f.code == "key-not-allowed"]

    def under_forbidden(pointer: str) -> bool:
        return any(pointer == p or pointer.startswith(p + "/") for p in forbidden)

    return [f for f in findings if f.code == "key-not-allowed" or not under_forbidden(f.pointer)]


class _Error:
    """What the handlers need of one jsonschema-rs error: the keyword, its value and the subschema
    that holds it (for the description and x-problem), where in the instance, and the failing value."""

    __slots__ = ("keyword", "value", "schema", "pointer", "instance", "kind", "message")

    def __init__(self, error: jsonschema_rs.ValidationError, pointer: str, instance: Json) -> None:
        self.kind = error.kind
        self.keyword = error.kind.name
        self.schema, self.value = _keyword_schema(error.absolute_keyword_location)
        self.pointer = pointer
        self.instance = instance
        self.message = error.message

    @classmethod
    def of(cls, error: jsonschema_rs.ValidationError) -> _Error:
        return cls(error, join_pointer("", *error.instance_path), error.instance)


def _keyword_schema(location: str | None) -> tuple[Mapping[str, Any], Any]:
    """(the subschema holding the keyword, the keyword's value) for "<base><file>#/<pointer to keyword>"."""
    if not location or not location.startswith(_BASE_URI):
        return {}, None
    file, _, fragment = location[len(_BASE_URI) :].partition("#")
    *parent_tokens, keyword = split_pointer(fragment) or [""]
    parent = _node(file, join_pointer("", *parent_tokens))
    return (parent, parent.get(keyword)) if isinstance(parent, Mapping) else ({}, None)


def _node(file: str, pointer: str) -> Any:
    """The node at ``pointer`` in the shipped schema ``file``."""
    node: Any = schema_documents().get(file, {})
    for token in split_pointer(pointer):
        if isinstance(node, list):
            node = node[int(token)]
        else:
            node = node.get(token) if isinstance(node, Mapping) else None
    return node


def _findings(error: _Error) -> list[Finding]:
    problem = error.schema.get("x-problem")
    if problem is not None:
        return [_rule_finding(error, problem)]
    handler = _HANDLERS.get(error.keyword, _generic)
    return handler(error)


def _rule_finding(error: _Error, problem: Mapping[str, str]) -> Finding:
    """A rule the schema states: its code, the subschema's errorMessage and the rule's hint."""
    message = str(error.schema.get("errorMessage") or error.message)
    at_key = problem.get("at") == "key"
    return Finding(error.pointer, problem["code"], message, problem.get("hint", ""), at_key=at_key)


def _unknown_keys(error: _Error) -> list[Finding]:
    allowed = sorted(error.schema.get("properties", {}))
    extras = [key for key in error.instance if key not in allowed]
    return [
        Finding(
            join_pointer(error.pointer, key),
            "unknown-key",
            f"unknown key '{key}'",
            did_you_mean(key, allowed),
            at_key=True,
        )
        for key in extras
    ]


def _required(error: _Error) -> list[Finding]:
    missing = [key for key in error.value if key not in error.instance]
    return [
        Finding(error.pointer, "missing-field", f"missing required field '{key}'", _required_hint(error, key))
        for key in missing
    ]


def _required_hint(error: _Error, key: str) -> str:
    field = _resolved(error.schema.get("properties", {}).get(key, {}))
    return joined(f"add '{key}:'", str(field.get("description", "")))


def _resolved(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """A subschema with its $ref followed (to a shipped file), for its description."""
    reference = schema.get("$ref")
    if not isinstance(reference, str) or "#" not in reference:
        return schema
    file, _, fragment = reference.partition("#")
    target = _node(file, fragment) if file else None
    return target if isinstance(target, Mapping) else schema


def _type(error: _Error) -> list[Finding]:
    expected = error.value if isinstance(error.value, list) else [error.value]
    wanted = " or ".join(_TYPE_NAMES[name] for name in expected)
    message = f"{show(error.instance)} is {json_type(error.instance)}, expected {wanted}"
    description = _description(error)
    hint = joined(type_hint(expected, error.instance, described=bool(description)), description)
    if "boolean" in expected and isinstance(error.instance, str) and error.instance in YAML_1_1_BOOLEANS:
        hint = f"write true/false: in YAML 1.2 (as in editors) '{error.instance}' is a string"
    return [Finding(error.pointer, "wrong-type", message, hint)]


def _enum(error: _Error) -> list[Finding]:
    message = f"{show(error.instance)} is not one of: {', '.join(str(option) for option in error.value)}"
    hint = joined(enum_hint(error.instance, error.value), _description(error))
    return [Finding(error.pointer, "invalid-value", message, hint)]


def _pattern(error: _Error) -> list[Finding]:
    if error.pointer == "/id":
        return [Finding(error.pointer, "invalid-id", f"invalid id {show(error.instance)}", _ID_HINT)]
    message = f"{show(error.instance)} does not match the expected form {error.value}"
    return [Finding(error.pointer, "invalid-value", message, _description(error) or _PATTERN_HINT)]


def _property_names(error: _Error) -> list[Finding]:
    """A key the schema refuses: the inner error's instance is the key itself."""
    inner = error.kind.error
    key = inner.instance
    if inner.kind.name != "not":
        return _findings(_Error(inner, error.pointer, key))
    keyword_schema, _ = _keyword_schema(inner.absolute_keyword_location)
    message = f"'{key}' is not allowed here"
    hint = str(keyword_schema.get("description", ""))
    return [Finding(join_pointer(error.pointer, str(key)), "key-not-allowed", message, hint, at_key=True)]


def _limit(error: _Error) -> list[Finding]:
    words = {"minimum": "below the minimum", "maximum": "above the maximum"}[error.keyword]
    message = f"{show(error.instance)} is {words} {error.value}"
    hint = joined(range_hint(error.schema), _description(error))
    return [Finding(error.pointer, "invalid-value", message, hint)]


def _size(error: _Error) -> list[Finding]:
    limit = error.value
    messages = {
        "minLength": "must not be empty" if limit == 1 else f"must be at least {limit} characters long",
        "maxLength": f"must be at most {limit} characters long",
        "minItems": "must not be empty" if limit == 1 else f"must have at least {limit} items",
        "maxItems": f"must have at most {limit} items",
        "minProperties": "must not be empty",
        "uniqueItems": "has duplicate items",
    }
    hint = joined(size_hint(error.keyword, limit), _description(error))
    return [Finding(error.pointer, "invalid-value", messages[error.keyword], hint)]


def _const(error: _Error) -> list[Finding]:
    message = f"{show(error.instance)} is not allowed here: the only value is {show(error.value)}"
    hint = joined(f"write {show(error.value)}", _description(error))
    return [Finding(error.pointer, "invalid-value", message, hint)]


def _generic(error: _Error) -> list[Finding]:
    hint = _description(error) or "see `provisioner schema` for what this field takes"
    return [Finding(error.pointer, "schema", error.message, hint)]


def _description(error: _Error) -> str:
    return str(error.schema.get("description", ""))


_ID_HINT = (
    "ids are lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (they become tags)"
)
_PATTERN_HINT = "write the value in the form the pattern shows (`provisioner schema` lists every field)"
_HANDLERS = {
    "const": _const,
    "additionalProperties": _unknown_keys,
    "required": _required,
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "propertyNames": _property_names,
    "minimum": _limit,
    "maximum": _limit,
    "minLength": _size,
    "maxLength": _size,
    "minItems": _size,
    "maxItems": _size,
    "minProperties": _size,
    "uniqueItems": _size,
}
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true/false)",
    "null": "null",
}


def json_type(value: Json) -> str:
    if isinstance(value, bool):
        return _TYPE_NAMES["boolean"].split(" (")[0]
    for name, kind in (("null", type(None)), ("integer", int), ("number", float), ("string", str)):
        if isinstance(value, kind):
            return _TYPE_NAMES[name]
    return _TYPE_NAMES["object"] if isinstance(value, dict) else _TYPE_NAMES["array"]
