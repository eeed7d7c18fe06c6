"""Query-building blocks shared by the four mesh kinds: scope, group-by, window, metric terms named through
the mesh catalogue for the environment's collection modes, count thresholds, missing-data policy, and the
composite that combines a definition's parts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import NamedTuple

from provisioner import identity
from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds.base import (
    CompileContext,
    CompiledMonitor,
    CompiledPart,
    Fields,
    merged_tags,
    monitor_body,
    ordered_thresholds,
)
from provisioner.definitions.query import format_number
from provisioner.mesh import catalogue, setup
from provisioner.model import CollectionModes, Json
from provisioner.signals import MetricTerm, metric_terms, query_metric_names

MESH_MONITOR_TYPE = "query alert"
COMPOSITE_TYPE = "composite"

# on_missing_data values (Datadog): what an evaluation without data does.
EVALUATE_AS_ZERO = "default"  # count queries are evaluated as 0: for counters that only exist after an event
NOTIFY_NO_DATA = "show_and_notify_no_data"  # for series that always report while collection works
RESOLVE = "resolve"  # OK: for a ratio whose numerator only exists after the first error

# Options that change how a monitor evaluates: a composite's parts take them; the composite takes the rest
# (notification options: renotify, escalation, no-data notification...).
EVALUATION_OPTIONS = frozenset(
    {
        "evaluation_delay",
        "new_group_delay",
        "new_host_delay",
        "require_full_window",
        "scheduling_options",
        "on_missing_data",
        "group_retention_duration",
    }
)
_MISSING_DATA_CHOICES = ("on_missing_data", "notify_no_data", "no_data_timeframe")
# Counts of events (series that appear with the first event) and ratios over them: a full window must not
# be required. Sources disagree on the default (the API says false, an older API page true for sum), and
# with true a sparse counter's evaluations are cancelled ("the window is not full") instead of counting 0.
_SPARSE_COUNTS = (EVALUATE_AS_ZERO, RESOLVE)

# Template variables Datadog fills from a metric monitor's own evaluation. A composite has no value and no
# thresholds of its own: it fills {{a.value}} and {{a.status}} from its parts, conditional variables and
# the tag variables of its groups (Datadog docs, monitors/notify/variables, "Composite monitor variables").
COMPOSITE_UNFILLED = ("value", "threshold", "warn_threshold", "ok_threshold", "comparator")
_UNFILLED_VARIABLE = re.compile(r"\{\{\{?\s*(" + "|".join(COMPOSITE_UNFILLED) + r")\s*\}?\}\}")


def mesh_field_pointer(body_pointer: str) -> str:
    """Mesh kinds take thresholds at the top level and build the query themselves (from their kind: a
    problem of the query is located there, once for all of a definition's services)."""
    if body_pointer.startswith("/options/thresholds"):
        return body_pointer.replace("/options/thresholds", "/thresholds", 1)
    if body_pointer in ("/query", "/type"):
        return "/kind"
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


def scope(fields: Fields) -> list[str]:
    """The definition's scope filters."""
    return [str(item) for item in fields.get("scope") or ()]


def term(
    context: CompileContext,
    key: str,
    filters: Sequence[str],
    group_by: Sequence[str] = (),
    space_aggregation: str = "sum",
) -> str:
    """A catalogue metric as this environment's collectors name it, ``.as_count()`` on counts."""
    return catalogue.term(
        key, ",".join(filters) or "*", group_by, context.modes, space_aggregation=space_aggregation
    )


def added(terms: Sequence[str]) -> str:
    """Terms added in one query: only for series that exist together (a missing operand blanks the sum)."""
    return " + ".join(terms)


def watched_services(filters: Iterable[str], context: CompileContext, metric_key: str) -> tuple[str, ...]:
    """The services a monitor watches: the expanded service, else those its scope names by a tag that names
    the receiving side on the kind's metric (``service:`` on Envoy's cluster stats is the caller: not one)."""
    if context.service is not None:
        return (context.service,)
    found = []
    for item in filters:
        key, _, value = item.partition(":")
        if value and "*" not in value and catalogue.watches_destination(metric_key, key):
            found.append(catalogue.service_of(key, value))
    return tuple(dict.fromkeys(found))


def count_thresholds(fields: Fields) -> dict[str, Json]:
    """Count thresholds: critical defaults to 0 (alert on any occurrence)."""
    given: Mapping[str, Json] = fields.get("thresholds") or {}
    return ordered_thresholds({"critical": 0, **given})


def options_with(fields: Fields, thresholds: Mapping[str, Json], missing_data: str | None) -> dict[str, Json]:
    """The definition's options, its thresholds, and the kind's missing-data policy unless the definition
    chose its own (``on_missing_data``, or the older ``notify_no_data``)."""
    options: dict[str, Json] = {**(fields.get("options") or {}), "thresholds": dict(thresholds)}
    if missing_data is not None and options.keys().isdisjoint(_MISSING_DATA_CHOICES):
        options["on_missing_data"] = missing_data
    if missing_data in _SPARSE_COUNTS:
        options.setdefault("require_full_window", False)
    return options


def count_monitor(
    fields: Fields,
    context: CompileContext,
    signal: str,
    expression: str,
    services: tuple[str, ...] = (),
    missing_data: str | None = EVALUATE_AS_ZERO,
    findings: tuple[Finding, ...] = (),
) -> CompiledMonitor:
    """A monitor alerting when ``expression`` goes above the critical count."""
    thresholds = count_thresholds(fields)
    query = f"{expression} > {format_number(thresholds['critical'])}"
    options = options_with(fields, thresholds, missing_data)
    body = monitor_body(fields, context, MESH_MONITOR_TYPE, query, options)
    return CompiledMonitor(body, findings, signal, services)


# --- a definition's parts and the composite that combines them --------------------------------


class Part(NamedTuple):  # not a dataclass: made for every part of every definition, a tuple is cheaper
    """One metric monitor of a definition: alone, it is the definition's monitor; with others, a part."""

    suffix: str  # part id suffix: <definition id>:<suffix>
    title: str  # what it watches, for its name
    query: str
    thresholds: Mapping[str, Json]
    missing_data: str | None


def combined(
    fields: Fields,
    context: CompileContext,
    signal: str,
    parts: Sequence[Part],
    operator: str,
    services: tuple[str, ...] = (),
    findings: Sequence[Finding] = (),
    shown_thresholds: Mapping[str, str] | None = None,
) -> CompiledMonitor:
    """One part: the definition's monitor. Several: a composite ``a <operator> b ...`` carrying the name,
    message, handles and priority, and parts that never notify (no handles, no priority). The composite's
    message gets ``shown_thresholds`` (``{"threshold": "5%", "warn_threshold": "2%"}``) written in, the
    values Datadog would fill for a metric monitor; other such variables are warned about."""
    if len(parts) == 1:
        (only,) = parts
        options = options_with(fields, only.thresholds, only.missing_data)
        body = monitor_body(fields, context, MESH_MONITOR_TYPE, only.query, options)
        return CompiledMonitor(body, tuple(findings), signal, services)
    user_options: Mapping[str, Json] = fields.get("options") or {}
    notification = {k: v for k, v in user_options.items() if k not in EVALUATION_OPTIONS}
    references = [identity.reference(identity.part_id(context.definition_id, part.suffix)) for part in parts]
    composite = monitor_body(fields, context, COMPOSITE_TYPE, f" {operator} ".join(references), notification)
    composite["message"], unfilled = composite_message(
        str(composite["message"]), shown_thresholds or {}, parts
    )
    compiled_parts = _compiled_parts(fields, context, parts)
    return CompiledMonitor(composite, (*findings, *unfilled), signal, services, compiled_parts)


def composite_message(
    message: str, shown: Mapping[str, str], parts: Sequence[Part]
) -> tuple[str, tuple[Finding, ...]]:
    """The message with the variables the kind knows written in, and a warning per variable a composite
    leaves empty."""
    unfilled: dict[str, None] = {}

    def fill(match: re.Match[str]) -> str:
        if match[1] in shown:
            return shown[match[1]]
        unfilled[match[1]] = None
        return match[0]

    text = _UNFILLED_VARIABLE.sub(fill, message) if "{{" in message else message
    if not unfilled:
        return text, ()
    labels = ", ".join(f"{{{{{chr(ord('a') + n)}.value}}}} ({part.title})" for n, part in enumerate(parts))
    findings = tuple(
        Finding(
            "/message",
            "composite-template-variable",
            f"{{{{{name}}}}} stays empty: this definition notifies through a composite monitor, which has no "
            "value or thresholds of its own",
            f"a composite fills its parts' values, in the order its query names them: {labels}; and the "
            "tag variables of their groups",
            "warning",
        )
        for name in unfilled
    )
    return text, findings


def _compiled_parts(
    fields: Fields, context: CompileContext, parts: Sequence[Part]
) -> tuple[CompiledPart, ...]:
    """The parts, never notifying; what their bodies share is built once."""
    name = str(fields["name"]).strip()
    message = f'Part of the composite monitor "{name}", which notifies: this monitor never does.'
    tags = merged_tags(fields.get("tags") or (), context.environment.tags)
    user_options: Mapping[str, Json] = fields.get("options") or {}
    evaluation = {"options": {k: v for k, v in user_options.items() if k in EVALUATION_OPTIONS}}

    def body(part: Part) -> dict[str, Json]:
        options = options_with(evaluation, part.thresholds, part.missing_data)
        part_body: dict[str, Json] = {
            "name": f"{name} [{part.title}]",
            "type": MESH_MONITOR_TYPE,
            "query": part.query,
            "message": message,
            "tags": list(tags),
            "priority": None,
            "options": options,
        }
        if "restricted_roles" in fields:
            part_body["restricted_roles"] = fields["restricted_roles"]
        return part_body

    return tuple(CompiledPart(part.suffix, body(part)) for part in parts)


# --- what a monitor's mesh metrics need ---------------------------------------------------------


def setup_findings(query: str, modes: CollectionModes) -> tuple[Finding, ...]:
    """Warnings about the mesh metrics of a monitor's query text in this environment: set-up beyond Datadog's
    documented Istio install, another collection mode's metric name, a tag the shipped configuration drops."""
    names = query_metric_names(query)
    findings = _name_findings(names, modes)
    if modes.data_plane == "legacy" and _any_data_plane(names) and _may_name_excluded_tag(query):
        dropped = [finding for term in metric_terms(query) for finding in _excluded_tag_findings(term)]
        return tuple(dict.fromkeys((*findings, *dropped)))
    return findings


@cache
def _name_findings(names: tuple[str, ...], modes: CollectionModes) -> tuple[Finding, ...]:
    """What the metric names alone say, each once (the same names recur in every definition of a kind:
    cached)."""
    names = tuple(dict.fromkeys(names))
    metrics = [found[0].metric for found in map(catalogue.lookup, names) if found]
    findings = []
    needed = setup.opt_ins(metrics, modes)
    if needed:
        listed = "; ".join(r.title for r in needed)
        message = f"its metrics need set-up beyond Datadog's default Istio install: {listed}"
        hint = setup.declaration_hint(needed, modes)
        findings.append(Finding("/query", "needs-mesh-setup", message, hint, "warning"))
    for name in names:
        findings.extend(_mode_findings(name, modes))
        findings.extend(cumulative_findings(name, modes, "/query"))
    return tuple(dict.fromkeys(findings))


@cache
def _any_data_plane(names: tuple[str, ...]) -> bool:
    """Whether a data-plane metric is among the names (cached as ``_name_findings`` is)."""
    return any(_is_data_plane(name) for name in names)


def _may_name_excluded_tag(query: str) -> bool:
    """Whether a tag the shipped data-plane configuration drops could be among the query's filters and
    groups: only if the query text holds its key (most do not: their terms need not be read)."""
    return any(key in query for key in catalogue.EXCLUDED_BY_DEFAULT)


def cumulative_findings(name: str, modes: CollectionModes, pointer: str) -> Iterator[Finding]:
    """A name this environment's collector sends as a counter's running total: a query over a window of it
    is not a count (``.as_count()`` does nothing on a gauge)."""
    found = catalogue.cumulative_in_mode(name, modes)
    if found is None:
        return
    use, counted = found
    collector = use.metric.collector.value
    message = (
        f"{name} is a cumulative gauge where {collector} runs in {use.mode} mode: a counter's running total "
        "since its process started, so a sum or average over a window is not a count, and .as_count() does "
        "nothing"
    )
    hint = (
        f"use {counted.name}, the count per interval"
        if counted is not None
        else "no metric counts it per interval"
    )
    yield Finding(pointer, "cumulative-gauge", message, hint, "warning")


def _is_data_plane(name: str) -> bool:
    uses = catalogue.lookup(name)
    return bool(uses) and uses[0].metric.collector is catalogue.Collector.DATA_PLANE


def _mode_findings(name: str, modes: CollectionModes) -> Iterator[Finding]:
    mismatch = catalogue.mode_mismatch(name, modes)
    if mismatch is None:
        return
    use, instead = mismatch
    collector = use.metric.collector.value
    message = (
        f"{name} is the {use.mode} name; this environment's {collector} runs in {modes.of(collector)} mode"
    )
    hint = f"use {instead.name}" if instead is not None else f"no {modes.of(collector)} metric counts this"
    yield Finding(
        "/query", "metric-not-in-mode", message, f"{hint} (or set istio: in provisioner.yaml)", "warning"
    )


def _excluded_tag_findings(term: MetricTerm) -> Iterator[Finding]:
    """Filters and groups on a tag the shipped data-plane auto_conf.yaml drops (the caller checks the mode)."""
    if not _is_data_plane(term.metric):
        return
    for key in [*(f.key for f in term.filters), *term.group_by]:
        if key in catalogue.EXCLUDED_BY_DEFAULT:
            message = (
                f"{key} is dropped by the Agent's shipped Istio auto_conf.yaml (this data plane is legacy)"
            )
            hint = f"use {catalogue.EXCLUDED_BY_DEFAULT[key]}"
            yield Finding("/query", "excluded-tag", message, hint, "warning")
