"""An audit for a terminal: what exists and who owns it, then the findings worst first (each with
its fix), then the mesh coverage table. Info findings are folded into one line per code and message."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from provisioner.engine.audit_types import (
    AuditedResource,
    AuditReport,
    Coverage,
    Finding,
    FindingSeverity,
    Ownership,
)
from provisioner.model import MESH_SIGNALS
from provisioner.report import metric_check
from provisioner.report.colour import Style, plain
from provisioner.report.plan_text import field_lines

OWNERSHIP_LABEL = {
    Ownership.IN_SYNC: "in sync",
    Ownership.DRIFTED: "drifted",
    Ownership.ORPHANED: "orphaned",
    Ownership.UNMANAGED: "unmanaged",
    Ownership.FOREIGN: "owned by other namespaces",
}
SEVERITY_COLOUR = {
    FindingSeverity.ERROR: "red",
    FindingSeverity.WARNING: "yellow",
    FindingSeverity.INFO: "cyan",
}
SEVERITY_HEADING = {
    FindingSeverity.ERROR: "Errors",
    FindingSeverity.WARNING: "Warnings",
    FindingSeverity.INFO: "Info",
}
WORST_FIRST = (FindingSeverity.ERROR, FindingSeverity.WARNING, FindingSeverity.INFO)
_INFO_EXAMPLES = 5


def render_text(report: AuditReport, style: Style = plain) -> str:
    lines = header_lines(report)
    for severity in (FindingSeverity.ERROR, FindingSeverity.WARNING):
        lines += _severity_section(report, severity, style)
    lines += _info_section(report, style)
    lines += _coverage_section(report, style)
    if report.undeployed:
        lines += [f"Not in Datadog yet (apply creates them): {len(report.undeployed)}"]
        lines += [
            f"  + {u.kind} {u.definition_id}  {json.dumps(u.title, ensure_ascii=False)}"
            for u in report.undeployed
        ]
        lines.append("")
    lines += [f"warning: {w}" for w in report.warnings]
    checked = metric_check.summary_line(report.metric_check)
    if checked:
        lines.append(checked)
    lines.append(verdict(report))
    return "\n".join(lines) + "\n"


def header_lines(report: AuditReport) -> list[str]:
    stamp = report.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    return [
        f"Audit of the Datadog org · namespace {report.namespace} · {stamp}",
        "",
        f"Monitors    {ownership_line(report.monitors)}",
        f"Dashboards  {ownership_line(report.dashboards)}",
        f"Findings    {findings_line(report)}",
        "",
    ]


def ownership_line(resources: Sequence[AuditedResource]) -> str:
    counts = Counter(r.ownership for r in resources)
    parts = [f"{counts[o]} {label}" for o, label in OWNERSHIP_LABEL.items() if counts[o]]
    return f"{len(resources)}" + (f": {', '.join(parts)}" if parts else "")


def findings_line(report: AuditReport) -> str:
    return ", ".join(plural(report.count(s), s.value) for s in WORST_FIRST)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 or noun == "info" else f"{count} {noun}s"


def resource_label(resource: AuditedResource) -> str:
    label = f"{resource.kind} {resource.datadog_id} {json.dumps(resource.title, ensure_ascii=False)}"
    owner = OWNERSHIP_LABEL[resource.ownership] if resource.ownership is not Ownership.FOREIGN else None
    facts = [owner or f"namespace {resource.namespace}"]
    if resource.definition_id:
        facts.append(resource.definition_id)
    if resource.source:
        facts.append(f"{resource.source.path}:{resource.source.line}")
    return f"{label}  [{', '.join(facts)}]"


def with_severity(resources: Sequence[AuditedResource], severity: FindingSeverity) -> list[AuditedResource]:
    return [r for r in resources if any(f.severity is severity for f in r.findings)]


def _severity_section(report: AuditReport, severity: FindingSeverity, style: Style) -> list[str]:
    resources = with_severity(report.monitors + report.dashboards, severity)
    coverage = [f for f in report.coverage.findings if f.severity is severity]
    if not resources and not coverage:
        return []
    total = sum(1 for r in resources for f in r.findings if f.severity is severity) + len(coverage)
    lines = [style(f"{SEVERITY_HEADING[severity]}: {total}", SEVERITY_COLOUR[severity])]
    for resource in resources:
        lines.append(f"  {resource_label(resource)}")
        for finding in (f for f in resource.findings if f.severity is severity):
            lines += _finding_lines(finding, style, indent="    ")
            if finding.code == "drift" and resource.drift is not None:
                lines += [
                    f"        {line}"
                    for f in resource.drift.fields
                    for line in field_lines(f, resource.drift.action, style)
                ]
    for finding in coverage:
        lines += _finding_lines(finding, style, indent="  ")
    return [*lines, ""]


def _finding_lines(finding: Finding, style: Style, indent: str) -> list[str]:
    head = style(f"{finding.code}:", SEVERITY_COLOUR[finding.severity])
    return [f"{indent}{head} {finding.message}", f"{indent}  fix: {finding.fix}"]


def folded_info(report: AuditReport) -> dict[tuple[str, str], list[tuple[AuditedResource | None, Finding]]]:
    """Info findings by code and message, each with its resource (None for coverage findings): only the
    same words fold, so a folded line never shows one resource's message (its signal...) for another."""
    groups: dict[tuple[str, str], list[tuple[AuditedResource | None, Finding]]] = defaultdict(list)
    for resource in report.monitors + report.dashboards:
        for finding in resource.findings:
            if finding.severity is FindingSeverity.INFO:
                groups[finding.code, finding.message].append((resource, finding))
    for finding in report.coverage.findings:
        if finding.severity is FindingSeverity.INFO:
            groups[finding.code, finding.message].append((None, finding))
    return dict(sorted(groups.items()))


