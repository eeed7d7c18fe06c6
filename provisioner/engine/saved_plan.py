"""A saved plan, checked against the org as it is now: only what the reviewer saw is applied.

Every change in a saved plan records what its resource looked like when the plan was made (its
Datadog id and ``modified`` time; for a repair, also the copy that stays). Before anything is sent,
the org is read again, and each change falls in one of three:

- already applied: its resource now is what the plan writes (a create or update whose live body is
  the planned one, compared as a plan compares; a delete or repair whose copy is gone), as when the
  plan is applied a second time after a partial failure. It is reported, not sent again.
- refused: its resource changed since in another way (edited, deleted, or, for a create, made
  meanwhile with another body; for a repair, the copy that was to stay is gone).
- the others are carried out exactly as planned, composites with the current Datadog ids of the
  monitors they combine.

Datadog has no conditional write, so a hand edit in the second between this check and the write
itself is not caught; the next plan shows it as drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from provisioner.changes import Action, LiveOrg, LiveResource, Outcome, Plan, PlannedChange
from provisioner.engine import references
from provisioner.engine.resources import RULES

_REMOVALS = frozenset({Action.DELETE, Action.REPAIR})


@dataclass(frozen=True)
class GuardedPlan:
    plan: Plan  # the changes that still hold, with the live bodies they will be applied over
    refused: tuple[Outcome, ...] = ()  # one failed outcome per change that no longer holds
    applied: tuple[Outcome, ...] = ()  # one skipped outcome per change already carried out


def dashboards_in(plan: Plan) -> Callable[[LiveResource], bool]:
    """Which dashboard summaries to read whole: those the plan changes, and those carrying the mark of a
    dashboard it creates (to tell whether the create was carried out already)."""
    ids = {str(c.datadog_id) for c in plan.changes if c.kind == "dashboard" and c.datadog_id is not None}
    created = {c.definition_id for c in plan.changes if c.kind == "dashboard" and c.action is Action.CREATE}

    def wanted(summary: LiveResource) -> bool:
        if str(summary.datadog_id) in ids:
            return True
        mark = RULES["dashboard"].read_mark(summary.body)
        return mark is not None and mark.namespace == plan.namespace and mark.definition_id in created

    return wanted


def guard_saved_plan(plan: Plan, live: LiveOrg) -> GuardedPlan:
    # Composites get the Datadog ids of the monitors they combine from the org as it is now: a saved plan
    # that changes a composite alone does not carry its parts.
    monitor_ids = references.live_ids(live.monitors, plan.namespace)
    resources = (*references.desired_form(live.monitors, monitor_ids), *live.dashboards)
    by_id = {(r.kind, str(r.datadog_id)): r for r in resources}
    marked = _marked_definitions(resources, plan.namespace)
    kept: list[PlannedChange] = []
    refused: list[Outcome] = []
    applied: list[Outcome] = []
    for change in plan.changes:
        if change.action is Action.CREATE:
            current = marked.get((change.kind, change.definition_id))
        else:
            current = by_id.get((change.kind, str(change.datadog_id)))
        done = _already_applied(change, current)
        if done:
            applied.append(Outcome(change, "skipped", done.datadog_id, f"already applied: {done.message}"))
            continue
        reason = _changed_since(change, current)
        if not reason and change.action is Action.REPAIR:
            reason = _kept_copy_gone(
                change, by_id.get((change.kind, str(change.kept_datadog_id))), plan.namespace
            )
        if reason:
            refused.append(Outcome(change, "failed", change.datadog_id, f"refused: {reason}; plan again"))
        elif current is None:
            kept.append(change)
        else:
            kept.append(replace(change, live_body=RULES[change.kind].strip_marks(current.body)))
    return GuardedPlan(
        replace(plan, changes=tuple(kept), monitor_ids=monitor_ids), tuple(refused), tuple(applied)
    )


@dataclass(frozen=True)
class _Done:
    datadog_id: int | str | None
    message: str


def _already_applied(change: PlannedChange, current: LiveResource | None) -> _Done | None:
    """How the org already shows this change carried out, if it does."""
    if change.action in _REMOVALS:
        return _Done(change.datadog_id, "deleted") if current is None else None
    if current is None or change.body is None or not current.complete:
        return None
    if not RULES[change.kind].is_written(current.body, change.body):
        return None
    if change.action is Action.CREATE:
        return _Done(current.datadog_id, f"created as {current.datadog_id}")
    return _Done(current.datadog_id, "Datadog has the planned body")


def _changed_since(change: PlannedChange, current: LiveResource | None) -> str:
    if change.action is Action.CREATE:
        return f"{current.datadog_id} was created in Datadog since the plan was made" if current else ""
    if current is None:
        return "it was deleted in Datadog since the plan was made"
    if current.modified != change.live_modified:
        return (
            f"it changed in Datadog since the plan was made (modified {current.modified}; the plan saw "
            f"{change.live_modified})"
        )
    return ""


def _kept_copy_gone(change: PlannedChange, kept: LiveResource | None, namespace: str) -> str:
    """Why deleting this copy could delete the last one: the copy the plan keeps is gone, or no longer
    carries this definition's mark."""
    if change.kept_datadog_id is None:
        return "the plan does not say which copy stays"
    mark = RULES[change.kind].read_mark(kept.body) if kept is not None else None
    if mark is None or (mark.namespace, mark.definition_id) != (namespace, change.definition_id):
        return f"the copy that was to stay, {change.kept_datadog_id}, is no longer in Datadog as this definition's"
    return ""


def _marked_definitions(
    resources: tuple[LiveResource, ...], namespace: str
) -> dict[tuple[str, str], LiveResource]:
    marked: dict[tuple[str, str], LiveResource] = {}
    for resource in resources:
        mark = RULES[resource.kind].read_mark(resource.body)
        if mark is not None and mark.namespace == namespace:
            marked.setdefault((resource.kind, mark.definition_id), resource)
    return marked
