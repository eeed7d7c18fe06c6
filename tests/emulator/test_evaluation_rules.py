"""The evaluator, one test per rule of datadog-monitor-evaluation.md (and per choice where it says
"unverified"; the choices are written in provisioner/emulator/evaluation/__init__.py)."""

from __future__ import annotations

import pytest

from .org_harness import T0, OrgUnderTest  # type: ignore[import-not-found]

NO_DELAY = {"new_group_delay": 0}


@pytest.fixture
def org() -> OrgUnderTest:
    return OrgUnderTest()


def minutes(*values: float | None, first: int = -210) -> dict[int, float]:
    """One point a minute, the first at ``first`` seconds from now (None: no point that minute)."""
    return {first + 60 * index: value for index, value in enumerate(values) if value is not None}


# -- 2.2 as_count / as_rate ---------------------------------------------------------------
def test_as_count_of_a_count_sums_the_window(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):sum:app.hits{*}.as_count() > 100")
    org.points("app.hits", {-200: 30, -100: 40, 10: 50}, metric_type="count", interval=10)
    org.advance(60)
    assert org.value(monitor) == 120 and org.status(monitor) == "Alert"


def test_as_count_of_a_rate_multiplies_each_value_by_its_interval(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):sum:app.rps{*}.as_count() > 100")
    org.points("app.rps", {-200: 0.5, -190: 1.5}, metric_type="rate", interval=10)
    org.advance(60)
    assert org.value(monitor) == 20  # (0.5 + 1.5) per second over 10 s each


def test_as_rate_of_a_count_divides_by_the_bucket_length(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):sum:app.hits{*}.as_rate() > 100")
    org.points("app.hits", {-200: 30, -190: 30}, metric_type="count")
    org.advance(60)
    assert org.value(monitor) == 1  # 60 in a 60 s bucket


def test_as_count_has_no_effect_on_a_gauge(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*}.as_count() > 100")
    org.points("app.queue", {-200: 2, -190: 4}, metric_type="gauge")
    org.advance(60)
    assert org.value(monitor) == 3


# -- 2.3 rollup ------------------------------------------------------------------------------
def test_rollup_method_and_interval_are_applied_per_source(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_4m):avg:app.latency{*}.rollup(sum, 120) > 100")
    org.points("app.latency", {-170: 1, -100: 2, -50: 3, 10: 4})
    org.advance(60)
    assert org.value(monitor) == 7  # two 120 s buckets: 1+2 and 3+4


def test_rollup_count_counts_points(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):avg:app.latency{*}.rollup(count) > 100")
    org.points("app.latency", {-200: 9, -190: 9, -100: 9})
    org.advance(60)
    assert org.value(monitor) == 3


# -- 2.4 interpolation, fill, default_zero ------------------------------------------------------
def test_gauges_from_several_sources_are_interpolated_linearly(org: OrgUnderTest) -> None:
    monitor = org.monitor("min(last_5m):sum:app.queue{*} > 100")
    org.points("app.queue", minutes(10, 10, 10, 10, 10), tags=["host:a"])
    org.points("app.queue", minutes(1, None, 3, None, None), tags=["host:b"])
    org.advance(60)
    # host:b is interpolated at minute 2 (2) but not after its last point: min of 11, 12, 13, 10, 10
    assert org.value(monitor) == 10


def test_a_single_source_is_not_interpolated(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*} > 100")
    org.points("app.queue", minutes(1, None, 3, None, None))
    org.advance(60)
    assert org.value(monitor) == 2


def test_counts_are_not_interpolated(org: OrgUnderTest) -> None:
    monitor = org.monitor("min(last_5m):sum:app.hits{*} > 100")
    org.points("app.hits", minutes(10, 10, 10, 10, 10), tags=["host:a"], metric_type="count")
    org.points("app.hits", minutes(1, None, 3), tags=["host:b"], metric_type="count")
    org.advance(60)
    assert org.value(monitor) == 10  # minute 2 is host:a alone


def test_fill_zero_fills_missing_buckets_within_its_limit(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*}.fill(zero, 60) > 100")
    org.points("app.queue", minutes(6, None, None, 6))
    org.advance(60)
    assert org.value(monitor) == 3  # 6, 0 (within 60 s), missing, 6, 0


def test_fill_last_repeats_the_previous_value(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):avg:app.queue{*}.fill(last) > 100")
    org.points("app.queue", minutes(5, None, None, None, None))
    org.advance(60)
    assert org.value(monitor) == 25


def test_default_zero_fills_an_empty_window_with_zero(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):default_zero(avg:app.queue{*}) < 1")
    org.advance(60)
    assert org.value(monitor) == 0 and org.status(monitor) == "Alert"


