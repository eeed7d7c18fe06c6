"""What the rules need to know about a Datadog monitor query, read from its text: the comparator, the
threshold, and the tags it groups by. Queries are never rewritten (Datadog accepts only what it emits)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CONDITION = re.compile(r"(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
# "by" first, its word boundary checked behind it: a pattern that starts with a literal is searched for
# as a string (one that starts with \b or a lookbehind is tried at every position, 5x slower)
_METRIC_GROUP = re.compile(r"by(?<!\wby)\s*\{([^}]*)\}")
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


def query_condition(query: str) -> QueryCondition | None:
    match = _CONDITION_FROM_END.match(query)
    if match is None:
        return None
    return _condition(*match.groups())


# The condition ends the query, so one place at most can hold it: after ".*" the pattern is tried from the
# end backwards, where the condition is, rather than at every position from the start.
_CONDITION_FROM_END = re.compile(".*" + _CONDITION.pattern, re.DOTALL)


@lru_cache(maxsize=64)
def _condition(comparator: str, threshold: str) -> QueryCondition:
    """A few conditions recur in every definition of a kind (``> 0.05``, ``>= 100``): made once each."""
    return QueryCondition(comparator, float(threshold))


def group_by_tags(query: str) -> frozenset[str]:
    """Tags of every ``by {a,b}`` and ``.by("a")`` in the query."""
    if "by" not in query:
        return frozenset()
    event_groups = tuple(_EVENT_GROUP.findall(query)) if ".by(" in query else ()
    return _tags(tuple(_METRIC_GROUP.findall(query)), event_groups)


@lru_cache(maxsize=256)
def _tags(metric_groups: tuple[str, ...], event_groups: tuple[str, ...]) -> frozenset[str]:
    """The tags the groups list (a few lists recur in every definition of a kind: read once each)."""
    tags = {tag.strip() for group in (*metric_groups, *event_groups) for tag in group.split(",")}
    tags.discard("")
    return frozenset(tags)


def format_number(value: float) -> str:
    """5 → "5", 0.05 → "0.05": the shortest form that reads back as the same number."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return repr(float(value))
