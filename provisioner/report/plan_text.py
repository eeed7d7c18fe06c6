"""A plan for a terminal: grouped by action, field-level differences, coloured when asked."""

from __future__ import annotations

import json
from collections.abc import Callable

from provisioner.model import Action, FieldChange, Json, Plan, PlannedChange

Style = Callable[[str, str], str]  # (text, colour) -> text

SYMBOL = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.ADOPT: "&",
    Action.DRIFT: "!",
    Action.CONFLICT: "!!",
    Action.REPAIR: "x",
    Action.DELETE: "-",
}
COLOUR = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.ADOPT: "cyan",
    Action.DRIFT: "magenta",
    Action.CONFLICT: "red",
    Action.REPAIR: "yellow",
    Action.DELETE: "red",
}
HEADING = {
    Action.CREATE: "To create (new in code)",
    Action.UPDATE: "To update (changed in code)",
    Action.ADOPT: "To adopt (existing in Datadog, taken over in place)",
    Action.DRIFT: "Drift (changed by hand in Datadog; apply reverts it unless kept)",
    Action.CONFLICT: "Conflicts (changed in code and by hand; apply makes Datadog match the code)",
    Action.REPAIR: "To repair (second copies of one definition; apply deletes them, the oldest stays)",
    Action.DELETE: "To delete (removed from code; only with --prune)",
}
ORIGIN = {"code": "code", "datadog": "by hand", "both": "code and by hand", "unknown": "unknown"}


def _plain(text: str, _colour: str) -> str:
    return text


def render_text(plan: Plan, style: Style = _plain) -> str:
    lines: list[str] = []
    for action in HEADING:
        group = [c for c in plan.changes if c.action is action]
        if not group:
            continue
        lines.append(style(f"{HEADING[action]}: {len(group)}", COLOUR[action]))
        for change in group:
            lines.extend(_change_lines(change, style))
        lines.append("")
    lines.extend(f"warning: {w}" for w in plan.warnings)
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"


def _change_lines(change: PlannedChange, style: Style) -> list[str]:
    head = f"  {SYMBOL[change.action]} {change.kind} {change.definition_id}"
    if change.datadog_id is not None:
        head += f" ({change.datadog_id})"
    if change.title:
        head += f"  {json.dumps(change.title, ensure_ascii=False)}"
    lines = [style(head, COLOUR[change.action])]
    details = [change.note] if change.note else []
    if change.source:
        details.append(f"{change.source.path}:{change.source.line}")
    if change.live_modified and change.action in (Action.DRIFT, Action.CONFLICT):
        details.append(f"modified in Datadog {change.live_modified}")
    if change.keep_drift and change.action in (Action.DRIFT, Action.CONFLICT):
        details.append("keep-drift: hand edits stay")
    if details:
        lines.append(f"      ({'; '.join(details)})")
    lines.extend(f"      {line}" for f in change.changes for line in field_lines(f, change.action))
    return lines


def field_lines(change: FieldChange, action: Action) -> list[str]:
    live = _show(change.old, change.old_present)
    desired = _show(change.new, change.new_present)
    if action is Action.CREATE:
        return []
    origin = f"  [{ORIGIN[change.origin]}]" if action in (Action.DRIFT, Action.CONFLICT) else ""
    return [f"{change.pointer}: {live} → {desired}{origin}"]


def _show(value: Json, present: bool) -> str:
    if not present:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def summary_line(plan: Plan) -> str:
    if not plan.changes:
        return f"No changes. {plan.unchanged} managed resources in sync (namespace {plan.namespace})."
    parts = [f"{plan.count(a)} {label}" for a, label in _SUMMARY_LABELS if plan.count(a)]
    return f"Plan: {', '.join(parts)}; {plan.unchanged} unchanged (namespace {plan.namespace})."


_SUMMARY_LABELS = (
    (Action.CREATE, "to create"),
    (Action.UPDATE, "to update"),
    (Action.ADOPT, "to adopt"),
    (Action.DRIFT, "drifted"),
    (Action.CONFLICT, "in conflict"),
    (Action.REPAIR, "duplicates to repair"),
    (Action.DELETE, "to delete (with --prune)"),
)