def test_default_zero_reports_groups_without_points_in_the_window_as_zero(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):default_zero(avg:app.queue{*} by {service}) < 1", **NO_DELAY)
    org.points("app.queue", {-900: 5}, tags=["service:quiet"])
    org.points("app.queue", minutes(5, 5, 5, 5, 5), tags=["service:busy"])
    org.advance(60)
    assert org.statuses(monitor) == {"service:quiet": "Alert", "service:busy": "OK"}


def test_as_count_buckets_without_points_count_as_zero(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):sum:app.hits{*}.as_count() > 100")
    org.points("app.hits", minutes(10, None, None, None, 10), metric_type="count")
    org.advance(60)
    assert org.value(monitor) == 4  # (10 + 0 + 0 + 0 + 10) / 5


# -- 2.5 functions ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("clamp_min(avg:app.queue{*}, 4)", 4.5),  # 4, 5 -> avg 4.5 (3 clamped to 4)
        ("clamp_max(avg:app.queue{*}, 4)", 3.5),  # 3, 4
        ("cutoff_min(avg:app.queue{*}, 4)", 5),  # 3 removed
        ("cutoff_max(avg:app.queue{*}, 4)", 3),  # 5 removed
        ("abs(avg:app.queue{*} - 10)", 6),  # 7, 5
    ],
)
def test_functions_apply_to_each_bucket_after_time_and_space_aggregation(
    org: OrgUnderTest, expression: str, expected: float
) -> None:
    monitor = org.monitor(f"avg(last_5m):{expression} > 100")
    org.points("app.queue", minutes(3, 5))
    org.advance(60)
    assert org.value(monitor) == expected


# -- 2.6 order of operations and arithmetic ------------------------------------------------------
def test_space_aggregation_follows_time_aggregation_per_source(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):sum:app.queue{*} > 100")
    org.points("app.queue", {-200: 1, -190: 3}, tags=["host:a"])  # bucket max per source: 3
    org.points("app.queue", {-195: 5}, tags=["host:b"])  # same bucket: 5
    org.advance(60)
    assert org.value(monitor) == 8


def test_classic_path_applies_arithmetic_per_bucket_then_time_aggregation(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):sum:app.errors{*} / sum:app.hits{*} > 100")
    org.points("app.errors", minutes(1, 2, 3, 4, 5))
    org.points("app.hits", minutes(5, 5, 5, 5, 5))
    org.advance(60)
    assert org.value(monitor) == pytest.approx(3.0)
    assert org.last(monitor).path == "classic"


def test_as_count_path_aggregates_each_operand_before_division(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):sum:app.errors{*}.as_count() / sum:app.hits{*}.as_count() > 100")
    org.points("app.errors", minutes(1, 2, 3, 4, 5), metric_type="count")
    org.points("app.hits", minutes(5, 5, 5, 5, 5), metric_type="count")
    org.advance(60)
    assert org.value(monitor) == pytest.approx(0.6)
    assert org.last(monitor).path == "as_count"


def test_classic_path_rejects_buckets_that_divide_by_zero_or_miss_an_operand(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_3m):sum:app.a{*} / sum:app.b{*} > 100")
    org.points("app.a", minutes(10, 10, 10, first=-90))
    org.points("app.b", minutes(0, 1, first=-90))
    org.advance(60)
    assert org.value(monitor) == 10  # 10/0 and 10/(nothing) are rejected


def test_as_count_path_divides_the_window_totals(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_3m):sum:app.a{*}.as_count() / sum:app.b{*}.as_count() > 100")
    org.points("app.a", minutes(10, 10, 10, first=-90), metric_type="count")
    org.points("app.b", minutes(0, 1, first=-90), metric_type="count")
    org.advance(60)
    assert org.value(monitor) == 30


def test_as_count_path_covers_addition_too(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):sum:app.a{*}.as_count() + sum:app.b{*} > 100")
    org.points("app.a", minutes(1, 1), metric_type="count")
    org.points("app.b", minutes(2, 2))
    org.advance(60)
    assert org.value(monitor) == 6 and org.last(monitor).path == "as_count"


def test_operands_grouped_alike_pair_on_the_same_group(org: OrgUnderTest) -> None:
    query = "sum(last_5m):sum:app.errors{*} by {service}.as_count() / sum:app.hits{*} by {service}.as_count() > 0.5"
    monitor = org.monitor(query, **NO_DELAY)
    for service, errors in (("a", 1), ("b", 9)):
        org.points("app.errors", minutes(errors), tags=[f"service:{service}"], metric_type="count")
        org.points("app.hits", minutes(10), tags=[f"service:{service}"], metric_type="count")
    org.advance(60)
    assert org.statuses(monitor) == {"service:a": "OK", "service:b": "Alert"}
    assert org.value(monitor, "service:a") == pytest.approx(0.1)


