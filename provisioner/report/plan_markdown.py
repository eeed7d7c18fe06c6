"""A plan as a pull-request comment: a summary table, then one collapsible section per resource.

GitHub rejects comments over 65,536 characters; the plan stops adding sections before that and
says how many it left out, so a huge plan still posts.
"""

from __future__ import annotations

import json

from provisioner.model import Action, FieldChange, Plan, PlannedChange
from provisioner.report.plan_text import HEADING, ORIGIN, summary_line

GITHUB_COMMENT_LIMIT = 65_536
_RESERVED = 2_000  # room for the closing note and for a sticky-comment marker added later

_EMOJI = {
    Action.CREATE: "🟢",
    Action.UPDATE: "🟡",
    Action.ADOPT: "🔵",
    Action.DRIFT: "🟣",
    Action.CONFLICT: "🔴",
    Action.REPAIR: "🧹",
    Action.DELETE: "⛔",
}


def render_markdown(plan: Plan, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    head = [f"### provisioner plan · namespace `{plan.namespace}`", "", summary_line(plan), ""]
    if plan.changes:
        head += ["| | action | resources |", "|---|---|---|"]
        head += [f"| {_EMOJI[a]} | {HEADING[a]} | {plan.count(a)} |" for a in HEADING if plan.count(a)]
        head.append("")
    head += [f"> ⚠️ {w}" for w in plan.warnings]
    text = "\n".join(head) + "\n"
    budget = limit - _RESERVED
    shown = 0
    for change in plan.changes:
        section = _section(change)
        if len(text) + len(section) > budget:
            break
        text += section
        shown += 1
    left_out = len(plan.changes) - shown
    if left_out:
        text += (
            f"\n> ✂️ **Plan cut**: {left_out} of {len(plan.changes)} changes are not shown, to stay under "
            f"GitHub's {GITHUB_COMMENT_LIMIT:,}-character comment limit. The full plan is in the build "
            "artifact (`provisioner plan --format text` or `--format json`).\n"
        )
    return text


def _section(change: PlannedChange) -> str:
    ident = f"`{change.definition_id}`" + (f" ({change.datadog_id})" if change.datadog_id is not None else "")
    title = f" — {_escape(change.title)}" if change.title else ""
    summary = f"{_EMOJI[change.action]} <b>{change.action.value}</b> {change.kind} {ident}{title}"
    lines = [f"<details><summary>{summary}</summary>", ""]
    facts = [change.note] if change.note else []
    if change.source:
        facts.append(f"`{change.source.path}:{change.source.line}`")
    if change.live_modified and change.action in (Action.DRIFT, Action.CONFLICT):
        facts.append(f"modified in Datadog {change.live_modified}")
    if facts:
        lines += [" · ".join(facts), ""]
    if change.action is Action.CREATE and change.body is not None:
        lines += ["```json", json.dumps(change.body, indent=2, ensure_ascii=False), "```", ""]
    elif change.changes:
        lines += ["| field | in Datadog | in code | changed by |", "|---|---|---|---|"]
        lines += [_row(f) for f in change.changes]
        lines.append("")
    lines += ["</details>", ""]
    return "\n".join(lines)


def _row(field: FieldChange) -> str:
    live = code_cell(field.old, field.old_present)
    desired = code_cell(field.new, field.new_present)
    return f"| `{field.pointer}` | {live} | {desired} | {ORIGIN[field.origin]} |"


def code_cell(value: object, present: bool, limit: int = 300) -> str:
    """A JSON value as inline code that is safe inside a markdown table cell."""
    if not present:
        return "_absent_"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return "`" + text.replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"


def _escape(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")
