"""Input a CI job or an attacker may pass the CLI: absurd durations, malformed API URLs, output files that
cannot be written. Each is a usage error (exit 1, what is wrong and how to fix it), never a crash (3), and
is found before any request. The real CLI; a loopback port nothing listens on stands for Datadog, so a
request that escaped would end in "could not connect" instead."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.errors import DatadogError

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


MALFORMED_URLS = [
    ("htp://api.datadoghq.eu", "it must start with https://"),
    ("api.datadoghq.eu", "it must start with https://"),
    ("https://api.datadoghq.eu:99999", "Port out of range"),
    ("https://api.datadoghq.eu:443x", "it cannot be parsed"),
    ("https://", "it names no host"),
    ("https://api.datadog hq.eu", "a space, a line break or a control character"),
    ("https://[::1", "Invalid IPv6 URL"),
    ("https://api.datadoghq.eu?x=1", "a query or a fragment"),
]


@pytest.mark.parametrize(("url", "problem"), MALFORMED_URLS)
@pytest.mark.parametrize("where", ["--api-url", "PROVISIONER_API_URL", "provisioner.yaml"])
def test_a_malformed_api_url_is_refused_up_front_naming_where_it_came_from(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch, url: str, problem: str, where: str
) -> None:
    flag: tuple[str, ...] = ()
    if where == "--api-url":
        flag = ("--api-url", url)
    elif where == "PROVISIONER_API_URL":
        monkeypatch.setenv("PROVISIONER_API_URL", url)
    else:
        monkeypatch.delenv("PROVISIONER_API_URL")
        (project / "provisioner.yaml").write_text(
            f"namespace: team\nenvironments:\n  prod:\n    api_url: {url!r}\n"
        )
    started = time.monotonic()
    code, output = cli("plan", *flag)
    assert code == 1, output
    if where == "provisioner.yaml" and "provisioner.yaml:4:" in output:
        assert "/environments/prod/api_url" in output  # the config's schema caught it, at its line
    else:
        source = where if where != "provisioner.yaml" else "api_url of environment 'prod' in provisioner.yaml"
        assert f"{source}: the Datadog API URL" in output and problem in output, output
        assert "hint: write it as https://api.<site>" in output
    assert time.monotonic() - started < 1.5


def test_blanks_and_a_trailing_slash_around_an_api_url_are_stripped(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ["PROVISIONER_API_URL"]
    monkeypatch.setenv("PROVISIONER_API_URL", f"  {url}/ \n")
    code, output = cli("plan")
    assert code == 1 and f"could not connect to Datadog at {url}: the connection was refused" in output, (
        output
    )


@pytest.mark.parametrize("url", ["htp://127.0.0.1:1", "http://"])
def test_the_client_never_retries_a_url_the_http_library_cannot_use(url: str) -> None:
    """Past the command's own check (a caller handing the adapter a URL directly): one attempt, at once."""
    with DatadogClient(Target(url, "k" * 32, "a" * 40)) as client:
        started = time.monotonic()
        with pytest.raises(DatadogError) as raised:
            client.list_monitors()
        assert time.monotonic() - started < 1
        assert client.request_count == 1
    assert "cannot be used" in raised.value.message and "--api-url" in raised.value.hint