def test_a_group_missing_from_an_as_count_operand_counts_as_zero(org: OrgUnderTest) -> None:
    query = "sum(last_5m):sum:app.errors{*} by {service}.as_count() / sum:app.hits{*} by {service}.as_count() > 0.5"
    monitor = org.monitor(query, **NO_DELAY)
    org.points("app.hits", minutes(10), tags=["service:clean"], metric_type="count")
    org.points("app.errors", minutes(3), tags=["service:nohits"], metric_type="count")
    org.advance(60)
    assert org.value(monitor, "service:clean") == 0  # 0 / 10
    assert org.status(monitor, "service:clean") == "OK"
    assert org.last(monitor, "service:nohits").outcome == "skipped"  # 3 / 0 is rejected


def test_a_group_missing_from_a_gauge_operand_has_no_value(org: OrgUnderTest) -> None:
    monitor = org.monitor(
        "avg(last_5m):avg:app.a{*} by {service} - avg:app.b{*} by {service} > 0", **NO_DELAY
    )
    org.points("app.a", minutes(1), tags=["service:x"])
    org.points("app.a", minutes(1), tags=["service:y"])
    org.points("app.b", minutes(1), tags=["service:y"])
    org.advance(60)
    assert org.statuses(monitor) == {"service:y": "OK"}


def test_an_ungrouped_operand_applies_to_every_group(org: OrgUnderTest) -> None:
    monitor = org.monitor(
        "avg(last_5m):avg:app.used{*} by {host} / avg:app.capacity{*} > 0.5", **NO_DELAY, new_host_delay=0
    )
    org.points("app.used", minutes(2), tags=["host:a"])
    org.points("app.used", minutes(8), tags=["host:b"])
    org.points("app.capacity", minutes(10))
    org.advance(60)
    assert org.statuses(monitor) == {"host:a": "OK", "host:b": "Alert"}


def test_a_coarser_grouping_matches_the_finer_groups_on_its_keys(org: OrgUnderTest) -> None:
    monitor = org.monitor(
        "avg(last_5m):avg:app.used{*} by {env,service} / avg:app.capacity{*} by {env} > 0.5", **NO_DELAY
    )
    org.points("app.used", minutes(8), tags=["env:prod", "service:a"])
    org.points("app.capacity", minutes(10), tags=["env:prod"])
    org.advance(60)
    assert org.statuses(monitor) == {"env:prod,service:a": "Alert"}


