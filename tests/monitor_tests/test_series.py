"""The compact notations of test files: promtool's expanding notation for values, series names, durations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioner.monitor_tests.series import (
    NotationError,
    expand_values,
    format_duration,
    parse_duration,
    parse_series_name,
)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        # promtool's own examples (prometheus docs/configuration/unit_testing_rules.md)
        ("-2+4x3", [-2, 2, 6, 10]),
        (" 1-2x4", [1, -1, -3, -5, -7]),
        (" 1x4", [1, 1, 1, 1, 1]),
        ("1 _x3 5", [1, None, None, None, 5]),
        ("5 5 5 _ _ 0", [5, 5, 5, None, None, 0]),
        ("0+10x3 _ 2.5e1", [0, 10, 20, 30, None, 25]),
        ("_", [None]),
    ],
)
def test_values_expand_as_promtool_does(text: str, values: list[float | None]) -> None:
    assert expand_values(text) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 stale", "Datadog has no stale marker"),
        ("1 two", "cannot read 'two'"),
        ("", "no values"),
        ("1x1000000", "more than 100000 points"),
        ("nan", "cannot read 'nan'"),
    ],
)
def test_values_that_cannot_be_read_say_which_token(text: str, message: str) -> None:
    with pytest.raises(NotationError, match=message):
        expand_values(text)


def test_a_bad_token_is_located_in_the_text() -> None:
    with pytest.raises(NotationError) as raised:
        expand_values("1 2 oops")
    assert raised.value.column == 5


@given(
    start=st.integers(-1000, 1000),
    step=st.integers(-50, 50),
    count=st.integers(0, 60),
)
def test_a_plus_b_x_n_is_n_plus_one_points_in_steps_of_b(start: int, step: int, count: int) -> None:
    sign = "+" if step >= 0 else "-"
    values = expand_values(f"{start}{sign}{abs(step)}x{count}")
    assert values == [start + index * step for index in range(count + 1)]


@given(st.lists(st.one_of(st.none(), st.integers(-99, 99)), min_size=1, max_size=30))
def test_plain_values_read_back_one_point_per_token(values: list[int | None]) -> None:
    text = " ".join("_" if value is None else str(value) for value in values)
    assert expand_values(text) == values


def test_series_names_carry_their_tags() -> None:
    name = parse_series_name("trace.envoy.proxy.hits{service:cart, env:prod}")
    assert (name.metric, name.tags, name.catalogue_key) == (
        "trace.envoy.proxy.hits",
        ("service:cart", "env:prod"),
        None,
    )
    keyed = parse_series_name("mesh:requests{envoy_cluster:outbound|8080||cart.shop.svc.cluster.local}")
    assert keyed.catalogue_key == "requests"
    assert keyed.tags == ("envoy_cluster:outbound|8080||cart.shop.svc.cluster.local",)
    assert parse_series_name("app.queue").tags == ()


@pytest.mark.parametrize("text", ["{service:cart}", "app errors{x:y}", "app.errors{a:b", "app.errors{a b}"])
def test_series_names_that_cannot_be_read(text: str) -> None:
    with pytest.raises(NotationError):
        parse_series_name(text)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("12m", 720), ("1h30m", 5400), ("2d", 172_800)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@given(st.integers(1, 10 * 86_400))
def test_a_formatted_duration_reads_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["12", "m", "1.5m", "1h 30m", "-5m"])
def test_durations_that_cannot_be_read(text: str) -> None:
    with pytest.raises(NotationError, match="is not a duration"):
        parse_duration(text)
