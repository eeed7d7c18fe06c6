"""Typed values of the commands that talk to Datadog: what it holds (``LiveResource``, ``LiveOrg``), what a
plan intends (``Action``, ``FieldChange``, ``PlannedChange``, ``Plan``) and what apply did (``Outcome``,
``ApplyResult``). Standard library and ``model`` only.

Apart from ``model.py`` because a frozen dataclass costs over half a millisecond to build at import: the
commands that only read definitions (validate, render) do not build these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from provisioner.model import Json, JsonObject, ResourceKind, SourceLocation


class Action(StrEnum):
    """What a plan intends for one resource."""

    CREATE = "create"  # new in code
    UPDATE = "update"  # changed in code
    DRIFT = "drift"  # changed in Datadog by hand
    CONFLICT = "conflict"  # changed in code and by hand
    ADOPT = "adopt"  # exists in Datadog without our mark, taken over in place
    REPAIR = "repair"  # a second copy of a definition: deleted, the oldest copy stays (no --prune needed)
    DELETE = "delete"  # removed from code (runs only with --prune)
    NOOP = "noop"


@dataclass(frozen=True)
class FieldChange:
    pointer: str  # RFC 6901 pointer into the canonical body, e.g. "/options/thresholds/critical"
    old: Json  # live value (absent: None with old_present False)
    new: Json  # desired value
    old_present: bool = True
    new_present: bool = True
    origin: Literal["code", "datadog", "both", "unknown"] = "code"  # who changed this field since last apply


@dataclass(frozen=True)
class LiveResource:
    """A monitor or dashboard as Datadog returned it."""

    kind: ResourceKind
    datadog_id: int | str
    body: JsonObject  # the API body, verbatim
    complete: bool = True  # False for a dashboard list summary (no widgets)

    @property
    def title(self) -> str:
        return str(self.body.get("name" if self.kind == "monitor" else "title") or "")

    @property
    def modified(self) -> str | None:
        value = self.body.get("modified" if self.kind == "monitor" else "modified_at")
        return str(value) if value else None

    @property
    def created(self) -> str | None:
        value = self.body.get("created" if self.kind == "monitor" else "created_at")
        return str(value) if value else None


@dataclass(frozen=True)
class LiveOrg:
    monitors: tuple[LiveResource, ...] = ()
    dashboards: tuple[LiveResource, ...] = ()
    requests: int = 0  # API requests made to read it


@dataclass(frozen=True)
class PlannedChange:
    kind: ResourceKind
    action: Action
    definition_id: str
    title: str
    datadog_id: int | str | None = None
    changes: tuple[FieldChange, ...] = ()
    body: JsonObject | None = None  # the marked body to send (create, update, adopt, drift, conflict)
    live_body: JsonObject | None = None  # the live body, marks stripped (for keep-drift overlays)
    live_modified: str | None = None  # when Datadog last saw a change (drift, conflict)
    source: SourceLocation | None = None
    keep_drift: bool = False
    note: str = ""
    kept_datadog_id: int | str | None = None  # a repair: the older copy that stays (a saved plan checks it)


@dataclass(frozen=True)
class PlanOrigin:
    """Where a plan was made. A saved plan is applied only there."""

    environment: str
    target: str  # the Datadog API base URL, or "emulator" for the embedded org


@dataclass(frozen=True)
class Plan:
    namespace: str
    changes: tuple[PlannedChange, ...] = ()  # everything but no-ops, in a stable order
    unchanged: int = 0
    managed: int = 0  # live resources carrying this namespace's mark
    warnings: tuple[str, ...] = ()
    monitor_ids: Mapping[str, int | str] = field(
        default_factory=dict
    )  # live ids by definition id (references)
    origin: PlanOrigin | None = None  # set by the command that read the org

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)


OutcomeStatus = Literal["ok", "failed", "skipped", "not_started"]  # not_started: interrupted or out of time


@dataclass(frozen=True)
class Outcome:
    change: PlannedChange
    status: OutcomeStatus
    datadog_id: int | str | None = None
    message: str = ""


@dataclass(frozen=True)
class ApplyResult:
    outcomes: tuple[Outcome, ...] = ()
    refused: str = ""  # set when a guard refused to run the plan at all
    stopped: str = ""  # why apply stopped starting writes (an interrupt, the deadline), if it did
    notes: tuple[str, ...] = ()  # things the summary must say that belong to no one resource
    replan: bool = False  # changes of a saved plan were refused: only a new plan carries them out

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def not_started(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "not_started")

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_started and not self.refused
