"""``provisioner apply``: bring Datadog in line with the definitions, resource by resource; or carry
out a saved plan (``--plan FILE``) exactly, refusing what changed in Datadog since it was made.

Before the first write, Datadog is asked whether it accepts every monitor the plan creates or changes
in query, type or options (as ``plan`` does); when it rejects one, nothing is written.
``--no-remote-validate`` skips the check. A saved plan was checked when ``plan`` made it (``plan``
saves none that Datadog rejects) and is not asked again, unless it was made with
``--no-remote-validate``: then it is asked now.

With ``--format json``, stdout carries only the JSON outcome; the plan, the progress and the summary
go to stderr.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import typer

from provisioner.changes import Action, ApplyResult, Outcome, Plan
from provisioner.commands._interrupt import Interrupt, finish_in_flight_on_signal
from provisioner.commands._session import (
    command_deadline,
    current_plan,
    datadog_session,
    load_valid_project,
    report_rejections,
    stderr_line,
    validated,
)
from provisioner.config import load_config, select_environment
from provisioner.datadog.client import DatadogClient, write_allowance_s
from provisioner.datadog.pacing import Deadline
from provisioner.engine.apply import ApplyOptions, apply_plan
from provisioner.engine.read import read_live_org
from provisioner.engine.remote_validate import SKIPPED, RemoteValidation
from provisioner.engine.saved_plan import GuardedPlan, dashboards_in, guard_saved_plan
from provisioner.errors import UserError
from provisioner.report.apply_json import render_json
from provisioner.report.colour import colour_enabled, interactive, styler
from provisioner.report.outcomes import apply_summary, failures_block, outcome_line
from provisioner.report.plan_context import PlanContext
from provisioner.report.plan_json import SavedPlan, read_saved_plan
from provisioner.report.plan_text import render_text, unasked_lines, validation_line


@dataclass(frozen=True)
class _Output:
    """Where the human-readable report goes: stdout, or stderr when stdout carries the JSON."""

    json: bool

    @property
    def colour(self) -> bool:
        return colour_enabled(sys.stderr if self.json else sys.stdout)

    def plan(self, plan: Plan, context: PlanContext) -> None:
        colour = self.colour
        typer.echo(render_text(plan, styler(colour), context), nl=False, err=self.json, color=colour)


def apply(
    paths: list[Path],
    env: str | None,
    config_path: Path | None,
    prune: bool,
    force: bool,
    keep_drift: bool,
    concurrency: int,
    use_emulator: bool,
    api_url: str | None,
    output_format: str = "text",
    remote_validate: bool = True,
    saved_plan: Path | None = None,
    timeout_s: float | None = None,
) -> int:
    options = ApplyOptions(prune=prune, force=force, concurrency=concurrency)
    output = _Output(json=output_format == "json")
    if saved_plan is not None:
        if paths:
            raise UserError("--plan carries out a saved plan as it is; it takes no definition paths")
        return _apply_saved(
            saved_plan, env, config_path, keep_drift, options, use_emulator, api_url, timeout_s, output,
            remote_validate,
        )  # fmt: skip
    project = load_valid_project(paths, env, config_path)
    if project is None:
        return 1
    deadline = command_deadline(timeout_s)
    with datadog_session(project.environment, use_emulator, api_url, concurrency, deadline) as session:
        plan = current_plan(project, session.port, keep_drift, concurrency)
        validation = validated(plan, session.port, concurrency) if remote_validate else SKIPPED
        context = PlanContext(session.app_url, validation)
        output.plan(plan, context)
        if validation.rejections:
            return _rejected(plan, context, output)
        return _carry_out(plan, session.port, options, deadline, context, output)


def _rejected(plan: Plan, context: PlanContext, output: _Output) -> int:
    assert context.validation.rejections
    report_rejections(context.validation.rejections)
    typer.echo("Nothing was written to Datadog.", err=True)
    if output.json:
        typer.echo(render_json(plan, ApplyResult(), context), nl=False)
    return 1


def _apply_saved(
    path: Path,
    env: str | None,
    config_path: Path | None,
    keep_drift: bool,
    options: ApplyOptions,
    use_emulator: bool,
    api_url: str | None,
    timeout_s: float | None,
    output: _Output,
    remote_validate: bool,
) -> int:
    """What Datadog did not judge when the plan was made is validated here, as ``apply`` without a plan
    does; a plan whose monitors Datadog rejected when it was made is refused."""
    read = _read_plan_file(path)
    saved = read.plan
    assert saved.origin is not None
    if read.validation_status == "rejected":
        raise UserError(
            f"{path}: Datadog rejected monitors of this plan when it was made (remote_validation.status: "
            "rejected); nothing was sent",
            hint="fix the definitions Datadog rejects and plan again",
        )
    if env is not None and env != saved.origin.environment:
        raise UserError(f"{path} was planned for environment '{saved.origin.environment}', not '{env}'")
    environment = select_environment(load_config(config_path), saved.origin.environment)
    if environment.namespace != saved.namespace:
        raise UserError(
            f"{path} was planned for namespace '{saved.namespace}'; environment '{environment.name}' "
            f"now manages namespace '{environment.namespace}'",
            hint="plan again",
        )
    deadline = command_deadline(timeout_s)
    with datadog_session(environment, use_emulator, api_url, options.concurrency, deadline) as session:
        port = session.port
        if port.target_name != saved.origin.target:
            raise UserError(
                f"{path} was planned against {saved.origin.target}; this run would apply it to {port.target_name}",
                hint="apply it with the same --api-url / site / --emulator it was planned with, or plan again",
            )
        typer.echo(f"Applying the saved plan {path} (made for environment '{environment.name}'):", err=True)
        output.plan(saved, PlanContext(session.app_url, SKIPPED))
        guarded = guard_saved_plan(saved, read_live_org(port, dashboards_in(saved), options.concurrency))
        plan = guarded.plan
        if keep_drift:
            plan = replace(plan, changes=tuple(replace(c, keep_drift=True) for c in plan.changes))
        validation = _validate_unjudged(read, plan, port, options.concurrency) if remote_validate else SKIPPED
        context = PlanContext(session.app_url, validation)
        if validation.rejections:
            return _rejected(plan, context, output)
        return _carry_out(plan, port, options, deadline, context, output, guarded)


def _validate_unjudged(
    saved: SavedPlan, plan: Plan, port: DatadogClient, concurrency: int
) -> RemoteValidation:
    """Datadog's verdict on what it did not judge when the plan was made: everything, for a plan made with
    ``--no-remote-validate``; else the monitors it could not judge then (a composite whose monitors did
    not exist yet, a key that may not validate log monitors)."""
    if saved.validation_status == "skipped":
        typer.echo("The plan was made without asking Datadog to validate it: asking now.", err=True)
    else:
        # Those still to carry out: a rerun of the plan does not send again what is applied already.
        unjudged = tuple(c for c in plan.changes if (c.kind, c.definition_id) in saved.unjudged)
        if not unjudged:
            return SKIPPED
        typer.echo(
            f"Datadog could not judge {len(unjudged)} of the plan's monitors when it was made: asking now.",
            err=True,
        )
        plan = replace(plan, changes=unjudged)
    validation = validated(plan, port, concurrency)
    typer.echo(
        "\n".join(
            [validation_line(validation) or "Nothing in it needs validating.", *unasked_lines(validation)]
        ),
        err=True,
    )
    return validation


def _read_plan_file(path: Path) -> SavedPlan:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the saved plan {path}: {exc}") from None
    return read_saved_plan(text, str(path))


def _carry_out(
    plan: Plan,
    port: DatadogClient,
    options: ApplyOptions,
    deadline: Deadline,
    context: PlanContext,
    output: _Output,
    saved: GuardedPlan | None = None,
) -> int:
    """Apply the plan (for a saved plan, what is left of it once the guard has set aside the changes
    that no longer hold and those already applied), report, and give the exit code."""
    work = _work_count(plan, options.prune)
    result = ApplyResult()
    interrupt = Interrupt()
    if plan.changes:  # every change gets an outcome, deletes skipped without --prune included
        if work:
            deadline.extend(write_allowance_s(work))
        with _stop_on_signal(port) as interrupt, _progress(len(plan.changes), output.json) as progress:
            result = apply_plan(plan, port, options, progress, _stop_reason(interrupt, deadline))
    if saved is not None:
        result = _with_guard_outcomes(result, saved)
    typer.echo(failures_block(result.outcomes), nl=False, err=output.json)
    typer.echo(apply_summary(result), err=output.json)
    if output.json:
        typer.echo(render_json(plan, result, context), nl=False)
    if interrupt.signal is not None:
        return interrupt.exit_code
    return 0 if result.ok else 1


def _with_guard_outcomes(result: ApplyResult, saved: GuardedPlan) -> ApplyResult:
    """The outcomes of a saved plan's changes the guard settled, before those apply carried out."""
    notes: list[str] = []
    if saved.applied:
        count = len(saved.applied)
        if not saved.refused and not result.outcomes:
            notes.append(f"the saved plan was already applied: Datadog has all {count} of its changes")
        else:
            notes.append(
                f"{_planned_changes_were(count)} already applied (an earlier run of this plan); not sent again"
            )
    if saved.refused:
        notes.append(
            f"{_planned_changes_were(len(saved.refused))} refused: Datadog changed since the plan was made; "
            "plan again"
        )
    return replace(
        result,
        outcomes=saved.refused + saved.applied + result.outcomes,
        notes=(*result.notes, *notes),
        replan=bool(saved.refused),
    )


