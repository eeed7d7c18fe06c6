"""The mesh metric catalogue: Datadog names, types and tag meanings of the Istio, Envoy and APM metrics
the mesh signals use, per collection mode. The one place that knows them (an architecture test keeps every
such name out of other modules).

Facts, with their sources, are in ``shared/reference/istio-metrics.md``; the short version:

- Datadog's **Istio check** runs in one of two modes per instance: *legacy* (OpenMetrics V1, the code
  default and what the shipped ``auto_conf.yaml`` for the proxies runs) or *openmetrics* (V2,
  ``use_openmetrics: true``, what Datadog's documented istiod annotation sets). V2 renames counters to
  ``<name>.count`` (the request counter ``istio.mesh.request.count``, no ``.total``); V1 data-plane
  counters are submitted twice, as a cumulative gauge ``<name>`` and a monotonic count ``<name>.total``,
  and its histogram ``.sum``/``.count`` are cumulative gauges (``.sum.total``/``.count.total`` are the
  counts). The mode is set per collector: data plane (proxies, :15020) and control plane (istiod, :15014).
- Envoy's outlier-detection and circuit-breaker stats come from the **Envoy check**, which only runs on
  the sidecars when pointed at :15090, and only for the stats Istio's ``proxyStatsMatcher`` keeps (by
  default it keeps none of them). Its V2 mode (``openmetrics_endpoint``) suffixes counters with ``.count``.
- **APM** trace metrics (``trace.envoy.proxy.*``) need Envoy's Datadog tracer; their naming has no mode.

Defaults (``DEFAULT_MODES``) mirror a cluster set up by Datadog's Istio documentation: istiod
annotated for openmetrics, the proxies on the shipped auto-configuration (legacy), the Envoy check on
``openmetrics_endpoint`` as the Envoy integration's Istio section shows. An environment chooses its own
with ``istio:`` in provisioner.yaml (``modes_of``).

The API the rest of provisioner uses:

- ``METRICS`` / ``metric(key)``: every metric by catalogue key; ``submission(key, modes)`` the Datadog name
  and type one environment's collector submits (KeyError when that mode submits none);
- ``term(key, scope, group_by, modes)``: a query term with ``.as_count()`` exactly on counts;
- ``lookup(name)`` / ``counterparts(name)``: what a Datadog name is, per mode, and its other modes' names;
- ``signals_of(name, filters, group_by)``: which of the four mesh signals a term watches;
- ``counts_events(name, filters)``: whether a term's series only exist once an event happened;
- ``SERVICE_TAGS``, ``EXCLUDED_BY_DEFAULT``, ``envoy_cluster_value``, ``apm_service_value``,
  ``service_of``: the tags that name a service, on which side of a request, and how their values read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Literal

from provisioner.model import CollectionModes, Environment, IstioMode

Mode = IstioMode
MODES: tuple[Mode, ...] = ("openmetrics", "legacy")
MetricType = Literal["count", "gauge", "distribution"]

ERROR_RATE = "error-rate"
SIDECAR_INJECTION = "sidecar-injection"
CONFIG_PROPAGATION = "config-propagation"
CIRCUIT_OPEN = "circuit-open"


class Collector(StrEnum):
    """What submits a metric to Datadog; each but APM has its own collection mode in an environment."""

    DATA_PLANE = "data_plane"  # Istio check, istio_mesh_endpoint (the proxies' merged :15020 endpoint)
    CONTROL_PLANE = "control_plane"  # Istio check, istiod_endpoint (:15014)
    ENVOY = "envoy"  # Envoy check pointed at the sidecars' :15090 Envoy endpoint
    APM = "apm"  # Envoy's Datadog tracer: trace metrics, one naming whatever the checks run


# What a cluster set up by Datadog's Istio documentation runs: the proxies on the shipped auto_conf.yaml
# (legacy: `use_openmetrics` is commented out there and the check's code default is V1), istiod with the
# documented `ad.datadoghq.com/discovery.checks` annotation (`"use_openmetrics": "true"`), and the Envoy
# check with the `openmetrics_endpoint` the Envoy integration's Istio section shows.
DEFAULT_MODES = CollectionModes(data_plane="legacy", control_plane="openmetrics", envoy="openmetrics")


def modes_of(environment: Environment) -> CollectionModes:
    """The environment's collection modes: its ``istio:`` setting, else the documented defaults."""
    return environment.istio if environment.istio is not None else DEFAULT_MODES


