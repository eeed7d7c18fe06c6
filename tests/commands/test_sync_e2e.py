"""plan, apply and drift end to end: the real CLI, real YAML files, real HTTP to the emulator."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.monitor_type import MonitorType
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

if TYPE_CHECKING:
    from conftest import Cli, OutputSchemas

from provisioner.emulator import FaultRule, RunningEmulator

REPO = Path(__file__).resolve().parents[2]

MONITOR_YAML = """\
kind: monitor
id: {id}
name: {name}
type: metric alert
query: avg(last_5m):avg:trace.envoy.proxy.duration{{service:{service}}} > {critical}
message: Latency of {service} is high. @slack-mesh-oncall
tags: [team:mesh]
options:
  thresholds: {{critical: {critical}, warning: {warning}}}
  notify_no_data: false
"""


def write_monitor(folder: Path, definition_id: str, critical: float = 2, service: str = "checkout") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{definition_id}.yaml"
    path.write_text(
        MONITOR_YAML.format(
            id=definition_id,
            name=f"{service} latency",
            service=service,
            critical=critical,
            warning=critical / 2,
        )
    )
    return path


def monitors_api(emulator: RunningEmulator) -> MonitorsApi:
    """Datadog's own client, standing in for a person editing monitors in the Datadog UI."""
    config = Configuration(host=emulator.base_url)
    config.api_key["apiKeyAuth"] = os.environ["DD_API_KEY"]
    config.api_key["appKeyAuth"] = os.environ["DD_APP_KEY"]
    return MonitorsApi(ApiClient(config))


