"""error-rate: the data-plane error ratio, errors / requests, alerting only with enough traffic.

What is computed, under Datadog's ``as_count()`` evaluation (each operand is summed over the window
first, then the arithmetic):

- the **ratio** monitor ``<id>:ratio``: ``sum(<window>): errors.as_count() / requests.as_count() >
  critical``, i.e. (errors in the window) / (requests in the window);
- the **traffic** monitor ``<id>:traffic``: ``sum(<window>): requests.as_count() >= min_requests``, in
  "Alert" exactly when the window holds at least ``min_requests`` requests;
- the **composite** ``<id>``: ``ratio && traffic``. It alerts (or warns) when the ratio does and the window
  holds at least ``min_requests`` requests; below that it is OK whatever the ratio. The composite carries
  the name, message, handles and priority; the two parts never notify. ``min_requests: 0`` compiles the
  ratio monitor alone, as ``<id>``.

Why not a guard inside one query, ``errors / clamp_min(requests, N)``: the reading this project adopts is
that functions such as ``clamp_min`` apply per rollup point before the window sum, which divides by the sum
over buckets of max(bucket, N) and damps real errors at moderate traffic (unverified: the reference says
how ``clamp_min`` composes with the ``as_count()`` path is undocumented). Under the other reading (after
the sum) it would only stop the division, never the alert. Neither guarantees "below N requests in the
window it does not alert"; the composite does under either reading.

The composite's message gets the thresholds written in as percents where it says ``{{threshold}}`` and
``{{warn_threshold}}``: a composite has no thresholds of its own for Datadog to fill.

The errors series only exists once an error happened, so the ratio evaluates a window without data as OK
(``on_missing_data: resolve``) and the traffic monitor as 0 requests (``default``); whether the metrics
report at all is the metrics-reporting check's job (plan and audit).

Sources:
- ``istio``: Istio's request counter with ``reporter:destination``, errors ``response_code:5*``. Each
  request is counted once, by the proxy of the service that receives it (that service owns the
  threshold). 503s the caller's own proxy generates (UO, UH, UF: overflow, no healthy upstream,
  connection failure) never reach the destination: circuit-open's overflow signal watches them.
  Per-service filter: ``destination_service_name`` (+ ``destination_service_namespace`` with ``namespace``).
- ``apm`` (default): Envoy's APM trace metrics, errors / hits. Under Istio the APM service is
  ``<app>.<namespace>``, and a pod's spans count requests in both directions (what it serves and what it
  calls: trace metrics carry no span kind). Per-service filter: ``service:<app>.<namespace>``
  (``<app>.*`` without ``namespace``). With ``services:`` a service's threshold then also counts the
  requests it sends (and their errors): validate warns, ``source: istio`` counts each request once, at the
  receiving service.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields
from provisioner.definitions.kinds.mesh import (
    EVALUATE_AS_ZERO,
    RESOLVE,
    Part,
    combined,
    scope,
    term,
    watched_services,
    window,
)
from provisioner.definitions.query import format_number
from provisioner.mesh import catalogue
from provisioner.model import Json

DEFAULT_WINDOW = "5m"
DEFAULT_MIN_REQUESTS = 100
SOURCES = {  # source -> (errors, requests, filters every term gets, errors' extra filter)
    "istio": ("requests", "requests", ["reporter:destination"], "response_code:5*"),
    "apm": ("apm_errors", "apm_hits", [], None),
}
_LEVELS = ("critical", "warning", "critical_recovery", "warning_recovery")
_SHOWN = (("threshold", "critical"), ("warn_threshold", "warning"))  # message variable -> level


def compile_error_rate(fields: Fields, context: CompileContext) -> CompiledMonitor:
    source = str(fields.get("source") or "apm")
    errors_key, requests_key, always, errors_only = SOURCES[source]
    filters = [*always, *scope(fields), *service_filters(source, fields, context)]
    group_by = list(fields.get("group_by") or ())
    errors = term(context, errors_key, [*filters, *([errors_only] if errors_only else [])], group_by)
    requests = term(context, requests_key, filters, group_by)
    thresholds, findings = _ratio_thresholds(fields.get("thresholds") or {})
    if source == "apm" and context.service is not None:
        findings.append(_both_directions("/source" if "source" in fields else "/services"))
    span = f"sum({window(fields, DEFAULT_WINDOW)}):"
    critical = format_number(thresholds.get("critical", 0))
    parts = [Part("ratio", "error ratio", f"{span}{errors} / {requests} > {critical}", thresholds, RESOLVE)]
    min_requests = int(fields.get("min_requests", DEFAULT_MIN_REQUESTS))
    if min_requests > 0:
        traffic = f"{span}{requests} >= {min_requests}"
        title = f"at least {min_requests} requests"
        parts.append(Part("traffic", title, traffic, {"critical": min_requests}, EVALUATE_AS_ZERO))
    services = watched_services(filters, context, requests_key)
    shown = {name: percent(thresholds[level]) for name, level in _SHOWN if level in thresholds}
    return combined(fields, context, catalogue.ERROR_RATE, parts, "&&", services, findings, shown)


@lru_cache(maxsize=256, typed=True)  # pure, and the same few thresholds recur in every definition
def percent(ratio: Json) -> str:
    """0.05 → "5%", 0.005 → "0.5%" (exactly, through Decimal)."""
    value = Decimal(str(ratio)) * 100
    return f"{format_number(int(value) if value == value.to_integral_value() else float(value))}%"


def _both_directions(pointer: str) -> Finding:
    message = (
        "source apm counts each service's spans in both directions: with services:, a service's ratio "
        "includes the requests it sends to others (and their errors), not only those it receives"
    )
    hint = "source: istio counts each request once, at the receiving service (reporter:destination)"
    return Finding(pointer, "apm-counts-both-directions", message, hint, "warning", at_key=True)


def service_filters(source: str, fields: Fields, context: CompileContext) -> list[str]:
    """The filters that keep one expanded service's traffic, with the source's own spelling of it."""
    if context.service is None:
        return []
    namespace = fields.get("namespace")
    if fields.get("service_tag"):
        return [f"{fields['service_tag']}:{context.service}"]
    if source == "apm":
        return [f"service:{catalogue.apm_service_value(context.service, namespace and str(namespace))}"]
    found = [f"destination_service_name:{context.service}"]
    return [*found, f"destination_service_namespace:{namespace}"] if namespace else found


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
        return _percent_as_ratio(value)
    return value  # type: ignore[no-any-return]


@lru_cache(maxsize=256)  # pure, and the same few thresholds recur in every definition
def _percent_as_ratio(text: str) -> float:
    ratio = float(Decimal(text.rstrip("%")) / 100)
    return int(ratio) if ratio.is_integer() else ratio
