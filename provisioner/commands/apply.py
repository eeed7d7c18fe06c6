"""``provisioner apply``: bring Datadog in line with the definitions, resource by resource.

Before the first write, Datadog is asked whether it accepts every monitor the plan creates or changes
in query, type or options (as ``plan`` does); when it rejects one, nothing is written, so a broken
definition never leaves an apply half done. ``--no-remote-validate`` skips the check.

With ``--format json``, stdout carries only the JSON outcome; the plan, the progress and the summary
go to stderr.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from provisioner.commands._session import current_plan, datadog_session, load_valid_project, report_rejections
from provisioner.engine.apply import ApplyOptions, apply_plan
from provisioner.engine.remote_validate import SKIPPED, validate_remotely
from provisioner.model import Action, ApplyResult, Outcome, Plan
from provisioner.report.apply_json import render_json
from provisioner.report.colour import colour_enabled, interactive, styler
from provisioner.report.outcomes import apply_summary, failures_block, outcome_line
from provisioner.report.plan_context import PlanContext
from provisioner.report.plan_text import render_text


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
) -> int:
    project = load_valid_project(paths, env, config_path)
    if project is None:
        return 1
    to_stderr = output_format == "json"
    human = sys.stderr if to_stderr else sys.stdout
    colour = colour_enabled(human)
    options = ApplyOptions(prune=prune, force=force, concurrency=concurrency)
    with datadog_session(project.environment, use_emulator, api_url, concurrency) as session:
        plan = current_plan(project, session.port, keep_drift, concurrency)
        validation = validate_remotely(plan, session.port, concurrency) if remote_validate else SKIPPED
        context = PlanContext(session.app_url, validation)
        typer.echo(render_text(plan, styler(colour), context), nl=False, err=to_stderr, color=colour)
        result = ApplyResult()
        if validation.rejections:
            report_rejections(validation.rejections)
            typer.echo("Nothing was written to Datadog.", err=True)
        elif work := _work_count(plan, prune):
            with _progress(work, to_stderr) as progress:
                result = apply_plan(plan, session.port, options, progress)
    if not validation.rejections:
        typer.echo(failures_block(result.outcomes), nl=False, err=to_stderr)
        typer.echo(apply_summary(result), err=to_stderr)
    if to_stderr:
        typer.echo(render_json(plan, result, context), nl=False)
    return 0 if result.ok and validation.ok else 1


def _work_count(plan: Plan, prune: bool) -> int:
    return sum(1 for c in plan.changes if prune or c.action is not Action.DELETE)


@contextmanager
def _progress(total: int, to_stderr: bool) -> Iterator[Callable[[Outcome], None]]:
    """A progress bar on a terminal (on stderr); one plain line per resource in CI logs."""
    lock = threading.Lock()
    if not interactive(sys.stderr):

        def line(outcome: Outcome) -> None:
            with lock:
                typer.echo(outcome_line(outcome), err=to_stderr)

        yield line
        return
    with typer.progressbar(length=total, label="Applying", file=sys.stderr) as bar:

        def tick(outcome: Outcome) -> None:
            with lock:
                bar.update(1)
                if outcome.status != "ok":
                    typer.echo("\n" + outcome_line(outcome), err=True)

        yield tick
