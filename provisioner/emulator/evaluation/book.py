"""What evaluation has decided so far: each monitor's group states, overall state and recent evaluations.

Kept apart from the monitor records (a PUT replaces a record but keeps its evaluation state). Only the
overall state is copied into the record, when it changes, so every GET and list item shows it.

**Persistence** (the org's collection ``evaluations``). What a restart must keep for evaluation to go on as
if nothing happened is kept: every group's state (status, first evaluation, newest point seen and the four
timestamps: no-data, timeout, retention and new-group rules read them), each monitor's overall state, and
the last minute boundary evaluated (so that no minute is evaluated twice, by this process or another one
sharing the state). The evaluation history and each group's last evaluation (``GET /_emulator/evaluations``)
are diagnostics of the process that evaluated: they are not kept. Each evaluation records only what it
changed: per monitor, the fields of the groups that changed, the groups removed, the overall state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from provisioner.emulator.evaluation.thresholds import ALERT, NO_DATA, OK, WARN, worst
from provisioner.emulator.journal import WIPE

if TYPE_CHECKING:
    from provisioner.emulator.org import ChangeRecorder

HISTORY_PER_MONITOR = 500
TIMESTAMP_FIELDS = ("last_triggered_ts", "last_notified_ts", "last_resolved_ts", "last_nodata_ts")
_GROUP_STATE_FILTERS = {"alert": {ALERT}, "warn": {WARN}, "no data": {NO_DATA}}
# Journal changes: what one evaluation changed in a monitor's state, a monitor's state dropped (the monitor
# is gone), and the last minute boundary evaluated.
EVALUATED, FORGOTTEN, EVALUATED_UNTIL = "evaluated", "forgotten", "evaluated_until"


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

    def __init__(self, changes: ChangeRecorder) -> None:
        self._changes = changes
        self._monitors: dict[int, MonitorEvaluation] = {}
        self.last_evaluated: int | None = None  # the last minute boundary evaluated

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
        """Every monitor's state (the evaluated minutes stay evaluated)."""
        self._monitors.clear()

    # -- recording (in the org's transaction) --------------------------------------------------------
    @contextmanager
    def recording(self) -> Iterator[None]:
        """Around one evaluation: then record, per monitor, only what it changed."""
        before = {monitor_id: _StateCopy.of(entry) for monitor_id, entry in self._monitors.items()}
        try:
            yield
        finally:
            for monitor_id in before.keys() - self._monitors.keys():
                self._changes.record(FORGOTTEN, monitor_id)
            for monitor_id, entry in self._monitors.items():
                changed = _changes_since(before.get(monitor_id), entry)
                if changed:
                    self._changes.record(EVALUATED, monitor_id, changed)

    def evaluated_until(self, at: int) -> None:
        self.last_evaluated = at
        self._changes.record(EVALUATED_UNTIL, None, at)

    # -- persistence (the org's collection "evaluations") --------------------------------------------
    def export(self) -> dict[str, Any]:
        return {
            "last_evaluated": self.last_evaluated,
            "monitors": {
                str(monitor_id): {
                    "overall_state": entry.overall_state,
                    "overall_modified": entry.overall_modified,
                    "groups": [asdict(state) for state in entry.groups.values()],
                }
                for monitor_id, entry in self._monitors.items()
            },
        }

    def restore(self, exported: dict[str, Any]) -> None:
        """An ``export``, or the section of a version-1 state file (the monitors alone, by id)."""
        self.wipe()
        monitors = exported.get("monitors") if "last_evaluated" in exported else exported
        self.last_evaluated = exported.get("last_evaluated")
        for monitor_id, item in (monitors or {}).items():
            entry = self.entry(int(monitor_id))
            entry.overall_state = item["overall_state"]
            entry.overall_modified = item["overall_modified"]
            entry.groups = {group["name"]: GroupState(**group) for group in item["groups"]}

    def replay(self, op: str, key: Any, value: Any) -> None:
        if op == EVALUATED:
            _apply_changes(self.entry(key), value)
        elif op == FORGOTTEN:
            self._monitors.pop(key, None)
        elif op == EVALUATED_UNTIL:
            self.last_evaluated = value
        elif op == WIPE:
            self.wipe()
        else:
            raise ValueError(f"unknown evaluation change {op!r}")


@dataclass(frozen=True)
class _StateCopy:
    overall: tuple[str, int | None]
    groups: dict[str, dict[str, Any]]

    @staticmethod
    def of(entry: MonitorEvaluation) -> _StateCopy:
        return _StateCopy(
            (entry.overall_state, entry.overall_modified),
            {name: dict(vars(state)) for name, state in entry.groups.items()},
        )


def _changes_since(before: _StateCopy | None, entry: MonitorEvaluation) -> dict[str, Any]:
    """``{"overall": [state, modified], "removed": [group, ...], "groups": {group: {field: value}}}``, each
    key only when something changed (every field of a new group)."""
    changed: dict[str, Any] = {}
    if before is None or before.overall != (entry.overall_state, entry.overall_modified):
        changed["overall"] = [entry.overall_state, entry.overall_modified]
    old_groups = before.groups if before is not None else {}
    removed = [name for name in old_groups if name not in entry.groups]
    if removed:
        changed["removed"] = removed
    groups = {}
    for name, state in entry.groups.items():
        fields, old = vars(state), old_groups.get(name)
        difference = dict(fields) if old is None else {k: v for k, v in fields.items() if old[k] != v}
        if difference:
            groups[name] = difference
    if groups:
        changed["groups"] = groups
    return changed


def _apply_changes(entry: MonitorEvaluation, changed: dict[str, Any]) -> None:
    if "overall" in changed:
        entry.overall_state, entry.overall_modified = changed["overall"]
    for name in changed.get("removed", ()):
        entry.groups.pop(name, None)
    for name, fields in changed.get("groups", {}).items():
        state = entry.groups.get(name)
        if state is None:
            entry.groups[name] = GroupState(**fields)
        else:
            for key, value in fields.items():
                setattr(state, key, value)
