"""The typed values an audit produces (see engine/audit.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from provisioner.changes import Action, FieldChange
from provisioner.engine.metric_gaps import NOT_CHECKED, MetricCheck, MetricGap
from provisioner.model import ResourceKind, SourceLocation


class FindingSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: FindingSeverity) -> bool:
        return self.rank >= other.rank


_RANK = {FindingSeverity.INFO: 0, FindingSeverity.WARNING: 1, FindingSeverity.ERROR: 2}


class FailScope(StrEnum):
    """Which findings ``--fail-on`` counts."""

    ORG = "org"  # every resource the audit read
    NAMESPACE = "namespace"  # the resources this namespace marks, and the coverage of its services


class Ownership(StrEnum):
    """How a live resource relates to the definitions."""

    IN_SYNC = "in-sync"  # carries our mark and matches its definition
    DRIFTED = "drifted"  # carries our mark and differs from its definition
    ORPHANED = "orphaned"  # carries our mark, but no definition (or a second copy of one)
    UNMANAGED = "unmanaged"  # carries no provisioner mark
    FOREIGN = "foreign"  # carries another namespace's mark


@dataclass(frozen=True)
class AuditSettings:
    mute_limit: timedelta = timedelta(days=7)  # muted longer than this is a finding
    stuck_limit: timedelta = timedelta(days=7)  # in Alert or No Data longer than this is a finding


@dataclass(frozen=True)
class Finding:
    code: str  # stable kebab-case, e.g. "no-notification-handle"
    severity: FindingSeverity
    message: str  # one line: what is wrong
    fix: str  # one line: how to fix it
    gap: MetricGap | None = None  # metric-not-reporting: the metric, the tag key and the cause


@dataclass(frozen=True)
class Drift:
    """Why a managed resource differs from its definition (read from the plan)."""

    action: Action  # update (changed in code), drift (by hand), conflict (both)
    fields: tuple[FieldChange, ...]
    note: str = ""


@dataclass(frozen=True)
class AuditedResource:
    kind: ResourceKind
    datadog_id: int | str
    title: str
    ownership: Ownership
    namespace: str | None = None  # the owner namespace its mark names
    definition_id: str | None = None
    source: SourceLocation | None = None
    monitor_type: str | None = None
    overall_state: str | None = None
    signals: tuple[str, ...] = ()  # mesh signals it watches (monitors)
    services: tuple[str, ...] = ()  # services it is scoped to; empty: all
    drift: Drift | None = None
    note: str = ""
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class SignalCoverage:
    signal: str
    monitors: tuple[int | str, ...]  # the monitors watching it (ids)

    @property
    def watched(self) -> bool:
        return bool(self.monitors)


@dataclass(frozen=True)
class ServiceCoverage:
    service: str
    signals: tuple[SignalCoverage, ...]  # in MESH_SIGNALS order

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s.signal for s in self.signals if not s.watched)


@dataclass(frozen=True)
class Coverage:
    services: tuple[ServiceCoverage, ...] = ()
    mesh: tuple[SignalCoverage, ...] = ()  # per signal: monitors that watch the whole mesh
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Undeployed:
    """A definition that has no resource in Datadog yet (apply creates it)."""

    kind: ResourceKind
    definition_id: str
    title: str
    source: SourceLocation | None


@dataclass(frozen=True)
class AuditReport:
    namespace: str
    generated_at: datetime
    settings: AuditSettings
    monitors: tuple[AuditedResource, ...] = ()
    dashboards: tuple[AuditedResource, ...] = ()
    coverage: Coverage = field(default_factory=Coverage)
    undeployed: tuple[Undeployed, ...] = ()
    warnings: tuple[str, ...] = ()
    requests: int = 0  # API requests made to read the org (the metrics-reporting check's included)
    metric_check: MetricCheck = NOT_CHECKED

    @property
    def findings(self) -> tuple[Finding, ...]:
        resources = self.monitors + self.dashboards
        return tuple(f for r in resources for f in r.findings) + self.coverage.findings

    def count(self, severity: FindingSeverity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def own_findings(self) -> tuple[Finding, ...]:
        """The findings on resources this namespace marks, and on the coverage of its services."""
        resources = self.monitors + self.dashboards
        own = tuple(f for r in resources if r.ownership in _OWN for f in r.findings)
        return own + self.coverage.findings

    def fails(self, threshold: FindingSeverity | None, scope: FailScope = FailScope.ORG) -> bool:
        """Whether a finding at or above ``threshold`` exists in ``scope`` (threshold None: never fails)."""
        findings = self.findings if scope is FailScope.ORG else self.own_findings
        return threshold is not None and any(f.severity.at_least(threshold) for f in findings)


_OWN = frozenset({Ownership.IN_SYNC, Ownership.DRIFTED, Ownership.ORPHANED})
