"""Decide whether a monitor query is acceptable for its type, and what the server derives from it.

Metric queries get a real parser (``metric_query``). Other types get permissive shape checks: enough to
accept the queries real tools send and to reject the nonsense the recordings show being rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provisioner.emulator.composite_query import CompositeSyntaxError, parse_composite, referenced_ids
from provisioner.emulator.metric_query import QuerySyntaxError, parse_metric_query

MONITOR_TYPES = frozenset(
    {
        "composite",
        "event alert",
        "log alert",
        "metric alert",
        "process alert",
        "query alert",
        "rum alert",
        "service check",
        "synthetics alert",
        "trace-analytics alert",
        "slo alert",
        "event-v2 alert",
        "audit alert",
        "ci-pipelines alert",
        "ci-tests alert",
        "error-tracking alert",
        "database-monitoring alert",
        "network-performance alert",
        "cost alert",
        "data-quality alert",
        "network-path alert",
        "data-jobs alert",
        "llm-observability alert",
    }
)
METRIC_TYPES = frozenset({"metric alert", "query alert"})
# Types whose options get ``groupby_simple_monitor: false`` (recorded for these only).
LOG_BASED_TYPES = frozenset(
    {
        "log alert",
        "ci-pipelines alert",
        "ci-tests alert",
        "rum alert",
        "error-tracking alert",
        "llm-observability alert",
    }
)
INVALID_QUERY = "The value provided for parameter 'query' is invalid"

_TAIL = re.compile(r"(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$")
_CHAIN_HEAD = re.compile(r"\s*[A-Za-z][\w-]*\(")
# ``.by("source")``, ``.by(job_name,workspace_name)``: a group-by, unless it is only ``"*"``.
_CHAIN_BY = re.compile(r"""\.by\(\s*(?!(['"])\*\1\s*\))[^)\s]""")
# ``"ntp.in_sync".by("*").last(2).count_by_status()``; ``.over(...)`` and ``.exclude(...)`` are optional.
_SERVICE_CHECK = re.compile(
    r"\s*\"[^\"]+\"(?:\.over\([^)]*\))?(?:\.exclude\([^)]*\))?(?P<by>\.by\([^)]*\))?\.last\(\d+\)"
    r"\.count_by_status\(\)\s*$"
)


class InvalidQueryError(ValueError):
    """The query is rejected; ``message`` is the exact error text Datadog answers with."""

    def __init__(self, detail: str | None = None) -> None:
        self.message = INVALID_QUERY if detail is None else f"{INVALID_QUERY}: {detail}"
        super().__init__(self.message)


@dataclass(frozen=True)
class QueryFacts:
    """What the server derives from an accepted query."""

    multi: bool
    comparator: str | None = None
    threshold: float | None = None
    aggregator: str | None = None
    timeframe: str | None = None
    metrics: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    monitor_ids: tuple[int, ...] = ()
    is_formula: bool = False

    @property
    def monthly(self) -> bool:
        """``avg(current_1mo):…``: the one calendar window recorded to turn a metric alert into a query alert
        (``current_1h`` and ``custom_schedule`` keep the type)."""
        return self.timeframe == "current_1mo"


def analyse_query(monitor_type: str, query: str) -> QueryFacts:
    """Accept the query for this monitor type and describe it, or raise ``InvalidQueryError``."""
    if monitor_type == "composite":
        return QueryFacts(multi=False, monitor_ids=_composite_ids(query))
    if monitor_type == "service check":
        return _service_check(query)
    if monitor_type in METRIC_TYPES and not query.lstrip().startswith("formula("):
        return _metric(query)
    return _chain(query)


def _metric(query: str) -> QueryFacts:
    try:
        facts = parse_metric_query(query)
    except QuerySyntaxError:
        raise InvalidQueryError() from None
    return QueryFacts(
        multi=bool(facts.group_by),
        comparator=facts.comparator,
        threshold=facts.threshold,
        aggregator=facts.aggregator,
        timeframe=facts.timeframe,
        metrics=tuple(facts.metrics),
        scopes=tuple(facts.scopes),
    )


def _chain(query: str) -> QueryFacts:
    """``logs("…").index("*").rollup("count").last("5m") > 10`` and the other ``source(…)…`` queries."""
    tail = _TAIL.search(query)
    if tail is None:
        raise InvalidQueryError("invalid operator specified: ")
    head = query[: tail.start()]
    if not _CHAIN_HEAD.match(head) or not _balanced(head) or not head.rstrip().endswith(")"):
        raise InvalidQueryError()
    return QueryFacts(
        multi=_CHAIN_BY.search(head) is not None,
        comparator=tail.group(1),
        threshold=float(tail.group(2)),
        is_formula=head.lstrip().startswith("formula("),
    )


def _service_check(query: str) -> QueryFacts:
    """Any ``.by(…)`` makes a service check multi, ``.by("*")`` included (recorded)."""
    found = _SERVICE_CHECK.match(query)
    if found is None:
        raise InvalidQueryError()
    return QueryFacts(multi=found.group("by") is not None)


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"'[^']*'|\"[^\"]*\"", "", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and text.count('"') % 2 == 0 and text.count("'") % 2 == 0


def _composite_ids(query: str) -> tuple[int, ...]:
    """``123 && (456 || !789)``: the ids in the order they are written."""
    try:
        return referenced_ids(parse_composite(query))
    except CompositeSyntaxError:
        raise InvalidQueryError() from None
