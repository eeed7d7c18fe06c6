"""Command line: parse arguments, call one command, turn its result into an exit code.

This is the only module that knows typer, and the one error boundary:
- a command returns an int exit code;
- ``ProvisionerError`` prints its message (no traceback) and exits 1;
- a usage error (unknown flag, bad value) exits 1, never 2, because ``--detailed-exitcode``
  gives 2 the meaning "changes or drift" and a pipeline must not mistake a typo for that;
- anything unexpected exits 3 with "please report"; the traceback only with ``--debug``;
- Ctrl-C exits 130 and SIGTERM 143 (apply first finishes the writes in flight and reports, see
  ``commands/_interrupt.py``).
"""

from __future__ import annotations

import copy
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from provisioner import __version__
from provisioner.errors import ProvisionerError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 1
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

_debug = False


class _Signalled(BaseException):
    """SIGINT or SIGTERM outside apply's write phase (where nothing in flight must finish first).
    Not a KeyboardInterrupt, which typer would turn into a silent exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _ExitCodeGroup(TyperGroup):
    """Runs commands with standalone mode off so that the exit codes stay ours."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except typer.TyperException as exc:  # click's usage and parameter errors derive from it
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                _error(f"error: {exc.format_message()}")
            sys.exit(EXIT_USAGE)
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except _Signalled as exc:
            name = signal.Signals(exc.signum).name
            typer.echo(f"interrupted ({name})", err=True)
            sys.exit(EXIT_TERMINATED if exc.signum == signal.SIGTERM else EXIT_INTERRUPTED)
        except ProvisionerError as exc:
            _error(f"error: {exc}")
            sys.exit(EXIT_ERROR)
        except Exception:  # noqa: BLE001 - the one place that catches everything
            if _debug:
                traceback.print_exc()
            else:
                _error(
                    "error: an unexpected error occurred (a bug in provisioner; please report it). "
                    "Run again with --debug to see the traceback."
                )
            sys.exit(EXIT_UNEXPECTED)
        sys.exit(result if isinstance(result, int) else EXIT_OK)


def _error(text: str) -> None:
    from provisioner.report.colour import colour_enabled, styler

    colour = colour_enabled(sys.stderr)
    typer.echo(styler(colour)(text, "red"), err=True, color=colour)


app = typer.Typer(
    cls=_ExitCodeGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Monitoring-as-code for Datadog, made for Istio service meshes.",
)
github_app = typer.Typer(cls=TyperGroup, no_args_is_help=True, help="GitHub integration for CI pipelines.")
app.add_typer(github_app, name="github")
mesh_app = typer.Typer(
    cls=TyperGroup, no_args_is_help=True, help="Istio and Datadog set-up for the mesh monitors."
)
app.add_typer(mesh_app, name="mesh")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"provisioner {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    global _debug
    _debug = debug


class OutputFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


class ApplyFormat(StrEnum):
    text = "text"
    json = "json"


class ProblemFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Definition files or folders. Default: monitors/ and dashboards/.", show_default=False
    ),
]
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment from provisioner.yaml.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Project config file. Default: ./provisioner.yaml if present.")
]
EmulatorOpt = Annotated[
    bool,
    typer.Option(
        "--emulator",
        help="Run against the embedded Datadog emulator (org kept under .provisioner/); no account needed.",
    ),
]
ApiUrlOpt = Annotated[
    str | None,
    typer.Option("--api-url", help="Datadog API base URL; overrides DD_SITE and the environment's site."),
]
MetricCheckOpt = Annotated[
    bool,
    typer.Option(
        "--metric-check/--no-metric-check",
        help="Ask Datadog whether every metric the monitors query reports, with the tags they use.",
    ),
]
MetricWindowOpt = Annotated[
    str | None,
    typer.Option(
        "--metric-window", help="A metric without a point in this window does not report; default 24h."
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=1,
        help="Seconds the whole command may take: requests, retries and rate-limit waits. "
        "Default: 100, and apply adds what its writes need at Datadog's write limit.",
        show_default=False,
    ),
]
RemoteValidateOpt = Annotated[
    bool,
    typer.Option(
        "--remote-validate/--no-remote-validate",
        help="Ask Datadog to validate every monitor created or changed in query, type or options.",
    ),
]