@dataclass(frozen=True)
class Submission:
    """One Datadog metric as one mode submits it."""

    name: str
    type: MetricType

    @property
    def is_count(self) -> bool:
        return self.type == "count"


@dataclass(frozen=True)
class Metric:
    """A metric the mesh signals use, under every mode that submits it."""

    key: str
    collector: Collector
    submissions: Mapping[Mode, Submission]  # a mode missing here does not submit the metric
    tags: tuple[str, ...]  # tag keys the series carry (with the shipped check configurations)
    description: str
    on_event: bool = False  # the series appears with the first event it counts: absent is normal
    cumulative: bool = False  # a counter's raw running total sent as a gauge: not a per-window count
    counted_by: str = ""  # cumulative: the catalogue key of the metric counting the same per interval
    stats: tuple[str, ...] = ()  # Envoy stats that proxyStatsMatcher must keep for it to exist
    source: str = ""

    def submission(self, modes: CollectionModes = DEFAULT_MODES) -> Submission | None:
        mode = modes.of(self.collector)
        if mode is None:
            return next(iter(self.submissions.values()))
        return self.submissions.get(mode)

    def names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.submissions.values())

    def side(self, tag_key: str) -> Side | None:
        """Which side of a request a service tag's value names on this metric's series (None: the tag does
        not name a service)."""
        if tag_key == "service" and "envoy_cluster" in self.tags:
            return Side.CALLER  # outbound cluster stats are kept by the calling pod's sidecar
        tag = SERVICE_TAGS.get(tag_key)
        return tag.side if tag is not None else None


def _both(name: str, metric_type: MetricType) -> Mapping[Mode, Submission]:
    same = Submission(name, metric_type)
    return {"openmetrics": same, "legacy": same}


def _modes(
    openmetrics: tuple[str, MetricType] | None, legacy: tuple[str, MetricType] | None
) -> Mapping[Mode, Submission]:
    found: dict[Mode, Submission] = {}
    if openmetrics is not None:
        found["openmetrics"] = Submission(*openmetrics)
    if legacy is not None:
        found["legacy"] = Submission(*legacy)
    return found


# The Agent's cluster tag: only there when the Agent knows the cluster's name (istio-metrics.md §3).
CLUSTER_TAG = "kube_cluster_name"
_REQUEST_TAGS = (
    "reporter",
    "destination_service_name",
    "destination_service_namespace",
    "destination_app",
    "destination_workload",
    "response_code",
    "response_flags",
    "grpc_response_status",
    "kube_cluster_name",
    "kube_namespace",
    "pod_name",
    "host",
)
_ISTIOD_TAGS = ("kube_cluster_name", "kube_namespace", "pod_name", "host")
_ENVOY_TAGS = ("envoy_cluster", "service", "kube_cluster_name", "kube_namespace", "pod_name", "host")
# Trace metrics carry the span's tags and the host's tags (istio-metrics.md §6); the Agent adds the cluster
# name as the host tag kube_cluster_name when it knows it.
_APM_TAGS = (
    "env",
    "service",
    "version",
    "resource_name",
    "http.status_code",
    "http.status_class",
    "host",
    "kube_cluster_name",
)
_OUTLIER_STATS = ("outlier_detection",)
_BREAKER_STATS = ("circuit_breakers",)
# Envoy's outlier detectors an Istio DestinationRule can configure (consecutive5xxErrors,
# consecutiveGatewayErrors, consecutiveLocalOriginFailures); V2 has only per-detector counters.
ISTIO_OUTLIER_DETECTORS = (
    "consecutive_5xx",
    "consecutive_gateway_failure",
    "consecutive_local_origin_failure",
)
ENVOY_CIRCUIT_BREAKERS = ("cx_open", "cx_pool_open", "rq_open", "rq_pending_open", "rq_retry_open")
XDS_TYPES = ("cds", "eds", "lds", "rds")