def monitors_of(api: MonitorsApi, definition_id: str) -> list[Monitor]:
    return list(api.list_monitors(monitor_tags=f"provisioner-id:{definition_id}"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def shipped(project: Path) -> Path:
    for folder in ("monitors", "dashboards"):
        shutil.copytree(REPO / folder, project / folder)
    shutil.copy(REPO / "provisioner.yaml", project / "provisioner.yaml")
    return project


def test_apply_shipped_definitions_then_plan_is_empty_and_second_apply_writes_nothing(
    cli: Cli, shipped: Path, dd_env: RunningEmulator
) -> None:
    code, output = cli("apply")
    assert code == 0, output
    assert "0 failed" in output
    code, output = cli("plan", "--detailed-exitcode")
    assert code == 0, output
    assert "No changes" in output

    dd_env.admin.reset_log()
    code, output = cli("apply")
    assert code == 0, output
    writes = {k: v for k, v in dd_env.admin.request_counts().items() if not k.startswith("GET")}
    assert writes == {}


def test_hand_edit_is_drift_and_apply_reverts_it(
    cli: Cli, project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    write_monitor(project / "monitors", "checkout-latency")
    assert cli("apply", "monitors")[0] == 0
    api = monitors_api(dd_env)
    (live,) = monitors_of(api, "checkout-latency")
    api.update_monitor(live.id, MonitorUpdateRequest(name="renamed in the UI during an incident"))

    code, plan = cli.json("plan", "monitors", "--detailed-exitcode", "--format", "json")
    assert code == 2, plan
    output_schemas.check("plan", plan)
    (change,) = plan["changes"]
    assert change["action"] == "drift"
    assert change["datadog_id"] == live.id
    assert change["live_modified"]
    assert [(f["pointer"], f["live"], f["changed_by"]) for f in change["fields"]] == [
        ("/name", "renamed in the UI during an incident", "datadog")
    ]

    code, output = cli("apply", "monitors")
    assert code == 0, output
    assert api.get_monitor(live.id).name == "checkout latency"
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0


def test_code_change_is_an_update_not_drift(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    write_monitor(project / "monitors", "checkout-latency", critical=2)
    assert cli("apply", "monitors")[0] == 0
    write_monitor(project / "monitors", "checkout-latency", critical=4)
    code, plan = cli.json("plan", "monitors", "--detailed-exitcode", "--format", "json")
    assert code == 2
    (change,) = plan["changes"]
    assert change["action"] == "update"
    assert {f["changed_by"] for f in change["fields"]} == {"code"}


def test_code_change_and_hand_edit_of_another_field_is_a_conflict_and_keep_drift_keeps_the_edit(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    write_monitor(project / "monitors", "checkout-latency", critical=2)
    assert cli("apply", "monitors")[0] == 0
    api = monitors_api(dd_env)
    (live,) = monitors_of(api, "checkout-latency")
    api.update_monitor(live.id, MonitorUpdateRequest(name="edited by hand"))
    write_monitor(project / "monitors", "checkout-latency", critical=4)

    code, plan = cli.json("plan", "monitors", "--format", "json")
    (change,) = plan["changes"]
    assert change["action"] == "conflict"
    origins = {f["pointer"].split("/")[1]: f["changed_by"] for f in change["fields"]}
    assert origins == {"name": "datadog", "query": "code", "options": "code"}

    assert cli("apply", "monitors", "--keep-drift")[0] == 0
    after = api.get_monitor(live.id)
    assert after.name == "edited by hand"
    assert after.options.thresholds.critical == 4.0
    code, plan = cli.json("plan", "monitors", "--format", "json")
    (change,) = plan["changes"]
    assert change["action"] == "drift"


def test_unmanaged_monitor_is_never_touched(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    api = monitors_api(dd_env)
    mine = api.create_monitor(
        Monitor(
            name="hand made", type=MonitorType.METRIC_ALERT, query="avg(last_5m):avg:system.load.1{*} > 4"
        )
    )
    write_monitor(project / "monitors", "checkout-latency")
    assert cli("apply", "monitors", "--prune", "--force")[0] == 0
    assert cli("apply", "monitors", "--prune", "--force")[0] == 0
    after = api.get_monitor(mine.id)
    assert (after.name, after.modified) == ("hand made", mine.modified)


def test_removed_definition_is_deleted_only_with_prune_and_the_guard_holds(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    for name in ("a-latency", "b-latency"):
        write_monitor(project / "monitors", name, service=name[0])
    assert cli("apply", "monitors")[0] == 0
    (project / "monitors" / "b-latency.yaml").unlink()

    code, output = cli("plan", "monitors", "--detailed-exitcode")
    assert code == 2 and "To delete" in output and "b-latency" in output
    api = monitors_api(dd_env)

    code, output = cli("apply", "monitors")
    assert code == 0 and len(monitors_of(api, "b-latency")) == 1
    assert "· delete   monitor b-latency" in output and "removed from code; run with --prune to delete" in output
    assert "note: 1 resource removed from code was not deleted: apply deletes only with --prune" in output
    assert "Apply: 0 done, 0 failed, 1 skipped." in output and "nothing to do" not in output
    code, applied = cli.json("apply", "monitors", "--format", "json")
    (skipped,) = applied["outcomes"]
    assert code == 0 and applied["ok"] is True
    assert (skipped["definition_id"], skipped["action"], skipped["status"]) == ("b-latency", "delete", "skipped")
    assert "--prune" in skipped["message"]

    code, output = cli("apply", "monitors", "--prune")
    assert code == 1 and "refused to delete 1 of 2" in output
    assert len(monitors_of(api, "b-latency")) == 1

    code, output = cli("apply", "monitors", "--prune", "--force")
    assert code == 0, output
    assert monitors_of(api, "b-latency") == []
    assert len(monitors_of(api, "a-latency")) == 1


@pytest.mark.parametrize("fault", ["commit_then_error", "commit_then_reset"])
def test_lost_create_response_leaves_exactly_one_monitor(
    cli: Cli, project: Path, dd_env: RunningEmulator, fault: str
) -> None:
    write_monitor(project / "monitors", "checkout-latency")
    dd_env.admin.set_faults(
        rules=[FaultRule(fault, method="POST", path="/api/v1/monitor", count=1, status=500)]
    )
    code, output = cli("apply", "monitors")
    assert code == 0, output
    assert len(monitors_of(monitors_api(dd_env), "checkout-latency")) == 1
    assert cli("apply", "monitors")[0] == 0
    assert len(monitors_of(monitors_api(dd_env), "checkout-latency")) == 1
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0


def test_bursts_of_429_and_5xx_still_converge(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    for index in range(12):
        write_monitor(project / "monitors", f"svc{index}-latency", service=f"svc{index}")
    dd_env.admin.set_faults(
        rules=[
            FaultRule("throttle", path="/api/v1/monitor*", count=6, reset_s=1),
            FaultRule("error", method="GET", count=2, status=503),
            FaultRule("error", method="POST", count=2, status=502),
        ]
    )
    codes = [cli("apply", "monitors")[0] for _ in range(3)]
    assert codes[-1] == 0
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0
    api = monitors_api(dd_env)
    assert all(len(monitors_of(api, f"svc{i}-latency")) == 1 for i in range(12))


def test_invalid_definitions_send_nothing(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    path = write_monitor(project / "monitors", "checkout-latency")
    path.write_text(path.read_text().replace("critical: 2", "critical: high"))
    dd_env.admin.reset_log()
    code, output = cli("apply", "monitors")
    assert code == 1
    assert "checkout-latency.yaml:" in output and "Nothing was sent" in output
    assert dd_env.admin.request_counts() == {}


def test_missing_credentials_name_the_variables(
    cli: Cli, project: Path, dd_env: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DD_API_KEY")
    write_monitor(project / "monitors", "checkout-latency")
    code, output = cli("plan", "monitors")
    assert code == 1
    assert "DD_API_KEY" in output and "Traceback" not in output


def test_keys_never_appear_in_output_even_on_auth_errors(
    cli: Cli, project: Path, dd_env: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_api, secret_app = "wrong-api-key-5ecr3t", "wrong-app-key-5ecr3t"
    monkeypatch.setenv("DD_API_KEY", secret_api)
    monkeypatch.setenv("DD_APP_KEY", secret_app)
    write_monitor(project / "monitors", "checkout-latency")
    for args in (("plan", "monitors"), ("--debug", "apply", "monitors")):
        code, output = cli(*args)
        assert code == 1
        assert "403" in output
        assert secret_api not in output and secret_app not in output


def test_usage_error_never_exits_2(cli: Cli, project: Path) -> None:
    code, _ = cli("plan", "--detailed-exitcode", "--no-such-flag")
    assert code == 1


def test_a_field_the_definition_leaves_unset_is_cleared_when_set_by_hand(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    write_monitor(project / "monitors", "checkout-latency")
    assert cli("apply", "monitors")[0] == 0
    api = monitors_api(dd_env)
    (live,) = monitors_of(api, "checkout-latency")
    api.update_monitor(live.id, MonitorUpdateRequest(restricted_roles=["00000000-0000-1000-8000-000000000001"]))
    code, plan = cli.json("plan", "monitors", "--format", "json")
    (change,) = plan["changes"]
    assert [(f["pointer"], f["live"], f["desired_present"]) for f in change["fields"]] == [("/restricted_roles", ["00000000-0000-1000-8000-000000000001"], False)]
    assert cli("apply", "monitors")[0] == 0
    assert api.get_monitor(live.id).restricted_roles is None
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0
