"""What the commands that talk to Datadog share: loading the project, and opening a connection
(to Datadog, or to the embedded emulator with ``--emulator``)."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from provisioner.changes import LiveResource, Plan, PlanOrigin
from provisioner.config import load_config, select_environment
from provisioner.credentials import Target, app_url, resolve_endpoint, resolve_target
from provisioner.datadog.client import READ_DEADLINE_S, ClientSettings, DatadogClient, write_allowance_s
from provisioner.datadog.pacing import Deadline, RateLimitWait
from provisioner.definitions import load_definitions
from provisioner.definitions.cache import default_cache_directory
from provisioner.engine.metric_gaps import NOT_CHECKED, MetricCheck, MetricCheckSettings
from provisioner.engine.plan import compute_plan
from provisioner.engine.read import dashboards_for_plan, read_live_org
from provisioner.engine.remote_validate import Rejection, RemoteValidation, requests_needed, validate_remotely
from provisioner.errors import UserError
from provisioner.model import DefinitionSet, Environment, ProjectConfig
from provisioner.report.colour import interactive
from provisioner.report.problems import format_problems

EMULATOR_STATE = Path(".provisioner") / "emulator-state.json"


@dataclass(frozen=True)
class Project:
    config: ProjectConfig
    environment: Environment
    definitions: DefinitionSet

    @property
    def namespace(self) -> str:
        return self.environment.namespace


NO_DEFINITIONS = "no-definitions"  # the loader's problem code when no definition folder exists


def load_project(
    paths: Sequence[Path], env: str | None, config_path: Path | None, allow_no_definitions: bool = False
) -> Project:
    """Config, environment and definitions; problems are printed to stderr (callers check ``ok``).

    With ``allow_no_definitions`` (audit, import), a team that has no definitions yet can still
    read its org: nothing is managed then, everything is unmanaged."""
    cache_directory = default_cache_directory()
    config = load_config(config_path, cache_directory)
    environment = select_environment(config, env)
    definitions = load_definitions(list(paths), environment, config, cache_directory)
    if allow_no_definitions and not paths and {p.code for p in definitions.problems} == {NO_DEFINITIONS}:
        typer.echo(
            "No definitions found (no monitors/ or dashboards/ folder): nothing is managed yet.", err=True
        )
        definitions = DefinitionSet(services=config.services)
    elif definitions.problems:
        typer.echo(format_problems(definitions.problems, "text"), err=True)
    return Project(config, environment, definitions)


def load_valid_project(paths: Sequence[Path], env: str | None, config_path: Path | None) -> Project | None:
    """The project, or None (problems printed) when a definition has an error: nothing is sent then."""
    project = load_project(paths, env, config_path)
    if project.definitions.ok:
        return project
    typer.echo("Nothing was sent to Datadog: fix the definitions first.", err=True)
    return None


def current_plan(
    project: Project, port: DatadogClient, keep_drift: bool = False, concurrency: int = 8
) -> Plan:
    """Read the org (list calls, plus the dashboards the plan needs whole) and plan against it."""
    wanted = dashboards_for_plan(project.definitions, project.namespace)
    live = read_live_org(port, wanted, concurrency)
    plan = compute_plan(project.definitions, live, project.namespace, keep_drift=keep_drift)
    return replace(plan, origin=PlanOrigin(project.environment.name, port.target_name))


def validated(plan: Plan, port: DatadogClient, concurrency: int = 8) -> RemoteValidation:
    """Datadog's verdict on the monitors the plan writes. The default deadline first grows by what that
    many requests get when they are writes: validation is not part of the reading the default is for."""
    asked = requests_needed(plan)
    if asked:
        port.deadline.extend(write_allowance_s(asked))
    return validate_remotely(plan, port, concurrency)


def command_deadline(timeout_s: float | None) -> Deadline:
    """``--timeout``, or the default a reading command gets (apply extends it for its writes)."""
    return Deadline(READ_DEADLINE_S) if timeout_s is None else Deadline(timeout_s, explicit=True)


def metric_check(
    project: Project,
    port: DatadogClient,
    settings: MetricCheckSettings | None,
    live: Sequence[LiveResource] | None = None,
) -> MetricCheck:
    """Whether the metrics that the definitions' monitors (or, given ``live``, those live monitors) query
    report in the environment's org; ``settings`` None: not asked, and the check is not even loaded."""
    if settings is None:
        return NOT_CHECKED
    from provisioner.engine.metric_check import check_metrics, desired_monitors, live_monitors
    from provisioner.mesh.catalogue import modes_of

    specs = project.definitions.monitors
    monitors = desired_monitors(specs) if live is None else live_monitors(live, specs, project.namespace)
    environment = project.environment
    return check_metrics(port, monitors, modes_of(environment), environment.name, datetime.now(UTC), settings)


@dataclass(frozen=True)
class Session:
    port: DatadogClient
    app_url: str | None  # the org's Datadog web UI, for links; None for the emulator or an unknown endpoint


