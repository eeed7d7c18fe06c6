"""How the real API rewrites what a client sends for a monitor (datadog-api-facts.md, sections a and b).

Every rule here is recorded behaviour: options defaults, thresholds as floats (integers stay integers for
service checks), dropped ``null`` thresholds (kept for composites), ``thresholds: {}`` dropped, trimmed
trailing whitespace, the two ``type`` rewrites, ``priority: 0`` stored as ``null``, and the threshold/query
consistency check. ``on_missing_data`` is echoed whatever its value (the newest recording, 2026-07).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from provisioner.emulator.http_types import ApiError, bad_request
from provisioner.emulator.monitor_query import (
    LOG_BASED_TYPES,
    MONITOR_TYPES,
    InvalidQueryError,
    QueryFacts,
    analyse_query,
)

EDITABLE_FIELDS = (
    "name",
    "type",
    "query",
    "message",
    "tags",
    "options",
    "priority",
    "restricted_roles",
    "draft_status",
    "assets",
)
AGGREGATE_DATA_SOURCES = frozenset({"aggregate_augmented_query", "aggregate_filtered_query"})
DRAFT_STATUSES = frozenset({"draft", "published"})
_AGGREGATION_PHRASES = {
    "avg": "on average",
    "sum": "in total",
    "max": "at least once",
    "min": "at all times",
    "last": "at the last value",
}


def invalid_parameter(name: str) -> ApiError:
    return bad_request(f"The value provided for parameter '{name}' is invalid")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_FIELD_CHECKS: dict[str, Callable[[Any], bool]] = {
    "name": lambda v: v is None or isinstance(v, str),
    "type": lambda v: isinstance(v, str),
    "query": lambda v: isinstance(v, str),
    "message": lambda v: v is None or isinstance(v, str),
    "tags": lambda v: v is None or _is_str_list(v),
    "options": lambda v: v is None or isinstance(v, dict),
    "priority": lambda v: True,  # checked by _priority
    "restricted_roles": lambda v: v is None or _is_str_list(v),
    "draft_status": lambda v: v in DRAFT_STATUSES,
    "assets": lambda v: isinstance(v, list) and all(isinstance(item, dict) for item in v),
}


def editable_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The settable fields present in a request body, type-checked. Read-only and unknown keys are ignored."""
    fields: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name in body:
            if not _FIELD_CHECKS[name](body[name]):
                raise invalid_parameter(name)
            fields[name] = body[name]
    return fields


def normalize_options(sent: Mapping[str, Any] | None, monitor_type: str) -> dict[str, Any]:
    """The options object as the server stores it: defaults added, thresholds as floats."""
    sent = sent or {}
    options = dict(sent)
    if "thresholds" in options:
        thresholds = _stored_thresholds(options["thresholds"], monitor_type)
        if thresholds == {}:
            del options["thresholds"]  # ``thresholds: {}`` comes back without the key
        else:
            options["thresholds"] = thresholds
    if isinstance(options.get("escalation_message"), str):
        options["escalation_message"] = options["escalation_message"].rstrip()
    if "on_missing_data" not in sent:
        options.setdefault("notify_no_data", False)
    options.setdefault("notify_audit", False)
    options.setdefault("include_tags", True)
    options.setdefault("new_host_delay", 300)  # a sent null stays null
    options.setdefault("silenced", {})
    if monitor_type in LOG_BASED_TYPES:
        options.setdefault("groupby_simple_monitor", False)
    return options


def _stored_thresholds(thresholds: Any, monitor_type: str) -> Any:
    """Numbers become floats, except integers sent for a service check; a ``null`` value is dropped,
    except in a composite's thresholds (``{"critical": null}`` is kept)."""
    if thresholds is None:
        return None
    if not isinstance(thresholds, dict):
        raise invalid_parameter("thresholds")
    converted: dict[str, Any] = {}
    for key, value in thresholds.items():
        if value is None:
            if monitor_type == "composite":
                converted[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise invalid_parameter(f"thresholds.{key}")
        if key.endswith("_query") or (monitor_type == "service check" and isinstance(value, int)):
            converted[key] = value
        else:
            converted[key] = _as_float(value, f"thresholds.{key}")
    return converted


def _as_float(value: int | float | str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise invalid_parameter(name) from None


def normalize_priority(value: Any) -> int | None:
    """``null`` clears; ``"5"`` (a string) is accepted and returned as ``5``; ``0`` is accepted and
    returned as ``null``."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise invalid_parameter("priority")
    return value or None


def check_query(monitor_type: str, query: str) -> QueryFacts:
    if monitor_type not in MONITOR_TYPES:
        raise invalid_parameter("type")
    try:
        return analyse_query(monitor_type, query)
    except InvalidQueryError as exc:
        raise bad_request(exc.message) from None


def check_thresholds(facts: QueryFacts, options: Mapping[str, Any]) -> None:
    """The critical threshold must be the one written in the query."""
    thresholds = options.get("thresholds") or {}
    critical = thresholds.get("critical")
    if facts.threshold is None or not isinstance(critical, float) or critical == facts.threshold:
        return
    raise bad_request(
        f"Alert threshold ({critical!r}) does not match that used in the query ({facts.threshold!r})."
    )


def stored_type(monitor_type: str, facts: QueryFacts, options: Mapping[str, Any]) -> str:
    """The two recorded rewrites; every other type is echoed as sent."""
    if monitor_type == "metric alert" and facts.monthly:
        return "query alert"
    if monitor_type == "query alert" and facts.is_formula and _uses_aggregate_queries(options):
        return "metric alert"
    return monitor_type


def _uses_aggregate_queries(options: Mapping[str, Any]) -> bool:
    variables = options.get("variables") or []
    return any(isinstance(v, dict) and v.get("data_source") in AGGREGATE_DATA_SOURCES for v in variables)


def trimmed(text: str | None) -> str:
    """Trailing whitespace is trimmed from query, message and escalation message; ``null`` becomes ``""``."""
    return "" if text is None else text.rstrip()


def generated_name(monitor_type: str, facts: QueryFacts) -> str:
    """The name the server makes up when none is sent (recorded shape for metric queries)."""
    if not facts.metrics or facts.aggregator is None or facts.timeframe is None:
        return f"{monitor_type.capitalize()} monitor"
    scope = ",".join(facts.scopes) or "*"
    phrase = _AGGREGATION_PHRASES[facts.aggregator]
    window = facts.timeframe.replace("_", " ")
    return (
        f"**{facts.metrics[0]}** over **{scope}** was **{facts.comparator} {facts.threshold!r}** "
        f"{phrase} during the **{window}**."
    )
