"""Demo data for the emulator (``provisioner emulator --seed-mesh openmetrics|legacy``): an hour of the series a
healthy mesh sends, under the names and types its collection modes give them, submitted through the
emulator's ``POST /api/v2/series`` as an agent would. The catalogue says what exists; nothing else here
names a metric.

What is sent, per minute of the last hour, each collector in its mode:

- every catalogue metric that mode submits, except distributions (Datadog takes those on another
  endpoint) and counters of events the demo has none of (``on_event``: a healthy mesh has no injection
  failures or proxy rejects, so their series do not exist); its few 503s are APM error spans, so APM's
  error counter is sent;
- its tag keys as the catalogue lists them, with values from the project: the services of
  ``provisioner.yaml``, the environment's ``cluster`` variable as ``kube_cluster_name`` (on APM's series
  too, where Datadog adds it as a host tag), its name as APM's ``env``; requests to each service seen by
  both reporters, mostly 200 and a few 503;
- counts as per-minute counts, gauges as gauges (legacy's cumulative gauges as running totals).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.mesh import catalogue
from provisioner.mesh.catalogue import Collector, Metric
from provisioner.model import CollectionModes, Environment, JsonObject

DEMO_SERVICES = ("frontend", "checkout", "payments", "cart")
NAMESPACE = "shop"
HOSTS = ("node-1", "node-2")
STEP_S = 60
SPAN_S = 3600  # the emulator keeps points up to an hour old, as Datadog accepts them
MAX_PAYLOAD_BYTES = 400_000  # Datadog's v2 limit is 512,000 bytes a payload
_V2_TYPES = {"count": 1, "gauge": 3}
_REQUESTS_PER_MINUTE = {"200": 600.0, "503": 3.0}
_MEAN_DURATION_MS = 25.0
_GAUGES = {"control_plane_connected": 1.0, "apm_duration": 0.05}  # others: what _sources gives


@dataclass(frozen=True)
class DemoMesh:
    """Who the series are about."""

    services: tuple[str, ...]
    cluster: str
    environment: str

    @classmethod
    def of(cls, environment: Environment, services: Sequence[str]) -> DemoMesh:
        cluster = environment.variables.get("cluster", f"{environment.name}-cluster")
        return cls(tuple(services) or DEMO_SERVICES, cluster, environment.name)


def demo_series(modes: CollectionModes, mesh: DemoMesh, now_s: int) -> list[JsonObject]:
    """``MetricSeries`` bodies for ``POST /api/v2/series``: the last hour, one point a minute, each collector
    in its mode."""
    times = range(now_s - SPAN_S + STEP_S, now_s + 1, STEP_S)
    series = []
    for metric in catalogue.METRICS.values():
        submission = metric.submission(modes)
        if submission is None or submission.type not in _V2_TYPES:
            continue
        for index, (tags, per_minute) in enumerate(_sources(metric, mesh)):
            values = [_value(metric, submission.type, per_minute, n) for n, _ in enumerate(times)]
            series.append(
                {
                    "metric": submission.name,
                    "type": _V2_TYPES[submission.type],
                    "interval": STEP_S if submission.type == "count" else None,
                    "points": [{"timestamp": t, "value": v} for t, v in zip(times, values, strict=True)],
                    "tags": [f"{key}:{value}" for key, value in tags.items() if key in metric.tags],
                    "resources": [{"name": HOSTS[index % len(HOSTS)], "type": "host"}],
                }
            )
    return [{k: v for k, v in s.items() if v is not None} for s in series]


def submit_demo(
    base_url: str, modes: CollectionModes, mesh: DemoMesh, now_s: int, api_key: str = "demo"
) -> int:
    """Send the demo series to the emulator at ``base_url``; the number of series sent."""
    series = demo_series(modes, mesh, now_s)
    with DatadogClient(Target(base_url, api_key, "demo")) as client:
        for batch in batches(series):
            client.submit_series(batch)
    return len(series)


def batches(series: Sequence[JsonObject], limit: int = MAX_PAYLOAD_BYTES) -> Iterator[list[JsonObject]]:
    """Series in payloads under ``limit`` bytes."""
    batch: list[JsonObject] = []
    size = 0
    for item in series:
        length = len(json.dumps(item)) + 2
        if batch and size + length > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += length
    if batch:
        yield batch


def _value(metric: Metric, metric_type: str, per_minute: float, minute: int) -> float:
    if metric.cumulative:
        total = per_minute * (minute + 1)  # a running total since the pod started
        return total * _MEAN_DURATION_MS if "duration_sum" in metric.key else total
    if metric_type == "count":
        return per_minute * _MEAN_DURATION_MS if "duration_sum" in metric.key else per_minute
    return _GAUGES.get(metric.key, per_minute)


def _sources(metric: Metric, mesh: DemoMesh) -> Iterator[tuple[Mapping[str, str], float]]:
    """(tags, value) of each series of a metric: per minute for counts; Envoy's gauges 0 (no breaker open,
    no host ejected), istiod's the proxies connected. A counter of events has series only where the demo
    has its events: APM's errors are the 503s."""
    base = {"kube_cluster_name": mesh.cluster}
    if metric.collector is Collector.APM:
        for service in mesh.services:
            for status, per_minute in _REQUESTS_PER_MINUTE.items():
                if not metric.on_event or status.startswith("5"):
                    yield base | _apm_tags(service, status, mesh.environment), per_minute
    elif metric.on_event:
        return
    elif metric.collector is Collector.DATA_PLANE:
        for service in mesh.services:
            for reporter in ("source", "destination"):
                for code, per_minute in _REQUESTS_PER_MINUTE.items():
                    yield base | _request_tags(service, reporter, code), per_minute
    elif metric.collector is Collector.CONTROL_PLANE:
        pod = {"kube_namespace": "istio-system", "pod_name": "istiod-7d4b9c8f6-x2x9q", "version": "1.24.1"}
        if "type" in metric.tags:
            for xds_type in catalogue.XDS_TYPES:
                yield base | pod | {"type": xds_type}, 4.0
        else:
            yield base | pod, float(len(mesh.services) * 2)
    else:
        for caller, service in _calls(mesh.services):
            yield base | _envoy_tags(caller, service), 0.0


