"""The metrics-reporting check: does every metric a monitor queries report, with every tag key the query
filters or groups by? A monitor on a metric that never reports never fires, and nothing else says so.

Reading (``read_reporting``, through ``MetricsPort``) is apart from deciding (``find_gaps``, pure; what it
finds, and the check's outcome, are in ``metric_gaps.py``):

- one ``GET /api/v1/metrics?from=now-window`` lists every metric of the org that reported in the window;
- ``GET /api/v2/metrics/{name}/all-tags`` (keys and values, over ``max(window, 4 h)``: Datadog's minimum)
  for the distinct reporting metrics some monitor filters or groups by, most used first, at most
  ``max_tag_reads`` of them; the rest are named in the result as not read;
- ``GET /api/v1/metrics/{name}`` for the reporting names whose type tells the collection mode apart
  (the request counter's V2 name is V1's cumulative gauge), at most three with the catalogue.

So a run costs 1 + (ambiguous names) + min(metrics filtered or grouped, ``max_tag_reads``) requests,
whatever the number of monitors. ``host`` is never checked (Datadog gives every agent series one).

For a metric that does not report, the cause is read from what does, with the mesh catalogue:

- ``other-mode``: its other mode's name reports, or only the other mode's names of its collector do, or
  it reports with the other mode's type, or (a name both modes submit, its type unknown) it reports while
  only the other mode's names of its collector do (the environment's ``istio:`` setting does not match the
  org);
- ``collector-silent``: nothing of its collector reports (the Istio check on istiod or the proxies, the
  Envoy check on the sidecars, Envoy's tracer: the set-up ``provisioner mesh requirements`` prints);
- ``stats-not-kept``: other Envoy stats report, not this one: ``proxyStatsMatcher`` does not keep it;
- ``not-reporting``: anything else (a metric the catalogue does not know, a renamed one);
- ``tag-missing``: the metric reports, without a tag key the query filters or groups by;
- ``value-missing``: the metric reports with the tag key, but no series had the exact value the query
  filters on (``service:checkout`` where Istio's APM values are ``checkout.shop``). Values of tags that name
  an event (``response_code``...) and terms that count events are not checked: their values appear with
  the event;
- ``cumulative-gauge``: the metric reports, but this environment's collector submits that name as a
  counter's running total (the legacy data plane's plain request counter): the monitor reads a total since
  each proxy started, and ``.as_count()`` does nothing on a gauge.

A counter of events (``on_event``: injection failures, proxy rejects...) whose collector reports in the
environment's mode simply had no event: not a gap, and not reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from provisioner.changes import LiveResource
from provisioner.datadog.port import MetricsPort
from provisioner.engine.metric_gaps import (
    Cause,
    MetricCheck,
    MetricCheckSettings,
    MetricGap,
    MonitorGaps,
    span,
)
from provisioner.errors import DatadogError
from provisioner.identity import read_monitor_mark
from provisioner.mesh import catalogue, setup
from provisioner.mesh.catalogue import Collector, Mode
from provisioner.model import (
    MESH_SIGNALS,
    CollectionModes,
    JsonObject,
    MetricTags,
    MonitorSpec,
    SourceLocation,
)
from provisioner.signals import MetricTerm, metric_terms

METRIC_MONITOR_TYPES = frozenset({"metric alert", "query alert"})
UNCHECKED_TAG_KEYS = frozenset({"host"})
_COLLECTOR_LABEL = {
    Collector.DATA_PLANE: "data plane",
    Collector.CONTROL_PLANE: "control plane",
    Collector.ENVOY: "Envoy check",
    Collector.APM: "APM",
}


@dataclass(frozen=True)
class WatchedMetric:
    """A metric as one monitor queries it: the tag keys its terms filter (not negated) or group by, and the
    exact values they filter on (wildcards, event tags and counts of events left out)."""

    name: str
    tag_keys: tuple[str, ...] = ()
    tag_values: tuple[tuple[str, str], ...] = ()  # (key, value)


@dataclass(frozen=True)
class CheckedMonitor:
    key: str  # a definition id (plan) or a Datadog id (audit)
    metrics: tuple[WatchedMetric, ...]
    source: SourceLocation | None = None
    compiled: bool = False  # a mesh definition writes the query (apply fixes it), not a raw one (edited)

    @property
    def where_to_edit(self) -> str | None:
        """Where a person changes the query: None when a mesh definition compiles it for the environment."""
        if self.compiled:
            return None
        return f"{self.source.path}:{self.source.line}" if self.source else "Datadog"


def checked_monitor(
    key: str, bodies: Iterable[JsonObject], source: SourceLocation | None = None, compiled: bool = False
) -> CheckedMonitor:
    """The metrics the metric monitors among ``bodies`` query (a definition's composite parts together)."""
    keys: dict[str, set[str]] = {}
    values: dict[str, set[tuple[str, str]]] = {}
    for body in bodies:
        if body.get("type") not in METRIC_MONITOR_TYPES:
            continue
        for term in metric_terms(str(body.get("query") or "")):
            kept = {f.key for f in term.filters if not f.negated} | set(term.group_by)
            keys.setdefault(term.metric, set()).update(kept - UNCHECKED_TAG_KEYS)
            values.setdefault(term.metric, set()).update(_exact_values(term))
    metrics = tuple(
        WatchedMetric(name, tuple(sorted(tags)), tuple(sorted(values[name]))) for name, tags in keys.items()
    )
    return CheckedMonitor(key, metrics, source, compiled)


def _exact_values(term: MetricTerm) -> set[tuple[str, str]]:
    """The term's exact filter values worth checking: not on event tags, not in a count of events."""
    if catalogue.counts_events(term.metric, term.kept()):
        return set()
    return {
        (f.key, f.value)
        for f in term.filters
        if not f.negated
        and f.key not in UNCHECKED_TAG_KEYS | catalogue.EVENT_TAGS
        and not any(char in f.value for char in "*?$")
    }


def desired_monitors(specs: Sequence[MonitorSpec]) -> tuple[CheckedMonitor, ...]:
    """One per definition: the parts of a composite are checked as the definition they belong to."""
    bodies: dict[str, list[JsonObject]] = {}
    sources: dict[str, SourceLocation] = {}
    compiled: set[str] = set()
    for spec in specs:
        key = spec.part_of or spec.definition_id
        bodies.setdefault(key, []).append(spec.body)
        if spec.part_of is None or key not in sources:
            sources[key] = spec.source
        if spec.kind in MESH_SIGNALS:  # a mesh kind's query is compiled; a raw monitor's is written by hand
            compiled.add(key)
    return tuple(checked_monitor(key, found, sources[key], key in compiled) for key, found in bodies.items())


def live_monitors(
    resources: Sequence[LiveResource], specs: Sequence[MonitorSpec] = (), namespace: str = ""
) -> tuple[CheckedMonitor, ...]:
    """One per live monitor, by its Datadog id; one that a definition of ``namespace`` manages has that
    definition's source (and is compiled when its kind is a mesh one)."""
    by_id = {spec.definition_id: spec for spec in specs}
    checked = []
    for resource in resources:
        mark = read_monitor_mark(resource.body)
        spec = by_id.get(mark.definition_id) if mark and mark.namespace == namespace else None
        source, compiled = (spec.source, spec.kind in MESH_SIGNALS) if spec else (None, False)
        checked.append(checked_monitor(str(resource.datadog_id), (resource.body,), source, compiled))
    return tuple(checked)


# --- one run (its outcome, ``MetricCheck``, is in metric_gaps.py) ------------------------------


def check_metrics(
    port: MetricsPort,
    monitors: Sequence[CheckedMonitor],
    modes: CollectionModes,
    environment: str,
    now: datetime,
    settings: MetricCheckSettings | None = None,
) -> MetricCheck:
    """Read what reports and judge the monitors. Advisory: a failed read is a ``failed`` check, never an
    error of the command."""
    settings = settings or MetricCheckSettings()
    metrics = len({m.name for monitor in monitors for m in monitor.metrics})
    if not metrics:
        return MetricCheck("checked", settings.window)
    before = port.request_count
    try:
        reporting = read_reporting(port, monitors, now, settings)
    except DatadogError as exc:
        error = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
        if exc.status in (401, 403):
            error = f"{exc.message} (reading metrics needs an application key with the metrics_read scope)"
        return MetricCheck(
            "failed", settings.window, metrics=metrics, requests=port.request_count - before, error=error
        )
    return MetricCheck(
        "checked",
        settings.window,
        find_gaps(monitors, reporting, modes, environment),
        metrics,
        tuple(reporting.tags),
        reporting.tags_unread,
        reporting.requests,
    )


# --- what reports -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reporting:
    """What the org reports, as read for one check."""

    active: frozenset[str]  # metric names with a point in the window
    window: timedelta = timedelta(hours=24)
    tags_window: timedelta = timedelta(hours=24)
    tags: Mapping[str, MetricTags | None] = field(default_factory=dict)  # read: key -> values (None: unknown)
    types: Mapping[str, str | None] = field(default_factory=dict)  # read: Datadog's metadata type
    tags_unread: tuple[str, ...] = ()  # reporting metrics whose tags were over the budget
    requests: int = 0


def read_reporting(
    port: MetricsPort,
    monitors: Sequence[CheckedMonitor],
    now: datetime,
    settings: MetricCheckSettings,
    concurrency: int = 8,
) -> Reporting:
    before = port.request_count
    active = port.active_metrics(int((now - settings.window).timestamp()))
    to_tag, unread = tag_reads(monitors, active, settings.max_tag_reads)
    to_type = type_reads(monitors, active)
    window_s = int(settings.tags_window.total_seconds())
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(to_tag) + len(to_type)))) as pool:
        tag_answers = pool.map(lambda name: port.metric_tags(name, window_s), to_tag)
        type_answers = pool.map(port.metric_type, to_type)
        tags = dict(zip(to_tag, tag_answers, strict=True))
        types = dict(zip(to_type, type_answers, strict=True))
    return Reporting(
        active, settings.window, settings.tags_window, tags, types, unread, port.request_count - before
    )


