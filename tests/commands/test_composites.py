"""Composite monitors between definitions, end to end: ``@{id}`` references validated, apply writing the
monitors a composite combines before the composite (with their new Datadog ids), plan comparing the live
composite in the definitions' form, deletes in reverse. The real CLI, real HTTP to the emulator (which,
like Datadog, refuses a composite naming a monitor that does not exist, and a delete of a monitor a
composite still uses)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli, OutputSchemas

from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.emulator import RunningEmulator

RAW = """\
- id: {id}
  kind: monitor
  name: "{id} high"
  type: query alert
  query: "avg(last_5m):avg:system.{id}.used{{*}} > 90"
  message: "{id} is high. @slack-infra"
  options: {{thresholds: {{critical: 90}}}}
"""
COMPOSITE = """\
- id: {id}
  kind: monitor
  name: "{id}"
  type: composite
  query: "{query}"
  message: "Both at once. @pagerduty-infra"
"""
ERROR_RATE = """\
- id: checkout-errors
  kind: error-rate
  name: "[mesh] checkout 5xx ratio"
  source: istio
  scope: ["destination_service_name:checkout"]
  thresholds: {critical: 2%, warning: 1%}
  message: "checkout fails. @slack-mesh"
"""


def write_all(project: Path, query: str) -> None:
    """Two raw monitors, an error-rate group, and a raw composite with this query."""
    write(
        project,
        RAW.format(id="cpu"),
        RAW.format(id="mem"),
        ERROR_RATE,
        COMPOSITE.format(id="both", query=query),
    )


def write(project: Path, *documents: str) -> None:
    (project / "monitors").mkdir(exist_ok=True)
    (project / "monitors" / "m.yaml").write_text("".join(documents))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def live(emulator: RunningEmulator) -> dict[str, dict]:
    with DatadogClient(
        Target(emulator.base_url, os.environ["DD_API_KEY"], os.environ["DD_APP_KEY"])
    ) as client:
        return {str(m.body["name"]): dict(m.body) for m in client.list_monitors()}


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("@{cpu} && @{mme}", "unknown-reference", "@{mme} names no monitor definition"),
        ("@{cpu} && @{both}", "reference-cycle", "@{both} leads back to both: a reference cycle"),
        ("@{cpu} || @{checkout-errors}", "composite-in-composite", "@{checkout-errors} is a composite"),
        ("@{cpu} && (@{mem} ||", "composite-syntax", "not a composite query: the query ends where a monitor"),
        ("@{cpu} @{mem}", "composite-syntax", "not a composite query: '@{mem}' where an operator"),
        ("@{cpu} and 123", "composite-syntax", "not a composite query: unexpected 'and 123'"),
    ],
)
def test_validate_rejects_references_datadog_could_not_resolve(
    cli: Cli, project: Path, query: str, code: str, message: str
) -> None:
    write_all(project, query)

    exit_code, output = cli("validate")

    assert exit_code == 1
    assert f"error [{code}] /3/query: {message}" in output
    assert "did you mean 'mem'" in output or code != "unknown-reference"


def test_a_reference_outside_a_composite_is_an_error(cli: Cli, project: Path) -> None:
    write(
        project,
        RAW.format(id="cpu").replace("system.cpu.used{*}", "system.cpu.used{host:@{mem}}"),
        RAW.format(id="mem"),
    )
    exit_code, output = cli("validate")
    assert exit_code == 1 and "[reference-outside-composite]" in output


def test_apply_writes_parts_before_composites_and_plan_then_has_nothing_to_do(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    write_all(project, "@{cpu} && @{mem}")

    code, output = cli("apply")

    assert code == 0, output
    monitors = live(dd_env)
    both = monitors["both"]["query"]
    assert both == f"{monitors['cpu high']['id']} && {monitors['mem high']['id']}"
    guard = monitors["[mesh] checkout 5xx ratio"]["query"]
    ratio = monitors["[mesh] checkout 5xx ratio [error ratio]"]["id"]
    traffic = monitors["[mesh] checkout 5xx ratio [at least 100 requests]"]["id"]
    assert guard == f"{ratio} && {traffic}"
    assert cli("plan", "--detailed-exitcode") == (0, cli("plan")[1])


def test_plan_says_which_composites_datadog_could_not_judge_before_their_monitors_exist(
    cli: Cli, project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    write(
        project,
        RAW.format(id="cpu"),
        RAW.format(id="mem"),
        COMPOSITE.format(id="both", query="@{cpu} && @{mem}"),
        COMPOSITE.format(id="either", query="@{cpu} || @{mem}"),
    )
    note = (
        "2 composites are checked locally (grammar, references); Datadog judges each when apply creates it, "
        "after the monitors it combines."
    )
    code, output = cli("plan", "--no-metric-check")
    assert code == 0, output
    assert "Datadog accepts the 2 monitors of this plan it could judge." in output
    assert f"\n{note}\n" in output and "warning" not in output, output  # expected: a note, not a warning
    code, markdown = cli("plan", "--no-metric-check", "--format", "markdown")
    assert f"\n> {note}\n" in markdown and "⚠️" not in markdown, markdown
    code, plan = cli.json("plan", "--format", "json", "--no-metric-check")
    output_schemas.check("plan", plan)
    unasked = plan["remote_validation"]["unasked"]
    assert [(u["definition_id"], u["status"]) for u in unasked] == [("both", None), ("either", None)]
    assert plan["remote_validation"]["checked"] == 2

    assert cli("apply", "--no-remote-validate")[0] == 0
    write(
        project,
        RAW.format(id="cpu"),
        RAW.format(id="mem"),
        COMPOSITE.format(id="both", query="@{cpu} || @{mem}"),
        COMPOSITE.format(id="either", query="@{cpu} || @{mem}"),
    )
    code, plan = cli.json("plan", "--format", "json", "--no-metric-check")
    assert (
        plan["remote_validation"]["unasked"] == [] and plan["remote_validation"]["checked"] == 1
    )  # asked now


def test_a_part_recreated_after_a_hand_delete_is_put_back_in_its_composite(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    write(project, ERROR_RATE)
    assert cli("apply")[0] == 0
    ratio = live(dd_env)["[mesh] checkout 5xx ratio [error ratio]"]["id"]
    dd_env_delete(dd_env, ratio)  # forced, as the Datadog UI can

    code, plan = cli.json("plan", "--format", "json", "--detailed-exitcode")

    assert code == 2
    actions = {(c["definition_id"], c["action"]) for c in plan["changes"]}
    assert actions == {("checkout-errors:ratio", "create"), ("checkout-errors", "drift")}
    assert cli("apply")[0] == 0
    monitors = live(dd_env)
    recreated = monitors["[mesh] checkout 5xx ratio [error ratio]"]["id"]
    assert recreated != ratio
    assert monitors["[mesh] checkout 5xx ratio"]["query"].startswith(f"{recreated} && ")
    assert cli("plan", "--detailed-exitcode")[0] == 0  # the composite is in sync: same form, same fingerprint


def test_prune_deletes_composites_before_the_monitors_they_combine(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    write_all(project, "@{cpu} && @{mem}")
    assert cli("apply")[0] == 0
    write(project, RAW.format(id="keep"))

    code, output = cli("apply", "--prune", "--force")

    assert code == 0, output
    assert sorted(live(dd_env)) == ["keep high"]


def dd_env_delete(emulator: RunningEmulator, monitor_id: int) -> None:
    from urllib.request import Request, urlopen

    request = Request(f"{emulator.base_url}/api/v1/monitor/{monitor_id}?force=true", method="DELETE")
    request.add_header("DD-API-KEY", os.environ["DD_API_KEY"])
    request.add_header("DD-APPLICATION-KEY", os.environ["DD_APP_KEY"])
    with urlopen(request, timeout=5) as response:  # noqa: S310 - loopback emulator
        assert json.loads(response.read())["deleted_monitor_id"] == monitor_id
