"""The shipped JSON Schemas (Draft 2020-12), validated with jsonschema-rs and turned into Findings.

One schema decides: the same files serve editors (``provisioner schema``) and the CLI. A subschema may
carry ``errorMessage`` (which editors show) and ``x-problem: {code, hint, at}``: its failures are then
reported under that rule code (e.g. ``conflicting-options``) rather than as a generic schema error.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jsonschema_rs

from provisioner.definitions.findings import Finding, did_you_mean, show
from provisioner.definitions.pointers import join_pointer, split_pointer
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


@functools.cache
def schema_documents() -> dict[str, Any]:
    """Every shipped schema file, by file name."""
    folder = resources.files("provisioner.definitions") / "schemas"
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


@functools.cache
def _validator(name: str) -> jsonschema_rs.Validator:
    documents = schema_documents()
    registry = jsonschema_rs.Registry([(_BASE_URI + file, contents) for file, contents in documents.items()])
    return jsonschema_rs.validator_for(documents[name], registry=registry, base_uri=_BASE_URI + name)


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
    node: Any = schema_documents().get(file, {})
    parent: Any = {}
    for token in split_pointer(fragment):
        parent = node
        node = node[int(token)] if isinstance(node, list) else node.get(token)
    return (parent if isinstance(parent, Mapping) else {}), node


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
    return [Finding(error.pointer, "missing-field", f"missing required field '{key}'") for key in missing]


def _type(error: _Error) -> list[Finding]:
    expected = error.value if isinstance(error.value, list) else [error.value]
    wanted = " or ".join(_TYPE_NAMES[name] for name in expected)
    message = f"{show(error.instance)} is {json_type(error.instance)}, expected {wanted}"
    hint = _description(error)
    if "boolean" in expected and isinstance(error.instance, str) and error.instance in YAML_1_1_BOOLEANS:
        hint = f"write true/false: in YAML 1.2 (as in editors) '{error.instance}' is a string"
    return [Finding(error.pointer, "wrong-type", message, hint)]


def _enum(error: _Error) -> list[Finding]:
    options = [str(option) for option in error.value]
    message = f"{show(error.instance)} is not one of: {', '.join(options)}"
    hint = did_you_mean(str(error.instance), options) if isinstance(error.instance, str) else ""
    return [Finding(error.pointer, "invalid-value", message, hint if hint.startswith("did") else "")]


def _pattern(error: _Error) -> list[Finding]:
    if error.pointer == "/id":
        return [Finding(error.pointer, "invalid-id", f"invalid id {show(error.instance)}", _ID_HINT)]
    message = f"{show(error.instance)} does not match the expected form {error.value}"
    return [Finding(error.pointer, "invalid-value", message, _description(error))]


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
    return [Finding(error.pointer, "invalid-value", message, _description(error))]


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
    return [Finding(error.pointer, "invalid-value", messages[error.keyword], _description(error))]


def _generic(error: _Error) -> list[Finding]:
    return [Finding(error.pointer, "schema", error.message, _description(error))]


def _description(error: _Error) -> str:
    return str(error.schema.get("description", ""))


_ID_HINT = (
    "ids are lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (they become tags)"
)
_HANDLERS = {
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