def _info_section(report: AuditReport, style: Style) -> list[str]:
    groups = folded_info(report)
    if not groups:
        return []
    lines = [style(f"Info: {report.count(FindingSeverity.INFO)}", SEVERITY_COLOUR[FindingSeverity.INFO])]
    for (code, message), members in groups.items():
        first = members[0][1]
        lines.append(f"  {style(code, 'cyan')} ×{len(members)}: {message}")
        lines.append(f"    {_examples(members)}")
        example = members[0][0]
        lines.append(
            f"    fix ({example.kind} {example.datadog_id}): {first.fix}"
            if example
            else f"    fix: {first.fix}"
        )
    return [*lines, ""]


def _examples(members: Sequence[tuple[AuditedResource | None, Finding]]) -> str:
    ids = [f"{r.kind} {r.datadog_id}" for r, _ in members[:_INFO_EXAMPLES] if r is not None]
    more = len(members) - _INFO_EXAMPLES
    return ", ".join(ids) + (f" and {more} more (--format json lists them all)" if more > 0 else "")


def coverage_rows(coverage: Coverage) -> list[tuple[str, list[str]]]:
    """(service, one cell per signal): "✓ 12" (watched, by monitor 12), "✓ 12 +2", or "✗"."""
    rows = []
    for service in coverage.services:
        cells = []
        for signal in service.signals:
            ids = [str(i) for i in signal.monitors]
            cells.append("✗" if not ids else f"✓ {ids[0]}" + (f" +{len(ids) - 1}" if len(ids) > 1 else ""))
        rows.append((service.service, cells))
    return rows


def signals_watched(report: AuditReport) -> str:
    """Without known services: how many monitors watch each signal, in any scope."""
    counts = Counter(s for m in report.monitors for s in m.signals)
    return ", ".join(f"{s} ({plural(counts[s], 'monitor')})" for s in MESH_SIGNALS if counts[s]) or "none"


def _coverage_section(report: AuditReport, style: Style) -> list[str]:
    coverage = report.coverage
    if not coverage.services:
        return [
            "Mesh coverage: no services known (list them in provisioner.yaml `services`). "
            f"Signals watched: {signals_watched(report)}",
            "",
        ]
    rows = coverage_rows(coverage)
    names = ["service", *(name for name, _ in rows)]
    columns = [names] + [[signal, *(cells[i] for _, cells in rows)] for i, signal in enumerate(MESH_SIGNALS)]
    widths = [max(len(text) for text in column) for column in columns]
    lines = [
        f"Mesh coverage: {len(rows)} services × {len(MESH_SIGNALS)} signals "
        "(✓ watched, by monitor id; ✗ unwatched)",
        _table_line(["service", *MESH_SIGNALS], widths, lambda text: text),
    ]
    colour_cell = lambda text: style(text, "red" if text.startswith("✗") else "green")  # noqa: E731
    lines += [_table_line([name, *cells], widths, colour_cell, first_plain=True) for name, cells in rows]
    return [*lines, ""]


def _table_line(
    cells: Sequence[str], widths: Sequence[int], colour: Callable[[str], str], first_plain: bool = False
) -> str:
    """Cells padded to their column (the last one not), then coloured: colour codes never break alignment."""
    padded = [f"{c:<{w}}" for c, w in zip(cells[:-1], widths, strict=False)] + [cells[-1]]
    shown = [p if first_plain and i == 0 else colour(p) for i, p in enumerate(padded)]
    return "  " + "  ".join(shown)


def verdict(report: AuditReport) -> str:
    unwatched = sum(len(s.missing) for s in report.coverage.services)
    return (
        f"Audit: {plural(len(report.monitors), 'monitor')}, {plural(len(report.dashboards), 'dashboard')}; "
        f"{findings_line(report)}; {unwatched} service signals unwatched ({report.requests} API requests)."
    )
