"""The metric store's bounds, its export/restore, and points kept in the state file across restarts."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.emulator import EmulatorConfig, start_emulator
from provisioner.emulator.metrics import MetricLimits, MetricStore, SubmittedSeries

from .conftest import RawClient, exported_series  # type: ignore[import-not-found]

T0 = 1_700_000_040


def add(
    store: MetricStore, metric: str, points: dict[int, float], tags: tuple[str, ...] = (), kind: str = "gauge"
) -> None:
    store.add(
        SubmittedSeries(metric, tuple((float(t), v) for t, v in points.items()), tags, kind), None, None
    )


def points_of(store: MetricStore, metric: str) -> dict[tuple[str, ...], list[list[float]]]:
    return {tuple(series["tags"]): series["points"] for series in exported_series(store, metric)}


def test_the_points_per_series_cap_drops_the_oldest() -> None:
    store = MetricStore(MetricLimits(max_points_per_series=3))
    add(store, "m", {T0 + i: float(i) for i in range(5)})
    assert points_of(store, "m") == {(): [[T0 + 2, 2.0], [T0 + 3, 3.0], [T0 + 4, 4.0]]}
    assert store.stats()["points_dropped"]["point_cap"] == 2


def test_the_series_per_metric_cap_drops_the_series_that_reported_least_recently() -> None:
    store = MetricStore(MetricLimits(max_series_per_metric=2))
    add(store, "m", {T0 + 5: 1}, ("host:a",))
    add(store, "m", {T0: 1}, ("host:b",))
    add(store, "m", {T0 + 9: 1}, ("host:c",))
    assert set(points_of(store, "m")) == {("host:a",), ("host:c",)}
    assert store.stats()["series"] == 2


def test_the_total_points_cap_drops_the_oldest_points_of_the_store() -> None:
    store = MetricStore(MetricLimits(max_total_points=100))
    for metric in ("a", "b"):
        add(store, metric, {T0 + i: 1.0 for i in range(0, 120, 2)}, ())
    stats = store.stats()
    assert stats["points"] <= 100 and stats["points_dropped"]["store_cap"] == 120 - stats["points"]
    kept = [t for metric in ("a", "b") for t, _ in points_of(store, metric)[()]]
    assert min(kept) > T0 and max(kept) == T0 + 118  # the oldest went, the newest stayed


def test_retention_drops_points_older_than_the_retention_period() -> None:
    store = MetricStore(MetricLimits(retention_s=3600))
    add(store, "old", {T0: 1})
    add(store, "m", {T0: 1, T0 + 3000: 2})
    store.expire(T0 + 3601)
    assert points_of(store, "m") == {(): [[T0 + 3000, 2.0]]}
    assert store.metric("old") is None  # a metric without points is forgotten


def test_a_submission_without_a_type_keeps_the_known_type() -> None:
    store = MetricStore()
    add(store, "m", {T0: 1}, kind="count")
    add(store, "m", {T0 + 1: 1}, kind="unspecified")
    metric = store.metric("m")
    assert metric is not None and metric.metric_type == "count"


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.floats(-1e9, 1e9, allow_nan=False), st.sampled_from(["a", "b"])),
        max_size=60,
    )
)
def test_export_then_restore_gives_the_same_store(writes: list[tuple[int, float, str]]) -> None:
    store = MetricStore(MetricLimits(max_points_per_series=20, max_total_points=30))
    for offset, value, host in writes:
        add(store, "m", {T0 + offset: value}, (f"host:{host}",), "rate")
    exported = json.loads(json.dumps(store.export()))
    restored = MetricStore(MetricLimits(max_points_per_series=20, max_total_points=30))
    restored.restore(exported)
    assert restored.export() == store.export()
    assert restored.stats()["points"] == store.stats()["points"] <= 30


def test_points_types_and_group_states_survive_a_restart(tmp_path: Path) -> None:
    config = EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json", clock_start_s=T0)
    body = {"series": [{"metric": "app.errors", "type": 1, "points": [{"timestamp": T0 - 30, "value": 3}]}]}
    monitor = {
        "type": "query alert",
        "query": "sum(last_5m):sum:app.errors{*}.as_count() > 1",
        "name": "errors",
    }
    with start_emulator(config) as running:
        raw = RawClient(running.base_url, "k", "a")
        raw.call("POST", "/api/v2/series", body)
        monitor_id = raw.call("POST", "/api/v1/monitor", monitor).json["id"]
        running.admin.advance_clock(120)
        raw.close()
    stored = json.loads((tmp_path / "org.json").read_text())
    assert stored["metrics"]["metrics"][0]["type"] == "count" and stored["clock_s"] == T0 + 120
    with start_emulator(EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json")) as restarted:
        raw = RawClient(restarted.base_url, "k", "a")
        answer = raw.call("GET", f"/api/v1/monitor/{monitor_id}?group_states=all").json
        assert (
            answer["overall_state"] == "Alert"
            and answer["state"]["groups"]["*"]["last_triggered_ts"] == T0 + 60
        )
        assert raw.call("GET", "/api/v1/metrics/app.errors").json["type"] == "count"
        raw.close()


def test_a_manual_clock_resumes_where_it_stopped_unless_that_is_behind_its_start(tmp_path: Path) -> None:
    config = EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json")
    with start_emulator(config) as running:
        ahead = running.admin.advance_clock(2 * 86_400)["now"]
    with start_emulator(config) as restarted:
        assert restarted.admin.clock()["now"] == ahead
    explicit = EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json", clock_start_s=T0)
    with start_emulator(explicit) as told:
        assert told.admin.clock()["now"] == T0  # an explicit start wins


def test_a_state_file_without_the_metric_sections_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text(
        json.dumps({"format": "provisioner-emulator-state", "version": 1, "monitors": [], "dashboards": []})
    )
    with start_emulator(EmulatorConfig(rate_limits=False, state_path=path)) as running:
        assert running.admin.metric_stats()["points"] == 0