@app.command()
def validate(
    paths: PathsArg = None,
    env: EnvOpt = None,
    config: ConfigOpt = None,
    output_format: Annotated[
        ProblemFormat, typer.Option("--format", help="Problem format.")
    ] = ProblemFormat.text,
) -> int:
    """Check definitions (YAML, JSON Schema, semantic rules) without talking to Datadog."""
    from provisioner.commands.validate import validate as run

    return run(paths or [], env=env, config_path=config, output_format=output_format.value)


@app.command()
def render(
    paths: PathsArg = None,
    env: EnvOpt = None,
    config: ConfigOpt = None,
) -> int:
    """Print the compiled Datadog payloads as JSON: exactly what apply would send."""
    from provisioner.commands.render import render as run

    return run(paths or [], env=env, config_path=config)


class TestFormat(StrEnum):
    text = "text"
    json = "json"


@app.command("test")
def test_monitors(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Test files or folders. Default: monitors/tests/.", show_default=False),
    ] = None,
    env: EnvOpt = None,
    config: ConfigOpt = None,
    output_format: Annotated[TestFormat, typer.Option("--format", help="Report format.")] = TestFormat.text,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")] = None,
) -> int:
    """Test the monitors against input series: an in-process emulator with its own clock evaluates them as
    Datadog would, and each group's state is checked at the times the tests name."""
    from provisioner.commands.test import test as run

    return run(paths or [], env=env, config_path=config, output_format=output_format.value, junit=junit)


class JsonOutput(StrEnum):
    plan = "plan"
    apply = "apply"
    audit = "audit"
    validate = "validate"
    environments = "environments"
    test = "test"


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write the JSON Schemas to. Default: print one.")
    ] = None,
    json_output: Annotated[
        JsonOutput | None,
        typer.Option("--json-output", help="Print the schema of this command's --format json output."),
    ] = None,
    vscode: Annotated[
        bool, typer.Option("--vscode", help="With --out: map the schemas in .vscode/settings.json.")
    ] = False,
) -> int:
    """Write the JSON Schemas: of the definitions, for editors (yaml-language-server), and of the JSON
    outputs, for the tools that read them."""
    from provisioner.commands.schema import schema as run

    return run(out, json_output.value if json_output else None, vscode=vscode)


class ListFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def environments(
    config: ConfigOpt = None,
    output_format: Annotated[
        ListFormat, typer.Option("--format", help="text: one name a line; json: for a CI matrix.")
    ] = ListFormat.text,
) -> int:
    """List the environments of provisioner.yaml in their declared order (the order CI applies them)."""
    from provisioner.commands.environments import environments as run

    return run(config, output_format.value)


