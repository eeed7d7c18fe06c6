"""An audit as a pull-request comment or issue body: summary tables, one table per severity (each
row a finding and its fix), info folded by code and message, then the mesh coverage table.

Rows stop before GitHub's comment limit (counted as ``github.body.github_length`` does: an emoji is two) and
the report says how many it left out.
"""

from __future__ import annotations

from collections import Counter

from provisioner.changes import FieldChange
from provisioner.engine.audit_types import AuditedResource, AuditReport, Finding, FindingSeverity, Ownership
from provisioner.github.body import github_length
from provisioner.model import MESH_SIGNALS
from provisioner.report import metric_check
from provisioner.report.audit_text import (
    OWNERSHIP_LABEL,
    SEVERITY_HEADING,
    WORST_FIRST,
    coverage_rows,
    folded_info,
    plural,
    signals_watched,
    verdict,
    with_severity,
)
from provisioner.report.plan_markdown import GITHUB_COMMENT_LIMIT, field_cells
from provisioner.report.plan_text import ORIGIN

_RESERVED = 2_000  # room for the closing note and a sticky-comment marker
_FINDINGS_HEAD = "| resource | owner | finding | fix |\n|---|---|---|---|\n"
_INFO_HEAD = "| finding | count | e.g. | fix |\n|---|--:|---|---|\n"
_EMOJI = {FindingSeverity.ERROR: "🔴", FindingSeverity.WARNING: "🟠", FindingSeverity.INFO: "🔵"}


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit - _RESERVED
        self.cut = 0

    def take(self, text: str) -> bool:
        length = github_length(text)
        if length > self.left:
            self.cut += 1
            return False
        self.left -= length
        return True


def render_markdown(report: AuditReport, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    budget = _Budget(limit)
    parts = [_summary(report)]
    budget.take(parts[0])
    for severity in (FindingSeverity.ERROR, FindingSeverity.WARNING):
        parts.append(_severity_table(report, severity, budget))
    parts.append(_info_table(report, budget))
    parts.append(_coverage_table(report, budget))
    if budget.cut:
        parts.append(
            f"> ✂️ **Report cut**: {budget.cut} rows are not shown, to stay under GitHub's "
            f"{GITHUB_COMMENT_LIMIT:,}-character comment limit. "
            "`provisioner audit --format json` lists everything.\n"
        )
    parts.append(f"_{verdict(report)}_\n")
    return "\n".join(p for p in parts if p)


def _summary(report: AuditReport) -> str:
    monitors = Counter(r.ownership for r in report.monitors)
    dashboards = Counter(r.ownership for r in report.dashboards)
    lines = [
        f"### provisioner audit · namespace `{report.namespace}`",
        "",
        "| | monitors | dashboards |",
        "|---|--:|--:|",
    ]
    lines += [f"| {OWNERSHIP_LABEL[o]} | {monitors[o]} | {dashboards[o]} |" for o in Ownership]
    lines += [f"| **total** | **{len(report.monitors)}** | **{len(report.dashboards)}** |", ""]
    counts = " · ".join(f"{_EMOJI[s]} {plural(report.count(s), s.value)}" for s in WORST_FIRST)
    lines += [f"**Findings**: {counts}", ""]
    lines += [f"> ⚠️ {w}" for w in report.warnings]
    checked = metric_check.summary_line(report.metric_check)
    if checked:
        lines += ([""] if lines[-1] else []) + [f"> {checked.removeprefix('warning: ')}", ""]
    return "\n".join(lines) + "\n"


def _severity_table(report: AuditReport, severity: FindingSeverity, budget: _Budget) -> str:
    rows = [
        _row(r, f)
        for r in with_severity(report.monitors + report.dashboards, severity)
        for f in r.findings
        if f.severity is severity
    ]
    rows += [
        f"| mesh | | {_finding_cell(f)} | {_text(f.fix)} |"
        for f in report.coverage.findings
        if f.severity is severity
    ]
    if not rows:
        return ""
    head = f"#### {_EMOJI[severity]} {SEVERITY_HEADING[severity]} ({len(rows)})\n\n{_FINDINGS_HEAD}"
    shown = [row for row in rows if budget.take(row + "\n")]
    return head + "\n".join(shown) + "\n" if shown else ""


def _row(resource: AuditedResource, finding: Finding) -> str:
    title = f"{resource.kind} `{resource.datadog_id}` {_title(resource.title)}"
    message = _finding_cell(finding)
    if finding.code == "drift" and resource.drift is not None:
        message += "<br>" + "<br>".join(_field(f) for f in resource.drift.fields)
    return f"| {title} | {_owner(resource)} | {message} | {_text(finding.fix)} |"


def _owner(resource: AuditedResource) -> str:
    if resource.ownership is Ownership.FOREIGN:
        return f"namespace `{resource.namespace}`"
    owner = OWNERSHIP_LABEL[resource.ownership]
    if resource.source:
        owner += f" · `{resource.source.path}:{resource.source.line}`"
    return owner


def _finding_cell(finding: Finding) -> str:
    return f"**{finding.code}**: {_text(finding.message)}"


def _field(change: FieldChange) -> str:
    live, desired = field_cells(change, limit=80)
    return f"`{change.pointer}` {live} → {desired} ({ORIGIN[change.origin]})"


def _info_table(report: AuditReport, budget: _Budget) -> str:
    groups = folded_info(report)
    if not groups:
        return ""
    head = f"#### {_EMOJI[FindingSeverity.INFO]} Info ({report.count(FindingSeverity.INFO)})\n\n{_INFO_HEAD}"
    rows = []
    for (code, _), members in groups.items():
        example, finding = members[0]
        where = f"{example.kind} `{example.datadog_id}`" if example else "mesh"
        row = f"| **{code}**: {_text(finding.message)} | {len(members)} | {where} | {_text(finding.fix)} |"
        if budget.take(row + "\n"):
            rows.append(row)
    return head + "\n".join(rows) + "\n" if rows else ""


def _coverage_table(report: AuditReport, budget: _Budget) -> str:
    coverage = report.coverage
    if not coverage.services:
        return (
            "#### Mesh coverage\n\nNo services known (list them in `provisioner.yaml` `services`). "
            f"Signals watched: {signals_watched(report)}.\n"
        )
    head = (
        "#### Mesh coverage\n\n| service | "
        + " | ".join(MESH_SIGNALS)
        + " |\n|---|"
        + "---|" * len(MESH_SIGNALS)
        + "\n"
    )
    rows = []
    for name, cells in coverage_rows(coverage):
        row = f"| `{name}` | " + " | ".join(c.replace("✗", "❌").replace("✓", "✅") for c in cells) + " |"
        if budget.take(row + "\n"):
            rows.append(row)
    return head + "\n".join(rows) + "\n"


def _text(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _title(text: str) -> str:
    return _text(text).replace("<", "&lt;").replace(">", "&gt;")
