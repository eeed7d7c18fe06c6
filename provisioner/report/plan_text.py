"""A plan for a terminal: grouped by action, field-level differences, coloured when asked."""

from __future__ import annotations

import json

from provisioner.changes import Action, FieldChange, Plan, PlannedChange
from provisioner.engine.remote_validate import RemoteValidation
from provisioner.model import Json
from provisioner.report import metric_check
from provisioner.report.colour import Style, plain
from provisioner.report.plan_context import PlanContext
from provisioner.report.value_diff import Shape, compact_json, line_diff, shape_of, token_pieces

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


def render_text(plan: Plan, style: Style = plain, context: PlanContext = PlanContext()) -> str:
    lines: list[str] = []
    for action in HEADING:
        group = [c for c in plan.changes if c.action is action]
        if not group:
            continue
        lines.append(style(f"{HEADING[action]}: {len(group)}", COLOUR[action]))
        for change in group:
            lines.extend(_change_lines(change, style, context))
        lines.append("")
    lines.extend(f"warning: {w}" for w in plan.warnings)
    lines.extend(metric_check.finding_warning(f) for f in metric_check.findings(context.metric_check))
    verdict = validation_line(context.validation)
    if verdict:
        lines.append(style(verdict, "red") if context.validation.rejections else verdict)
    lines.extend(unasked_lines(context.validation))
    checked = metric_check.summary_line(context.metric_check)
    if checked:
        lines.append(checked)
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"


def _change_lines(change: PlannedChange, style: Style, context: PlanContext) -> list[str]:
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
    url = context.url(change)
    if url:
        lines.append(f"      in Datadog: {url}")
    rejection = context.rejection(change)
    if rejection:
        lines.append("      " + style(f"✗ Datadog rejects this monitor: {rejection.message}", "red"))
    lines.extend(f"      {line}" for f in change.changes for line in field_lines(f, change.action, style))
    return lines


def field_lines(change: FieldChange, action: Action, style: Style = plain) -> list[str]:
    """One field's change: old → new, the changed tokens of a long string, or a line diff."""
    if action is Action.CREATE:
        return []
    origin = f"  [{ORIGIN[change.origin]}]" if action in (Action.DRIFT, Action.CONFLICT) else ""
    shape = shape_of(change)
    if shape is Shape.LINES:
        head = f"{change.pointer}: (- in Datadog, + in code){origin}"
        return [head, *(f"  {_diff_line(line, style)}" for line in line_diff(change.old, change.new))]
    if shape is Shape.TOKENS:
        return [f"{change.pointer}: {marked_tokens(change.old, change.new, style)}{origin}"]
    live = _show(change.old, change.old_present)
    desired = _show(change.new, change.new_present)
    return [f"{change.pointer}: {live} → {desired}{origin}"]


def marked_tokens(old: str, new: str, style: Style = plain) -> str:
    """One line: unchanged text as it is, ``[-removed-]`` and ``{+added+}`` (GNU wdiff's marks)."""
    marks = {
        "same": lambda t: t,
        "old": lambda t: style(f"[-{t}-]", "red"),
        "new": lambda t: style(f"{{+{t}+}}", "green"),
    }
    return "".join(marks[piece.side](piece.text) for piece in token_pieces(old, new))


def _diff_line(line: str, style: Style) -> str:
    colour = {"-": "red", "+": "green", "@": "cyan"}.get(line[:1])
    return style(line, colour) if colour else line


def _show(value: Json, present: bool) -> str:
    """One value alone (the other side is absent or short): whole when short, else cut."""
    if not present:
        return "(absent)"
    text = compact_json(value)
    return text if len(text) <= 200 else text[:197] + "..."


def validation_line(validation: RemoteValidation) -> str:
    """Datadog's verdict on the monitors the plan writes; "" when it was not asked or nothing needed it."""
    if validation.rejections:
        count = len(validation.rejections)
        return f"error: Datadog rejects {_monitors(count)} of this plan (✗ above); apply would fail on them."
    if validation.checked and validation.unasked:
        return f"Datadog accepts the {_monitors(validation.checked)} of this plan it could judge."
    if validation.checked:
        which = "the monitor" if validation.checked == 1 else f"all {validation.checked} monitors"
        return f"Datadog accepts {which} this plan creates or changes in query, type or options."
    return ""


def unasked_lines(validation: RemoteValidation) -> list[str]:
    """What Datadog did not judge: one informational line for the composites whose monitors apply creates
    first (expected: apply writes them after those monitors, and Datadog judges them then), one warning for
    the monitors whose validation Datadog refused (a permission of the key)."""
    lines = []
    waiting = sum(1 for u in validation.unasked if not u.forbidden)
    if waiting:
        lines.append(
            f"{_composites(waiting)} checked locally (grammar, references); Datadog judges each when apply "
            "creates it, after the monitors it combines."
        )
    forbidden = [u for u in validation.unasked if u.forbidden]
    if forbidden:
        names = ", ".join(u.change.definition_id for u in forbidden[:5]) + (
            ", ..." if len(forbidden) > 5 else ""
        )
        lines.append(
            f"warning: Datadog refused to validate {_monitors(len(forbidden))} ({names}; {forbidden[0].reason}): "
            "the application key lacks a permission validation needs (Datadog asks for an unscoped "
            "application key to validate log monitors); they were not checked"
        )
    return lines


def _composites(count: int) -> str:
    return "1 composite is" if count == 1 else f"{count} composites are"


def _monitors(count: int) -> str:
    return f"{count} monitor" if count == 1 else f"{count} monitors"


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
