"""Input a CI job or an attacker may pass the CLI: absurd durations, malformed API URLs, output files that
cannot be written. Each is a usage error (exit 1, what is wrong and how to fix it), never a crash (3), and
is found before any request. The real CLI; a loopback port nothing listens on stands for Datadog, so a
request that escaped would end in "could not connect" instead."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

MONITOR = """\
kind: monitor
id: cpu
name: CPU high
type: metric alert
query: avg(last_5m):avg:system.cpu.user{*} > 90
options: {thresholds: {critical: 90}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DD_API_KEY", "k" * 32)
    monkeypatch.setenv("DD_APP_KEY", "a" * 40)
    monkeypatch.delenv("DD_SITE", raising=False)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        monkeypatch.setenv("PROVISIONER_API_URL", f"http://127.0.0.1:{unused.getsockname()[1]}")
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "cpu.yaml").write_text(MONITOR)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (("plan", "--metric-window"), "--metric-window", "99999999999w"),
        (("audit", "--mute-limit"), "--mute-limit", "999999999999d"),
        (("audit", "--stuck-limit"), "--stuck-limit", "521w"),
        (("audit", "--mute-limit"), "--mute-limit", "9" * 5000 + "s"),
    ],
)
def test_a_duration_past_the_upper_bound_is_a_usage_error(
    cli: Cli, project: Path, args: tuple[str, ...], option: str, value: str
) -> None:
    code, output = cli(*args, value)
    assert code == 1, output
    assert f"{option}: '" in output and "longer than the longest duration accepted, 520w" in output
    assert "could not connect" not in output
    assert len(output) < 1000  # a 5,000-digit value is not echoed whole


def test_the_longest_duration_accepted_is_accepted(cli: Cli, project: Path) -> None:
    code, output = cli("audit", "--mute-limit", "520w")
    assert code == 1 and "could not connect to Datadog" in output, output  # got as far as the request
