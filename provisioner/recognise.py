"""Which mesh kind an imported monitor is, if any: a raw ``kind: monitor`` document in, the
``error-rate``, ``sidecar-injection``, ``config-propagation`` or ``circuit-open`` document that compiles
to the very same monitor out (or None).

The query templates are not written here a second time: each kind's own compiler is run once with
placeholder values (window, scope, group-by, minimum traffic, breaker names), and the query it emits
becomes a regular expression with those placeholders as capture groups. A query that fits a template
gives a candidate document, and a candidate is returned only when the definitions layer compiles it
(for a bare environment: no variables, tags or notify handles) into a body whose canonical form
(``normalize.canonical_monitor``) equals the imported monitor's, query text included. Anything else is
left as the raw monitor it is, which is always correct.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import yaml

from provisioner.definitions.compile import compile_definition
from provisioner.definitions.documents import split_definitions
from provisioner.definitions.kinds import MONITOR_KINDS
from provisioner.definitions.kinds.base import CompileContext
from provisioner.definitions.kinds.circuit_open import CLUSTER_TAGS
from provisioner.definitions.kinds.error_rate import as_ratio
from provisioner.definitions.source import parse_documents
from provisioner.definitions.yaml_reader import DefinitionDumper
from provisioner.model import MESH_SIGNALS, Environment, Json, MonitorSpec
from provisioner.normalize import MONITOR_FIELDS, canonical_monitor
from provisioner.signals import CIRCUIT_OPEN, CONFIG_PROPAGATION, ERROR_RATE, metric_terms, signals_of

__all__ = ["recognise_mesh_kind"]

BARE_ENVIRONMENT = Environment(name="default")
_MAX_BREAKERS = 5  # circuit-open's breakers: at most the five Envoy circuit breakers, each once

# Placeholders handed to the kinds' compilers; each becomes a capture group of the template.
_WINDOW = "\x00window\x00"
_SCOPE = "\x00scope\x00"
_GROUP_BY = "\x00by\x00"
_MIN_REQUESTS = 918273645  # an int: error-rate reads min_requests with int()
_CRITICAL = 546372819
_BREAKER = "\x00breaker{}\x00"

_GROUPS = {
    _WINDOW: ("window", r"[1-9][0-9]*[mhdw]"),
    _SCOPE: ("scope", r"[^{}]+?"),
    _GROUP_BY: ("group_by", r"[^{}]+"),
    str(_MIN_REQUESTS): ("min_requests", r"[0-9]+"),
    **{_BREAKER.format(i): (f"breaker{i}", r"[a-z_]+") for i in range(_MAX_BREAKERS)},
}
_PLACEHOLDER = re.compile("(" + "|".join(re.escape(p) for p in _GROUPS) + ")")

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
)
_NOT_CARRIED = frozenset({"kind", "type", "query", "id", "adopt", "name"})


@dataclass(frozen=True)
class Template:
    """One query shape a kind emits: the regular expression, and the fields that chose the shape."""

    kind: str
    pattern: re.Pattern[str]
    fields: Mapping[str, Json]  # the shape's fixed fields (source, signal, push_errors...)
    breakers: int  # number of breaker placeholders (circuit-breaker signal), else 0
    groups_by_default: bool  # without group_by the kind still groups (circuit-open: by cluster)


def recognise_mesh_kind(raw: dict[str, Json]) -> dict[str, Json] | None:
    """The mesh-kind document that compiles to exactly the monitor ``raw`` describes, or None."""
    try:
        return _recognise(raw)
    except Exception:  # odd input (a value of an unexpected type...): the raw document is still right
        return None


def _recognise(raw: Mapping[str, Json]) -> dict[str, Json] | None:
    query = raw.get("query") if isinstance(raw, Mapping) else None
    if not isinstance(query, str) or "\x00" in query:
        return None
    signals = signals_of(metric_terms(query))  # a scope may name a second signal (response_code:503)
    expected = canonical_monitor({key: raw[key] for key in MONITOR_FIELDS if key in raw}).body
    for kind in (kind for kind in MESH_SIGNALS if kind in signals):
        for candidate in _candidates(raw, kind, query.strip()):
            if _compiles_to(candidate, expected):
                return candidate
    return None


# --- templates ------------------------------------------------------------------------------


@cache
def templates(kind: str) -> tuple[Template, ...]:
    """Every query shape of a mesh kind, the bare shape before the scoped one (so {*} reads as no scope)."""
    built = (
        _template(kind, shape, breakers, scoped, grouped)
        for shape, breakers in _shapes(kind)
        for scoped in (False, True)
        for grouped in (False, True)
    )
    return tuple(template for template in built if template is not None)


def _shapes(kind: str) -> Iterator[tuple[dict[str, Json], int]]:
    """The fields that change a kind's query beyond scope, group-by and window, with each value."""
    if kind == ERROR_RATE:
        for source in ("apm", "istio"):
            yield {"source": source, "min_requests": _MIN_REQUESTS}, 0
            yield {"source": source, "min_requests": 0}, 0
    elif kind == CONFIG_PROPAGATION:
        for extra in ({}, {"push_errors": True}, {"proxy_rejects": True}):
            yield extra, 0
        yield {"push_errors": True, "proxy_rejects": True}, 0
    elif kind == CIRCUIT_OPEN:
        yield {"signal": "outlier-ejection"}, 0
        yield {"signal": "overflow"}, 0
        for count in range(1, _MAX_BREAKERS + 1):
            yield {"signal": "circuit-breaker"}, count
    else:
        yield {}, 0


