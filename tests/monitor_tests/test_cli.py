"""``provisioner test`` end to end: real definitions and test files in a folder, the real CLI, an in-process
emulator reached over HTTP through the adapter; the monitors are the team's raw kinds."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from tests.conftest import OutputSchemas

CONFIG = """\
default_environment: staging
environments:
  staging: {tags: ["env:staging"]}
  production: {tags: ["env:production"]}
"""

ERRORS = """\
id: app-errors
kind: monitor
name: "app errors on {{service.name}}"
type: query alert
query: "sum(last_5m):sum:app.errors{*} by {service}.as_count() > 10"
message: "Errors. @slack-app"
options:
  thresholds: {critical: 10, warning: 5}
  new_group_delay: 0
overrides:
  production:
    query: "sum(last_5m):sum:app.errors{*} by {service}.as_count() > 20"
    options: {thresholds: {critical: 20}, new_group_delay: 0}
"""

QUEUE = """\
id: queue-full
kind: monitor
name: "queue full"
type: metric alert
query: "max(last_5m):avg:app.queue{*} > 100"
message: "The queue is full. @slack-app"
options:
  thresholds: {critical: 100}
  on_missing_data: show_no_data
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["test", *args])
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    (tmp_path / "monitors" / "tests").mkdir(parents=True)
    (tmp_path / "monitors" / "errors.yaml").write_text(ERRORS)
    (tmp_path / "monitors" / "queue.yaml").write_text(QUEUE)
    return tmp_path


def write_tests(project: Path, text: str, name: str = "errors.yaml") -> Path:
    path = project / "monitors" / "tests" / name
    path.write_text(textwrap.dedent(text))
    return path


PASSING = """\
tests:
  - name: five errors a minute alert, two a minute warn
    monitor: app-errors
    input:
      app.errors{service:cart}: {values: "5x9", type: count}
      app.errors{service:checkout}: {values: "2x9", type: count}
    expect:
      - at: 6m
        states: {"service:cart": Alert, "service:checkout": Warn}
      - at: 15m
        states: {"service:cart": OK, "service:checkout": OK}
"""


def test_passing_tests_exit_0_with_one_line_each(project: Path) -> None:
    write_tests(project, PASSING)
    code, output = run()
    assert code == 0, output
    assert output.splitlines()[0] == (
        "PASS five errors a minute alert, two a minute warn (monitors/tests/errors.yaml:2)"
    )
    assert output.splitlines()[-1].startswith("1 test: 1 passed, 0 failed (")


def test_a_failure_names_the_line_the_group_the_value_the_threshold_and_the_window(project: Path) -> None:
    write_tests(
        project,
        """\
        tests:
          - name: checkout alerts too
            monitor: app-errors
            input:
              app.errors{service:checkout}: {values: "1x9", type: count}
            expect:
              - at: 6m
                states:
                  service:checkout: Alert
        """,
    )
    code, output = run()
    assert code == 1
    assert (
        "monitors/tests/errors.yaml:9: app-errors at 6m: service:checkout is OK, expected Alert "
        "(value 5 <= critical 10 over 5m)"
    ) in output.splitlines()
    assert "FAIL checkout alerts too (monitors/tests/errors.yaml:2)" in output


def test_never_reports_the_first_evaluation_in_that_state_once_per_group(project: Path) -> None:
    write_tests(
        project,
        """\
        tests:
          - name: never alerts
            monitor: app-errors
            input:
              app.errors{service:cart}: {values: "0 0 8 8 8 0", type: count}
            expect:
              - never: [Alert, Warn]
        """,
    )
    code, output = run()
    failures = [line for line in output.splitlines() if line.startswith("monitors/tests/")]
    assert code == 1
    assert failures == [
        "monitors/tests/errors.yaml:7: app-errors at 3m: service:cart is Warn, expected never Alert or Warn "
        "(value 8 > warning 5 over 5m)"
    ]


