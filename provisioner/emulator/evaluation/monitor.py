"""One evaluation of a metric monitor: the query over its window, then each group's status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.emulator.evaluation.book import EvaluationRecord, GroupState, MonitorEvaluation
from provisioner.emulator.evaluation.query import GroupOutcome, QueryPlan, Window, evaluate_query
from provisioner.emulator.evaluation.thresholds import ALERT, NO_DATA, OK, WARN, Thresholds
from provisioner.emulator.metrics import MetricStore

DEFAULT_NEW_GROUP_DELAY_S = 60
_EVALUATED_AS_ZERO = "no data over {}, evaluated as 0 (on_missing_data: default); "
GROUP_RETENTION_S = 86_400  # a group without data leaves the status page after 24 h
HOST_GROUP_RETENTION_S = 2 * 86_400  # 48 h for host monitors
MISSING_DATA_MODES = frozenset({"show_no_data", "show_and_notify_no_data", "resolve", "default"})


@dataclass(frozen=True)
class MonitorSettings:
    """The options that steer evaluation, read once per evaluation."""

    thresholds: Thresholds
    evaluation_delay_s: int
    new_group_delay_s: int
    require_full_window: bool
    missing_data: str  # an on_missing_data value, "notify_no_data" or "keep" (the legacy options)
    no_data_timeframe_s: int
    timeout_s: int | None

    @property
    def notifies_no_data(self) -> bool:
        return self.missing_data in ("show_and_notify_no_data", "notify_no_data")


def monitor_settings(options: Mapping[str, Any], plan: QueryPlan) -> MonitorSettings:
    return MonitorSettings(
        thresholds=Thresholds.from_options(options, plan.comparator, plan.threshold),
        evaluation_delay_s=_whole(options.get("evaluation_delay")) or 0,
        new_group_delay_s=_new_group_delay(options, plan),
        require_full_window=options.get("require_full_window") is True,
        missing_data=_missing_data_mode(options),
        no_data_timeframe_s=60
        * (_whole(options.get("no_data_timeframe")) or 2 * plan.timeframe.seconds // 60),
        timeout_s=3600 * timeout if (timeout := _whole(options.get("timeout_h"))) else None,
    )


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _new_group_delay(options: Mapping[str, Any], plan: QueryPlan) -> int:
    """``new_group_delay`` when nonzero; else ``new_host_delay`` for groups by host; else 0 if set to 0;
    else the documented default of 60 s."""
    group_delay = _whole(options.get("new_group_delay"))
    host_delay = _whole(options.get("new_host_delay"))
    if group_delay:
        return group_delay
    if "host" in plan.group_by and host_delay is not None:
        return host_delay
    return 0 if group_delay == 0 else DEFAULT_NEW_GROUP_DELAY_S


def _missing_data_mode(options: Mapping[str, Any]) -> str:
    """``on_missing_data`` when set. The server adds ``notify_no_data: false`` unless ``on_missing_data``
    was sent, so options with neither were sent ``on_missing_data: "default"`` (which it dropped)."""
    mode = options.get("on_missing_data")
    if mode in MISSING_DATA_MODES:
        return str(mode)
    if "notify_no_data" not in options:
        return "default"
    return "notify_no_data" if options.get("notify_no_data") is True else "keep"


def evaluate_metric_monitor(
    monitor_id: int,
    options: Mapping[str, Any],
    plan: QueryPlan,
    store: MetricStore,
    entry: MonitorEvaluation,
    at: int,
) -> None:
    """Evaluate at ``at`` (a minute boundary, epoch s), updating ``entry`` and recording each group."""
    settings = monitor_settings(options, plan)
    end = at - settings.evaluation_delay_s
    window = Window(end - plan.timeframe.seconds, end, plan.grid_s, plan.timeframe.bucket_s)
    outcome = evaluate_query(plan, store, window, settings.require_full_window)
    context = _Evaluation(monitor_id, plan, settings, window, entry, at)
    seen = set()
    for group in outcome.groups.values():
        if group.value is None and group.latest is None:
            continue
        seen.add(group.name)
        context.with_data(group)
    for name in [name for name in entry.groups if name not in seen]:
        context.without_data(entry.groups[name])
    if not entry.groups and not plan.multi and context.empty_is_zero():  # a simple alert's one group
        context.decide(entry.group("*", at), 0.0, "no data", _EVALUATED_AS_ZERO.format(plan.timeframe.label))
    elif not entry.groups:
        context.record("*", NO_DATA, "no data", f"no data over {plan.timeframe.label}")


@dataclass(frozen=True)
class _Evaluation:
    monitor_id: int
    plan: QueryPlan
    settings: MonitorSettings
    window: Window
    entry: MonitorEvaluation
    at: int

    def with_data(self, group: GroupOutcome) -> None:
        state = self.entry.group(group.name, self.at)
        if group.latest is not None:
            state.last_point_ts = max(state.last_point_ts or group.latest, group.latest)
        ready_at = state.first_seen + self.settings.new_group_delay_s
        if self.plan.multi and self.at < ready_at:
            self.skip(state, f"new group: evaluated from {ready_at} (new_group_delay)", group.value)
        elif self.settings.require_full_window and not self._full(group.presence):
            self.skip(state, "require_full_window: the window is not full", group.value)
        elif group.value is None:
            self.skip(state, "every value in the window was rejected (e.g. a division by zero)", None)
        else:
            self.decide(state, group.value, "evaluated", "")

    def without_data(self, state: GroupState) -> None:
        silent_s = None if state.last_point_ts is None else self.window.end - state.last_point_ts
        settings, label = self.settings, f"no data over {self.plan.timeframe.label}"
        if (
            settings.timeout_s
            and state.status in (ALERT, WARN)
            and silent_s is not None
            and silent_s >= settings.timeout_s
        ):
            state.move_to(OK, self.at, settings.notifies_no_data)
            self.record(state.name, OK, "no data", f"{label}; auto-resolved after timeout_h")
        elif self.plan.multi and silent_s is not None and silent_s > self._retention_s():
            del self.entry.groups[state.name]
        elif settings.missing_data in ("show_no_data", "show_and_notify_no_data"):
            self._move(state, NO_DATA, f"{label} (on_missing_data: {settings.missing_data})")
        elif settings.missing_data == "resolve":
            self._move(state, OK, f"{label} (on_missing_data: resolve)")
        elif self.empty_is_zero():
            self.decide(state, 0.0, "no data", _EVALUATED_AS_ZERO.format(self.plan.timeframe.label))
        elif settings.missing_data == "notify_no_data" and (
            silent_s is None or silent_s >= settings.no_data_timeframe_s
        ):
            self._move(
                state, NO_DATA, f"no data for {settings.no_data_timeframe_s // 60}m (no_data_timeframe)"
            )
        else:
            self.record(state.name, state.status or NO_DATA, "no data", f"{label}; the last status is kept")

    def empty_is_zero(self) -> bool:
        """``on_missing_data: default`` on a count query: "an empty monitor evaluation is treated as 0 and
        is compared to the threshold conditions" (V1 OnMissingDataOption)."""
        return self.settings.missing_data == "default" and self.plan.count_query

    def decide(self, state: GroupState, value: float, outcome: str, prefix: str) -> None:
        thresholds = self.settings.thresholds
        decision = thresholds.decide(value, state.status)
        state.move_to(decision.status, self.at, self.settings.notifies_no_data)
        explanation = (
            f"{prefix}{decision.explanation(value, thresholds.comparator)} over {self.plan.timeframe.label}"
        )
        self.record(
            state.name,
            decision.status,
            outcome,
            explanation,
            value=value,
            compared_with=decision.compared_with,
            threshold=decision.threshold,
        )

    def skip(self, state: GroupState, reason: str, value: float | None) -> None:
        """A skipped evaluation leaves the status unchanged."""
        self.record(state.name, state.status or NO_DATA, "skipped", reason, value=value)

    def _move(self, state: GroupState, status: str, explanation: str) -> None:
        state.move_to(status, self.at, self.settings.notifies_no_data)
        self.record(state.name, status, "no data", explanation)

    def record(self, group: str, status: str, outcome: str, explanation: str, **computed: Any) -> None:
        self.entry.record(
            EvaluationRecord(
                time=self.at,
                monitor_id=self.monitor_id,
                group=group,
                status=status,
                outcome=outcome,
                explanation=explanation,
                comparator=self.plan.comparator,
                thresholds=self.settings.thresholds.as_dict(),
                window=self.plan.timeframe.label,
                window_start=self.window.start,
                window_end=self.window.end,
                path=self.plan.path,
                **computed,
            )
        )

    def _full(self, presence: frozenset[int]) -> bool:
        """The first bucket has data and at most three buckets are empty."""
        return 0 in presence and self.window.presence_buckets - len(presence) <= 3

    def _retention_s(self) -> int:
        return HOST_GROUP_RETENTION_S if "host" in self.plan.group_by else GROUP_RETENTION_S
