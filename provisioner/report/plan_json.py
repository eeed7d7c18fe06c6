"""A plan as JSON, for machines, and back: the same document is the saved plan ``apply --plan``
carries out. Its JSON Schema ships in ``provisioner/report/schemas/plan-output.json``
(``provisioner schema --out DIR`` writes it); ``format_version`` changes only when a field is removed or
changes meaning."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from provisioner.engine.metric_gaps import MetricCheck, MetricGap
from provisioner.engine.remote_validate import RemoteValidation
from provisioner.errors import UserError
from provisioner.model import Action, FieldChange, Json, Plan, PlannedChange, PlanOrigin, SourceLocation
from provisioner.report.plan_context import PlanContext

FORMAT_VERSION = 1
_BODY_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.DRIFT, Action.CONFLICT, Action.ADOPT})
_SAVE_HINT = "make a saved plan with `provisioner plan --save-plan FILE` (or `plan --format json --out FILE`)"


def render_json(plan: Plan, context: PlanContext = PlanContext()) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "namespace": plan.namespace,
        "environment": plan.origin.environment if plan.origin else None,
        "target": plan.origin.target if plan.origin else None,
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
        "body": change.body if change.action in _BODY_ACTIONS else None,
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


# --- reading a saved plan back --------------------------------------------------------------


def read_saved_plan(text: str, source: str) -> Plan:
    """The plan a JSON document describes, with its origin; ``UserError`` when it cannot be one."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{source}: not a saved plan: not JSON ({exc})", hint=_SAVE_HINT) from None
    reader = _Reader(source)
    top = reader.mapping(document, "the document")
    version = top.get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(
            f"{source}: plan format_version {version!r}, but this provisioner reads format_version "
            f"{FORMAT_VERSION}: it was made by an incompatible provisioner",
            hint="plan again with this provisioner",
        )
    if not top.get("environment") or not top.get("target"):
        raise UserError(
            f"{source}: the plan does not say where it was made (no environment or target): it was made by "
            "an older provisioner",
            hint="plan again with this provisioner",
        )
    return Plan(
        namespace=reader.text(top, "namespace"),
        changes=tuple(reader.change(item, i) for i, item in enumerate(reader.array(top, "changes"))),
        unchanged=reader.count(top.get("summary"), "unchanged"),
        managed=reader.count(top.get("summary"), "managed"),
        warnings=tuple(str(w) for w in top.get("warnings") or ()),
        origin=PlanOrigin(reader.text(top, "environment"), reader.text(top, "target")),
    )


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, what: str) -> UserError:
        return UserError(f"{self.source}: not a saved plan: {where}: {what}", hint=_SAVE_HINT)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        return value

    def array(self, value: Mapping[str, Any], key: str) -> list[Any]:
        items = value.get(key)
        if not isinstance(items, list):
            raise self.fail(key, "expected an array")
        return items

    def text(self, value: Mapping[str, Any], key: str, where: str = "") -> str:
        item = value.get(key)
        if not isinstance(item, str):
            raise self.fail(f"{where}{key}", "expected a string")
        return item

    def count(self, summary: Any, key: str) -> int:
        value = summary.get(key) if isinstance(summary, dict) else 0
        return value if isinstance(value, int) else 0

    def change(self, value: Any, index: int) -> PlannedChange:
        where = f"changes[{index}]."
        item = self.mapping(value, where.rstrip("."))
        kind = self.text(item, "kind", where)
        if kind not in ("monitor", "dashboard"):
            raise self.fail(f"{where}kind", f"unknown kind {kind!r}")
        try:
            action = Action(self.text(item, "action", where))
        except ValueError:
            raise self.fail(f"{where}action", f"unknown action {item.get('action')!r}") from None
        body = item.get("body")
        if action in _BODY_ACTIONS and not isinstance(body, dict):
            raise self.fail(f"{where}body", f"a {action.value} needs the body to send")
        datadog_id = item.get("datadog_id")
        if action is not Action.CREATE and not isinstance(datadog_id, int | str):
            raise self.fail(f"{where}datadog_id", f"a {action.value} needs the Datadog id it was planned for")
        source = item.get("source")
        return PlannedChange(
            kind=kind,
            action=action,
            definition_id=self.text(item, "definition_id", where),
            title=str(item.get("title") or ""),
            datadog_id=datadog_id,
            changes=tuple(
                self.field(f, f"{where}fields[{i}]") for i, f in enumerate(item.get("fields") or ())
            ),
            body=body if action in _BODY_ACTIONS else None,
            live_modified=item.get("live_modified") if isinstance(item.get("live_modified"), str) else None,
            source=SourceLocation(str(source["path"]), int(source["line"]), 1)
            if isinstance(source, dict) and "path" in source and isinstance(source.get("line"), int)
            else None,
            keep_drift=item.get("keep_drift") is True,
            note=str(item.get("note") or ""),
        )

    def field(self, value: Any, where: str) -> FieldChange:
        item = self.mapping(value, where)
        origin = item.get("changed_by")
        return FieldChange(
            pointer=self.text(item, "pointer", f"{where}."),
            old=item.get("live"),
            new=item.get("desired"),
            old_present=item.get("live_present") is not False,
            new_present=item.get("desired_present") is not False,
            origin=origin if origin in ("code", "datadog", "both", "unknown") else "unknown",
        )
