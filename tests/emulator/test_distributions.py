"""Distribution metrics: ``POST /api/v1/distribution_points`` as datadog-api-client sends it, percentiles and
the other space aggregators over the raw values of a group in ``GET /api/v1/query``, a percentile on another
type refused, and the raw values kept through the --state snapshot and journal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datadog_api_client import ApiClient
from datadog_api_client.v1.api.metrics_api import MetricsApi
from datadog_api_client.v1.model.distribution_point import DistributionPoint
from datadog_api_client.v1.model.distribution_points_payload import DistributionPointsPayload
from datadog_api_client.v1.model.distribution_points_series import DistributionPointsSeries
from hypothesis import given
from hypothesis import strategies as st

from provisioner.emulator import RunningEmulator
from provisioner.emulator.clock import Clock
from provisioner.emulator.evaluation.query import Unevaluable, percentile, plan_query
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.metric_query import parse_metric_query
from provisioner.emulator.metrics import MetricLimits, SubmittedSeries
from provisioner.emulator.org import Org
from provisioner.emulator.state import StateKeeper

from .conftest import METRICS_KEYS, METRICS_T0, RawClient, assert_parsed, manual_clock_emulator  # type: ignore[import-not-found]

T0, KEYS = METRICS_T0, METRICS_KEYS


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    yield from manual_clock_emulator()


@pytest.fixture
def metrics(api_client: ApiClient) -> MetricsApi:
    return MetricsApi(api_client)


def distribution(metric: str, values: list[float], tags: list[str], at: int = T0 - 30, **fields: Any) -> Any:
    return DistributionPointsSeries(
        metric=metric, points=[DistributionPoint([float(at), values])], tags=tags, **fields
    )


def one_value_per_series(answer: Any) -> dict[str, float]:
    """The query's single bucket per group: ``{scope: value}``."""
    assert_parsed(answer)
    return {s.scope: s.pointlist[0].value[1] for s in answer.series if len(s.pointlist) == 1}


def test_submission_stores_a_distribution_and_p95_is_computed_per_group_over_every_series(
    emulator: RunningEmulator, metrics: MetricsApi
) -> None:
    low, high = [float(v) for v in range(1, 51)], [float(v) for v in range(51, 101)]
    answer = metrics.submit_distribution_points(
        DistributionPointsPayload(
            series=[
                distribution("trace.envoy.proxy", low, ["service:cart"], host="a"),
                distribution("trace.envoy.proxy", high, ["service:cart"], host="b"),
                distribution("trace.envoy.proxy", [7.0, 7.0, 9.0], ["service:shop"], host="a"),
            ]
        )
    )
    assert answer.status == "ok"
    assert metrics.get_metric_metadata("trace.envoy.proxy").type == "distribution"
    query = "p95:trace.envoy.proxy{*} by {service}"
    # a 60 s range: one 1-second bucket per point, the submission's in one of them
    per_group = one_value_per_series(metrics.query_metrics(_from=T0 - 60, to=T0, query=query))
    assert per_group == {
        "service:cart": pytest.approx(95.05),
        "service:shop": pytest.approx(8.8),
    }  # 7 + (9 - 7) * 0.9
    cart = "{service:cart}"
    expected = {"p50": 50.5, "avg": 50.5, "sum": 5050.0, "min": 1.0, "max": 100.0, "count": 100.0}
    for aggregator, value in expected.items():
        answer = metrics.query_metrics(_from=T0 - 60, to=T0, query=f"{aggregator}:trace.envoy.proxy{cart}")
        assert one_value_per_series(answer) == {"service:cart": pytest.approx(value)}, aggregator


def test_values_of_the_same_second_from_two_submissions_are_all_kept(
    emulator: RunningEmulator, metrics: MetricsApi
) -> None:
    for values in ([1.0, 2.0], [3.0, 4.0]):
        metrics.submit_distribution_points(
            DistributionPointsPayload(series=[distribution("d", values, ["env:prod"])])
        )
    answer = metrics.query_metrics(_from=T0 - 60, to=T0, query="count:d{env:prod}")
    assert one_value_per_series(answer) == {"env:prod": 4.0}


