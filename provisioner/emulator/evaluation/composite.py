"""One evaluation of a composite monitor, from the current statuses of the monitors it combines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.emulator.composite_query import And, CompositeNode, MonitorRef, Not, Or, referenced_ids
from provisioner.emulator.evaluation.book import EvaluationRecord, MonitorEvaluation
from provisioner.emulator.evaluation.thresholds import ALERT, NO_DATA, OK, SEVERITY, WARN

GROUP_RETENTION_S = 86_400


@dataclass(frozen=True)
class Part:
    """A monitor used by a composite: whether it is a multi alert, and its evaluation state."""

    multi: bool
    grouping_size: int  # how many group-by keys it has
    entry: MonitorEvaluation | None


def evaluate_composite(
    monitor_id: int,
    query: CompositeNode,
    parts: Mapping[int, Part],
    notify_no_data: bool,
    entry: MonitorEvaluation,
    at: int,
) -> None:
    groups = _common_groups(referenced_ids(query), parts)
    for name, statuses in groups.items():
        state = entry.group(name, at)
        state.last_point_ts = at
        result = _status(query, statuses)
        if result == NO_DATA and not notify_no_data:
            result = state.status or NO_DATA  # "a result of No Data becomes the last known state"
        state.move_to(result, at, notify_no_data)
        shown = ", ".join(f"{monitor}={status}" for monitor, status in statuses.items())
        entry.record(
            EvaluationRecord(
                at, monitor_id, name, result, "evaluated", f"{shown} gives {result}", path="composite"
            )
        )
    for name in [name for name, state in entry.groups.items() if name not in groups]:
        last_seen = entry.groups[name].last_point_ts or at
        if at - last_seen > GROUP_RETENTION_S:
            del entry.groups[name]
    if not groups:
        entry.record(EvaluationRecord(at, monitor_id, "*", entry.overall_state, "no data",
                                      "no group reports in every monitor of the composite", path="composite"))  # fmt: skip


def _status(node: CompositeNode, statuses: Mapping[int, str]) -> str:
    """``&&`` takes the least severe, ``||`` the most severe; ``!`` of No Data is No Data, of Alert or Warn is
    OK, of OK is Alert (severity: Alert, Warn, No Data, OK)."""
    if isinstance(node, MonitorRef):
        return statuses[node.monitor_id]
    if isinstance(node, Not):
        inner = _status(node.operand, statuses)
        return NO_DATA if inner == NO_DATA else OK if inner in (ALERT, WARN) else ALERT
    assert isinstance(node, And | Or)
    left, right = _status(node.left, statuses), _status(node.right, statuses)
    pick = min if isinstance(node, And) else max
    return pick(left, right, key=SEVERITY.__getitem__)


def _common_groups(monitor_ids: tuple[int, ...], parts: Mapping[int, Part]) -> dict[str, dict[int, str]]:
    """The composite's groups and each monitor's status in them.

    Only sources that report in every multi-alert monitor are evaluated, matched on tag values alone
    (``host:web04`` matches ``service:web04``); a monitor grouped by fewer keys matches when its values are a
    subset (``{host}`` with ``{device,host}``). The composite's groups are those of its most finely grouped
    monitor. A simple-alert monitor's one status applies to every group."""
    ids = list(dict.fromkeys(monitor_ids))
    multi = [i for i in ids if parts[i].multi]
    if not multi:
        return {"*": {i: _simple_status(parts[i]) for i in ids}}
    finest = max(multi, key=lambda i: parts[i].grouping_size)
    groups: dict[str, dict[int, str]] = {}
    for name, values in _reporting(parts[finest]).items():
        statuses = {}
        for i in ids:
            status = _matching_status(parts[i], values) if parts[i].multi else _simple_status(parts[i])
            if status is None:
                break
            statuses[i] = status
        else:
            groups[name] = statuses
    return groups


def _reporting(part: Part) -> dict[str, frozenset[str]]:
    if part.entry is None:
        return {}
    return {name: _values(name) for name, state in part.entry.groups.items() if state.status and name != "*"}


def _matching_status(part: Part, values: frozenset[str]) -> str | None:
    if part.entry is None:
        return None
    for name, state in sorted(part.entry.groups.items()):
        if state.status and name != "*" and _values(name) <= values:
            return state.status
    return None


def _simple_status(part: Part) -> str:
    state = part.entry.groups.get("*") if part.entry else None
    return state.status if state is not None and state.status else NO_DATA


def _values(group_name: str) -> frozenset[str]:
    return frozenset(tag.partition(":")[2] or tag for tag in group_name.split(","))