def test_never_can_name_the_groups_it_checks(project: Path) -> None:
    write_tests(
        project,
        """\
        tests:
          - name: cart alerts, checkout never does
            monitor: app-errors
            input:
              app.errors{service:cart}: {values: "5x9", type: count}
              app.errors{service:checkout}: {values: "_x5 1 _x4", type: count}
            expect:
              - never: Alert
                groups: ["service:checkout"]
              - never: Alert
                groups: ["service:cart"]
                until: 3m
        """,
    )
    code, output = run()
    assert code == 1
    assert [line for line in output.splitlines() if line.startswith("monitors/tests/")] == [
        "monitors/tests/errors.yaml:10: app-errors at 3m: service:cart is Alert, expected never Alert "
        "(value 15 > critical 10 over 5m)"
    ]


def test_a_simple_alert_is_the_monitor_as_a_whole_and_reaches_no_data(project: Path) -> None:
    write_tests(
        project,
        """\
        tests:
          - name: a full queue alerts, then its data stops
            monitor: queue-full
            step: 30s
            input:
              app.queue: "50 50 150 90 _x4 80"
            expect:
              - at: 2m
                states: {"*": Alert}
              - at: 4m
                states: {"*": Alert}
              - at: 10m
                states: {"*": No Data}
        """,
        name="queue.yaml",
    )
    code, output = run()
    assert code == 0, output


def test_a_test_runs_in_the_environment_it_names(project: Path) -> None:
    write_tests(
        project,
        """\
        tests:
          - name: 15 errors in 5 minutes alert in staging
            monitor: app-errors
            input:
              app.errors{service:cart}: {values: "3x9", type: count}
            expect:
              - {at: 6m, states: {"service:cart": Alert}}
          - name: but not in production, whose threshold is 20
            monitor: app-errors
            env: production
            input:
              app.errors{service:cart}: {values: "3x9", type: count}
            expect:
              - {at: 6m, states: {"service:cart": Alert}}
        """,
    )
    code, output = run()
    assert code == 1
    assert "PASS 15 errors in 5 minutes alert in staging" in output
    assert (
        "monitors/tests/errors.yaml:14: app-errors at 6m: service:cart is Warn, expected Alert "
        "(value 15 > warning 5 over 5m)"
    ) in output


def test_a_group_no_evaluation_saw_is_reported_without_a_value(project: Path) -> None:
    write_tests(
        project,
        """\
        tests:
          - name: a service that never reported
            monitor: app-errors
            input:
              app.errors{service:cart}: {values: "1x5", type: count}
            expect:
              - {at: 3m, states: {"service:payments": OK}}
        """,
    )
    code, output = run()
    assert code == 1
    assert "app-errors at 3m: service:payments has no state (no evaluation saw it), expected OK" in output


def test_a_failure_names_the_terms_of_a_sum_the_test_sent_no_series_for(project: Path) -> None:
    (project / "monitors" / "ejections.yaml").write_text(
        textwrap.dedent("""\
        id: ejections
        kind: monitor
        name: ejections
        type: query alert
        query: "sum(last_5m):sum:envoy.cluster.outlier_detection.ejections_active{*} by {envoy_cluster} + sum:envoy.cluster.outlier_detection.ejections_overflow.count{*} by {envoy_cluster}.as_count() + sum:app.ejected{*} by {envoy_cluster} > 0"
        message: "@slack-app"
        options: {thresholds: {critical: 0}, new_group_delay: 0}
        """)
    )
    write_tests(
        project,
        """\
        tests:
          - name: the gauge alone
            monitor: ejections
            env: production
            istio: [{envoy: openmetrics}]
            input:
              mesh:outlier_ejections_active{envoy_cluster:cart}: "0 1 1 1 1"
            expect:
              - {at: 4m, states: {"envoy_cluster:cart": Alert}}
        """,
    )
    code, output = run()
    assert code == 1
    (failure,) = [line for line in output.splitlines() if "ejections [istio envoy=openmetrics] at 4m" in line]
    assert "envoy_cluster:cart has no state (no evaluation saw it), expected Alert" in failure
    assert failure.endswith(
        "; the test sent no series for mesh:outlier_ejections_overflow, app.ejected (arithmetic between "
        "metrics has a value only where every term has a series)"
    ), failure


