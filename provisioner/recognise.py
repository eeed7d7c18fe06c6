"""Which mesh kind an imported monitor is, if any: a raw ``kind: monitor`` document in, the
``error-rate``, ``sidecar-injection``, ``config-propagation`` or ``circuit-open`` document that compiles
to the very same monitor out (or None). ``recognise_mesh_group`` does the same for a composite and the
monitors it combines (error-rate's ``ratio && traffic``, config-propagation's ``a || b || c``): one
definition that compiles to all of them.

The query templates are not written here a second time: each kind's own compiler is run once with
placeholder values (window, scope, group-by) for the environment's
collection modes, and the query it emits becomes a regular expression with those placeholders as capture
groups. A query that fits a template gives a candidate document, and a candidate is returned only when
the definitions layer compiles it (for a bare environment with the same modes: no variables, tags or
notify handles) into bodies whose canonical form (``normalize.canonical_monitor``) equals the imported
monitors', query text included. Anything else is left as the raw monitors it is, which is always correct.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import yaml

from provisioner import identity
from provisioner.definitions.compile import COMPOSITE, compile_definition
from provisioner.definitions.documents import split_definitions
from provisioner.definitions.kinds import MONITOR_KINDS
from provisioner.definitions.kinds.base import CompileContext
from provisioner.definitions.kinds.error_rate import as_ratio
from provisioner.definitions.kinds.mesh import EVALUATION_OPTIONS
from provisioner.definitions.source import parse_documents
from provisioner.definitions.yaml_reader import DefinitionDumper
from provisioner.mesh.catalogue import CIRCUIT_OPEN, CONFIG_PROPAGATION, ERROR_RATE, lookup, modes_of
from provisioner.model import MESH_SIGNALS, CollectionModes, Environment, Json, MonitorSpec
from provisioner.normalize import MONITOR_FIELDS, canonical_monitor
from provisioner.signals import MetricTerm, metric_terms, signals_of

__all__ = ["recognise_mesh_group", "recognise_mesh_kind"]

BARE_ENVIRONMENT = Environment(name="default")
_TEMPLATE_ID = "template"

# Placeholders handed to the kinds' compilers; each becomes a capture group of the template.
_WINDOW = "\x00window\x00"
_SCOPE = "\x00scope\x00"
_GROUP_BY = "\x00by\x00"
_CRITICAL = 546372819

_GROUPS = {
    _WINDOW: ("window", r"[1-9][0-9]*[mhdw]"),
    _SCOPE: ("scope", r"[^{}]+?"),
    _GROUP_BY: ("group_by", r"[^{}]+"),
}
_PLACEHOLDER = re.compile("(" + "|".join(re.escape(p) for p in _GROUPS) + ")")
_TRAFFIC_TAIL = re.compile(r" >= (?P<min_requests>[1-9][0-9]*)$")
_COMPOSITE_QUERY = re.compile(r"^\s*(\d+)((?:\s*(?:&&|\|\|)\s*\d+)+)\s*$")

# Document keys in the order they are written.
_PARAMETER_ORDER = (
    "source",
    "signal",
    "breakers",
    "clusters",
    "scope",
    "group_by",
    "window",
    "min_requests",
    "push_errors",
    "proxy_rejects",
    "validation_failures",
)
_NOT_CARRIED = frozenset({"kind", "type", "query", "id", "adopt", "name"})
_ALL_OFF = {"push_errors": False, "proxy_rejects": False, "validation_failures": False}


@dataclass(frozen=True)
class Template:
    """One query shape a kind emits: the regular expression, and the fields that chose the shape."""

    kind: str
    pattern: re.Pattern[str]
    fields: Mapping[str, Json]  # the shape's fixed fields (source, signal, breakers, push_errors...)
    groups_by_default: bool  # without group_by the kind still groups (circuit-open: by cluster)


def recognise_mesh_kind(
    raw: dict[str, Json], environment: Environment = BARE_ENVIRONMENT
) -> dict[str, Json] | None:
    """The mesh-kind document that compiles to exactly the monitor ``raw`` describes in an environment
    with ``environment``'s collection modes, or None."""
    try:
        return _recognise(raw, modes_of(environment))
    except Exception:  # odd input (a value of an unexpected type...): the raw document is still right
        return None


