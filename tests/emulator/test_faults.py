"""Fault injection (deterministic and seeded), and the admin endpoint's log, counts and wipe."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from datadog_api_client import ApiClient
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.monitor import Monitor

from provisioner.emulator import (
    EmulatorConfig,
    FaultConfig,
    FaultConfigError,
    FaultRule,
    RunningEmulator,
    load_fault_config,
    start_emulator,
)

from .conftest import RawClient, client_configuration  # type: ignore[import-not-found]

GOOD = {"type": "metric alert", "query": "avg(last_5m):avg:system.cpu.user{*} > 2", "name": "cpu"}


def stored_count(running: RunningEmulator) -> int:
    return int(running.admin.health()["monitors"])


def create(raw: RawClient) -> int:
    return raw.call("POST", "/api/v1/monitor", GOOD).status


def test_next_n_matching_requests_get_an_error_and_nothing_is_stored(
    emulator: RunningEmulator, raw: Any
) -> None:
    emulator.admin.set_faults(
        rules=[FaultRule("error", method="POST", path="/api/v1/monitor", count=2, status=502)]
    )
    assert raw.call("GET", "/api/v1/monitor").status == 200  # other endpoints untouched
    failed = raw.call("POST", "/api/v1/monitor", GOOD)
    assert (failed.status, failed.json) == (502, {"errors": ["Bad Gateway"]})
    assert [create(raw), create(raw)] == [502, 200]
    assert stored_count(emulator) == 1


def test_commit_then_error_stores_the_write_but_answers_5xx(emulator: RunningEmulator, raw: Any) -> None:
    emulator.admin.set_faults(rules=[FaultRule("commit_then_error", method="POST", count=1, status=500)])
    assert create(raw) == 500
    assert [item["name"] for item in raw.call("GET", "/api/v1/monitor").json] == ["cpu"]


def test_commit_then_reset_stores_the_write_and_resets_the_connection(
    emulator: RunningEmulator, raw: Any
) -> None:
    emulator.admin.set_faults(rules=[FaultRule("commit_then_reset", method="PUT", count=1)])
    monitor_id = raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        raw.call("PUT", f"/api/v1/monitor/{monitor_id}", {"message": "stored anyway"})
    fresh = RawClient(emulator.base_url, *raw.keys.values())
    assert fresh.call("GET", f"/api/v1/monitor/{monitor_id}").json["message"] == "stored anyway"
    fresh.close()


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "check"),
    [
        ("commit_then_truncate", 200, "application/json", lambda raw: raw.startswith(b'{"') and len(raw) > 10),
        ("commit_then_empty", 200, "application/json", lambda raw: raw == b""),
        ("commit_then_html", 502, "text/html", lambda raw: b"<h1>502 Bad Gateway</h1>" in raw),
    ],
)
def test_corrupting_faults_store_the_write_and_spoil_its_answer(
    emulator: RunningEmulator, raw: Any, kind: str, status: int, content_type: str, check: Any
) -> None:
    emulator.admin.set_faults(rules=[FaultRule(kind, method="POST", count=1, status=502)])
    answer = raw.call("POST", "/api/v1/monitor", GOOD)
    assert (answer.status, answer.headers["content-type"].split(";")[0]) == (status, content_type)
    assert check(answer.raw)
    with pytest.raises(ValueError):
        json.loads(answer.raw)
    assert stored_count(emulator) == 1
    assert create(raw) == 200  # count=1: the next answer is whole


def test_drop_closes_without_an_answer_and_stores_nothing(emulator: RunningEmulator, raw: Any) -> None:
    emulator.admin.set_faults(rules=[FaultRule("drop", method="POST", count=1)])
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        create(raw)
    assert stored_count(emulator) == 0
    log = emulator.admin.request_log()
    assert (log[-1].status, log[-1].fault) == (None, "drop")


def test_throttle_burst_answers_429_with_reset_header(emulator: RunningEmulator, raw: Any) -> None:
    emulator.admin.set_faults(rules=[FaultRule("throttle", path="/api/v1/monitor", count=3, reset_s=2)])
    answers = [raw.call("GET", "/api/v1/monitor") for _ in range(4)]
    assert [answer.status for answer in answers] == [429, 429, 429, 200]
    assert (
        answers[0].headers["x-ratelimit-reset"] == "2" and answers[0].headers["x-ratelimit-remaining"] == "0"
    )


def test_client_with_retry_rides_out_a_429_burst(emulator: RunningEmulator) -> None:
    emulator.admin.set_faults(rules=[FaultRule("throttle", method="POST", count=1, reset_s=1)])
    configuration = client_configuration(emulator)
    configuration.enable_retry = True
    with ApiClient(configuration) as client:
        created = MonitorsApi(client).create_monitor(body=Monitor(**GOOD))
    assert created.name == "cpu" and stored_count(emulator) == 1
    assert [entry.status for entry in emulator.admin.request_log()] == [429, 200]


def test_added_latency_and_jitter(emulator: RunningEmulator, raw: Any) -> None:
    emulator.admin.set_faults(latency_ms=150, jitter_ms=50)
    started = time.monotonic()
    raw.call("GET", "/api/v1/monitor")
    assert 0.15 <= time.monotonic() - started < 2


def test_response_slower_than_the_client_timeout_still_commits(emulator: RunningEmulator) -> None:
    emulator.admin.set_faults(rules=[FaultRule("delay", method="POST", delay_ms=1500, count=1)])
    configuration = client_configuration(emulator)
    configuration.request_timeout = 0.3
    with (
        ApiClient(configuration) as client,
        pytest.raises((urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.MaxRetryError)),
    ):
        MonitorsApi(client).create_monitor(body=Monitor(**GOOD))
    deadline = time.monotonic() + 5
    while stored_count(emulator) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_count(emulator) == 1


def test_rule_matches_the_path_template(emulator: RunningEmulator, raw: Any) -> None:
    monitor_id = raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
    emulator.admin.set_faults(rules=[FaultRule("error", path="/api/v1/monitor/{id}", count=5)])
    assert raw.call("GET", "/api/v1/monitor").status == 200
    assert raw.call("GET", f"/api/v1/monitor/{monitor_id}").status == 503


def _status_sequence(seed: int) -> list[int]:
    rule = FaultRule("error", method="GET", rate=0.3)
    with start_emulator(
        EmulatorConfig(rate_limits=False, seed=seed, faults=FaultConfig(rules=(rule,)))
    ) as running:
        client = RawClient(running.base_url, "k", "a")
        statuses = [client.call("GET", "/api/v1/monitor").status for _ in range(80)]
        client.close()
    return statuses


def test_probabilistic_faults_are_repeatable_with_a_seed() -> None:
    first, again, other = _status_sequence(7), _status_sequence(7), _status_sequence(8)
    assert first == again and first != other
    assert 8 <= first.count(503) <= 40


def test_admin_seed_reseeds_runtime_faults(emulator: RunningEmulator, raw: Any) -> None:
    def run() -> list[int]:
        emulator.admin.set_faults(rules=[FaultRule("error", rate=0.5)], seed=3)
        return [raw.call("GET", "/api/v1/monitor").status for _ in range(30)]

    assert run() == run()


def test_faults_set_at_start(tmp_path: Path) -> None:
    rule = FaultRule("error", method="POST", count=1)
    with start_emulator(EmulatorConfig(rate_limits=False, faults=FaultConfig(rules=(rule,)))) as running:
        client = RawClient(running.base_url, "k", "a")
        assert [create(client), create(client)] == [503, 200]
        client.close()


def test_get_and_clear_faults(emulator: RunningEmulator, raw: Any) -> None:
    config = FaultConfig(
        latency_ms=1.0, rules=(FaultRule("drop", method="DELETE", path="/api/v1/*", count=1),)
    )
    emulator.admin.set_faults(config)
    assert emulator.admin.faults() == config
    emulator.admin.clear_faults()
    assert emulator.admin.faults() == FaultConfig()
    assert create(raw) == 200


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_fault_config_file_json_or_yaml(tmp_path: Path, suffix: str) -> None:
    data = {
        "seed": 5,
        "latency_ms": 2,
        "rules": [{"kind": "commit_then_error", "method": "POST", "count": 1}],
    }
    path = tmp_path / f"faults{suffix}"
    path.write_text(json.dumps(data) if suffix == ".json" else "seed: 5\nlatency_ms: 2\nrules:\n"
                    "  - kind: commit_then_error\n    method: POST\n    count: 1\n")  # fmt: skip
    expected = FaultConfig(
        latency_ms=2.0, seed=5, rules=(FaultRule("commit_then_error", method="POST", count=1),)
    )
    assert load_fault_config(path) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - kind: explode\n", "rules[0]: 'kind' must be one of"),
        ("rules:\n  - kind: error\n    rate: 2\n", "rules[0]: 'rate' must be between 0 and 1"),
        ("rules:\n  - kind: error\n    colour: red\n", "rules[0]: unknown key(s) colour"),
        ("latency: 5\n", "unknown key(s) latency"),
        ("rules: [\n", "not valid YAML"),
    ],
)
def test_bad_fault_config_names_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text(text)
    with pytest.raises(FaultConfigError) as caught:
        load_fault_config(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_admin_rejects_a_bad_fault_config(emulator: RunningEmulator) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as caught:
        emulator.admin._call("PUT", "/faults", {"rules": [{"kind": "nope"}]})
    assert caught.value.code == 400


def test_request_log_and_counts_by_endpoint(emulator: RunningEmulator, raw: Any) -> None:
    monitor_id = raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
    raw.call("PUT", f"/api/v1/monitor/{monitor_id}", {"message": "x"})
    raw.call("GET", "/api/v1/monitor?page=0&page_size=5")
    raw.call("GET", "/api/v1/monitor/999")
    assert emulator.admin.request_counts() == {
        "POST /api/v1/monitor": 1,
        "PUT /api/v1/monitor/{id}": 1,
        "GET /api/v1/monitor": 1,
        "GET /api/v1/monitor/{id}": 1,
    }
    entries = emulator.admin.request_log()
    assert [(e.method, e.template, e.query, e.status) for e in entries] == [
        ("POST", "/api/v1/monitor", "", 200),
        ("PUT", "/api/v1/monitor/{id}", "", 200),
        ("GET", "/api/v1/monitor", "page=0&page_size=5", 200),
        ("GET", "/api/v1/monitor/{id}", "", 404),
    ]
    emulator.admin.reset_log()
    assert emulator.admin.request_log() == [] and emulator.admin.request_counts() == {}


def test_wipe_empties_the_org(emulator: RunningEmulator, raw: Any) -> None:
    raw.call("POST", "/api/v1/monitor", GOOD)
    raw.call("POST", "/api/v1/dashboard", {"title": "t", "layout_type": "ordered", "widgets": []})
    emulator.admin.wipe()
    assert raw.call("GET", "/api/v1/monitor").json == []
    assert raw.call("GET", "/api/v1/dashboard").json == {"dashboards": []}
