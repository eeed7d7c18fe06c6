"""``provisioner test``: the monitors, compiled for an environment, tested against input series in an
in-process emulator with its own manual clock (see ``provisioner/monitor_tests/``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import typer

from provisioner.config import load_config, select_environment, with_modes
from provisioner.credentials import Target
from provisioner.datadog.client import ClientSettings, DatadogClient
from provisioner.definitions import load_definitions
from provisioner.definitions.files import DEFAULT_FOLDERS
from provisioner.errors import UserError
from provisioner.mesh import catalogue
from provisioner.model import CollectionModes, Environment, Json, Problem, ProjectConfig
from provisioner.monitor_tests.cases import DEFAULT_TEST_FOLDER, MonitorTest, load_tests, unknown_name_problem
from provisioner.monitor_tests.results import CaseResult
from provisioner.monitor_tests.run import START_S, Variant, run_test, testable_ids
from provisioner.report.colour import colour_enabled, styler
from provisioner.report.monitor_tests import render_json, render_junit, render_text, summary_line
from provisioner.report.problems import format_problems, format_summary


def test(
    paths: Sequence[Path], env: str | None, config_path: Path | None, output_format: str, junit: Path | None
) -> int:
    """0 when every test passes; 1 when one fails or cannot run, or a test file or definition is wrong."""
    paths = _test_paths(paths)
    config = load_config(config_path)
    try:
        runs = _runs(paths, config, select_environment(config, env))
    except _Refused as refused:
        typer.echo(format_problems(refused.problems, "text"), err=True)
        typer.echo(format_summary(refused.problems, refused.files), err=True)
        typer.echo(refused.note, err=True)
        return 1
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


def _test_paths(paths: Sequence[Path]) -> Sequence[Path]:
    """The tests to run (default: monitors/tests/). Refused outside a repository: the definitions the
    tests name are always read from the current directory's monitors/ and dashboards/."""
    here = Path.cwd()
    if not any(Path(folder).is_dir() for folder in DEFAULT_FOLDERS):
        raise UserError(
            f"no monitors/ or dashboards/ folder in {here}: `provisioner test` reads the definitions "
            "it tests from there",
            "run it from the repository root (test files may be anywhere: provisioner test path/to/tests)",
        )
    if paths:
        return paths
    if not DEFAULT_TEST_FOLDER.is_dir():
        raise UserError(
            f"no {DEFAULT_TEST_FOLDER.as_posix()}/ folder in {here}: no tests to run",
            f"write monitor tests in {DEFAULT_TEST_FOLDER.as_posix()}/ (docs/testing-monitors.md), "
            "or pass test files or folders",
        )
    return [DEFAULT_TEST_FOLDER]


class _Refused(Exception):
    """Nothing runs: the test files, or the definitions they test, have problems."""

    def __init__(self, problems: Sequence[Problem], files: int, note: str) -> None:
        super().__init__(note)
        self.problems, self.files, self.note = problems, files, note


def _runs(paths: Sequence[Path], config: ProjectConfig, default: Environment) -> list[Run]:
    """Each test with the compiled definitions of its environment, once per Istio mode it asks for.
    Nothing runs while a test file, a name it uses or a definition is wrong: every such problem is
    reported at once (the names of a test in a file with a schema error are checked too)."""
    loaded = load_tests(paths)
    files = len(loaded.files)
    problems = list(loaded.problems)
    named = [t for t in loaded.tests if not t.env or t.env in config.environments]
    problems.extend(
        _unknown_environment(t, config) for t in loaded.tests if t.env and t.env not in config.environments
    )
    compiler = _Compiler(config)
    runs = [(test, variant) for test in named for variant in compiler.variants(test, default)]
    broken = list(dict.fromkeys(p for variant in compiler.compiled() for p in variant.definitions.errors))
    wrong_tests = any(problem.severity == "error" for problem in problems)
    if broken:
        first = "the test files and the definitions" if wrong_tests else "the definitions"
        raise _Refused([*problems, *broken], files, f"Fix {first} first: no test was run.")
    unknown = [_unknown_monitor(t, v) for t, v in runs if t.monitor not in testable_ids(v.definitions)]
    problems.extend(dict.fromkeys(unknown))
    if any(problem.severity == "error" for problem in problems):
        raise _Refused(problems, files, "Fix the test files first: no test was run.")
    if problems:  # warnings only (a link that loops, a FIFO): say so, and run the others
        typer.echo(format_problems(problems, "text"), err=True)
    return runs


Run = tuple[MonitorTest, Variant]


class _Compiler:
    """The definitions compiled once per environment and collection modes a test runs in."""

    def __init__(self, config: ProjectConfig) -> None:
        self.config = config
        self._compiled: dict[tuple[str, CollectionModes], Variant] = {}

    def variants(self, test: MonitorTest, default: Environment) -> list[Variant]:
        environment = self.config.environments[test.env or default.name]
        if not test.istio:
            return [self._variant("", environment)]
        modes = catalogue.modes_of(environment)
        return [
            self._variant(_istio_label(setting), replace(environment, istio=with_modes(modes, setting)))
            for setting in test.istio
        ]

    def compiled(self) -> list[Variant]:
        return list(self._compiled.values())

    def _variant(self, label: str, environment: Environment) -> Variant:
        key = (environment.name, catalogue.modes_of(environment))
        if key not in self._compiled:
            definitions = load_definitions([], environment, self.config)
            self._compiled[key] = Variant("", environment, definitions)
        return replace(self._compiled[key], label=label)


def _istio_label(setting: Json) -> str:
    """``istio openmetrics``, ``istio envoy=legacy``: which modes a run used."""
    if isinstance(setting, dict):
        return "istio " + ",".join(f"{collector}={mode}" for collector, mode in setting.items())
    return f"istio {setting}"


def _unknown_environment(test: MonitorTest, config: ProjectConfig) -> Problem:
    name = str(test.env)
    message = f"no environment '{name}' in {config.path or 'the project (no provisioner.yaml)'}"
    where = test.env_source or test.source
    return unknown_name_problem(where, "unknown-environment", message, name, config.environments)


def _unknown_monitor(test: MonitorTest, variant: Variant) -> Problem:
    message = f"no monitor '{test.monitor}' in the definitions of environment '{variant.environment.name}'"
    known = testable_ids(variant.definitions)
    return unknown_name_problem(test.monitor_source, "unknown-monitor", message, test.monitor, known)


def _run(runs: Sequence[Run]) -> list[CaseResult]:
    from provisioner.emulator import EmulatorConfig, start_emulator

    with (
        start_emulator(EmulatorConfig(clock_start_s=START_S, rate_limits=False)) as running,
        DatadogClient(
            Target(running.base_url, "emulator", "emulator"), ClientSettings(concurrency=4)
        ) as client,
    ):
        return [run_test(test, variant, client, running.admin) for test, variant in runs]


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from exc