def recognise_mesh_group(
    composite: dict[str, Json],
    parts: Mapping[int, dict[str, Json]],
    environment: Environment = BARE_ENVIRONMENT,
) -> dict[str, Json] | None:
    """The mesh-kind document that compiles to exactly this composite and the monitors it combines
    (``parts``: raw documents by Datadog id, with ``adopt``), or None."""
    try:
        return _recognise_group(composite, parts, modes_of(environment))
    except Exception:
        return None


def _recognise(raw: Mapping[str, Json], modes: CollectionModes) -> dict[str, Json] | None:
    query = raw.get("query") if isinstance(raw, Mapping) else None
    if not isinstance(query, str) or "\x00" in query:
        return None
    expected = _canonical(raw)
    for kind, parameters in _matches(query, modes):
        for candidate in _variants(_document(raw, kind, parameters)):
            if _compiles_to(candidate, {_document_id(candidate): expected}, modes):
                return candidate
    return None


def _matches(query: str, modes: CollectionModes) -> Iterator[tuple[str, dict[str, Json]]]:
    terms = metric_terms(query)
    signals = signals_of(terms)  # a scope may name a second signal (response_code:503)
    for kind in (kind for kind in MESH_SIGNALS if kind in signals):
        found = templates(kind, modes)
        if kind == CIRCUIT_OPEN:
            found += _breaker_templates(_breakers(terms), modes)
        for template in found:
            match = template.pattern.fullmatch(query.strip())
            if match is not None:
                for parameters in _parameters(template, match):
                    yield kind, parameters


# --- groups: a composite and its parts ------------------------------------------------------


def _recognise_group(
    composite: Mapping[str, Json], parts: Mapping[int, dict[str, Json]], modes: CollectionModes
) -> dict[str, Json] | None:
    query = composite.get("query")
    found = _COMPOSITE_QUERY.match(query) if isinstance(query, str) else None
    if found is None or "\x00" in str(query):
        return None
    ids = [int(i) for i in re.findall(r"\d+", str(query))]
    operators = set(re.findall(r"&&|\|\|", str(query)))
    if len(operators) != 1 or len(set(ids)) != len(ids) or any(i not in parts for i in ids):
        return None
    members = [parts[i] for i in ids]
    candidate = _group_candidate(composite, members, operators.pop(), modes)
    if candidate is None:
        return None
    expected = _expected_group(composite, members, candidate)
    for variant in _variants(candidate):
        if _compiles_to(variant, expected, modes):
            return variant
    return None


def _group_candidate(
    composite: Mapping[str, Json],
    members: Sequence[Mapping[str, Json]],
    operator: str,
    modes: CollectionModes,
) -> dict[str, Json] | None:
    if operator == "&&" and len(members) == 2:
        kind, shared = ERROR_RATE, _error_rate_parameters(members, modes)
    elif operator == "||":
        kind, shared = CONFIG_PROPAGATION, _config_propagation_parameters(members, modes)
    else:
        return None
    if shared is None:
        return None
    ratio_or_any = members[0]
    document = _document({**composite, "options": _group_options(composite, ratio_or_any)}, kind, shared)
    document["thresholds"] = _thresholds(kind, (ratio_or_any.get("options") or {}).get("thresholds"))
    document["adopt"] = {COMPOSITE: composite["adopt"], **shared.pop("adopt")}  # type: ignore[dict-item]
    return {k: v for k, v in document.items() if k != "thresholds" or v is not None}


def _error_rate_parameters(
    members: Sequence[Mapping[str, Json]], modes: CollectionModes
) -> dict[str, Json] | None:
    ratio, traffic = members
    tail = _TRAFFIC_TAIL.search(str(traffic.get("query") or ""))
    if tail is None:
        return None
    for kind, parameters in _matches(str(ratio.get("query") or ""), modes):
        if kind == ERROR_RATE and parameters.get("min_requests") == 0:
            adopt = {"ratio": ratio["adopt"], "traffic": traffic["adopt"]}
            return {**parameters, "min_requests": int(tail["min_requests"]), "adopt": adopt}
    return None