def _planned_changes_were(count: int) -> str:
    return f"{count} planned change was" if count == 1 else f"{count} planned changes were"


@contextmanager
def _stop_on_signal(port: DatadogClient) -> Iterator[Interrupt]:
    def stop_writes(reason: str) -> None:
        port.gate.cancel(reason)
        stderr_line(
            f"{reason}: no new write starts; the ones in flight finish. Press Ctrl-C again to exit at once."
        )

    with finish_in_flight_on_signal(stop_writes) as interrupt:
        yield interrupt


def _stop_reason(interrupt: Interrupt, deadline: Deadline) -> Callable[[], str]:
    def reason() -> str:
        if interrupt.reason:
            return interrupt.reason
        return f"{deadline.describe()} ran out" if deadline.expired() else ""

    return reason


def _work_count(plan: Plan, prune: bool) -> int:
    return sum(1 for c in plan.changes if prune or c.action is not Action.DELETE)


@contextmanager
def _progress(total: int, to_stderr: bool) -> Iterator[Callable[[Outcome], None]]:
    """A progress bar on a terminal (on stderr); one plain line per resource in CI logs (none for the
    resources an interrupt left unstarted: the summary counts them)."""
    lock = threading.Lock()
    if not interactive(sys.stderr):

        def line(outcome: Outcome) -> None:
            if outcome.status != "not_started":
                with lock:
                    typer.echo(outcome_line(outcome), err=to_stderr)

        yield line
        return
    with typer.progressbar(length=total, label="Applying", file=sys.stderr) as bar:

        def tick(outcome: Outcome) -> None:
            with lock:
                bar.update(1)
                if outcome.status not in ("ok", "not_started"):
                    stderr_line(outcome_line(outcome))

        yield tick