class SeedMode(StrEnum):
    config = "config"  # each collector in the mode the environment's istio: setting names
    openmetrics = "openmetrics"
    legacy = "legacy"


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8126,
    state: Annotated[Path | None, typer.Option(help="Keep the org in this file across restarts.")] = None,
    faults: Annotated[Path | None, typer.Option(help="Fault-injection config file (JSON or YAML).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for deterministic fault injection.")] = 0,
    rate_limits: Annotated[
        bool, typer.Option("--rate-limits/--no-rate-limits", help="Enforce Datadog's per-endpoint limits.")
    ] = True,
    api_key: Annotated[
        list[str] | None, typer.Option("--api-key", help="Accepted DD-API-KEY value(s). Default: any.")
    ] = None,
    app_key: Annotated[
        list[str] | None,
        typer.Option("--app-key", help="Accepted DD-APPLICATION-KEY value(s). Default: any."),
    ] = None,
    rate_limit: Annotated[
        list[str] | None,
        typer.Option("--rate-limit", help="Override a rate-limit bucket: BUCKET=LIMIT/PERIOD_S."),
    ] = None,
    rate_limit_body: Annotated[
        str, typer.Option("--rate-limit-body", help="Body of 429 answers: empty (as recorded), json or html.")
    ] = "empty",
    duplicate_window: Annotated[
        float | None,
        typer.Option("--duplicate-window", help="Seconds in which a repeated monitor create gets 400."),
    ] = None,
    seed_mesh: Annotated[
        SeedMode | None,
        typer.Option(
            "--seed-mesh",
            help=(
                "First submit the last hour of a healthy mesh's metrics, named as this mode names them; "
                "config: each collector in the mode the environment's istio: setting names."
            ),
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="With --seed-mesh: whose services, cluster and (with config) collection modes.",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> int:
    """Serve the Datadog API emulator in the foreground (prints its base URL first)."""
    from provisioner.commands.emulator import emulator as run

    return run(
        host=host,
        port=port,
        state=state,
        faults=faults,
        seed=seed,
        rate_limits=rate_limits,
        api_keys=api_key or [],
        app_keys=app_key or [],
        rate_limit_specs=rate_limit or [],
        rate_limit_body=rate_limit_body,
        duplicate_window_s=duplicate_window,
        seed_mesh=seed_mesh.value if seed_mesh else None,
        env=env,
        config_path=config,
    )


@app.command()
def plan(
    paths: PathsArg = None,
    env: EnvOpt = None,
    config: ConfigOpt = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Plan format.")] = OutputFormat.text,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 for no changes, 1 for an error, 2 for changes or drift."
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the plan to this file.")] = None,
    save_plan: Annotated[
        Path | None,
        typer.Option(
            "--save-plan",
            help="Also write the plan as JSON for `apply --plan FILE`, whatever --format shows.",
        ),
    ] = None,
    use_emulator: EmulatorOpt = False,
    api_url: ApiUrlOpt = None,
    remote_validate: RemoteValidateOpt = True,
    timeout: TimeoutOpt = None,
    metric_check: MetricCheckOpt = True,
    metric_window: MetricWindowOpt = None,
) -> int:
    """Show what apply would change (a dry run), any drift made by hand in Datadog, whether Datadog
    accepts the monitors apply would write, and whether the metrics they query report."""
    from provisioner.commands._session import emulator_or_api_url, metric_check_settings
    from provisioner.commands.plan import plan as run

    return run(
        paths or [],
        env=env,
        config_path=config,
        output_format=output_format.value,
        detailed_exitcode=detailed_exitcode,
        out=out,
        use_emulator=emulator_or_api_url(use_emulator, api_url),
        api_url=api_url,
        remote_validate=remote_validate,
        save_plan=save_plan,
        timeout_s=timeout,
        metric_settings=metric_check_settings(metric_check, metric_window),
    )


@app.command()
def apply(
    paths: PathsArg = None,
    env: EnvOpt = None,
    config: ConfigOpt = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete managed resources removed from code.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow pruning more than the safety share of managed resources.")
    ] = False,
    keep_drift: Annotated[
        bool, typer.Option("--keep-drift", help="Leave hand edits made in Datadog alone; only report them.")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Parallel requests.")] = 8,
    saved_plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Carry out this saved plan (from `plan --save-plan`) exactly, instead of planning again; "
            "a resource changed in Datadog since is refused.",
        ),
    ] = None,
    output_format: Annotated[
        ApplyFormat,
        typer.Option("--format", help="Outcome format; json prints only the outcome on stdout."),
    ] = ApplyFormat.text,
    use_emulator: EmulatorOpt = False,
    api_url: ApiUrlOpt = None,
    remote_validate: RemoteValidateOpt = True,
    timeout: TimeoutOpt = None,
) -> int:
    """Bring Datadog in line with the definitions: create, update, revert drift, repair duplicates (and prune)."""
    from provisioner.commands._session import emulator_or_api_url
    from provisioner.commands.apply import apply as run

    return run(
        paths or [],
        env=env,
        config_path=config,
        prune=prune,
        force=force,
        keep_drift=keep_drift,
        concurrency=concurrency,
        use_emulator=emulator_or_api_url(use_emulator, api_url),
        api_url=api_url,
        output_format=output_format.value,
        remote_validate=remote_validate,
        saved_plan=saved_plan,
        timeout_s=timeout,
    )


