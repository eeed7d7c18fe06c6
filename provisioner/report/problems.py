"""Render validation problems: text (yamllint's parsable style), json, or GitHub workflow commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from provisioner.model import Problem

PROBLEM_FORMATS = ("text", "json", "github")


def format_problems(problems: Sequence[Problem], fmt: str) -> str:
    """All problems, sorted by file, line, column and code; "" (or "[]" for json) when there are none."""
    if fmt not in _FORMATTERS:
        raise ValueError(f"unknown problem format {fmt!r}; expected one of {', '.join(PROBLEM_FORMATS)}")
    return _FORMATTERS[fmt](sorted(problems, key=problem_order))


def problem_order(problem: Problem) -> tuple[str, int, int, str, str, str]:
    """File, line, column, code, then pointer and message: a total order, so output never varies."""
    return (*problem.sort_key, problem.pointer, problem.message)


def format_summary(problems: Sequence[Problem], file_count: int) -> str:
    """E.g. "2 errors, 1 warning in 3 files"."""
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    return f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(file_count, 'file')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _where(problem: Problem) -> str:
    return f"{problem.pointer}: {problem.message}" if problem.pointer else problem.message


def _text(problems: Sequence[Problem]) -> str:
    lines: list[str] = []
    for p in problems:
        lines.append(f"{p.path}:{p.line}:{p.col}: {p.severity} [{p.code}] {_where(p)}")
        if p.hint:
            lines.append(f"  hint: {p.hint}")
    return "\n".join(lines)


def _json(problems: Sequence[Problem]) -> str:
    return json.dumps([_as_json(p) for p in problems], indent=2)


VALIDATE_FORMAT_VERSION = 1


def validate_json(problems: Sequence[Problem], file_count: int) -> str:
    """``validate --format json``: versioned, with its JSON Schema in ``report/schemas/validate-output.json``."""
    errors = sum(1 for p in problems if p.severity == "error")
    document = {
        "format_version": VALIDATE_FORMAT_VERSION,
        "summary": {"errors": errors, "warnings": len(problems) - errors, "files": file_count},
        "problems": [_as_json(p) for p in sorted(problems, key=problem_order)],
    }
    return json.dumps(document, indent=2)


def _as_json(p: Problem) -> dict[str, object]:
    return {
        "filename": p.path,
        "path": p.pointer,
        "pointer": p.pointer,
        "line": p.line,
        "col": p.col,
        "code": p.code,
        "severity": p.severity,
        "message": p.message,
        "hint": p.hint,
    }


def _github(problems: Sequence[Problem]) -> str:
    lines = []
    for p in problems:
        properties = f"file={_prop(p.path)},line={p.line},col={p.col},title={_prop(p.code)}"
        text = _where(p) + (f"\nhint: {p.hint}" if p.hint else "")
        lines.append(f"::{p.severity} {properties}::{_data(text)}")
    return "\n".join(lines)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


_FORMATTERS: dict[str, Callable[[Sequence[Problem]], str]] = {"text": _text, "json": _json, "github": _github}
