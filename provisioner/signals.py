"""Which mesh signals a monitor watches, and for which services: read from its metric query.

Pure functions over query text; nothing here talks to Datadog. What a metric name means (its signal, its
tags, which side of a request a tag names) is the mesh catalogue's (``provisioner.mesh.catalogue``): this
module only parses queries into ``metric{filters} by {tags}`` terms and asks the catalogue.

A query filtered on the tags that name the service receiving the traffic (``destination_service_name:x``,
``destination_service:x.ns.svc.cluster.local``, ``envoy_cluster:outbound|80||x.ns…``, APM's own
``service:x``) watches those services; which side a tag names depends on the metric (the catalogue's
``tag_side``: ``service`` on ``envoy.cluster.*`` is the calling pod). A query filtered only on the caller
(``source_app``, or ``service`` on Envoy's cluster stats) watches that caller's dependencies: no service is
covered by it, and it is not mesh-wide. A query without such filters, grouped by service or not, watches the
whole mesh.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from provisioner.mesh import catalogue
from provisioner.model import MESH_SIGNALS, JsonObject

ERROR_RATE, SIDECAR_INJECTION, CONFIG_PROPAGATION, CIRCUIT_OPEN = MESH_SIGNALS
CONTROL_PLANE_SIGNALS: frozenset[str] = frozenset({SIDECAR_INJECTION, CONFIG_PROPAGATION})

# Possessive (*+, ++): what follows each run can never start with what the run holds, so giving characters
# back cannot make a match; it only made every word of a query ("sum", "last_5m") a search with backtracking.
_TERM_RE = re.compile(
    r"(?<![\w.])(?P<metric>[A-Za-z][A-Za-z0-9_]*+(?:\.[A-Za-z0-9_]++)++)\s*+\{(?P<scope>[^{}]*+)\}"
)
# _TERM_RE's names, read on the query reversed: a closed scope "}...{" (found by its literal brace), blanks,
# then a metric name reversed, which must be the whole run of word characters and dots there (the lookahead).
# Forwards, a name is tried at every position of the query; backwards, only after each scope: 2x faster.
_REVERSED_TERM_RE = re.compile(r"\}[^{}]*+\{\s*+((?:[A-Za-z0-9_]++\.)++[A-Za-z0-9_]*[A-Za-z])(?![\w.])")
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

    def kept(self) -> dict[str, tuple[str, ...]]:
        """Tag key -> the values the term keeps (negated filters left out)."""
        kept: dict[str, list[str]] = {}
        for found in self.filters:
            if not found.negated:
                kept.setdefault(found.key, []).append(found.value)
        return {key: tuple(values) for key, values in kept.items()}


@dataclass(frozen=True)
class Watch:
    """What a monitor watches. ``services`` empty: every service (mesh-wide, or one alert per service)."""

    signals: frozenset[str] = frozenset()
    services: tuple[str, ...] = ()  # service names, first DNS label, wildcards kept ("reviews", "pay*")
    excluded: tuple[str, ...] = ()  # services filtered out with !service:x
    grouped_by_service: bool = False
    events_only: bool = False  # every term counts events whose series appear with the first one
    callers_only: bool = False  # some term is filtered on the calling side alone: it covers no destination

    @property
    def mesh_wide(self) -> bool:
        return not self.services and not self.callers_only

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


def dashboard_queries(body: JsonObject) -> tuple[str, ...]:
    """The metric query texts of a dashboard's widgets (``query`` and the older ``q``, nested groups too)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in ("query", "q") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(body.get("widgets"))
    return tuple(found)


def dashboard_tag_keys(body: JsonObject) -> frozenset[str]:
    """The tag keys a dashboard's widget queries filter or group by, template variables (``$cluster``)
    counted as the tag they filter (their ``prefix``)."""
    queries = dashboard_queries(body)
    keys = {f.key for q in queries for t in metric_terms(q) for f in t.filters if not f.negated}
    keys.update(key for q in queries for t in metric_terms(q) for key in t.group_by)
    variables = body.get("template_variables")
    for variable in variables if isinstance(variables, list) else ():
        if isinstance(variable, Mapping) and variable.get("prefix"):
            if any(re.search(rf"\${re.escape(str(variable.get('name')))}\b", q) for q in queries):
                keys.add(str(variable["prefix"]))
    return frozenset(keys)


