"""circuit-open: a circuit that opened, seen through one of three signals.

- outlier-ejection: hosts ejected by outlier detection (``envoy.cluster.outlier_detection.ejections_active``,
  a gauge), by ``envoy_cluster``;
- circuit-breaker: Envoy circuit breakers open (``envoy.cluster.circuit_breakers.<breaker>``, 0/1 gauges);
- overflow: requests Envoy refused because a breaker was open (``response_flags:UO`` on
  ``istio.mesh.request.count.total``), by ``destination_service``.
"""

from __future__ import annotations

from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields
from provisioner.definitions.kinds.mesh import (
    any_of,
    by_clause,
    count_monitor,
    scope,
    scope_filter,
    services_in_scope,
    sum_of,
    window,
)

SIGNAL = "circuit-open"
DEFAULT_WINDOW = "5m"
DEFAULT_SIGNAL = "outlier-ejection"
DEFAULT_BREAKERS = ("rq_open", "cx_open", "rq_pending_open")
# Per signal: the tag 'clusters' filters on, the default group-by, the default per-service tag.
CLUSTER_TAGS = {
    "outlier-ejection": "envoy_cluster",
    "circuit-breaker": "envoy_cluster",
    "overflow": "destination_service",
}
SERVICE_TAGS = {
    "outlier-ejection": "service",
    "circuit-breaker": "service",
    "overflow": "destination_service_name",
}


def compile_circuit_open(fields: Fields, context: CompileContext) -> CompiledMonitor:
    signal = str(fields.get("signal") or DEFAULT_SIGNAL)
    service_tag = str(fields.get("service_tag") or SERVICE_TAGS[signal])
    filters = scope(fields, context, service_tag)
    if fields.get("clusters"):
        filters.append(any_of(CLUSTER_TAGS[signal], [str(c) for c in fields["clusters"]]))
    group_by = list(fields.get("group_by", [CLUSTER_TAGS[signal]]) or ())
    terms = _terms(signal, fields, filters, group_by)
    expression = f"{_aggregation(signal)}({window(fields, DEFAULT_WINDOW)}):{terms}"
    watched = (context.service,) if context.service else services_in_scope(filters, service_tag)
    compiled = count_monitor(fields, context, SIGNAL, expression, watched)
    return CompiledMonitor(
        compiled.body, _breakers_findings(signal, fields), compiled.signal, compiled.services
    )


def _aggregation(signal: str) -> str:
    return "sum" if signal == "overflow" else "max"


def _terms(signal: str, fields: Fields, filters: list[str], group_by: list[str]) -> str:
    by = by_clause(group_by)
    if signal == "overflow":
        overflowed = scope_filter([*filters, "response_flags:UO"])
        return f"sum:istio.mesh.request.count.total{overflowed}{by}.as_count()"
    if signal == "circuit-breaker":
        breakers = [str(b) for b in fields.get("breakers") or DEFAULT_BREAKERS]
        return sum_of(
            [f"max:envoy.cluster.circuit_breakers.{b}{scope_filter(filters)}{by}" for b in breakers]
        )
    return f"max:envoy.cluster.outlier_detection.ejections_active{scope_filter(filters)}{by}"


def _breakers_findings(signal: str, fields: Fields) -> tuple[Finding, ...]:
    if "breakers" not in fields or signal == "circuit-breaker":
        return ()
    message = f"breakers only applies to signal circuit-breaker, not {signal}"
    return (
        Finding(
            "/breakers",
            "field-not-for-signal",
            message,
            "remove breakers or set signal: circuit-breaker",
            at_key=True,
        ),
    )
