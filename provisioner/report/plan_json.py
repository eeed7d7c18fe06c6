"""A plan as JSON, for machines, and back: the same document is the saved plan ``apply --plan``
carries out. Its JSON Schema ships in ``provisioner/report/schemas/plan-output.json``
(``provisioner schema --out DIR`` writes it); ``format_version`` changes only when a field is removed or
changes meaning."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.changes import Action, FieldChange, Plan, PlannedChange, PlanOrigin
from provisioner.engine.metric_gaps import MetricCheck, MetricGap
from provisioner.engine.remote_validate import RemoteValidation
from provisioner.errors import UserError
from provisioner.model import Json, SourceLocation
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
        "kept_datadog_id": change.kept_datadog_id,
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
        "unasked": [
            {
                "kind": u.change.kind,
                "definition_id": u.change.definition_id,
                "datadog_id": u.change.datadog_id,
                "source": source_json(u.change.source),
                "reason": u.reason,
                "status": u.status,
            }
            for u in validation.unasked
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


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    validation_status: str  # remote_validation.status when it was made: passed, skipped or rejected
    unjudged: frozenset[tuple[str, str]] = frozenset()  # (kind, definition id) Datadog did not judge then


_VALIDATION_STATUSES = ("passed", "skipped", "rejected")
_ORIGINS = ("code", "datadog", "both", "unknown")


def read_saved_plan(text: str, source: str) -> SavedPlan:
    """The plan a JSON document describes, with its origin; ``UserError`` when it cannot be one. Every
    field taken is type-checked: a hand-edited or corrupted file is refused here, never half-read."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UserError(f"{source}: not a saved plan: not JSON ({exc})", hint=_SAVE_HINT) from None
    reader = _Reader(source)
    top = reader.mapping(document, "the document")
    version = top.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        shown = repr(version) if isinstance(version, int | str | None) else f"a JSON {type(version).__name__}"
        raise UserError(
            f"{source}: plan format_version {shown[:40]}, but this provisioner reads format_version "
            f"{FORMAT_VERSION}: it was made by an incompatible provisioner",
            hint="plan again with this provisioner",
        )
    if not top.get("environment") or not top.get("target"):
        raise UserError(
            f"{source}: the plan does not say where it was made (no environment or target): it was made by "
            "an older provisioner",
            hint="plan again with this provisioner",
        )
    summary = reader.optional(top, "summary", dict, "an object") or {}
    plan = Plan(
        namespace=reader.text(top, "namespace"),
        changes=tuple(reader.change(item, i) for i, item in enumerate(reader.array(top, "changes"))),
        unchanged=reader.count(summary, "unchanged"),
        managed=reader.count(summary, "managed"),
        warnings=tuple(
            reader.text_item(w, f"warnings[{i}]") for i, w in enumerate(reader.items(top, "warnings"))
        ),
        origin=PlanOrigin(reader.text(top, "environment"), reader.text(top, "target")),
    )
    return SavedPlan(plan, reader.validation_status(top), reader.unjudged(top))


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, what: str) -> UserError:
        return UserError(f"{self.source}: not a saved plan: {where}: {what}", hint=_SAVE_HINT)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        return value

    def array(self, value: Mapping[str, Any], key: str, where: str = "") -> list[Any]:
        items = value.get(key)
        if not isinstance(items, list):
            raise self.fail(f"{where}{key}", "expected an array")
        return items

    def items(self, value: Mapping[str, Any], key: str, where: str = "") -> list[Any]:
        """An array that may be absent or null (none)."""
        return self.array(value, key, where) if value.get(key) is not None else []

    def optional(
        self, value: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str, where: str = ""
    ) -> Any:
        """The value at ``key``, None when absent or null; a value of another type fails."""
        item = value.get(key)
        if item is not None and (not isinstance(item, kind) or (isinstance(item, bool) and kind is not bool)):
            raise self.fail(f"{where}{key}", f"expected {what}")
        return item

    def text(self, value: Mapping[str, Any], key: str, where: str = "") -> str:
        return self.text_item(value.get(key), f"{where}{key}")

    def text_item(self, item: Any, where: str) -> str:
        if not isinstance(item, str):
            raise self.fail(where, "expected a string")
        return item

    def count(self, summary: Mapping[str, Any], key: str) -> int:
        value = self.optional(summary, key, int, "an integer", "summary.")
        return value if value is not None and value >= 0 else 0

    def validation_status(self, top: Mapping[str, Any]) -> str:
        """``skipped`` for a plan that does not say (it was not asked, as far as anyone can tell)."""
        validation = self.optional(top, "remote_validation", dict, "an object")
        status = (validation or {}).get("status", "skipped")
        if status not in _VALIDATION_STATUSES:
            raise self.fail("remote_validation.status", f"expected one of {', '.join(_VALIDATION_STATUSES)}")
        return str(status)

    def unjudged(self, top: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
        validation = top.get("remote_validation") or {}  # its type is checked by validation_status
        where = "remote_validation."
        items = [
            self.mapping(u, f"{where}unasked[{i}]")
            for i, u in enumerate(self.items(validation, "unasked", where))
        ]
        return frozenset((self.text(u, "kind", where), self.text(u, "definition_id", where)) for u in items)

    def change(self, value: Any, index: int) -> PlannedChange:
        where = f"changes[{index}]."
        item = self.mapping(value, where.rstrip("."))
        kind = self.text(item, "kind", where)
        if kind not in ("monitor", "dashboard"):
            raise self.fail(f"{where}kind", f"unknown kind {kind[:40]!r}")
        try:
            action = Action(self.text(item, "action", where))
        except ValueError:
            raise self.fail(f"{where}action", f"unknown action {str(item.get('action'))[:40]!r}") from None
        body = self.optional(item, "body", dict, "an object", where)
        if action in _BODY_ACTIONS and body is None:
            raise self.fail(f"{where}body", f"a {action.value} needs the body to send")
        return PlannedChange(
            kind=kind,
            action=action,
            definition_id=self.text(item, "definition_id", where),
            title=self.optional(item, "title", str, "a string", where) or "",
            datadog_id=self.datadog_id(item, "datadog_id", kind, action is not Action.CREATE, where),
            changes=tuple(
                self.field(f, f"{where}fields[{i}]") for i, f in enumerate(self.items(item, "fields", where))
            ),
            body=body if action in _BODY_ACTIONS else None,
            live_modified=self.optional(item, "live_modified", str, "a string", where),
            source=self.source_location(item, where),
            keep_drift=self.optional(item, "keep_drift", bool, "true or false", where) is True,
            note=self.optional(item, "note", str, "a string", where) or "",
            kept_datadog_id=self.datadog_id(item, "kept_datadog_id", kind, False, where),
        )

    def datadog_id(
        self, item: Mapping[str, Any], key: str, kind: str, required: bool, where: str
    ) -> int | str | None:
        """A monitor's id is a positive integer, a dashboard's a string: what the adapter sends them as."""
        value = item.get(key)
        if value is None and not required:
            return None
        if kind == "monitor" and isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if kind == "dashboard" and isinstance(value, str) and value:
            return value
        need = "a positive integer" if kind == "monitor" else "a non-empty string"
        raise self.fail(f"{where}{key}", f"expected the {kind}'s Datadog id ({need})")

    def source_location(self, item: Mapping[str, Any], where: str) -> SourceLocation | None:
        source = self.optional(item, "source", dict, "an object", where)
        if source is None:
            return None
        line = self.optional(source, "line", int, "an integer", f"{where}source.")
        if line is None or line < 1:
            raise self.fail(f"{where}source.line", "expected a line number (1 or more)")
        return SourceLocation(self.text(source, "path", f"{where}source."), line, 1)

    def field(self, value: Any, where: str) -> FieldChange:
        item = self.mapping(value, where)
        origin = self.optional(item, "changed_by", str, "a string", f"{where}.") or "unknown"
        if origin not in _ORIGINS:
            raise self.fail(f"{where}.changed_by", f"expected one of {', '.join(_ORIGINS)}")
        return FieldChange(
            pointer=self.text(item, "pointer", f"{where}."),
            old=item.get("live"),
            new=item.get("desired"),
            old_present=self.optional(item, "live_present", bool, "true or false", f"{where}.") is not False,
            new_present=self.optional(item, "desired_present", bool, "true or false", f"{where}.")
            is not False,
            origin=origin,  # type: ignore[arg-type]
        )
