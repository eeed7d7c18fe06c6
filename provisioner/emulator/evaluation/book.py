"""What evaluation has decided so far: each monitor's group states, overall state and recent evaluations.

Kept apart from the monitor records (a PUT replaces a record but keeps its evaluation state). Only the
overall state is copied into the record, when it changes, so every GET and list item shows it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from provisioner.emulator.evaluation.thresholds import ALERT, NO_DATA, OK, WARN, worst

HISTORY_PER_MONITOR = 500
TIMESTAMP_FIELDS = ("last_triggered_ts", "last_notified_ts", "last_resolved_ts", "last_nodata_ts")
_GROUP_STATE_FILTERS = {"alert": {ALERT}, "warn": {WARN}, "no data": {NO_DATA}}


@dataclass
class GroupState:
    name: str
    first_seen: int  # the first evaluation that saw the group
    status: str | None = None  # None until the group is first evaluated (e.g. during new_group_delay)
    last_point_ts: int | None = None  # the newest point seen for the group
    last_triggered_ts: int | None = None
    last_notified_ts: int | None = None
    last_resolved_ts: int | None = None
    last_nodata_ts: int | None = None

    def move_to(self, status: str, at: int, notifies_no_data: bool) -> None:
        """Change the status at ``at`` (epoch s) and stamp what that transition is."""
        previous = self.status
        if status == previous:
            return
        if status in (ALERT, WARN):
            self.last_triggered_ts = self.last_notified_ts = at
        elif status == OK and previous in (ALERT, WARN, NO_DATA):
            self.last_resolved_ts = at
            if previous != NO_DATA or notifies_no_data:
                self.last_notified_ts = at
        elif status == NO_DATA:
            self.last_nodata_ts = at
            if notifies_no_data:
                self.last_notified_ts = at
        self.status = status

    def api_view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            **{key: getattr(self, key) for key in TIMESTAMP_FIELDS},
        }


@dataclass(frozen=True)
class EvaluationRecord:
    """One group at one evaluation: what was computed and what it decided."""

    time: int
    monitor_id: int
    group: str
    status: str  # the group's status after this evaluation
    outcome: str  # "evaluated", "no data" or "skipped"
    explanation: str  # e.g. "value 0.031 <= critical 0.05 over 5m"
    value: float | None = None
    comparator: str | None = None
    compared_with: str | None = None  # critical, warning, critical_recovery, warning_recovery
    threshold: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    window: str | None = None  # "5m"
    window_start: int | None = None
    window_end: int | None = None
    path: str | None = None  # classic, as_count, composite

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MonitorEvaluation:
    groups: dict[str, GroupState] = field(default_factory=dict)
    overall_state: str = NO_DATA
    overall_modified: int | None = None  # epoch s; None until the first evaluation
    history: deque[EvaluationRecord] = field(default_factory=lambda: deque(maxlen=HISTORY_PER_MONITOR))
    last: dict[str, EvaluationRecord] = field(default_factory=dict)

    def group(self, name: str, at: int) -> GroupState:
        state = self.groups.get(name)
        if state is None:
            state = self.groups[name] = GroupState(name, at)
        return state

    def record(self, record: EvaluationRecord) -> None:
        self.history.append(record)
        self.last[record.group] = record

    def refresh_overall(self, at: int) -> bool:
        """Recompute the overall state; True when it changed (or was never set)."""
        overall = worst([state.status for state in self.groups.values() if state.status]) or NO_DATA
        if overall == self.overall_state and self.overall_modified is not None:
            return False
        self.overall_state, self.overall_modified = overall, at
        return True

    def api_groups(self, wanted: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``state.groups`` for ``group_states=...`` (``all``, ``alert``, ``warn``, ``no data``).

        A multi alert also carries a ``*`` group (recorded): its status is the overall state and each
        timestamp the latest of its groups."""
        views = {name: state.api_view() for name, state in self.groups.items() if state.status}
        if views and "*" not in views:
            star = {"name": "*", "status": self.overall_state}
            for key in TIMESTAMP_FIELDS:
                stamps = [view[key] for view in views.values() if view[key] is not None]
                star[key] = max(stamps) if stamps else None
            views = {"*": star, **views}
        wanted = set(wanted)
        if "all" in wanted:
            return views
        statuses = set().union(*(_GROUP_STATE_FILTERS[item] for item in wanted))
        return {name: view for name, view in views.items() if view["status"] in statuses}


class EvaluationBook:
    """Every monitor's evaluation state, by monitor id. Callers hold the org lock."""

    def __init__(self) -> None:
        self._monitors: dict[int, MonitorEvaluation] = {}

    def entry(self, monitor_id: int) -> MonitorEvaluation:
        found = self._monitors.get(monitor_id)
        if found is None:
            found = self._monitors[monitor_id] = MonitorEvaluation()
        return found

    def get(self, monitor_id: int) -> MonitorEvaluation | None:
        return self._monitors.get(monitor_id)

    def keep_only(self, monitor_ids: set[int]) -> None:
        for gone in set(self._monitors) - monitor_ids:
            del self._monitors[gone]

    def wipe(self) -> None:
        self._monitors.clear()

    def export(self) -> dict[str, Any]:
        """Group states and overall states (the evaluation history is not kept across restarts)."""
        return {
            str(monitor_id): {
                "overall_state": entry.overall_state,
                "overall_modified": entry.overall_modified,
                "groups": [asdict(state) for state in entry.groups.values()],
            }
            for monitor_id, entry in self._monitors.items()
        }

    def restore(self, exported: dict[str, Any]) -> None:
        self.wipe()
        for monitor_id, item in exported.items():
            entry = self.entry(int(monitor_id))
            entry.overall_state = item["overall_state"]
            entry.overall_modified = item["overall_modified"]
            entry.groups = {group["name"]: GroupState(**group) for group in item["groups"]}
