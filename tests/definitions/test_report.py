from __future__ import annotations

import json

import pytest

from provisioner.model import Problem
from provisioner.report.problems import format_problems, format_summary

PROBLEMS = [
    Problem("monitors/b.yaml", 3, 1, "", "yaml-syntax", "error", "YAML syntax error: oops"),
    Problem(
        "monitors/a.yaml",
        12,
        7,
        "/thresholds/warning",
        "warning-above-critical",
        "error",
        "0.9 must be below critical 0.5 for '>'",
        "swap them or change the comparator",
    ),  # fmt: skip
    Problem("monitors/a.yaml", 2, 1, "/message", "no-notification-handle", "warning", "no handle, 50%: a,b"),
]


def test_text_is_sorted_yamllint_parsable_with_hints() -> None:
    assert format_problems(PROBLEMS, "text").splitlines() == [
        "monitors/a.yaml:2:1: warning [no-notification-handle] /message: no handle, 50%: a,b",
        "monitors/a.yaml:12:7: error [warning-above-critical] /thresholds/warning: 0.9 must be below critical 0.5 for '>'",
        "  hint: swap them or change the comparator",
        "monitors/b.yaml:3:1: error [yaml-syntax] YAML syntax error: oops",
    ]


def test_json_keys() -> None:
    first = json.loads(format_problems(PROBLEMS, "json"))[1]
    assert first == {
        "filename": "monitors/a.yaml", "path": "/thresholds/warning", "pointer": "/thresholds/warning", "line": 12,
        "col": 7, "code": "warning-above-critical", "severity": "error",
        "message": "0.9 must be below critical 0.5 for '>'", "hint": "swap them or change the comparator",
    }  # fmt: skip
    assert format_problems([], "json") == "[]"


def test_github_workflow_commands_are_escaped() -> None:
    lines = format_problems(PROBLEMS, "github").splitlines()
    assert (
        lines[0]
        == "::warning file=monitors/a.yaml,line=2,col=1,title=no-notification-handle::/message: no handle, 50%25: a,b"
    )
    assert lines[1].endswith("for '>'%0Ahint: swap them or change the comparator")


def test_summary() -> None:
    assert format_summary(PROBLEMS, 3) == "2 errors, 1 warning in 3 files"
    assert format_summary([], 1) == "0 errors, 0 warnings in 1 file"


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown problem format"):
        format_problems(PROBLEMS, "xml")
