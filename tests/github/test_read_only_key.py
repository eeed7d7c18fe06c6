"""The read-only key of CI's plans: with PROVISIONER_EXPECT_READ_ONLY_KEY set, plan asks Datadog what the
application key in use may do and warns when it can write. Real CLI, real HTTP to the emulator."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.commands.key_check import READ_SCOPES
from provisioner.emulator import EmulatorConfig, OrgIdentity, RunningEmulator, start_emulator
from provisioner.emulator.identity import ApplicationKey

API_KEY = "ci-api-key-0123456789abcdef"
KEY_IN_USE = "ci-app-key-0123456789abcdef0123456789a1b2"
OTHER_KEY = "ci-app-key-fedcba9876543210fedcba98765c3d4"
KEY_LISTING = "GET /api/v2/current_user/application_keys"
Serve = Callable[..., RunningEmulator]
REPOSITORY = Path(__file__).resolve().parents[2]
MONITOR = """\
kind: monitor
id: checkout-latency
name: checkout latency
type: metric alert
query: avg(last_5m):avg:trace.envoy.proxy.duration{service:checkout} > 2
message: Latency of checkout is high. @slack-mesh-oncall
options:
  thresholds: {critical: 2}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "latency.yaml").write_text(MONITOR, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", KEY_IN_USE)
    monkeypatch.delenv("DD_SITE", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("PROVISIONER_EXPECT_READ_ONLY_KEY", "true")
    return tmp_path


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """Start an emulator whose user has ``keys`` (the key in use among them, or listed as unscoped)."""
    running: list[RunningEmulator] = []

    def start(*keys: ApplicationKey) -> RunningEmulator:
        identity = OrgIdentity(application_keys=keys)
        emulator = start_emulator(
            EmulatorConfig(api_keys=(API_KEY,), app_keys=(KEY_IN_USE,), rate_limits=False, identity=identity)
        )
        running.append(emulator)
        monkeypatch.setenv("PROVISIONER_API_URL", emulator.base_url)
        return emulator

    yield start
    for emulator in running:
        emulator.stop()


def plan() -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["plan", "--no-metric-check"])  # nothing reports in this org
    return result.exit_code, result.stdout, result.stderr


def key(scopes: tuple[str, ...] | None, value: str = KEY_IN_USE) -> ApplicationKey:
    return ApplicationKey(value, "ci", scopes)


def test_an_unscoped_key_is_a_write_key(project: Path, serve: Serve) -> None:
    serve(key(None, OTHER_KEY))  # the key in use is not scoped either: it is listed as unscoped

    code, stdout, stderr = plan()

    assert code == 0, stderr
    assert "warning: the application key in DD_APP_KEY can write (it is unscoped" in stderr
    assert "scoped to monitors_read, dashboards_read and metrics_read," in stderr
    assert "warning" not in stdout, "the plan itself stays clean (it may be JSON)"


def test_a_key_scoped_with_write_scopes_names_them(project: Path, serve: Serve) -> None:
    serve(key(("user_app_keys", "monitors_read", "monitors_write", "dashboards_write")), key(None, OTHER_KEY))

    code, _, stderr = plan()

    assert code == 0, stderr
    assert "its scopes include monitors_write, dashboards_write" in stderr


def test_a_read_only_key_that_may_list_keys_passes_quietly(project: Path, serve: Serve) -> None:
    emulator = serve(key(("user_app_keys", "monitors_read", "dashboards_read")))

    code, _, stderr = plan()

    assert code == 0, stderr
    assert "can write" not in stderr
    assert emulator.admin.request_counts().get(KEY_LISTING) == 1


def test_a_key_scoped_without_user_app_keys_cannot_be_checked_and_passes_quietly(
    project: Path,
    serve: Serve,
) -> None:
    emulator = serve(key(("monitors_read", "dashboards_read")))

    code, _, stderr = plan()

    assert code == 0, stderr
    assert "can write" not in stderr and "403" not in stderr
    assert emulator.admin.request_counts().get(KEY_LISTING) == 1


def test_in_github_actions_the_warning_is_an_annotation_and_never_shows_the_key(
    project: Path,
    serve: Serve,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    serve()

    code, stdout, stderr = plan()

    assert code == 0, stderr
    annotations = [line for line in stderr.splitlines() if line.startswith("::warning title=Application key")]
    assert annotations and annotations[0].startswith(
        "::warning title=Application key can write::warning: the application key"
    )
    assert KEY_IN_USE not in stdout + stderr and KEY_IN_USE[-4:] not in stdout + stderr


def test_without_the_setting_plan_does_not_ask(
    project: Path, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVISIONER_EXPECT_READ_ONLY_KEY")
    emulator = serve()

    code, _, stderr = plan()

    assert code == 0, stderr
    assert "can write" not in stderr
    assert KEY_LISTING not in emulator.admin.request_counts()


@pytest.mark.parametrize(
    ("document", "read_key_scopes"),
    [
        ("docs/ci.md", r"a \*\*read-only\*\* key, scoped to (.*?) \("),
        ("docs/ci.md", r"A key scoped to\s(.*?)\salone may not list keys"),
        ("README.md", r"a read-only one \(scopes (.*?)\)"),
    ],
)
def test_the_docs_ask_for_the_read_scopes_the_warning_advises(document: str, read_key_scopes: str) -> None:
    text = (REPOSITORY / document).read_text(encoding="utf-8")
    listed = re.search(read_key_scopes, text, re.DOTALL)
    assert listed, f"{document} no longer says which scopes the read-only key has"
    assert tuple(re.findall(r"`(\w+)`", listed.group(1))) == READ_SCOPES
