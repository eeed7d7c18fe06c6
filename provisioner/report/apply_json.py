"""What apply did, as JSON for machines: one outcome per resource. Its JSON Schema ships in
``provisioner/report/schemas/apply-output.json``; ``format_version`` changes only when a field is
removed or changes meaning."""

from __future__ import annotations

import json
from collections import Counter

from provisioner.changes import ApplyResult, Outcome, Plan
from provisioner.model import Json
from provisioner.report.plan_context import PlanContext, resource_url
from provisioner.report.plan_json import remote_validation_json, source_json

FORMAT_VERSION = 1


def render_json(plan: Plan, result: ApplyResult, context: PlanContext = PlanContext()) -> str:
    """``result`` is empty when nothing was written (Datadog rejected a monitor of the plan)."""
    counts = Counter(o.status for o in result.outcomes)
    document = {
        "format_version": FORMAT_VERSION,
        "namespace": plan.namespace,
        "ok": result.ok and context.validation.ok,
        "app_url": context.app_url,
        "summary": {status: counts[status] for status in ("ok", "failed", "skipped", "not_started")},
        "refused": result.refused or None,
        "remote_validation": remote_validation_json(context.validation),
        "outcomes": [_outcome(o, context.app_url) for o in result.outcomes],
        "warnings": list(plan.warnings),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _outcome(outcome: Outcome, app_url: str | None) -> dict[str, Json]:
    change = outcome.change
    return {
        "kind": change.kind,
        "action": change.action.value,
        "definition_id": change.definition_id,
        "title": change.title,
        "datadog_id": outcome.datadog_id,
        "url": resource_url(app_url, change.kind, outcome.datadog_id),
        "source": source_json(change.source),
        "status": outcome.status,
        "message": outcome.message,
    }
