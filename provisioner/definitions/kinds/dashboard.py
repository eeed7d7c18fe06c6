"""dashboard: a Datadog dashboard body, with a readable shorthand for timeseries, toplist and query_value
widgets (compiled to Datadog's formulas-and-functions requests) and raw Datadog widget JSON for the rest.

Shorthand queries may name a mesh catalogue metric instead of a Datadog metric: ``mesh:<key>``, e.g.
``sum:mesh:requests{$cluster,reporter:destination} by {destination_service_name}``. It compiles to the
name the environment's collection mode submits, with ``.as_count()`` after a count's group-by."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.definitions.findings import Finding, did_you_mean
from provisioner.definitions.kinds.base import Fields
from provisioner.definitions.kinds.mesh import cumulative_findings
from provisioner.mesh import catalogue
from provisioner.model import CollectionModes, Environment, Json
from provisioner.signals import dashboard_queries, metric_names

_TEMPLATE_REFERENCE = re.compile(r"\$([A-Za-z0-9_-]+)")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_IDENTIFIER = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")
_MESH_TERM = re.compile(
    r"(?<![\w.])mesh:(?P<key>[A-Za-z0-9_]+)(?P<scope>\{[^{}]*\})(?P<by>\s*by\s*\{[^{}]*\})?"
    r"(?P<functions>(?:\.[a-z_]+\([^()]*\))*)"
)
Widget = Mapping[str, Any]


@dataclass(frozen=True)
class CompiledDashboard:
    body: dict[str, Json]
    findings: tuple[Finding, ...] = ()


def compile_dashboard(fields: Fields, environment: Environment | None = None) -> CompiledDashboard:
    modes = catalogue.modes_of(environment) if environment is not None else catalogue.DEFAULT_MODES
    variables = frozenset(str(v["name"]) for v in fields.get("template_variables") or ())
    widgets: list[Json] = []
    findings: list[Finding] = list(_layout_findings(fields))
    for index, widget in enumerate(fields.get("widgets") or ()):
        pointer = f"/widgets/{index}"
        if "definition" in widget:
            widgets.append(copy.deepcopy(dict(widget)))
        else:
            widgets.append(_shorthand_widget(widget, modes))
            findings.extend(_query_findings(widget, pointer, variables, modes))
        findings.extend(_cumulative_findings(widgets[-1], pointer, modes))
    return CompiledDashboard(_body(fields, widgets), tuple(findings))


def _cumulative_findings(widget: Widget, pointer: str, modes: CollectionModes) -> Iterator[Finding]:
    """A graph of a counter's running total (a legacy data plane's cumulative gauges), compiled or raw."""
    names = dict.fromkeys(n for q in dashboard_queries({"widgets": [widget]}) for n in metric_names({"query": q}))
    for name in names:
        yield from cumulative_findings(name, modes, pointer)


def mesh_query(query: str, modes: CollectionModes) -> str:
    """``mesh:<key>`` terms as the environment's collectors name them (unknown keys are left as written:
    validation reports them)."""
    return _MESH_TERM.sub(lambda match: _mesh_term(match, modes), query)


def _mesh_term(match: re.Match[str], modes: CollectionModes) -> str:
    key = match["key"]
    if key not in catalogue.METRICS or not catalogue.available(key, modes):
        return match[0]
    submission = catalogue.submission(key, modes)
    functions = match["functions"]
    count = ".as_count()" if submission.is_count and ".as_" not in functions else ""
    return f"{submission.name}{match['scope']}{match['by'] or ''}{count}{functions}"


def _mesh_findings(query: str, pointer: str, modes: CollectionModes) -> Iterator[Finding]:
    for match in _MESH_TERM.finditer(query):
        key = match["key"]
        if key not in catalogue.METRICS:
            message = f"mesh:{key} is not a metric of the mesh catalogue"
            yield Finding(pointer, "unknown-mesh-metric", message, did_you_mean(key, catalogue.keys()))
        elif not catalogue.available(key, modes):
            collector = catalogue.metric(key).collector.value
            message = f"mesh:{key} is not submitted when {collector} is in {modes.of(collector)} mode"
            yield Finding(pointer, "mesh-metric-not-in-mode", message, "use a metric both modes submit")


def _body(fields: Fields, widgets: list[Json]) -> dict[str, Json]:
    body: dict[str, Json] = {
        "title": str(fields["title"]).strip(),
        "description": fields.get("description"),
        "layout_type": fields.get("layout") or "ordered",
        "widgets": widgets,
        "template_variables": copy.deepcopy(list(fields.get("template_variables") or ())),
    }
    if fields.get("reflow") is not None:
        body["reflow_type"] = fields["reflow"]
    if fields.get("notify_list") is not None:
        body["notify_list"] = list(fields["notify_list"])
    if fields.get("tags") is not None:
        body["tags"] = sorted(set(fields["tags"]))
    return body


def _named_queries(widget: Widget) -> dict[str, str]:
    if "queries" in widget:
        return {str(name): str(query) for name, query in widget["queries"].items()}
    return {"query1": str(widget.get("query", ""))}


def _formulas(widget: Widget, names: list[str]) -> list[str]:
    formula = widget.get("formula")
    if formula is None:
        return names
    return [formula] if isinstance(formula, str) else [str(f) for f in formula]


def _shorthand_widget(widget: Widget, modes: CollectionModes) -> dict[str, Json]:
    kind = str(widget["type"])
    queries = {name: mesh_query(query, modes) for name, query in _named_queries(widget).items()}
    formulas = _formulas(widget, list(queries))
    definition: dict[str, Json] = {"type": kind}
    if "title" in widget:
        definition["title"] = widget["title"]
    definition.update(_REQUEST_BUILDERS[kind](widget, queries, formulas))
    compiled: dict[str, Json] = {"definition": definition}
    if "layout" in widget:
        compiled["layout"] = dict(widget["layout"])
    return compiled


def _queries(queries: Mapping[str, str], aggregator: str | None = None) -> list[Json]:
    extra = {"aggregator": aggregator} if aggregator else {}
    return [
        {"data_source": "metrics", "name": name, "query": query, **extra} for name, query in queries.items()
    ]


def _timeseries(widget: Widget, queries: Mapping[str, str], formulas: list[str]) -> dict[str, Json]:
    request = {
        "response_format": "timeseries",
        "queries": _queries(queries),
        "formulas": [{"formula": f} for f in formulas],
        "display_type": widget.get("display", "line"),
    }
    extra = {"show_legend": widget["legend"]} if "legend" in widget else {}
    return {"requests": [request], **extra}


def _toplist(widget: Widget, queries: Mapping[str, str], formulas: list[str]) -> dict[str, Json]:
    limit, order = widget.get("limit", 10), widget.get("order", "desc")
    request = {
        "response_format": "scalar",
        "queries": _queries(queries, widget.get("aggregator", "avg")),
        "formulas": [{"formula": f, "limit": {"count": limit, "order": order}} for f in formulas],
        "sort": {"count": limit, "order_by": [{"type": "formula", "index": 0, "order": order}]},
    }
    return {"requests": [request]}


def _query_value(widget: Widget, queries: Mapping[str, str], formulas: list[str]) -> dict[str, Json]:
    request = {
        "response_format": "scalar",
        "queries": _queries(queries, widget.get("aggregator", "avg")),
        "formulas": [{"formula": f} for f in formulas],
    }
    options = {"precision": "precision", "unit": "custom_unit", "autoscale": "autoscale"}
    return {"requests": [request], **{out: widget[key] for key, out in options.items() if key in widget}}


_REQUEST_BUILDERS = {"timeseries": _timeseries, "toplist": _toplist, "query_value": _query_value}


def _query_findings(
    widget: Widget, pointer: str, variables: frozenset[str], modes: CollectionModes
) -> Iterator[Finding]:
    if ("query" in widget) == ("queries" in widget):
        message = "a widget needs either query (one query) or queries (named queries for a formula)"
        yield Finding(pointer, "widget-query", message, "keep one of them")
        return
    queries = _named_queries(widget)
    yield from _formula_findings(widget, pointer, queries)
    for name, query in queries.items():
        query_pointer = f"{pointer}/query" if "query" in widget else f"{pointer}/queries/{name}"
        yield from _mesh_findings(query, query_pointer, modes)
        for reference in _TEMPLATE_REFERENCE.findall(query):
            if reference not in variables:
                message = f"${reference} is not a template variable of this dashboard"
                hint = f"add {{name: {reference}, prefix: <tag>}} to template_variables"
                yield Finding(query_pointer, "unknown-dashboard-variable", message, hint)


def _formula_findings(widget: Widget, pointer: str, queries: Mapping[str, str]) -> Iterator[Finding]:
    for formula in _formulas(widget, list(queries)):
        unknown = sorted(set(_IDENTIFIER.findall(_QUOTED.sub("", formula))) - set(queries))
        for name in unknown:
            message = f"formula '{formula}' uses '{name}', which is not one of the queries"
            yield Finding(
                f"{pointer}/formula", "unknown-formula-query", message, f"queries: {', '.join(queries)}"
            )


def _layout_findings(fields: Fields) -> Iterator[Finding]:
    layout, reflow = fields.get("layout") or "ordered", fields.get("reflow")
    if layout == "free" and reflow is not None:
        yield Finding(
            "/reflow", "reflow-on-free-layout", "reflow applies to ordered layouts only", "remove reflow"
        )
    if layout == "free" or reflow == "fixed":
        for index, widget in enumerate(fields.get("widgets") or ()):
            if "layout" not in widget:
                which = "free" if layout == "free" else "fixed-reflow"
                message = f"a {which} dashboard needs a layout on every widget"
                yield Finding(
                    f"/widgets/{index}", "missing-layout", message, "add layout: {x, y, width, height}"
                )
