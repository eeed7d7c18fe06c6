"""``provisioner apply``: bring Datadog in line with the definitions, resource by resource."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from provisioner.commands._session import (
    current_plan,
    datadog_connection,
    load_valid_project,
    styler,
    use_colour,
)
from provisioner.engine.apply import ApplyOptions, apply_plan
from provisioner.model import Action, Outcome, Plan
from provisioner.report.outcomes import apply_summary, failures_block, outcome_line
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
) -> int:
    project = load_valid_project(paths, env, config_path)
    if project is None:
        return 1
    options = ApplyOptions(prune=prune, force=force, concurrency=concurrency)
    with datadog_connection(project.environment, use_emulator, api_url, concurrency) as port:
        plan = current_plan(project, port, keep_drift, concurrency)
        typer.echo(render_text(plan, styler(use_colour())), nl=False)
        work = _work_count(plan, prune)
        if not work:
            return 0
        with _progress(work) as progress:
            result = apply_plan(plan, port, options, progress)
    typer.echo(failures_block(result.outcomes), nl=False)
    typer.echo(apply_summary(result))
    return 0 if result.ok else 1


def _work_count(plan: Plan, prune: bool) -> int:
    return sum(1 for c in plan.changes if prune or c.action is not Action.DELETE)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[Outcome], None]]:
    """A progress bar on a terminal; one plain line per resource in CI logs."""
    lock = threading.Lock()
    if not sys.stderr.isatty():

        def line(outcome: Outcome) -> None:
            with lock:
                typer.echo(outcome_line(outcome))

        yield line
        return
    with typer.progressbar(length=total, label="Applying", file=sys.stderr) as bar:

        def tick(outcome: Outcome) -> None:
            with lock:
                bar.update(1)
                if outcome.status != "ok":
                    typer.echo("\n" + outcome_line(outcome), err=True)

        yield tick