def _config_propagation_parameters(
    members: Sequence[Mapping[str, Json]], modes: CollectionModes
) -> dict[str, Json] | None:
    merged: dict[str, Json] = dict(_ALL_OFF)
    adopt: dict[str, Json] = {}
    shared: dict[str, Json] | None = None
    for member in members:
        matches = [p for k, p in _matches(str(member.get("query") or ""), modes) if k == CONFIG_PROPAGATION]
        if not matches:
            return None
        parameters = matches[0]
        signal = next(key for key in _ALL_OFF if parameters.get(key))
        rest = {k: v for k, v in parameters.items() if k not in _ALL_OFF}
        if shared is not None and rest != shared:
            return None
        shared, merged[signal] = rest, True
        adopt[_SIGNAL_PARTS[signal]] = member["adopt"]
    return {**(shared or {}), **merged, "adopt": adopt}


_SIGNAL_PARTS = {
    "push_errors": "push-errors",
    "proxy_rejects": "proxy-rejects",
    "validation_failures": "validation",
}


def _group_options(composite: Mapping[str, Json], part: Mapping[str, Json]) -> dict[str, Json]:
    """The definition's options: the composite's (notification) and a part's evaluation options."""
    part_options = part.get("options") or {}
    evaluation = {k: v for k, v in part_options.items() if k in EVALUATION_OPTIONS}  # type: ignore[union-attr]
    return {**(composite.get("options") or {}), **evaluation}  # type: ignore[dict-item]


def _thresholds(kind: str, thresholds: Json) -> Json:
    return _ratios(thresholds) if kind == ERROR_RATE else thresholds


def _expected_group(
    composite: Mapping[str, Json], members: Sequence[Mapping[str, Json]], candidate: Mapping[str, Json]
) -> dict[str, dict[str, Json]]:
    """The canonical bodies the candidate must compile to, by definition id; the composite's query
    names its parts by definition id, as the compiled one does."""
    definition_id = str(candidate["id"])
    adopt: Mapping[str, Json] = candidate["adopt"]  # type: ignore[assignment]
    suffix_of = {value: key for key, value in adopt.items() if key != COMPOSITE}
    expected = {identity.part_id(definition_id, str(suffix_of[m["adopt"]])): _canonical(m) for m in members}
    query = re.sub(
        r"\d+",
        lambda m: identity.reference(identity.part_id(definition_id, str(suffix_of[int(m[0])]))),
        str(composite["query"]),
    )
    expected[definition_id] = _canonical({**composite, "query": query})
    return expected


# --- templates ------------------------------------------------------------------------------


@cache
def templates(kind: str, modes: CollectionModes | None = None) -> tuple[Template, ...]:
    """Every query shape of a mesh kind's single monitor, the bare shape before the scoped one (so {*}
    reads as no scope). A composite's parts have the queries of single monitors: error-rate's ratio is
    the ``min_requests: 0`` monitor, config-propagation's parts are its one-signal monitors."""
    modes = modes or modes_of(BARE_ENVIRONMENT)
    built = (
        _template(kind, shape, scoped, grouped, modes)
        for shape in _shapes(kind)
        for scoped in (False, True)
        for grouped in (False, True)
    )
    return tuple(template for template in built if template is not None)


def _shapes(kind: str) -> Iterator[dict[str, Json]]:
    """The fields that change a kind's query beyond scope, group-by and window, with each value
    (circuit-open's breakers: ``_breaker_templates``)."""
    if kind == ERROR_RATE:
        for source in ("apm", "istio"):
            yield {"source": source, "min_requests": 0}
    elif kind == CONFIG_PROPAGATION:
        for signal in _ALL_OFF:
            yield {**_ALL_OFF, signal: True}
    elif kind == CIRCUIT_OPEN:
        yield {"signal": "outlier-ejection"}
        yield {"signal": "overflow"}
    else:
        yield {}


