"""Ask Datadog, before anything is written, whether it accepts the monitors a plan would write.

Local validation knows provisioner's rules; only Datadog knows its query grammar for every monitor
type, so "plan passes, apply fails" is what users of other tools complain about most. Every monitor
the plan creates, or changes in its query, type or options, is sent to Datadog's validate endpoint
(``POST /api/v1/monitor/validate``, ``POST /api/v1/monitor/{id}/validate``; it writes nothing), in
parallel and bounded. A change of name, message, tags or priority alone is not asked about (kennel
skips the same), so a plan with nothing to write still costs only its list calls.

What is validated is the definition's body. A conflict applied with keep-drift sends the code's
fields and keeps the hand-edited ones; Datadog accepted those hand edits already.

Two kinds of monitor are not judged, and the verdict says which (``unasked``): a composite combining
monitors the apply creates first (Datadog judges a composite only against monitors that exist; its
grammar and references were checked locally by ``validate``), and a monitor whose validate request
Datadog refuses with 401 or 403 (a permission of the application key: Datadog asks for an unscoped
key to validate log monitors). Neither is a rejection.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from provisioner import identity
from provisioner.changes import Action, Plan, PlannedChange
from provisioner.datadog.port import DatadogPort
from provisioner.engine import references
from provisioner.errors import DatadogError
from provisioner.model import Problem

VALIDATED_FIELDS = ("/query", "/type", "/options")
REJECTED_CODE = "datadog-rejected"
FORBIDDEN = frozenset({401, 403})  # about the key, not the body
_WRITES = frozenset({Action.CREATE, Action.UPDATE, Action.ADOPT, Action.DRIFT, Action.CONFLICT})


@dataclass(frozen=True)
class Rejection:
    """Datadog's refusal of one monitor body, in its own words."""

    change: PlannedChange
    message: str
    status: int | None
    hint: str = ""

    def problem(self) -> Problem:
        """As a definition problem, at the definition's file:line."""
        source = self.change.source
        return Problem(
            path=source.path if source else f"<{self.change.kind} {self.change.definition_id}>",
            line=source.line if source else 1,
            col=source.col if source else 1,
            pointer="",
            code=REJECTED_CODE,
            severity="error",
            message=f"Datadog rejects monitor '{self.change.definition_id}': {self.message}",
            hint=self.hint
            or "fix the query, type or options; `provisioner render` prints the body Datadog was sent",
        )


@dataclass(frozen=True)
class Unasked:
    """A monitor the plan writes that Datadog did not judge, and why."""

    change: PlannedChange
    reason: str
    status: int | None = None  # 401 or 403 when Datadog refused the validate request itself

    @property
    def forbidden(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class RemoteValidation:
    """What Datadog said about the monitors a plan writes. ``asked`` is False when the check was skipped;
    ``checked`` counts the monitors Datadog judged."""

    asked: bool
    checked: int = 0
    rejections: tuple[Rejection, ...] = ()
    requests: int = 0
    unasked: tuple[Unasked, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.rejections

    def rejection_of(self, change: PlannedChange) -> Rejection | None:
        return next(
            (
                r
                for r in self.rejections
                if (r.change.kind, r.change.definition_id) == (change.kind, change.definition_id)
            ),
            None,
        )


SKIPPED = RemoteValidation(asked=False)


def needs_remote_validation(change: PlannedChange) -> bool:
    if change.kind != "monitor" or change.body is None or change.action not in _WRITES:
        return False
    if change.action is Action.DRIFT and change.keep_drift:
        return False  # apply leaves it as it is
    if change.action is Action.CREATE:
        return True
    return any(_validated(f.pointer) for f in change.changes)


def _validated(pointer: str) -> bool:
    return any(pointer == field or pointer.startswith(field + "/") for field in VALIDATED_FIELDS)


def requests_needed(plan: Plan) -> int:
    """At most how many validate requests ``validate_remotely`` sends for this plan."""
    return sum(1 for c in plan.changes if needs_remote_validation(c))


def validate_remotely(plan: Plan, port: DatadogPort, concurrency: int = 8) -> RemoteValidation:
    """Rejections are 4xx answers about a body (401 and 403 are about the key: not judged); 429s past
    the retry budget, 5xx and lost connections are not a verdict and raise ``DatadogError``."""
    # Composites name their monitors @{definition id}: Datadog judges them with those monitors' ids.
    changes, waiting = references.validatable(
        [c for c in plan.changes if needs_remote_validation(c)], plan.monitor_ids
    )
    before = port.request_count
    verdicts = _ask_all(port, changes, concurrency)
    unasked = tuple(
        Unasked(
            change, f"it combines {', '.join(map(identity.reference, missing))}, which apply creates first"
        )
        for change, missing in waiting
    ) + tuple(v for v in verdicts if isinstance(v, Unasked))
    rejections = tuple(v for v in verdicts if isinstance(v, Rejection))
    judged = len(changes) - sum(1 for v in verdicts if isinstance(v, Unasked))
    return RemoteValidation(True, judged, rejections, port.request_count - before, unasked)


def _ask_all(
    port: DatadogPort, changes: Sequence[PlannedChange], concurrency: int
) -> list[Rejection | Unasked | None]:
    if not changes:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(changes)))) as pool:
        return list(pool.map(lambda change: _ask(port, change), changes))


def _ask(port: DatadogPort, change: PlannedChange) -> Rejection | Unasked | None:
    assert change.body is not None
    datadog_id = None if change.action is Action.CREATE else int(str(change.datadog_id))
    try:
        port.validate_monitor(change.body, datadog_id)
    except DatadogError as exc:
        if exc.status is None or exc.status == 429 or exc.status >= 500:
            raise DatadogError(
                f"Datadog could not validate monitor '{change.definition_id}': {exc.message}",
                exc.status,
                hint="nothing was written; run again, or skip the check with --no-remote-validate",
            ) from None
        if exc.status in FORBIDDEN:
            return Unasked(change, f"Datadog refused to validate it: {_in_datadogs_words(exc)}", exc.status)
        return Rejection(change, _in_datadogs_words(exc), exc.status, exc.hint)
    return None


def _in_datadogs_words(error: DatadogError) -> str:
    details = error.details
    if isinstance(details, list) and details:
        return "; ".join(map(str, details))
    return error.message
