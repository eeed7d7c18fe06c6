"""What the rules need to know about a Datadog monitor query, read from its text: the comparator, the
threshold, and the tags it groups by. Queries are never rewritten (Datadog accepts only what it emits)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_CONDITION = re.compile(r"(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
_METRIC_GROUP = re.compile(r"\bby\s*\{([^}]*)\}")
_EVENT_GROUP = re.compile(r"\.by\(\s*\"([^\"]*)\"\s*\)")


@dataclass(frozen=True)
class QueryCondition:
    comparator: str  # ">", ">=", "<", "<=", "==" or "!="
    threshold: float

    @property
    def alerts_above(self) -> bool | None:
        """True for > and >=, False for < and <=, None when order has no meaning."""
        if self.comparator in (">", ">="):
            return True
        if self.comparator in ("<", "<="):
            return False
        return None


@functools.lru_cache(maxsize=256)  # several rules ask about the same query in a row
def query_condition(query: str) -> QueryCondition | None:
    match = _CONDITION.search(query)
    if match is None:
        return None
    return QueryCondition(match.group(1), float(match.group(2)))


@functools.lru_cache(maxsize=256)
def group_by_tags(query: str) -> frozenset[str]:
    """Tags of every ``by {a,b}`` and ``.by("a")`` in the query."""
    tags: set[str] = set()
    for match in _METRIC_GROUP.finditer(query):
        tags.update(tag.strip() for tag in match.group(1).split(","))
    for match in _EVENT_GROUP.finditer(query):
        tags.update(tag.strip() for tag in match.group(1).split(","))
    tags.discard("")
    return frozenset(tags)


def format_number(value: float) -> str:
    """5 → "5", 0.05 → "0.05": the shortest form that reads back as the same number."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return repr(float(value))
