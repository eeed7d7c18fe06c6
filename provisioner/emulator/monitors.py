"""The monitor store: records indexed by id, kept in id order, guarded by the org lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provisioner.emulator.clock import Clock
from provisioner.emulator.http_types import ApiError, bad_request, not_found
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.ids import IdSource
from provisioner.emulator.journal import DELETE, PUT, WIPE
from provisioner.emulator.monitor_query import InvalidQueryError, analyse_query
from provisioner.emulator.monitor_records import (
    ListViewCache,
    PreparedMonitor,
    Record,
    duplicate_fingerprint,
    new_record,
    prepare_create,
    prepare_update,
    updated_record,
)
from provisioner.emulator.monitor_rules import invalid_parameter

if TYPE_CHECKING:
    from provisioner.emulator.org import ChangeRecorder

MONITOR_NOT_FOUND = "Monitor not found"
OVERALL_STATE = "overall_state"  # the journal change of an overall state set by evaluation


@dataclass(frozen=True)
class MonitorFilter:
    """``GET /api/v1/monitor`` filters; every given tag must be present."""

    name: str | None = None
    scope_tags: tuple[str, ...] = ()
    monitor_tags: tuple[str, ...] = ()
    id_offset: int | None = None


@dataclass(frozen=True)
class CanDeleteResult:
    ok: list[int]
    errors: dict[str, list[str]]


class MonitorStore:
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
        self._records: dict[int, Record] = {}
        self._scopes: dict[int, frozenset[str]] = {}
        self._composite_refs: dict[int, tuple[int, ...]] = {}  # composite id -> monitor ids it uses
        self._list_cache = ListViewCache()
        self._recent_creates: dict[tuple[Any, ...], tuple[int, float]] = {}
        self.duplicate_window_s: float | None = None

    # -- writes ---------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> Record:
        prepared = prepare_create(body)
        with self._changes.transaction():
            self._check_composite(prepared)
            self._check_duplicate(prepared)
            monitor_id = self._ids.next_monitor_id()
            record = new_record(prepared, monitor_id, self._identity, self._clock.now())
            self._store(record)
            self._changes.record(PUT, monitor_id, record)
            self._recent_creates[duplicate_fingerprint(prepared)] = (monitor_id, time.monotonic())
        return record

    def update(self, monitor_id: int, body: Mapping[str, Any]) -> Record:
        with self._changes.transaction():
            existing = self.get(monitor_id)
            prepared = prepare_update(existing, body)
            self._check_composite(prepared)
            record = updated_record(existing, prepared, self._clock.now())
            self._store(record)
            self._changes.record(PUT, monitor_id, record)
        return record

    def set_overall_state(self, monitor_id: int, overall_state: str, modified: str) -> None:
        """Evaluation changed the overall state: the record shows it from now on (``modified`` stays)."""
        with self._changes.transaction():
            if self._show_overall_state(monitor_id, overall_state, modified):
                self._changes.record(OVERALL_STATE, monitor_id, [overall_state, modified])

    def _show_overall_state(self, monitor_id: int, overall_state: str, modified: str) -> bool:
        record = self._records.get(monitor_id)
        if record is None:
            return False
        self._records[monitor_id] = {
            **record,
            "overall_state": overall_state,
            "overall_state_modified": modified,
        }
        return True

    def delete(self, monitor_id: int, force: bool) -> None:
        with self._changes.transaction():
            record = self.get(monitor_id)
            references = self._referencing_composites(monitor_id)
            if references and not force:
                raise bad_request(_referenced_message(record, references))
            self._remove(monitor_id)
            self._changes.record(DELETE, monitor_id)

    # -- reads ----------------------------------------------------------------
    def get(self, monitor_id: int) -> Record:
        record = self._records.get(monitor_id)
        if record is None:
            raise not_found(MONITOR_NOT_FOUND)
        return record

    def validate(self, body: Mapping[str, Any], monitor_id: int | None = None) -> None:
        with self._lock:
            if monitor_id is not None:
                self.get(monitor_id)
            self._check_composite(prepare_create(body))

    def matching(self, monitor_filter: MonitorFilter) -> list[Record]:
        """Records passing the filter, in id order (the list is a copy; records are shared, never mutated)."""
        with self._lock:
            if monitor_filter == MonitorFilter():
                return list(self._records.values())
            return [record for record in self._records.values() if self._passes(record, monitor_filter)]

    def encoded_list(self, records: list[Record]) -> bytes:
        """The JSON array of these records as list items (``matching_downtimes`` included)."""
        return b"[" + b",".join(self._list_cache.encoded(record) for record in records) + b"]"

    def all_records(self) -> list[Record]:
        with self._lock:
            return list(self._records.values())

    def count(self) -> int:
        return len(self._records)

    def can_delete(self, monitor_ids: Iterable[int]) -> CanDeleteResult:
        ok: list[int] = []
        errors: dict[str, list[str]] = {}
        with self._lock:
            for monitor_id in monitor_ids:
                references = self._referencing_composites(monitor_id)
                record = self._records.get(monitor_id)
                if references and record is not None:
                    errors[str(monitor_id)] = [_referenced_message(record, references)]
                else:
                    ok.append(monitor_id)
        return CanDeleteResult(ok, errors)

    # -- persistence (the org's ``Collection``) --------------------------------
    def export(self) -> list[Record]:
        return self.all_records()

    def restore(self, records: Iterable[Record]) -> None:
        with self._lock:
            self.wipe()
            for record in sorted(records, key=lambda item: item["id"]):
                self._store(record)
                self._ids.observe_monitor_id(record["id"])

    def replay(self, op: str, key: Any, value: Any) -> None:
        if op == PUT:
            self._store(value)
            self._ids.observe_monitor_id(key)
        elif op == DELETE:
            self._remove(key)
        elif op == OVERALL_STATE:
            self._show_overall_state(key, *value)
        elif op == WIPE:
            self.wipe()
        else:
            raise ValueError(f"unknown monitor change {op!r}")

    def wipe(self) -> None:
        with self._lock:
            self._records.clear()
            self._scopes.clear()
            self._list_cache.clear()
            self._composite_refs.clear()
            self._recent_creates.clear()

    def _remove(self, monitor_id: int) -> None:
        self._records.pop(monitor_id, None)
        self._list_cache.forget(monitor_id)
        self._scopes.pop(monitor_id, None)
        self._composite_refs.pop(monitor_id, None)

    def _store(self, record: Record) -> None:
        monitor_id = record["id"]
        self._records[monitor_id] = record
        self._scopes.pop(monitor_id, None)
        self._composite_refs.pop(monitor_id, None)
        if record["type"] == "composite":
            self._composite_refs[monitor_id] = _composite_ids(record["query"])

    # -- rules needing the whole org -----------------------------------------
    def _check_composite(self, prepared: PreparedMonitor) -> None:
        missing = [i for i in prepared.facts.monitor_ids if i not in self._records]
        if missing:
            raise bad_request(
                f"The value provided for parameter 'query' is invalid: monitor {missing[0]} not found"
            )

    def _check_duplicate(self, prepared: PreparedMonitor) -> None:
        window = self.duplicate_window_s
        if window is None:
            return
        previous = self._recent_creates.get(duplicate_fingerprint(prepared))
        if previous is not None and previous[0] in self._records and time.monotonic() - previous[1] <= window:
            raise ApiError(400, {"errors": [f"Duplicate of an existing monitor_id:{previous[0]}"]})

    def _referencing_composites(self, monitor_id: int) -> list[Record]:
        return [self._records[cid] for cid, used in self._composite_refs.items() if monitor_id in used]

    def _passes(self, record: Record, monitor_filter: MonitorFilter) -> bool:
        if monitor_filter.id_offset is not None and record["id"] <= monitor_filter.id_offset:
            return False
        if monitor_filter.name is not None and monitor_filter.name.lower() not in record["name"].lower():
            return False
        if not set(monitor_filter.monitor_tags) <= set(record["tags"]):
            return False
        return not monitor_filter.scope_tags or set(monitor_filter.scope_tags) <= self._scope_of(record)

    def _scope_of(self, record: Record) -> frozenset[str]:
        scopes = self._scopes.get(record["id"])
        if scopes is None:
            try:
                scopes = frozenset(analyse_query(record["type"], record["query"]).scopes)
            except InvalidQueryError:
                scopes = frozenset()
            self._scopes[record["id"]] = scopes
        return scopes


def _composite_ids(query: str) -> tuple[int, ...]:
    try:
        return analyse_query("composite", query).monitor_ids
    except InvalidQueryError:
        return ()


def _referenced_message(record: Record, composites: list[Record]) -> str:
    """Shaped like the recorded SLO message: ``monitor [id,name] is referenced in slos: [id,name]``."""
    referrers = ", ".join(f"[{item['id']},{item['name']}]" for item in composites)
    return f"monitor [{record['id']},{record['name']}] is referenced in composite monitors: {referrers}"


def parse_monitor_id(raw: str) -> int:
    if not raw.isdigit():
        raise not_found(MONITOR_NOT_FOUND)
    return int(raw)


def parse_id_list(raw: str) -> list[int]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise invalid_parameter("monitor_ids")
    return [int(part) for part in parts]