class FailOn(StrEnum):
    never = "never"
    info = "info"
    warning = "warning"
    error = "error"


class FailScope(StrEnum):
    org = "org"
    namespace = "namespace"


@app.command()
def audit(
    paths: PathsArg = None,
    env: EnvOpt = None,
    config: ConfigOpt = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Report format.")
    ] = OutputFormat.text,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 1 when findings of this severity or above exist (never: report only, exit 0; CI: error).",
        ),
    ] = FailOn.never,
    fail_scope: Annotated[
        FailScope,
        typer.Option(
            "--fail-scope",
            help="Which findings --fail-on counts: org (every monitor and dashboard read) or namespace (those "
            "this repository's namespace marks, and its services' coverage).",
        ),
    ] = FailScope.org,
    mute_limit: Annotated[
        str | None,
        typer.Option("--mute-limit", help="Report mutes longer than this (30m, 36h, 7d, 2w); default 7d."),
    ] = None,
    stuck_limit: Annotated[
        str | None,
        typer.Option("--stuck-limit", help="Report Alert or No Data states older than this; default 7d."),
    ] = None,
    use_emulator: EmulatorOpt = False,
    api_url: ApiUrlOpt = None,
    metric_check: MetricCheckOpt = True,
    metric_window: MetricWindowOpt = None,
) -> int:
    """Report on every monitor and dashboard in the org: managed, drifted, orphaned, unmanaged, unhealthy,
    watching metrics that do not report."""
    from provisioner.commands._session import emulator_or_api_url, metric_check_settings
    from provisioner.commands.audit import audit as run

    return run(
        paths or [],
        env=env,
        config_path=config,
        output_format=output_format.value,
        fail_on=fail_on.value,
        fail_scope=fail_scope.value,
        use_emulator=emulator_or_api_url(use_emulator, api_url),
        api_url=api_url,
        mute_limit=mute_limit,
        stuck_limit=stuck_limit,
        metric_settings=metric_check_settings(metric_check, metric_window),
    )


