"""Render ``provisioner test`` results: text for terminals and CI logs, JSON (schema
``test-output.json``), and JUnit XML for CI test reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from provisioner.monitor_tests.results import CaseResult, Evaluated, Failure
from provisioner.monitor_tests.series import format_duration
from provisioner.report.colour import Style, plain

TEST_FORMAT_VERSION = 1
_MARKS = {"passed": ("PASS", "green"), "failed": ("FAIL", "red"), "error": ("ERROR", "red")}


def summary_line(results: Sequence[CaseResult]) -> str:
    """``12 tests: 11 passed, 1 failed (1.8 s)``."""
    counts = _status_counts(results)
    parts = [f"{counts['passed']} passed", f"{counts['failed']} failed"]
    if counts["error"]:
        parts.append(f"{counts['error']} could not run")
    seconds = sum(r.duration_s for r in results)
    noun = "test" if len(results) == 1 else "tests"
    return f"{len(results)} {noun}: {', '.join(parts)} ({seconds:.1f} s)"


def render_text(results: Sequence[CaseResult], style: Style = plain) -> str:
    """One line per test; under a failed one, one line per failure (``file:line: monitor at 12m: ...``)."""
    lines = []
    for result in results:
        mark, colour = _MARKS[result.status]
        where = f"{result.test.source.path}:{result.test.source.line}"
        lines.append(f"{style(mark, colour)} {result.title} ({where})")
        if result.error is not None:
            lines.append(f"{where}: {result.error}")
        lines.extend(failure.message for failure in result.failures)
    lines.append("")
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


def _status_counts(results: Sequence[CaseResult]) -> dict[str, int]:
    return {status: sum(1 for r in results if r.status == status) for status in ("passed", "failed", "error")}


def render_json(results: Sequence[CaseResult]) -> str:
    counts = _status_counts(results)
    document = {
        "format_version": TEST_FORMAT_VERSION,
        "summary": {
            "tests": len(results),
            "passed": counts["passed"],
            "failed": counts["failed"],
            "errors": counts["error"],
            "seconds": round(sum(r.duration_s for r in results), 3),
        },
        "tests": [_test_json(result) for result in results],
    }
    return json.dumps(document, indent=2) + "\n"


def _test_json(result: CaseResult) -> dict[str, Any]:
    return {
        "name": result.test.name,
        "environment": result.environment,
        "variant": result.variant,
        "monitor": result.test.monitor,
        "source": {"path": result.test.source.path, "line": result.test.source.line},
        "status": result.status,
        "error": result.error,
        "seconds": round(result.duration_s, 3),
        "failures": [_failure_json(failure) for failure in result.failures],
    }


def _failure_json(failure: Failure) -> dict[str, Any]:
    return {
        "source": {"path": failure.source.path, "line": failure.source.line},
        "monitor": failure.monitor,
        "at": format_duration(failure.at_s),
        "at_seconds": failure.at_s,
        "group": failure.subject,
        "actual": failure.actual,
        "expected": failure.expected,
        "message": failure.message,
        "evaluations": [_evaluated_json(evaluated) for evaluated in failure.evaluations],
    }


def _evaluated_json(evaluated: Evaluated) -> dict[str, Any]:
    return {
        "monitor": evaluated.monitor,
        "group": evaluated.group,
        "status": evaluated.status,
        "explanation": evaluated.explanation,
        "value": evaluated.value,
        "comparator": evaluated.comparator,
        "threshold": evaluated.threshold,
        "compared_with": evaluated.compared_with,
        "window": evaluated.window,
    }


def render_junit(results: Sequence[CaseResult]) -> str:
    """JUnit XML: one ``testsuite`` per test file, one ``testcase`` per test (and Istio mode)."""
    root = ET.Element("testsuites", name="provisioner test")
    _counts(root, results)
    files: dict[str, list[CaseResult]] = {}
    for result in results:
        files.setdefault(result.test.source.path, []).append(result)
    for path, in_file in files.items():
        suite = ET.SubElement(root, "testsuite", name=path)
        _counts(suite, in_file)
        for result in in_file:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=path,
                name=result.title,
                file=path,
                line=str(result.test.source.line),
                time=f"{result.duration_s:.3f}",
            )
            if result.error is not None:
                ET.SubElement(case, "error", message=result.error, type="could-not-run").text = result.error
            elif result.failures:
                messages = [failure.message for failure in result.failures]
                failure = ET.SubElement(case, "failure", message=messages[0], type="monitor-state")
                failure.text = "\n".join(messages)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(element: ET.Element, results: Sequence[CaseResult]) -> None:
    counts = _status_counts(results)
    element.set("tests", str(len(results)))
    element.set("failures", str(counts["failed"]))
    element.set("errors", str(counts["error"]))
    element.set("time", f"{sum(r.duration_s for r in results):.3f}")
