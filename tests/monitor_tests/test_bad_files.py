"""A test file that cannot be read stops ``provisioner test`` before anything runs: each problem at its
``file:line:col`` with a hint, exit 1, no traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.monitor_tests.cases import load_tests
from tests.mutations import mutated

MONITOR = """\
id: app-errors
kind: monitor
name: app errors
type: query alert
query: "sum(last_5m):sum:app.errors{*}.as_count() > 10"
message: "@slack-app"
options: {thresholds: {critical: 10}}
"""

GOOD_TEST = """\
tests:
  - name: errors alert
    monitor: app-errors
    input:
      app.errors: {values: "5x9", type: count}
    expect:
      - {at: 6m, states: {"*": Alert}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors" / "tests").mkdir(parents=True)
    (tmp_path / "monitors" / "errors.yaml").write_text(MONITOR)
    return tmp_path


def run_with(project: Path, test_file: str) -> tuple[int, str]:
    (project / "monitors" / "tests" / "bad.yaml").write_text(textwrap.dedent(test_file))
    result = CliRunner().invoke(app, ["test"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("test_file", "problem", "hint"),
    [
        (
            GOOD_TEST.replace("    monitor: app-errors\n", "    monitor: app-errors\n   bad: indent\n"),
            "monitors/tests/bad.yaml:4:4: error [yaml-syntax] YAML syntax error: ",
            None,
        ),
        (
            GOOD_TEST.replace("    expect:", "    expects:"),
            "monitors/tests/bad.yaml:6:5: error [unknown-key] /tests/0/expects: unknown key 'expects'",
            "did you mean 'expect'?",
        ),
        (
            GOOD_TEST.replace('"5x9"', '"5x9 oops"'),
            "monitors/tests/bad.yaml:5:28: error [bad-values] /tests/0/input/app.errors/values: cannot read 'oops'",
            "a number, _ (no point), a+bxN, a-bxN, axN or _xN (promtool's notation)",
        ),
        (
            GOOD_TEST.replace("app.errors:", "app errors{service:cart}:"),
            "monitors/tests/bad.yaml:5:7: error [bad-series] /tests/0/input/app errors{service:cart}: cannot read the series",
            "write metric{tag:value,...}",
        ),
        (
            GOOD_TEST.replace("app.errors:", "mesh:request{response_code:503}:"),
            "monitors/tests/bad.yaml:5:7: error [unknown-mesh-metric] /tests/0/input/mesh:request{response_code:503}: "
            "no mesh metric 'request' in the catalogue",
            "did you mean 'mesh:requests'?",
        ),
        (
            GOOD_TEST.replace("at: 6m", "at: 90s"),
            "monitors/tests/bad.yaml:7:14: error [not-a-minute] /tests/0/expect/0/at: 90s: monitors are evaluated at "
            "whole minutes after the start",
            "write a whole number of minutes, e.g. 2m",
        ),
        (
            GOOD_TEST.replace('{at: 6m, states: {"*": Alert}}', "{at: 6m, never: Alert}"),
            "monitors/tests/bad.yaml:7:9: error [expectation-form] /tests/0/expect/0: an expectation is either",
            None,
        ),
        (
            GOOD_TEST.replace(
                '{at: 6m, states: {"*": Alert}}', '{at: 6m, states: {"*": Alert}, groups: ["*"]}'
            ),
            "monitors/tests/bad.yaml:7:9: error [expectation-form] /tests/0/expect/0: an expectation is either",
            None,
        ),
        (
            GOOD_TEST.replace("Alert}", "Alerting}"),
            "monitors/tests/bad.yaml:7:32: error [invalid-value] /tests/0/expect/0/states/*: 'Alerting' is not one of",
            "did you mean 'Alert'?",
        ),
        (
            GOOD_TEST.replace("monitor: app-errors", "monitor: app-error"),
            "monitors/tests/bad.yaml:3:14: error [unknown-monitor] no monitor 'app-error' in the definitions of "
            "environment 'default'",
            "did you mean 'app-errors'?",
        ),
        (
            GOOD_TEST.replace("monitor: app-errors", "monitor: app-errors\n    env: prod"),
            "monitors/tests/bad.yaml:4:10: error [unknown-environment] no environment 'prod' in the project",
            None,
        ),
    ],
    ids=[
        "yaml-syntax",
        "unknown-key",
        "bad-values",
        "bad-series",
        "unknown-mesh-metric",
        "not-a-minute",
        "expectation-form",
        "groups-without-never",
        "invalid-state",
        "unknown-monitor",
        "unknown-environment",
    ],
)
def test_a_bad_test_file_is_located_and_nothing_runs(
    project: Path, test_file: str, problem: str, hint: str | None
) -> None:
    code, output = run_with(project, test_file)
    lines = output.splitlines()
    assert code == 1
    at = next((index for index, line in enumerate(lines) if line.startswith(problem)), None)
    assert at is not None, output
    if hint is not None:
        assert lines[at + 1].startswith(f"  hint: {hint}"), output
    assert lines[-1] in ("Fix the test files first: no test was run.", "No test was run.")
    assert "PASS" not in output and "FAIL" not in output


def test_without_a_tests_folder_the_command_says_where_tests_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "monitors").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["test"])
    assert result.exit_code == 1
    assert result.output == (
        f"error: no monitors/tests/ folder in {tmp_path}: no tests to run\n"
        "  hint: write monitor tests in monitors/tests/ (docs/testing-monitors.md), or pass test files or folders\n"
    )