@cache
def _breaker_templates(breakers: tuple[str, ...], modes: CollectionModes) -> tuple[Template, ...]:
    """circuit-open's circuit-breaker shapes for these breakers, in this order (read from the query)."""
    if not breakers or len(set(breakers)) != len(breakers):
        return ()
    shape = {"signal": "circuit-breaker", "breakers": list(breakers)}
    built = (
        _template(CIRCUIT_OPEN, shape, scoped, grouped, modes)
        for scoped in (False, True)
        for grouped in (False, True)
    )
    return tuple(template for template in built if template is not None)


def _breakers(terms: Sequence[MetricTerm]) -> tuple[str, ...]:
    """The circuit breakers a query's terms name, in order."""
    prefix = "circuit_breaker_"
    keys = [uses[0].metric.key for uses in (lookup(t.metric) for t in terms) if uses]
    return tuple(key[len(prefix) :] for key in keys if key.startswith(prefix))


def _template(
    kind: str, shape: Mapping[str, Json], scoped: bool, grouped: bool, modes: CollectionModes
) -> Template | None:
    fields: dict[str, Json] = {**shape, "name": "template", "thresholds": {"critical": _CRITICAL}}
    groups_by_default = " by {" in _query(kind, fields, modes)
    fields.update(window=_WINDOW, scope=[_SCOPE] if scoped else [], group_by=[_GROUP_BY] if grouped else [])
    pattern = _pattern(_query(kind, fields, modes))
    if pattern is None:
        return None
    return Template(kind, re.compile(pattern), shape, groups_by_default)


def _query(kind: str, fields: Mapping[str, Json], modes: CollectionModes) -> str:
    context = CompileContext(Environment(name="default", istio=modes), definition_id=_TEMPLATE_ID)
    return str(MONITOR_KINDS[kind].compile(fields, context).body.get("query", ""))


def _pattern(query: str) -> str | None:
    """The query as a regular expression: each placeholder's first occurrence captures, the next ones
    must repeat it; the critical threshold is any number (the verification compares it). None for a
    query that does not end with its critical threshold (a kind this module does not know yet)."""
    head, critical, tail = query.rpartition(f" > {_CRITICAL}")
    if not critical or tail:
        return None
    pieces: list[str] = []
    for index, token in enumerate(_PLACEHOLDER.split(head)):
        if index % 2 == 0:  # text between placeholders
            pieces.append(re.escape(token))
            continue
        name, value_pattern = _GROUPS[token]
        pieces.append(f"(?P={name})" if f"(?P<{name}>" in "".join(pieces) else f"(?P<{name}>{value_pattern})")
    return "".join(pieces) + r" > -?[0-9][0-9.eE+-]*"


# --- candidates -----------------------------------------------------------------------------


def _parameters(template: Template, match: re.Match[str]) -> Iterator[dict[str, Json]]:
    captured = match.groupdict()
    scope = _tag_filters(captured["scope"]) if "scope" in captured else []
    if scope is None:
        return
    parameters: dict[str, Json] = {**template.fields, "window": captured["window"]}
    group_by = captured["group_by"].split(",") if "group_by" in captured else []
    if group_by or template.groups_by_default:
        parameters["group_by"] = group_by
    clusters = (
        _clusters(scope) if template.fields.get("signal") in ("outlier-ejection", "circuit-breaker") else None
    )
    if clusters is not None:
        yield _with_scope({**parameters, "clusters": clusters}, scope[:-1])
    yield _with_scope(parameters, scope)


def _with_scope(parameters: dict[str, Json], scope: list[str]) -> dict[str, Json]:
    return {**parameters, "scope": scope} if scope else parameters


def _tag_filters(scope: str) -> list[str] | None:
    """A query scope's filters, split at top-level commas; None when a filter cannot be a scope item
    of a definition (it holds a comma, as ``tag IN (a,b)`` does)."""
    filters, depth, start = [], 0, 0
    for index, char in enumerate(scope):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            filters.append(scope[start:index])
            start = index + 1
    filters.append(scope[start:])
    if any("," in item or not item for item in filters):
        return None
    return filters


