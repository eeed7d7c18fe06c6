"""Pure planning: (desired definitions, live org) → Plan. No I/O.

Each managed resource is compared in canonical form. Where they differ, the fingerprint the
resource carries (what was last applied, per field group) says who moved: the code (update),
somebody in Datadog (drift), or both (conflict). When two resources carry one definition's mark,
the oldest is the managed one and every other copy is a repair (deleted without --prune).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from provisioner import identity
from provisioner.changes import Action, FieldChange, LiveOrg, LiveResource, Plan, PlannedChange
from provisioner.engine import references
from provisioner.engine.diff import diff_bodies
from provisioner.engine.duplicates import oldest_first
from provisioner.engine.resources import DASHBOARD_RULES, MONITOR_RULES, KindRules, Spec
from provisioner.model import DefinitionSet, JsonObject
from provisioner.normalize import Canonical, unknown_fields

_ACTION_ORDER = {a: i for i, a in enumerate(Action)}


def compute_plan(definitions: DefinitionSet, live: LiveOrg, namespace: str, keep_drift: bool = False) -> Plan:
    changes: list[PlannedChange] = []
    unchanged = managed = 0
    warnings: list[str] = []
    monitor_marks = _marks(MONITOR_RULES, live.monitors)
    monitor_ids = references.live_ids(live.monitors, namespace, definitions.monitors, monitor_marks)
    # Composites are compared with @{definition id} on both sides, wherever a query names a Datadog id.
    live_monitors = references.desired_form(live.monitors, monitor_ids)
    desired_monitors = references.referenced_form(definitions.monitors, monitor_ids)
    for rules, specs, resources, marks in (
        (MONITOR_RULES, desired_monitors, live_monitors, monitor_marks),
        (DASHBOARD_RULES, definitions.dashboards, live.dashboards, _marks(DASHBOARD_RULES, live.dashboards)),
    ):
        kind_plan = _KindPlanner(rules, namespace, keep_drift, marks).plan(specs, resources)
        changes.extend(kind_plan.changes)
        unchanged += kind_plan.unchanged
        managed += kind_plan.managed
        warnings.extend(kind_plan.warnings)
    changes.sort(key=lambda c: (_ACTION_ORDER[c.action], c.kind, c.definition_id, str(c.datadog_id)))
    return Plan(namespace, tuple(changes), unchanged, managed, tuple(warnings), monitor_ids)


def _marks(rules: KindRules, resources: Sequence[LiveResource]) -> dict[int | str, identity.Mark | None]:
    """Each live resource's mark by Datadog id, read once (the marker line is found by a regex)."""
    return {resource.datadog_id: rules.read_mark(resource.body) for resource in resources}


