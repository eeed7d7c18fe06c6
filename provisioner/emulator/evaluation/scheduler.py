"""When evaluation runs: at each minute boundary the clock passes, for every monitor that can be evaluated.

``Evaluator.advance_to(now)`` evaluates every boundary after the last one evaluated, up to ``now``
(synchronously: the admin call that moves a manual clock answers once they are done). A jump of more than a
day evaluates only its last day, and an evaluator never evaluates boundaries before it started (a restart
does not catch up on the time it was down). In realtime mode a background ``Ticker`` calls it after each
wall-clock minute. Monitors are evaluated at the frequency of their window (1, 10 or 30 min); composites
after the monitors they combine, at every boundary.

Processes sharing a state file: whoever moves the clock (``POST /_emulator/clock``, or a realtime process's
ticker) evaluates, inside one org transaction, so under the journal's exclusive lock and caught up with the
others. The last boundary evaluated is part of the org (``EvaluationBook.last_evaluated``), so a boundary is
evaluated once, by one process; the others replay what it recorded.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

from provisioner.emulator.clock import Clock, iso_seconds
from provisioner.emulator.composite_query import (
    CompositeNode,
    CompositeSyntaxError,
    parse_composite,
    referenced_ids,
)
from provisioner.emulator.evaluation.composite import Part, evaluate_composite
from provisioner.emulator.evaluation.monitor import evaluate_metric_monitor
from provisioner.emulator.evaluation.query import QueryPlan, Unevaluable, plan_query
from provisioner.emulator.metric_query import QuerySyntaxError, parse_metric_query
from provisioner.emulator.monitor_records import Record
from provisioner.emulator.org import Org

MINUTE = 60
MAX_CATCH_UP_S = 86_400
METRIC_MONITOR_TYPES = frozenset({"metric alert", "query alert"})
_PLAN_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class MonitorPlan:
    """How a monitor is evaluated, or why it is not."""

    query: QueryPlan | None = None
    composite: CompositeNode | None = None
    reason: str | None = None


def boundary(epoch_s: float) -> int:
    """The minute boundary at or before ``epoch_s``."""
    return int(epoch_s // MINUTE) * MINUTE


class Evaluator:
    def __init__(self, org: Org, clock: Clock) -> None:
        self._org = org
        self._clock = clock
        self._plans: dict[tuple[str, str], MonitorPlan] = {}
        self._failures: dict[int, str] = {}  # monitor id -> reason, for a query that failed while evaluated
        self._started_at = boundary(clock.now_s())

    @property
    def last_boundary(self) -> int:
        """The last boundary evaluated (by any process sharing the org), or the one this evaluator started at."""
        return max(self._org.evaluations.last_evaluated or self._started_at, self._started_at)

    def move_clock(self, now_s: float | None = None, advance_s: float | None = None) -> int:
        """Move a manual clock (``Org.move_clock``) and evaluate the boundaries it passes, in one transaction;
        returns how many were evaluated."""
        with self._org.transaction():
            return self.advance_to(self._org.move_clock(now_s, advance_s))

    def advance_to(self, now_s: float) -> int:
        """Evaluate every boundary in (last evaluated, now_s]; returns how many."""
        with self._org.transaction():
            last = boundary(now_s)
            first = max(self.last_boundary + MINUTE, last - MAX_CATCH_UP_S + MINUTE)
            for at in range(first, last + 1, MINUTE):
                self.evaluate_at(at)
            if first <= last:
                self._org.evaluations.evaluated_until(last)
            return max(0, (last - first) // MINUTE + 1)

    def evaluate_at(self, at: int) -> None:
        org = self._org
        with org.transaction(), org.evaluations.recording():
            org.metrics.expire(at)
            records = org.monitors.all_records()
            org.evaluations.keep_only({record["id"] for record in records})
            plans = {record["id"]: self.plan_for(record) for record in records}
            by_id = {record["id"]: record for record in records}
            for record in records:
                plan = plans[record["id"]].query
                if plan is not None and at % plan.timeframe.frequency_s == 0:
                    self._evaluate_metric(record, plan, at)
            for record in records:
                composite = plans[record["id"]].composite
                if composite is not None and self._composite_reason(composite, plans) is None:
                    self._evaluate_composite(record, composite, plans, by_id, at)
            for record in records:
                entry = org.evaluations.get(record["id"])
                if entry is not None and entry.refresh_overall(at):
                    org.monitors.set_overall_state(
                        record["id"], entry.overall_state, iso_seconds(entry.overall_modified or at)
                    )

    def _evaluate_metric(self, record: Record, plan: QueryPlan, at: int) -> None:
        monitor_id = record["id"]
        entry = self._org.evaluations.entry(monitor_id)
        try:
            evaluate_metric_monitor(monitor_id, record["options"], plan, self._org.metrics, entry, at)
            self._failures.pop(monitor_id, None)
        except Unevaluable as exc:
            self._failures[monitor_id] = exc.reason
        except Exception as exc:  # a bug of ours: listed as not evaluated, the other monitors go on
            self._failures[monitor_id] = (
                f"evaluation failed: {type(exc).__name__}: {exc} (a bug in the emulator)"
            )

    def _evaluate_composite(
        self,
        record: Record,
        query: CompositeNode,
        plans: dict[int, MonitorPlan],
        by_id: dict[int, Record],
        at: int,
    ) -> None:
        parts = {}
        for monitor_id in referenced_ids(query):
            plan = plans[monitor_id].query
            assert plan is not None  # checked by _composite_reason
            parts[monitor_id] = Part(plan.multi, len(plan.group_by), self._org.evaluations.get(monitor_id))
        notify = record["options"].get("notify_no_data") is True
        evaluate_composite(record["id"], query, parts, notify, self._org.evaluations.entry(record["id"]), at)

    # -- what can be evaluated ---------------------------------------------------------
    def plan_for(self, record: Record) -> MonitorPlan:
        key = (record["type"], record["query"])
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[key] = _plan(record["type"], record["query"])
        return plan

    def unevaluated(self) -> list[dict[str, Any]]:
        """Every monitor that keeps "No Data" because it is not evaluated, with the reason."""
        with self._org.lock:
            records = self._org.monitors.all_records()
            plans = {record["id"]: self.plan_for(record) for record in records}
            listed = []
            for record in records:
                plan = plans[record["id"]]
                reason = self._failures.get(record["id"]) or plan.reason
                if reason is None and plan.composite is not None:
                    reason = self._composite_reason(plan.composite, plans)
                if reason is not None:
                    listed.append(
                        {key: record[key] for key in ("id", "name", "type", "query")} | {"reason": reason}
                    )
            return listed

    def _composite_reason(self, query: CompositeNode, plans: dict[int, MonitorPlan]) -> str | None:
        for monitor_id in referenced_ids(query):
            plan = plans.get(monitor_id)
            if plan is None:
                return f"monitor {monitor_id} does not exist"
            if plan.query is None or monitor_id in self._failures:
                return f"monitor {monitor_id}, which it combines, is not evaluated"
        return None


def _plan(monitor_type: str, query: str) -> MonitorPlan:
    if monitor_type == "composite":
        try:
            return MonitorPlan(composite=parse_composite(query))
        except CompositeSyntaxError as exc:
            return MonitorPlan(reason=f"the composite query cannot be read: {exc}")
    if monitor_type not in METRIC_MONITOR_TYPES:
        return MonitorPlan(reason=f"{monitor_type} monitors are not evaluated")
    if query.lstrip().startswith("formula("):
        return MonitorPlan(reason="formula queries are not evaluated")
    try:
        return MonitorPlan(query=plan_query(parse_metric_query(query)))
    except QuerySyntaxError as exc:
        return MonitorPlan(reason=f"the query cannot be read: {exc}")
    except Unevaluable as exc:
        return MonitorPlan(reason=exc.reason)


class Ticker:
    """Realtime mode: evaluates after each wall-clock minute boundary until stopped."""

    def __init__(self, evaluator: Evaluator, clock: Clock) -> None:
        self._evaluator = evaluator
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-evaluation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            now = self._clock.now_s()
            if self._stop.wait(boundary(now) + MINUTE - now + 0.05):
                return
            try:
                self._evaluator.advance_to(self._clock.now_s())
            except Exception as exc:  # keep the clock ticking; the next minute tries again
                sys.stderr.write(f"emulator: monitor evaluation failed: {type(exc).__name__}: {exc}\n")
