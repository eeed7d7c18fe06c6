"""The corrected API facts never read as drift: apply monitors that hit them, then plan shows no changes.

Each definition below makes the emulator (which answers as the recordings show) return something other than
what was sent: integer service-check thresholds kept as integers, ``on_missing_data: "default"`` echoed
without ``notify_no_data``, ``thresholds: {}`` dropped, ``threshold_windows`` echoed, a ``current_1h``
scheduled metric alert keeping its type. ``normalize.py`` must treat each as equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

from provisioner.emulator import RunningEmulator

DEFINITIONS = {
    "ntp-in-sync": """\
kind: monitor
id: ntp-in-sync
name: NTP out of sync
type: service check
query: '"ntp.in_sync".by("*").last(2).count_by_status()'
options:
  thresholds: {ok: 1, warning: 1, critical: 1}
""",
    "cpu-default-missing-data": """\
kind: monitor
id: cpu-default-missing-data
name: CPU high
type: query alert
query: avg(last_5m):avg:system.cpu.user{env:prod} by {host} > 90
options:
  thresholds: {critical: 90}
  on_missing_data: default
""",
    "cpu-anomalies": """\
kind: monitor
id: cpu-anomalies
name: CPU anomalous
type: query alert
query: avg(last_4h):anomalies(avg:system.cpu.system{env:prod} by {host}, 'basic', 2, direction='both', alert_window='last_15m', interval=60, count_default_zero='true') >= 1
options:
  thresholds: {critical: 1, critical_recovery: 0}
  threshold_windows: {trigger_window: last_15m, recovery_window: last_15m}
""",
    "requests-change": """\
kind: monitor
id: requests-change
name: Request volume changed
type: metric alert
query: change(min(last_1m),last_5m):sum:istio.mesh.request.count{env:prod} > 5
options:
  thresholds: {}
""",
    "load-hourly": """\
kind: monitor
id: load-hourly
name: Load this hour
type: metric alert
query: avg(current_1h):avg:system.load.5{env:prod} > 0.5
options:
  thresholds: {critical: 0.5}
  scheduling_options:
    evaluation_window: {hour_starts: 0, timezone: Europe/Amsterdam}
""",
    "error-logs": """\
kind: monitor
id: error-logs
name: Too few logs
type: log alert
query: logs("*").index("*").rollup("count").last("5m") < 100
options:
  thresholds: {critical: 100}
  on_missing_data: default
""",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "monitors"
    folder.mkdir()
    for definition_id, text in DEFINITIONS.items():
        (folder / f"{definition_id}.yaml").write_text(text)
    return tmp_path


def test_monitors_hitting_the_corrected_facts_plan_no_changes_after_apply(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    code, output = cli("apply", "monitors")
    assert code == 0, output
    assert dd_env.admin.health()["monitors"] == len(DEFINITIONS)
    code, output = cli("plan", "monitors", "--detailed-exitcode")
    assert code == 0, output
    assert "No changes" in output
