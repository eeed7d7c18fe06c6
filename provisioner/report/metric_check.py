"""The metrics-reporting check (engine/metric_check.py) in plan and audit reports: a summary line, the
plan's warning per monitor, and a table for pull-request comments (its JSON is in ``plan_json``)."""

from __future__ import annotations

from provisioner.engine.metric_gaps import MetricCheck, MonitorGaps, span

MARKDOWN_ROWS = 50  # a pull-request comment lists this many gaps at most


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


def monitor_warning(monitor: MonitorGaps) -> list[str]:
    """The plan's warning for one monitor definition: a head line, then each gap and its fix."""
    where = f" ({monitor.source.path}:{monitor.source.line})" if monitor.source else ""
    lines = [f"warning: monitor {monitor.key}{where} watches metrics that do not report:"]
    for gap in monitor.gaps:
        lines += [f"    {gap.message}", f"      fix: {gap.fix}"]
    return lines


def markdown_section(check: MetricCheck) -> list[str]:
    """A collapsible table of the gaps (at most ``MARKDOWN_ROWS``), for a pull-request comment."""
    rows = [(monitor, gap) for monitor in check.monitors for gap in monitor.gaps]
    if not rows:
        return []
    count = len(check.monitors)
    lines = [
        f"<details open><summary>⚠️ <b>{count} {'monitor watches' if count == 1 else 'monitors watch'} "
        f"metrics that do not report</b> (the last {span(check.window)})</summary>",
        "",
        "| monitor | metric not reporting | fix |",
        "|---|---|---|",
    ]
    for monitor, gap in rows[:MARKDOWN_ROWS]:
        where = f"<br>`{monitor.source.path}:{monitor.source.line}`" if monitor.source else ""
        lines.append(f"| `{monitor.key}`{where} | {_cell(gap.message)} | {_cell(gap.fix)} |")
    if len(rows) > MARKDOWN_ROWS:
        lines.append(f"\n{len(rows) - MARKDOWN_ROWS} more: `provisioner plan --format json` lists them all.")
    return [*lines, "", "</details>", ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
