"""Shared fixtures: a real Datadog API emulator on loopback, and credentials for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator

TEST_API_KEY = "test-api-key-0123456789abcdef"
TEST_APP_KEY = "test-app-key-0123456789abcdef0123456789"


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh, empty org served over real HTTP on 127.0.0.1 (rate limits off, no faults)."""
    running = start_emulator(
        EmulatorConfig(api_keys=(TEST_API_KEY,), app_keys=(TEST_APP_KEY,), rate_limits=False)
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def dd_env(monkeypatch: pytest.MonkeyPatch, emulator: RunningEmulator) -> RunningEmulator:
    """Credentials and target in the environment, the way a CI job sets them."""
    monkeypatch.setenv("DD_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("DD_APP_KEY", TEST_APP_KEY)
    monkeypatch.delenv("DD_SITE", raising=False)
    monkeypatch.setenv("PROVISIONER_API_URL", emulator.base_url)
    return emulator
