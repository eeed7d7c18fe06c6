"""Which mesh signals a monitor watches, and for which services: read from its metric query.

The four signals (``model.MESH_SIGNALS``) are recognised by the metrics Datadog defines for
Istio, Envoy and APM (see shared/reference/istio-metrics.md):

- error-rate: ``trace.envoy.proxy.errors``; ``trace.envoy.proxy.hits`` filtered on an HTTP status;
  ``istio.mesh.request.count[.total]`` filtered or grouped on ``response_code``;
- sidecar-injection: ``istio.sidecar_injection.*``;
- config-propagation: ``istio.galley.validation.failed[.count]``, ``istio.pilot.xds.pushes[.count]``
  filtered on a ``*senderr`` type, ``istio.pilot.total_xds_rejects``, ``istio.pilot.xds.*_reject``;
- circuit-open: ``envoy.cluster.outlier_detection.*``, ``envoy.cluster.circuit_breakers.*``,
  ``envoy.cluster.upstream_rq_pending_overflow[.count]``, ``response_flags:UO``.

A query filtered on service tags (``service:x``, ``destination_service_name:x``,
``destination_service:x.ns.svc.cluster.local``, ``envoy_cluster:outbound|80||x.ns…``) watches
those services; a query without such a filter, grouped by service or not, watches the whole mesh.
Pure functions over query text; nothing here talks to Datadog.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from provisioner.model import MESH_SIGNALS, JsonObject

ERROR_RATE, SIDECAR_INJECTION, CONFIG_PROPAGATION, CIRCUIT_OPEN = MESH_SIGNALS
CONTROL_PLANE_SIGNALS: frozenset[str] = frozenset({SIDECAR_INJECTION, CONFIG_PROPAGATION})

# Tags whose value names a mesh service. Host-like values (x.ns.svc.cluster.local, Envoy cluster
# names) are reduced to their first DNS label, the service name.
SERVICE_TAGS: frozenset[str] = frozenset(
    {"service", "destination_service_name", "destination_service", "destination_app", "envoy_cluster"}
)

_TERM_RE = re.compile(
    r"(?<![\w.])(?P<metric>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)\s*\{(?P<scope>[^{}]*)\}"
)
_BY_RE = re.compile(r"\s*by\s*\{(?P<by>[^{}]*)\}")
_IN_RE = re.compile(
    r"(?P<neg>\bNOT\s+)?(?P<key>[A-Za-z][\w.\-/]*)\s+(?P<not>NOT\s+)?IN\s*\((?P<values>[^()]*)\)"
)
_FILTER_RE = re.compile(r"(?P<neg>\bNOT\s+|[!-])?(?P<key>[A-Za-z][\w.\-/]*):(?P<value>[^\s,()]+)")


@dataclass(frozen=True)
class TagFilter:
    key: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class MetricTerm:
    """One ``metric{scope} by {tags}`` of a query."""

    metric: str
    filters: tuple[TagFilter, ...]
    group_by: tuple[str, ...]

    def values(self, key: str) -> tuple[str, ...]:
        return tuple(f.value for f in self.filters if f.key == key and not f.negated)


@dataclass(frozen=True)
class Watch:
    """What a monitor watches. ``services`` empty: every service (mesh-wide, or one alert per service)."""

    signals: frozenset[str] = frozenset()
    services: tuple[str, ...] = ()  # service names, first DNS label, wildcards kept ("reviews", "pay*")
    excluded: tuple[str, ...] = ()  # services filtered out with !service:x
    grouped_by_service: bool = False

    @property
    def mesh_wide(self) -> bool:
        return not self.services

    def covers(self, signal: str, service: str) -> bool:
        if signal not in self.signals or _matches_any(service, self.excluded):
            return False
        return self.mesh_wide or _matches_any(service, self.services)


# --- parsing --------------------------------------------------------------------------------


def metric_terms(query: str) -> tuple[MetricTerm, ...]:
    terms = []
    for match in _TERM_RE.finditer(query):
        by = _BY_RE.match(query, match.end())
        group_by = tuple(t.strip() for t in by["by"].split(",") if t.strip()) if by else ()
        terms.append(MetricTerm(match["metric"], _filters(match["scope"]), group_by))
    return tuple(terms)


def _filters(scope: str) -> tuple[TagFilter, ...]:
    found: list[TagFilter] = []
    for match in _IN_RE.finditer(scope):
        negated = bool(match["neg"]) or bool(match["not"])
        values = (v.strip().strip("'\"") for v in match["values"].split(","))
        found.extend(TagFilter(match["key"], v, negated) for v in values if v)
    rest = _IN_RE.sub(" ", scope)
    found.extend(TagFilter(m["key"], m["value"], bool(m["neg"])) for m in _FILTER_RE.finditer(rest))
    return tuple(found)


def monitor_queries(body: JsonObject) -> tuple[str, ...]:
    """The query texts of a monitor: its query, and the queries of formula variables."""
    texts = [str(body.get("query") or "")]
    options = body.get("options")
    variables = options.get("variables") if isinstance(options, Mapping) else None
    for variable in variables if isinstance(variables, list) else ():
        if isinstance(variable, Mapping) and isinstance(variable.get("query"), str):
            texts.append(variable["query"])
    return tuple(t for t in texts if t)


# --- signals --------------------------------------------------------------------------------


def _is_error_rate(term: MetricTerm) -> bool:
    metric = term.metric
    if metric.startswith("trace.envoy.proxy.errors"):
        return True
    if metric.startswith("trace.envoy.proxy.hits"):
        return bool(term.values("http.status_code") or term.values("http.status_class"))
    if metric in ("istio.mesh.request.count", "istio.mesh.request.count.total"):
        return bool(term.values("response_code")) or "response_code" in term.group_by
    return False


def _is_sidecar_injection(term: MetricTerm) -> bool:
    return term.metric.startswith("istio.sidecar_injection.")


def _is_config_propagation(term: MetricTerm) -> bool:
    metric = term.metric
    if metric in ("istio.galley.validation.failed", "istio.galley.validation.failed.count"):
        return True
    if metric in ("istio.pilot.xds.pushes", "istio.pilot.xds.pushes.count"):
        return any("senderr" in v for v in term.values("type"))
    return metric == "istio.pilot.total_xds_rejects" or bool(
        re.fullmatch(r"istio\.pilot\.xds\.[a-z]+_reject(\.count)?", metric)
    )


def _is_circuit_open(term: MetricTerm) -> bool:
    metric = term.metric
    if metric.startswith(("envoy.cluster.outlier_detection.", "envoy.cluster.circuit_breakers.")):
        return True
    if metric in (
        "envoy.cluster.upstream_rq_pending_overflow",
        "envoy.cluster.upstream_rq_pending_overflow.count",
    ):
        return True
    return "UO" in term.values("response_flags")


_SIGNAL_TESTS: Mapping[str, Callable[[MetricTerm], bool]] = {
    ERROR_RATE: _is_error_rate,
    SIDECAR_INJECTION: _is_sidecar_injection,
    CONFIG_PROPAGATION: _is_config_propagation,
    CIRCUIT_OPEN: _is_circuit_open,
}


def signals_of(terms: Iterable[MetricTerm]) -> frozenset[str]:
    terms = tuple(terms)
    return frozenset(s for s, test in _SIGNAL_TESTS.items() if any(test(t) for t in terms))


# --- services -------------------------------------------------------------------------------


def service_name(tag_key: str, value: str) -> str:
    """The service a service-tag value names: ``outbound|9080||reviews.default.svc…`` → ``reviews``."""
    host = value.rsplit("|", 1)[-1] if tag_key == "envoy_cluster" else value
    return host.split(".", 1)[0]


def _services(terms: Iterable[MetricTerm], negated: bool) -> tuple[str, ...]:
    names = {
        service_name(f.key, f.value)
        for t in terms
        for f in t.filters
        if f.key in SERVICE_TAGS and f.negated is negated and f.value not in ("*", "")
    }
    return tuple(sorted(names))


def _matches_any(service: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(service, p) for p in patterns)


def watch_of_query(query: str) -> Watch:
    return watch_of_terms(metric_terms(query))


def watch_of_terms(terms: Iterable[MetricTerm]) -> Watch:
    terms = tuple(terms)
    return Watch(
        signals=signals_of(terms),
        services=_services(terms, negated=False),
        excluded=_services(terms, negated=True),
        grouped_by_service=any(SERVICE_TAGS.intersection(t.group_by) for t in terms),
    )


def watch_of_monitor(body: JsonObject) -> Watch:
    """What a monitor body (as Datadog returns it, or as a definition compiles it) watches."""
    return watch_of_terms(t for q in monitor_queries(body) for t in metric_terms(q))


# --- equivalence ----------------------------------------------------------------------------

_SIMPLE_SCOPE_RE = re.compile(r"\{(?P<scope>[^{}()\s]*)\}")


def query_key(query: str) -> str:
    """The query with insignificant differences removed: runs of white space, spaces around
    punctuation, and the order of a plain comma-separated scope (``{b:2,a:1}`` ≡ ``{a:1,b:2}``).
    Two monitors of one type whose keys are equal evaluate the same thing."""
    text = re.sub(r"\s+", " ", query.strip())
    text = re.sub(r"\s*([{}(),:<>=!*/+-])\s*", r"\1", text)
    return _SIMPLE_SCOPE_RE.sub(lambda m: "{" + ",".join(sorted(m["scope"].split(","))) + "}", text)
