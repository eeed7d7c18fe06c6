"""Rules the shipped schema states (option conflicts, options a monitor type does not take, warning_recovery
without warning): reported under their own codes and hints at the line of the value, in each layer of a
definition and across layers (an option set by an override against one in the base)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from provisioner.definitions import load_definitions
from provisioner.model import Environment, Problem

PRODUCTION = Environment(name="production")
RAW = """\
id: raw
kind: monitor
name: n
type: {type}
query: "avg(last_5m):avg:m{{*}} > 2"
message: "@x"
options:
{options}
"""


def problems(tmp_path: Path, text: str, environment: Environment = PRODUCTION) -> list[Problem]:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return list(load_definitions([path], environment).problems)


def raw(monitor_type: str, *options: str) -> str:
    return RAW.format(type=monitor_type, options="\n".join(f"  {option}" for option in options))


def located(found: list[Problem]) -> list[tuple[str, int, int, str]]:
    return [(p.code, p.line, p.col, p.pointer) for p in found]


@pytest.mark.parametrize(
    ("options", "pointer", "hint"),
    [
        (("new_group_delay: 60", "new_host_delay: 300"), "/options/new_host_delay", "new_host_delay is deprecated"),
        (("on_missing_data: resolve", "notify_no_data: false"), "/options/notify_no_data", "replaces notify_no_data"),
        (("on_missing_data: resolve", "no_data_timeframe: 10"), "/options/no_data_timeframe", "replaces no_data_timeframe"),
        (
            ("require_full_window: false", "scheduling_options: {custom_schedule: {recurrences: [{rrule: FREQ=DAILY}]}}"),
            "/options/require_full_window", "a custom schedule decides",
        ),
    ],
)  # fmt: skip
def test_option_conflicts_point_at_the_second_option(
    tmp_path: Path, options: tuple[str, str], pointer: str, hint: str
) -> None:
    (problem,) = problems(tmp_path, raw("query alert", "thresholds: {critical: 2}", *options))
    assert (problem.code, problem.pointer, problem.col) == ("conflicting-options", pointer, 3)
    assert problem.message.startswith(pointer.rsplit("/", 1)[-1] + " cannot be combined with ")
    assert hint in problem.hint


def test_null_options_do_not_conflict(tmp_path: Path) -> None:
    assert (
        problems(
            tmp_path,
            raw("query alert", "thresholds: {critical: 2}", "new_host_delay: null", "new_group_delay: 60"),
        )
        == []
    )


def test_type_specific_options(tmp_path: Path) -> None:
    log = problems(tmp_path, raw("log alert", "thresholds: {critical: 2}", "no_data_timeframe: 10"))
    composite_text = raw("composite", "on_missing_data: resolve").replace(
        "avg(last_5m):avg:m{*} > 2", "1 && 2"
    )
    composite = problems(tmp_path, composite_text)
    service_check = problems(tmp_path, raw("service check", "thresholds: {critical: 2, ok: 1, unknown: 1}"))
    query = problems(tmp_path, raw("query alert", "thresholds: {critical: 2, ok: 1}"))
    assert located(log) == [("option-not-for-type", 9, 3, "/options/no_data_timeframe")]
    assert log[0].message == "no_data_timeframe is not valid on a log alert monitor"
    assert located(composite) == [("option-not-for-type", 8, 3, "/options/on_missing_data")]
    assert service_check == []
    assert located(query) == [("option-not-for-type", 8, 29, "/options/thresholds/ok")]
    assert query[0].message == "thresholds.ok is valid only on service check monitors"


@pytest.mark.parametrize("kind", ["raw", "mesh"])
def test_warning_recovery_needs_a_warning(tmp_path: Path, kind: str) -> None:
    if kind == "raw":
        text = raw("query alert", "thresholds: {critical: 2, warning_recovery: 1}")
        expected = ("warning-recovery-without-warning", 8, 29, "/options/thresholds/warning_recovery")
    else:
        text = "{id: s, kind: sidecar-injection, name: n, message: '@x', thresholds: {critical: 5, warning_recovery: 1}}"
        expected = ("warning-recovery-without-warning", 1, 84, "/thresholds/warning_recovery")
    (problem,) = problems(tmp_path, text)
    assert located([problem]) == [expected]
    assert problem.hint == "set a warning threshold or remove warning_recovery"


def test_rules_hold_across_layers_and_point_at_the_layer_that_set_the_value(tmp_path: Path) -> None:
    text = """\
        id: s
        kind: sidecar-injection
        name: n
        message: "@x"
        thresholds: {critical: 5, warning: 3}
        options: {on_missing_data: resolve}
        overrides:
          production:
            thresholds: {warning: null, warning_recovery: 1}
            options: {notify_no_data: true}
          staging:
            thresholds: {warning_recovery: 2}
    """
    assert located(problems(tmp_path, text)) == [
        ("warning-recovery-without-warning", 9, 33, "/overrides/production/thresholds/warning_recovery"),
        ("conflicting-options", 10, 15, "/overrides/production/options/notify_no_data"),
    ]
    assert problems(tmp_path, text, Environment(name="staging")) == []  # the base has a warning


def test_semantic_checks_run_where_the_schema_rejects_something_else(tmp_path: Path) -> None:
    text = """\
        id: s
        kind: sidecar-injection
        name: n
        message: "no handle here, {{service.name}}"
        windw: 5m
        priority: high
        thresholds: {critical: 5, warning: 9}
    """
    assert [(p.code, p.line, p.severity) for p in problems(tmp_path, text)] == [
        ("no-notification-handle", 4, "warning"),
        ("unknown-template-variable", 4, "error"),
        ("unknown-key", 5, "error"),
        ("wrong-type", 6, "error"),
        ("warning-above-critical", 7, "error"),
    ]


def test_no_semantic_noise_about_a_rejected_value(tmp_path: Path) -> None:
    text = "{id: e, kind: error-rate, source: istio, name: n, message: '@x', thresholds: {critical: lots, warning: 2%}}"
    assert [p.code for p in problems(tmp_path, text)] == ["invalid-value"]  # not also missing-threshold
