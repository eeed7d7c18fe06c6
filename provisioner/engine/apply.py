"""Carry out a plan against Datadog, resource by resource. Never prints; returns outcomes.

- Writes run in parallel (bounded). One failure never stops the others.
- A create that may have been stored although it failed (5xx, dropped connection, timeout, an
  answer that is not Datadog's JSON) is looked up by its identity before it is sent again, and a
  "Duplicate of an existing monitor_id:N" answer adopts N.
- After the creates, one list call per kind looks for copies an apply running at the same time
  made of the same definitions: of two copies the oldest stays (``duplicates.oldest_first``, the
  order every run agrees on) and this run deletes the newer copy it made itself. A copy left by a
  crash or an older version is a REPAIR in the next plan, carried out without ``prune``.
- Deletes run only with ``prune``, after the writes, dashboards before monitors; monitors still
  used by an SLO or a composite are reported, not forced; a guard refuses to delete more than
  a share of the managed resources unless forced.
- ``stop`` (an interrupt, the deadline) is asked before each write starts: once it gives a reason,
  nothing new starts, writes in flight finish, and the rest are reported as not started.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from provisioner import identity
from provisioner.changes import Action, ApplyResult, LiveResource, Outcome, OutcomeStatus, Plan, PlannedChange
from provisioner.datadog.port import DatadogPort
from provisioner.engine import references
from provisioner.engine.duplicates import oldest_first
from provisioner.engine.resources import RULES
from provisioner.engine.widgets import with_live_widget_ids
from provisioner.errors import DatadogError, NotSentError
from provisioner.model import Json, JsonObject, ResourceKind

_MISSING = object()
_DUPLICATE_RE = re.compile(r"Duplicate of an existing monitor_id:\s*(\d+)")
_WRITE_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.ADOPT, Action.DRIFT, Action.CONFLICT})

_Item = TypeVar("_Item")
ProgressCallback = Callable[[Outcome], None]
StopReason = Callable[[], str]  # "" to go on; otherwise why no new write may start


@dataclass(frozen=True)
class ApplyOptions:
    prune: bool = False
    force: bool = False
    concurrency: int = 8
    max_prune_share: float = 0.25
    create_attempts: int = 3


def apply_plan(
    plan: Plan,
    port: DatadogPort,
    options: ApplyOptions,
    progress: ProgressCallback | None = None,
    stop: StopReason | None = None,
) -> ApplyResult:
    applier = _Applier(port, options, progress or (lambda _o: None), plan.namespace, stop or (lambda: ""))
    writes = [c for c in plan.changes if c.action in _WRITE_ACTIONS]
    notes: list[str] = []

    def write_wave(wave: Sequence[PlannedChange]) -> list[Outcome]:
        # Copies settled wave by wave, so that composites get the ids of the copies that stay.
        outcomes, wave_notes = applier.keep_oldest_copies(applier.run_all(applier.write, wave))
        notes.extend(wave_notes)
        return outcomes

    # Composites after the monitors they combine, with those monitors' Datadog ids put in.
    outcomes = references.write_in_waves(writes, plan.monitor_ids, write_wave, applier.report)
    outcomes += applier.delete_all([c for c in plan.changes if c.action is Action.REPAIR])
    deletes = [c for c in plan.changes if c.action is Action.DELETE]
    refused = ""
    if deletes and not options.prune:
        outcomes += [
            applier.report(c, "skipped", "removed from code; run with --prune to delete") for c in deletes
        ]
        notes.append(
            f"{len(deletes)} resource{'s' if len(deletes) != 1 else ''} removed from code "
            f"{'were' if len(deletes) != 1 else 'was'} not deleted: apply deletes only with --prune"
        )
    elif deletes:
        refused = _prune_guard(len(deletes), plan.managed, options)
        if refused:
            outcomes += [applier.report(c, "skipped", refused) for c in deletes]
        else:
            outcomes += applier.delete_all(deletes)
    return ApplyResult(tuple(outcomes), refused, stopped=applier.stop(), notes=tuple(notes))


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
        self,
        port: DatadogPort,
        options: ApplyOptions,
        progress: ProgressCallback,
        namespace: str,
        stop: StopReason,
    ) -> None:
        self.port = port
        self.namespace = namespace
        self.options = options
        self.progress = progress
        self.stop = stop

    def run_all(
        self, step: Callable[[PlannedChange], Outcome], changes: Sequence[PlannedChange]
    ) -> list[Outcome]:
        return self._parallel(self._guarded(step), changes)

    def _parallel(self, step: Callable[[_Item], Outcome], items: Sequence[_Item]) -> list[Outcome]:
        if not items:
            return []
        workers = max(1, min(self.options.concurrency, len(items)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(step, items))

    def _guarded(self, step: Callable[[PlannedChange], Outcome]) -> Callable[[PlannedChange], Outcome]:
        def run(change: PlannedChange) -> Outcome:
            reason = self.stop()
            if reason:
                outcome = Outcome(change, "not_started", change.datadog_id, f"not started: {reason}")
            else:
                try:
                    outcome = step(change)
                except NotSentError as exc:
                    outcome = Outcome(change, "not_started", change.datadog_id, str(exc))
                except DatadogError as exc:
                    outcome = Outcome(change, "failed", change.datadog_id, str(exc))
            self.progress(outcome)
            return outcome

        return run

    def report(self, change: PlannedChange, status: OutcomeStatus, message: str) -> Outcome:
        outcome = Outcome(change, status, change.datadog_id, message)
        self.progress(outcome)
        return outcome

    # --- copies made by an apply running at the same time -----------------------------------

    def keep_oldest_copies(self, outcomes: list[Outcome]) -> tuple[list[Outcome], list[str]]:
        created = [o for o in outcomes if o.status == "ok" and o.change.action is Action.CREATE]
        kinds: set[ResourceKind] = {o.change.kind for o in created}
        try:
            copies = {kind: self._marked_copies(kind) for kind in sorted(kinds)}
        except DatadogError as exc:
            return outcomes, [
                f"could not look for copies made by an apply running at the same time ({exc.message}); "
                "the next plan shows any as a repair"
            ]
        settled = dict(
            zip(map(id, created), self._parallel(lambda o: self._settle(o, copies), created), strict=True)
        )
        notes = []
        given_up = sum(1 for o in created if settled[id(o)] is not o and settled[id(o)].status == "ok")
        if given_up:
            notes.append(
                f"{given_up} of the resources this run created were also created by an apply running at the "
                "same time; this run deleted its newer copies, the older ones stay"
            )
        return [settled.get(id(o), o) for o in outcomes], notes

    def _marked_copies(self, kind: ResourceKind) -> dict[str, list[LiveResource]]:
        if kind == "monitor":
            live = self.port.list_monitors(monitor_tags=[f"{identity.NAMESPACE_TAG}:{self.namespace}"])
        else:
            live = self.port.list_dashboards()
        copies: dict[str, list[LiveResource]] = defaultdict(list)
        for resource in live:
            mark = RULES[kind].read_mark(resource.body)
            if mark is not None and mark.namespace == self.namespace:
                copies[mark.definition_id].append(resource)
        return copies

    def _settle(
        self, outcome: Outcome, copies: Mapping[ResourceKind, Mapping[str, list[LiveResource]]]
    ) -> Outcome:
        """The outcome itself when this run's copy is the oldest; otherwise the outcome of giving it up."""
        change, mine = outcome.change, outcome.datadog_id
        found = oldest_first(copies[change.kind].get(change.definition_id, ()))
        if not found or found[0].datadog_id == mine or all(c.datadog_id != mine for c in found):
            return outcome
        kept = found[0]
        try:
            self._delete_resource(change.kind, mine)
            message = (
                f"created {mine}, then deleted it: an apply running at the same time created "
                f"{kept.datadog_id} first, which stays"
            )
            if not _same_mark(change.kind, kept.body, change.body):
                assert change.body is not None
                self._update(change.kind, kept.datadog_id, change.body, self._whole(kept).body)
                message += " (updated to this definition)"
        except DatadogError as exc:
            return Outcome(
                change,
                "failed",
                mine,
                f"created {mine}, but an apply running at the same time created {kept.datadog_id} first "
                f"and this copy could not be settled: {exc}; the next apply repairs it",
            )
        return Outcome(change, "ok", kept.datadog_id, message)

    def _whole(self, resource: LiveResource) -> LiveResource:
        return resource if resource.complete else self.port.get_dashboard(str(resource.datadog_id))

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
        lost: DatadogError | None = None  # the last attempt whose answer was lost
        for _attempt in range(self.options.create_attempts):
            try:
                return self._create_once(change, change.body)
            except NotSentError as exc:
                if lost is None:
                    raise
                raise _maybe_created(lost, exc) from None
            except DatadogError as exc:
                if not exc.maybe_applied:
                    raise
                lost = exc
        assert lost is not None
        raise lost

    def _create_once(self, change: PlannedChange, body: JsonObject) -> LiveResource:
        try:
            if change.kind == "monitor":
                return self.port.create_monitor(body)
            return self.port.create_dashboard(body)
        except DatadogError as exc:
            duplicate = _duplicate_of(exc)
            if duplicate is not None:
                return self.port.update_monitor(duplicate, body)
            if not exc.maybe_applied:
                raise
            try:
                stored = self._find_stored(change)
            except DatadogError as lookup:
                raise _maybe_created(exc, lookup) from None
            if stored is None:
                raise
            if _same_mark(change.kind, stored.body, body):
                return stored
            return self._update(change.kind, stored.datadog_id, body, stored.body)

    def _find_stored(self, change: PlannedChange) -> LiveResource | None:
        """The resource a create whose answer was lost may have stored, found by its identity marks."""
        if change.kind == "monitor":
            candidates = self.port.list_monitors(monitor_tags=[identity.definition_tag(change.definition_id)])
        else:
            candidates = self.port.list_dashboards()
        read_mark = RULES[change.kind].read_mark
        for candidate in oldest_first(candidates):
            mark = read_mark(candidate.body)
            if mark and mark.definition_id == change.definition_id and mark.namespace == self.namespace:
                return self._whole(candidate)
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
        blocked: dict[int, str] = {}
        if not self.stop():
            try:
                blocked = self.port.monitors_blocking_delete([int(c.datadog_id or 0) for c in monitors])
            except NotSentError as exc:
                return [self.report(c, "not_started", str(exc)) for c in monitors]
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
        deleted = self._delete_resource(change.kind, change.datadog_id)
        verb = "deleted; the older copy stays" if change.action is Action.REPAIR else "deleted"
        return Outcome(change, "ok", change.datadog_id, verb if deleted else "already deleted")

    def _delete_resource(self, kind: ResourceKind, datadog_id: int | str | None) -> bool:
        """False when it was gone already."""
        assert datadog_id is not None
        try:
            if kind == "monitor":
                self.port.delete_monitor(int(datadog_id))
            else:
                self.port.delete_dashboard(str(datadog_id))
        except DatadogError as exc:
            if exc.status != 404:
                raise
            return False
        return True


def _maybe_created(lost: DatadogError, lookup: DatadogError) -> DatadogError:
    """A create whose answer was lost and whose look-up failed: it must not be sent again blindly."""
    return DatadogError(
        f"{lost.message}; it may have been created, and looking for it failed: {lookup.message}",
        hint="the next plan finds it by its marks if it was",
    )


def _same_mark(kind: ResourceKind, live: JsonObject, desired: JsonObject | None) -> bool:
    """Whether a live copy was made from the same definition content as ``desired`` (by fingerprint)."""
    read_mark = RULES[kind].read_mark
    live_mark, desired_mark = read_mark(live), read_mark(desired or {})
    return (
        live_mark is not None
        and desired_mark is not None
        and live_mark.fingerprint == desired_mark.fingerprint
    )


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