# Where a V2 (openmetrics) name comes from. Listed: Datadog's Istio README and V2 test metrics name it.
# Derived: no Datadog document or test lists it; it follows from integrations-core's source (istio
# metrics.py ``construct_metrics_config`` strips ``_total`` from the V1 name, and the V2 counter transformer
# appends ``.count``) and has not been observed in a Datadog org.
_V2_LISTED = "V2 name listed in Datadog's Istio README and V2 test metrics"
_V2_DERIVED = (
    "V2 name derived, not observed in an org: integrations-core istio metrics.py construct_metrics_config "
    "strips _total, the V2 counter transformer appends .count"
)


def _metrics() -> tuple[Metric, ...]:
    data, istiod, envoy, apm = Collector.DATA_PLANE, Collector.CONTROL_PLANE, Collector.ENVOY, Collector.APM
    found = [
        # --- data plane (istio_requests_total, istio_request_duration_milliseconds) ----------
        Metric(
            "requests",
            data,
            _modes(("istio.mesh.request.count", "count"), ("istio.mesh.request.count.total", "count")),
            _REQUEST_TAGS,
            "requests seen by a proxy (istio_requests_total), once per reporter",
            source="istio-metrics.md §2, §3",
        ),
        Metric(
            "requests_cumulative",
            data,
            _modes(None, ("istio.mesh.request.count", "gauge")),
            _REQUEST_TAGS,
            "legacy mode only: the request counter's running total, sent as a gauge",
            cumulative=True,
            counted_by="requests",
            source="istio-metrics.md §2",
        ),
        Metric(
            "request_duration_sum",
            data,
            _modes(
                ("istio.mesh.request.duration.milliseconds.sum", "count"),
                ("istio.mesh.request.duration.milliseconds.sum.total", "count"),
            ),
            _REQUEST_TAGS,
            "total request duration in ms (histogram sum)",
            source="istio-metrics.md §2",
        ),
        Metric(
            "request_duration_count",
            data,
            _modes(
                ("istio.mesh.request.duration.milliseconds.count", "count"),
                ("istio.mesh.request.duration.milliseconds.count.total", "count"),
            ),
            _REQUEST_TAGS,
            "requests timed (histogram count)",
            source="istio-metrics.md §2",
        ),
        Metric(
            "request_duration_sum_cumulative",
            data,
            _modes(None, ("istio.mesh.request.duration.milliseconds.sum", "gauge")),
            _REQUEST_TAGS,
            "legacy mode only: running total of request duration since the pod started, as a gauge",
            cumulative=True,
            counted_by="request_duration_sum",
            source="istio-metrics.md §2",
        ),
        Metric(
            "request_duration_count_cumulative",
            data,
            _modes(None, ("istio.mesh.request.duration.milliseconds.count", "gauge")),
            _REQUEST_TAGS,
            "legacy mode only: running total of timed requests since the pod started, as a gauge",
            cumulative=True,
            counted_by="request_duration_count",
            source="istio-metrics.md §2",
        ),
        # --- control plane (istiod) ---------------------------------------------------------
        *(
            Metric(
                f"sidecar_injection_{outcome}",
                istiod,
                _modes(
                    (f"istio.sidecar_injection.{outcome}.count", "count"),
                    (f"istio.sidecar_injection.{outcome}_total", "count"),
                ),
                _ISTIOD_TAGS,
                f"sidecar injection webhook calls: {meaning}",
                on_event=True,
                source=f"istio-metrics.md §2; {source}",
            )
            for outcome, meaning, source in (
                ("requests", "all", _V2_LISTED),
                ("success", "injected", _V2_LISTED),
                ("failure", "failed (the pod starts without a sidecar or is refused)", _V2_DERIVED),
                ("skip", "skipped (injection disabled for the pod or namespace)", _V2_DERIVED),
            )
        ),
        Metric(
            "config_validation_failures",
            istiod,
            _modes(
                ("istio.galley.validation.failed.count", "count"), ("istio.galley.validation.failed", "count")
            ),
            (*_ISTIOD_TAGS, "group", "version", "resource", "reason"),
            "config refused by istiod's validating admission webhook (at kubectl apply)",
            on_event=True,
            source="istio-metrics.md §2",
        ),
        Metric(
            "xds_pushes",
            istiod,
            _modes(("istio.pilot.xds.pushes.count", "count"), ("istio.pilot.xds.pushes", "count")),
            (*_ISTIOD_TAGS, "type"),
            "xDS pushes by type; type:<x>_senderr counts pushes istiod failed to send",
            source="istio-metrics.md §2",
        ),
        Metric(
            "xds_rejects",
            istiod,
            _modes(
                ("istio.pilot.total_xds_rejects.count", "count"), ("istio.pilot.total_xds_rejects", "count")
            ),
            (*_ISTIOD_TAGS, "type"),
            "xDS responses proxies rejected (NACK): config that reached a proxy and was refused",
            on_event=True,
            source=f"istio-metrics.md §2; {_V2_DERIVED}",
        ),
        *(
            Metric(
                f"xds_{xds_type}_rejects",
                istiod,
                _both(f"istio.pilot.xds.{xds_type}_reject", "gauge"),
                (*_ISTIOD_TAGS, "node", "err"),
                f"{xds_type.upper()} rejects per proxy node: a running total Istio exports as a gauge (kept for "
                "compatibility; total_xds_rejects counts the same NACKs)",
                on_event=True,
                cumulative=True,
                counted_by="xds_rejects",
                source="istio-metrics.md §2 (Istio exports a gauge; submitted type unverified); istio/istio "
                "pilot/pkg/xds/monitoring.go IncrementXDSRejects increments it, never resets it",
            )
            for xds_type in XDS_TYPES
        ),
        Metric(
            "xds_internal_errors",
            istiod,
            _modes(
                ("istio.pilot.total_xds_internal_errors.count", "count"),
                ("istio.pilot.total_xds_internal_errors", "count"),
            ),
            _ISTIOD_TAGS,
            "istiod's internal xDS errors",
            on_event=True,
            source=f"istio-metrics.md §2; {_V2_DERIVED}",
        ),
        Metric(
            "connected_proxies",
            istiod,
            _both("istio.pilot.xds", "gauge"),
            (*_ISTIOD_TAGS, "version"),
            "proxies connected to istiod",
            source="istio-metrics.md §2",
        ),
        # --- Envoy check on the sidecars ----------------------------------------------------
        Metric(
            "outlier_ejections_active",
            envoy,
            _both("envoy.cluster.outlier_detection.ejections_active", "gauge"),
            _ENVOY_TAGS,
            "hosts of the destination cluster currently ejected by outlier detection (sampled per check run)",
            stats=_OUTLIER_STATS,
            source="istio-metrics.md §4",
        ),
        Metric(
            "outlier_ejections_enforced",
            envoy,
            _modes(None, ("envoy.cluster.outlier_detection.ejections_enforced_total", "count")),
            _ENVOY_TAGS,
            "ejections enforced, all detectors (legacy Envoy check only)",
            stats=_OUTLIER_STATS,
            source="istio-metrics.md §4",
        ),
        *(
            Metric(
                f"outlier_ejections_enforced_{detector}",
                envoy,
                _modes(
                    (f"envoy.cluster.outlier_detection.ejections_enforced_{detector}.count", "count"),
                    (f"envoy.cluster.outlier_detection.ejections_enforced_{detector}", "count"),
                ),
                _ENVOY_TAGS,
                f"ejections enforced by the {detector.replace('_', ' ')} detector",
                stats=_OUTLIER_STATS,
                source="istio-metrics.md §4",
            )
            for detector in ISTIO_OUTLIER_DETECTORS
        ),
        Metric(
            "outlier_ejections_overflow",
            envoy,
            _modes(
                ("envoy.cluster.outlier_detection.ejections_overflow.count", "count"),
                ("envoy.cluster.outlier_detection.ejections_overflow", "count"),
            ),
            _ENVOY_TAGS,
            "ejections outlier detection wanted but could not make (maxEjectionPercent reached)",
            stats=_OUTLIER_STATS,
            source="istio-metrics.md §4",
        ),
        *(
            Metric(
                f"circuit_breaker_{breaker}",
                envoy,
                _both(f"envoy.cluster.circuit_breakers.{breaker}", "gauge"),
                (*_ENVOY_TAGS, "priority"),
                f"Envoy circuit breaker {breaker} open (1) or closed (0)",
                stats=_BREAKER_STATS,
                source="istio-metrics.md §4",
            )
            for breaker in ENVOY_CIRCUIT_BREAKERS
        ),
        Metric(
            "upstream_rq_pending_overflow",
            envoy,
            _modes(
                ("envoy.cluster.upstream_rq_pending_overflow.count", "count"),
                ("envoy.cluster.upstream_rq_pending_overflow", "count"),
            ),
            _ENVOY_TAGS,
            "requests that overflowed the connection pool or a request breaker and failed",
            stats=("upstream_rq_pending_overflow",),
            source="istio-metrics.md §4",
        ),
        Metric(
            "cds_update_rejected",
            envoy,
            _modes(
                ("envoy.cluster_manager.cds.update_rejected.count", "count"),
                ("envoy.cluster_manager.cds.update_rejected", "count"),
            ),
            ("service", "kube_cluster_name", "kube_namespace", "pod_name", "host"),
            "cluster config (CDS) a proxy rejected: schema or validation errors",
            source="istio-metrics.md §4 (cluster_manager stats are kept by Istio's defaults)",
        ),
        Metric(
            "control_plane_connected",
            envoy,
            _both("envoy.control_plane.connected_state", "gauge"),
            ("host", "endpoint", "service", "kube_cluster_name"),
            "proxy connected to istiod (1)",
            stats=("control_plane",),
            source="istio-metrics.md §4",
        ),
        # --- APM: spans Envoy's Datadog tracer sends --------------------------------------------
        Metric(
            "apm_hits",
            apm,
            _both("trace.envoy.proxy.hits", "count"),
            _APM_TAGS,
            "Envoy spans (requests; client and server spans both count)",
            source="istio-metrics.md §6",
        ),
        Metric(
            "apm_errors",
            apm,
            _both("trace.envoy.proxy.errors", "count"),
            _APM_TAGS,
            "Envoy spans marked as errors",
            on_event=True,  # whether a zero is reported where spans had no error: unverified; treat as events
            source="istio-metrics.md §6",
        ),
        Metric(
            "apm_latency",
            apm,
            _both("trace.envoy.proxy", "distribution"),
            _APM_TAGS,
            "Envoy span duration (distribution: percentiles such as p95 work on it)",
            source="istio-metrics.md §6",
        ),
        Metric(
            "apm_duration",
            apm,
            _both("trace.envoy.proxy.duration", "gauge"),
            _APM_TAGS,
            "Envoy span duration, the legacy gauge (Datadog recommends the distribution)",
            source="istio-metrics.md §6",
        ),
    ]
    return tuple(found)