def _request_tags(service: str, reporter: str, code: str) -> dict[str, str]:
    return {
        "reporter": reporter,
        "destination_service_name": service,
        "destination_service_namespace": NAMESPACE,
        "destination_app": service,
        "destination_workload": f"{service}-v1",
        "response_code": code,
        "response_flags": "-",
        "kube_namespace": NAMESPACE,
        "pod_name": f"{service}-v1-5c9d7f-abcde",
    }


def _calls(services: Sequence[str]) -> list[tuple[str, str]]:
    """Who calls whom: each service calls the next (the first is called by the last)."""
    return [(services[index - 1], service) for index, service in enumerate(services)]


def _envoy_tags(caller: str, service: str) -> dict[str, str]:
    host = catalogue.service_host(service, NAMESPACE)
    return {
        "envoy_cluster": catalogue.tag_value(f"outbound|8080||{host}"),
        "service": caller,
        "kube_namespace": NAMESPACE,
        "pod_name": f"{caller}-v1-5c9d7f-abcde",
        "priority": "default",
        "endpoint": "istiod.istio-system.svc_15012",
    }


def _apm_tags(service: str, status: str, environment: str) -> dict[str, str]:
    return {
        "env": environment,
        "service": catalogue.apm_service_value(service, NAMESPACE),
        "version": "v1",
        "resource_name": f"{catalogue.service_host(service, NAMESPACE)}:8080/*",  # Istio's route operation
        "http.status_code": status,
        "http.status_class": f"{status[0]}xx",
    }
