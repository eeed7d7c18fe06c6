"""Each semantic rule on compiled monitor bodies: it fires on the bad case and stays quiet on the good one.
(The rules the schema states are tested in test_schema_rules.py.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.definitions.query import _CONDITION, _METRIC_GROUP, QueryCondition, query_condition
from provisioner.definitions.rules import _HANDLE, check_monitor


def body(query: str = "avg(last_5m):avg:m{*} by {service} > 2", monitor_type: str = "query alert",
         message: str = "{{service.name}} is slow @slack-mesh", **options: Any) -> dict[str, Any]:  # fmt: skip
    return {"name": "n", "type": monitor_type, "query": query, "message": message, "options": options}


def codes(monitor: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.code, f.pointer) for f in check_monitor(monitor)]


def test_a_clean_body_has_no_findings() -> None:
    assert (
        codes(body(thresholds={"critical": 2, "warning": 1, "critical_recovery": 1.5}, notify_by=["service"]))
        == []
    )


@pytest.mark.parametrize(
    ("query", "thresholds", "expected"),
    [
        ("avg(last_5m):avg:m{*} > 2", {"critical": 2, "warning": 3}, "warning-above-critical"),
        ("avg(last_5m):avg:m{*} >= 2", {"critical": 2, "warning": 2}, "warning-above-critical"),
        ("avg(last_5m):avg:m{*} < 2", {"critical": 2, "warning": 1}, "warning-below-critical"),
        ("avg(last_5m):avg:m{*} > 2", {"critical": 2, "critical_recovery": 2}, "recovery-threshold-order"),
        ("avg(last_5m):avg:m{*} < 2", {"critical": 2, "critical_recovery": 1}, "recovery-threshold-order"),
        ("avg(last_5m):avg:m{*} > 2", {"critical": 3}, "threshold-mismatch"),
    ],
)
def test_threshold_rules(query: str, thresholds: dict[str, float], expected: str) -> None:
    found = codes(body(query=query, message="@slack-mesh", thresholds=thresholds))
    assert [code for code, _ in found] == [expected]


def test_thresholds_compare_numerically() -> None:
    assert codes(body(query="avg(last_5m):avg:m{*} > 2", message="@x", thresholds={"critical": 2.0})) == []


def test_notify_by() -> None:
    ungrouped = "avg(last_5m):avg:m{*} > 2"
    assert codes(body(query=ungrouped, message="@x", notify_by=["*"])) == [
        ("notify-by-ungrouped", "/options/notify_by")
    ]
    assert codes(body(notify_by=["*"])) == []
    assert codes(body(notify_by=["host"])) == [("notify-by-not-grouped", "/options/notify_by")]


@pytest.mark.parametrize(
    ("query", "message", "bad"),
    [
        ("avg(last_5m):avg:m{*} > 2", "{{service.name}} @x", True),
        (
            "avg(last_5m):avg:m{*} by {service} > 2",
            "{{service.name}} {{value}} {{#is_alert}}a{{/is_alert}} @x",
            False,
        ),
        ("avg(last_5m):avg:m{*} by {http.status_code} > 2", "{{http.status_code.name}} @x", False),
        ('logs("x").index("*").rollup("count").by("service").last("5m") > 1', "{{service.name}} @x", False),
        ("avg(last_5m):avg:m{*} > 2", '{{#is_match "host.name" "a"}}x{{/is_match}} @x', True),
        ("avg(last_5m):avg:m{*} by {host} > 2", "{{host}} @x", True),
        ("avg(last_5m):avg:m{*} > 2", '{{log.message}} {{event.title}} {{eval "value*2"}} @x', False),
    ],
)
def test_template_variables_need_the_group_by(query: str, message: str, bad: bool) -> None:
    found = [code for code, _ in codes(body(query=query, message=message))]
    assert found == (["unknown-template-variable"] if bad else [])


def test_a_message_without_handle_is_a_warning() -> None:
    (finding,) = check_monitor(body(message="{{service.name}} is slow, see the runbook"))
    assert (finding.code, finding.severity) == ("no-notification-handle", "warning")
    assert check_monitor(body(message="{{service.name}}: mail @mesh-team@example.com")) == []


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(["a", " ", ">", "<", "=", "!", "1", ".5", "e3", "-", "x" * 70, " " * 40]), max_size=12
    )
)
def test_reading_the_condition_from_the_query_tail_finds_what_a_full_search_finds(pieces: list[str]) -> None:
    query = "".join(pieces)
    match = _CONDITION.search(query)
    expected = QueryCondition(match.group(1), float(match.group(2))) if match else None
    assert query_condition(query) == expected


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["by", "by {", "x", "é", " ", "{", "}", "@", "@a", ".", "a,b"]), max_size=10))
def test_the_literal_first_patterns_find_what_their_word_boundary_forms_find(pieces: list[str]) -> None:
    """``by`` and ``@`` come first so that re searches for them as text; the boundary is checked behind."""
    text = "".join(pieces)
    boundary_first = (re.compile(r"\bby\s*\{([^}]*)\}"), re.compile(r"(?<![\w@])@[\w][\w.+\-@]*"))
    for fast, plain in zip((_METRIC_GROUP, _HANDLE), boundary_first, strict=True):
        assert [m.span(0) for m in fast.finditer(text)] == [m.span(0) for m in plain.finditer(text)]