METRICS: Mapping[str, Metric] = {m.key: m for m in _metrics()}


def _index() -> dict[str, tuple[tuple[Metric, Mode], ...]]:
    index: dict[str, list[tuple[Metric, Mode]]] = {}
    for metric in METRICS.values():
        for mode, submission in metric.submissions.items():
            index.setdefault(submission.name, []).append((metric, mode))
    return {name: tuple(uses) for name, uses in index.items()}


_BY_NAME: Mapping[str, tuple[tuple[Metric, Mode], ...]] = _index()


def metric(key: str) -> Metric:
    return METRICS[key]


def submission(key: str, modes: CollectionModes = DEFAULT_MODES) -> Submission:
    """The metric as this environment's collectors submit it; KeyError when the mode has no such metric."""
    found = METRICS[key].submission(modes)
    if found is None:
        mode = modes.of(METRICS[key].collector)
        raise KeyError(f"{key} is not submitted in {mode} mode")
    return found


def available(key: str, modes: CollectionModes = DEFAULT_MODES) -> bool:
    return METRICS[key].submission(modes) is not None


def term(
    key: str,
    scope: str,
    group_by: Sequence[str] = (),
    modes: CollectionModes = DEFAULT_MODES,
    space_aggregation: str = "sum",
) -> str:
    """``sum:<name>{scope} by {tags}``, with ``.as_count()`` exactly when the mode submits a count."""
    found = submission(key, modes)
    by = " by {" + ",".join(group_by) + "}" if group_by else ""
    suffix = ".as_count()" if found.is_count else ""
    return f"{space_aggregation}:{found.name}{{{scope}}}{by}{suffix}"


