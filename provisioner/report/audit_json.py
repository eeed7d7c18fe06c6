"""An audit as JSON, for machines. Its JSON Schema ships in ``provisioner/report/schemas/audit-output.json``;
``format_version`` changes only when a field is removed or changes meaning."""

from __future__ import annotations

import json
from collections import Counter

from provisioner.engine.audit_types import (
    AuditedResource,
    AuditReport,
    Coverage,
    Drift,
    Finding,
    FindingSeverity,
    Ownership,
    SignalCoverage,
)
from provisioner.model import Json
from provisioner.report.plan_json import field_json, gap_json, metric_check_json, source_json

FORMAT_VERSION = 1


def render_json(report: AuditReport) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "namespace": report.namespace,
        "generated_at": report.generated_at.isoformat(),
        "settings": {
            "mute_limit_hours": report.settings.mute_limit.total_seconds() / 3600,
            "stuck_limit_hours": report.settings.stuck_limit.total_seconds() / 3600,
        },
        "summary": summary(report),
        "monitors": [_resource(r) for r in report.monitors],
        "dashboards": [_resource(r) for r in report.dashboards],
        "coverage": _coverage(report.coverage),
        "metric_check": metric_check_json(report.metric_check, with_monitors=False),
        "undeployed": [
            {
                "kind": u.kind,
                "definition_id": u.definition_id,
                "title": u.title,
                "source": source_json(u.source),
            }
            for u in report.undeployed
        ],
        "warnings": list(report.warnings),
    }
    # One line: an org of thousands of monitors renders several times faster without indentation
    # (json's C encoder); pipe it through `jq` to read it.
    return json.dumps(document, ensure_ascii=False) + "\n"


def summary(report: AuditReport) -> dict[str, Json]:
    return {
        "monitors": _ownership_counts(report.monitors),
        "dashboards": _ownership_counts(report.dashboards),
        "findings": {s.value: report.count(s) for s in reversed(FindingSeverity)},
        "coverage": {
            "services": len(report.coverage.services),
            "unwatched": sum(len(s.missing) for s in report.coverage.services),
        },
        "requests": report.requests,
    }


def _ownership_counts(resources: tuple[AuditedResource, ...]) -> dict[str, int]:
    counts = Counter(r.ownership for r in resources)
    return {"total": len(resources)} | {o.value: counts[o] for o in Ownership}


def _resource(resource: AuditedResource) -> dict[str, Json]:
    out: dict[str, Json] = {
        "id": resource.datadog_id,
        "title": resource.title,
        "class": resource.ownership.value,
        "namespace": resource.namespace,
        "definition_id": resource.definition_id,
        "source": source_json(resource.source),
        "note": resource.note,
        "drift": _drift(resource.drift),
        "findings": [_finding(f) for f in resource.findings],
    }
    if resource.kind == "monitor":
        out |= {
            "type": resource.monitor_type,
            "overall_state": resource.overall_state,
            "signals": list(resource.signals),
            "services": list(resource.services),
        }
    return out


def _drift(drift: Drift | None) -> Json:
    if drift is None:
        return None
    return {"action": drift.action.value, "note": drift.note, "fields": [field_json(f) for f in drift.fields]}


def _finding(finding: Finding) -> dict[str, Json]:
    found: dict[str, Json] = {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "fix": finding.fix,
    }
    if finding.gap is not None:
        gap = gap_json(finding.gap)
        found |= {"metric": gap["metric"], "tag_key": gap["tag_key"], "cause": gap["cause"]}
    return found


def _coverage(coverage: Coverage) -> dict[str, Json]:
    return {
        "services": [
            {"service": s.service, "signals": _signals(s.signals), "missing": list(s.missing)}
            for s in coverage.services
        ],
        "mesh_wide": _signals(coverage.mesh),
        "findings": [_finding(f) for f in coverage.findings],
    }


def _signals(signals: tuple[SignalCoverage, ...]) -> dict[str, Json]:
    return {s.signal: {"watched": s.watched, "monitors": list(s.monitors)} for s in signals}
