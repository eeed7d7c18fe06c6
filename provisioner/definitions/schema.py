"""The shipped JSON Schemas (Draft 2020-12): loaded and compiled once, turned into Problems.

Clean definitions only pay for the compiled fast check (``fastcheck``); jsonschema is imported and run
only for a definition the fast check rejects, to explain what is wrong and where.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from provisioner.definitions.fastcheck import Predicate, SchemaCompiler, UnsupportedSchema
from provisioner.definitions.findings import Finding
from provisioner.definitions.source import join_pointer
from provisioner.model import Json

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

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
def _fast_check(name: str) -> Predicate | None:
    try:
        return SchemaCompiler(schema_documents()).compile_document(name)
    except UnsupportedSchema:
        return None


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    documents = schema_documents()
    registry = Registry().with_resources(
        (file, Resource.from_contents(contents)) for file, contents in documents.items()
    )
    return Draft202012Validator(documents[name], registry=registry)


def check_schema(name: str, instance: Json) -> list[Finding]:
    """Violations of the shipped schema ``name`` (e.g. "error-rate.json"); [] when valid."""
    fast = _fast_check(name)
    if fast is not None and fast(instance):
        return []
    findings: dict[Finding, None] = {}
    for error in _leaf_errors(_validator(name).iter_errors(instance)):
        for finding in _findings(error):
            findings.setdefault(finding)
    return _without_noise_under_forbidden_keys(list(findings))


def _without_noise_under_forbidden_keys(findings: list[Finding]) -> list[Finding]:
    """A key that is not allowed at all makes any complaint about its value noise."""
    forbidden = [f.pointer for f in findings if f.code == "key-not-allowed"]

    def under_forbidden(pointer: str) -> bool:
        return any(pointer == p or pointer.startswith(p + "/") for p in forbidden)

    return [f for f in findings if f.code == "key-not-allowed" or not under_forbidden(f.pointer)]


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    from jsonschema.exceptions import best_match

    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            yield best_match(error.context)
        else:
            yield error


def _pointer(error: ValidationError) -> str:
    return join_pointer("", *error.absolute_path)


def _findings(error: ValidationError) -> list[Finding]:
    handler = _HANDLERS.get(str(error.validator), _generic)
    return handler(error)


def _unknown_keys(error: ValidationError) -> list[Finding]:
    allowed = sorted(error.schema.get("properties", {}))
    extras = [key for key in error.instance if key not in allowed]
    return [
        Finding(
            join_pointer(_pointer(error), key),
            "unknown-key",
            f"unknown key '{key}'",
            did_you_mean(key, allowed),
            at_key=True,
        )
        for key in extras
    ]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    close = close or [option for option in options if word and option.startswith(word)][:1]
    if close:
        return f"did you mean '{close[0]}'?"
    shown = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
    return f"expected one of: {shown}" if options else ""


def _required(error: ValidationError) -> list[Finding]:
    missing = [key for key in error.validator_value if key not in error.instance]
    return [Finding(_pointer(error), "missing-field", f"missing required field '{key}'") for key in missing]


def _type(error: ValidationError) -> list[Finding]:
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    wanted = " or ".join(_TYPE_NAMES[name] for name in expected)
    message = f"{show(error.instance)} is {json_type(error.instance)}, expected {wanted}"
    return [Finding(_pointer(error), "wrong-type", message, _description(error))]


def _enum(error: ValidationError) -> list[Finding]:
    options = [str(option) for option in error.validator_value]
    message = f"{show(error.instance)} is not one of: {', '.join(options)}"
    hint = did_you_mean(str(error.instance), options) if isinstance(error.instance, str) else ""
    return [Finding(_pointer(error), "invalid-value", message, hint if hint.startswith("did") else "")]


def _pattern(error: ValidationError) -> list[Finding]:
    pointer = _pointer(error)
    if pointer == "/id":
        return [Finding(pointer, "invalid-id", f"invalid id {show(error.instance)}", _ID_HINT)]
    message = f"{show(error.instance)} does not match the expected form {error.validator_value}"
    return [Finding(pointer, "invalid-value", message, _description(error))]


def _not_allowed_key(error: ValidationError) -> list[Finding]:
    if "propertyNames" not in error.absolute_schema_path:
        return _generic(error)
    pointer = join_pointer(_pointer(error), str(error.instance))
    message = f"'{error.instance}' is not allowed here"
    return [Finding(pointer, "key-not-allowed", message, _description(error), at_key=True)]


def _limit(error: ValidationError) -> list[Finding]:
    words = {"minimum": "below the minimum", "maximum": "above the maximum"}[str(error.validator)]
    message = f"{show(error.instance)} is {words} {error.validator_value}"
    return [Finding(_pointer(error), "invalid-value", message, _description(error))]


def _size(error: ValidationError) -> list[Finding]:
    limit, validator = error.validator_value, str(error.validator)
    messages = {
        "minLength": "must not be empty" if limit == 1 else f"must be at least {limit} characters long",
        "maxLength": f"must be at most {limit} characters long",
        "minItems": "must not be empty" if limit == 1 else f"must have at least {limit} items",
        "maxItems": f"must have at most {limit} items",
        "minProperties": "must not be empty",
        "uniqueItems": "has duplicate items",
    }
    return [Finding(_pointer(error), "invalid-value", messages[validator], _description(error))]


def _generic(error: ValidationError) -> list[Finding]:
    return [Finding(_pointer(error), "schema", error.message, _description(error))]


def _description(error: ValidationError) -> str:
    description = error.schema.get("description", "") if isinstance(error.schema, Mapping) else ""
    return str(description)


_ID_HINT = (
    "ids are lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (they become tags)"
)
_HANDLERS = {
    "additionalProperties": _unknown_keys,
    "required": _required,
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "not": _not_allowed_key,
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


def show(value: Json) -> str:
    """A short rendering of a value for messages."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