@dataclass(frozen=True)
class NameUse:
    """A Datadog metric name read in a query, and what it is under one mode."""

    metric: Metric
    mode: Mode
    submission: Submission


def lookup(datadog_name: str) -> tuple[NameUse, ...]:
    """Every catalogue metric submitted under this name, per mode (several when the modes disagree on the
    name's type: ``istio.mesh.request.count`` is V2's count and V1's cumulative gauge)."""
    return tuple(NameUse(m, mode, m.submissions[mode]) for m, mode in _BY_NAME.get(datadog_name, ()))


def is_mesh_metric(datadog_name: str) -> bool:
    return datadog_name in _BY_NAME


def counterparts(datadog_name: str) -> tuple[NameUse, ...]:
    """The same metrics under the other modes' names (what this name is called where it is not this name)."""
    found: dict[tuple[str, str], NameUse] = {}
    for use in lookup(datadog_name):
        for mode, other in use.metric.submissions.items():
            if other.name != datadog_name:
                found[(other.name, mode)] = NameUse(use.metric, mode, other)
    return tuple(found.values())


def mode_mismatch(datadog_name: str, modes: CollectionModes) -> tuple[NameUse, Submission | None] | None:
    """When the environment's collector does not submit ``datadog_name`` (it is another mode's name): the
    name's use, and what this environment submits instead (None when its mode has no such metric)."""
    uses = lookup(datadog_name)
    if not uses or any(modes.of(use.metric.collector) in (None, use.mode) for use in uses):
        return None
    use = uses[0]
    return use, use.metric.submission(modes)