def tag_reads(
    monitors: Sequence[CheckedMonitor], active: frozenset[str], budget: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The reporting metrics some monitor filters or groups by: (to read, over the budget), the metrics
    most monitors use first."""
    uses = Counter(m.name for monitor in monitors for m in monitor.metrics if m.tag_keys and m.name in active)
    ranked = tuple(name for name, _ in sorted(uses.items(), key=lambda item: (-item[1], item[0])))
    return ranked[:budget], ranked[budget:]


def type_reads(monitors: Sequence[CheckedMonitor], active: frozenset[str]) -> tuple[str, ...]:
    """The reporting names whose Datadog type differs between collection modes."""
    names = {m.name for monitor in monitors for m in monitor.metrics if m.name in active}
    return tuple(sorted(n for n in names if len({u.submission.type for u in catalogue.lookup(n)}) > 1))


# --- what does not ----------------------------------------------------------------------------


def find_gaps(
    monitors: Sequence[CheckedMonitor], reporting: Reporting, modes: CollectionModes, environment: str
) -> tuple[MonitorGaps, ...]:
    judge = _Judge(reporting, modes, environment)
    found = []
    for monitor in monitors:
        gaps = tuple(gap for metric in monitor.metrics for gap in judge.gaps(metric, monitor.where_to_edit))
        if gaps:
            found.append(MonitorGaps(monitor.key, monitor.source, gaps))
    return tuple(found)


class _Judge:
    def __init__(self, reporting: Reporting, modes: CollectionModes, environment: str) -> None:
        self.reporting = reporting
        self.modes = modes
        self.environment = environment
        self.window = f"the last {span(reporting.window)}"
        self.evidence = _Evidence(reporting.active)
        self._by_name: dict[tuple[str, str | None], MetricGap | None] = {}  # metrics recur in many monitors

    def gaps(self, metric: WatchedMetric, where_to_edit: str | None) -> tuple[MetricGap, ...]:
        """``where_to_edit``: where the monitor's query is changed (None: a mesh definition compiles it)."""
        gap = self._name_gap(metric.name, where_to_edit)
        found = [gap] if gap is not None else []
        tags = self.reporting.tags.get(metric.name)  # read for reporting metrics only
        if tags is not None:
            found += [self._tag_missing(metric.name, key, tags) for key in metric.tag_keys if key not in tags]
            found += [
                self._value_missing(metric.name, key, value, tags[key])
                for key, value in metric.tag_values
                if key in tags and value.lower() not in {v.lower() for v in tags[key]}
            ]
        return tuple(found)

    def _name_gap(self, name: str, edit: str | None) -> MetricGap | None:
        """What the name alone says (kept: the same metrics recur in many monitors)."""
        if (name, edit) not in self._by_name:
            reports = name in self.reporting.active
            self._by_name[name, edit] = (
                self._reporting_gap(name, edit) if reports else self._absent(name, edit)
            )
        return self._by_name[name, edit]

    # -- a name that does not report

    def _absent(self, name: str, edit: str | None) -> MetricGap | None:
        uses = catalogue.lookup(name)
        if not uses:
            return self._not_reporting(name, "")
        metric = uses[0].metric
        collector = metric.collector
        counterpart = next(
            (c for c in catalogue.counterparts(name) if c.submission.name in self.reporting.active), None
        )
        if counterpart is not None:
            evidence = f"but {counterpart.submission.name} does"
            return self._other_mode(name, metric, counterpart.mode, evidence, edit)
        seen = self.evidence.modes.get(collector, {})
        if seen and not {use.mode for use in uses} & seen.keys():
            mode, example = min(seen.items())
            evidence = f"while the {_COLLECTOR_LABEL[collector]}'s {mode} names do ({example})"
            return self._other_mode(name, metric, mode, evidence, edit)
        if collector not in self.evidence.collectors:
            return self._silent(name, metric)
        if metric.on_event:
            return None  # its collector reports: there simply was no event in the window
        if metric.stats:
            return self._stats_not_kept(name, metric)
        return self._not_reporting(name, f", though other {_COLLECTOR_LABEL[collector]} metrics do")

    def _other_mode(
        self, name: str, metric: catalogue.Metric, mode: Mode, evidence: str, edit: str | None
    ) -> MetricGap:
        label = _COLLECTOR_LABEL[metric.collector]
        message = (
            f"{name} has not reported in {self.window} {evidence}: "
            f"this environment's {label} looks like {mode}"
        )
        return MetricGap(name, Cause.OTHER_MODE, message, self._mode_fix(metric, mode, edit))

    def _mode_fix(self, metric: catalogue.Metric, mode: Mode, edit: str | None) -> str:
        collector = metric.collector
        if self.modes.of(collector) != mode:
            other = "legacy" if mode == "openmetrics" else "openmetrics"
            return (
                f"set `istio: {{{collector.value}: {mode}}}` for environment {self.environment} in "
                f"provisioner.yaml and apply; or run the {_COLLECTOR_LABEL[collector]} in {other} mode "
                "(`provisioner mesh requirements`)"
            )
        instead = metric.submissions.get(mode)
        if instead is None:
            return f"the monitor queries another mode's name, and {mode} mode has no such metric: remove it"
        how = (
            " (a definition compiles to it for this environment: `provisioner apply`)"
            if edit is None
            else f": edit the query in {edit}"
        )
        return f"the monitor queries another mode's name: query {instead.name} instead{how}"

    def _silent(self, name: str, metric: catalogue.Metric) -> MetricGap:
        needed = setup.requirements({"": [metric]}, self.modes)
        titles = "; ".join(r.title for r in needed)
        message = (
            f"{name} has not reported in {self.window}, nor has any {_COLLECTOR_LABEL[metric.collector]} "
            f"metric: not set up ({titles})"
        )
        fix = "`provisioner mesh requirements` prints the set-up to apply"
        return MetricGap(name, Cause.COLLECTOR_SILENT, message, fix)

    def _stats_not_kept(self, name: str, metric: catalogue.Metric) -> MetricGap:
        stats = ", ".join(f"`{s}`" for s in metric.stats)
        message = (
            f"{name} has not reported in {self.window}, though other Envoy check metrics do: "
            f"Istio's proxyStatsMatcher does not keep {stats} stats (none by default)"
        )
        fix = "`provisioner mesh requirements` prints the proxyStatsMatcher inclusion"
        return MetricGap(name, Cause.STATS_NOT_KEPT, message, fix)

    def _not_reporting(self, name: str, context: str) -> MetricGap:
        message = f"{name} has not reported in {self.window}{context}"
        fix = "check the metric's name, and that something sends it (a renamed metric, a removed integration)"
        return MetricGap(name, Cause.NOT_REPORTING, message, fix)

    # -- a name that reports, but not as the monitor means it

    def _reporting_gap(self, name: str, edit: str | None) -> MetricGap | None:
        """The type Datadog gives the name decides when it was read; without it, what else of the
        collector reports does."""
        found = self._wrong_type(name, edit)
        if found is None and self.reporting.types.get(name) is None:
            found = self._other_mode_by_evidence(name, edit)
        return found or self._cumulative(name, edit)

    def _other_mode_by_evidence(self, name: str, edit: str | None) -> MetricGap | None:
        """A name both modes submit, with a different meaning in each (V2's request count is V1's running
        total), reporting while only the other mode's names of its collector do."""
        uses = catalogue.lookup(name)
        mode = self.modes.of(uses[0].metric.collector) if uses else None
        mine = [u for u in uses if u.mode == mode]
        others = [u for u in uses if u.mode != mode and (u.metric.key, u.submission.type) not in
                  {(m.metric.key, m.submission.type) for m in mine}]  # fmt: skip
        seen = self.evidence.modes.get(uses[0].metric.collector, {}) if uses else {}
        if not mine or not others or not seen or mode in seen:
            return None
        other_mode, example = min(seen.items())
        other = next((u for u in others if u.mode == other_mode), others[0])
        label = _COLLECTOR_LABEL[other.metric.collector]
        message = (
            f"{name} reports, but of the {label}'s names only {other_mode} ones do ({example}): there it is "
            f"the {other.submission.type} of {other_mode} mode ({other.metric.description}), not the "
            f"{mine[0].submission.type} the monitor reads: this environment's {label} looks like {other_mode}"
        )
        return MetricGap(name, Cause.OTHER_MODE, message, self._mode_fix(other.metric, other_mode, edit))

    def _cumulative(self, name: str, edit: str | None) -> MetricGap | None:
        found = catalogue.cumulative_in_mode(name, self.modes)
        if found is None or self.reporting.types.get(name) not in (None, "gauge"):
            return None
        use, counted = found
        label = _COLLECTOR_LABEL[use.metric.collector]
        message = (
            f"{name} reports, but this environment's {label} ({use.mode}) sends it as a cumulative gauge, a "
            "counter's running total since its process started: a sum or average over the window is not a "
            "count, and .as_count() does nothing on a gauge"
        )
        if counted is None:
            fix = f"no {use.mode} metric counts this per interval: remove it"
        elif edit is None:
            fix = f"query {counted.name}, the count per interval (a definition compiles to it: `provisioner apply`)"
        else:
            fix = f"query {counted.name}, the count per interval: edit the query in {edit}"
        return MetricGap(name, Cause.CUMULATIVE_GAUGE, message, fix)

    def _wrong_type(self, name: str, edit: str | None) -> MetricGap | None:
        actual = self.reporting.types.get(name)
        uses = catalogue.lookup(name)
        if actual is None or not uses:
            return None
        expected = {u.submission.type for u in uses if self.modes.of(u.metric.collector) in (None, u.mode)}
        other = next((u for u in uses if u.submission.type == actual and actual not in expected), None)
        if not expected or other is None:
            return None
        label = _COLLECTOR_LABEL[other.metric.collector]
        message = (
            f"{name} reports as a {actual}, the way {other.mode} mode sends it, not as the "
            f"{' or '.join(sorted(expected))} the monitor reads: "
            f"this environment's {label} looks like {other.mode}"
        )
        return MetricGap(name, Cause.OTHER_MODE, message, self._mode_fix(other.metric, other.mode, edit))

    def _tag_missing(self, name: str, key: str, tags: MetricTags) -> MetricGap:
        message = (
            f"{name} has had no tag {key} in the last {span(self.reporting.tags_window)}, "
            "and the query filters or groups by it"
        )
        dropped = catalogue.EXCLUDED_BY_DEFAULT.get(key)
        if dropped is not None:
            fix = f"the Agent's shipped Istio configuration drops {key}: use {dropped}"
        else:
            fix = f"filter and group by a tag it has: {', '.join(sorted(tags)) or '(none)'}"
        return MetricGap(name, Cause.TAG_MISSING, message, fix, tag_key=key)

    def _value_missing(self, name: str, key: str, value: str, seen: frozenset[str]) -> MetricGap:
        message = (
            f"{name} has had no series with {key}:{value} in the last {span(self.reporting.tags_window)}, "
            "and the query filters on it"
        )
        return MetricGap(name, Cause.VALUE_MISSING, message, f"its {key} values: {_listed(value, seen)}", key)


def _listed(value: str, seen: frozenset[str], shown: int = 8) -> str:
    """The values seen, those that contain the one asked for first (``checkout.shop`` for ``checkout``)."""
    ordered = sorted(seen, key=lambda v: (value.lower() not in v.lower(), v))
    more = f" (and {len(ordered) - shown} more)" if len(ordered) > shown else ""
    return (", ".join(ordered[:shown]) or "(none)") + more


class _Evidence:
    """Which collectors report, and which modes their mode-specific names say they run in."""

    def __init__(self, active: frozenset[str]) -> None:
        self.collectors: set[Collector] = set()
        self.modes: dict[Collector, dict[Mode, str]] = {}  # collector -> mode -> an example name
        for name in sorted(active & catalogue.all_names()):
            uses = catalogue.lookup(name)
            collector = uses[0].metric.collector
            self.collectors.add(collector)
            modes = {use.mode for use in uses}
            if len(modes) == 1:
                self.modes.setdefault(collector, {}).setdefault(modes.pop(), name)
