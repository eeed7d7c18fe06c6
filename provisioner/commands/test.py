"""``provisioner test``: the monitors, compiled for an environment, tested against input series in an
in-process emulator with its own manual clock (see ``provisioner/monitor_tests/``)."""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from pathlib import Path

import typer

from provisioner.config import load_config, select_environment
from provisioner.credentials import Target
from provisioner.datadog.client import ClientSettings, DatadogClient
from provisioner.definitions import load_definitions
from provisioner.errors import UserError
from provisioner.model import Environment, Problem, ProjectConfig
from provisioner.monitor_tests.cases import MonitorTest, load_tests, unknown_name_problem
from provisioner.monitor_tests.results import CaseResult
from provisioner.monitor_tests.run import START_S, Variant, run_test, testable_ids
from provisioner.report.colour import colour_enabled, styler
from provisioner.report.monitor_tests import render_json, render_junit, render_text, summary_line
from provisioner.report.problems import format_problems, format_summary


def test(
    paths: Sequence[Path], env: str | None, config_path: Path | None, output_format: str, junit: Path | None
) -> int:
    """0 when every test passes; 1 when one fails or cannot run, or a test file or definition is wrong."""
    config = load_config(config_path)
    environment = select_environment(config, env)
    loaded = load_tests(paths)
    if loaded.problems:
        return _refuse(loaded.problems, len(loaded.files), "Fix the test files first: no test was run.")
    runs, problems = _runs(loaded.tests, config, environment)
    if problems:
        return _refuse(problems, len(loaded.files), "No test was run.")
    results = _run(runs)
    if junit is not None:
        _write(junit, render_junit(results))
    if output_format == "json":
        typer.echo(render_json(results), nl=False)
        typer.echo(summary_line(results), err=True)
    else:
        colour = colour_enabled(sys.stdout)
        typer.echo(render_text(results, styler(colour)), nl=False, color=colour)
    return 0 if all(result.status == "passed" for result in results) else 1


Run = tuple[MonitorTest, Variant]


def _runs(
    tests: Sequence[MonitorTest], config: ProjectConfig, default: Environment
) -> tuple[list[Run], list[Problem]]:
    """Each test with the compiled definitions of its environment; problems when a test names an
    environment or a monitor that does not exist, or when the definitions it needs have errors."""
    compiled: dict[str, Variant] = {}
    runs: list[Run] = []
    problems: dict[Problem, None] = {}
    for test in tests:
        name = test.env or default.name
        if name not in config.environments:
            problems[_unknown_environment(test, name, config)] = None
            continue
        if name not in compiled:
            environment = config.environments[name]
            compiled[name] = Variant("", environment, load_definitions([], environment, config))
        variant = compiled[name]
        known = testable_ids(variant.definitions)
        if not variant.definitions.ok:
            problems.update(dict.fromkeys(variant.definitions.errors))
        elif test.monitor not in known:
            problems[_unknown_monitor(test, name, known)] = None
        else:
            runs.append((test, variant))
    return runs, list(problems)


def _unknown_environment(test: MonitorTest, name: str, config: ProjectConfig) -> Problem:
    message = f"no environment '{name}' in {config.path or 'the project (no provisioner.yaml)'}"
    where = test.env_source or test.source
    hint = "name an environment of provisioner.yaml"
    return unknown_name_problem(where, "unknown-environment", message, name, config.environments, hint)


def _unknown_monitor(test: MonitorTest, environment: str, known: Collection[str]) -> Problem:
    message = f"no monitor '{test.monitor}' in the definitions of environment '{environment}'"
    hint = "name a definition id, or <id>/<service> for one monitor of a per-service definition"
    return unknown_name_problem(test.monitor_source, "unknown-monitor", message, test.monitor, known, hint)


def _run(runs: Sequence[Run]) -> list[CaseResult]:
    from provisioner.emulator import EmulatorConfig, start_emulator

    with (
        start_emulator(EmulatorConfig(clock_start_s=START_S, rate_limits=False)) as running,
        DatadogClient(
            Target(running.base_url, "emulator", "emulator"), ClientSettings(concurrency=4)
        ) as client,
    ):
        return [run_test(test, variant, client, running.admin) for test, variant in runs]


def _refuse(problems: Sequence[Problem], file_count: int, note: str) -> int:
    typer.echo(format_problems(problems, "text"), err=True)
    typer.echo(format_summary(problems, file_count), err=True)
    typer.echo(note, err=True)
    return 1


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from exc
