"""``GET /api/v1/monitor/search`` (basic): a small query language, facets and page metadata."""

from __future__ import annotations

import math
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from provisioner.emulator.http_types import bad_request
from provisioner.emulator.monitor_query import InvalidQueryError, QueryFacts, analyse_query
from provisioner.emulator.monitor_records import Record

STATUSES = {"alert": "Alert", "warn": "Warn", "no data": "No Data", "ok": "OK", "ignored": "Ignored",
            "skipped": "Skipped", "unknown": "Unknown"}  # fmt: skip
SORT_KEYS: dict[str, Callable[[Record], Any]] = {
    "name": lambda record: record["name"].lower(),
    "status": lambda record: record["overall_state"],
    "tags": lambda record: sorted(record["tags"]),
}


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    page: int = 0
    per_page: int = 30
    sort: str | None = None


def search_monitors(records: Iterable[Record], request: SearchRequest) -> dict[str, Any]:
    predicates = [_predicate(term) for term in _terms(request.query)]
    found = [record for record in records if all(predicate(record) for predicate in predicates)]
    found = _sorted(found, request.sort)
    start = request.page * request.per_page
    page = found[start : start + request.per_page]
    return {
        "counts": _counts(found),
        "monitors": [_result(record) for record in page],
        "metadata": {
            "total_count": len(found),
            "page_count": math.ceil(len(found) / request.per_page) if request.per_page else 0,
            "page": request.page,
            "per_page": request.per_page,
        },
    }


def _terms(query: str) -> list[str]:
    try:
        return shlex.split(query)
    except ValueError:
        raise bad_request(f"Query parsing error: cannot parse {query!r}") from None


def _predicate(term: str) -> Callable[[Record], bool]:
    key, _, value = term.partition(":")
    if not value:
        return lambda record: term.lower() in record["name"].lower()
    if key == "status":
        status = STATUSES.get(value.lower())
        if status is None:
            raise bad_request(f"Query parsing error: '{value}' is not a valid monitor status")
        return lambda record: record["overall_state"] == status
    if key == "type":
        return lambda record: _classification(record) == value or record["type"] == value
    if key == "tag":
        return lambda record: value in record["tags"]
    if key == "id":
        return lambda record: str(record["id"]) == value
    if key in ("metric", "scope"):
        return lambda record: value in getattr(_facts(record), f"{key}s")
    return lambda record: term.lower() in record["name"].lower()


def _sorted(records: list[Record], sort: str | None) -> list[Record]:
    if not sort:
        return records
    field, _, direction = sort.partition(",")
    key = SORT_KEYS.get(field)
    if key is None or direction not in ("", "asc", "desc"):
        raise bad_request(f"Query parsing error: invalid sort {sort!r}")
    return sorted(records, key=key, reverse=direction == "desc")


def _facts(record: Record) -> QueryFacts:
    try:
        return analyse_query(record["type"], record["query"])
    except InvalidQueryError:
        return QueryFacts(multi=False)


def _classification(record: Record) -> str:
    monitor_type = record["type"]
    if monitor_type in ("metric alert", "query alert"):
        return "metric"
    return re.sub(r" alert$", "", monitor_type).replace(" ", "_")


def _result(record: Record) -> dict[str, Any]:
    facts = _facts(record)
    creator = record["creator"]
    return {
        "id": record["id"],
        "name": record["name"],
        "status": record["overall_state"],
        "type": record["type"],
        "tags": record["tags"],
        "query": record["query"],
        "classification": _classification(record),
        "creator": {"name": creator["name"], "handle": creator["handle"], "id": creator["id"]},
        "metrics": list(facts.metrics),
        "notifications": [],
        "muted_until_ts": None,
        "last_triggered_ts": None,
        "org_id": record["org_id"],
        "priority": record["priority"],
        "scopes": list(facts.scopes),
        "overall_state_modified": record["overall_state_modified"],
        "restricted_roles": record["restricted_roles"],
    }


def _counts(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    def facet(values: Iterable[Any]) -> list[dict[str, Any]]:
        return [{"name": name, "count": count} for name, count in Counter(values).most_common()]

    return {
        "status": facet(record["overall_state"] for record in records),
        "muted": facet(False for _ in records),
        "tag": facet(tag for record in records for tag in record["tags"]),
        "type": facet(_classification(record) for record in records),
    }
