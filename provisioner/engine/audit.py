"""Pure audit: (definitions, live org, namespace, now, settings) → AuditReport. No I/O.

Every live monitor and dashboard is classified by its identity mark and by the plan the sync
engine would make (``compute_plan``): in sync, drifted (with the plan's field changes), orphaned,
unmanaged, or owned by another namespace. Monitors are then checked for hygiene
(engine/audit_hygiene.py), and the mesh services for signal coverage (engine/audit_coverage.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from provisioner.changes import Action, LiveOrg, LiveResource, Plan, PlannedChange
from provisioner.engine import references
from provisioner.engine.audit_coverage import mesh_coverage
from provisioner.engine.audit_hygiene import (
    MonitorContext,
    duplicate_finding,
    duplicate_groups,
    monitor_findings,
)
from provisioner.engine.audit_types import (
    AuditedResource,
    AuditReport,
    AuditSettings,
    Drift,
    Finding,
    FindingSeverity,
    Ownership,
    Undeployed,
)
from provisioner.engine.metric_gaps import NOT_CHECKED, MetricCheck
from provisioner.engine.plan import compute_plan
from provisioner.engine.resources import RULES, Spec
from provisioner.model import DefinitionSet, ResourceKind
from provisioner.signals import Watch, merged_watch, watch_of_monitor

ChangeIndex = Mapping[tuple[ResourceKind, str], PlannedChange]
SpecIndex = Mapping[tuple[ResourceKind, str], Spec]


def audit_org(
    definitions: DefinitionSet,
    live: LiveOrg,
    namespace: str,
    now: datetime,
    settings: AuditSettings | None = None,
    services: Sequence[str] = (),
    metric_check: MetricCheck = NOT_CHECKED,
) -> AuditReport:
    """``services``: mesh services named outside the definitions (provisioner.yaml ``services``).
    ``metric_check``: the metrics-reporting check of the live monitors, keyed by Datadog id."""
    settings = settings or AuditSettings()
    plan = compute_plan(definitions, live, namespace)
    auditor = _Auditor(definitions, plan, namespace, now, settings, metric_check)
    watches, parts = _watches(live.monitors)
    duplicates = duplicate_groups(live.monitors)
    monitors = tuple(
        auditor.monitor(m, watches[m.datadog_id], duplicates.get(m.datadog_id, ()), m.datadog_id in parts)
        for m in sorted(live.monitors, key=_id_order)
    )
    dashboards = tuple(auditor.resource(d) for d in sorted(live.dashboards, key=_id_order))
    # A composite covers what its parts watch; the parts never notify, so they cover nothing themselves.
    signal_watches = {i: w for i, w in watches.items() if w.signals and i not in parts}
    all_services = sorted(set(definitions.services) | set(services))
    return AuditReport(
        namespace=namespace,
        generated_at=now,
        settings=settings,
        monitors=monitors,
        dashboards=dashboards,
        coverage=mesh_coverage(signal_watches, all_services),
        undeployed=_undeployed(plan),
        warnings=plan.warnings,
        requests=live.requests + metric_check.requests,
        metric_check=metric_check,
    )


def _watches(monitors: Sequence[LiveResource]) -> tuple[dict[int | str, Watch], frozenset[int | str]]:
    """What each monitor watches (a composite: what the monitors it combines watch), and the ids of the
    monitors a composite combines."""
    watches: dict[int | str, Watch] = {m.datadog_id: watch_of_monitor(m.body) for m in monitors}
    parts: set[int | str] = set()
    for monitor in monitors:
        combined = [i for i in references.combined_ids(monitor.body) if i in watches]
        if combined:
            watches[monitor.datadog_id] = merged_watch(watches[i] for i in combined)
            parts.update(combined)
    return watches, frozenset(parts)


class _Auditor:
    def __init__(
        self,
        definitions: DefinitionSet,
        plan: Plan,
        namespace: str,
        now: datetime,
        settings: AuditSettings,
        metric_check: MetricCheck,
    ) -> None:
        self.namespace = namespace
        self.metric_check = metric_check
        self.now = now
        self.settings = settings
        self.changes: ChangeIndex = {
            (c.kind, str(c.datadog_id)): c for c in plan.changes if c.datadog_id is not None
        }
        self.specs: SpecIndex = {("monitor", s.definition_id): s for s in definitions.monitors} | {
            ("dashboard", s.definition_id): s for s in definitions.dashboards
        }

    def monitor(
        self, resource: LiveResource, watch: Watch, duplicates: Sequence[int | str], is_part: bool
    ) -> AuditedResource:
        audited = self.resource(resource)
        context = MonitorContext(resource.body, watch, audited.source, self.now, self.settings, is_part)
        findings = monitor_findings(context) + ((duplicate_finding(duplicates),) if duplicates else ())
        findings += tuple(
            Finding("metric-not-reporting", FindingSeverity.ERROR, gap.message, gap.fix, gap)
            for gap in self.metric_check.gaps_of(str(resource.datadog_id))
        )
        return _replace(
            audited,
            monitor_type=str(resource.body.get("type") or ""),
            overall_state=_str_or_none(resource.body.get("overall_state")),
            signals=tuple(sorted(watch.signals)),
            services=watch.services,
            findings=audited.findings + findings,
        )

    def resource(self, resource: LiveResource) -> AuditedResource:
        mark = RULES[resource.kind].read_mark(resource.body)
        change = self.changes.get((resource.kind, str(resource.datadog_id)))
        base = AuditedResource(resource.kind, resource.datadog_id, resource.title, Ownership.UNMANAGED)
        if mark is None:
            return self._unmanaged(base, change)
        spec = (
            self.specs.get((resource.kind, mark.definition_id)) if mark.namespace == self.namespace else None
        )
        owned = _replace(
            base,
            namespace=mark.namespace,
            definition_id=mark.definition_id,
            source=spec.source if spec else None,
        )
        if mark.namespace != self.namespace:
            return _replace(owned, ownership=Ownership.FOREIGN, note=f"managed by namespace {mark.namespace}")
        if change is None:
            return _replace(owned, ownership=Ownership.IN_SYNC)
        if change.action in (Action.DELETE, Action.REPAIR):
            return self._orphaned(owned, change)
        drift = Drift(change.action, change.changes, change.note)
        return _replace(
            owned, ownership=Ownership.DRIFTED, drift=drift, findings=(_drift_finding(owned, drift),)
        )

    def _unmanaged(self, base: AuditedResource, change: PlannedChange | None) -> AuditedResource:
        if change is not None and change.action is Action.ADOPT:
            note = f"definition {change.definition_id} adopts it on the next apply"
            finding = Finding("adopt-pending", FindingSeverity.INFO, note, "run `provisioner apply`")
            return _replace(
                base, definition_id=change.definition_id, source=change.source, note=note, findings=(finding,)
            )
        return _replace(base, findings=(_unmanaged_finding(base),))

    def _orphaned(self, owned: AuditedResource, change: PlannedChange) -> AuditedResource:
        if change.action is Action.REPAIR:  # its definition exists: an older copy holds it
            message = f"a second copy of definition {owned.definition_id} ({change.note})"
            fix = "`provisioner apply` deletes this copy and keeps the older one"
        else:
            message = f"carries the mark of definition {owned.definition_id}, which is not in the definitions"
            fix = "restore the definition in git, or delete it with `provisioner apply --prune`"
        finding = Finding("orphaned", FindingSeverity.WARNING, message, fix)
        return _replace(owned, ownership=Ownership.ORPHANED, note=change.note, findings=(finding,))


def _drift_finding(owned: AuditedResource, drift: Drift) -> Finding:
    fields = ", ".join(f.pointer for f in drift.fields) or "provisioner's marks"
    where = f"{owned.source.path}:{owned.source.line}" if owned.source else "its definition"
    if drift.action is Action.UPDATE:
        return Finding(
            "not-applied",
            FindingSeverity.INFO,
            f"changed in code, not applied yet: {fields}" if drift.fields else drift.note,
            "run `provisioner apply`",
        )
    if drift.action is Action.CONFLICT:
        message = f"changed in code and by hand in Datadog: {fields}"
    else:
        message = f"changed by hand in Datadog: {fields}"
    return Finding(
        "drift",
        FindingSeverity.WARNING,
        message,
        f"`provisioner apply` reverts it; to keep the change, copy it into {where} first",
    )


def _unmanaged_finding(base: AuditedResource) -> Finding:
    option = "--id" if base.kind == "monitor" else "--dashboard"
    return Finding(
        "unmanaged",
        FindingSeverity.INFO,
        "not managed in git",
        f"bring it under code with `provisioner import {option} {base.datadog_id}` (or `--all-unmanaged`)"
        if base.kind == "monitor"
        else f"bring it under code with `provisioner import {option} {base.datadog_id}`",
    )


def _undeployed(plan: Plan) -> tuple[Undeployed, ...]:
    return tuple(
        Undeployed(c.kind, c.definition_id, c.title, c.source)
        for c in plan.changes
        if c.action is Action.CREATE
    )


def _replace(resource: AuditedResource, **changes: object) -> AuditedResource:
    return replace(resource, **changes)  # type: ignore[arg-type]


def _str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def _id_order(resource: LiveResource) -> tuple[int, str]:
    datadog_id = resource.datadog_id
    return (0, f"{datadog_id:020d}") if isinstance(datadog_id, int) else (1, str(datadog_id))
