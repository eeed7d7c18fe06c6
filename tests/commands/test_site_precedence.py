"""Where requests go: --api-url, PROVISIONER_API_URL, DD_SITE, then provisioner.yaml (api_url, site), then
datadoghq.com, as Datadog's own tools order flag > environment > config file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

from provisioner.credentials import Endpoint, resolve_endpoint
from provisioner.emulator import RunningEmulator
from provisioner.errors import UserError
from provisioner.model import Environment

EU = Environment(name="production", site="datadoghq.eu")
PROXY = Environment(name="production", api_url="https://proxy.example.com/")


@pytest.mark.parametrize(
    ("environment", "flag", "environ", "expected"),
    [
        (Environment(name="default"), None, {}, Endpoint("https://api.datadoghq.com", "datadoghq.com")),
        (EU, None, {}, Endpoint("https://api.datadoghq.eu", "datadoghq.eu")),
        (Environment(name="default"), None, {"DD_SITE": "us5"}, Endpoint("https://api.us5.datadoghq.com", "us5.datadoghq.com")),
        (EU, None, {"DD_SITE": "eu"}, Endpoint("https://api.datadoghq.eu", "datadoghq.eu")),
        (EU, None, {"DD_SITE": ""}, Endpoint("https://api.datadoghq.eu", "datadoghq.eu")),
        (PROXY, None, {}, Endpoint("https://proxy.example.com", None)),
        (EU, "http://127.0.0.1:8126", {}, Endpoint("http://127.0.0.1:8126", "datadoghq.eu")),
        (EU, None, {"PROVISIONER_API_URL": "https://api.us3.datadoghq.com"}, Endpoint("https://api.us3.datadoghq.com", "us3.datadoghq.com")),
        (EU, "https://api.ap1.datadoghq.com", {"PROVISIONER_API_URL": "http://x"}, Endpoint("https://api.ap1.datadoghq.com", "ap1.datadoghq.com")),
    ],
)  # fmt: skip
def test_precedence(
    environment: Environment, flag: str | None, environ: dict[str, str], expected: Endpoint
) -> None:
    assert resolve_endpoint(environment, flag, environ) == expected


def test_dd_site_beats_the_config_file_and_the_disagreement_names_both() -> None:
    endpoint = resolve_endpoint(EU, None, {"DD_SITE": "datadoghq.com"})
    assert (endpoint.api_url, endpoint.site) == ("https://api.datadoghq.com", "datadoghq.com")
    (warning,) = endpoint.warnings
    assert warning.startswith(
        "DD_SITE=datadoghq.com disagrees with `site: datadoghq.eu` of environment 'production' in "
        "provisioner.yaml; DD_SITE wins"
    )
    (warning,) = resolve_endpoint(PROXY, None, {"DD_SITE": "eu"}).warnings
    assert "`api_url: https://proxy.example.com/`" in warning
    assert resolve_endpoint(PROXY, None, {"DD_SITE": "eu"}).api_url == "https://api.datadoghq.eu"


def test_an_unknown_dd_site_is_named() -> None:
    with pytest.raises(UserError, match="DD_SITE: unknown Datadog site 'datadoghq.org'"):
        resolve_endpoint(EU, None, {"DD_SITE": "datadoghq.org"})


def test_the_cli_warns_once_and_links_to_the_site_that_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator, cli: Cli
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text("environments:\n  production:\n    site: datadoghq.eu\n")
    (tmp_path / "monitors").mkdir()
    monkeypatch.setenv("DD_SITE", "us3")
    code, output = cli("plan", "--format", "json")
    assert code == 0, output
    assert output.count("warning: DD_SITE=us3 disagrees with `site: datadoghq.eu`") == 1
    assert '"app_url": "https://us3.datadoghq.com"' in output