@contextmanager
def datadog_session(
    environment: Environment,
    use_emulator: bool,
    api_url: str | None,
    concurrency: int = 8,
    deadline: Deadline | None = None,
) -> Iterator[Session]:
    """A connection to the environment's org; a disagreement about its site is printed once, here.
    The client's ``target_name`` says where it points in a way that stays the same across runs (a
    saved plan is checked against it); every request and wait counts against ``deadline``."""
    settings = ClientSettings(concurrency=concurrency)
    deadline = deadline or command_deadline(None)
    if use_emulator:
        with (
            _embedded_emulator() as base_url,
            DatadogClient(
                Target(base_url, "emulator", "emulator"), settings, deadline, show_rate_limit_wait
            ) as client,
        ):
            client.target_name = "emulator"
            yield Session(client, None)
        return
    endpoint = resolve_endpoint(environment, api_url)
    for warning in endpoint.warnings:
        typer.echo(f"warning: {warning}", err=True)
    target = resolve_target(environment, api_url)
    with DatadogClient(target, settings, deadline, show_rate_limit_wait) as client:
        yield Session(client, app_url(endpoint.site) if endpoint.site else None)


@contextmanager
def datadog_connection(
    environment: Environment,
    use_emulator: bool,
    api_url: str | None,
    concurrency: int = 8,
    deadline: Deadline | None = None,
) -> Iterator[DatadogClient]:
    with datadog_session(environment, use_emulator, api_url, concurrency, deadline) as session:
        yield session.port


def show_rate_limit_wait(wait: RateLimitWait) -> None:
    """One line per wait (every worker on the bucket holds; this is said once)."""
    stderr_line(f"rate limit: {wait.bucket} resets in {math.ceil(wait.seconds)} s")


def stderr_line(text: str) -> None:
    """A line on stderr; on a terminal it first clears the progress bar's line (the bar redraws)."""
    prefix = "\r\033[K" if interactive(sys.stderr) else ""
    typer.echo(prefix + text, err=True)


@contextmanager
def _embedded_emulator() -> Iterator[str]:
    """The emulator serving .provisioner/'s org: the one already running (``provisioner emulator
    --state .provisioner/emulator-state.json``), or one started in this process for this command.

    Commands that run at the same time share the org through its journal: each write catches up with the
    others' under a file lock before it runs, and a command that only reads writes nothing."""
    from provisioner.emulator import EmulatorAdmin, EmulatorConfig, start_emulator
    from provisioner.emulator.serve import url_file_for

    url_file = url_file_for(EMULATOR_STATE)
    if url_file.exists():
        try:
            base_url = url_file.read_text(encoding="utf-8").strip()
            EmulatorAdmin(base_url, timeout_s=2).health()
        except (OSError, ValueError):
            pass  # a stale file left by an emulator that was killed, or garbage: not a serving emulator
        else:
            typer.echo(
                f"Using the Datadog emulator serving at {base_url} (org in {EMULATOR_STATE}).", err=True
            )
            yield base_url
            return
    EMULATOR_STATE.parent.mkdir(parents=True, exist_ok=True)
    with start_emulator(EmulatorConfig(state_path=EMULATOR_STATE)) as running:
        typer.echo(f"Using the embedded Datadog emulator (org kept in {EMULATOR_STATE}).", err=True)
        yield running.base_url


def report_rejections(rejections: Sequence[Rejection]) -> None:
    """On stderr, as definition problems (file:line:col, Datadog's words, a hint)."""
    typer.echo(format_problems([r.problem() for r in rejections], "text"), err=True)
    typer.echo("Datadog rejects the monitors above: fix their definitions first.", err=True)


_DURATION_RE = re.compile(r"(?P<amount>\d+)(?P<unit>[smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION = timedelta(weeks=520)  # ten years: longer is a typo, and timedelta's own limit is near
_MAX_DURATION_TEXT = "520w (ten years)"


def parse_duration(text: str, option: str) -> timedelta:
    """``90m``, ``36h``, ``7d``, ``2w`` → a timedelta of at most ``MAX_DURATION``."""
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise UserError(
            f"{option}: '{text}' is not a duration", "write a number and a unit: 30m, 36h, 7d or 2w"
        )
    amount = match["amount"].lstrip("0") or "0"
    seconds = int(amount) * _UNIT_SECONDS[match["unit"]] if len(amount) <= 12 else None
    if seconds is None or seconds > MAX_DURATION.total_seconds():
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:37] + "..."
        raise UserError(
            f"{option}: '{shown}' is longer than the longest duration accepted, {_MAX_DURATION_TEXT}",
            "e.g. 7d or 2w",
        )
    return timedelta(seconds=seconds)


def emulator_or_api_url(use_emulator: bool, api_url: str | None) -> bool:
    """``--emulator``, checked against ``--api-url``: the two name different Datadogs, so both is a usage
    error rather than one silently ignored."""
    if use_emulator and api_url is not None:
        raise UserError(
            f"--emulator and --api-url {api_url} name two different Datadogs: give one",
            hint="--emulator for the embedded org, --api-url (or PROVISIONER_API_URL) for another server, "
            "such as a running `provisioner emulator`",
        )
    return use_emulator


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
