"""Every problem code the tool can print is documented: collected from the source (the code literals of the
calls that make a Finding or a Problem, and the schemas' ``x-problem`` codes), so the lists stay true as
codes are added. validate's and test's codes are listed in docs/definitions.md, audit's findings in
docs/audit-and-import.md."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from tests.docs.shown import REPO

PACKAGE = REPO / "provisioner"
_CODE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# the calls that make one: Finding(...), Problem(...), document.problem(...), reader._notation(...), ...
_MAKERS = re.compile(r"(?i)problem|finding|notation")
NOT_CODES = {"error", "warning", "info", "text", "json", "github", "markdown"}  # severities and formats
AUDIT_MODULES = re.compile(r"^engine/audit")


def emitted_codes(paths: list[Path]) -> set[str]:
    codes: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
            if not _MAKERS.search(name):
                continue
            arguments = [*node.args, *(keyword.value for keyword in node.keywords if keyword.arg == "code")]
            codes.update(
                argument.value
                for argument in arguments
                if isinstance(argument, ast.Constant)
                and isinstance(argument.value, str)
                and _CODE.match(argument.value)
            )
    return codes - NOT_CODES


def schema_codes() -> set[str]:
    codes: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            problem = node.get("x-problem")
            if isinstance(problem, dict):
                codes.add(problem["code"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (PACKAGE / "definitions" / "schemas").glob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return codes


def documented(page: str) -> set[str]:
    return set(re.findall(r"`([a-z][a-z0-9-]*)`", (REPO / "docs" / page).read_text(encoding="utf-8")))


def modules(audit: bool) -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "emulator" not in path.relative_to(PACKAGE).parts
        and bool(AUDIT_MODULES.match(path.relative_to(PACKAGE).as_posix())) == audit
    ]


def test_the_collector_finds_codes_of_every_form() -> None:
    codes = emitted_codes(modules(audit=False))
    # Finding(...), Problem(...), a reader's _problem(...), _notation(...), unknown_name_problem(...)
    assert {"unknown-key", "duplicate-id", "duplicate-key", "bad-values", "unknown-monitor"} <= codes
    assert {"conflicting-options"} <= schema_codes()


def test_every_code_validate_and_test_can_print_is_in_the_definitions_page_and_only_those() -> None:
    codes = emitted_codes(modules(audit=False)) | schema_codes()
    assert sorted(codes - documented("definitions.md")) == []
    text = (REPO / "docs" / "definitions.md").read_text(encoding="utf-8")
    listing = text[text.index("Rule codes (") : text.index("Option conflicts rejected")]
    listed = set(re.findall(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)+|schema|encoding)`", listing))
    assert sorted(listed - codes) == []  # no code the tool no longer prints


def test_every_finding_audit_can_report_is_in_the_audit_page() -> None:
    codes = emitted_codes(modules(audit=True))
    assert codes and sorted(codes - documented("audit-and-import.md")) == []
