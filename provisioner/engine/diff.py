"""Field-level differences between two canonical bodies, as RFC 6901 pointers."""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.changes import FieldChange
from provisioner.model import Json, JsonObject

_MISSING = object()


def diff_bodies(live: JsonObject, desired: JsonObject) -> tuple[FieldChange, ...]:
    """Every leaf that differs; lists are compared whole (their order is meaningful)."""
    return tuple(_diff(live, desired, ""))


def _diff(old: Json, new: Json, pointer: str) -> list[FieldChange]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes: list[FieldChange] = []
        for key in sorted(set(old) | set(new)):
            child = f"{pointer}/{_escape(key)}"
            changes.extend(_diff(old.get(key, _MISSING), new.get(key, _MISSING), child))
        return changes
    if _equal(old, new):
        return []
    return [
        FieldChange(
            pointer=pointer,
            old=None if old is _MISSING else old,
            new=None if new is _MISSING else new,
            old_present=old is not _MISSING,
            new_present=new is not _MISSING,
        )
    ]


def _equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
