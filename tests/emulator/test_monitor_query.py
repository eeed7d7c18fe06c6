"""The monitor query grammar our tool generates is accepted; ``multi`` follows the group-by."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.emulator.monitor_query import InvalidQueryError, analyse_query

SCOPES = [
    "*", "env:prod,kube_cluster_name:mesh-1", "type:*senderr", "(response_code:4* OR response_code:5*)",
    "response_flags:UO", "$cluster", "!key:value", "env:prod,!destination_service:foo.svc.cluster.local",
]  # fmt: skip
SUFFIXES = [".as_count()", ".as_rate()", ".rollup(sum, 60)", ".fill(zero)", ".rollup(avg)", ".fill(null, 10)"]
metric_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z0-9_]{1,8}){0,3}", fullmatch=True)
group_bys = st.lists(st.sampled_from(["destination_service", "source_workload", "host", "response_code"]),
                     min_size=1, max_size=3, unique=True)  # fmt: skip
numbers = st.one_of(
    st.integers(0, 10_000).map(str), st.floats(0, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}")
)


@st.composite
def metric_queries(draw: st.DrawFn) -> tuple[str, bool]:
    aggregator = draw(st.sampled_from(["avg", "sum", "min", "max", "p95", "p99.9"]))  # pXX: distributions
    text = f"{aggregator}:{draw(metric_names)}{{{draw(st.sampled_from(SCOPES))}}}"
    grouped = draw(st.booleans())
    if grouped:
        text += f" by {{{','.join(draw(group_bys))}}}"
    text += "".join(draw(st.lists(st.sampled_from(SUFFIXES), max_size=2)))
    return text, grouped


def combine(children: st.SearchStrategy[tuple[str, bool]]) -> st.SearchStrategy[tuple[str, bool]]:
    pair = st.tuples(children, children)
    return st.one_of(
        st.builds(
            lambda p, op: (f"{p[0][0]} {op} {p[1][0]}", p[0][1] or p[1][1]), pair, st.sampled_from("+-*/")
        ),
        children.map(lambda c: (f"({c[0]})", c[1])),
        st.builds(lambda c, n: (f"clamp_min({c[0]}, {n})", c[1]), children, numbers),
        st.builds(lambda c, n: (f"clamp_max({c[0]}, {n})", c[1]), children, numbers),
        children.map(lambda c: (f"abs({c[0]})", c[1])),
        children.map(lambda c: (f"default_zero({c[0]})", c[1])),
        children.map(lambda c: (f"top({c[0]}, 10, 'mean', 'desc')", c[1])),
    )


expressions = st.recursive(
    st.one_of(metric_queries(), numbers.map(lambda n: (n, False))), combine, max_leaves=6
)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["sum(last_5m)", "avg(last_15m)", "max(last_10m)", "avg(current_1mo)"]),
    expression=expressions,
    comparator=st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
    threshold=numbers,
    trailing=st.sampled_from(["", "\n", "  "]),
)
def test_generated_metric_queries_are_accepted(
    prefix: str, expression: tuple[str, bool], comparator: str, threshold: str, trailing: str
) -> None:
    text, grouped = expression
    facts = analyse_query("query alert", f"{prefix}:{text} {comparator} {threshold}{trailing}")
    assert facts.multi is grouped
    assert facts.comparator == comparator and facts.threshold == float(threshold)


@pytest.mark.parametrize(
    "query",
    [
        'logs("service:foo").index("*").rollup("count").last("5m") > 10',
        'logs("status:error").index("main").rollup("cardinality", "@usr.id").by("service").last("15m") >= 3',
    ],
)
def test_log_alert_queries_are_accepted(query: str) -> None:
    assert analyse_query("log alert", query).threshold is not None


def test_service_check_query_is_accepted_and_multi_with_by() -> None:
    assert (
        analyse_query("service check", '"check".over("*").by("host").last(3).count_by_status()').multi is True
    )
    assert analyse_query("service check", '"check".over("*").last(3).count_by_status()').multi is False


def test_composite_query_lists_its_monitor_ids() -> None:
    assert analyse_query("composite", "123 && (456 || !789)").monitor_ids == (123, 456, 789)


@pytest.mark.parametrize(
    ("monitor_type", "query"),
    [
        ("metric alert", "THIS IS A BAD QUERY"),
        ("metric alert", "query"),
        ("query alert", "avg(last_5m):avg:x{*} by {} > 1"),
        ("query alert", "avg(last_5m):avg:x{*}.as_count( > 1"),
        ("query alert", "avg(last_5m):avg:x{*}.explode() > 1"),
        ("query alert", "avg(last_5m):avg:x{*} > 1 trailing words"),
        ("query alert", "avg(yesterday):avg:x{*} > 1"),
        ("query alert", "median(last_5m):avg:x{*} > 1"),
        ("query alert", "avg(last_5m):avg:x{(a OR b} > 1"),
        ("log alert", "query"),
        ("log alert", 'logs("x".rollup("count") > 1'),
        ("composite", "123 456"),
        ("composite", "(123 && 456"),
    ],
)
def test_nonsense_is_rejected(monitor_type: str, query: str) -> None:
    with pytest.raises(InvalidQueryError):
        analyse_query(monitor_type, query)
