"""Stored monitor records and the shapes each endpoint answers with.

A stored record is never mutated: an update builds a new dict. That lets readers serialise records
outside the org lock and lets the state writer snapshot the org with a shallow copy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provisioner.emulator.clock import epoch_millis_to_second, iso_timestamp
from provisioner.emulator.http_types import encode_json
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.monitor_query import QueryFacts
from provisioner.emulator.monitor_rules import (
    EDITABLE_FIELDS,
    check_query,
    check_thresholds,
    editable_fields,
    generated_name,
    invalid_parameter,
    normalize_options,
    normalize_priority,
    stored_type,
    trimmed,
)

Record = dict[str, Any]


@dataclass(frozen=True)
class PreparedMonitor:
    """The settable fields as the server will store them, and what it derived from the query."""

    fields: dict[str, Any]
    facts: QueryFacts


def prepare_create(body: Mapping[str, Any]) -> PreparedMonitor:
    fields = editable_fields(body)
    for required in ("type", "query"):
        if required not in fields:
            raise invalid_parameter(required)
    return _prepare(fields, fields.get("options") or {})


def prepare_update(existing: Record, body: Mapping[str, Any]) -> PreparedMonitor:
    """Absent top-level fields are kept; ``options``, when sent, replaces the whole object."""
    update = editable_fields(body)
    fields = {name: existing[name] for name in EDITABLE_FIELDS if name in existing}
    fields.update(update)
    sent_options = update.get("options")
    if sent_options is None:
        fields["options"] = existing["options"]
    return _prepare(fields, sent_options)


def _prepare(fields: dict[str, Any], sent_options: Mapping[str, Any] | None) -> PreparedMonitor:
    monitor_type = fields["type"]
    facts = check_query(monitor_type, fields["query"])
    options = fields["options"] if sent_options is None else normalize_options(sent_options, monitor_type)
    check_thresholds(facts, options)
    name = fields.get("name")
    prepared = {
        "type": stored_type(monitor_type, facts, options),
        "query": trimmed(fields["query"]),
        "name": generated_name(monitor_type, facts) if name is None else name,
        "message": trimmed(fields.get("message")),
        "tags": list(fields.get("tags") or []),
        "options": options,
        "priority": normalize_priority(fields.get("priority")),
        "restricted_roles": fields.get("restricted_roles"),
        "draft_status": fields.get("draft_status", "published"),
        "assets": fields.get("assets", []),
    }
    return PreparedMonitor(prepared, facts)


def new_record(prepared: PreparedMonitor, monitor_id: int, identity: OrgIdentity, now: datetime) -> Record:
    stamp = iso_timestamp(now)
    return {
        "id": monitor_id,
        "org_id": identity.org_id,
        **prepared.fields,
        "multi": prepared.facts.multi,
        "created": stamp,
        "created_at": epoch_millis_to_second(now),
        "modified": stamp,
        "creator": identity.creator(),
        "overall_state": "No Data",
        "overall_state_modified": None,
        "deleted": None,
        "restriction_policy": None,
    }


def updated_record(existing: Record, prepared: PreparedMonitor, now: datetime) -> Record:
    """``created``/``created_at`` stay; ``modified`` moves forward."""
    return {**existing, **prepared.fields, "multi": prepared.facts.multi, "modified": iso_timestamp(now)}


def list_view(record: Record) -> Record:
    """List items carry ``matching_downtimes`` even without ``with_downtimes``."""
    return {**record, "matching_downtimes": []}


class ListViewCache:
    """The encoded list item of each record, reused until the record is replaced.

    Entries are keyed by id and checked by identity, so a record replaced by an update is re-encoded even if a
    concurrent reader stored the old encoding late.
    """

    def __init__(self) -> None:
        self._encoded: dict[int, tuple[Record, bytes]] = {}

    def encoded(self, record: Record) -> bytes:
        cached = self._encoded.get(record["id"])
        if cached is not None and cached[0] is record:
            return cached[1]
        encoded = encode_json(list_view(record))
        self._encoded[record["id"]] = (record, encoded)
        return encoded

    def forget(self, monitor_id: int) -> None:
        self._encoded.pop(monitor_id, None)

    def clear(self) -> None:
        self._encoded.clear()


def get_view(record: Record, with_downtimes: bool) -> Record:
    """A single GET has ``matching_downtimes`` only with ``with_downtimes=true``."""
    return list_view(record) if with_downtimes else record


def put_view(record: Record) -> Record:
    """PUT responses have no ``creator`` (0 of 34 recorded PUT responses had it), and show ``"No Data"``
    and a null ``overall_state_modified`` whatever the evaluation state, which the PUT keeps."""
    view = {key: value for key, value in record.items() if key != "creator"}
    view.update(overall_state="No Data", overall_state_modified=None)
    return view


def duplicate_fingerprint(prepared: PreparedMonitor) -> tuple[Any, ...]:
    fields = prepared.fields
    return (
        fields["type"],
        fields["query"],
        fields["name"],
        fields["message"],
        json.dumps(fields["options"], sort_keys=True),
        tuple(fields["tags"]),
    )
