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
# Where the URL came from (``Endpoint.source``): a wrong URL's hint names this one setting.
DEFAULT = "the default site, datadoghq.com (none of --api-url, PROVISIONER_API_URL, DD_SITE, site is set)"
EU_SITE = "site of environment 'production' in provisioner.yaml"


@pytest.mark.parametrize(
    ("environment", "flag", "environ", "expected"),
    [
        (Environment(name="default"), None, {}, Endpoint("https://api.datadoghq.com", "datadoghq.com", (), DEFAULT)),
        (EU, None, {}, Endpoint("https://api.datadoghq.eu", "datadoghq.eu", (), EU_SITE)),
        (Environment(name="default"), None, {"DD_SITE": "us5"}, Endpoint("https://api.us5.datadoghq.com", "us5.datadoghq.com", (), "DD_SITE=us5.datadoghq.com")),
        (EU, None, {"DD_SITE": "eu"}, Endpoint("https://api.datadoghq.eu", "datadoghq.eu", (), "DD_SITE=datadoghq.eu")),
        (EU, None, {"DD_SITE": ""}, Endpoint("https://api.datadoghq.eu", "datadoghq.eu", (), EU_SITE)),
        (PROXY, None, {}, Endpoint("https://proxy.example.com", None, (), "api_url of environment 'production' in provisioner.yaml")),
        (EU, "http://127.0.0.1:8126", {}, Endpoint("http://127.0.0.1:8126", "datadoghq.eu", (), "--api-url")),
        (EU, None, {"PROVISIONER_API_URL": "https://api.us3.datadoghq.com"}, Endpoint("https://api.us3.datadoghq.com", "us3.datadoghq.com", (), "PROVISIONER_API_URL")),
        (EU, "https://api.ap1.datadoghq.com", {"PROVISIONER_API_URL": "http://x"}, Endpoint("https://api.ap1.datadoghq.com", "ap1.datadoghq.com", (), "--api-url")),
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


@pytest.mark.parametrize("command", ["plan", "apply", "audit", "import --all-unmanaged"])
def test_emulator_and_api_url_together_is_a_usage_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = cli(*command.split(), "--emulator", "--api-url", "http://127.0.0.1:1")
    assert code == 1, output
    assert "--emulator and --api-url http://127.0.0.1:1 name two different Datadogs: give one" in output
    assert not (tmp_path / ".provisioner").exists()  # the embedded org was never started
