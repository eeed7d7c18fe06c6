"""Carry out a plan against Datadog, resource by resource. Never prints; returns outcomes.

- Writes run in parallel (bounded). One failure never stops the others.
- A create that may have been stored although it failed (5xx, dropped connection, timeout) is
  looked up by its identity before it is sent again, and a "Duplicate of an existing
  monitor_id:N" answer adopts N: an apply never leaves two copies of one definition.
- Deletes run only with ``prune``, after the writes, dashboards before monitors; monitors still
  used by an SLO or a composite are reported, not forced; a guard refuses to delete more than
  a share of the managed resources unless forced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from provisioner import identity
from provisioner.datadog.port import DatadogPort
from provisioner.engine import references
from provisioner.engine.widgets import with_live_widget_ids
from provisioner.errors import DatadogError
from provisioner.model import (
    Action,
    ApplyResult,
    Json,
    JsonObject,
    LiveResource,
    Outcome,
    OutcomeStatus,
    Plan,
    PlannedChange,
    ResourceKind,
)

_MISSING = object()
_DUPLICATE_RE = re.compile(r"Duplicate of an existing monitor_id:\s*(\d+)")
_WRITE_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.ADOPT, Action.DRIFT, Action.CONFLICT})

ProgressCallback = Callable[[Outcome], None]


@dataclass(frozen=True)
class ApplyOptions:
    prune: bool = False
    force: bool = False
    concurrency: int = 8
    max_prune_share: float = 0.25
    create_attempts: int = 3


def apply_plan(
    plan: Plan, port: DatadogPort, options: ApplyOptions, progress: ProgressCallback | None = None
) -> ApplyResult:
    applier = _Applier(port, options, progress or (lambda _o: None), plan.namespace)
    writes = [c for c in plan.changes if c.action in _WRITE_ACTIONS]
    # Composites after the monitors they combine, with those monitors' Datadog ids put in.
    outcomes = references.write_in_waves(
        writes, plan.monitor_ids, lambda wave: applier.run_all(applier.write, wave), applier.report
    )
    deletes = [c for c in plan.changes if c.action is Action.DELETE]
    refused = ""
    if deletes and not options.prune:
        outcomes += [
            applier.report(c, "skipped", "removed from code; run with --prune to delete") for c in deletes
        ]
    elif deletes:
        refused = _prune_guard(len(deletes), plan.managed, options)
        if refused:
            outcomes += [applier.report(c, "skipped", refused) for c in deletes]
        else:
            outcomes += applier.delete_all(deletes)
    return ApplyResult(tuple(outcomes), refused)


def _prune_guard(deletes: int, managed: int, options: ApplyOptions) -> str:
    share = deletes / max(managed, 1)
    if options.force or share <= options.max_prune_share:
        return ""
    return (
        f"refused to delete {deletes} of {managed} managed resources ({share:.0%}, more than "
        f"{options.max_prune_share:.0%}); check the definitions paths, or run with --force"
    )


class _Applier:
    def __init__(
        self, port: DatadogPort, options: ApplyOptions, progress: ProgressCallback, namespace: str
    ) -> None:
        self.port = port
        self.namespace = namespace
        self.options = options
        self.progress = progress

    def run_all(
        self, step: Callable[[PlannedChange], Outcome], changes: Sequence[PlannedChange]
    ) -> list[Outcome]:
        if not changes:
            return []
        workers = max(1, min(self.options.concurrency, len(changes)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self._guarded(step), changes))

    def _guarded(self, step: Callable[[PlannedChange], Outcome]) -> Callable[[PlannedChange], Outcome]:
        def run(change: PlannedChange) -> Outcome:
            try:
                outcome = step(change)
            except DatadogError as exc:
                outcome = Outcome(change, "failed", change.datadog_id, str(exc))
            self.progress(outcome)
            return outcome

        return run

    def report(self, change: PlannedChange, status: OutcomeStatus, message: str) -> Outcome:
        outcome = Outcome(change, status, change.datadog_id, message)
        self.progress(outcome)
        return outcome

    # --- writes -----------------------------------------------------------------------------

    def write(self, change: PlannedChange) -> Outcome:
        if change.action is Action.DRIFT and change.keep_drift:
            return Outcome(change, "skipped", change.datadog_id, "hand edit kept (keep-drift)")
        if change.action is Action.CREATE:
            created = self._create(change)
            return Outcome(change, "ok", created.datadog_id, "created")
        body = self._body_for(change)
        updated = self._update(change.kind, change.datadog_id, body, change.live_body)
        verb = {Action.ADOPT: "adopted", Action.DRIFT: "drift reverted"}.get(change.action, "updated")
        if change.action is Action.CONFLICT and change.keep_drift:
            verb = "updated; hand edits kept (keep-drift)"
        return Outcome(change, "ok", updated.datadog_id, verb)

    def _body_for(self, change: PlannedChange) -> JsonObject:
        assert change.body is not None
        if change.action is Action.CONFLICT and change.keep_drift and change.live_body is not None:
            hand_edited = {
                identity.group_of(change.kind, f.pointer) for f in change.changes if f.origin == "datadog"
            }
            return _overlay(change.kind, change.body, change.live_body, hand_edited)
        return change.body

    def _update(
        self, kind: str, datadog_id: int | str | None, body: JsonObject, live_body: JsonObject | None
    ) -> LiveResource:
        assert datadog_id is not None
        if kind == "monitor":
            return self.port.update_monitor(int(datadog_id), body)
        return self.port.update_dashboard(str(datadog_id), with_live_widget_ids(body, live_body))

    def _create(self, change: PlannedChange) -> LiveResource:
        assert change.body is not None
        last_error: DatadogError | None = None
        for _attempt in range(self.options.create_attempts):
            try:
                if change.kind == "monitor":
                    return self.port.create_monitor(change.body)
                return self.port.create_dashboard(change.body)
            except DatadogError as exc:
                last_error = exc
                duplicate = _duplicate_of(exc)
                if duplicate is not None:
                    return self.port.update_monitor(duplicate, change.body)
                if not exc.maybe_applied:
                    raise
                stored = self._find_stored(change)
                if stored is not None:
                    return self._update(change.kind, stored.datadog_id, change.body, stored.body)
        assert last_error is not None
        raise last_error

    def _find_stored(self, change: PlannedChange) -> LiveResource | None:
        """The resource a failed create may have stored after all, found by its identity marks."""
        if change.kind == "monitor":
            candidates = self.port.list_monitors(monitor_tags=[identity.definition_tag(change.definition_id)])
            read_mark = identity.read_monitor_mark
        else:
            candidates = self.port.list_dashboards()
            read_mark = identity.read_dashboard_mark
        for candidate in candidates:
            mark = read_mark(candidate.body)
            if mark and mark.definition_id == change.definition_id and mark.namespace == self.namespace:
                if change.kind == "dashboard":
                    return self.port.get_dashboard(str(candidate.datadog_id))
                return candidate
        return None

    # --- deletes ----------------------------------------------------------------------------

    def delete_all(self, deletes: Sequence[PlannedChange]) -> list[Outcome]:
        dashboards = [c for c in deletes if c.kind == "dashboard"]
        monitors = [c for c in deletes if c.kind == "monitor"]
        outcomes = self.run_all(self._delete, dashboards)
        for wave in references.delete_waves(monitors):  # composites before the monitors they combine
            outcomes += self._delete_monitors(wave)
        return outcomes

    def _delete_monitors(self, monitors: Sequence[PlannedChange]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            blocked = self.port.monitors_blocking_delete([int(c.datadog_id or 0) for c in monitors])
        except DatadogError as exc:
            return [self.report(c, "failed", f"could not check references: {exc}") for c in monitors]
        for change in monitors:
            reason = blocked.get(int(change.datadog_id or 0))
            if reason:
                outcomes.append(self.report(change, "failed", f"not deleted, still referenced: {reason}"))
        outcomes += self.run_all(self._delete, [c for c in monitors if int(c.datadog_id or 0) not in blocked])
        return outcomes

    def _delete(self, change: PlannedChange) -> Outcome:
        assert change.datadog_id is not None
        try:
            if change.kind == "monitor":
                self.port.delete_monitor(int(change.datadog_id))
            else:
                self.port.delete_dashboard(str(change.datadog_id))
        except DatadogError as exc:
            if exc.status != 404:
                raise
            return Outcome(change, "ok", change.datadog_id, "already deleted")
        return Outcome(change, "ok", change.datadog_id, "deleted")


def _duplicate_of(error: DatadogError) -> int | None:
    if error.status != 400:
        return None
    match = _DUPLICATE_RE.search(error.message)
    return int(match.group(1)) if match else None


def _overlay(kind: ResourceKind, body: JsonObject, live: JsonObject, groups: set[str]) -> dict[str, Json]:
    """The desired body with the hand-edited field groups taken from the live body."""
    out: dict[str, Json] = dict(body)
    for group in sorted(groups, key=len):  # coarse groups first; finer groups refine them
        *parents, key = group.strip("/").split("/")
        target: dict[str, Json] = out
        source: JsonObject = live
        for part in parents:
            target[part] = dict(target.get(part) or {})
            target = target[part]
            child = source.get(part)
            source = child if isinstance(child, Mapping) else {}
        value = source.get(key, _MISSING)
        finer = identity.finer_group_keys(kind, group)
        if finer and isinstance(value, Mapping):
            kept = {k: v for k, v in (target.get(key) or {}).items() if k in finer}
            value = {**{k: v for k, v in value.items() if k not in finer}, **kept}
        if value is _MISSING:
            target.pop(key, None)
        else:
            target[key] = value
    return out
