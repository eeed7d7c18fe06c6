"""The audit's ``stuck-in-alert`` and ``stuck-in-no-data`` findings end to end: monitors applied to the
emulator, two hours of points submitted minute by minute on its manual clock (started two hours before
the wall clock the audit reads), the monitors evaluated by the emulator, then the real CLI audit."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from tests.conftest import TEST_API_KEY, TEST_APP_KEY

HOURS = 2
MONITORS = """\
- id: queue-full
  kind: monitor
  name: queue full
  type: metric alert
  query: "max(last_5m):avg:app.queue{*} > 100"
  message: "The queue is full. @slack-app"
  options: {thresholds: {critical: 100, warning: 90}, notify_no_data: true, no_data_timeframe: 10}
- id: backlog-high
  kind: monitor
  name: backlog high
  type: metric alert
  query: "max(last_5m):avg:app.backlog{*} > 100"
  message: "The backlog is high. @slack-app"
  options: {thresholds: {critical: 100, warning: 90}, notify_no_data: true, no_data_timeframe: 10}
- id: heartbeat-low
  kind: monitor
  name: heartbeat low
  type: metric alert
  query: "min(last_5m):avg:app.heartbeat{*} < 1"
  message: "No heartbeat. @slack-app"
  options: {thresholds: {critical: 1, warning: 2}, notify_no_data: true, no_data_timeframe: 10}
"""


def points_at(minute: int) -> dict[str, float]:
    """The queue stays full all along; the backlog is high for 20 minutes, then drains; the heartbeat
    beats for 30 minutes, then stops."""
    values = {"app.queue": 150.0, "app.backlog": 150.0 if minute < 20 else 10.0}
    if minute < 30:
        values["app.heartbeat"] = 5.0
    return values


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    start = (int(time.time()) // 60 - HOURS * 60) * 60
    config = EmulatorConfig(
        api_keys=(TEST_API_KEY,), app_keys=(TEST_APP_KEY,), rate_limits=False, clock_start_s=start
    )
    with start_emulator(config) as running:
        monkeypatch.setenv("DD_API_KEY", TEST_API_KEY)
        monkeypatch.setenv("DD_APP_KEY", TEST_APP_KEY)
        monkeypatch.delenv("DD_SITE", raising=False)
        monkeypatch.setenv("PROVISIONER_API_URL", running.base_url)
        yield running


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: RunningEmulator) -> int:
    """Apply the monitors, then feed and evaluate them minute by minute up to the wall clock; returns the
    start (epoch s)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "app.yaml").write_text(MONITORS)
    code, output = cli("apply")
    assert code == 0, output
    start = int(emulator.admin.clock()["now"])
    with DatadogClient(Target(emulator.base_url, TEST_API_KEY, TEST_APP_KEY)) as client:
        for minute in range(HOURS * 60):
            series = [
                {"metric": metric, "type": 3, "points": [{"timestamp": start + minute * 60, "value": value}]}
                for metric, value in points_at(minute).items()
            ]
            client.submit_series(series)
            emulator.admin.advance_clock(60)
    return start


def stuck_findings(*args: str) -> dict[str, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, ["audit", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    return {
        monitor["title"]: [f for f in monitor["findings"] if f["code"].startswith("stuck-")]
        for monitor in report["monitors"]
    }


def since(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M UTC")


def test_monitors_kept_in_alert_or_without_data_past_the_limit_are_stuck(history: int) -> None:
    found = stuck_findings("--stuck-limit", "1h")
    assert [f["code"] for f in found["queue full"]] == ["stuck-in-alert"]
    assert found["queue full"][0]["message"].startswith(f"in Alert since {since(history + 60)} ")
    assert [f["code"] for f in found["heartbeat low"]] == ["stuck-in-no-data"]
    # the last point at minute 29; No Data once no_data_timeframe (10 minutes) has passed since it
    assert found["heartbeat low"][0]["message"].startswith(f"in No Data since {since(history + 39 * 60)} ")
    assert found["backlog high"] == []  # it alerted, then recovered
    assert all(findings == [] for findings in stuck_findings("--stuck-limit", "3h").values())
