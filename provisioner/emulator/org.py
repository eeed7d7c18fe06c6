"""One emulated Datadog org: its monitors and dashboards behind one lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from provisioner.emulator.clock import Clock
from provisioner.emulator.dashboards import DashboardStore
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.ids import IdSource
from provisioner.emulator.monitor_records import Record
from provisioner.emulator.monitors import MonitorStore


@dataclass(frozen=True)
class OrgSnapshot:
    """A consistent view of the org. The records are shared with the live org and must not be mutated."""

    monitors: list[Record] = field(default_factory=list)
    dashboards: list[Record] = field(default_factory=list)


class Org:
    def __init__(self, seed: int, identity: OrgIdentity) -> None:
        self.lock = threading.RLock()
        self.identity = identity
        self._listeners: list[Callable[[], None]] = []
        ids, clock = IdSource(seed), Clock()
        self.monitors = MonitorStore(self.lock, ids, clock, identity, self._changed)
        self.dashboards = DashboardStore(self.lock, ids, clock, identity, self._changed)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def snapshot(self) -> OrgSnapshot:
        with self.lock:
            return OrgSnapshot(self.monitors.all_records(), self.dashboards.all_records())

    def restore(self, snapshot: OrgSnapshot) -> None:
        with self.lock:
            self.monitors.restore(snapshot.monitors)
            self.dashboards.restore(snapshot.dashboards)

    def wipe(self) -> None:
        with self.lock:
            self.monitors.wipe()
            self.dashboards.wipe()
        self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()
