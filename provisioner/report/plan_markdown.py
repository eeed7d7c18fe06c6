"""A plan as a pull-request comment: a summary table, then one collapsible section per resource.

GitHub rejects comments over 65,536 characters (counted as ``github.body.github_length`` does); the
plan stops adding sections before that and says how many it left out and where the whole plan is, so
a huge plan still posts.
"""

from __future__ import annotations

import json
import re

from provisioner.changes import Action, FieldChange, Plan, PlannedChange
from provisioner.github.body import GITHUB_BODY_LIMIT, github_length
from provisioner.report import metric_check
from provisioner.report.plan_context import PlanContext
from provisioner.report.plan_text import HEADING, ORIGIN, summary_line, unasked_lines, validation_line
from provisioner.report.value_diff import Piece, Shape, compact_json, line_diff, shape_of, token_pieces

GITHUB_COMMENT_LIMIT = GITHUB_BODY_LIMIT
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


def render_markdown(
    plan: Plan, limit: int = GITHUB_COMMENT_LIMIT, context: PlanContext = PlanContext()
) -> str:
    head = [f"### provisioner plan · namespace `{plan.namespace}`", "", summary_line(plan), ""]
    if plan.changes:
        head += ["| | action | resources |", "|---|---|---|"]
        head += [f"| {_EMOJI[a]} | {HEADING[a]} | {plan.count(a)} |" for a in HEADING if plan.count(a)]
        head.append("")
    verdict = validation_line(context.validation)
    if verdict:
        head += [f"> {'❌' if context.validation.rejections else '✅'} {verdict.removeprefix('error: ')}", ""]
    unasked = unasked_lines(context.validation)
    if unasked:
        head += [_quoted(line) for line in unasked] + [""]
    head += [f"> ⚠️ {w}" for w in plan.warnings]
    checked = metric_check.summary_line(context.metric_check)
    if checked:
        sign = "⚠️ " if context.metric_check.monitors or context.metric_check.status == "failed" else ""
        head += ([""] if head[-1] else []) + [f"> {sign}{checked.removeprefix('warning: ')}", ""]
    head += metric_check.markdown_section(context.metric_check)
    text = "\n".join(head) + "\n"
    budget = limit - _RESERVED
    used = github_length(text)
    shown = 0
    for change in plan.changes:
        section = _section(change, context)
        used += github_length(section)
        if used > budget:
            break
        text += section
        shown += 1
    left_out = len(plan.changes) - shown
    if left_out:
        text += (
            f"\n> ✂️ **Plan cut**: {left_out} of {len(plan.changes)} changes are not shown, to stay under "
            f"GitHub's {GITHUB_COMMENT_LIMIT:,}-character comment limit. The whole plan: `plan.json` in this "
            "run's artifact (the plan workflow saves it with `--save-plan`), or `provisioner plan` (text) "
            "and `provisioner plan --format json`.\n"
        )
    return text


def _quoted(line: str) -> str:
    """A line of the text report as a quote: a warning with ⚠️, a note without."""
    if line.startswith("warning: "):
        return f"> ⚠️ {line.removeprefix('warning: ')}"
    return f"> {line}"


def _section(change: PlannedChange, context: PlanContext) -> str:
    ident = f"`{change.definition_id}`" + (f" ({change.datadog_id})" if change.datadog_id is not None else "")
    title = f" — {_escape(change.title)}" if change.title else ""
    summary = f"{_EMOJI[change.action]} <b>{change.action.value}</b> {change.kind} {ident}{title}"
    rejection = context.rejection(change)
    opening = "<details open>" if rejection else "<details>"
    lines = [f"{opening}<summary>{summary}</summary>", ""]
    facts = [change.note] if change.note else []
    if change.source:
        facts.append(f"`{change.source.path}:{change.source.line}`")
    url = context.url(change)
    if url:
        facts.append(f"[view in Datadog]({url})")
    if change.live_modified and change.action in (Action.DRIFT, Action.CONFLICT):
        facts.append(f"modified in Datadog {change.live_modified}")
    if facts:
        lines += [" · ".join(facts), ""]
    if rejection:
        lines += [f"> ❌ **Datadog rejects this monitor**: {_html(rejection.message)}", ""]
    if change.action is Action.CREATE and change.body is not None:
        lines += ["```json", json.dumps(change.body, indent=2, ensure_ascii=False), "```", ""]
    elif change.changes:
        lines += ["| field | in Datadog | in code | changed by |", "|---|---|---|---|"]
        lines += [_row(f) for f in change.changes]
        lines.append("")
        lines += [line for f in change.changes if shape_of(f) is Shape.LINES for line in _diff_block(f)]
    lines += ["</details>", ""]
    return "\n".join(lines)


def _row(field: FieldChange) -> str:
    if shape_of(field) is Shape.LINES:
        live = desired = "_line diff below_"
    else:
        live, desired = field_cells(field)
    return f"| `{field.pointer}` | {live} | {desired} | {ORIGIN[field.origin]} |"


def field_cells(field: FieldChange, limit: int = 300) -> tuple[str, str]:
    """The live and desired values as table cells. Long values show the changed tokens marked
    (struck out in Datadog's, underlined in the code's) around the text next to them, never two
    truncated copies that look the same."""
    shape = shape_of(field)
    if shape is Shape.INLINE:
        return code_cell(field.old, field.old_present, limit), code_cell(field.new, field.new_present, limit)
    old, new = field.old, field.new
    if shape is Shape.LINES:  # one line each in a table cell: mark the tokens of their JSON
        old, new = compact_json(old), compact_json(new)
    pieces = token_pieces(old, new)
    return _marked_cell(pieces, "old", "del"), _marked_cell(pieces, "new", "ins")


def _marked_cell(pieces: list[Piece], side: str, tag: str) -> str:
    parts = [
        _html(p.text) if p.side == "same" else f"<{tag}>{_html(p.text)}</{tag}>"
        for p in pieces
        if p.side in ("same", side)
    ]
    return "<code>" + "".join(parts) + "</code>"


def _diff_block(field: FieldChange) -> list[str]:
    diff = line_diff(field.old, field.new)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", "\n".join(diff))), default=0))
    return [f"`{field.pointer}` (- in Datadog, + in code):", "", f"{fence}diff", *diff, fence, ""]


def code_cell(value: object, present: bool, limit: int = 300) -> str:
    """A JSON value as inline code that is safe inside a markdown table cell."""
    if not present:
        return "_absent_"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return "`" + text.replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"


# Characters markdown would read (in a table cell, inside raw HTML too) as entities, never re-parsed.
_HTML_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "*": "&#42;", "_": "&#95;", "`": "&#96;",
     "[": "&#91;", "]": "&#93;", "\\": "&#92;", "~": "&#126;", "\n": " "}
)  # fmt: skip


def _html(text: str) -> str:
    return text.translate(_HTML_ENTITIES)


def _escape(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")
