"""A plan as JSON, for machines. Its JSON Schema ships in ``provisioner/report/schemas/plan-output.json``
(``provisioner schema --out DIR`` writes it); ``format_version`` changes only when a field is removed or
changes meaning."""

from __future__ import annotations

import json

from provisioner.engine.metric_check import MetricCheck, MetricGap
from provisioner.engine.remote_validate import RemoteValidation
from provisioner.model import Action, FieldChange, Json, Plan, PlannedChange, SourceLocation
from provisioner.report.plan_context import PlanContext

FORMAT_VERSION = 1


def render_json(plan: Plan, context: PlanContext = PlanContext()) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "namespace": plan.namespace,
        "has_changes": plan.has_changes,
        "app_url": context.app_url,
        "summary": {a.value: plan.count(a) for a in Action if a is not Action.NOOP}
        | {"unchanged": plan.unchanged, "managed": plan.managed},
        "remote_validation": remote_validation_json(context.validation),
        "metric_check": metric_check_json(context.metric_check, with_monitors=True),
        "changes": [_change(c, context) for c in plan.changes],
        "warnings": list(plan.warnings),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _change(change: PlannedChange, context: PlanContext) -> dict[str, Json]:
    rejection = context.rejection(change)
    return {
        "kind": change.kind,
        "action": change.action.value,
        "definition_id": change.definition_id,
        "title": change.title,
        "datadog_id": change.datadog_id,
        "url": context.url(change),
        "source": source_json(change.source),
        "note": change.note,
        "keep_drift": change.keep_drift,
        "live_modified": change.live_modified,
        "rejected_by_datadog": rejection.message if rejection else None,
        "fields": [field_json(f) for f in change.changes],
        "body": change.body if change.action is Action.CREATE else None,
    }


def remote_validation_json(validation: RemoteValidation) -> dict[str, Json]:
    """``status``: skipped (not asked), passed (no rejection, also when nothing needed asking), rejected."""
    status = "skipped" if not validation.asked else "rejected" if validation.rejections else "passed"
    return {
        "status": status,
        "checked": validation.checked,
        "rejected": [
            {
                "kind": r.change.kind,
                "definition_id": r.change.definition_id,
                "datadog_id": r.change.datadog_id,
                "source": source_json(r.change.source),
                "message": r.message,
                "status": r.status,
            }
            for r in validation.rejections
        ],
        "requests": validation.requests,
    }


def source_json(source: SourceLocation | None) -> Json:
    return {"path": source.path, "line": source.line} if source else None


def field_json(change: FieldChange) -> dict[str, Json]:
    """One field difference, as plan and audit JSON both show it."""
    return {
        "pointer": change.pointer,
        "live": change.old if change.old_present else None,
        "live_present": change.old_present,
        "desired": change.new if change.new_present else None,
        "desired_present": change.new_present,
        "changed_by": change.origin,
    }


def metric_check_json(check: MetricCheck, with_monitors: bool) -> dict[str, Json]:
    """``status``: checked, skipped (``--no-metric-check``) or failed (``error`` says why)."""
    document: dict[str, Json] = {
        "status": check.status,
        "window_hours": check.window.total_seconds() / 3600,
        "metrics": check.metrics,
        "requests": check.requests,
        "tags_read": list(check.tags_read),
        "tags_unread": list(check.tags_unread),
        "error": check.error or None,
    }
    if with_monitors:
        document["not_reporting"] = [
            {"definition_id": m.key, "source": source_json(m.source), "gaps": [gap_json(g) for g in m.gaps]}
            for m in check.monitors
        ]
    return document


def gap_json(gap: MetricGap) -> dict[str, Json]:
    return {
        "metric": gap.metric,
        "tag_key": gap.tag_key,
        "cause": gap.cause.value,
        "message": gap.message,
        "fix": gap.fix,
    }
