"""A saved plan file is input like any other: a hand edit or a corruption gets "not a saved plan: <where>:
<what>" and exit 1 before any request, never a crash (exit 3) and never a half-read plan."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from conftest import Cli

from provisioner.changes import LiveOrg
from provisioner.emulator import RunningEmulator
from provisioner.engine.resources import RULES
from provisioner.engine.saved_plan import guard_saved_plan
from provisioner.errors import UserError
from provisioner.report.plan_json import read_saved_plan, render_json
from provisioner.report.plan_text import render_text

from .test_hostile_input import MONITOR

# A saved plan as `plan --save-plan` writes it: one update, one repair (and the fields each carries).
VALID: dict[str, Any] = {
    "format_version": 1,
    "namespace": "default",
    "environment": "default",
    "target": "http://127.0.0.1:9",
    "has_changes": True,
    "app_url": None,
    "summary": {"create": 0, "update": 1, "repair": 1, "unchanged": 3, "managed": 5},
    "remote_validation": {
        "status": "passed",
        "checked": 1,
        "rejected": [],
        "unasked": [
            {
                "kind": "monitor",
                "definition_id": "cpu",
                "datadog_id": 12,
                "source": None,
                "reason": "Datadog refused to validate it: Forbidden",
                "status": 403,
            }
        ],
        "requests": 1,
    },
    "changes": [
        {
            "kind": "monitor",
            "action": "update",
            "definition_id": "cpu",
            "title": "CPU high",
            "datadog_id": 12,
            "url": None,
            "source": {"path": "monitors/cpu.yaml", "line": 1},
            "note": "",
            "keep_drift": False,
            "live_modified": "2026-01-01T00:00:00+00:00",
            "kept_datadog_id": None,
            "rejected_by_datadog": None,
            "fields": [
                {
                    "pointer": "/options/thresholds/critical",
                    "live": 80.0,
                    "live_present": True,
                    "desired": 90.0,
                    "desired_present": True,
                    "changed_by": "code",
                }
            ],
            "body": {
                "type": "metric alert",
                "name": "CPU high",
                "query": "avg(last_5m):avg:x{*} > 90",
                "message": "[provisioner ns=default id=cpu fp=1] Managed in git by provisioner",
                "tags": ["provisioner-ns:default", "provisioner-id:cpu"],
            },
        },
        {
            "kind": "dashboard",
            "action": "repair",
            "definition_id": "mesh",
            "title": "Mesh",
            "datadog_id": "abc-def-ghi",
            "url": None,
            "source": None,
            "note": "second copy",
            "keep_drift": False,
            "live_modified": "2026-01-01T00:00:00+00:00",
            "kept_datadog_id": "abc-def-aaa",
            "rejected_by_datadog": None,
            "fields": [],
            "body": None,
        },
    ],
    "warnings": ["a warning"],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document a value sits (the document itself excluded)."""
    found: list[tuple[Any, ...]] = []
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


PATHS = _paths(VALID)


@st.composite
def damaged_plans(draw: st.DrawFn) -> Any:
    """The valid plan with a few of its values replaced by any JSON, or removed."""
    document = copy.deepcopy(VALID)
    for path in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3)):
        parent: Any = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()):
                parent[path[-1]] = draw(json_values)
            elif isinstance(parent, dict):
                del parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier damage removed or replaced this place
    return document


def _read_or_refuse(document: Any) -> None:
    """A plan that can be shown, guarded and written again, or a UserError: nothing else."""
    try:
        saved = read_saved_plan(json.dumps(document), "plan.json")
    except UserError as exc:
        assert exc.message.startswith("plan.json: ")
        return
    render_text(saved.plan)
    guard_saved_plan(saved.plan, LiveOrg())
    render_json(saved.plan)
    for change in saved.plan.changes:  # apply reads the marks of a body it sent when the answer was lost
        RULES[change.kind].read_mark(change.body or {})


def test_the_valid_plan_of_these_properties_is_read() -> None:
    saved = read_saved_plan(json.dumps(VALID), "plan.json")
    assert [c.action.value for c in saved.plan.changes] == ["update", "repair"]
    assert saved.plan.changes[1].kept_datadog_id == "abc-def-aaa"
    assert (saved.validation_status, saved.unjudged) == ("passed", {("monitor", "cpu")})


def _with_body_tags(tags: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    document["changes"][0]["body"]["tags"] = tags
    return document


@settings(max_examples=300, deadline=None)
@given(damaged_plans())
@example(_with_body_tags(5))
def test_a_damaged_saved_plan_is_read_or_refused_never_crashes(document: Any) -> None:
    _read_or_refuse(document)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_is_read_or_refused_never_crashes(document: Any) -> None:
    _read_or_refuse(document)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p | {"warnings": 5}, "warnings: expected an array"),
        (lambda p: p | {"format_version": True}, "plan format_version True"),
        (lambda p: p | {"summary": 5}, "summary: expected an object"),
        (
            lambda p: p | {"remote_validation": {"status": "maybe"}},
            "remote_validation.status: expected one of",
        ),
        (lambda p: _change(p, fields=5), "changes[0].fields: expected an array"),
        (lambda p: _change(p, datadog_id="abc"), "changes[0].datadog_id: expected the monitor's Datadog id"),
        (lambda p: _change(p, source={"path": "m.yaml", "line": "x"}), "changes[0].source.line: expected"),
        (lambda p: _change(p, keep_drift="yes"), "changes[0].keep_drift: expected true or false"),
        (lambda p: "[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
)
def test_a_corrupted_saved_plan_is_refused_before_any_request(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dd_env: RunningEmulator,
    damage: Any,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "cpu.yaml").write_text(MONITOR)
    assert cli("plan", "--save-plan", "plan.json", "--no-metric-check")[0] == 0
    damaged = damage(json.loads((tmp_path / "plan.json").read_text()))
    (tmp_path / "plan.json").write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    dd_env.admin.reset_log()
    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1, output
    assert message in output and "plan.json" in output, output
    assert dd_env.admin.request_counts() == {}


def _change(plan: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return plan | {"changes": [plan["changes"][0] | fields]}
