"""Who changed a field (`[by hand]`, `[code]`, `[unknown]`...): an adopted monitor carries the fingerprint the
adopting apply wrote, so a later hand edit is told from code; a marker line removed by hand leaves nothing to
tell them apart. Real CLI, real HTTP to the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.emulator import RunningEmulator
from provisioner.identity import strip_marker
from tests.conftest import TEST_API_KEY, TEST_APP_KEY

CONFIG = "namespace: mesh-sre\ndefault_environment: prod\nenvironments:\n  prod: {}\n"
QUERY = "avg(last_5m):avg:system.cpu.user{env:prod} by {host} > 90"
DEFINITION = """\
id: cpu-high
kind: monitor
adopt: {id}
name: cpu high
type: metric alert
query: "{query}"
message: "CPU is high. @slack-infra"
options:
  thresholds: {{critical: 90}}
"""


def changed_by(*args: str) -> dict[str, str]:
    result = CliRunner().invoke(app, ["plan", "--no-metric-check", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    (change,) = json.loads(result.stdout)["changes"]
    return {f["pointer"]: f["changed_by"] for f in change["fields"]}


def test_a_hand_edit_after_adoption_is_by_hand_and_one_without_the_marker_line_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    with DatadogClient(Target(dd_env.base_url, TEST_API_KEY, TEST_APP_KEY)) as client:
        hand_made = {"name": "cpu high", "type": "metric alert", "query": QUERY,
                     "message": "CPU is high. @slack-infra", "options": {"thresholds": {"critical": 90}}}  # fmt: skip
        monitor_id = int(client.create_monitor(hand_made).datadog_id)
        (tmp_path / "monitors").mkdir()
        (tmp_path / "monitors" / "cpu.yaml").write_text(DEFINITION.format(id=monitor_id, query=QUERY))
        applied = CliRunner().invoke(app, ["apply", "--no-remote-validate"])
        assert applied.exit_code == 0 and "adopted" in applied.output, applied.output

        live: dict[str, Any] = client.get_monitor(monitor_id).body
        edited = {k: live[k] for k in ("type", "query", "message", "tags", "options")}  # as the UI sends it
        client.update_monitor(monitor_id, {**edited, "name": "cpu high (tuned by hand)"})
        assert changed_by() == {"/name": "datadog"}

        without_marker = {**edited, "message": strip_marker(str(live["message"])) + " (edited)"}
        client.update_monitor(monitor_id, {**without_marker, "name": "cpu high (tuned by hand)"})
        assert changed_by() == {"/message": "unknown", "/name": "unknown"}  # the tags still say who owns it
