"""One emulated Datadog org: its collections behind one lock, and its transactions.

Every write runs in ``Org.transaction()``. With a state file (``state.py``), a transaction first takes the
journal's lock across processes and catches up with what other processes appended, then runs, then appends
the changes it recorded, and only after leaving the lock waits for them to be on disk, so concurrent
writers share one fsync. The answer is sent after that.

A collection is anything kept in the state file: it exports a snapshot section, restores one, and replays
its own changes (``op`` "wipe" for every collection, the others its own). The org keeps five, each under
the name of its snapshot section: ``monitors``, ``dashboards``, ``metrics`` (the metric store),
``evaluations`` (group states, overall states and the last evaluated minute) and ``clock_s`` (the clock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioner.emulator.clock import CLOCK_MOVED, Clock
from provisioner.emulator.dashboards import DashboardStore
from provisioner.emulator.evaluation.book import EvaluationBook
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.ids import IdSource
from provisioner.emulator.journal import WIPE, Change
from provisioner.emulator.metrics import MetricLimits, MetricStore, SubmittedSeries
from provisioner.emulator.monitors import MonitorStore


class Collection(Protocol):
    def export(self) -> Any:
        """The snapshot section: JSON, never mutated afterwards (it is written outside the org lock)."""

    def restore(self, section: Any) -> None: ...

    def replay(self, op: str, key: Any, value: Any) -> None:
        """Apply one change recorded by this collection (in this process or another)."""


class ChangeStore(Protocol):
    """Where committed changes go (the journal of ``state.py``); absent for an org kept in memory only."""

    def begin(self) -> None:
        """Before a write: exclusive across processes, caught up with their changes."""

    def commit(self, changes: Sequence[Change]) -> Callable[[], None] | None:
        """Append the changes and leave the exclusive section; returns what waits for them to be on disk."""

    def refresh(self) -> None:
        """Before a read: catch up with what other processes changed."""


@dataclass(frozen=True)
class OrgSnapshot:
    """A consistent view of the org, one section per collection. Sections share records with the live org
    and must not be mutated."""

    sections: Mapping[str, Any] = field(default_factory=dict)


class ChangeRecorder:
    """What a collection uses to write: a transaction, and the record of each change it makes in one."""

    def __init__(self, org: Org, collection: str) -> None:
        self._org = org
        self._collection = collection

    def transaction(self) -> AbstractContextManager[None]:
        return self._org.transaction()

    def record(self, op: str, key: Any = None, value: Any = None) -> None:
        self._org.record(Change(self._collection, op, key, value))


@dataclass
class IntakeSettings:
    """Series submission: points outside [now - 1 h, now + 10 min] are dropped unless ``accept_any_timestamp``."""

    accept_any_timestamp: bool = False
    past_s: int = 3600
    future_s: int = 600

    def accepted_range(self, now_s: float) -> tuple[float | None, float | None]:
        """The oldest and newest timestamps kept (None: no bound)."""
        if self.accept_any_timestamp:
            return None, None
        return now_s - self.past_s, now_s + self.future_s


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
        self._depth = 0  # transactions nested in the one running (the lock holder's)
        self._pending: list[Change] = []
        self._store: ChangeStore | None = None
        self._collections: dict[str, Collection] = {}
        self.clock = clock or Clock()
        ids = IdSource(seed)
        self.monitors = MonitorStore(self.lock, ids, self.clock, identity, self.recorder("monitors"))
        self.dashboards = DashboardStore(self.lock, ids, self.clock, identity, self.recorder("dashboards"))
        self.metrics = MetricStore(metric_limits, self.recorder("metrics"))
        self.evaluations = EvaluationBook(self.recorder("evaluations"))
        self.intake = IntakeSettings()
        self.register("monitors", self.monitors)
        self.register("dashboards", self.dashboards)
        self.register("metrics", self.metrics)
        self.register("evaluations", self.evaluations)
        self.register("clock_s", self.clock)  # the name of the section in state files of version 1

    def recorder(self, name: str) -> ChangeRecorder:
        """What the collection kept under ``name`` writes through."""
        return ChangeRecorder(self, name)

    def register(self, name: str, collection: Collection) -> None:
        """Keep a collection in the state file (its snapshot section and journal changes) under ``name``."""
        self._collections[name] = collection

    @property
    def collection_names(self) -> tuple[str, ...]:
        return tuple(self._collections)

    def keep_changes_in(self, store: ChangeStore) -> None:
        self._store = store

    # -- transactions ------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write (nested ones join the outer one). Changes recorded in it are committed even when it
        raises, since the collections have already applied them."""
        wait: Callable[[], None] | None = None
        with self.lock:
            outer = self._depth == 0
            if outer and self._store is not None:
                self._store.begin()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outer:
                    changes, self._pending = self._pending, []
                    if self._store is not None:
                        wait = self._store.commit(changes)
        if wait is not None:
            wait()

    def record(self, change: Change) -> None:
        if self._depth == 0:
            raise RuntimeError("a change was made outside Org.transaction()")
        self._pending.append(change)

    def refresh(self) -> None:
        if self._store is not None:
            self._store.refresh()

    # -- writes that are the org's own ---------------------------------------------------------------------
    def move_clock(self, now_s: float | None = None, advance_s: float | None = None) -> float:
        """Move a manual clock to ``now_s``, or by ``advance_s`` from the time it shows once caught up with
        the other processes; returns the new time. Raises ``ClockError``."""
        with self.transaction():
            target = now_s if now_s is not None else self.clock.now_s() + (advance_s or 0)
            self.clock.set(target)
            self.record(Change("clock_s", CLOCK_MOVED, None, self.clock.now_s()))
            return self.clock.now_s()

    def submit_series(self, submitted: Sequence[SubmittedSeries]) -> int:
        """Store a series submission at the clock's time; returns how many points were kept."""
        with self.transaction():
            accepted_from, accepted_to = self.intake.accepted_range(self.clock.now_s())
            return self.metrics.submit(submitted, accepted_from, accepted_to)

    # -- whole-org operations ------------------------------------------------------------------------------
    def snapshot(self) -> OrgSnapshot:
        with self.lock:
            return OrgSnapshot({name: collection.export() for name, collection in self._collections.items()})

    def restore(self, snapshot: OrgSnapshot) -> None:
        """Replace the whole org (a collection without a section is emptied)."""
        with self.lock:
            for name, collection in self._collections.items():
                if name in snapshot.sections:
                    collection.restore(snapshot.sections[name])
                else:
                    collection.replay(WIPE, None, None)

    def replay(self, changes: Iterable[Change]) -> None:
        with self.lock:
            for change in changes:
                self._collections[change.collection].replay(change.op, change.key, change.value)

    def wipe(self) -> None:
        """Every monitor, dashboard, metric point and evaluation state (the clock keeps its time)."""
        with self.transaction():
            for name, collection in self._collections.items():
                collection.replay(WIPE, None, None)
                self.record(Change(name, WIPE))
