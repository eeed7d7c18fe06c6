"""Fixtures for the emulator tests: the official client and a raw HTTP client, both against the real server."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.model_utils import OpenApiModel, UnparsedObject
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v1.api.dashboards_api import DashboardsApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from provisioner.emulator.metrics import MetricStore
from provisioner.emulator.process import EmulatorChild


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class RawClient:
    """One keep-alive connection; sends the emulator's accepted keys unless told otherwise."""

    def __init__(self, base_url: str, api_key: str, app_key: str) -> None:
        parts = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.keys = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": app_key}

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        sent = {**self.keys, "Content-Type": "application/json", **(headers or {})}
        sent = {name: value for name, value in sent.items() if value is not None}
        data = None if body is None else json.dumps(body).encode()
        self._connection.request(method, path, body=data, headers=sent)
        response = self._connection.getresponse()
        raw = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, raw)

    def close(self) -> None:
        self._connection.close()


def exported_series(store: MetricStore, metric: str) -> list[dict[str, Any]]:
    """A metric's series as the store exports them (for the state file), each ``{"tags", "points"}`` with
    ``points`` as ``[[timestamp, value], ...]``."""
    return [
        {
            "tags": series["tags"],
            "points": [[t, v] for t, v in zip(series["timestamps"], series["values"], strict=True)],
        }
        for item in store.export()["metrics"]
        if item["name"] == metric
        for series in item["series"]
    ]


def kill_under_load(
    child: EmulatorChild, writers: list[threading.Thread], enough: Callable[[], bool], jitter_s: float = 0.0
) -> None:
    """Start the writers, SIGKILL the child once ``enough()`` holds (or after 10 s) and ``jitter_s`` more, then
    wait for the writers, which end on their first unanswered request."""
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 10
    while not enough() and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(jitter_s)
    child.kill()
    for writer in writers:
        writer.join(10)


def client_configuration(running: RunningEmulator) -> Configuration:
    configuration = Configuration(host=running.base_url)
    configuration.api_key["apiKeyAuth"] = running.config.api_keys[0] if running.config.api_keys else "any-key"
    configuration.api_key["appKeyAuth"] = running.config.app_keys[0] if running.config.app_keys else "any-app"
    configuration.check_return_type = True
    return configuration


@pytest.fixture
def api_client(emulator: RunningEmulator) -> Iterator[ApiClient]:
    with ApiClient(client_configuration(emulator)) as client:
        yield client


@pytest.fixture
def monitors_api(api_client: ApiClient) -> MonitorsApi:
    return MonitorsApi(api_client)


@pytest.fixture
def dashboards_api(api_client: ApiClient) -> DashboardsApi:
    return DashboardsApi(api_client)


@pytest.fixture
def auth_api(api_client: ApiClient) -> AuthenticationApi:
    return AuthenticationApi(api_client)


@pytest.fixture
def raw(emulator: RunningEmulator) -> Iterator[RawClient]:
    client = RawClient(emulator.base_url, emulator.config.api_keys[0], emulator.config.app_keys[0])
    yield client
    client.close()


def unparsed_paths(value: Any, path: str = "$") -> list[str]:
    """Every place in a returned model the client could not parse (``_unparsed`` or ``UnparsedObject``)."""
    found: list[str] = []
    if isinstance(value, UnparsedObject):
        return [path]
    if isinstance(value, OpenApiModel):
        if getattr(value, "_unparsed", False):
            found.append(path)
        for key, item in getattr(value, "_data_store", {}).items():
            found += unparsed_paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += unparsed_paths(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += unparsed_paths(item, f"{path}.{key}")
    return found


def assert_parsed(value: Any) -> None:
    assert unparsed_paths(value) == []


@pytest.fixture
def parsed() -> Any:
    """``parsed(model)`` fails when any part of a client model is unparsed; returns the model."""

    def check(value: Any) -> Any:
        assert_parsed(value)
        return value

    return check


METRICS_T0 = 1_700_000_040  # a minute boundary
METRICS_KEYS = ("test-api-key", "test-app-key")


def manual_clock_emulator() -> Iterator[RunningEmulator]:
    """An emulator whose manual clock starts at METRICS_T0, so timestamps and windows are exact."""
    config = EmulatorConfig(
        api_keys=(METRICS_KEYS[0],), app_keys=(METRICS_KEYS[1],), rate_limits=False, clock_start_s=METRICS_T0
    )
    with start_emulator(config) as running:
        yield running
