"""The corpus of broken definitions: each case folder under invalid/ holds definition files (and maybe a
provisioner.yaml) next to expected.txt, the exact output of `provisioner validate` run in that folder.

To rewrite the expected files after an intended change of wording: PROVISIONER_REGEN_EXAMPLES=1 pytest
tests/examples (then review the diff).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app

CASES = sorted(path for path in (Path(__file__).parent / "invalid").iterdir() if path.is_dir())
LOCATED = re.compile(r"^(\S+\.yaml):(\d+):(\d+): error \[[a-z-]+\] ", re.MULTILINE)


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_invalid_definitions_are_reported_exactly(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    result = CliRunner().invoke(app, ["validate"])
    expected = case / "expected.txt"
    if os.environ.get("PROVISIONER_REGEN_EXAMPLES"):
        expected.write_text(result.output, encoding="utf-8")
    assert result.exit_code == 1
    assert result.output == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_every_error_names_an_existing_file_and_line(case: Path) -> None:
    output = (case / "expected.txt").read_text(encoding="utf-8")
    located = LOCATED.findall(output)
    assert located, f"{case.name}: no located error in the expected output"
    for filename, line, _col in located:
        lines = (case / filename).read_text(encoding="utf-8").splitlines()
        assert 1 <= int(line) <= len(lines) + 1, f"{filename}:{line} is outside the file"
    assert "Traceback" not in output
