"""Hostile input is refused before it costs anything: each case runs the real CLI in a subprocess that
reports its own peak resident memory, and must exit 1 with a located error and a hint."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak memory is read from /proc"
)
MEMORY_BOUND_MB = 300
# Runs the CLI, then prints the process's peak resident memory: VmHWM (ru_maxrss would include the
# forking parent's). The address-space limit stops a regression from taking the machine down with it.
DRIVER = """
import re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
from provisioner.cli import main
try:
    main()
finally:
    peak = re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read()).group(1)
    print(f"peak_kb={peak}", file=sys.stderr)
"""
MONITOR = 'id: m\nkind: monitor\nname: m\ntype: query alert\nquery: "avg(last_5m):avg:system.load.1{*} > 2"\n'


def alias_bomb() -> str:
    """The 9^9 "billion laughs": a few hundred bytes that expand to 387 million strings."""
    lines = ["id: bomb", "kind: monitor", "name: bomb", "type: query alert", "query: q > 2"]
    lines.append("a0: &a0 [" + ", ".join(['"l"'] * 9) + "]")
    lines.extend(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9))
    lines.append("options: {thresholds: {critical: 2}, extra: *a8}")
    return "\n".join(lines) + "\n"


def run_cli(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    completed = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    peak_kb = int(re.search(r"peak_kb=(\d+)", completed.stderr).group(1))  # type: ignore[union-attr]
    return completed, peak_kb // 1024


def write_monitor(tmp_path: Path, text: str) -> None:
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "m.yaml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("case", "located"),
    [
        ("alias-bomb", "monitors/m.yaml:11:10: error [yaml-aliases] /a5/0: aliases here copy more than"),
        ("huge-integer", "monitors/m.yaml:6:34: error [number-out-of-range] /options/thresholds/critical"),
        ("deep-nesting", "monitors/m.yaml:6:107: error [yaml-depth]"),
        (
            "50-MB-file",
            "monitors/m.yaml:1:1: error [file-too-large] the file is 50.0 MiB; the limit is 4 MiB",
        ),
    ],
)
def test_hostile_definitions_exit_1_located_and_small(tmp_path: Path, case: str, located: str) -> None:
    if case == "alias-bomb":
        write_monitor(tmp_path, alias_bomb())
    elif case == "huge-integer":
        write_monitor(tmp_path, MONITOR + "options: {thresholds: {critical: " + "9" * 10_000 + "}}\n")
    elif case == "deep-nesting":
        write_monitor(tmp_path, MONITOR + "extra: " + "[" * 500 + "]" * 500 + "\n")
    else:
        padding = "# " + "x" * 1021 + "\n"
        write_monitor(tmp_path, MONITOR + padding * (50 * 1024))
    completed, peak_mb = run_cli(tmp_path, "validate", "monitors")
    assert completed.returncode == 1, completed.stderr
    assert located in completed.stdout
    assert "\n  hint: " in completed.stdout
    assert peak_mb < MEMORY_BOUND_MB


def test_a_hostile_provisioner_yaml_is_refused_the_same_way(tmp_path: Path) -> None:
    bomb = alias_bomb().replace("id: bomb", "namespace: mesh").split("options:")[0]
    (tmp_path / "provisioner.yaml").write_text(bomb, encoding="utf-8")
    write_monitor(tmp_path, MONITOR)
    completed, peak_mb = run_cli(tmp_path, "validate")
    assert completed.returncode == 1
    assert "provisioner.yaml:11:10: error [yaml-aliases]" in completed.stderr
    assert peak_mb < MEMORY_BOUND_MB