@pytest.mark.parametrize("given", [[], ["monitors/tests"]], ids=["no paths", "test paths"])
def test_outside_a_repository_the_command_says_to_run_from_its_root(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: list[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "monitors" / "tests" / "t.yaml").write_text(GOOD_TEST, encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(app, ["test", *(str(project / path) for path in given)])
    assert result.exit_code == 1
    assert result.output == (
        f"error: no monitors/ or dashboards/ folder in {elsewhere}: `provisioner test` reads the definitions "
        "it tests from there\n"
        "  hint: run it from the repository root (test files may be anywhere: provisioner test path/to/tests)\n"
    )


def test_definitions_with_errors_stop_the_run(project: Path) -> None:
    (project / "monitors" / "errors.yaml").write_text(MONITOR.replace("critical: 10}", "critical: 11}"))
    code, output = run_with(project, GOOD_TEST)
    assert code == 1
    assert "error [threshold-mismatch]" in output
    assert output.splitlines()[-1] == "Fix the definitions first: no test was run."


def test_explicit_paths_name_test_files(project: Path) -> None:
    (project / "elsewhere.yaml").write_text(GOOD_TEST)
    result = CliRunner().invoke(app, ["test", "elsewhere.yaml"])
    assert result.exit_code == 0, result.output
    assert "PASS errors alert (elsewhere.yaml:2)" in result.output


def test_a_schema_error_leaves_the_rest_of_the_file_checked(project: Path) -> None:
    """Like definitions: one run names every problem, not the schema's first and the others after it."""
    code, output = run_with(
        project,
        """\
        tests:
          - name: expect written as a state
            monitor: app-error
            input:
              mesh:request_totl: "0+1x10"
            expect: Alerting
          - name: a half minute and a misspelt state
            monitor: app-errors
            input:
              app.errors: "5x9"
            expect:
              - {at: 90s, states: {"*": Alert}}
              - {at: 5m, states: {"*": Alerting}}
        """,
    )
    assert code == 1
    problems = [line.split(" /")[0] for line in output.splitlines() if " error [" in line]
    assert problems == [
        "monitors/tests/bad.yaml:3:14: error [unknown-monitor] no monitor 'app-error' in the definitions of "
        "environment 'default'",
        "monitors/tests/bad.yaml:5:7: error [unknown-mesh-metric]",
        "monitors/tests/bad.yaml:6:13: error [wrong-type]",
        "monitors/tests/bad.yaml:12:14: error [not-a-minute]",
        "monitors/tests/bad.yaml:13:32: error [invalid-value]",
    ], output
    assert output.splitlines()[-1] == "Fix the test files first: no test was run."


VALID_TEST_FILE = {
    "tests": [{
        "name": "n", "monitor": "m", "env": "prod", "istio": ["legacy"], "step": "1m",
        "input": {"app.errors": "5x9", "app.hits{service:a}": {"values": "1 2", "type": "count", "interval": 60}},
        "expect": [{"at": "6m", "states": {"*": "Alert"}}, {"never": ["Warn"], "groups": ["a"], "until": "5m"}],
    }],
}  # fmt: skip


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated(VALID_TEST_FILE))
def test_reading_a_broken_test_file_never_raises_and_locates_every_problem(
    tmp_path: Path, document: object
) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    loaded = load_tests([path])
    lines = len(path.read_text(encoding="utf-8").splitlines())
    for problem in loaded.problems:
        assert problem.path == str(path) and 1 <= problem.line <= lines + 1 and problem.code, problem