def test_operands_grouped_by_unrelated_tags_are_not_evaluated(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.a{*} by {env} / avg:app.b{*} by {service} > 1")
    listed = {item["id"]: item["reason"] for item in org.evaluator.unevaluated()}
    assert "grouped by different tags" in listed[monitor]


def test_functions_on_the_as_count_path_apply_per_bucket_before_the_window_sum(org: OrgUnderTest) -> None:
    query = "sum(last_5m):sum:app.errors{*}.as_count() / clamp_min(sum:app.hits{*}.as_count(), 100) > 0.05"
    monitor = org.monitor(query)
    org.points("app.errors", minutes(1, 1, 1, 1, 1), metric_type="count")
    org.points("app.hits", minutes(2, None, 2, 2, 2), metric_type="count")
    org.advance(60)
    # 5 / (max(2, 100) + max(0, 100) + ...): every bucket, the empty one too, is clamped, then summed
    assert org.value(monitor) == pytest.approx(5 / 500)
    assert org.last(monitor).path == "as_count"


def test_clamp_min_as_a_minimum_traffic_guard_damps_the_error_ratio(org: OrgUnderTest) -> None:
    """Why the mesh kinds no longer guard the error rate with ``clamp_min``: above the minimum traffic
    in the window (250 > 100 requests) the ratio should be the true one, 25/250 = 0.1."""
    query = "sum(last_5m):sum:app.errors{*}.as_count() / clamp_min(sum:app.hits{*}.as_count(), 100) > 0.05"
    monitor = org.monitor(query)
    org.points("app.errors", minutes(5, 5, 5, 5, 5), metric_type="count")
    org.points("app.hits", minutes(50, 50, 50, 50, 50), metric_type="count")
    org.advance(60)
    assert org.value(monitor) == pytest.approx(25 / 500)  # damped to half the true ratio
    assert org.status(monitor) == "OK"  # and a 10 % error rate does not alert


def test_default_zero_on_the_as_count_path_gives_zero_for_an_empty_operand(org: OrgUnderTest) -> None:
    monitor = org.monitor(
        "sum(last_5m):default_zero(sum:app.errors{*}.as_count()) + sum:app.hits{*}.as_count() > 100"
    )
    org.points("app.hits", minutes(3), metric_type="count")
    org.advance(60)
    assert org.value(monitor) == 3


# -- 3.1 aggregators, comparators, scopes ------------------------------------------------------
@pytest.mark.parametrize(
    ("aggregator", "expected"), [("avg", 3.0), ("max", 6.0), ("min", 1.0), ("sum", 12.0), ("last", 2.0)]
)
def test_time_aggregator_over_the_window(org: OrgUnderTest, aggregator: str, expected: float) -> None:
    monitor = org.monitor(f"{aggregator}(last_5m):avg:app.queue{{*}} > 100")
    org.points("app.queue", minutes(1, 6, 3, 2))
    org.advance(60)
    assert org.value(monitor) == expected


def test_max_aggregator_alerts_when_any_value_crosses(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} > 5")
    org.points("app.queue", {-200: 0, -199: 9, -198: 0})
    org.advance(60)
    assert org.status(monitor) == "Alert"


def test_min_aggregator_alerts_only_when_every_value_crosses(org: OrgUnderTest) -> None:
    monitor = org.monitor("min(last_5m):avg:app.queue{*} > 5")
    org.points("app.queue", {-200: 9, -199: 4, -100: 9})
    org.advance(60)
    assert org.status(monitor) == "OK"


def test_sum_aggregator_sums_values_not_points(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):avg:app.queue{*} > 5")
    org.points("app.queue", {-200: 2, -100: 2, -50: 2})
    org.advance(60)
    assert org.value(monitor) == 6 and org.status(monitor) == "Alert"


@pytest.mark.parametrize(
    ("comparator", "value", "status"),
    [
        (">", 5, "OK"),
        (">=", 5, "Alert"),
        ("<", 5, "OK"),
        ("<=", 5, "Alert"),
        ("==", 5, "Alert"),
        ("!=", 5, "OK"),
    ],
)
def test_each_comparator(org: OrgUnderTest, comparator: str, value: float, status: str) -> None:
    monitor = org.monitor(f"avg(last_5m):avg:app.queue{{*}} {comparator} 5")
    org.points("app.queue", minutes(value))
    org.advance(60)
    assert org.status(monitor) == status


def test_scope_filters_select_the_sources(org: OrgUnderTest) -> None:
    query = "sum(last_5m):sum:req{env:prod,!code:2*,(flag:UO OR flag:UH),region IN (eu, us)} > 100"
    monitor = org.monitor(query)
    for tags, value in [
        (["env:prod", "code:503", "flag:UH", "region:eu"], 1),
        (["env:prod", "code:503", "flag:UO", "region:us"], 10),
        (["env:prod", "code:200", "flag:UO", "region:eu"], 100),  # 2*
        (["env:dev", "code:503", "flag:UO", "region:eu"], 1000),  # env
        (["env:prod", "code:503", "flag:DC", "region:eu"], 10000),  # flag
        (["env:prod", "code:503", "flag:UO", "region:ap"], 100000),  # region
    ]:
        org.points("req", minutes(value), tags=tags)
    org.advance(60)
    assert org.value(monitor) == 11


def test_a_source_missing_a_group_by_tag_is_not_seen(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):sum:req{*} by {service} > 100", **NO_DELAY)
    org.points("req", minutes(1), tags=["service:a"])
    org.points("req", minutes(5), tags=["env:prod"])
    org.advance(60)
    assert org.statuses(monitor) == {"service:a": "OK"}


def test_a_source_with_two_values_of_a_group_key_forms_its_own_group(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:my_metric{*} by {host} > 800", **NO_DELAY, new_host_delay=0)
    org.points("my_metric", minutes(600), tags=["host:jaime", "host:precise64"])
    org.advance(60)
    assert org.statuses(monitor) == {"host:jaime,host:precise64": "OK"}


# -- 3.2 when evaluations run --------------------------------------------------------------------
def test_evaluation_runs_at_each_minute_boundary_the_clock_passes(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*} > 5")
    org.points("app.queue", minutes(1))
    org.advance(59)
    assert org.org.evaluations.get(monitor) is None  # no boundary passed yet
    org.advance(181)
    history = org.org.evaluations.get(monitor).history
    assert [record.time for record in history] == [T0 + 60, T0 + 120, T0 + 180, T0 + 240]


def test_a_window_of_a_day_is_evaluated_every_ten_minutes(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_1d):avg:app.queue{*} > 5")
    org.points("app.queue", minutes(1))
    org.advance(1200)
    times = [record.time for record in org.org.evaluations.get(monitor).history]
    assert times and all(time % 600 == 0 for time in times) and len(times) == 2


def test_evaluation_delay_shifts_the_window(org: OrgUnderTest) -> None:
    delayed = org.monitor("max(last_5m):avg:app.queue{*} > 5", evaluation_delay=300)
    prompt = org.monitor("max(last_5m):avg:app.queue{*} > 5")
    org.points("app.queue", {-400: 9, 0: 1})
    org.advance(60)
    assert org.status(delayed) == "Alert" and org.status(prompt) == "OK"
    assert org.last(delayed).window_end == T0 + 60 - 300


def test_new_group_delay_skips_a_new_group_until_it_has_passed(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} by {service} > 5", new_group_delay=120)
    org.points("app.queue", {0: 9, 60: 9, 120: 9}, tags=["service:a"])
    org.advance(60)
    assert org.status(monitor, "service:a") is None and org.last(monitor, "service:a").outcome == "skipped"
    org.advance(60)
    assert org.status(monitor, "service:a") is None
    org.advance(60)
    assert org.status(monitor, "service:a") == "Alert"


def test_new_group_delay_defaults_to_a_minute(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} by {service} > 5")
    org.points("app.queue", {0: 9, 60: 9}, tags=["service:a"])
    org.advance(60)
    assert org.status(monitor, "service:a") is None
    org.advance(60)
    assert org.status(monitor, "service:a") == "Alert"


def test_new_host_delay_applies_to_groups_by_host(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_10m):avg:app.up{*} by {host} <= 0")  # new_host_delay: 300 inserted
    org.points("app.up", {offset: 0 for offset in range(0, 400, 30)}, tags=["host:a"])
    org.advance(300)
    assert org.status(monitor, "host:a") is None
    org.advance(60)
    assert org.status(monitor, "host:a") == "Alert"


def test_require_full_window_skips_when_first_bucket_empty(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*} > 5", require_full_window=True)
    org.points("app.queue", minutes(None, 9, 9, 9, 9))
    org.advance(60)
    assert org.status(monitor) is None and "require_full_window" in org.last(monitor).explanation


def test_require_full_window_skips_with_more_than_three_empty_buckets(org: OrgUnderTest) -> None:
    four_empty = org.monitor("avg(last_10m):avg:app.a{*} > 5", require_full_window=True)
    three_empty = org.monitor("avg(last_10m):avg:app.b{*} > 5", require_full_window=True)
    org.points("app.a", minutes(9, 9, 9, 9, 9, 9, first=-510))  # 6 of the 10 buckets
    org.points("app.b", minutes(9, 9, 9, 9, 9, 9, 9, first=-510))  # 7 of the 10 buckets
    org.advance(60)
    assert org.status(four_empty) is None and org.status(three_empty) == "Alert"


def test_a_skipped_evaluation_leaves_the_state_unchanged(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*} > 5", require_full_window=True)
    org.points("app.queue", minutes(9, 9, 9, 9, 9))
    org.advance(60)
    assert org.status(monitor) == "Alert"
    org.advance(240)  # four of the five buckets are now empty
    assert org.status(monitor) == "Alert" and org.last(monitor).outcome == "skipped"


# -- 3.3 thresholds and states -----------------------------------------------------------------
@pytest.mark.parametrize(("value", "status"), [(4, "OK"), (7, "Warn"), (12, "Alert")])
def test_warning_and_critical_thresholds(org: OrgUnderTest, value: float, status: str) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*} > 10", thresholds={"critical": 10, "warning": 5})
    org.points("app.queue", minutes(value))
    org.advance(60)
    assert org.status(monitor) == status


def test_alert_takes_precedence_over_warn(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*} < 5", thresholds={"critical": 5, "warning": 10})
    org.points("app.queue", minutes(1))
    org.advance(60)
    assert org.status(monitor) == "Alert"


@pytest.mark.parametrize(
    ("comparator", "critical", "recovery", "held", "recovered"),
    [(">", 10, 5, 5.5, 5), (">=", 10, 5, 5, 4.9), ("<", 1, 5, 4.9, 5), ("<=", 1, 5, 5, 5.1)],
)
def test_critical_recovery_holds_alert_until_the_recovery_condition(
    org: OrgUnderTest, comparator: str, critical: float, recovery: float, held: float, recovered: float
) -> None:
    thresholds = {"critical": critical, "critical_recovery": recovery}
    monitor = org.monitor(f"last(last_1m):avg:app.queue{{*}} {comparator} {critical}", thresholds=thresholds)
    for value, expected in [
        (critical + (1 if ">" in comparator else -1), "Alert"),
        (held, "Alert"),
        (recovered, "OK"),
    ]:
        org.points("app.queue", {30: value})
        org.advance(60)
        assert org.status(monitor) == expected, (value, org.last(monitor).explanation)


def test_warning_recovery_holds_warn_until_recovered(org: OrgUnderTest) -> None:
    thresholds = {"critical": 10, "warning": 5, "warning_recovery": 3}
    monitor = org.monitor("last(last_1m):avg:app.queue{*} > 10", thresholds=thresholds)
    for value, expected in [(6, "Warn"), (4, "Warn"), (3, "OK")]:
        org.points("app.queue", {30: value})
        org.advance(60)
        assert org.status(monitor) == expected


def test_without_a_recovery_threshold_alert_ends_when_the_condition_is_not_met(org: OrgUnderTest) -> None:
    monitor = org.monitor("last(last_1m):avg:app.queue{*} > 10", thresholds={"critical": 10, "warning": 5})
    for value, expected in [(11, "Alert"), (6, "Warn"), (1, "OK")]:
        org.points("app.queue", {30: value})
        org.advance(60)
        assert org.status(monitor) == expected


def test_timeout_h_auto_resolves_once_data_stops(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} > 5", timeout_h=1)
    org.points("app.queue", {0: 9})
    org.advance(60)
    assert org.status(monitor) == "Alert"
    org.advance(3600)
    resolved = [record for record in org.org.evaluations.get(monitor).history if record.status == "OK"]
    assert org.status(monitor) == "OK" and resolved[0].time == T0 + 3600
    assert "auto-resolved after timeout_h" in resolved[0].explanation


def test_a_new_monitor_is_no_data_until_its_first_evaluation(org: OrgUnderTest) -> None:
    monitor = org.monitor("avg(last_5m):avg:app.queue{*} > 5")
    record = org.org.monitors.get(monitor)
    assert record["overall_state"] == "No Data" and record["overall_state_modified"] is None
    org.advance(60)
    record = org.org.monitors.get(monitor)
    assert (
        record["overall_state"] == "No Data"
        and record["overall_state_modified"] == "2023-11-14T22:15:00+00:00"
    )


# -- 3.4 missing data ----------------------------------------------------------------------------
def test_notify_no_data_gives_no_data_after_the_no_data_timeframe(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} > 5", notify_no_data=True, no_data_timeframe=10)
    org.points("app.queue", {0: 1})
    org.advance(60)
    org.advance(300)  # the window is empty, but the last point is only 6 minutes old
    assert org.status(monitor) == "OK"
    org.advance(300)
    assert org.status(monitor) == "No Data" and org.group(monitor).last_nodata_ts == T0 + 600


def test_no_data_timeframe_defaults_to_twice_the_window(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} > 5", notify_no_data=True)
    org.points("app.queue", {0: 1})
    org.advance(540)
    assert org.status(monitor) == "OK"
    org.advance(60)
    assert org.status(monitor) == "No Data"  # 600 s after the last point


def test_without_no_data_settings_a_silent_group_keeps_its_status(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} > 5")
    org.points("app.queue", {0: 9})
    org.advance(3600)
    assert org.status(monitor) == "Alert" and org.last(monitor).outcome == "no data"


@pytest.mark.parametrize(
    ("mode", "status"),
    [("show_no_data", "No Data"), ("show_and_notify_no_data", "No Data"), ("resolve", "OK")],
)
def test_on_missing_data_uses_the_window_itself(org: OrgUnderTest, mode: str, status: str) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} > 5", on_missing_data=mode)
    org.points("app.queue", {0: 9})
    org.advance(60)
    assert org.status(monitor) == "Alert"
    org.advance(300)
    assert org.status(monitor) == status


