"""Typed values that cross module boundaries. Standard library only.

Vocabulary: *desired* is what the definitions in git say, *live* is what Datadog holds.
A definition's identity is ``definition_id`` (a string chosen by the team); Datadog's own
identifier is ``datadog_id`` (an int for monitors, a string for dashboards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Json = Any  # a JSON-compatible value: dict, list, str, int, float, bool or None
JsonObject = Mapping[str, Json]
MetricTags = Mapping[str, frozenset[str]]  # a metric's tag keys -> the values its series carried

Severity = Literal["error", "warning"]
ResourceKind = Literal["monitor", "dashboard"]
IstioMode = Literal["openmetrics", "legacy"]  # how a Datadog check collects: OpenMetrics V2, or V1 (legacy)


@dataclass(frozen=True)
class SourceLocation:
    """Where a definition (or a field of it) stands in a YAML file; line and col are 1-based."""

    path: str
    line: int
    col: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, collected rather than raised."""

    path: str
    line: int
    col: int
    pointer: str  # RFC 6901 pointer inside the YAML document, "" for the document itself
    code: str  # stable kebab-case rule code, e.g. "warning-above-critical"
    severity: Severity
    message: str
    hint: str = ""

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.code)


@dataclass(frozen=True)
class MonitorSpec:
    """A desired monitor: one compiled Datadog monitor body, without provisioner's identity marks."""

    definition_id: str
    kind: str  # "error-rate", "sidecar-injection", "config-propagation", "circuit-open" or "monitor"
    body: JsonObject  # the Datadog API body: name, type, query, message, tags, priority, options, ...
    source: SourceLocation
    keep_drift: bool = False  # leave hand edits made in Datadog alone; only report them
    signal: str | None = None  # mesh signal watched: one of MESH_SIGNALS, or None
    services: tuple[str, ...] = ()  # mesh services this monitor watches (empty: the whole mesh)
    adopt_id: int | None = None  # an existing, unmarked Datadog monitor to take over in place
    part_of: str | None = None  # a part of this definition's composite (error-rate guard...): never notifies


@dataclass(frozen=True)
class DashboardSpec:
    """A desired dashboard: one compiled Datadog dashboard body, without identity marks."""

    definition_id: str
    body: JsonObject  # title, description, layout_type, widgets, template_variables, ...
    source: SourceLocation
    keep_drift: bool = False
    adopt_id: str | None = None  # an existing, unmarked Datadog dashboard to take over in place


@dataclass(frozen=True)
class DefinitionSet:
    """Everything loaded from the definition files, and every problem found on the way."""

    monitors: tuple[MonitorSpec, ...] = ()
    dashboards: tuple[DashboardSpec, ...] = ()
    problems: tuple[Problem, ...] = ()
    files: tuple[str, ...] = ()  # the definition files read, in order
    services: tuple[str, ...] = ()  # every mesh service the definitions name

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        return not self.errors


MESH_SIGNALS: tuple[str, ...] = ("error-rate", "sidecar-injection", "config-propagation", "circuit-open")
MODE_COLLECTORS: tuple[str, ...] = ("data_plane", "control_plane", "envoy")


@dataclass(frozen=True)
class CollectionModes:
    """The mode each Datadog collector of mesh metrics runs in, for one environment (``istio:`` in
    provisioner.yaml), and the opt-in set-up declared applied. What the modes change, and the defaults, are
    in ``mesh/catalogue.py``; the set-up in ``mesh/setup.py``."""

    data_plane: IstioMode  # Istio check on the proxies (:15020)
    control_plane: IstioMode  # Istio check on istiod (:15014)
    envoy: IstioMode  # Envoy check on the sidecars (:15090)
    # The opt-in set-up (``mesh/setup.py`` keys) the team declares applied, sorted: validate stops warning
    # about it. A tuple, not a set: its repr keys the definitions cache, and a set's order varies by run.
    set_up: tuple[str, ...] = ()

    def of(self, collector: str) -> IstioMode | None:
        """The mode of a collector named in MODE_COLLECTORS; None for one without modes (APM)."""
        return getattr(self, collector) if collector in MODE_COLLECTORS else None  # type: ignore[no-any-return]

    @property
    def summary(self) -> str:
        """``data_plane legacy, control_plane openmetrics, envoy openmetrics``"""
        return ", ".join(f"{collector} {self.of(collector)}" for collector in MODE_COLLECTORS)

    def as_dict(self) -> dict[str, Json]:
        modes: dict[str, Json] = {collector: getattr(self, collector) for collector in MODE_COLLECTORS}
        return {**modes, "set_up": list(self.set_up)}


@dataclass(frozen=True)
class Environment:
    """One target environment from the project config (provisioner.yaml)."""

    name: str
    site: str | None = None  # e.g. "datadoghq.eu"; None: DD_SITE or datadoghq.com
    api_url: str | None = None  # explicit base URL (overrides site)
    namespace: str = "default"  # owner namespace: two repos sharing one org use two namespaces
    tags: tuple[str, ...] = ()  # added to every monitor
    notify: tuple[str, ...] = ()  # notification handles ("@slack-mesh") added to every monitor message
    variables: Mapping[str, str] = field(default_factory=dict)  # ${name} substitutions in definitions
    istio: CollectionModes | None = None  # None: the documented set-up (mesh.catalogue.DEFAULT_MODES)


@dataclass(frozen=True)
class ProjectConfig:
    path: str | None  # the config file, or None when there is none
    environments: Mapping[str, Environment] = field(default_factory=dict)
    default_environment: str | None = None
    services: tuple[str, ...] = ()  # mesh services the team runs (for audit coverage)
    warnings: tuple[Problem, ...] = ()  # e.g. two environments that would fight over one org's namespace


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