def cumulative_in_mode(datadog_name: str, modes: CollectionModes) -> tuple[NameUse, Submission | None] | None:
    """When this environment's collector submits ``datadog_name`` as a cumulative gauge (a counter's running
    total: ``.as_count()`` does nothing on it, and a window's sum or average is not a count): the name's use,
    and the name that counts the same per interval in this environment (None when it has none)."""
    for use in lookup(datadog_name):
        if use.metric.cumulative and modes.of(use.metric.collector) in (None, use.mode):
            counted = METRICS[use.metric.counted_by].submission(modes) if use.metric.counted_by else None
            return use, counted
    return None


def all_names() -> frozenset[str]:
    return frozenset(_BY_NAME)


def keys() -> tuple[str, ...]:
    return tuple(METRICS)


# --- what a metric term means for the four mesh signals ----------------------------------------------

TagFilters = Mapping[str, Sequence[str]]  # tag key -> values a query keeps (negations left out)


def signals_of(datadog_name: str, filters: TagFilters, group_by: Sequence[str] = ()) -> frozenset[str]:
    """Which mesh signals a ``metric{filters} by {group_by}`` term watches."""
    found: set[str] = set()
    for use in lookup(datadog_name):
        found.update(_signals(use.metric.key, filters, group_by))
    return frozenset(found)


