"""The dashboard store: records by id in creation order, guarded by the org lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from provisioner.emulator.clock import Clock, iso_timestamp
from provisioner.emulator.dashboard_rules import Record, check_dashboard, dashboard_record
from provisioner.emulator.http_types import ApiError, not_found
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.ids import IdSource


def dashboard_not_found(dashboard_id: str) -> ApiError:
    return not_found(f"Dashboard with ID {dashboard_id} not found")


class DashboardStore:
    def __init__(
        self,
        lock: threading.RLock,
        ids: IdSource,
        clock: Clock,
        identity: OrgIdentity,
        on_change: Callable[[], None],
    ) -> None:
        self._lock = lock
        self._ids = ids
        self._clock = clock
        self._identity = identity
        self._on_change = on_change
        self._records: dict[str, Record] = {}

    def create(self, body: Mapping[str, Any]) -> Record:
        check_dashboard(body)
        with self._lock:
            dashboard_id = self._fresh_id()
            now = self._clock.now()
            record = dashboard_record(
                body, dashboard_id, self._identity, iso_timestamp(now), now, self._ids.widget_id
            )
            self._records[dashboard_id] = record
        self._on_change()
        return record

    def update(self, dashboard_id: str, body: Mapping[str, Any]) -> Record:
        """A full replacement: what is not sent is gone; widgets sent without ids get fresh ones."""
        with self._lock:
            existing = self.get(dashboard_id)
            check_dashboard(body)
            now = self._clock.now()
            identity = self._identity
            record = dashboard_record(
                body, dashboard_id, identity, existing["created_at"], now, self._ids.widget_id
            )
            record.update(author_handle=existing["author_handle"], author_name=existing["author_name"])
            self._records[dashboard_id] = record
        self._on_change()
        return record

    def delete(self, dashboard_id: str) -> None:
        with self._lock:
            self.get(dashboard_id)
            del self._records[dashboard_id]
        self._on_change()

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

    def restore(self, records: Iterable[Record]) -> None:
        with self._lock:
            self._records = {record["id"]: record for record in records}

    def wipe(self) -> None:
        with self._lock:
            self._records.clear()

    def _fresh_id(self) -> str:
        while True:
            candidate = self._ids.dashboard_id()
            if candidate not in self._records:
                return candidate
