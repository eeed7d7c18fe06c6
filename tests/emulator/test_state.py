"""Persistence with --state: restarts keep the org; a SIGKILL mid-write leaves a readable file."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from provisioner.emulator import EmulatorConfig, start_emulator
from provisioner.emulator.process import start_emulator_process
from provisioner.emulator.state import StateFileError

from .conftest import RawClient  # type: ignore[import-not-found]

GOOD = {"type": "metric alert", "query": "avg(last_5m):avg:system.cpu.user{*} > 2", "name": "cpu"}
DASHBOARD = {
    "title": "Mesh",
    "layout_type": "ordered",
    "widgets": [{"definition": {"type": "note", "content": "x"}}],
}


def everything(raw: RawClient) -> tuple[list[Any], list[Any]]:
    monitors = raw.call("GET", "/api/v1/monitor").json
    summaries = raw.call("GET", "/api/v1/dashboard").json["dashboards"]
    dashboards = [raw.call("GET", f"/api/v1/dashboard/{item['id']}").json for item in summaries]
    return monitors, dashboards


def test_restart_keeps_every_monitor_and_dashboard(tmp_path: Path) -> None:
    config = EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json")
    with start_emulator(config) as running:
        raw = RawClient(running.base_url, "k", "a")
        for index in range(20):
            raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"m{index}"})
            raw.call("POST", "/api/v1/dashboard", {**DASHBOARD, "title": f"d{index}"})
        doomed = raw.call("GET", "/api/v1/monitor").json[0]["id"]
        raw.call("DELETE", f"/api/v1/monitor/{doomed}")
        before = everything(raw)
        raw.close()
    with start_emulator(config) as restarted:
        raw = RawClient(restarted.base_url, "k", "a")
        after = everything(raw)
        new_id = raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
        raw.close()
    assert after == before and len(after[0]) == 19 and len(after[1]) == 20
    assert new_id > max(monitor["id"] for monitor in before[0])  # ids are never handed out twice


def test_writes_are_coalesced_and_leave_no_temporary_files(tmp_path: Path) -> None:
    config = EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json")
    with start_emulator(config) as running:
        running.admin.seed_monitors([{**GOOD, "name": f"m{index}"} for index in range(300)])
        raw = RawClient(running.base_url, "k", "a")
        for index in range(100):
            raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"n{index}"})
        raw.close()
    stored = json.loads((tmp_path / "org.json").read_text())
    assert len(stored["monitors"]) == 400
    assert sorted(path.name for path in tmp_path.iterdir()) == ["org.json"]


def test_state_written_within_the_durability_window_without_a_stop(tmp_path: Path) -> None:
    config = EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json")
    with start_emulator(config) as running:
        raw = RawClient(running.base_url, "k", "a")
        raw.call("POST", "/api/v1/monitor", GOOD)
        raw.close()
        deadline = time.monotonic() + 5
        while not (tmp_path / "org.json").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(json.loads((tmp_path / "org.json").read_text())["monitors"]) == 1


def test_a_file_that_is_not_a_state_file_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text("{not json")
    with pytest.raises(StateFileError, match="org.json: not an emulator state file"):
        start_emulator(EmulatorConfig(state_path=path))


def _keep_creating(base_url: str, stop: threading.Event, answered: list[int]) -> None:
    raw = RawClient(base_url, "k", "a")
    try:
        while not stop.is_set():
            answer = raw.call("POST", "/api/v1/monitor", GOOD)
            if answer.status == 200:
                answered.append(answer.json["id"])
    except (OSError, Exception):  # the server was killed under us
        pass
    finally:
        raw.close()


def _kill_while_writing(child: Any, folder: Path) -> bool:
    """SIGKILL the child as soon as a state write is in progress (its temporary file exists)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if list(folder.glob(".org.json.*.tmp")) and (folder / "org.json").exists():
            child.kill()
            return True
        time.sleep(0.002)
    child.kill()
    return False


@pytest.mark.parametrize("attempt", [1, 2])
def test_sigkill_during_writes_leaves_a_readable_state_file(tmp_path: Path, attempt: int) -> None:
    state = tmp_path / "org.json"
    child = start_emulator_process("--no-rate-limits", "--state", str(state))
    try:
        from provisioner.emulator.admin_client import EmulatorAdmin

        admin = EmulatorAdmin(child.base_url)
        admin.seed_monitors([{**GOOD, "name": f"m{index}"} for index in range(2000)])
        admin.flush_state()  # from here on the file always holds at least these 2000
        stop, answered = threading.Event(), []
        writers = [
            threading.Thread(target=_keep_creating, args=(child.base_url, stop, answered)) for _ in range(2)
        ]
        for writer in writers:
            writer.start()
        killed_mid_write = _kill_while_writing(child, tmp_path)

        stop.set()
        for writer in writers:
            writer.join(10)
    finally:
        child.stop()
    assert killed_mid_write, "no state write was seen in progress"
    stored = json.loads(state.read_text())  # whole JSON, never torn
    assert len(stored["monitors"]) >= 2000
    restarted = start_emulator_process("--no-rate-limits", "--state", str(state))
    try:
        raw = RawClient(restarted.base_url, "k", "a")
        served = raw.call("GET", "/api/v1/monitor").json
        raw.close()
    finally:
        restarted.stop()
    assert [monitor["id"] for monitor in served] == [monitor["id"] for monitor in stored["monitors"]]
    assert not list(tmp_path.glob(".org.json.*.tmp"))  # leftovers of the killed writer are cleared