def test_show_and_notify_no_data_notifies_and_show_no_data_does_not(org: OrgUnderTest) -> None:
    notify = org.monitor("max(last_5m):avg:app.queue{*} > 5", on_missing_data="show_and_notify_no_data")
    quiet = org.monitor("max(last_5m):avg:app.queue{*} > 5", on_missing_data="show_no_data")
    org.points("app.queue", {0: 1})
    org.advance(360)
    assert org.group(notify).last_notified_ts == org.group(notify).last_nodata_ts == T0 + 360
    assert org.group(quiet).last_notified_ts is None


def test_on_missing_data_default_evaluates_count_queries_as_zero(org: OrgUnderTest) -> None:
    monitor = org.monitor("sum(last_5m):sum:app.errors{*}.as_count() > 0", on_missing_data="default")
    org.points("app.errors", {0: 3}, metric_type="count")
    org.advance(60)
    assert org.status(monitor) == "Alert"
    org.advance(300)
    assert org.status(monitor) == "OK" and org.value(monitor) == 0


def test_on_missing_data_default_evaluates_a_simple_count_monitor_without_any_data_as_zero(
    org: OrgUnderTest,
) -> None:
    """V1 OnMissingDataOption: "an empty monitor evaluation is treated as 0", from the first evaluation."""
    monitor = org.monitor("sum(last_5m):sum:app.failures{*}.as_count() > 0", on_missing_data="default")
    grouped = org.monitor(
        "sum(last_5m):sum:app.failures{*} by {host}.as_count() > 0", on_missing_data="default"
    )
    org.advance(60)
    assert org.status(monitor) == "OK" and org.value(monitor) == 0
    assert org.statuses(grouped) == {}  # a multi alert has no group until one reports


