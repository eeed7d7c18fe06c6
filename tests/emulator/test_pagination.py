"""``GET /api/v1/monitor`` listing, paging and filters (datadog-api-facts.md, section d), and list load."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from datadog_api_client import ApiClient
from datadog_api_client.v1.api.monitors_api import MonitorsApi

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .conftest import RawClient, client_configuration  # type: ignore[import-not-found]


def monitor_body(index: int, **fields: Any) -> dict[str, Any]:
    query = f"avg(last_5m):avg:istio.mesh.request.count{{env:prod,svc:s{index}}} by {{host}} > {index}"
    return {
        "type": "metric alert",
        "name": f"monitor {index}",
        "query": query,
        "tags": [f"svc:s{index}"],
        **fields,
    }


def seed(running: RunningEmulator, count: int, **fields: Any) -> list[int]:
    return running.admin.seed_monitors([monitor_body(index, **fields) for index in range(count)])


def ids_of(answer: Any) -> list[int]:
    assert answer.status == 200, answer.raw
    return [item["id"] for item in answer.json]


def test_fact_list_without_page_is_a_bare_array_of_everything(emulator: RunningEmulator, raw: Any) -> None:
    ids = seed(emulator, 150)
    answer = raw.call("GET", "/api/v1/monitor?page_size=10")
    assert isinstance(answer.json, list) and ids_of(answer) == ids


def test_fact_page_and_page_size(emulator: RunningEmulator, raw: Any) -> None:
    ids = seed(emulator, 3)
    assert ids_of(raw.call("GET", "/api/v1/monitor?page_size=2&page=0")) == ids[:2]
    assert ids_of(raw.call("GET", "/api/v1/monitor?page_size=2&page=1")) == ids[2:]


def test_fact_page_size_defaults_to_100_when_page_is_given(emulator: RunningEmulator, raw: Any) -> None:
    ids = seed(emulator, 120)
    assert ids_of(raw.call("GET", "/api/v1/monitor?page=0")) == ids[:100]
    assert ids_of(raw.call("GET", "/api/v1/monitor?page=1")) == ids[100:]


def test_fact_page_past_the_end_is_an_empty_array(emulator: RunningEmulator, raw: Any) -> None:
    seed(emulator, 4)
    assert raw.call("GET", "/api/v1/monitor?page_size=2&page=2").json == []


@pytest.mark.parametrize("size", ["1001", "0", "-1", "ten"])
def test_page_size_outside_1_to_1000_is_400(raw: Any, size: str) -> None:
    assert raw.call("GET", f"/api/v1/monitor?page=0&page_size={size}").status == 400


def test_fact_id_offset_starts_after_the_given_id(emulator: RunningEmulator, raw: Any) -> None:
    ids = seed(emulator, 5)
    assert ids_of(raw.call("GET", f"/api/v1/monitor?id_offset={ids[1]}")) == ids[2:]
    assert raw.call("GET", f"/api/v1/monitor?id_offset={ids[-1]}").json == []


@pytest.mark.parametrize("count", [0, 7, 10, 23])
def test_client_pagination_helper_returns_every_monitor(
    emulator: RunningEmulator, monitors_api: MonitorsApi, count: int
) -> None:
    """The helper stops on a short page; an exactly full last page needs the ``[]`` past the end."""
    ids = seed(emulator, count)
    assert [monitor.id for monitor in monitors_api.list_monitors_with_pagination(page_size=10)] == ids


def test_filter_by_name_is_a_case_insensitive_substring(emulator: RunningEmulator, raw: Any) -> None:
    ids = seed(emulator, 12)
    assert ids_of(raw.call("GET", "/api/v1/monitor?name=MONITOR%201")) == [ids[1], ids[10], ids[11]]


def test_filter_by_scope_tags(emulator: RunningEmulator, raw: Any) -> None:
    ids = seed(emulator, 3)
    assert ids_of(raw.call("GET", "/api/v1/monitor?tags=svc:s2,env:prod")) == [ids[2]]
    assert raw.call("GET", "/api/v1/monitor?tags=env:staging").json == []


def test_filter_by_monitor_tags(emulator: RunningEmulator, raw: Any) -> None:
    ids = seed(emulator, 3)
    assert ids_of(raw.call("GET", "/api/v1/monitor?monitor_tags=svc:s1")) == [ids[1]]


def test_with_downtimes_on_the_list(emulator: RunningEmulator, raw: Any) -> None:
    seed(emulator, 2)
    assert [
        item["matching_downtimes"] for item in raw.call("GET", "/api/v1/monitor?with_downtimes=true").json
    ] == [
        [],
        [],
    ]


def seed_ten_thousand(running: RunningEmulator) -> list[int]:
    ids: list[int] = []
    for start in range(0, 10_000, 2_000):
        ids += running.admin.seed_monitors([monitor_body(index) for index in range(start, start + 2_000)])
    return ids


def test_ten_concurrent_official_clients_share_the_pages_of_ten_thousand_monitors() -> None:
    """10 official clients (models built, types checked) read the 10 pages of 1000 plus the empty 11th."""
    with start_emulator(EmulatorConfig(rate_limits=False)) as running:
        expected = seed_ten_thousand(running)

        def read_page(page: int) -> list[int]:
            with ApiClient(client_configuration(running)) as client:
                return [
                    monitor.id for monitor in MonitorsApi(client).list_monitors(page=page, page_size=1000)
                ]

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=10) as pool:
            pages = list(pool.map(read_page, range(11)))
        elapsed = time.monotonic() - started
    assert [monitor_id for page in pages for monitor_id in page] == expected and pages[10] == []
    assert elapsed < 30, f"took {elapsed:.1f} s"


def test_ten_concurrent_raw_clients_list_ten_thousand_monitors_within_a_few_seconds() -> None:
    """The server side of the same load, without the client's model building: bounded to a few seconds."""
    with start_emulator(EmulatorConfig(rate_limits=False)) as running:
        expected = seed_ten_thousand(running)

        def page_through(_: int) -> list[int]:
            client = RawClient(running.base_url, "k", "a")
            try:
                found: list[int] = []
                for page in range(11):
                    batch = client.call("GET", f"/api/v1/monitor?page={page}&page_size=1000").json
                    found += [item["id"] for item in batch]
                return found
            finally:
                client.close()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(page_through, range(10)))
        elapsed = time.monotonic() - started
    assert all(result == expected for result in results)
    assert elapsed < 15, f"10 raw clients x 10,000 monitors took {elapsed:.1f} s"
