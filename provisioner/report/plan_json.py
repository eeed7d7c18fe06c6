"""A plan as JSON, for machines. The schema is documented in README.md ("plan --format json");
``format_version`` changes only when a field is removed or changes meaning."""

from __future__ import annotations

import json

from provisioner.model import Action, FieldChange, Json, Plan, PlannedChange

FORMAT_VERSION = 1


def render_json(plan: Plan) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "namespace": plan.namespace,
        "has_changes": plan.has_changes,
        "summary": {a.value: plan.count(a) for a in Action if a is not Action.NOOP}
        | {"unchanged": plan.unchanged, "managed": plan.managed},
        "changes": [_change(c) for c in plan.changes],
        "warnings": list(plan.warnings),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _change(change: PlannedChange) -> dict[str, Json]:
    return {
        "kind": change.kind,
        "action": change.action.value,
        "definition_id": change.definition_id,
        "title": change.title,
        "datadog_id": change.datadog_id,
        "source": {"path": change.source.path, "line": change.source.line} if change.source else None,
        "note": change.note,
        "keep_drift": change.keep_drift,
        "live_modified": change.live_modified,
        "fields": [field_json(f) for f in change.changes],
        "body": change.body if change.action is Action.CREATE else None,
    }


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