def test_on_missing_data_default_keeps_the_status_of_gauge_queries(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} > 5", on_missing_data="default")
    org.points("app.queue", {0: 9})
    org.advance(360)
    assert org.status(monitor) == "Alert"


def test_a_group_without_data_for_a_day_leaves_the_monitor(org: OrgUnderTest) -> None:
    monitor = org.monitor("max(last_5m):avg:app.queue{*} by {service} > 5", **NO_DELAY)
    org.points("app.queue", {0: 1}, tags=["service:gone"])
    org.advance(60)
    assert "service:gone" in org.statuses(monitor)
    org.advance(86_400)
    assert org.statuses(monitor) == {}


# -- 3.5 groups and the overall state ------------------------------------------------------------
def test_the_overall_state_is_the_most_severe_group(org: OrgUnderTest) -> None:
    monitor = org.monitor(
        "max(last_5m):avg:app.queue{*} by {service} > 10",
        thresholds={"critical": 10, "warning": 5},
        **NO_DELAY,
    )
    for service, value in (("a", 1), ("b", 7), ("c", 2)):
        org.points("app.queue", minutes(value), tags=[f"service:{service}"])
    org.advance(60)
    assert org.overall(monitor) == "Warn"


def test_group_timestamps_record_each_transition(org: OrgUnderTest) -> None:
    monitor = org.monitor("last(last_1m):avg:app.queue{*} > 5", notify_no_data=True, no_data_timeframe=2)
    for value in (9, 1):
        org.points("app.queue", {30: value})
        org.advance(60)
    org.advance(120)
    state = org.group(monitor)
    assert (state.last_triggered_ts, state.last_resolved_ts, state.last_nodata_ts) == (
        T0 + 60,
        T0 + 120,
        T0 + 240,
    )
    assert state.last_notified_ts == T0 + 240


