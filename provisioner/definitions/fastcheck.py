"""A fast yes/no JSON Schema check for the keywords our shipped schemas use.

jsonschema explains errors well but costs about 100 µs per definition; validating 5,000 definitions with it
alone takes half a second. This compiles a schema once into closures that answer "valid?" in a few µs.
It only has to be sound in one direction: when it says valid, jsonschema agrees (a hypothesis test checks
this); when it says invalid, jsonschema runs on that definition and explains. A keyword it does not know
raises ``UnsupportedSchema`` at compile time, so a schema change can never make it silently lenient.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples", "deprecated"}
)


class UnsupportedSchema(Exception):
    """The schema uses a keyword this compiler does not implement."""


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Predicate] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _all(checks: list[Predicate]) -> Predicate:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True

    return check


class SchemaCompiler:
    """Compiles schemas of a set of documents (file name → schema) that ``$ref`` each other by file name."""

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._documents = documents
        self._refs: dict[str, Predicate] = {}

    def compile_document(self, name: str) -> Predicate:
        return self._ref(name, name)

    def _ref(self, base: str, ref: str) -> Predicate:
        file, _, fragment = ref.partition("#")
        file = file or base
        key = f"{file}#{fragment}"
        if key not in self._refs:
            compiled: list[Predicate] = []
            self._refs[key] = lambda value: compiled[0](value)  # stands in while a recursive ref compiles
            compiled.append(self.compile(self._resolve(file, fragment), file))
            self._refs[key] = compiled[0]
        return self._refs[key]

    def _resolve(self, file: str, fragment: str) -> Any:
        if file not in self._documents:
            raise UnsupportedSchema(f"unknown schema document {file}")
        node = self._documents[file]
        for token in [t for t in fragment.split("/") if t]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def compile(self, schema: Any, base: str) -> Predicate:
        if schema is True:
            return _always
        if schema is False:
            return _never
        unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
        if unknown:
            raise UnsupportedSchema(f"unsupported keywords {sorted(unknown)}")
        builders: list[Callable[[SchemaCompiler, Mapping[str, Any], str], Predicate]] = []
        for keyword, builder in _BUILDERS:  # one builder per keyword family, e.g. properties + required
            if keyword in schema and builder not in builders:
                builders.append(builder)
        checks = [builder(self, schema, base) for builder in builders]
        return _all([check for check in checks if check is not _always])

    def _type(self, schema: Mapping[str, Any], base: str) -> Predicate:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        tests = [_TYPE_CHECKS[name] for name in names]
        if len(tests) == 1:
            return tests[0]

        def check(value: Any) -> bool:
            for test in tests:
                if test(value):
                    return True
            return False

        return check

    def _enum(self, schema: Mapping[str, Any], base: str) -> Predicate:
        options = list(schema["enum"])
        if all(isinstance(option, str) for option in options):
            strings = frozenset(options)
            return lambda value: isinstance(value, str) and value in strings
        return lambda value: any(json_equal(value, option) for option in options)

    def _const(self, schema: Mapping[str, Any], base: str) -> Predicate:
        expected = schema["const"]
        return lambda value: json_equal(value, expected)

    def _string(self, schema: Mapping[str, Any], base: str) -> Predicate:
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
        low, high = schema.get("minLength", 0), schema.get("maxLength")

        def check(value: Any) -> bool:
            if not isinstance(value, str):
                return True
            if len(value) < low or (high is not None and len(value) > high):
                return False
            return pattern is None or pattern.search(value) is not None

        return check

    def _number(self, schema: Mapping[str, Any], base: str) -> Predicate:
        low, high = schema.get("minimum"), schema.get("maximum")
        return lambda value: (
            not _is_number(value) or ((low is None or value >= low) and (high is None or value <= high))
        )

    def _object(self, schema: Mapping[str, Any], base: str) -> Predicate:
        properties = {k: self.compile(v, base) for k, v in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        additional = None if extra is True else self.compile(extra, base)
        required = tuple(schema.get("required", ()))
        names = self.compile(schema["propertyNames"], base) if "propertyNames" in schema else None
        min_properties = schema.get("minProperties", 0)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            if len(value) < min_properties:
                return False
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                if names is not None and not names(key):
                    return False
                test = properties.get(key, additional)
                if test is not None and not test(item):
                    return False
            return True

        return check

    def _array(self, schema: Mapping[str, Any], base: str) -> Predicate:
        items = self.compile(schema["items"], base) if "items" in schema else _always
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        unique = schema.get("uniqueItems", False)

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            if len(value) < low or (high is not None and len(value) > high):
                return False
            if unique and any(json_equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :]):
                return False
            return all(items(item) for item in value)

        return check

    def _combinators(self, schema: Mapping[str, Any], base: str) -> Predicate:
        checks: list[Predicate] = []
        if "$ref" in schema:
            checks.append(self._ref(base, schema["$ref"]))
        checks.extend(self.compile(s, base) for s in schema.get("allOf", ()))
        if "anyOf" in schema:
            any_of = [self.compile(s, base) for s in schema["anyOf"]]
            checks.append(lambda value: any(test(value) for test in any_of))
        if "oneOf" in schema:
            one_of = [self.compile(s, base) for s in schema["oneOf"]]
            checks.append(lambda value: sum(1 for test in one_of if test(value)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"], base)
            checks.append(lambda value: not negated(value))
        return _all(checks)

    def _conditional(self, schema: Mapping[str, Any], base: str) -> Predicate:
        condition = self.compile(schema["if"], base)
        then = self.compile(schema.get("then", True), base)
        otherwise = self.compile(schema.get("else", True), base)
        return lambda value: then(value) if condition(value) else otherwise(value)


_BUILDERS: list[tuple[str, Callable[[SchemaCompiler, Mapping[str, Any], str], Predicate]]] = [
    ("type", SchemaCompiler._type),
    ("enum", SchemaCompiler._enum),
    ("const", SchemaCompiler._const),
    ("pattern", SchemaCompiler._string),
    ("minLength", SchemaCompiler._string),
    ("maxLength", SchemaCompiler._string),
    ("minimum", SchemaCompiler._number),
    ("maximum", SchemaCompiler._number),
    ("properties", SchemaCompiler._object),
    ("additionalProperties", SchemaCompiler._object),
    ("required", SchemaCompiler._object),
    ("propertyNames", SchemaCompiler._object),
    ("minProperties", SchemaCompiler._object),
    ("items", SchemaCompiler._array),
    ("minItems", SchemaCompiler._array),
    ("maxItems", SchemaCompiler._array),
    ("uniqueItems", SchemaCompiler._array),
    ("$ref", SchemaCompiler._combinators),
    ("allOf", SchemaCompiler._combinators),
    ("anyOf", SchemaCompiler._combinators),
    ("oneOf", SchemaCompiler._combinators),
    ("not", SchemaCompiler._combinators),
    ("if", SchemaCompiler._conditional),
]
_KEYWORDS = frozenset(keyword for keyword, _ in _BUILDERS) | {"then", "else"}
