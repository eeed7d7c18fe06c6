"""``provisioner audit``: every monitor and dashboard in the org, who owns it, what is wrong with it,
and which mesh services lack which signal. Reads the org with list calls only."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from provisioner.commands._session import datadog_connection, load_project, metric_check, parse_duration
from provisioner.engine.audit import audit_org
from provisioner.engine.audit_types import AuditReport, AuditSettings, FailScope, FindingSeverity
from provisioner.engine.metric_gaps import MetricCheckSettings
from provisioner.engine.read import all_marked_dashboards, read_live_org
from provisioner.report.audit_json import render_json
from provisioner.report.audit_markdown import render_markdown
from provisioner.report.audit_text import render_text
from provisioner.report.colour import colour_enabled, styler

EXIT_FINDINGS = 1


def audit(
    paths: list[Path],
    env: str | None,
    config_path: Path | None,
    output_format: str,
    fail_on: str,
    use_emulator: bool,
    api_url: str | None,
    mute_limit: str | None = None,
    stuck_limit: str | None = None,
    now: datetime | None = None,
    metric_settings: MetricCheckSettings | None = None,
    fail_scope: str = FailScope.ORG.value,
) -> int:
    """``fail_scope``: which findings ``fail_on`` counts (see ``FailScope``). ``mute_limit``/``stuck_limit``: durations such as ``36h``; None keeps ``AuditSettings``' defaults.
    ``metric_settings`` None: the metrics-reporting check is off (``--no-metric-check``)."""
    defaults = AuditSettings()
    settings = AuditSettings(
        parse_duration(mute_limit, "--mute-limit") if mute_limit is not None else defaults.mute_limit,
        parse_duration(stuck_limit, "--stuck-limit") if stuck_limit is not None else defaults.stuck_limit,
    )
    project = load_project(paths, env, config_path, allow_no_definitions=True)
    if not project.definitions.ok:
        typer.echo("Nothing was audited: fix the definitions first (they decide what is managed).", err=True)
        return 1
    with datadog_connection(project.environment, use_emulator, api_url) as port:
        live = read_live_org(port, all_marked_dashboards)
        checked = metric_check(project, port, metric_settings, live.monitors)
    report = audit_org(
        project.definitions,
        live,
        project.namespace,
        now or datetime.now(UTC),
        settings,
        services=project.config.services,
        metric_check=checked,
    )
    colour = colour_enabled(sys.stdout)
    typer.echo(render_audit(report, output_format, colour=colour), nl=False, color=colour)
    threshold = None if fail_on == "never" else FindingSeverity(fail_on)
    return EXIT_FINDINGS if report.fails(threshold, FailScope(fail_scope)) else 0


def render_audit(report: AuditReport, output_format: str, colour: bool = False) -> str:
    if output_format == "json":
        return render_json(report)
    if output_format == "markdown":
        return render_markdown(report)
    return render_text(report, styler(colour))