# -- 4 composites ---------------------------------------------------------------------------------
def _sub_monitor(org: OrgUnderTest, metric: str, **options: object) -> int:
    return org.monitor(
        f"last(last_1m):avg:{metric}{{*}} > 10", thresholds={"critical": 10, "warning": 5}, **options
    )


STATUS_VALUE = {"Alert": 20.0, "Warn": 7.0, "OK": 1.0, "No Data": None}


@pytest.mark.parametrize(
    ("a", "b", "operator", "notify_no_data", "expected"),
    [
        ("Alert", "Warn", "&&", False, "Warn"),
        ("Alert", "Warn", "||", False, "Alert"),
        ("Alert", "OK", "&&", False, "OK"),
        ("Warn", "OK", "||", False, "Warn"),
        ("No Data", "Warn", "&&", True, "No Data"),
        ("No Data", "Warn", "||", True, "Warn"),
        ("No Data", "Warn", "&&", False, "last known"),
        ("No Data", "Warn", "||", False, "Warn"),
        ("No Data", "OK", "&&", False, "OK"),
        ("No Data", "OK", "||", False, "last known"),
        ("No Data", "OK", "&&", True, "OK"),
        ("No Data", "OK", "||", True, "No Data"),
        ("No Data", "No Data", "&&", True, "No Data"),
    ],
)
def test_composite_truth_table(
    org: OrgUnderTest, a: str, b: str, operator: str, notify_no_data: bool, expected: str
) -> None:
    first = _sub_monitor(org, "app.a", on_missing_data="show_no_data")
    second = _sub_monitor(org, "app.b", on_missing_data="show_no_data")
    composite = org.monitor(f"{first} {operator} {second}", "composite", notify_no_data=notify_no_data)
    org.points("app.a", {30: 20.0})  # both start in Alert: the composite's last known state is Alert
    org.points("app.b", {30: 20.0})
    org.advance(60)
    assert org.status(composite) == "Alert"
    for metric, status in (("app.a", a), ("app.b", b)):
        if STATUS_VALUE[status] is not None:
            org.points(metric, {30: STATUS_VALUE[status]})
    org.advance(60)
    assert (org.status(first), org.status(second)) == (a, b)
    assert org.status(composite) == ("Alert" if expected == "last known" else expected)


@pytest.mark.parametrize(
    ("status", "expected"), [("Alert", "OK"), ("Warn", "OK"), ("OK", "Alert"), ("No Data", "No Data")]
)
def test_composite_not(org: OrgUnderTest, status: str, expected: str) -> None:
    first = _sub_monitor(org, "app.a", on_missing_data="show_no_data")
    composite = org.monitor(f"!{first}", "composite", notify_no_data=True)
    org.points("app.a", {30: 1.0})
    org.advance(60)
    if STATUS_VALUE[status] is not None:
        org.points("app.a", {30: STATUS_VALUE[status]})
    org.advance(60)
    assert org.status(composite) == expected


