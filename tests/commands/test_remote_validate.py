"""plan and apply ask Datadog's validate endpoint (the emulator's, over real HTTP) about the monitors
they would write: a query Datadog rejects fails the plan at its file:line, and costs nothing when
nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli, OutputSchemas

from provisioner.emulator import FaultRule, RunningEmulator

LOG_ALERT = """\
kind: monitor
id: {id}
name: checkout errors in logs
type: log alert
query: {query}
message: Checkout logs errors. @slack-mesh-oncall
options:
  thresholds: {{critical: 10}}
"""
# Local validation accepts it; Datadog answers 400 (recorded: no comparator, no threshold).
REJECTED_QUERY = 'logs("service:checkout status:error").index("*").rollup("count").last("5m")'
ACCEPTED_QUERY = REJECTED_QUERY + " > 10"
DATADOG_SAYS = "The value provided for parameter 'query' is invalid: invalid operator specified: "

LATENCY = """\
kind: monitor
id: checkout-latency
name: checkout latency
type: metric alert
query: avg(last_5m):avg:trace.envoy.proxy.duration{{service:checkout}} > {critical}
message: {message} @slack-mesh-oncall
options:
  thresholds: {{critical: {critical}}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors").mkdir()
    return tmp_path


def write(project: Path, name: str, text: str) -> None:
    (project / "monitors" / f"{name}.yaml").write_text(text)


def validate_calls(emulator: RunningEmulator) -> dict[str, int]:
    return {k: v for k, v in emulator.admin.request_counts().items() if "validate" in k}


def test_a_query_datadog_rejects_fails_plan_at_its_file_and_line(
    cli: Cli, project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    write(project, "latency", LATENCY.format(critical=2, message="Slow"))
    write(project, "logs", "# checkout\n" + LOG_ALERT.format(id="checkout-log-errors", query=REJECTED_QUERY))
    assert cli("validate")[0] == 0  # provisioner's own rules accept it

    code, output = cli("plan", "--detailed-exitcode")

    assert code == 1
    assert (
        f"monitors/logs.yaml:2:1: error [datadog-rejected] Datadog rejects monitor 'checkout-log-errors': "
        f"{DATADOG_SAYS}" in output
    )
    assert f"✗ Datadog rejects this monitor: {DATADOG_SAYS}" in output
    assert validate_calls(dd_env) == {"POST /api/v1/monitor/validate": 2}
    assert not [k for k in dd_env.admin.request_counts() if k.startswith(("PUT", "DELETE", "POST /api/v1/monitor"))
                and "validate" not in k]  # fmt: skip

    code, plan = cli.json("plan", "--format", "json")
    assert code == 1
    output_schemas.check("plan", plan)
    rejected = {c["definition_id"]: c["rejected_by_datadog"] for c in plan["changes"]}
    assert rejected == {"checkout-latency": None, "checkout-log-errors": DATADOG_SAYS}
    assert plan["remote_validation"]["status"] == "rejected"
    assert plan["remote_validation"]["rejected"] == [
        {
            "kind": "monitor",
            "definition_id": "checkout-log-errors",
            "datadog_id": None,
            "source": {"path": "monitors/logs.yaml", "line": 2},
            "message": DATADOG_SAYS,
            "status": 400,
        }
    ]


def test_the_markdown_plan_shows_the_rejection_open(cli: Cli, project: Path) -> None:
    write(project, "logs", LOG_ALERT.format(id="checkout-log-errors", query=REJECTED_QUERY))
    code, markdown = cli("plan", "--format", "markdown", "--out", "plan.md")
    assert code == 1
    written = (project / "plan.md").read_text()
    assert "> ❌ Datadog rejects 1 monitor of this plan" in written
    assert "<details open><summary>🟢 <b>create</b> monitor `checkout-log-errors`" in written
    assert f"> ❌ **Datadog rejects this monitor**: {DATADOG_SAYS.strip()}" in written


def test_a_no_change_plan_sends_only_its_list_calls(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    write(project, "latency", LATENCY.format(critical=2, message="Slow"))
    write(project, "logs", LOG_ALERT.format(id="checkout-log-errors", query=ACCEPTED_QUERY))
    assert cli("apply")[0] == 0
    dd_env.admin.reset_log()

    code, output = cli("plan", "--detailed-exitcode")

    assert (code, "No changes" in output) == (0, True), output
    assert [(e.method, e.template) for e in dd_env.admin.request_log()] == [
        ("GET", "/api/v1/monitor"),
        ("GET", "/api/v1/dashboard"),
        ("GET", "/api/v1/metrics"),  # the metrics-reporting check: nothing reports, nothing more to read
    ]


def test_changes_of_query_type_or_options_are_validated_as_updates_and_text_changes_are_not(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    write(project, "latency", LATENCY.format(critical=2, message="Slow"))
    assert cli("apply")[0] == 0

    write(project, "latency", LATENCY.format(critical=2, message="Checkout is slow"))
    dd_env.admin.reset_log()
    code, output = cli("plan", "--detailed-exitcode")
    assert code == 2, output
    assert validate_calls(dd_env) == {}
    assert "Datadog accepts" not in output

    write(project, "latency", LATENCY.format(critical=3, message="Slow"))
    dd_env.admin.reset_log()
    code, output = cli("plan", "--detailed-exitcode")
    assert code == 2, output
    assert validate_calls(dd_env) == {"POST /api/v1/monitor/{id}/validate": 1}
    assert "Datadog accepts the monitor this plan creates or changes in query, type or options." in output


def test_no_remote_validate_skips_the_check(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    write(project, "logs", LOG_ALERT.format(id="checkout-log-errors", query=REJECTED_QUERY))
    code, plan = cli.json("plan", "--format", "json", "--no-remote-validate", "--detailed-exitcode")
    assert code == 2
    assert plan["remote_validation"] == {
        "status": "skipped", "checked": 0, "rejected": [], "unasked": [], "requests": 0
    }  # fmt: skip
    assert validate_calls(dd_env) == {}


def test_apply_writes_nothing_when_datadog_rejects_a_monitor(
    cli: Cli, project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    write(project, "latency", LATENCY.format(critical=2, message="Slow"))
    write(project, "logs", LOG_ALERT.format(id="checkout-log-errors", query=REJECTED_QUERY))

    code, output = cli("apply")
    assert code == 1
    assert "monitors/logs.yaml:1:1: error [datadog-rejected]" in output
    assert "Nothing was written to Datadog." in output

    code, outcome = cli.json("apply", "--format", "json")
    assert code == 1
    output_schemas.check("apply", outcome)
    assert (outcome["ok"], outcome["outcomes"], outcome["remote_validation"]["status"]) == (
        False,
        [],
        "rejected",
    )
    assert not any(k.startswith(("POST /api/v1/monitor", "PUT")) and "validate" not in k
                   for k in dd_env.admin.request_counts())  # fmt: skip

    write(project, "logs", LOG_ALERT.format(id="checkout-log-errors", query=ACCEPTED_QUERY))
    code, outcome = cli.json("apply", "--format", "json")
    assert code == 0
    output_schemas.check("apply", outcome)
    assert {(o["definition_id"], o["status"], o["message"]) for o in outcome["outcomes"]} == {
        ("checkout-latency", "ok", "created"),
        ("checkout-log-errors", "ok", "created"),
    }
    assert all(isinstance(o["datadog_id"], int) for o in outcome["outcomes"])


def test_a_validate_endpoint_that_fails_is_not_a_verdict(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    write(project, "latency", LATENCY.format(critical=2, message="Slow"))
    dd_env.admin.set_faults(
        rules=[FaultRule("error", method="POST", path="/api/v1/monitor/validate", status=503)]
    )
    code, output = cli("apply")
    assert code == 1
    assert "error: Datadog could not validate monitor 'checkout-latency': Datadog answered 503" in output
    assert "hint: nothing was written; run again, or skip the check with --no-remote-validate" in output
    assert not [k for k in dd_env.admin.request_counts() if k == "POST /api/v1/monitor"]


@pytest.mark.parametrize("status", [401, 403])
def test_a_validate_request_datadog_refuses_is_not_judged_and_the_plan_goes_on(
    cli: Cli, project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas, status: int
) -> None:
    """A scoped application key may not validate log monitors: that says nothing about the query."""
    write(project, "latency", LATENCY.format(critical=2, message="Slow"))
    write(project, "logs", LOG_ALERT.format(id="checkout-log-errors", query=ACCEPTED_QUERY))
    dd_env.admin.set_faults(
        rules=[FaultRule("error", method="POST", path="/api/v1/monitor/validate", status=status, count=1)]
    )
    code, output = cli("plan", "--detailed-exitcode", "--no-metric-check")
    assert code == 2, output  # changes, no error
    assert "Datadog rejects" not in output and "datadog-rejected" not in output
    assert "warning: Datadog refused to validate 1 monitor (" in output
    assert "Datadog asks for an unscoped application key to validate log monitors" in output
    assert "Datadog accepts the 1 monitor of this plan it could judge." in output

    dd_env.admin.set_faults(
        rules=[FaultRule("error", method="POST", path="/api/v1/monitor/validate", status=status)]
    )
    code, plan = cli.json("plan", "--format", "json", "--no-metric-check")
    assert code == 0
    output_schemas.check("plan", plan)
    validation = plan["remote_validation"]
    assert (validation["status"], validation["checked"], validation["rejected"]) == ("passed", 0, [])
    assert sorted((u["definition_id"], u["status"]) for u in validation["unasked"]) == [
        ("checkout-latency", status), ("checkout-log-errors", status)
    ]  # fmt: skip
    code, output = cli("apply")
    assert code == 0 and "Apply: 2 done, 0 failed" in output, output