# --- signals --------------------------------------------------------------------------------


def signals_of(terms: Iterable[MetricTerm]) -> frozenset[str]:
    found: set[str] = set()
    for term in terms:
        found |= catalogue.signals_of(term.metric, term.kept(), term.group_by)
    return frozenset(found)


def counts_only_events(terms: Iterable[MetricTerm]) -> bool:
    """Whether the terms are all counts of events (series that only exist after an event: missing data
    is normal, and a count monitor evaluates it as 0)."""
    terms = tuple(terms)
    return bool(terms) and all(catalogue.counts_events(t.metric, t.kept()) for t in terms)


# --- services -------------------------------------------------------------------------------


def service_name(tag_key: str, value: str) -> str:
    """The service a service-tag value names: ``outbound|9080||reviews.default.svc…`` → ``reviews``."""
    return catalogue.service_of(tag_key, value)


def _service_filters(term: MetricTerm, negated: bool) -> list[TagFilter]:
    """The term's filters on a tag naming the service that receives the traffic."""
    return [
        f
        for f in term.filters
        if f.negated is negated
        and f.value not in ("*", "")
        and catalogue.names_destination(catalogue.tag_side(term.metric, f.key))
    ]


def _services(terms: Iterable[MetricTerm], negated: bool) -> tuple[str, ...]:
    names = {service_name(f.key, f.value) for t in terms for f in _service_filters(t, negated)}
    return tuple(sorted(names))


def _callers_only(term: MetricTerm) -> bool:
    """Filtered on the caller (kept filters on a caller-side tag) and not on the destination."""
    callers = [
        f
        for f in term.filters
        if not f.negated
        and f.value not in ("*", "")
        and catalogue.tag_side(term.metric, f.key) is catalogue.Side.CALLER
    ]
    return bool(callers) and not _service_filters(term, negated=False)


def _grouped_by_service(term: MetricTerm) -> bool:
    return any(catalogue.names_destination(catalogue.tag_side(term.metric, key)) for key in term.group_by)


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
        grouped_by_service=any(map(_grouped_by_service, terms)),
        events_only=counts_only_events(terms),
        callers_only=any(map(_callers_only, terms)),
    )


def metric_uses(body: JsonObject) -> tuple[tuple[MetricTerm, tuple[catalogue.NameUse, ...]], ...]:
    """Each metric term of a monitor, with what the catalogue knows its name as (nothing: not a mesh metric)."""
    return tuple((t, catalogue.lookup(t.metric)) for q in monitor_queries(body) for t in metric_terms(q))


def metric_names(body: JsonObject) -> tuple[str, ...]:
    """The metric names a monitor queries, in order (no tag parsing: cheap enough for every definition)."""
    return tuple(name for q in monitor_queries(body) for name in query_metric_names(q))


def query_metric_names(query: str) -> tuple[str, ...]:
    """The metric names of one query text, in order, repeats included: the names of
    ``_TERM_RE.finditer(query)``, found faster in the query reversed (``_REVERSED_TERM_RE``)."""
    names = [name[::-1] for name in _REVERSED_TERM_RE.findall(query[::-1])]
    names.reverse()
    return tuple(names)


def merged_watch(watches: Iterable[Watch]) -> Watch:
    """What a composite watches: everything the monitors it combines watch."""
    watches = tuple(watches)
    return Watch(
        signals=frozenset().union(*(w.signals for w in watches)),
        services=tuple(sorted({s for w in watches for s in w.services})),
        excluded=tuple(sorted({s for w in watches for s in w.excluded})),
        grouped_by_service=any(w.grouped_by_service for w in watches),
        events_only=bool(watches) and all(w.events_only for w in watches),
        callers_only=any(w.callers_only for w in watches),
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
