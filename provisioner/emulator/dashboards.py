"""The dashboard store: records by id in creation order, guarded by the org lock."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from provisioner.emulator.clock import Clock, iso_timestamp
from provisioner.emulator.dashboard_rules import Record, check_dashboard, dashboard_record
from provisioner.emulator.http_types import ApiError, not_found
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.ids import IdSource
from provisioner.emulator.journal import DELETE, PUT, WIPE

if TYPE_CHECKING:
    from provisioner.emulator.org import ChangeRecorder


def dashboard_not_found(dashboard_id: str) -> ApiError:
    return not_found(f"Dashboard with ID {dashboard_id} not found")


class DashboardStore:
    def __init__(
        self,
        lock: threading.RLock,
        ids: IdSource,
        clock: Clock,
        identity: OrgIdentity,
        changes: ChangeRecorder,
    ) -> None:
        self._lock = lock  # reads; writes run in a transaction, which holds it
        self._ids = ids
        self._clock = clock
        self._identity = identity
        self._changes = changes
        self._records: dict[str, Record] = {}

    def create(self, body: Mapping[str, Any]) -> Record:
        check_dashboard(body)
        with self._changes.transaction():
            dashboard_id = self._fresh_id()
            now = self._clock.now()
            record = dashboard_record(
                body, dashboard_id, self._identity, iso_timestamp(now), now, self._ids.widget_id
            )
            self._records[dashboard_id] = record
            self._changes.record(PUT, dashboard_id, record)
        return record

    def update(self, dashboard_id: str, body: Mapping[str, Any]) -> Record:
        """A full replacement: what is not sent is gone; widgets sent without ids get fresh ones."""
        with self._changes.transaction():
            existing = self.get(dashboard_id)
            check_dashboard(body)
            now = self._clock.now()
            identity = self._identity
            record = dashboard_record(
                body, dashboard_id, identity, existing["created_at"], now, self._ids.widget_id
            )
            record.update(author_handle=existing["author_handle"], author_name=existing["author_name"])
            self._records[dashboard_id] = record
            self._changes.record(PUT, dashboard_id, record)
        return record

    def delete(self, dashboard_id: str) -> None:
        with self._changes.transaction():
            self.get(dashboard_id)
            del self._records[dashboard_id]
            self._changes.record(DELETE, dashboard_id)

    def get(self, dashboard_id: str) -> Record:
        record = self._records.get(dashboard_id)
        if record is None:
            raise dashboard_not_found(dashboard_id)
        return record

    def page(self, start: int, count: int) -> list[Record]:
        with self._lock:
            return list(self._records.values())[start : start + count]

    def all_records(self) -> list[Record]:
        with self._lock:
            return list(self._records.values())

    def count(self) -> int:
        return len(self._records)

    # -- persistence (the org's ``Collection``) --------------------------------
    def export(self) -> list[Record]:
        return self.all_records()

    def restore(self, records: Iterable[Record]) -> None:
        with self._lock:
            self._records = {record["id"]: record for record in records}

    def replay(self, op: str, key: Any, value: Any) -> None:
        if op == PUT:
            self._records[key] = value
        elif op == DELETE:
            self._records.pop(key, None)
        elif op == WIPE:
            self.wipe()
        else:
            raise ValueError(f"unknown dashboard change {op!r}")

    def wipe(self) -> None:
        with self._lock:
            self._records.clear()

    def _fresh_id(self) -> str:
        while True:
            candidate = self._ids.dashboard_id()
            if candidate not in self._records:
                return candidate
