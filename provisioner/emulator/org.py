"""One emulated Datadog org: its monitors, dashboards, metric points and evaluation state behind one lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioner.emulator.clock import Clock
from provisioner.emulator.dashboards import DashboardStore
from provisioner.emulator.evaluation.book import EvaluationBook
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.ids import IdSource
from provisioner.emulator.metrics import MetricLimits, MetricStore
from provisioner.emulator.monitor_records import Record
from provisioner.emulator.monitors import MonitorStore


@dataclass(frozen=True)
class OrgSnapshot:
    """A consistent view of the org. The records are shared with the live org and must not be mutated.

    ``metrics`` (points and metric metadata, ``MetricStore.export``), ``evaluations`` (group states) and
    ``clock_s`` (the clock) are JSON-ready copies; None in a state file written before they existed."""

    monitors: list[Record] = field(default_factory=list)
    dashboards: list[Record] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    evaluations: dict[str, Any] | None = None
    clock_s: float | None = None


@dataclass
class IntakeSettings:
    """Series submission: points outside [now - 1 h, now + 10 min] are dropped unless ``accept_any_timestamp``."""

    accept_any_timestamp: bool = False
    past_s: int = 3600
    future_s: int = 600


class Org:
    def __init__(
        self,
        seed: int,
        identity: OrgIdentity,
        clock: Clock | None = None,
        metric_limits: MetricLimits | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.identity = identity
        self._listeners: list[Callable[[], None]] = []
        self.clock = clock or Clock()
        ids = IdSource(seed)
        self.monitors = MonitorStore(self.lock, ids, self.clock, identity, self._changed)
        self.dashboards = DashboardStore(self.lock, ids, self.clock, identity, self._changed)
        self.metrics = MetricStore(metric_limits)
        self.evaluations = EvaluationBook()
        self.intake = IntakeSettings()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def metrics_changed(self) -> None:
        """Points were added (the state file keeps them)."""
        self._changed()

    def snapshot(self) -> OrgSnapshot:
        with self.lock:
            return OrgSnapshot(
                self.monitors.all_records(),
                self.dashboards.all_records(),
                self.metrics.export(),
                self.evaluations.export(),
                self.clock.now_s(),
            )

    def restore(self, snapshot: OrgSnapshot, resume_clock: bool = True) -> None:
        """Load a snapshot; with ``resume_clock`` a manual clock moves on to the stored time if it is later."""
        with self.lock:
            self.monitors.restore(snapshot.monitors)
            self.dashboards.restore(snapshot.dashboards)
            if snapshot.clock_s is not None and resume_clock:
                self.clock.resume(snapshot.clock_s)
            if snapshot.metrics is not None:
                self.metrics.restore(snapshot.metrics)
            if snapshot.evaluations is not None:
                self.evaluations.restore(snapshot.evaluations)

    def wipe(self) -> None:
        with self.lock:
            self.monitors.wipe()
            self.dashboards.wipe()
            self.metrics.wipe()
            self.evaluations.wipe()
        self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()