def _clusters(scope: Sequence[str]) -> list[str] | None:
    """The clusters of circuit-open's ``clusters`` filter, when the scope ends with one:
    ``envoy_cluster:a`` or ``(envoy_cluster:a OR envoy_cluster:b)``."""
    if not scope:
        return None
    last = scope[-1]
    if last.startswith("(") and last.endswith(")"):
        terms = last[1:-1].split(" OR ")
        if len(terms) < 2:
            return None
    else:
        terms = [last]
    prefix = "envoy_cluster:"
    values = [term[len(prefix) :] for term in terms if term.startswith(prefix)]
    return values if len(values) == len(terms) and all(values) else None


def _document(raw: Mapping[str, Json], kind: str, parameters: Mapping[str, Json]) -> dict[str, Json]:
    document: dict[str, Json] = {"kind": kind}
    document.update({key: raw[key] for key in ("id", "adopt", "name") if key in raw})
    document.update({key: parameters[key] for key in _PARAMETER_ORDER if key in parameters})
    options = raw.get("options")
    options = dict(options) if isinstance(options, Mapping) else {}
    thresholds = options.pop("thresholds", None)
    if thresholds is not None:
        document["thresholds"] = _thresholds(kind, thresholds)
    for key, value in raw.items():
        if key not in _NOT_CARRIED:
            document[key] = value if key != "options" else options
    if not options:
        document.pop("options", None)
    return document


def _variants(document: dict[str, Json]) -> Iterator[dict[str, Json]]:
    """The document without the kind's missing-data policy written out, then as read."""
    options = document.get("options")
    if isinstance(options, Mapping) and "on_missing_data" in options:
        rest = {k: v for k, v in options.items() if k != "on_missing_data"}
        yield {k: v for k, v in {**document, "options": rest}.items() if k != "options" or rest}
    yield document


def _ratios(thresholds: Json) -> Json:
    """error-rate thresholds as percents ("5%") where the percent reads back as the very same ratio."""
    if not isinstance(thresholds, Mapping):
        return thresholds
    return {level: _percent(value) for level, value in thresholds.items()}


def _percent(value: Json) -> Json:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return value
    try:
        text = format((Decimal(repr(value)) * 100).normalize(), "f") + "%"
    except InvalidOperation:
        return value
    return text if as_ratio(text) == value else value


# --- verification ---------------------------------------------------------------------------


def _canonical(raw: Mapping[str, Json]) -> dict[str, Json]:
    return canonical_monitor({key: raw[key] for key in MONITOR_FIELDS if key in raw}).body


def _document_id(document: Mapping[str, Json]) -> str:
    return str(document.get("id"))


def _compiles_to(
    candidate: Mapping[str, Json], expected: Mapping[str, Mapping[str, Json]], modes: CollectionModes
) -> bool:
    """Whether the candidate compiles to exactly the expected canonical bodies, by definition id."""
    specs = _compiled(candidate, modes)
    if specs is None:
        return False
    return {spec.definition_id: canonical_monitor(spec.body).body for spec in specs} == expected


def _compiled(document: Mapping[str, Json], modes: CollectionModes) -> list[MonitorSpec] | None:
    """The monitors the definitions layer compiles from ``document`` for a bare environment with these
    modes, or None when the document has an error. It goes through YAML text, as the written file will."""
    text = yaml.dump(dict(document), Dumper=DefinitionDumper, sort_keys=False)
    documents, problems = parse_documents(text, "<recognise>")
    if problems or len(documents) != 1:
        return None
    definitions, problems = split_definitions(documents[0])
    if problems or len(definitions) != 1 or not definitions[0].valid:
        return None
    specs, problems = compile_definition(definitions[0], Environment(name="default", istio=modes))
    if any(p.severity == "error" for p in problems):
        return None
    monitors = [spec for spec in specs if isinstance(spec, MonitorSpec) and spec.kind in MESH_SIGNALS]
    return monitors if len(monitors) == len(specs) else None
