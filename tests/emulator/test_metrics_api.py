"""Series submission and the metric read endpoints, over real HTTP, as datadog-api-client sends and parses
them (``check_return_type`` on) and as raw bodies for what the client cannot send."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from datadog_api_client import ApiClient
from datadog_api_client.exceptions import ApiException, NotFoundException
from datadog_api_client.v1.api.metrics_api import MetricsApi as MetricsApiV1
from datadog_api_client.v1.model.metric_content_encoding import MetricContentEncoding as V1Encoding
from datadog_api_client.v1.model.metrics_payload import MetricsPayload
from datadog_api_client.v1.model.point import Point
from datadog_api_client.v1.model.series import Series
from datadog_api_client.v2.api.metrics_api import MetricsApi
from datadog_api_client.v2.model.metric_content_encoding import MetricContentEncoding
from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
from datadog_api_client.v2.model.metric_payload import MetricPayload
from datadog_api_client.v2.model.metric_point import MetricPoint
from datadog_api_client.v2.model.metric_resource import MetricResource
from datadog_api_client.v2.model.metric_series import MetricSeries

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .conftest import (  # type: ignore[import-not-found]
    METRICS_KEYS,
    METRICS_T0,
    RawClient,
    assert_parsed,
    exported_series,
    manual_clock_emulator,
)

T0, KEYS = METRICS_T0, METRICS_KEYS


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    yield from manual_clock_emulator()


@pytest.fixture
def v2(api_client: ApiClient) -> MetricsApi:
    return MetricsApi(api_client)


@pytest.fixture
def v1(api_client: ApiClient) -> MetricsApiV1:
    return MetricsApiV1(api_client)


def v2_series(metric: str, points: dict[float, float], **fields: Any) -> MetricSeries:
    return MetricSeries(
        metric=metric,
        points=[MetricPoint(timestamp=int(t), value=v) for t, v in points.items()],
        **fields,
    )


def stored(running: RunningEmulator, metric: str) -> list[dict[str, Any]]:
    """The series of a metric as the store keeps them (through the state export)."""
    app = running._app  # noqa: SLF001 - the store is what these tests check
    with app.org.lock:
        return exported_series(app.org.metrics, metric)


# -- submission ---------------------------------------------------------------------------------
def test_v2_submission_is_202_with_empty_errors_and_stores_the_points(
    emulator: RunningEmulator, v2: MetricsApi
) -> None:
    series = v2_series(
        "app.hits",
        {T0 - 20: 1.0, T0 - 10: 2.0},
        type=MetricIntakeType.COUNT,
        interval=10,
        tags=["env:prod"],
        resources=[MetricResource(name="web-1", type="host")],
    )
    answer = v2.submit_metrics(MetricPayload(series=[series]))
    assert_parsed(answer)
    assert answer.errors == []
    assert stored(emulator, "app.hits") == [
        {"tags": ["env:prod", "host:web-1"], "points": [[T0 - 20, 1.0], [T0 - 10, 2.0]]}
    ]


def test_v1_submission_is_202_status_ok_as_text_json(emulator: RunningEmulator, raw: RawClient) -> None:
    body = {
        "series": [
            {"metric": "app.cpu", "points": [[T0 - 5, 3.5], [T0 - 4, None]], "host": "web-2", "type": "gauge"}
        ]
    }
    answer = raw.call("POST", "/api/v1/series", body, {"Content-Type": "text/json"})
    assert (answer.status, answer.json, answer.headers["content-type"]) == (
        202,
        {"status": "ok"},
        "text/json",
    )
    assert stored(emulator, "app.cpu") == [{"tags": ["host:web-2"], "points": [[T0 - 5, 3.5]]}]


def test_v1_submission_through_the_client_parses(emulator: RunningEmulator, v1: MetricsApiV1) -> None:
    payload = MetricsPayload(
        series=[Series(metric="app.rps", points=[Point([float(T0 - 1), 2.0])], type="rate", interval=10)]
    )
    answer = v1.submit_metrics(payload, content_encoding=V1Encoding.DEFLATE)
    assert_parsed(answer)
    assert answer.status == "ok"
    assert stored(emulator, "app.rps") == [{"tags": [], "points": [[T0 - 1, 2.0]]}]


def test_gzip_bodies_are_decoded(emulator: RunningEmulator, v2: MetricsApi) -> None:
    v2.submit_metrics(
        MetricPayload(series=[v2_series("app.gz", {T0: 1.0})]), content_encoding=MetricContentEncoding.GZIP
    )
    assert stored(emulator, "app.gz")[0]["points"] == [[T0, 1.0]]


def test_raw_deflate_bodies_are_decoded(emulator: RunningEmulator, raw: RawClient) -> None:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = compressor.compress(
        json.dumps({"series": [{"metric": "app.raw", "points": [{"timestamp": T0, "value": 1}]}]}).encode()
    )
    answer = raw_post(raw, "/api/v2/series", data + compressor.flush(), "deflate")
    assert answer.status == 202 and stored(emulator, "app.raw")


def raw_post(raw: RawClient, path: str, data: bytes, encoding: str | None) -> Any:
    connection = raw._connection  # noqa: SLF001 - a body that is not JSON-encoded by the helper
    headers = {**raw.keys, "Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    connection.request("POST", path, body=data, headers=headers)
    response = connection.getresponse()
    return type("Answer", (), {"status": response.status, "json": json.loads(response.read() or b"null")})


def test_zstd1_is_refused_with_a_reason(raw: RawClient) -> None:
    answer = raw_post(raw, "/api/v2/series", b"\x28\xb5\x2f\xfd", "zstd1")
    assert answer.status == 415 and "zstd1" in answer.json["errors"][0]


@pytest.mark.parametrize(
    ("path", "raw_limit", "decoded_limit"),
    [("/api/v2/series", 512_000, 5_242_880), ("/api/v1/series", 3_200_000, 62_914_560)],
)
def test_size_limits_are_413(raw: RawClient, path: str, raw_limit: int, decoded_limit: int) -> None:
    too_big = b'{"series":[],"pad":"' + b"x" * raw_limit + b'"}'
    assert raw_post(raw, path, too_big, None).status == 413
    bomb = gzip.compress(b'{"series":[],"pad":"' + b"x" * decoded_limit + b'"}')
    assert len(bomb) < raw_limit
    assert raw_post(raw, path, bomb, "gzip").status == 413
    assert raw_post(raw, path, gzip.compress(b'{"series":[]}'), "gzip").status == 202


def test_a_body_without_series_is_accepted_and_discarded(emulator: RunningEmulator, raw: RawClient) -> None:
    answer = raw.call(
        "POST", "/api/v2/series", {"metric": "app.lost", "points": [{"timestamp": T0, "value": 1}]}
    )
    assert (answer.status, answer.json) == (202, {"errors": []})
    assert emulator.admin.metric_stats()["series"] == 0


@pytest.mark.parametrize(
    ("path", "series", "message"),
    [
        ("/api/v2/series", {"points": [{"timestamp": T0, "value": 1}]}, "series[0].metric is required"),
        ("/api/v2/series", {"metric": "m"}, "series[0].points must be an array"),
        ("/api/v2/series", {"metric": "m", "type": 7, "points": []}, "series[0].type must be 0"),
        (
            "/api/v2/series",
            {"metric": "m", "points": [{"timestamp": T0, "value": "1"}]},
            "series[0].points[0].value",
        ),
        (
            "/api/v1/series",
            {"metric": "m", "points": [[T0]]},
            "series[0].points[0] must be a [timestamp, value] pair",
        ),
        (
            "/api/v1/series",
            {"metric": "m", "type": "histogram", "points": []},
            "series[0].type must be one of",
        ),
        (
            "/api/v1/series",
            {"metric": "m", "points": [], "tags": "env:prod"},
            "series[0].tags must be an array",
        ),
    ],
)
def test_shape_errors_are_400_in_the_errors_form(
    raw: RawClient, path: str, series: dict[str, Any], message: str
) -> None:
    answer = raw.call("POST", path, {"series": [series]})
    assert answer.status == 400 and message in answer.json["errors"][0]


def test_submission_needs_the_api_key_only_and_is_never_rate_limited(emulator: RunningEmulator) -> None:
    config = EmulatorConfig(api_keys=("k",), app_keys=("a",), clock_start_s=T0)
    with start_emulator(config) as limited:
        raw = RawClient(limited.base_url, "k", None)  # type: ignore[arg-type]
        body = {"series": [{"metric": "m", "points": [{"timestamp": T0, "value": 1}]}]}
        answer = raw.call("POST", "/api/v2/series", body)
        assert answer.status == 202 and not any(name.startswith("x-ratelimit") for name in answer.headers)
        raw.keys["DD-API-KEY"] = None  # type: ignore[assignment]
        assert raw.call("POST", "/api/v2/series", body).status == 403
        raw.close()


def test_timestamps_round_to_the_second_and_the_last_write_wins(
    emulator: RunningEmulator, raw: RawClient
) -> None:
    points = [[T0 - 9.6, 1], [T0 - 10.4, 2], [T0 - 10, 3], [T0 - 9.5, 4]]
    raw.call("POST", "/api/v1/series", {"series": [{"metric": "m", "points": points}]})
    assert stored(emulator, "m")[0]["points"] == [[T0 - 10, 3.0], [T0 - 9, 4.0]]


def test_points_outside_the_accepted_range_are_acknowledged_and_dropped(
    emulator: RunningEmulator, raw: RawClient
) -> None:
    points = [{"timestamp": T0 - 3601, "value": 1}, {"timestamp": T0 - 3600, "value": 2}, {"timestamp": T0 + 600, "value": 3},
              {"timestamp": T0 + 601, "value": 4}]  # fmt: skip
    answer = raw.call("POST", "/api/v2/series", {"series": [{"metric": "m", "points": points}]})
    assert answer.status == 202
    assert stored(emulator, "m")[0]["points"] == [[T0 - 3600, 2.0], [T0 + 600, 3.0]]
    assert emulator.admin.metric_stats()["points_dropped"]["out_of_range"] == 2
    emulator.admin.accept_any_timestamp(True)
    raw.call("POST", "/api/v2/series", {"series": [{"metric": "m", "points": points}]})
    assert len(stored(emulator, "m")[0]["points"]) == 4


# -- read side --------------------------------------------------------------------------------------
@pytest.fixture
def reporting(emulator: RunningEmulator, v2: MetricsApi) -> RunningEmulator:
    host = [MetricResource(name="web-1", type="host")]
    v2.submit_metrics(
        MetricPayload(
            series=[
                v2_series("istio.mesh.request.count", {T0 - 60: 5}, type=MetricIntakeType.COUNT, tags=["reporter:source", "response_code:503"], resources=host),
                v2_series("istio.mesh.request.count", {T0 - 3000: 5}, type=MetricIntakeType.COUNT, tags=["reporter:destination", "response_code:200"]),
                v2_series("system.cpu.user", {T0 - 1800: 5}, type=MetricIntakeType.GAUGE, unit="percent"),
            ]
        )
    )  # fmt: skip
    return emulator


def test_active_metrics_since_from(reporting: RunningEmulator, v1: MetricsApiV1) -> None:
    answer = v1.list_active_metrics(_from=T0 - 2000)
    assert_parsed(answer)
    assert (answer._from, answer.metrics) == (str(T0 - 2000), ["istio.mesh.request.count", "system.cpu.user"])
    assert v1.list_active_metrics(_from=T0 - 100).metrics == ["istio.mesh.request.count"]


def test_active_metrics_by_host_and_by_tag_filter(reporting: RunningEmulator, v1: MetricsApiV1) -> None:
    assert v1.list_active_metrics(_from=T0 - 5000, host="web-1").metrics == ["istio.mesh.request.count"]
    answer = v1.list_active_metrics(_from=T0 - 5000, tag_filter="reporter:dest* AND NOT response_code:5*")
    assert answer.metrics == ["istio.mesh.request.count"]
    assert v1.list_active_metrics(_from=T0 - 5000, tag_filter="response_code:404").metrics == []


def test_active_metrics_refuses_tag_filter_with_another_filter(
    reporting: RunningEmulator, raw: RawClient
) -> None:
    answer = raw.call("GET", f"/api/v1/metrics?from={T0}&host=web-1&tag_filter=env:prod")
    assert answer.status == 400
    assert raw.call("GET", "/api/v1/metrics").status == 400


def test_all_tags_of_a_metric_within_the_window(reporting: RunningEmulator, v2: MetricsApi) -> None:
    answer = v2.list_tags_by_metric_name("istio.mesh.request.count")
    assert_parsed(answer)
    assert (answer.data.id, str(answer.data.type)) == ("istio.mesh.request.count", "metrics")
    assert answer.data.attributes.tags == [
        "host:web-1", "reporter:destination", "reporter:source", "response_code:200", "response_code:503",
    ]  # fmt: skip
    assert "ingested_tags" not in answer.data.attributes.to_dict()


def test_all_tags_filters(reporting: RunningEmulator, v2: MetricsApi) -> None:
    name = "istio.mesh.request.count"
    assert v2.list_tags_by_metric_name(name, filter_tags="reporter:source").data.attributes.tags == [
        "host:web-1", "reporter:source", "response_code:503",
    ]  # fmt: skip
    assert v2.list_tags_by_metric_name(name, filter_match="code").data.attributes.tags == [
        "response_code:200", "response_code:503",
    ]  # fmt: skip
    keys = v2.list_tags_by_metric_name(name, filter_include_tag_values=False).data.attributes.tags
    assert keys == ["host", "reporter", "response_code"]
    assert len(v2.list_tags_by_metric_name(name, page_limit=2).data.attributes.tags) == 2


def test_all_tags_window_defaults_to_four_hours_and_refuses_less(
    reporting: RunningEmulator, raw: RawClient
) -> None:
    reporting.admin.advance_clock(4 * 3600 - 1000)
    tags = raw.call("GET", "/api/v2/metrics/istio.mesh.request.count/all-tags").json["data"]["attributes"][
        "tags"
    ]
    assert "reporter:destination" not in tags and "reporter:source" in tags
    longer = raw.call("GET", "/api/v2/metrics/istio.mesh.request.count/all-tags?window[seconds]=86400").json
    assert "reporter:destination" in longer["data"]["attributes"]["tags"]
    assert raw.call("GET", "/api/v2/metrics/system.cpu.user/all-tags?window[seconds]=3600").status == 400


def test_all_tags_of_an_unknown_metric_is_404(reporting: RunningEmulator, v2: MetricsApi) -> None:
    with pytest.raises(NotFoundException):
        v2.list_tags_by_metric_name("istio.mesh.request.count.total")


def test_metric_metadata(reporting: RunningEmulator, v1: MetricsApiV1, raw: RawClient) -> None:
    answer = v1.get_metric_metadata("system.cpu.user")
    assert_parsed(answer)
    assert (answer.type, answer.unit) == ("gauge", "percent")
    assert raw.call("GET", "/api/v1/metrics/istio.mesh.request.count").json["type"] == "count"
    with pytest.raises(NotFoundException):
        v1.get_metric_metadata("nothing.here")


def test_read_endpoints_need_both_keys(reporting: RunningEmulator, raw: RawClient) -> None:
    raw.keys["DD-APPLICATION-KEY"] = None  # type: ignore[assignment]
    assert raw.call("GET", f"/api/v1/metrics?from={T0}").status == 403


def test_read_endpoints_carry_their_rate_limit_buckets(emulator: RunningEmulator) -> None:
    config = EmulatorConfig(api_keys=("k",), app_keys=("a",), clock_start_s=T0)
    with start_emulator(config) as limited:
        raw = RawClient(limited.base_url, "k", "a")
        answer = raw.call("GET", f"/api/v1/metrics?from={T0}")
        assert (answer.headers["x-ratelimit-name"], answer.headers["x-ratelimit-limit"]) == (
            "list_active_metrics",
            "100",
        )
        raw.close()


def test_a_window_below_the_minimum_is_a_400_the_client_reports(
    reporting: RunningEmulator, v2: MetricsApi
) -> None:
    with pytest.raises(ApiException) as caught:
        v2.list_tags_by_metric_name("system.cpu.user", window_seconds=60)
    assert caught.value.status == 400
    assert caught.value.body == {"errors": ["window[seconds] must be at least 14400"]}


# -- GET /api/v1/query (a debugging aid) ------------------------------------------------------------
def test_query_returns_one_series_per_group_at_the_recorded_granularity(
    emulator: RunningEmulator, v2: MetricsApi, v1: MetricsApiV1
) -> None:
    v2.submit_metrics(
        MetricPayload(
            series=[
                v2_series(
                    "app.cpu", {T0 - 1200 + 3: 10.0, T0 - 1200 + 4: 20.0, T0 - 600: 5.0}, tags=["host:a"]
                ),
                v2_series("app.cpu", {T0 - 600: 7.0}, tags=["host:b"]),
            ]
        )
    )
    answer = v1.query_metrics(_from=T0 - 1200, to=T0, query="avg:app.cpu{*} by {host}")
    assert_parsed(answer)
    assert (answer.status, answer.res_type, answer.group_by) == ("ok", "time_series", ["host"])
    first = answer.series[0]
    assert (first.scope, first.tag_set, first.aggr, first.interval) == ("host:a", ["host:a"], "avg", 5)
    assert [list(point.value) for point in first.pointlist] == [
        [(T0 - 1200) * 1000.0, 15.0],
        [(T0 - 600) * 1000.0, 5.0],
    ]
    assert first.end == (T0 - 600) * 1000 + 4000
    day = v1.query_metrics(_from=T0 - 86400, to=T0, query="sum:app.cpu{*}")
    assert day.series[0].interval == 300 and day.series[0].tag_set == []


def test_query_refuses_what_the_evaluator_does_not_compute(emulator: RunningEmulator, raw: RawClient) -> None:
    answer = raw.call("GET", f"/api/v1/query?from={T0 - 60}&to={T0}&query=anomalies(avg:m{{*}},'basic',2)")
    assert answer.status == 400 and "anomalies() is not evaluated" in answer.json["errors"][0]
    assert raw.call("GET", f"/api/v1/query?from={T0}&to={T0 - 60}&query=avg:m{{*}}").status == 400
    assert raw.call("GET", f"/api/v1/query?from={T0}&to={T0}&query=avg:m{{*}}").json["series"] == []
