"""Typed values that cross module boundaries. Standard library only.

What every command uses: the definitions, the project config and problems. The values of the commands
that talk to Datadog (what it holds, what a plan intends, what apply did) are in ``changes.py``.

Vocabulary: *desired* is what the definitions in git say, *live* is what Datadog holds.
A definition's identity is ``definition_id`` (a string chosen by the team); Datadog's own
identifier is ``datadog_id`` (an int for monitors, a string for dashboards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    """The project config (provisioner.yaml): its environments, default environment and mesh services."""

    path: str | None  # the config file, or None when there is none
    environments: Mapping[str, Environment] = field(default_factory=dict)
    default_environment: str | None = None
    services: tuple[str, ...] = ()  # mesh services the team runs (for audit coverage)
    warnings: tuple[Problem, ...] = ()  # e.g. two environments that would fight over one org's namespace
