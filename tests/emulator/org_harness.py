"""An emulated org driven in-process: monitors through the same rules as the API, points into the real
metric store, and a manual clock whose moves run the real evaluator. For the evaluator's rule tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provisioner.emulator.clock import Clock
from provisioner.emulator.evaluation.book import EvaluationRecord, GroupState
from provisioner.emulator.evaluation.scheduler import Evaluator
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.metrics import MetricLimits, SubmittedSeries
from provisioner.emulator.org import Org

T0 = 1_700_000_040  # a minute boundary


class OrgUnderTest:
    def __init__(self, start: int = T0, limits: MetricLimits | None = None) -> None:
        self.clock = Clock("manual", start)
        self.org = Org(0, OrgIdentity(), self.clock, limits)
        self.evaluator = Evaluator(self.org, self.clock)

    @property
    def now(self) -> int:
        return int(self.clock.now_s())

    def monitor(self, query: str, monitor_type: str = "query alert", **options: Any) -> int:
        body = {"type": monitor_type, "query": query, "name": query[:40], "options": options}
        return int(self.org.monitors.create(body)["id"])

    def points(
        self,
        metric: str,
        values: Mapping[int, float] | Iterable[tuple[int, float]],
        tags: Iterable[str] = (),
        metric_type: str = "gauge",
        interval: int | None = None,
    ) -> None:
        """Points at ``now + offset`` seconds (offsets may be negative)."""
        items = values.items() if isinstance(values, Mapping) else values
        points = tuple((self.now + offset, float(value)) for offset, value in items)
        series = SubmittedSeries(metric, points, tuple(tags), metric_type, interval)
        self.org.metrics.add(series, None, None)

    def every(self, step: int, start: int, stop: int, value: float) -> dict[int, float]:
        """``{offset: value}`` for offsets in ``range(start, stop, step)``."""
        return {offset: value for offset in range(start, stop, step)}

    def advance(self, seconds: int) -> None:
        self.evaluator.move_clock(advance_s=seconds)

    def group(self, monitor_id: int, name: str = "*") -> GroupState:
        entry = self.org.evaluations.get(monitor_id)
        assert entry is not None and name in entry.groups, f"no group {name!r}"
        return entry.groups[name]

    def status(self, monitor_id: int, name: str = "*") -> str | None:
        entry = self.org.evaluations.get(monitor_id)
        state = entry.groups.get(name) if entry else None
        return state.status if state else None

    def statuses(self, monitor_id: int) -> dict[str, str | None]:
        entry = self.org.evaluations.get(monitor_id)
        return {name: state.status for name, state in entry.groups.items()} if entry else {}

    def overall(self, monitor_id: int) -> str:
        return str(self.org.monitors.get(monitor_id)["overall_state"])

    def last(self, monitor_id: int, name: str = "*") -> EvaluationRecord:
        entry = self.org.evaluations.get(monitor_id)
        assert entry is not None and name in entry.last, f"no evaluation of {name!r}"
        return entry.last[name]

    def value(self, monitor_id: int, name: str = "*") -> float | None:
        return self.last(monitor_id, name).value
