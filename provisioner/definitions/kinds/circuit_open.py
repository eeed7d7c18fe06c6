"""circuit-open: a circuit that opened, seen through one of three signals. Outlier detection and circuit
breakers are enforced by the **calling** proxy on its outbound cluster to the destination, so Envoy's
stats name the destination only in ``envoy_cluster`` (``service`` there is the caller): these monitors
group and filter by ``envoy_cluster``, whose value Datadog normalises (``outbound|8080||host`` →
``outbound_8080__host``).

- ``outlier-ejection``: ``sum(<window>):`` the hosts currently ejected (``ejections_active``, a gauge
  sampled once per check run) ``+`` the ejections enforced (a counter: an ejection shorter than the
  sampling interval still counts) ``+`` the ejections outlier detection wanted but could not make
  (``ejections_overflow``: ``maxEjectionPercent`` reached), by ``envoy_cluster``. Legacy Envoy check: the
  all-detector ``ejections_enforced_total``; openmetrics: one counter per detector an Istio
  DestinationRule can configure. Envoy creates all of a cluster's outlier stats together, so the terms
  report together and the sum is safe. The value is host-samples ejected plus ejections; the default
  critical 0 alerts on any ejection. The gauge reports whenever collection works: missing data notifies.
- ``circuit-breaker``: ``sum(<window>):`` the breaker gauges (1 while open, sampled once per check run) for
  each entry of ``breakers`` (default ``[rq_open, cx_open, rq_pending_open]``) ``+`` the requests that
  overflowed the connection pool or a request breaker (``upstream_rq_pending_overflow``, a counter: a
  breaker open for less than the sampling interval still counts), by ``envoy_cluster``. The value is
  open-breaker samples plus overflowed requests; the default critical 0 alerts on any. Envoy creates a
  cluster's breaker gauges and counters together (once proxyStatsMatcher keeps both stats), so the sum is
  safe. Missing data notifies.
- ``overflow``: requests the caller's proxy refused with 503 ``UO`` (connection-pool overflow: a breaker
  open) or ``UH`` (no healthy upstream: every host ejected, or no ready endpoint at all), seen by the
  caller (``reporter:source``), by ``destination_service_name``. These series exist only after such a
  request: a window without data counts 0.

Per-service expansion filters the destination: ``envoy_cluster`` built from the service (and the entry's
``namespace`` and ``port``; a host name works too), or ``destination_service_name`` for overflow.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields
from provisioner.definitions.kinds.mesh import (
    EVALUATE_AS_ZERO,
    NOTIFY_NO_DATA,
    added,
    any_of,
    count_monitor,
    scope,
    term,
    watched_services,
    window,
)
from provisioner.mesh import catalogue

DEFAULT_WINDOW = "5m"
DEFAULT_SIGNAL = "outlier-ejection"
DEFAULT_BREAKERS = ("rq_open", "cx_open", "rq_pending_open")
ENVOY_SIGNALS = ("outlier-ejection", "circuit-breaker")
DESTINATION_TAGS = {  # per signal: the tag that names the destination (default group-by, service filter)
    "outlier-ejection": "envoy_cluster",
    "circuit-breaker": "envoy_cluster",
    "overflow": "destination_service_name",
}
OVERFLOW_FLAGS = ("UO", "UH")


def compile_circuit_open(fields: Fields, context: CompileContext) -> CompiledMonitor:
    signal = str(fields.get("signal") or DEFAULT_SIGNAL)
    destination = DESTINATION_TAGS[signal]
    filters = [*scope(fields), *_destination_filters(signal, fields, context)]
    group_by = list(fields.get("group_by", [destination]) or ())
    terms = _terms(signal, fields, filters, group_by, context)
    expression = f"sum({window(fields, DEFAULT_WINDOW)}):{terms}"
    missing_data = EVALUATE_AS_ZERO if signal == "overflow" else NOTIFY_NO_DATA
    services = watched_services(
        filters, context, "requests" if signal == "overflow" else "outlier_ejections_active"
    )
    findings = (*_breakers_findings(signal, fields), *_clusters_findings(signal, fields))
    return count_monitor(fields, context, catalogue.CIRCUIT_OPEN, expression, services, missing_data, findings)


def _destination_filters(signal: str, fields: Fields, context: CompileContext) -> list[str]:
    namespace = str(fields["namespace"]) if fields.get("namespace") else None
    filters = []
    if fields.get("clusters") and signal in ENVOY_SIGNALS:
        clusters = [catalogue.envoy_cluster_value(str(c)) for c in fields["clusters"]]
        filters.append(any_of("envoy_cluster", clusters))
    if context.service is None:
        return filters
    if fields.get("service_tag"):
        return [*filters, f"{fields['service_tag']}:{context.service}"]
    if signal == "overflow":
        found = [f"destination_service_name:{context.service}"]
        return [*filters, *found, *([f"destination_service_namespace:{namespace}"] if namespace else [])]
    port = int(fields["port"]) if fields.get("port") is not None else None
    return [*filters, f"envoy_cluster:{catalogue.envoy_cluster_value(context.service, namespace, port)}"]


def _terms(
    signal: str, fields: Fields, filters: list[str], group_by: list[str], context: CompileContext
) -> str:
    if signal == "overflow":
        refused = [*filters, "reporter:source", any_of("response_flags", OVERFLOW_FLAGS)]
        return term(context, "requests", refused, group_by)
    if signal == "circuit-breaker":
        breakers = [str(b) for b in fields.get("breakers") or DEFAULT_BREAKERS]
        gauges = [term(context, f"circuit_breaker_{breaker}", filters, group_by, "max") for breaker in breakers]
        return added([*gauges, term(context, "upstream_rq_pending_overflow", filters, group_by)])
    return added([term(context, key, filters, group_by) for key in outlier_keys(context)])


def outlier_keys(context: CompileContext) -> Sequence[str]:
    """The outlier-ejection terms this environment's Envoy check names."""
    enforced = (
        ["outlier_ejections_enforced"]
        if catalogue.available("outlier_ejections_enforced", context.modes)
        else [f"outlier_ejections_enforced_{detector}" for detector in catalogue.ISTIO_OUTLIER_DETECTORS]
    )
    return ["outlier_ejections_active", *enforced, "outlier_ejections_overflow"]


def _breakers_findings(signal: str, fields: Fields) -> tuple[Finding, ...]:
    if "breakers" not in fields or signal == "circuit-breaker":
        return ()
    message = f"breakers only applies to signal circuit-breaker, not {signal}"
    hint = "remove breakers or set signal: circuit-breaker"
    return (Finding("/breakers", "field-not-for-signal", message, hint, at_key=True),)


def _clusters_findings(signal: str, fields: Fields) -> tuple[Finding, ...]:
    if "clusters" not in fields or signal in ENVOY_SIGNALS:
        return ()
    message = "clusters (Envoy cluster names) only applies to outlier-ejection and circuit-breaker"
    hint = "for overflow, name the destinations with services: (destination_service_name)"
    return (Finding("/clusters", "field-not-for-signal", message, hint, at_key=True),)