def _signals(key: str, filters: TagFilters, group_by: Sequence[str]) -> set[str]:
    if key in ("requests", "requests_cumulative"):
        found = set()
        if any(map(is_error_status, filters.get("response_code", ()))) or "response_code" in group_by:
            found.add(ERROR_RATE)
        if {"UO", "UH"} & set(filters.get("response_flags", ())):
            found.add(CIRCUIT_OPEN)
        return found
    if key == "apm_errors":
        return {ERROR_RATE}
    if key == "apm_hits":
        statuses = (*filters.get("http.status_code", ()), *filters.get("http.status_class", ()))
        return {ERROR_RATE} if any(map(is_error_status, statuses)) else set()
    if key.startswith("sidecar_injection_"):
        return {SIDECAR_INJECTION}
    if key == "xds_pushes":
        return {CONFIG_PROPAGATION} if any("senderr" in v for v in filters.get("type", ())) else set()
    if key in ("config_validation_failures", "xds_rejects", "cds_update_rejected") or (
        key.startswith("xds_") and key.endswith("_rejects")
    ):
        return {CONFIG_PROPAGATION}
    if key.startswith(("outlier_", "circuit_breaker_")) or key == "upstream_rq_pending_overflow":
        return {CIRCUIT_OPEN}
    return set()


def is_error_status(value: str) -> bool:
    """An HTTP status filter value that keeps only errors: 5xx, 4xx (``5*``, ``503``, ``5xx``) or Istio's
    ``0`` (no response)."""
    return value[:1] in ("0", "4", "5")


def counts_events(datadog_name: str, filters: TagFilters) -> bool:
    """Whether a ``metric{filters}`` term counts events whose series only appear with the first event:
    an ``on_event`` counter, or a count kept to its error values (``response_code:5*``, ``response_flags:UO``,
    ``type:*senderr``). Missing data is then normal, and a count monitor evaluates it as 0."""
    counts = [use for use in lookup(datadog_name) if use.submission.is_count]  # a name V1 also sends as a
    return bool(counts) and all(_counts_events(use.metric, filters) for use in counts)  # cumulative gauge


def _counts_events(metric: Metric, filters: TagFilters) -> bool:
    if metric.on_event:
        return True
    if metric.key == "requests":
        codes = [v for v in filters.get("response_code", ()) if is_error_status(v)]
        flags = [v for v in filters.get("response_flags", ()) if v not in ("-", "*")]
        return bool(codes or flags)
    if metric.key == "xds_pushes":
        return any("senderr" in v for v in filters.get("type", ()))
    return False


# --- tags that name a service, and on which side of a request -------------------------------------


class Side(StrEnum):
    DESTINATION = "destination"  # the service that receives the traffic
    CALLER = "caller"  # the service whose proxy sent the request
    OWN = "own"  # the pod's own service, on spans of both directions (APM)


@dataclass(frozen=True)
class ServiceTag:
    key: str
    side: Side
    form: str  # how the value spells a service


SERVICE_TAGS: Mapping[str, ServiceTag] = {
    t.key: t
    for t in (
        ServiceTag("destination_service_name", Side.DESTINATION, "<service>"),
        ServiceTag("destination_service", Side.DESTINATION, "<service>.<namespace>.svc.cluster.local"),
        ServiceTag("destination_app", Side.DESTINATION, "<app label>"),
        ServiceTag("destination_workload", Side.DESTINATION, "<workload>"),
        ServiceTag(
            "envoy_cluster",
            Side.DESTINATION,
            "outbound_<port>_<subset>_<service>.<namespace>.svc.cluster.local",
        ),
        ServiceTag("source_app", Side.CALLER, "<app label>"),
        ServiceTag("source_workload", Side.CALLER, "<workload>"),
        ServiceTag("service", Side.OWN, "<app>.<namespace> (APM under Istio); the calling pod on envoy.*"),
    )
}
# Tags whose values appear with an event (an error status, a response flag, a push or reject type, a
# validation reason): a filter value no series has had may simply be an event that did not happen.
EVENT_TAGS = frozenset(
    {"response_code", "response_flags", "grpc_response_status", "http.status_code", "http.status_class",
     "type", "reason", "err"}
)  # fmt: skip
# Tags the shipped data-plane auto_conf excludes (context explosion): filters and groups on them see nothing.
EXCLUDED_BY_DEFAULT: Mapping[str, str] = {
    "destination_service": "destination_service_name",
    "source_workload": "source_app",
}

