"""``provisioner plan``: a dry run; what apply would change, and what was changed by hand."""

from __future__ import annotations

from pathlib import Path

import typer

from provisioner.commands._session import (
    command_deadline,
    current_plan,
    datadog_connection,
    load_valid_project,
    styler,
    use_colour,
)
from provisioner.model import Plan
from provisioner.report.plan_json import render_json
from provisioner.report.plan_markdown import render_markdown
from provisioner.report.plan_text import render_text

EXIT_CHANGES = 2


def plan(
    paths: list[Path],
    env: str | None,
    config_path: Path | None,
    output_format: str,
    detailed_exitcode: bool,
    out: Path | None,
    use_emulator: bool,
    api_url: str | None,
    save_plan: Path | None = None,
    timeout_s: float | None = None,
) -> int:
    project = load_valid_project(paths, env, config_path)
    if project is None:
        return 1
    with datadog_connection(
        project.environment, use_emulator, api_url, deadline=command_deadline(timeout_s)
    ) as port:
        result = current_plan(project, port)
    typer.echo(render_plan(result, output_format, colour=use_colour()), nl=False)
    if out is not None:
        out.write_text(render_plan(result, output_format, colour=False), encoding="utf-8")
    if save_plan is not None:  # the JSON plan, whatever --format shows: what `apply --plan` carries out
        save_plan.write_text(render_json(result), encoding="utf-8")
    if detailed_exitcode and result.has_changes:
        return EXIT_CHANGES
    return 0


def render_plan(result: Plan, output_format: str, colour: bool = False) -> str:
    if output_format == "json":
        return render_json(result)
    if output_format == "markdown":
        return render_markdown(result)
    return render_text(result, styler(colour))
