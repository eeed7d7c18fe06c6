"""Which files are read: entries that are not regular files are reported, never opened nor silently skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provisioner.definitions import load_definitions
from provisioner.definitions.files import read_text
from provisioner.model import Environment

DEFINITION = "{id: s, kind: sidecar-injection, name: n, message: '@x'}\n"


def test_links_fifos_and_loops_are_warnings_and_the_rest_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = Path("monitors")
    (folder / "team").mkdir(parents=True)
    (folder / "team" / "s.yaml").write_text(DEFINITION)
    os.symlink("loop.yaml", folder / "loop.yaml")
    os.symlink("missing.yaml", folder / "broken.yaml")
    os.mkfifo(folder / "pipe.yaml")
    os.symlink("..", folder / "team" / "up")  # a folder link back to where the search started
    os.symlink("team", folder / "shared")  # a second way into a folder: searched once
    definitions = load_definitions([], Environment(name="default"))
    assert [m.definition_id for m in definitions.monitors] == ["s"]
    assert definitions.files == ("monitors/team/s.yaml",)
    found = [(p.path, p.code, p.severity, p.message) for p in definitions.problems]
    assert found == [
        ("monitors/broken.yaml", "not-a-file", "warning", "skipped: a broken symbolic link"),
        ("monitors/loop.yaml", "symlink-loop", "warning", "skipped: a symbolic link that loops"),
        ("monitors/pipe.yaml", "not-a-file", "warning", "skipped: a FIFO, not a regular file"),
        ("monitors/shared", "symlink-loop", "warning", "skipped: a symbolic link to a folder already searched (a loop?)"),
        ("monitors/team/up", "symlink-loop", "warning", "skipped: a symbolic link to a folder already searched (a loop?)"),
    ]  # fmt: skip
    assert definitions.ok


def test_a_fifo_given_by_name_is_an_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    (problem,) = load_definitions([tmp_path / "pipe.yaml"], Environment(name="default")).problems
    assert (problem.code, problem.severity, problem.message) == (
        "not-a-file",
        "error",
        "a FIFO, not a regular file",
    )


def test_a_regular_file_that_reports_no_size_is_read_whole() -> None:
    """A file is read by its size (fstat), and on past it when it holds more: /proc's files report 0."""
    text, problem = read_text(Path("/proc/self/status"), "status")
    assert problem is None
    assert text.startswith("Name:") and "VmHWM:" in text