_TAG_CHARACTER = re.compile(r"[^A-Za-z0-9_\-:./]")
_HOST_SEPARATOR = re.compile(r"[|_]")  # in an envoy_cluster value
_CLUSTER_SUFFIX = ".svc.cluster.local"


def tag_value(raw: str) -> str:
    """A label value as Datadog stores it as a tag value: characters outside letters, digits and
    ``_ - : . /`` become ``_`` (``outbound|8080||svc.ns.svc.cluster.local`` →
    ``outbound_8080__svc.ns.svc.cluster.local``), lowercased."""
    return _TAG_CHARACTER.sub("_", raw).lower()


def service_host(service: str, namespace: str | None = None) -> str:
    """``checkout`` in ``shop`` → ``checkout.shop.svc.cluster.local``; ``checkout.shop`` (service and
    namespace, as Istio hosts are often written) → ``checkout.shop.svc.cluster.local``; a longer host is
    kept."""
    labels = service.split(".")
    if len(labels) == 1:
        return f"{service}.{namespace or '*'}{_CLUSTER_SUFFIX}"
    if len(labels) == 2:
        return f"{service}{_CLUSTER_SUFFIX}"
    return service


def envoy_cluster_value(
    service: str, namespace: str | None = None, port: int | None = None, subset: str | None = None
) -> str:
    """The ``envoy_cluster`` tag value of the outbound cluster that sends traffic to a service, as
    Datadog stores it; what is not known is a wildcard. Istio names it ``outbound|<port>|<subset>|<host>``,
    the subset empty unless a DestinationRule defines subsets: an unknown subset is ``*``, which also
    matches the empty one (``outbound_8080_*_host`` matches ``outbound_8080__host``). ``|`` spellings are
    normalised."""
    if "|" in service:
        return _tag_pattern(service)
    if service.startswith(("outbound_", "inbound_")):
        return service
    host = service_host(service, namespace)
    if port is None and subset is None:
        return _tag_pattern(f"outbound_*_{host}")
    return _tag_pattern(f"outbound|{port if port is not None else '*'}|{subset or '*'}|{host}")


def _tag_pattern(raw: str) -> str:
    """``tag_value`` of a value with ``*`` wildcards, which stay wildcards."""
    return "*".join(tag_value(part) for part in raw.split("*"))


def tag_side(datadog_name: str, tag_key: str) -> Side | None:
    """Which side of a request a service tag names on a metric's series: the catalogue metric's own reading
    (``service`` on ``envoy.cluster.*`` is the caller), else the tag's general meaning."""
    uses = lookup(datadog_name)
    if uses:
        return uses[0].metric.side(tag_key)
    tag = SERVICE_TAGS.get(tag_key)
    return tag.side if tag is not None else None


def names_destination(side: Side | None) -> bool:
    """Whether a filter on a tag of this side keeps the traffic of the service that receives it (the
    destination, or APM's own service, whose spans include what it serves)."""
    return side in (Side.DESTINATION, Side.OWN)


@cache
def watches_destination(metric_key: str, tag_key: str) -> bool:
    """Whether a filter on ``tag_key`` keeps the receiving service's traffic on the metric's series (cached:
    it reads only the catalogue, and every definition of a kind asks the same few pairs)."""
    return names_destination(METRICS[metric_key].side(tag_key))


def apm_service_value(service: str, namespace: str | None = None) -> str:
    """Envoy's APM service under Istio is ``<app>.<namespace>``: ``checkout`` → ``checkout.shop``
    (``checkout.*`` when the namespace is not given)."""
    if "." in service:
        return service
    return f"{service}.{namespace or '*'}"


def service_of(tag_key: str, value: str) -> str:
    """The service a service-tag value names: ``outbound_9080__reviews.default.svc…`` → ``reviews``,
    ``outbound|9080||reviews.default.svc…`` → ``reviews``, ``checkout.shop`` → ``checkout``."""
    host = value
    if tag_key == "envoy_cluster":
        # Hosts have no "_" or "|" (DNS names): the host is what follows the last separator.
        host = _HOST_SEPARATOR.split(value)[-1]
    return host.split(".", 1)[0]
