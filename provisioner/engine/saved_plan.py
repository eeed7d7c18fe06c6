"""A saved plan, checked against the org as it is now: only what the reviewer saw is applied.

Every change in a saved plan records what its resource looked like when the plan was made (its
Datadog id and ``modified`` time; for a repair, also the copy that stays). Before anything is sent,
the org is read again; a change whose resource changed since (edited, deleted, or, for a create,
made meanwhile; for a repair, the copy that was to stay is gone) is refused, the others are carried
out exactly as planned, composites with the current Datadog ids of the monitors they combine.
Datadog has no conditional write, so a hand edit in the second between this check and the write
itself is not caught; the next plan shows it as drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from provisioner.engine import references
from provisioner.engine.resources import RULES
from provisioner.model import Action, LiveOrg, LiveResource, Outcome, Plan, PlannedChange


@dataclass(frozen=True)
class GuardedPlan:
    plan: Plan  # the changes that still hold, with the live bodies they will be applied over
    refused: tuple[Outcome, ...]  # one failed outcome per change that no longer holds


def dashboards_in(plan: Plan) -> Callable[[LiveResource], bool]:
    """Which dashboard summaries to read whole: those the plan changes."""
    ids = {str(c.datadog_id) for c in plan.changes if c.kind == "dashboard" and c.datadog_id is not None}
    return lambda summary: str(summary.datadog_id) in ids


def guard_saved_plan(plan: Plan, live: LiveOrg) -> GuardedPlan:
    by_id = {(r.kind, str(r.datadog_id)): r for r in (*live.monitors, *live.dashboards)}
    marked = _marked_definitions(live, plan.namespace)
    kept: list[PlannedChange] = []
    refused: list[Outcome] = []
    for change in plan.changes:
        if change.action is Action.CREATE:
            existing = marked.get((change.kind, change.definition_id))
            reason = (
                f"{existing.datadog_id} was created in Datadog since the plan was made" if existing else ""
            )
            current = None
        else:
            current = by_id.get((change.kind, str(change.datadog_id)))
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
    # Composites get the Datadog ids of the monitors they combine from the org as it is now: a saved plan
    # that changes a composite alone does not carry its parts.
    monitor_ids = references.live_ids(live.monitors, plan.namespace)
    return GuardedPlan(replace(plan, changes=tuple(kept), monitor_ids=monitor_ids), tuple(refused))


def _changed_since(change: PlannedChange, current: LiveResource | None) -> str:
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


def _marked_definitions(live: LiveOrg, namespace: str) -> dict[tuple[str, str], LiveResource]:
    marked: dict[tuple[str, str], LiveResource] = {}
    for resource in (*live.monitors, *live.dashboards):
        mark = RULES[resource.kind].read_mark(resource.body)
        if mark is not None and mark.namespace == namespace:
            marked.setdefault((resource.kind, mark.definition_id), resource)
    return marked
