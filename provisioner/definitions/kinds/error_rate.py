"""error-rate: the data-plane error ratio, errors / requests, guarded against low traffic.

The guard divides by ``clamp_min(requests, min_requests)``: at or above ``min_requests`` requests in the
window the value is the true error ratio; below it, the errors are divided by ``min_requests`` instead,
so the ratio is damped. With min_requests 100 and a 5% threshold, 1 error in 2 requests reads 0.01 (no
alert); it takes 5 errors to alert while traffic stays under 100 requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields, monitor_body
from provisioner.definitions.kinds.mesh import (
    MESH_MONITOR_TYPE,
    by_clause,
    scope,
    scope_filter,
    services_in_scope,
    window,
)
from provisioner.definitions.query import format_number
from provisioner.model import Json

SIGNAL = "error-rate"
DEFAULT_WINDOW = "5m"
DEFAULT_MIN_REQUESTS = 100
SERVICE_TAGS = {"apm": "service", "istio": "destination_service_name"}
_LEVELS = ("critical", "warning", "critical_recovery", "warning_recovery")


def compile_error_rate(fields: Fields, context: CompileContext) -> CompiledMonitor:
    source = str(fields.get("source") or "apm")
    service_tag = str(fields.get("service_tag") or SERVICE_TAGS[source])
    filters = scope(fields, context, service_tag)
    errors, requests = _terms(source, filters, list(fields.get("group_by") or ()))
    min_requests = int(fields.get("min_requests", DEFAULT_MIN_REQUESTS))
    denominator = f"clamp_min({requests}, {min_requests})" if min_requests > 0 else requests
    thresholds, findings = _ratio_thresholds(fields.get("thresholds") or {})
    critical = thresholds.get("critical", 0)
    query = f"sum({window(fields, DEFAULT_WINDOW)}):{errors} / {denominator} > {format_number(critical)}"
    options = {**(fields.get("options") or {}), "thresholds": thresholds}
    body = monitor_body(fields, context, MESH_MONITOR_TYPE, query, options)
    watched = (context.service,) if context.service else services_in_scope(filters, service_tag)
    return CompiledMonitor(body, tuple(findings), SIGNAL, watched)


def _terms(source: str, filters: list[str], group_by: list[str]) -> tuple[str, str]:
    """(errors, requests) metric terms for the source."""
    by = by_clause(group_by)
    if source == "istio":
        # Both proxies report each request; count it once, where it is received.
        received = ["reporter:destination", *filters]
        metric = "istio.mesh.request.count.total"
        errors = f"sum:{metric}{scope_filter([*received, 'response_code:5*'])}{by}.as_count()"
        return errors, f"sum:{metric}{scope_filter(received)}{by}.as_count()"
    errors = f"sum:trace.envoy.proxy.errors{scope_filter(filters)}{by}.as_count()"
    return errors, f"sum:trace.envoy.proxy.hits{scope_filter(filters)}{by}.as_count()"


def _ratio_thresholds(given: Mapping[str, Json]) -> tuple[dict[str, Json], list[Finding]]:
    thresholds: dict[str, Json] = {}
    findings: list[Finding] = []
    for level in _LEVELS:
        value = given.get(level)
        if value is None:
            continue
        ratio = as_ratio(value)
        thresholds[level] = ratio
        if ratio > 1:
            message = f"{level} {value} is a ratio above 1 ({format_number(ratio * 100)}% errors)"
            hint = "write a percent as '5%', or a ratio such as 0.05"
            findings.append(Finding(f"/thresholds/{level}", "ratio-out-of-range", message, hint))
    if "critical" not in thresholds:
        hint = "set thresholds.critical, e.g. '5%' (here or in every service entry)"
        findings.append(
            Finding("/thresholds", "missing-threshold", "error-rate needs a critical threshold", hint)
        )
    return thresholds, findings


def as_ratio(value: Json) -> float:
    """0.05 stays 0.05; "5%" becomes 0.05 (exactly, through Decimal)."""
    if isinstance(value, str):
        ratio = float(Decimal(value.rstrip("%")) / 100)
        return int(ratio) if ratio.is_integer() else ratio
    return value  # type: ignore[no-any-return]
