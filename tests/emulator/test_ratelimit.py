"""Rate limits: recorded buckets and headers (datadog-api-facts.md, section e), 429 bodies, overrides."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from datadog_api_client import ApiClient
from datadog_api_client.v1.api.monitors_api import MonitorsApi

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from provisioner.emulator.ratelimit import RateLimiter

from .conftest import RawClient, client_configuration  # type: ignore[import-not-found]

GOOD = {"type": "metric alert", "query": "avg(last_5m):avg:system.cpu.user{*} > 2", "name": "cpu"}
HOUR = 3600  # a long period keeps a test from straddling a calendar boundary


@pytest.fixture
def limited() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig()) as running:
        yield running


@pytest.fixture
def limited_raw(limited: RunningEmulator) -> Iterator[RawClient]:
    client = RawClient(limited.base_url, "key", "app")
    yield client
    client.close()


def rate_headers(answer: Any) -> dict[str, str]:
    return {name: value for name, value in answer.headers.items() if name.startswith("x-ratelimit-")}


@pytest.mark.parametrize(
    ("method", "path", "limit", "period", "name"),
    [
        ("POST", "/api/v1/monitor", "500", "10", "post_monitors"),
        ("PUT", "/api/v1/monitor/{id}", "500", "10", "put_monitors"),
        ("GET", "/api/v1/monitor/{id}", "3000", "10", "get_monitors"),
        ("GET", "/api/v1/monitor", "1000", "10", "get_all_monitors"),
        ("GET", "/api/v1/monitor/can_delete?monitor_ids={id}", "12000", "60", "can_delete"),
    ],
)
def test_fact_recorded_bucket_headers(
    limited_raw: RawClient, method: str, path: str, limit: str, period: str, name: str
) -> None:
    monitor_id = limited_raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
    answer = limited_raw.call(method, path.format(id=monitor_id), GOOD if method != "GET" else None)
    headers = rate_headers(answer)
    assert (headers["x-ratelimit-limit"], headers["x-ratelimit-period"], headers["x-ratelimit-name"]) == (
        limit,
        period,
        name,
    )
    assert 1 <= int(headers["x-ratelimit-reset"]) <= int(period)
    assert 0 <= int(headers["x-ratelimit-remaining"]) < int(limit)


def test_fact_headers_are_lowercase_on_the_wire(limited: RunningEmulator) -> None:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(limited.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
        request = "GET /api/v1/monitor HTTP/1.1\r\nHost: x\r\nDD-API-KEY: k\r\nDD-APPLICATION-KEY: a\r\n\r\n"
        connection.sendall(request.encode())
        head = connection.recv(65536).split(b"\r\n\r\n")[0].decode() + "\r\n"
    assert "\r\nx-ratelimit-limit: 1000\r\n" in head and "\r\nx-ratelimit-name: get_all_monitors\r\n" in head


def test_fact_headers_on_the_404_too(limited_raw: RawClient) -> None:
    answer = limited_raw.call("GET", "/api/v1/monitor/123")
    assert answer.status == 404 and rate_headers(answer)["x-ratelimit-name"] == "get_monitors"


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/api/v1/monitor/{id}"), ("POST", "/api/v1/monitor/validate")]
)
def test_fact_no_rate_limit_headers_on_delete_and_validate(
    limited_raw: RawClient, method: str, path: str
) -> None:
    monitor_id = limited_raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
    answer = limited_raw.call(method, path.format(id=monitor_id), GOOD if method == "POST" else None)
    assert answer.status == 200 and rate_headers(answer) == {}


def test_fact_remaining_counts_down(limited_raw: RawClient) -> None:
    first = int(rate_headers(limited_raw.call("GET", "/api/v1/monitor"))["x-ratelimit-remaining"])
    second = int(rate_headers(limited_raw.call("GET", "/api/v1/monitor"))["x-ratelimit-remaining"])
    assert second == first - 1


@pytest.mark.parametrize(
    ("body_kind", "content_type", "body"),
    [
        ("empty", "application/json", b""),
        ("json", "application/json", b'{"errors":["Too many requests"]}'),
        ("html", "text/html; charset=utf-8", None),
    ],
)
def test_429_when_the_bucket_is_empty_with_the_configured_body(
    body_kind: str, content_type: str, body: Any
) -> None:
    config = EmulatorConfig(rate_limit_overrides={"get_all_monitors": (2, HOUR)}, rate_limit_body=body_kind)
    with start_emulator(config) as running:
        client = RawClient(running.base_url, "k", "a")
        answers = [client.call("GET", "/api/v1/monitor") for _ in range(3)]
        client.close()
    assert [answer.status for answer in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.headers["content-type"] == content_type
    assert refused.raw == body if body is not None else refused.raw.startswith(b"<html>")
    headers = rate_headers(refused)
    assert (headers["x-ratelimit-limit"], headers["x-ratelimit-remaining"]) == ("2", "0")
    assert 1 <= int(headers["x-ratelimit-reset"]) <= HOUR


def test_buckets_are_per_endpoint() -> None:
    config = EmulatorConfig(rate_limit_overrides={"get_all_monitors": (1, HOUR)})
    with start_emulator(config) as running:
        client = RawClient(running.base_url, "k", "a")
        statuses = [
            client.call("GET", path).status
            for path in ("/api/v1/monitor", "/api/v1/monitor", "/api/v1/dashboard")
        ]
        client.close()
    assert statuses == [200, 429, 200]


def test_rate_limits_off_means_no_headers_and_no_429(raw: RawClient) -> None:
    answers = [raw.call("GET", "/api/v1/monitor") for _ in range(3)]
    assert [rate_headers(answer) for answer in answers] == [{}, {}, {}]


def test_client_sees_429_as_api_exception_with_the_reset_header() -> None:
    from datadog_api_client.exceptions import ApiException

    with start_emulator(EmulatorConfig(rate_limit_overrides={"get_all_monitors": (0, HOUR)})) as running:
        with ApiClient(client_configuration(running)) as client, pytest.raises(ApiException) as caught:
            MonitorsApi(client).list_monitors()
    headers = {name.lower(): value for name, value in caught.value.headers.items()}
    assert caught.value.status == 429 and int(headers["x-ratelimit-reset"]) >= 1


def test_periods_are_calendar_aligned_and_reset_counts_seconds_left() -> None:
    now = [1_000_003.4]  # 3.4 s into a 10 s period that started at 1_000_000
    limiter = RateLimiter({"post_monitors": (2, 10)}, clock=lambda: now[0])
    first = dict(limiter.take("post_monitors").headers)
    assert (first["x-ratelimit-remaining"], first["x-ratelimit-reset"]) == ("1", "7")
    assert limiter.take("post_monitors").allowed and not limiter.take("post_monitors").allowed
    now[0] = 1_000_010.0  # the next calendar period: the bucket is full again
    refilled = limiter.take("post_monitors")
    assert refilled.allowed and dict(refilled.headers)["x-ratelimit-remaining"] == "1"
    assert dict(refilled.headers)["x-ratelimit-reset"] == "10"


def test_unknown_bucket_override_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rate-limit bucket"):
        start_emulator(EmulatorConfig(rate_limit_overrides={"post_monitor": (1, 1)}))
