"""``provisioner audit``: every monitor and dashboard in the org, who owns it, what is wrong with it,
and which mesh services lack which signal. Reads the org with list calls only."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from provisioner.commands._session import datadog_connection, load_project, metric_check
from provisioner.engine.audit import audit_org
from provisioner.engine.audit_types import AuditReport, AuditSettings, FindingSeverity
from provisioner.engine.metric_check import MetricCheckSettings, live_monitors
from provisioner.engine.read import all_marked_dashboards, read_live_org
from provisioner.errors import UserError
from provisioner.report.audit_json import render_json
from provisioner.report.audit_markdown import render_markdown
from provisioner.report.audit_text import render_text
from provisioner.report.colour import colour_enabled, styler

EXIT_FINDINGS = 1
_DURATION_RE = re.compile(r"(?P<amount>\d+)(?P<unit>[smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


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
) -> int:
    """``mute_limit``/``stuck_limit``: durations such as ``36h``; None keeps ``AuditSettings``' defaults.
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
        checked = metric_check(project, port, live_monitors(live.monitors), metric_settings)
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
    return EXIT_FINDINGS if report.fails(threshold) else 0


def render_audit(report: AuditReport, output_format: str, colour: bool = False) -> str:
    if output_format == "json":
        return render_json(report)
    if output_format == "markdown":
        return render_markdown(report)
    return render_text(report, styler(colour))


def parse_duration(text: str, option: str) -> timedelta:
    """``90m``, ``36h``, ``7d``, ``2w`` → a timedelta."""
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise UserError(
            f"{option}: '{text}' is not a duration", "write a number and a unit: 30m, 36h, 7d or 2w"
        )
    return timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})


def metric_check_settings(enabled: bool, window: str | None) -> MetricCheckSettings | None:
    """From ``--metric-check/--no-metric-check`` and ``--metric-window``; None: the check is off."""
    if not enabled:
        return None
    if window is None:
        return MetricCheckSettings()
    duration = parse_duration(window, "--metric-window")
    if not duration:
        raise UserError("--metric-window: the window must be longer than 0", "e.g. 24h (the default) or 7d")
    return MetricCheckSettings(window=duration)
