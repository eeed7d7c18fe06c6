"""The metrics-reporting check (engine/metric_check.py) in plan and audit reports: a summary line, the
plan's warnings, and a table for pull-request comments (its JSON, one entry per monitor, is in
``plan_json``).

The plan's text and table give one line per finding (a metric and why it does not report), naming the
monitors it affects: the same metric missing from every per-service copy of a monitor is one line, not
one per copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.engine.metric_gaps import MetricCheck, MetricGap, MonitorGaps, span

MARKDOWN_ROWS = 50  # a pull-request comment lists this many findings at most
NAMED_MONITORS = 3  # a finding names this many monitors, then "and N more"


@dataclass(frozen=True)
class Finding:
    """One gap, and the monitors that have it, in the order the check lists them."""

    gap: MetricGap
    monitors: tuple[MonitorGaps, ...]


def findings(check: MetricCheck) -> tuple[Finding, ...]:
    grouped: dict[MetricGap, list[MonitorGaps]] = {}
    for monitor in check.monitors:
        for gap in dict.fromkeys(monitor.gaps):
            grouped.setdefault(gap, []).append(monitor)
    return tuple(Finding(gap, tuple(monitors)) for gap, monitors in grouped.items())


def named(names: Sequence[str], shown: int = NAMED_MONITORS) -> str:
    """``a, b, c and 4 more``."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def summary_line(check: MetricCheck) -> str:
    """One line on what was checked and what it cost; "" when the check was not asked for."""
    if check.status == "skipped":
        return ""
    if check.status == "failed":
        return (
            f"warning: the metrics-reporting check could not read Datadog, nothing was checked: {check.error}"
        )
    affected = len(check.monitors)
    verdict = (
        f"{affected} {'monitor watches' if affected == 1 else 'monitors watch'} metrics that do not report"
        if affected
        else "every metric the monitors query reports"
    )
    unread = (
        f"; tag keys of {len(check.tags_unread)} metrics not checked (over the budget)"
        if check.tags_unread
        else ""
    )
    return (
        f"Metrics-reporting check (the last {span(check.window)}, {check.metrics} metrics, "
        f"{check.requests} {'request' if check.requests == 1 else 'requests'}): {verdict}{unread}."
    )


def finding_warning(finding: Finding) -> str:
    """The plan's warning for one finding: what is missing and why, in which monitors, and the fix."""
    monitors = [m.key + (f" ({m.source.path}:{m.source.line})" if m.source else "") for m in finding.monitors]
    where = "monitor" if len(monitors) == 1 else f"{len(monitors)} monitors:"
    return f"warning: {finding.gap.message}; in {where} {named(monitors)}; fix: {finding.gap.fix}"


def markdown_section(check: MetricCheck) -> list[str]:
    """A collapsible table of the findings (at most ``MARKDOWN_ROWS``), for a pull-request comment."""
    rows = findings(check)
    if not rows:
        return []
    count = len(check.monitors)
    lines = [
        f"<details open><summary>⚠️ <b>{count} {'monitor watches' if count == 1 else 'monitors watch'} "
        f"metrics that do not report</b> (the last {span(check.window)})</summary>",
        "",
        "| metric not reporting | monitors | fix |",
        "|---|---|---|",
    ]
    for finding in rows[:MARKDOWN_ROWS]:
        lines.append(
            f"| {_cell(finding.gap.message)} | {_monitors_cell(finding)} | {_cell(finding.gap.fix)} |"
        )
    if len(rows) > MARKDOWN_ROWS:
        lines.append(f"\n{len(rows) - MARKDOWN_ROWS} more: `provisioner plan --format json` lists them all.")
    return [*lines, "", "</details>", ""]


def _monitors_cell(finding: Finding) -> str:
    shown = [
        f"`{m.key}`" + (f" (`{m.source.path}:{m.source.line}`)" if m.source else "") for m in finding.monitors
    ]
    return _cell(named(shown))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