def test_a_percentile_of_another_type_is_still_refused(emulator: RunningEmulator, raw: RawClient) -> None:
    raw.call(
        "POST", "/api/v1/series", {"series": [{"metric": "g", "type": "gauge", "points": [[T0 - 30, 1]]}]}
    )
    for aggregator in ("p95", "count"):
        answer = raw.call("GET", f"/api/v1/query?from={T0 - 60}&to={T0}&query={aggregator}:g{{*}}")
        assert answer.status == 400
        assert f"{aggregator}: needs a distribution metric; g is of type gauge" in answer.json["errors"][0]
    assert (
        raw.call("GET", f"/api/v1/query?from={T0 - 60}&to={T0}&query=p95:nothing{{*}}").json["series"] == []
    )


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ({"metric": "d", "points": [[T0, 1.0]]}, "series[0].points[0] must be a [timestamp, [values]] pair"),
        ({"metric": "d", "points": [[T0, [1.0, "x"]]]}, "series[0].points[0][1][1] must be a finite number"),
        ({"metric": "d", "type": "gauge", "points": []}, "series[0].type must be distribution or absent"),
        ({"points": []}, "series[0].metric is required"),
    ],
)
def test_shape_errors_are_400(raw: RawClient, series: dict[str, Any], message: str) -> None:
    answer = raw.call("POST", "/api/v1/distribution_points", {"series": [series]})
    assert answer.status == 400 and message in answer.json["errors"][0]


def test_distribution_points_need_the_api_key(emulator: RunningEmulator) -> None:
    raw = RawClient(emulator.base_url, KEYS[0], None)  # type: ignore[arg-type]
    body = {"series": [{"metric": "d", "points": [[T0, [1.0]]]}]}
    answer = raw.call("POST", "/api/v1/distribution_points", body)
    assert (answer.status, answer.json) == (202, {"status": "ok"})
    raw.keys["DD-API-KEY"] = "wrong"
    assert raw.call("POST", "/api/v1/distribution_points", body).status == 403
    raw.close()


def test_monitors_with_a_percentile_stay_unevaluated() -> None:
    with pytest.raises(Unevaluable, match="monitors on distributions are not evaluated"):
        plan_query(parse_metric_query("avg(last_5m):p95:trace.envoy.proxy{*} > 1"))


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), st.floats(0, 100), st.floats(0, 100))
def test_a_percentile_lies_between_the_values_and_grows_with_its_rank(
    values: list[float], rank: float, other: float
) -> None:
    assert percentile(values, 0) == min(values) and percentile(values, 100) == max(values)
    low, high = sorted((rank, other))
    assert min(values) <= percentile(values, low) <= percentile(values, high) <= max(values)


def test_raw_values_survive_the_snapshot_and_the_journal(tmp_path: Path) -> None:
    def submit(org: Org, values: list[float]) -> None:
        org.submit_series(
            [SubmittedSeries("d", tuple((T0 - 30, v) for v in values), ("env:prod",), "distribution")]
        )

    def kept(org: Org) -> Any:
        org.refresh()
        return json.loads(json.dumps(org.snapshot().sections["metrics"]))

    state = tmp_path / "org.json"
    org = Org(0, OrgIdentity(), Clock("manual", T0), MetricLimits())
    keeper = StateKeeper(state, org, compact_after_bytes=1 << 30)
    keeper.load()
    submit(org, [1.0, 1.0])
    keeper.compact(wait=True)
    submit(org, [1.0, 2.0])  # the journal, after the snapshot
    expected = kept(org)
    keeper.stop()
    assert expected["metrics"][0]["series"][0]["values"] == [1.0, 1.0, 1.0, 2.0]
    restarted = Org(0, OrgIdentity(), Clock("manual", T0), MetricLimits())
    keeper = StateKeeper(state, restarted, compact_after_bytes=1 << 30)
    keeper.load()
    assert kept(restarted) == expected
    keeper.stop()
