"""Evaluation seen through the API over real HTTP: submit series, create monitors, move the clock, read
``overall_state`` and ``state.groups`` with datadog-api-client (``check_return_type`` on)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.monitor_options import MonitorOptions
from datadog_api_client.v1.model.monitor_thresholds import MonitorThresholds
from datadog_api_client.v1.model.monitor_type import MonitorType
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest
from datadog_api_client.v2.api.metrics_api import MetricsApi
from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
from datadog_api_client.v2.model.metric_payload import MetricPayload
from datadog_api_client.v2.model.metric_point import MetricPoint
from datadog_api_client.v2.model.metric_series import MetricSeries

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .conftest import RawClient, assert_parsed  # type: ignore[import-not-found]

T0 = 1_700_000_040
ERROR_RATE = (
    "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod} by {service}.as_count()"
    " / sum:trace.envoy.proxy.hits{env:prod} by {service}.as_count() > 0.05"
)
ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\Z")


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(api_keys=("k",), app_keys=("a",), rate_limits=False, clock_start_s=T0)
    with start_emulator(config) as running:
        yield running


def submit(api_client: Any, metric: str, points: dict[int, float], tags: list[str]) -> None:
    series = MetricSeries(
        metric=metric,
        type=MetricIntakeType.COUNT,
        points=[MetricPoint(timestamp=T0 + offset, value=value) for offset, value in points.items()],
        tags=tags,
    )
    MetricsApi(api_client).submit_metrics(MetricPayload(series=[series]))


def error_rate_monitor(monitors_api: MonitorsApi, **options: Any) -> Monitor:
    body = Monitor(
        name="checkout error rate",
        type=MonitorType.QUERY_ALERT,
        query=ERROR_RATE,
        options=MonitorOptions(
            thresholds=MonitorThresholds(critical=0.05, warning=0.02), new_group_delay=0, **options
        ),
    )
    return monitors_api.create_monitor(body)


@pytest.fixture
def evaluated(emulator: RunningEmulator, api_client: Any, monitors_api: MonitorsApi) -> Monitor:
    """cart: 60 errors in 1,000 requests (Alert); checkout: 30 in 1,000 (Warn); search: none (OK)."""
    for service, errors in (("cart", 60), ("checkout", 30), ("search", 0)):
        tags = ["env:prod", f"service:{service}"]
        submit(api_client, "trace.envoy.proxy.hits", {-120: 500, -60: 500}, tags)
        if errors:
            submit(api_client, "trace.envoy.proxy.errors", {-120: errors / 2, -60: errors / 2}, tags)
    monitor = error_rate_monitor(monitors_api)
    emulator.admin.advance_clock(60)
    return monitor


def test_group_states_through_datadog_api_client(evaluated: Monitor, monitors_api: MonitorsApi) -> None:
    answer = monitors_api.get_monitor(evaluated.id, group_states="all")
    assert_parsed(answer)
    groups = answer.state.groups
    assert {name: str(group.status) for name, group in groups.items()} == {
        "*": "Alert", "service:cart": "Alert", "service:checkout": "Warn", "service:search": "OK",
    }  # fmt: skip
    cart = groups["service:cart"]
    assert (cart.last_triggered_ts, cart.last_notified_ts, cart.last_resolved_ts, cart.last_nodata_ts) == (
        T0 + 60, T0 + 60, None, None,
    )  # fmt: skip
    assert str(answer.overall_state) == "Alert"
    assert answer["overall_state_modified"].timestamp() == T0 + 60  # the client parses the string


@pytest.mark.parametrize(
    ("group_states", "expected"),
    [
        ("alert", {"*", "service:cart"}),
        ("warn", {"service:checkout"}),
        ("alert,warn", {"*", "service:cart", "service:checkout"}),
        ("no data", set()),
    ],
)
def test_group_states_filters(
    evaluated: Monitor, raw: RawClient, group_states: str, expected: set[str]
) -> None:
    answer = raw.call(
        "GET", f"/api/v1/monitor/{evaluated.id}?group_states={group_states.replace(' ', '%20')}"
    )
    assert set(answer.json["state"]["groups"]) == expected


def test_without_group_states_there_is_no_state(evaluated: Monitor, raw: RawClient) -> None:
    answer = raw.call("GET", f"/api/v1/monitor/{evaluated.id}").json
    assert "state" not in answer and answer["overall_state"] == "Alert"


def test_list_items_carry_the_overall_state(
    evaluated: Monitor, monitors_api: MonitorsApi, raw: RawClient
) -> None:
    listed = monitors_api.list_monitors()
    assert_parsed(listed)
    assert [str(item.overall_state) for item in listed] == ["Alert"]
    assert raw.call("GET", "/api/v1/monitor").json[0]["overall_state_modified"] == "2023-11-14T22:15:00+00:00"
    assert ISO_SECONDS.match(
        raw.call("GET", f"/api/v1/monitor/{evaluated.id}").json["overall_state_modified"]
    )
    with_state = raw.call("GET", "/api/v1/monitor?group_states=alert").json
    assert set(with_state[0]["state"]["groups"]) == {"*", "service:cart"}


def test_post_and_put_answers_show_no_data_and_a_put_keeps_the_evaluation_state(
    evaluated: Monitor, monitors_api: MonitorsApi, emulator: RunningEmulator
) -> None:
    assert (str(evaluated.overall_state), evaluated["overall_state_modified"]) == ("No Data", None)
    update = MonitorUpdateRequest(name="checkout error rate (renamed)")
    answer = monitors_api.update_monitor(evaluated.id, update)
    assert_parsed(answer)
    assert (str(answer.overall_state), answer["overall_state_modified"]) == ("No Data", None)
    after = monitors_api.get_monitor(evaluated.id, group_states="all")
    assert str(after.overall_state) == "Alert"
    assert str(after.state.groups["service:cart"].status) == "Alert"


def test_a_recovery_is_seen_at_the_next_evaluations(
    evaluated: Monitor, monitors_api: MonitorsApi, api_client: Any, emulator: RunningEmulator
) -> None:
    submit(
        api_client,
        "trace.envoy.proxy.hits",
        {offset: 5000 for offset in range(0, 360, 60)},
        ["env:prod", "service:cart"],
    )
    emulator.admin.advance_clock(300)
    cart = monitors_api.get_monitor(evaluated.id, group_states="all").state.groups["service:cart"]
    assert str(cart.status) == "OK" and cart.last_resolved_ts is not None


def test_the_evaluation_history_explains_each_group(evaluated: Monitor, emulator: RunningEmulator) -> None:
    evaluations = emulator.admin.evaluations(evaluated.id)
    cart = evaluations["last"]["service:cart"]
    assert cart["status"] == "Alert" and cart["value"] == pytest.approx(0.06)
    assert (cart["comparator"], cart["compared_with"], cart["threshold"], cart["window"]) == (
        ">",
        "critical",
        0.05,
        "5m",
    )
    assert cart["explanation"] == "value 0.06 > critical 0.05 over 5m"
    search = evaluations["last"]["service:search"]
    assert search["explanation"] == "value 0 <= critical 0.05 over 5m"
    assert [item["time"] for item in evaluations["history"]] == [T0 + 60] * 3
    assert emulator.admin.evaluations(evaluated.id, limit=1)["history"] == evaluations["history"][-1:]


def test_the_clock_admin_calls(emulator: RunningEmulator, raw: RawClient) -> None:
    clock = emulator.admin.clock()
    assert (clock["now"], clock["mode"], clock["last_evaluated"]) == (T0, "manual", T0)
    moved = emulator.admin.set_clock(T0 + 150)
    assert (moved["now"], moved["evaluated_minutes"], moved["last_evaluated"]) == (T0 + 150, 2, T0 + 120)
    assert emulator.admin.advance_clock(30)["evaluated_minutes"] == 1
    backwards = raw.call("POST", "/_emulator/clock", {"now": T0})
    assert backwards.status == 400 and "never moves backwards" in backwards.json["errors"][0]
    assert raw.call("POST", "/_emulator/clock", {"now": T0, "advance_s": 1}).status == 400
    assert raw.call("POST", "/_emulator/clock", {"advance_s": "1"}).status == 400


def test_a_realtime_clock_cannot_be_moved() -> None:
    with start_emulator(EmulatorConfig(rate_limits=False, clock="realtime")) as running:
        raw = RawClient(running.base_url, "k", "a")
        answer = raw.call("POST", "/_emulator/clock", {"advance_s": 60})
        assert answer.status == 400 and "realtime" in answer.json["errors"][0]
        assert running.admin.clock()["mode"] == "realtime"
        raw.close()


def test_unevaluated_monitors_are_listed_over_http(
    emulator: RunningEmulator, monitors_api: MonitorsApi
) -> None:
    body = Monitor(
        type=MonitorType.QUERY_ALERT, query="change(avg(last_5m),last_5m):avg:m{*} > 5", name="change"
    )
    monitor = monitors_api.create_monitor(body)
    assert emulator.admin.unevaluated() == [
        {"id": monitor.id, "name": "change", "type": "query alert", "query": body.query,
         "reason": "change() queries are not evaluated"},
    ]  # fmt: skip


def test_wipe_forgets_points_and_evaluations(evaluated: Monitor, emulator: RunningEmulator) -> None:
    emulator.admin.wipe()
    stats = emulator.admin.metric_stats()
    assert (stats["metrics"], stats["points"]) == (0, 0)
    assert emulator.admin.health()["monitors"] == 0