def _template(
    kind: str, shape: Mapping[str, Json], breakers: int, scoped: bool, grouped: bool
) -> Template | None:
    fields: dict[str, Json] = {**shape, "name": "template", "thresholds": {"critical": _CRITICAL}}
    if breakers:
        fields["breakers"] = [_BREAKER.format(i) for i in range(breakers)]
    groups_by_default = " by {" in _query(kind, fields)
    fields.update(window=_WINDOW, scope=[_SCOPE] if scoped else [], group_by=[_GROUP_BY] if grouped else [])
    pattern = _pattern(_query(kind, fields))
    if pattern is None:
        return None
    return Template(kind, re.compile(pattern), shape, breakers, groups_by_default)


def _query(kind: str, fields: Mapping[str, Json]) -> str:
    return str(MONITOR_KINDS[kind].compile(fields, CompileContext(BARE_ENVIRONMENT)).body["query"])


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


def _candidates(raw: Mapping[str, Json], kind: str, query: str) -> Iterator[dict[str, Json]]:
    for template in templates(kind):
        match = template.pattern.fullmatch(query)
        if match is None:
            continue
        for parameters in _parameters(template, match):
            yield _document(raw, kind, parameters)


def _parameters(template: Template, match: re.Match[str]) -> Iterator[dict[str, Json]]:
    captured = match.groupdict()
    scope = _tag_filters(captured["scope"]) if "scope" in captured else []
    if scope is None:
        return
    parameters: dict[str, Json] = {**template.fields, "window": captured["window"]}
    if "min_requests" in captured:
        parameters["min_requests"] = int(captured["min_requests"])
    if template.breakers:
        parameters["breakers"] = [captured[f"breaker{i}"] for i in range(template.breakers)]
    group_by = captured["group_by"].split(",") if "group_by" in captured else []
    if group_by or template.groups_by_default:
        parameters["group_by"] = group_by
    clusters = (
        _clusters(scope, CLUSTER_TAGS[str(template.fields["signal"])])
        if template.kind == CIRCUIT_OPEN
        else None
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


def _clusters(scope: Sequence[str], tag: str) -> list[str] | None:
    """The clusters of circuit-open's ``clusters`` filter, when the scope ends with one: ``tag:a`` or
    ``(tag:a OR tag:b)``."""
    if not scope:
        return None
    last = scope[-1]
    if last.startswith("(") and last.endswith(")"):
        terms = last[1:-1].split(" OR ")
        if len(terms) < 2:
            return None
    else:
        terms = [last]
    prefix = f"{tag}:"
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
        document["thresholds"] = _ratios(thresholds) if kind == ERROR_RATE else thresholds
    for key, value in raw.items():
        if key not in _NOT_CARRIED:
            document[key] = value if key != "options" else options
    if not options:
        document.pop("options", None)
    return document


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


def _compiles_to(candidate: Mapping[str, Json], expected: Mapping[str, Json]) -> bool:
    spec = _compiled(candidate)
    return spec is not None and canonical_monitor(spec.body).body == expected


def _compiled(document: Mapping[str, Json]) -> MonitorSpec | None:
    """The monitor the definitions layer compiles from ``document`` for the bare environment, or None
    when the document has an error. It goes through YAML text, as the written file will."""
    text = yaml.dump(dict(document), Dumper=DefinitionDumper, sort_keys=False)
    documents, problems = parse_documents(text, "<recognise>")
    if problems or len(documents) != 1:
        return None
    definitions, problems = split_definitions(documents[0])
    if problems or len(definitions) != 1 or not definitions[0].valid:
        return None
    specs, problems = compile_definition(definitions[0], BARE_ENVIRONMENT)
    if any(p.severity == "error" for p in problems) or len(specs) != 1:
        return None
    spec = specs[0]
    return spec if isinstance(spec, MonitorSpec) and spec.kind in MESH_SIGNALS else None