@app.command("import")
def import_(
    monitor_id: Annotated[
        list[int] | None, typer.Option("--id", help="Datadog monitor id (repeatable).")
    ] = None,
    dashboard_id: Annotated[
        list[str] | None, typer.Option("--dashboard", help="Datadog dashboard id (repeatable).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Import monitors with this tag.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Import monitors whose name matches this glob.")
    ] = None,
    all_unmanaged: Annotated[
        bool, typer.Option("--all-unmanaged", help="Import every unmanaged monitor.")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Folder for the monitor YAML files.")] = Path("monitors"),
    dashboards_out: Annotated[
        Path, typer.Option("--dashboards-out", help="Folder for the dashboard YAML files.")
    ] = Path("dashboards"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files that exist.")] = False,
    env: EnvOpt = None,
    config: ConfigOpt = None,
    use_emulator: EmulatorOpt = False,
    api_url: ApiUrlOpt = None,
) -> int:
    """Write YAML definitions for existing Datadog monitors and dashboards, to adopt them in place."""
    from provisioner.commands._session import emulator_or_api_url
    from provisioner.commands.import_ import import_ as run

    return run(
        monitor_ids=monitor_id or [],
        dashboard_ids=dashboard_id or [],
        tags=tag or [],
        name_glob=name,
        all_unmanaged=all_unmanaged,
        out=out,
        dashboards_out=dashboards_out,
        overwrite=overwrite,
        env=env,
        config_path=config,
        use_emulator=emulator_or_api_url(use_emulator, api_url),
        api_url=api_url,
    )


class RequirementFormat(StrEnum):
    text = "text"
    yaml = "yaml"
    json = "json"


@mesh_app.command("requirements")
def mesh_requirements(
    paths: PathsArg = None,
    env: EnvOpt = None,
    config: ConfigOpt = None,
    output_format: Annotated[
        RequirementFormat, typer.Option("--format", help="Output format.")
    ] = RequirementFormat.text,
) -> int:
    """What the cluster and the Datadog Agent need for every monitor to get data: ready-to-apply snippets."""
    from provisioner.commands.mesh import requirements as run

    return run(paths or [], env=env, config_path=config, output_format=output_format.value)


ArtifactUrlOpt = Annotated[
    str | None, typer.Option("--artifact-url", help="Link to the full text, shown when the body is cut.")
]


@github_app.command("comment")
def github_comment(
    body: Annotated[
        Path, typer.Option("--body", help="Markdown file to post (e.g. a plan made with --format markdown).")
    ],
    artifact_url: ArtifactUrlOpt = None,
    marker: Annotated[
        str, typer.Option("--marker", help="Hidden marker that identifies the sticky comment.")
    ] = "provisioner-plan",
    pr: Annotated[
        int | None, typer.Option("--pr", min=1, help="Pull request number. Default: from GITHUB_EVENT_PATH.")
    ] = None,
    heading: Annotated[
        str | None, typer.Option("--heading", help="A heading above the body, e.g. the environment's name.")
    ] = None,
) -> int:
    """Create or update the one sticky pull-request comment (only ever one the workflow's login wrote).

    Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_API_URL and PROVISIONER_GITHUB_AUTHOR
    (the login whose comments are ours; default: the GitHub Actions bot).
    """
    from provisioner.commands.github import comment as run

    return run(body=body, artifact_url=artifact_url, marker=marker, pr=pr, heading=heading)


@github_app.command("issue")
def github_issue(
    title: Annotated[str, typer.Option("--title", help="Issue title (updated in place on each run).")] = (
        "provisioner: Datadog differs from the definitions"
    ),
    body: Annotated[
        Path | None, typer.Option("--body", help="Markdown file for the issue body (e.g. a plan).")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Label for a new issue (found by marker, not label).")
    ] = None,
    marker: Annotated[
        str, typer.Option("--marker", help="Hidden marker that identifies the one open issue.")
    ] = "provisioner-drift",
    artifact_url: ArtifactUrlOpt = None,
    close: Annotated[bool, typer.Option("--close", help="Close the open issue (back in sync).")] = False,
    close_if_empty: Annotated[
        bool, typer.Option("--close-if-empty", help="Close the open issue when the --body file is empty.")
    ] = False,
) -> int:
    """Open or update the one issue found by its hidden marker, or close it when back in sync.

    Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL and PROVISIONER_GITHUB_AUTHOR (the login whose
    issues are ours; default: the GitHub Actions bot).
    """
    from provisioner.commands.github import issue as run

    return run(
        title=title,
        body=body,
        label=label,
        marker=marker,
        artifact_url=artifact_url,
        close=close,
        close_if_empty=close_if_empty,
    )


_signalled = False


def _stop(signum: int, _frame: FrameType | None) -> None:
    """The first signal unwinds (requests in flight end, the embedded emulator flushes); a second one
    exits at once."""
    global _signalled
    if _signalled:
        sys.stdout.flush()
        sys.stderr.write("\nInterrupted again: exiting now.\n")
        sys.stderr.flush()
        os._exit(EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED)
    _signalled = True
    raise _Signalled(signum)


def main() -> None:
    """Runs the command ``sys.argv`` names (the process's garbage-collector settings: ``__main__.py``)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    app_for(sys.argv[1:])()


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app with only the command (or group) that ``args`` run: typer builds the parser of every
    command it holds (each option's type, default and help) before it parses anything, which costs a
    short plan more than parsing does. No command, or an unknown one: the whole app, for its help."""
    name = next((arg for arg in args if not arg.startswith("-")), None)  # root options take no values
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


def _command_name(command: typer.models.CommandInfo) -> str | None:
    if command.name is not None:
        return command.name
    return typer.main.get_command_name(command.callback.__name__) if command.callback else None


if __name__ == "__main__":
    main()
