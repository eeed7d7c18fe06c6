"""``provisioner emulator`` and ``python -m provisioner.emulator``: base URL first, clean stop, clear errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.emulator.admin_client import EmulatorAdmin
from provisioner.emulator.process import emulator_process, start_emulator_process

from .conftest import RawClient  # type: ignore[import-not-found]

GOOD = {"type": "metric alert", "query": "avg(last_5m):avg:system.cpu.user{*} > 2", "name": "cpu"}


def test_module_entry_point_prints_the_base_url_and_flushes_state_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    child = start_emulator_process(
        "--no-rate-limits", "--state", str(state), "--api-key", "k", "--app-key", "a"
    )
    raw = RawClient(child.base_url, "k", "a")
    created = raw.call("POST", "/api/v1/monitor", GOOD).json
    raw.close()
    assert child.stop() == 0
    assert json.loads(state.read_text())["monitors"] == [created]


def test_emulator_process_context_manager_serves_the_api() -> None:
    with emulator_process("--no-rate-limits") as base_url:
        raw = RawClient(base_url, "any", "key")
        assert raw.call("GET", "/api/v1/validate").json == {"valid": True}
        raw.close()


def test_provisioner_emulator_command_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    command = [sys.executable, "-m", "provisioner", "emulator", "--port", "0", "--state", str(state)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        raw = RawClient(base_url, "k", "a")
        assert raw.call("POST", "/api/v1/monitor", GOOD).status == 200
        raw.close()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and len(json.loads(state.read_text())["monitors"]) == 1


def test_bad_faults_file_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("rules:\n  - kind: explode\n")
    result = CliRunner().invoke(app, ["emulator", "--port", "0", "--faults", str(faults)])
    assert result.exit_code == 1
    assert f"error: {faults}: rules[0]: 'kind' must be one of" in result.output
    assert "Traceback" not in result.output


def test_bad_rate_limit_option_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["emulator", "--port", "0", "--rate-limit", "post_monitors=lots"])
    assert result.exit_code == 1 and "expected BUCKET=LIMIT/PERIOD_S" in result.output


def test_port_in_use_is_a_clear_error() -> None:
    with emulator_process("--no-rate-limits") as base_url:
        port = base_url.rsplit(":", 1)[1]
        result = CliRunner().invoke(app, ["emulator", "--port", port])
    assert result.exit_code == 1 and f"cannot serve on 127.0.0.1:{port}" in result.output


def test_a_served_emulator_follows_the_wall_clock_unless_told_manual() -> None:
    with emulator_process("--no-rate-limits") as base_url:
        assert EmulatorAdmin(base_url).clock()["mode"] == "realtime"
    with emulator_process("--no-rate-limits", "--clock", "manual", "--clock-start", "1700000040") as base_url:
        admin = EmulatorAdmin(base_url)
        assert (admin.clock()["mode"], admin.clock()["now"]) == ("manual", 1700000040)
        assert admin.advance_clock(120)["evaluated_minutes"] == 2