def test_composite_evaluates_only_groups_reporting_in_every_monitor_matched_on_values(
    org: OrgUnderTest,
) -> None:
    first = org.monitor("last(last_1m):avg:app.a{*} by {host} > 10", **NO_DELAY, new_host_delay=0)
    second = org.monitor("last(last_1m):avg:app.b{*} by {service} > 10", **NO_DELAY)
    composite = org.monitor(f"{first} && {second}", "composite")
    for index in range(1, 6):
        org.points("app.a", {30: 20}, tags=[f"host:web0{index}"])
    for index in range(4, 10):
        org.points("app.b", {30: 20}, tags=[f"service:web0{index}"])
    org.advance(60)
    assert org.statuses(composite) == {"host:web04": "Alert", "host:web05": "Alert"}


def test_composite_of_a_coarser_monitor_uses_the_finer_groups(org: OrgUnderTest) -> None:
    fine = org.monitor("last(last_1m):avg:app.a{*} by {device,host} > 10", **NO_DELAY, new_host_delay=0)
    coarse = org.monitor("last(last_1m):avg:app.b{*} by {host} > 10", **NO_DELAY, new_host_delay=0)
    composite = org.monitor(f"{coarse} || {fine}", "composite")
    org.points("app.a", {30: 20}, tags=["host:h1", "device:sda"])
    org.points("app.a", {30: 1}, tags=["host:h1", "device:sdb"])
    org.points("app.b", {30: 1}, tags=["host:h1"])
    org.advance(60)
    assert org.statuses(composite) == {"device:sda,host:h1": "Alert", "device:sdb,host:h1": "OK"}


def test_a_simple_monitor_in_a_composite_applies_to_every_group(org: OrgUnderTest) -> None:
    grouped = org.monitor("last(last_1m):avg:app.a{*} by {service} > 10", **NO_DELAY)
    simple = _sub_monitor(org, "app.b")
    composite = org.monitor(f"{grouped} && {simple}", "composite")
    org.points("app.a", {30: 20}, tags=["service:x"])
    org.points("app.a", {30: 20}, tags=["service:y"])
    org.points("app.b", {30: 20})
    org.advance(60)
    assert org.statuses(composite) == {"service:x": "Alert", "service:y": "Alert"}


def test_a_composite_of_an_unevaluated_monitor_is_listed(org: OrgUnderTest) -> None:
    logs = org.monitor('logs("status:error").index("*").rollup("count").last("5m") > 10', "log alert")
    metric = _sub_monitor(org, "app.a")
    composite = org.monitor(f"{logs} || {metric}", "composite")
    org.advance(60)
    listed = {item["id"]: item["reason"] for item in org.evaluator.unevaluated()}
    assert listed[logs] == "log alert monitors are not evaluated"
    assert listed[composite] == f"monitor {logs}, which it combines, is not evaluated"
    assert org.overall(composite) == "No Data" and org.org.evaluations.get(composite) is None


# -- what is not evaluated ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("change(avg(last_5m),last_5m):avg:app.queue{*} > 5", "change() queries are not evaluated"),
        ("avg(current_1mo):avg:app.queue{*} > 5", "the window current_1mo is not evaluated"),
        ("avg(last_5m):anomalies(avg:app.queue{*}, 'basic', 2) >= 1", "anomalies() is not evaluated"),
        ("avg(last_5m):avg:app.queue{$cluster} > 5", "template variable $cluster"),
        ("avg(last_5m):avg:app.queue{*}.weighted() > 5", ".weighted() is not evaluated"),
        ("avg(last_5m):1 > 0", "the query has no metric"),
    ],
)
def test_unevaluable_queries_keep_no_data_and_are_listed_with_the_reason(
    org: OrgUnderTest, query: str, reason: str
) -> None:
    monitor = org.monitor(query)
    org.points("app.queue", minutes(9))
    org.advance(120)
    listed = {item["id"]: item for item in org.evaluator.unevaluated()}
    assert reason in listed[monitor]["reason"] and listed[monitor]["query"] == query
    assert org.overall(monitor) == "No Data"


# -- buckets inside the window (unverified: the require_full_window sizes, from the window's start) --------
@pytest.mark.parametrize(
    ("window", "buckets"), [("last_5m", 5), ("last_90m", 90), ("last_1h", 6), ("last_1d", 24)]
)
def test_the_window_is_split_into_buckets_of_its_unit(org: OrgUnderTest, window: str, buckets: int) -> None:
    monitor = org.monitor(f"avg({window}):sum:app.hits{{*}}.as_count() > 1e9")
    org.points("app.hits", {-1: 1}, metric_type="count")
    org.advance(360)  # a day window is evaluated every 10 minutes: at T0 + 360 here
    first = org.org.evaluations.get(monitor).history[0]
    # one bucket holds the point, the others count as 0 (as_count): the average is 1 / buckets
    assert first.value == pytest.approx(1 / buckets)
