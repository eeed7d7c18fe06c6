"""``--emulator`` runs share the embedded org (.provisioner/emulator-state.json) safely: overlapping applies
keep each other's writes, and read-only commands never write the state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from provisioner.emulator import EmulatorConfig, start_emulator

from ..emulator.conftest import RawClient  # type: ignore[import-not-found]

if TYPE_CHECKING:
    from conftest import Cli

STATE = Path(".provisioner") / "emulator-state.json"
CONFIG = """\
namespace: mesh-sre
default_environment: staging
environments:
  staging:
    site: datadoghq.eu
    tags: ["env:staging"]
"""


def write_definitions(folder: Path, prefix: str, count: int) -> None:
    folder.mkdir()
    for index in range(count):
        (folder / f"{prefix}{index}.yaml").write_text(
            f"kind: monitor\nid: {prefix}-cpu-{index}\nname: CPU {prefix} {index}\ntype: metric alert\n"
            f"query: avg(last_5m):avg:system.cpu.user{{service:{prefix}{index}}} > 90\n"
            "options:\n  thresholds: {critical: 90}\n"
        )


def provisioner_process(*args: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("PROVISIONER_API_URL", "DD_SITE")}
    return subprocess.Popen(
        [sys.executable, "-m", "provisioner", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )


def definition_ids(state: Path) -> list[str]:
    """The provisioner-id of every monitor in the org kept in ``state`` (read by a fresh emulator)."""
    with start_emulator(EmulatorConfig(rate_limits=False, state_path=state)) as running:
        raw = RawClient(running.base_url, "k", "a")
        monitors = raw.call("GET", "/api/v1/monitor").json
        raw.close()
    return [tag.split(":", 1)[1] for m in monitors for tag in m["tags"] if tag.startswith("provisioner-id:")]


def state_files(project: Path) -> dict[str, bytes]:
    """The state file and its journal segments, byte for byte."""
    folder = project / STATE.parent
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.glob(f"{STATE.name}*"))
        if "lock" not in path.name
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROVISIONER_API_URL", raising=False)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    return tmp_path


def test_two_emulator_applies_at_once_keep_both_definition_sets(project: Path) -> None:
    write_definitions(project / "a", "a", 300)
    write_definitions(project / "b", "b", 300)
    runs = [provisioner_process("apply", "--emulator", folder) for folder in ("a", "b")]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("300 done, 0 failed" in output for output in outputs), outputs
    found = definition_ids(project / STATE)
    assert len(found) == len(set(found)) == 600
    assert {identifier.split("-", 1)[0] for identifier in found} == {"a", "b"}


def test_plan_audit_and_import_leave_the_state_and_journal_byte_identical(cli: Cli, project: Path) -> None:
    write_definitions(project / "monitors", "m", 5)
    assert cli("apply", "--emulator")[0] == 0
    # Another process edits a monitor, submits points and keeps running: the journal holds entries not yet
    # compacted.
    with start_emulator(EmulatorConfig(rate_limits=False, state_path=project / STATE)) as other:
        raw = RawClient(other.base_url, "k", "a")
        first = raw.call("GET", "/api/v1/monitor").json[0]
        assert raw.call("PUT", f"/api/v1/monitor/{first['id']}", {"name": "edited by hand"}).status == 200
        unmanaged = {"type": "metric alert", "query": "avg(last_5m):avg:system.load.1{*} > 9", "name": "load"}
        unmanaged_id = raw.call("POST", "/api/v1/monitor", unmanaged).json["id"]
        now = int(other.admin.clock()["now"])
        points = [{"timestamp": now - 30, "value": 1.5}]
        series = {"series": [{"metric": "system.load.1", "type": 3, "points": points, "tags": ["host:a"]}]}
        assert raw.call("POST", "/api/v2/series", series).status == 202
        raw.close()
        before = state_files(project)
        assert any(
            name.startswith(f"{STATE.name}.journal") and data.count(b"\n") > 1
            for name, data in before.items()
        )

        code, output = cli("plan", "--emulator", "--detailed-exitcode")
        assert code == 2 and "edited by hand" in output, output  # it sees the other process's write
        assert cli("audit", "--emulator")[0] in (0, 1)
        code, output = cli("import", "--emulator", "--id", str(unmanaged_id), "--out", "imported")
        assert code == 0, output
        assert state_files(project) == before


@pytest.mark.parametrize("garbage", [b"not a url\n", b"http://[::1\n", b"\xff\xfe\x00garbage", b""])
def test_a_garbage_emulator_url_file_is_stale_and_the_command_starts_its_own_emulator(
    cli: Cli, project: Path, garbage: bytes
) -> None:
    write_definitions(project / "monitors", "m", 1)
    (project / STATE.parent).mkdir()
    (project / STATE.parent / f"{STATE.name}.url").write_bytes(garbage)
    code, output = cli("plan", "--emulator", "--no-metric-check", "--detailed-exitcode")
    assert code == 2, output
    assert "Using the embedded Datadog emulator" in output