class _KindPlanner:
    def __init__(
        self,
        rules: KindRules,
        namespace: str,
        keep_drift: bool,
        marks: Mapping[int | str, identity.Mark | None],
    ) -> None:
        self.rules = rules
        self.namespace = namespace
        self.keep_drift = keep_drift
        self.marks = marks
        self.changes: list[PlannedChange] = []
        self.unchanged = 0
        self.managed = 0
        self.warnings: list[str] = []

    def plan(self, specs: Sequence[Spec], resources: Sequence[LiveResource]) -> _KindPlanner:
        claimed, unmarked = self._partition(resources)
        self.managed = sum(len(v) for v in claimed.values())
        canonicals: list[Canonical] = []
        wanted = {spec.definition_id for spec in specs}
        for spec in specs:
            owners = claimed.get(spec.definition_id, [])
            if owners:
                canonicals.append(self._compare(spec, owners[0]))
            else:
                self._create_or_adopt(spec, unmarked)
        for definition_id, owners in sorted(claimed.items()):
            if definition_id not in wanted:
                for resource in owners:
                    self._add(Action.DELETE, definition_id, resource, note="removed from code")
                continue
            for resource in owners[1:]:
                note = f"second copy of this definition: {owners[0].datadog_id} is older and stays"
                self._add(Action.REPAIR, definition_id, resource, note=note, kept=owners[0].datadog_id)
        fields = unknown_fields(canonicals)
        if fields:
            self.warnings.append(
                f"Datadog returned {self.rules.kind} fields provisioner does not know and does not compare: "
                + ", ".join(fields)
            )
        return self

    def _partition(
        self, resources: Sequence[LiveResource]
    ) -> tuple[dict[str, list[LiveResource]], list[LiveResource]]:
        claimed: dict[str, list[LiveResource]] = defaultdict(list)
        unmarked: list[LiveResource] = []
        for resource in resources:
            mark = self.marks[resource.datadog_id]
            if mark is None:
                unmarked.append(resource)
            elif mark.namespace == self.namespace:
                claimed[mark.definition_id].append(resource)
        return {definition_id: oldest_first(owners) for definition_id, owners in claimed.items()}, unmarked

    def _compare(self, spec: Spec, resource: LiveResource) -> Canonical:
        desired = self.rules.desired_canonical(spec)
        live = self.rules.live_canonical(resource.body, desired)
        fingerprint = identity.spec_fingerprint(spec, desired)
        mark = self.marks[resource.datadog_id]
        fields = () if live.body == desired else diff_bodies(live.body, desired)
        if not fields:
            if self.rules.marks_complete(mark, fingerprint):
                self.unchanged += 1
            else:
                self._add(
                    Action.UPDATE, spec.definition_id, resource, spec, note="restore provisioner's marks"
                )
            return live
        recorded = identity.fingerprint_digests(self.rules.kind, mark.fingerprint if mark else None)
        attributed = tuple(self._attribute(f, desired, live.body, recorded) for f in fields)
        self._add(_action_for(attributed), spec.definition_id, resource, spec, attributed)
        return live

    def _attribute(
        self, change: FieldChange, desired: JsonObject, live: JsonObject, recorded: dict[str, str] | None
    ) -> FieldChange:
        if recorded is None:
            return _with_origin(change, "unknown")
        kind = self.rules.kind
        group = identity.group_of(kind, change.pointer)
        if group not in recorded:
            return _with_origin(change, "unknown")
        code = identity.group_digest(kind, desired, group) != recorded[group]
        by_hand = identity.group_digest(kind, live, group) != recorded[group]
        origin = {(True, False): "code", (False, True): "datadog", (True, True): "both"}.get((code, by_hand))
        return _with_origin(change, origin or "unknown")

    def _create_or_adopt(self, spec: Spec, unmarked: list[LiveResource]) -> None:
        target = self._adoption_target(spec, unmarked)
        if target is None:
            self._add(Action.CREATE, spec.definition_id, None, spec)
            return
        unmarked.remove(target)
        desired = self.rules.desired_canonical(spec)
        fields = diff_bodies(self.rules.live_canonical(target.body, desired).body, desired)
        note = "take over in place: same Datadog id, provisioner's marks added"
        self._add(Action.ADOPT, spec.definition_id, target, spec, fields, note=note)

    def _adoption_target(self, spec: Spec, unmarked: list[LiveResource]) -> LiveResource | None:
        if spec.adopt_id is not None:
            return next((r for r in unmarked if str(r.datadog_id) == str(spec.adopt_id)), None)
        if self.rules.kind != "dashboard":
            return None
        # A dashboard has one mark only (Datadog allows no free tags on dashboards): when its
        # marker was removed by hand, an unmarked dashboard with the same title is taken back.
        title = spec.body.get(self.rules.title_field)
        same_title = [r for r in unmarked if r.title == title]
        return same_title[0] if len(same_title) == 1 else None

    def _add(
        self,
        action: Action,
        definition_id: str,
        resource: LiveResource | None,
        spec: Spec | None = None,
        fields: Sequence[FieldChange] = (),
        note: str = "",
        kept: int | str | None = None,
    ) -> None:
        title = (
            str(spec.body.get(self.rules.title_field, "")) if spec else (resource.title if resource else "")
        )
        self.changes.append(
            PlannedChange(
                kind=self.rules.kind,
                action=action,
                definition_id=definition_id,
                title=title,
                datadog_id=resource.datadog_id if resource else None,
                changes=tuple(fields),
                body=self.rules.marked_body(spec, self.namespace) if spec else None,
                live_body=self.rules.strip_marks(resource.body) if resource else None,
                live_modified=resource.modified if resource else None,
                source=spec.source if spec else None,
                keep_drift=self.keep_drift or bool(spec and spec.keep_drift),
                note=note,
                kept_datadog_id=kept,
            )
        )


def _action_for(fields: Sequence[FieldChange]) -> Action:
    origins = {f.origin for f in fields}
    if origins == {"code"}:
        return Action.UPDATE
    if "code" in origins or "both" in origins:
        return Action.CONFLICT
    return Action.DRIFT


def _with_origin(change: FieldChange, origin: str) -> FieldChange:
    return FieldChange(
        change.pointer,
        change.old,
        change.new,
        change.old_present,
        change.new_present,
        origin,  # type: ignore[arg-type]
    )