def test_a_monitor_the_emulator_cannot_evaluate_is_an_error_not_a_pass(project: Path) -> None:
    (project / "monitors" / "change.yaml").write_text(
        "id: queue-change\nkind: monitor\nname: queue change\ntype: query alert\n"
        'query: "change(avg(last_5m),last_5m):avg:app.queue{*} > 10"\nmessage: "@slack-app"\n'
        "options: {thresholds: {critical: 10}}\n"
    )
    write_tests(
        project,
        """\
        tests:
          - name: never alerts
            monitor: queue-change
            input: {app.queue: "1x5"}
            expect: [{never: Alert}]
        """,
    )
    code, output = run()
    assert code == 1
    assert "ERROR never alerts" in output
    assert "the emulator does not evaluate monitor queue-change: change() queries are not evaluated" in output


def test_a_composite_naming_monitors_the_repository_lacks_says_to_import_them(project: Path) -> None:
    (project / "monitors" / "both.yaml").write_text(
        'id: both\nkind: monitor\nname: both\ntype: composite\nquery: "150887055 && @{queue-full}"\n'
        'message: "@slack-app"\n'
    )
    write_tests(
        project,
        """\
        tests:
          - name: both never alert
            monitor: both
            input: {app.queue: "1x5"}
            expect: [{never: Alert}]
        """,
    )
    code, output = run()
    assert code == 1
    assert "the emulator refused monitor both:" in output and "150887055" in output
    assert "hint: a composite test needs the monitors it combines defined in this repository" in output
    assert "`provisioner import --id 150887055`" in output


def test_json_output_matches_its_schema_and_junit_counts_the_tests(
    project: Path, output_schemas: OutputSchemas
) -> None:
    write_tests(project, PASSING)
    write_tests(
        project,
        """\
        tests:
          - name: the queue never alerts
            monitor: queue-full
            input: {app.queue: "50 150"}
            expect: [{never: Alert}]
        """,
        name="queue.yaml",
    )
    result = CliRunner().invoke(app, ["test", "--format", "json", "--junit", "reports/junit.xml"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    output_schemas.check("test", document)
    assert document["summary"] | {"seconds": 0} == {
        "tests": 2,
        "passed": 1,
        "failed": 1,
        "errors": 0,
        "seconds": 0,
    }
    failure = document["tests"][1]["failures"][0]
    assert (failure["at"], failure["group"], failure["actual"], failure["expected"]) == (
        "2m",
        "*",
        "Alert",
        "never Alert",
    )
    assert failure["evaluations"][0] | {"explanation": ""} == {
        "monitor": "queue-full", "group": "*", "status": "Alert", "explanation": "", "value": 150.0,
        "comparator": ">", "threshold": 100.0, "compared_with": "critical", "window": "5m",
    }  # fmt: skip
    suites = ET.parse(project / "reports" / "junit.xml").getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("2", "1", "0")
    failed = suites.find("testsuite[@name='monitors/tests/queue.yaml']/testcase/failure")
    assert failed is not None and failed.get("message") == failure["message"]


def test_series_named_by_catalogue_key_take_the_environments_metric_name_and_type(project: Path) -> None:
    (project / "monitors" / "requests.yaml").write_text(
        "id: cart-5xx\nkind: monitor\nname: cart 5xx\ntype: query alert\nmessage: '@slack-app'\n"
        'query: "sum(last_5m):sum:istio.mesh.request.count.total{destination_service_name:cart,'
        'response_code:5*}.as_count() > 50"\n'
        "options: {thresholds: {critical: 50}}\n"
    )
    write_tests(
        project,
        """\
        tests:
          - name: 60 5xx in 5 minutes alert
            monitor: cart-5xx
            input:
              mesh:requests{destination_service_name:cart,response_code:503}: "12x9"
            expect:
              - {at: 5m, states: {"*": Alert}}
        """,
    )
    code, output = run()
    assert code == 0, output


def test_the_definitions_skip_test_folders(project: Path) -> None:
    write_tests(project, PASSING)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "in 2 files" in result.output
