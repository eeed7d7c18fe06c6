"""What apply did, one line per resource, and a closing summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from provisioner.changes import ApplyResult, Outcome

_MARK = {"ok": "✓", "failed": "✗", "skipped": "·", "not_started": "○"}


def outcome_line(outcome: Outcome) -> str:
    change = outcome.change
    ident = f"{change.kind} {change.definition_id}"
    if outcome.datadog_id is not None:
        ident += f" ({outcome.datadog_id})"
    return f"{_MARK[outcome.status]} {change.action.value:<8} {ident}: {outcome.message}"


def failures_block(outcomes: Sequence[Outcome]) -> str:
    failed = [o for o in outcomes if o.status == "failed"]
    if not failed:
        return ""
    return "Failed:\n" + "\n".join(f"  {outcome_line(o)}" for o in failed) + "\n"


def apply_summary(result: ApplyResult) -> str:
    counts = Counter(o.status for o in result.outcomes)
    lines = [f"note: {note}" for note in result.notes]
    if result.stopped:
        lines.append(f"Apply stopped: {result.stopped}.")
    if not result.outcomes:
        text = "Apply: nothing to do."
    else:
        text = f"Apply: {counts['ok']} done, {counts['failed']} failed, {counts['skipped']} skipped"
        text += f", {counts['not_started']} not started." if counts["not_started"] else "."
    if result.replan:
        text += (
            " Plan again (after fixing the other failures, if any): a saved plan does not carry out what"
            " changed in Datadog since it was made; a new plan picks up where this one stopped."
        )
    elif result.failed:
        text += " Run apply again after fixing the failures; it picks up where this one stopped."
    elif result.not_started:
        text += " Run apply again to finish; it picks up where this one stopped."
    if result.refused:
        text += f"\nPrune refused: {result.refused}"
    return "\n".join([*lines, text])
