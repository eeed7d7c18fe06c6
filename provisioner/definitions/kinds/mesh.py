"""Query-building blocks shared by the four mesh kinds (scope, group-by, window, count thresholds)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from provisioner.definitions.kinds.base import (
    CompileContext,
    CompiledMonitor,
    Fields,
    monitor_body,
    ordered_thresholds,
)
from provisioner.definitions.query import format_number
from provisioner.model import Json

MESH_MONITOR_TYPE = "query alert"


def mesh_field_pointer(body_pointer: str) -> str:
    """Mesh kinds take thresholds at the top level and build the query themselves."""
    if body_pointer.startswith("/options/thresholds"):
        return body_pointer.replace("/options/thresholds", "/thresholds", 1)
    if body_pointer in ("/query", "/type"):
        return ""
    return body_pointer


def scope_filter(filters: Sequence[str]) -> str:
    return "{" + ",".join(filters) + "}" if filters else "{*}"


def by_clause(group_by: Sequence[str]) -> str:
    return " by {" + ",".join(group_by) + "}" if group_by else ""


def any_of(tag: str, values: Sequence[str]) -> str:
    """``tag:a`` or ``(tag:a OR tag:b)``."""
    terms = [f"{tag}:{value}" for value in values]
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def window(fields: Fields, default: str) -> str:
    return f"last_{fields.get('window') or default}"


def scope(fields: Fields, context: CompileContext, service_tag: str | None = None) -> list[str]:
    """The definition's scope, plus the expanded service's filter."""
    filters = [str(item) for item in fields.get("scope") or ()]
    if context.service is not None and service_tag is not None:
        filters.append(f"{service_tag}:{context.service}")
    return filters


def sum_of(terms: Sequence[str]) -> str:
    """Terms added together; each defaults to zero, so one silent series does not blank the sum."""
    if len(terms) == 1:
        return terms[0]
    return " + ".join(f"default_zero({term})" for term in terms)


def count_thresholds(fields: Fields) -> dict[str, Json]:
    """Count thresholds: critical defaults to 0 (alert on any occurrence)."""
    given: Mapping[str, Json] = fields.get("thresholds") or {}
    return ordered_thresholds({"critical": 0, **given})


def count_monitor(
    fields: Fields, context: CompileContext, signal: str, expression: str, services: tuple[str, ...] = ()
) -> CompiledMonitor:
    """A monitor alerting when ``expression`` goes above the critical count."""
    thresholds = count_thresholds(fields)
    query = f"{expression} > {format_number(thresholds['critical'])}"
    options = {**(fields.get("options") or {}), "thresholds": thresholds}
    body = monitor_body(fields, context, MESH_MONITOR_TYPE, query, options)
    return CompiledMonitor(body, signal=signal, services=services)


def services_in_scope(filters: Sequence[str], service_tag: str) -> tuple[str, ...]:
    prefix = service_tag + ":"
    return tuple(item[len(prefix) :] for item in filters if item.startswith(prefix))
