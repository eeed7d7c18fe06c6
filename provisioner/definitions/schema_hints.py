"""How to fix a schema error: the hint each kind of violation gets (schema.py words the message).

A hint says what to write instead. Where the schema itself says more (a subschema's ``description``), the
hint ends with it; where it says nothing, the violation alone must be enough to act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.definitions.findings import did_you_mean
from provisioner.model import Json

# What an enum's values mean where the value alone does not say it, keyed by the enum's set of values.
# Datadog's Istio and Envoy documentation speak of V1 and V2 (OpenMetrics V1/V2); our values are the
# names of the check's two implementations.
ENUM_VALUE_MEANINGS: dict[frozenset[str], dict[str, str]] = {
    frozenset({"openmetrics", "legacy"}): {"openmetrics": "OpenMetrics V2", "legacy": "OpenMetrics V1"},
}
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def joined(*parts: str) -> str:
    """The non-empty parts of a hint, in order, as one line."""
    text = ""
    for part in filter(None, parts):
        text += _separator(text, part) + part
    return text


def _separator(text: str, part: str) -> str:
    if not text:
        return ""
    if text[-1] in ".?!":
        return " "
    return ". " if part[0].isupper() else "; "


def type_hint(expected: Sequence[str], instance: Json, described: bool) -> str:
    """What to write when ``instance`` has the wrong JSON type (``expected``: the schema's type names).
    ``described``: the schema's description says what the text must be, so "quote it" would mislead."""
    wants_number = "number" in expected or "integer" in expected
    if wants_number and isinstance(instance, str):
        if instance.strip().endswith("%"):
            return "write a plain number, without quotes or '%'"
        if _NUMBER.match(instance):
            return f"write the number without quotes: {instance.strip()}"
    if "integer" in expected and isinstance(instance, float):
        return "write a whole number"
    if wants_number:
        return "write a number without quotes or units"
    if "array" in expected:
        return "write a list: [a, b] or one '- item' per line"
    if "object" in expected:
        return "write a mapping: 'key: value' lines indented under this key"
    if "boolean" in expected:
        return "write true or false"
    if "string" in expected and not described:
        return "write text (in quotes if it would read as a number, true/false or null)"
    return ""


def range_hint(schema: Mapping[str, Any]) -> str:
    """The range a number schema allows, from its minimum and maximum."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"allowed: {low} to {high}"
    if low is not None:
        return f"allowed: {low} or more"
    return f"allowed: {high} or less" if high is not None else ""


def enum_hint(instance: Json, options: Sequence[Json]) -> str:
    """The close match for a value outside an enum, and what the values mean where the table says."""
    names = [str(option) for option in options]
    meanings = ENUM_VALUE_MEANINGS.get(frozenset(names), {})
    closest = _closest(instance, names, meanings) if isinstance(instance, str) else ""
    explained = ", ".join(f"{name} = {meanings[name]}" for name in names if name in meanings)
    suggestion = (
        f"did you mean '{closest}'?" if closest else "write one of the values listed, exactly as shown"
    )
    return joined(suggestion, f"({explained})" if explained else "")


def _closest(word: str, names: Sequence[str], meanings: Mapping[str, str]) -> str:
    folded = _folded(word)
    if not folded:
        return ""
    by_case = [name for name in names if _folded(name) == folded]
    by_meaning = [name for name in names if name in meanings and folded in _folded(meanings[name])]
    for candidates in (by_case, by_meaning):
        if len(candidates) == 1:
            return candidates[0]
    close = did_you_mean(word, names)
    return close.removeprefix("did you mean '").removesuffix("'?") if close.startswith("did") else ""


def _folded(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def size_hint(keyword: str, limit: Json) -> str:
    """What to do about a string, list or mapping of the wrong size."""
    hints = {
        "minLength": "write a value, or leave the key out",
        "maxLength": "shorten it",
        "minItems": "add an item, or leave the key out" if limit == 1 else f"list at least {limit} items",
        "maxItems": f"keep at most {limit} items",
        "minProperties": "add a key, or leave this mapping out",
        "uniqueItems": "list each item once",
    }
    return hints.get(keyword, "")
