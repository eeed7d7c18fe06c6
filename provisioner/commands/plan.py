"""``provisioner plan``: a dry run; what apply would change, what was changed by hand, and whether
Datadog accepts the monitors apply would write."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from provisioner.changes import Plan
from provisioner.commands._session import (
    command_deadline,
    current_plan,
    datadog_session,
    load_valid_project,
    metric_check,
    report_rejections,
    validated,
)
from provisioner.commands.key_check import expects_read_only_key, warn_if_key_can_write
from provisioner.engine.metric_gaps import MetricCheckSettings
from provisioner.engine.remote_validate import SKIPPED
from provisioner.errors import UserError
from provisioner.report.colour import colour_enabled, styler
from provisioner.report.plan_context import PlanContext
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
    remote_validate: bool = True,
    save_plan: Path | None = None,
    timeout_s: float | None = None,
    metric_settings: MetricCheckSettings | None = None,
) -> int:
    """``metric_settings`` None: the metrics-reporting check is off (``--no-metric-check``)."""
    if save_plan is not None:  # a plan that fails must not leave an older one to be applied
        _remove_stale(save_plan)
    project = load_valid_project(paths, env, config_path)
    if project is None:
        return 1
    deadline = command_deadline(timeout_s)
    with datadog_session(project.environment, use_emulator, api_url, deadline=deadline) as session:
        if expects_read_only_key():
            warn_if_key_can_write(session.port)
        result = current_plan(project, session.port)
        validation = validated(result, session.port) if remote_validate else SKIPPED
        checked = metric_check(project, session.port, metric_settings)
    context = PlanContext(session.app_url, validation, checked)
    colour = colour_enabled(sys.stdout)
    typer.echo(render_plan(result, output_format, context, colour), nl=False, color=colour)
    if out is not None:
        _write(out, render_plan(result, output_format, context), "--out")
    if validation.rejections:
        report_rejections(validation.rejections)
        return 1
    if save_plan is not None:  # the JSON plan, whatever --format shows: what `apply --plan` carries out
        from provisioner.report.plan_json import render_json

        _write(save_plan, render_json(result, context), "--save-plan")
    if detailed_exitcode and result.has_changes:
        return EXIT_CHANGES
    return 0


def render_plan(result: Plan, output_format: str, context: PlanContext, colour: bool = False) -> str:
    if output_format == "json":
        from provisioner.report.plan_json import render_json

        return render_json(result, context)
    if output_format == "markdown":
        from provisioner.report.plan_markdown import render_markdown

        return render_markdown(result, context=context)
    return render_text(result, styler(colour), context)


def _remove_stale(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise UserError(
            f"--save-plan {path}: cannot replace it ({exc.strerror or exc})",
            hint="name a file in a folder you may write to",
        ) from None


def _write(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(
            f"{option} {path}: cannot write it ({exc.strerror or exc})",
            hint="name a file in a folder that exists and that you may write to",
        ) from None
