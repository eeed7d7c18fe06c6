"""The metrics-reporting check's decisions (engine/metric_check.py), pure: what a monitor queries, which
metrics' tags are read within the budget, and each cause, from a snapshot of what reports."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.engine.metric_check import (
    Cause,
    CheckedMonitor,
    MetricCheckSettings,
    Reporting,
    WatchedMetric,
    checked_monitor,
    desired_monitors,
    find_gaps,
    span,
    tag_reads,
    type_reads,
)
from provisioner.mesh import catalogue
from provisioner.model import CollectionModes, MonitorSpec, SourceLocation

OPENMETRICS = CollectionModes("openmetrics", "openmetrics", "openmetrics")
LEGACY = CollectionModes("legacy", "legacy", "legacy")
HERE = SourceLocation("monitors/m.yaml", 1, 1)


def name(key: str, mode: str) -> str:
    found = catalogue.METRICS[key].submissions[mode]  # type: ignore[index]
    return found.name


def monitor(query: str, key: str = "m", monitor_type: str = "query alert") -> CheckedMonitor:
    return checked_monitor(key, [{"type": monitor_type, "query": query}])


def gaps(monitors: list[CheckedMonitor], reporting: Reporting, modes: CollectionModes = OPENMETRICS):  # noqa: ANN201
    return {g.key: g.gaps for g in find_gaps(monitors, reporting, modes, "staging")}


def test_a_monitor_queries_each_metric_with_the_tag_keys_it_keeps_or_groups_by() -> None:
    query = (
        "sum(last_5m):sum:app.errors{env:prod,!team:x,host:web-1} by {service}.as_count() / "
        "sum:app.hits{env:prod,region IN (eu, us)} by {service}.as_count() > 0.1"
    )
    assert monitor(query).metrics == (
        # negated filters and host are not checked; exact values are
        WatchedMetric("app.errors", ("env", "service"), (("env", "prod"),)),
        WatchedMetric(
            "app.hits", ("env", "region", "service"), (("env", "prod"), ("region", "eu"), ("region", "us"))
        ),
    )
    assert (
        monitor('logs("x").index("*").rollup("count").last("5m") > 1', monitor_type="log alert").metrics == ()
    )
    assert monitor("123 && 456", monitor_type="composite").metrics == ()


def test_a_definitions_composite_parts_are_checked_as_the_definition() -> None:
    specs = [
        MonitorSpec(
            "rate", "error-rate", {"type": "composite", "query": "@{rate:ratio} && @{rate:traffic}"}, HERE
        ),
        MonitorSpec(
            "rate:ratio",
            "error-rate",
            {"type": "query alert", "query": "sum:a.b{x:1} > 1"},
            HERE,
            part_of="rate",
        ),
        MonitorSpec(
            "rate:traffic",
            "error-rate",
            {"type": "query alert", "query": "sum:a.c{} by {y} > 1"},
            HERE,
            part_of="rate",
        ),
        MonitorSpec("raw", "monitor", {"type": "metric alert", "query": "avg:a.b{z:2} > 1"}, HERE),
    ]
    checked = {m.key: m.metrics for m in desired_monitors(specs)}
    assert checked == {
        "rate": (WatchedMetric("a.b", ("x",), (("x", "1"),)), WatchedMetric("a.c", ("y",))),
        "raw": (WatchedMetric("a.b", ("z",), (("z", "2"),)),),
    }


def test_tags_are_read_for_the_most_used_reporting_metrics_within_the_budget() -> None:
    monitors = [
        monitor("avg:a.one{x:1} > 1", "1"),
        monitor("avg:a.one{x:1} + avg:a.two{y:1} > 1", "2"),
        monitor("avg:a.three{z:1} > 1", "3"),
        monitor("avg:a.four{} > 1", "4"),  # no tag key: nothing to read
        monitor("avg:a.absent{x:1} > 1", "5"),  # does not report: no tags to read
    ]
    active = frozenset({"a.one", "a.two", "a.three", "a.four"})
    assert tag_reads(monitors, active, budget=2) == (("a.one", "a.three"), ("a.two",))
    assert tag_reads(monitors, active, budget=25) == (("a.one", "a.three", "a.two"), ())


def test_types_are_read_only_for_reporting_names_the_modes_type_differently() -> None:
    ambiguous = name("requests", "openmetrics")  # V2's count is V1's cumulative gauge
    monitors = [monitor(f"sum:{ambiguous}{{}} + sum:{name('requests', 'legacy')}{{}} > 1")]
    assert type_reads(monitors, frozenset({ambiguous, name("requests", "legacy")})) == (ambiguous,)
    assert type_reads(monitors, frozenset()) == ()


def test_the_other_modes_name_reporting_is_the_cause() -> None:
    v2, v1 = name("xds_pushes", "openmetrics"), name("xds_pushes", "legacy")
    found = gaps([monitor(f"sum:{v2}{{}}.as_count() > 1")], Reporting(frozenset({v1})))["m"]
    assert [(g.metric, g.cause) for g in found] == [(v2, Cause.OTHER_MODE)]
    assert found[0].message.endswith(f"but {v1} does: this environment's control plane looks like legacy")
    assert "`istio: {control_plane: legacy}` for environment staging" in found[0].fix
    # The environment already says legacy: the monitor is what is out of date.
    found = gaps([monitor(f"sum:{v2}{{}}.as_count() > 1")], Reporting(frozenset({v1})), LEGACY)["m"]
    assert found[0].fix.startswith(f"the monitor queries another mode's name: query {v1} instead")


def test_an_event_counter_without_events_is_no_gap_unless_its_collector_runs_another_mode() -> None:
    failures = f"sum:{name('sidecar_injection_failure', 'openmetrics')}{{}}.as_count() > 0"
    openmetrics_istiod = Reporting(frozenset({name("xds_pushes", "openmetrics")}))
    legacy_istiod = Reporting(frozenset({name("xds_pushes", "legacy")}))
    assert gaps([monitor(failures)], openmetrics_istiod) == {}
    found = gaps([monitor(failures)], legacy_istiod)["m"]
    assert found[0].cause is Cause.OTHER_MODE and "control plane's legacy names do" in found[0].message


def test_a_silent_collector_names_its_set_up() -> None:
    found = gaps(
        [monitor(f"max:{name('circuit_breaker_rq_open', 'openmetrics')}{{}} > 0")], Reporting(frozenset())
    )
    (gap,) = found["m"]
    assert gap.cause is Cause.COLLECTOR_SILENT
    assert (
        "nor has any Envoy check metric: not set up (Envoy check on the sidecars; proxyStatsMatcher"
        in gap.message
    )


def test_envoy_stats_missing_while_the_envoy_check_reports_point_at_proxy_stats_matcher() -> None:
    reporting = Reporting(frozenset({name("control_plane_connected", "openmetrics")}))
    (gap,) = gaps([monitor(f"max:{name('outlier_ejections_active', 'openmetrics')}{{}} > 0")], reporting)["m"]
    assert gap.cause is Cause.STATS_NOT_KEPT and "`outlier_detection`" in gap.message


def test_an_unknown_metric_that_does_not_report_is_just_not_reporting() -> None:
    (gap,) = gaps([monitor("avg:app.latency{} > 1")], Reporting(frozenset({"app.other"})))["m"]
    assert (gap.cause, gap.message) == (Cause.NOT_REPORTING, "app.latency has not reported in the last 24 h")


def test_a_name_reporting_with_the_other_modes_type_is_the_other_mode() -> None:
    ambiguous = name("requests", "openmetrics")
    reporting = Reporting(frozenset({ambiguous}), types={ambiguous: "gauge"})
    (gap,) = gaps([monitor(f"sum:{ambiguous}{{}}.as_count() > 1")], reporting)["m"]
    assert gap.cause is Cause.OTHER_MODE and "reports as a gauge" in gap.message
    # legacy: the name is the data plane's cumulative gauge, which the monitor reads as it is
    (gap,) = gaps([monitor(f"sum:{ambiguous}{{}}.as_count() > 1")], reporting, LEGACY)["m"]
    assert gap.cause is Cause.CUMULATIVE_GAUGE
    assert (
        gaps(
            [monitor(f"sum:{ambiguous}{{}} > 1")],
            Reporting(frozenset({ambiguous}), types={ambiguous: "count"}),
        )
        == {}
    )


def test_a_tag_key_the_metric_lacks_is_a_gap_with_the_keys_it_has() -> None:
    requests = name("requests", "legacy")
    query = f"sum:{requests}{{destination_service:x}} by {{zone}}.as_count() > 1"
    reporting = Reporting(
        frozenset({requests}),
        tags={
            requests: {
                "reporter": frozenset({"destination"}),
                "destination_service_name": frozenset({"cart"}),
            }
        },
    )
    found = gaps([monitor(query)], reporting, LEGACY)["m"]
    assert [(g.cause, g.tag_key) for g in found] == [
        (Cause.TAG_MISSING, "destination_service"),
        (Cause.TAG_MISSING, "zone"),
    ]
    assert (
        found[0].fix
        == "the Agent's shipped Istio configuration drops destination_service: use destination_service_name"
    )
    assert found[1].fix == "filter and group by a tag it has: destination_service_name, reporter"
    assert (
        found[1].message
        == f"{requests} has had no tag zone in the last 24 h, and the query filters or groups by it"
    )


def test_the_tags_window_is_at_least_datadogs_minimum() -> None:
    assert MetricCheckSettings(window=timedelta(hours=1)).tags_window == timedelta(hours=4)
    assert MetricCheckSettings(window=timedelta(days=2)).tags_window == timedelta(days=2)
    assert [span(timedelta(hours=h)) for h in (24, 1)] + [span(timedelta(days=7)), span(timedelta(minutes=90))] == [
        "24 h", "1 h", "7 days", "90 min",
    ]  # fmt: skip


NAMES = sorted(catalogue.all_names()) + ["app.custom.one", "app.custom.two"]


@settings(max_examples=60, deadline=None)
@given(
    used=st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True),
    active=st.frozensets(st.sampled_from(NAMES)),
    modes=st.sampled_from([OPENMETRICS, LEGACY, catalogue.DEFAULT_MODES]),
)
def test_every_absent_metric_has_one_cause_and_a_reporting_one_never_an_absence(
    used: list[str], active: frozenset[str], modes: CollectionModes
) -> None:
    checked = monitor(" + ".join(f"sum:{n}{{}}" for n in used) + " > 1")
    found = {g.metric: g for g in gaps([checked], Reporting(active), modes).get("m", ())}
    for metric in used:
        uses = catalogue.lookup(metric)
        cumulative = catalogue.cumulative_in_mode(metric, modes) is not None
        if metric in active:  # no tag or type was read: only a running total, or the other mode's meaning
            if cumulative:
                assert found[metric].cause in (Cause.CUMULATIVE_GAUGE, Cause.OTHER_MODE)
            else:
                assert metric not in found or found[metric].cause is Cause.OTHER_MODE
        elif not uses or not uses[0].metric.on_event:
            assert metric in found and found[metric].cause is not Cause.TAG_MISSING
        elif metric in found:  # an event counter: only a silent collector or another mode is a gap
            assert found[metric].cause in (Cause.OTHER_MODE, Cause.COLLECTOR_SILENT)


def test_an_exact_filter_value_no_series_had_is_a_gap_with_the_values_seen() -> None:
    hits = name("apm_hits", "openmetrics")
    query = f"sum(last_5m):sum:{hits}{{service:checkout,env:prod}}.as_count() > 1"
    seen = {"service": frozenset({"cart.shop", "checkout.shop"}), "env": frozenset({"prod"})}
    (gap,) = gaps([monitor(query)], Reporting(frozenset({hits}), tags={hits: seen}))["m"]
    assert (gap.cause, gap.tag_key) == (Cause.VALUE_MISSING, "service")
    assert gap.message == (
        f"{hits} has had no series with service:checkout in the last 24 h, and the query filters on it"
    )
    assert gap.fix == "its service values: checkout.shop, cart.shop"  # the likely spelling first
    fine = f"sum(last_5m):sum:{hits}{{service:CHECKOUT.shop,service:c*}}.as_count() > 1"  # case, wildcard
    assert gaps([monitor(fine)], Reporting(frozenset({hits}), tags={hits: seen})) == {}


def test_values_that_appear_with_an_event_are_not_checked() -> None:
    requests = name("requests", "legacy")
    seen = {"response_code": frozenset({"200"}), "reporter": frozenset({"destination"}),
            "destination_service_name": frozenset({"cart"})}  # fmt: skip
    reporting = Reporting(frozenset({requests}), tags={requests: seen})
    errors = f"sum(last_5m):sum:{requests}{{response_code:503,destination_service_name:gone}}.as_count() > 1"
    # response_code names an event; and a count kept to errors has series only after one: no value is read
    assert gaps([monitor(errors)], reporting, LEGACY) == {}
    traffic = (
        f"sum(last_5m):sum:{requests}{{reporter:destination,destination_service_name:gone}}.as_count() > 1"
    )
    (gap,) = gaps([monitor(traffic)], reporting, LEGACY)["m"]
    assert (gap.cause, gap.tag_key, gap.fix) == (
        Cause.VALUE_MISSING,
        "destination_service_name",
        "its destination_service_name values: cart",
    )


def test_a_cumulative_gauge_read_as_a_count_is_a_gap_naming_the_count() -> None:
    running_total = name("requests_cumulative", "legacy")  # the legacy data plane's plain request counter
    query = f"sum(last_5m):sum:{running_total}{{*}}.as_count() > 100"
    for types in ({}, {running_total: "gauge"}):  # the type read, or not
        (gap,) = gaps([monitor(query)], Reporting(frozenset({running_total}), types=types), LEGACY)["m"]
        assert gap.cause is Cause.CUMULATIVE_GAUGE and "running total" in gap.message
        assert gap.fix.startswith(f"query {name('requests', 'legacy')}, the count per interval")
    # under openmetrics the same name is the request count
    assert gaps([monitor(query)], Reporting(frozenset({running_total}), types={running_total: "count"})) == {}


def test_a_name_both_modes_submit_reporting_beside_only_the_other_modes_names_is_the_other_mode() -> None:
    """Without a type from Datadog's metadata, the collector's mode-specific names decide."""
    shared = name("requests", "openmetrics")  # V2's count, V1's running total
    legacy_only = name("requests", "legacy")
    query = f"sum(last_5m):sum:{shared}{{*}}.as_count() > 1"
    (gap,) = gaps([monitor(query)], Reporting(frozenset({shared, legacy_only})))["m"]
    assert gap.cause is Cause.OTHER_MODE
    assert f"of the data plane's names only legacy ones do ({legacy_only})" in gap.message
    assert "this environment's data plane looks like legacy" in gap.message
    # the type read says count: trusted over the names (another cluster of the org may run legacy)
    typed = Reporting(frozenset({shared, legacy_only}), types={shared: "count"})
    assert gaps([monitor(query)], typed) == {}
    # a name with one meaning in both modes says nothing of the mode
    gauge = name("outlier_ejections_active", "openmetrics")
    envoy_legacy = name("outlier_ejections_enforced", "legacy")
    assert gaps([monitor(f"max:{gauge}{{*}} > 0")], Reporting(frozenset({gauge, envoy_legacy}))) == {}
