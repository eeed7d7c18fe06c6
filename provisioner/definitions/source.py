"""Definition and config files to plain JSON-like data, each document with a compact index of where its
values were written (so any RFC 6901 pointer can be located when a problem needs it).

Reading is bounded before any work: the file's size here, nesting, aliases and numbers in yaml_reader.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from provisioner.definitions.pointers import escape_token, join_pointer, split_pointer
from provisioner.definitions.positions import PositionIndex
from provisioner.definitions.yaml_reader import ReadStopped, read_yaml
from provisioner.model import Json, Problem, Severity

MAX_FILE_BYTES = 4 * 1024 * 1024

__all__ = [
    "SourceDocument",
    "escape_token",
    "join_pointer",
    "parse_documents",
    "read_documents",
    "split_pointer",
]


@dataclass(frozen=True)
class SourceDocument:
    """One YAML document: its data and where each value of it was written."""

    path: str
    data: Json
    positions: PositionIndex

    def locate(self, pointer: str, key: bool = False) -> tuple[int, int]:
        """(line, col), 1-based, of the deepest value the pointer reaches.

        A block mapping or sequence is located at its key (``thresholds:``) rather than at its first
        child; ``key=True`` asks for the key of the last token even for a scalar value.
        """
        return self.positions.locate(self.data, split_pointer(pointer), key)

    def locate_in(self, slot: int, value: Json, pointer: str, key: bool = False) -> tuple[int, int]:
        """As ``locate``, for a pointer relative to ``value``, the document's value at ``slot``
        (a definition in a list of thousands is located without walking its predecessors)."""
        return self.positions.locate(value, split_pointer(pointer), key, slot)

    def problem(
        self,
        pointer: str,
        code: str,
        message: str,
        hint: str = "",
        severity: Severity = "error",
        key: bool = False,
    ) -> Problem:
        line, col = self.locate(pointer, key=key)
        return Problem(self.path, line, col, pointer, code, severity, message, hint)


def read_documents(path: Path, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    """Every non-empty document of a YAML file; when the file cannot be read, no documents and one problem."""
    text, problem = read_text(path, display)
    if problem is not None:
        return [], [problem]
    return parse_documents(text, display)


def read_text(path: Path, display: str) -> tuple[str, Problem | None]:
    """The file's UTF-8 text, read only when it is a regular file within MAX_FILE_BYTES."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO named *.yaml must not hang us
    except OSError as exc:
        return "", _file_problem(display, "unreadable", f"cannot read: {exc.strerror}")
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return "", _file_problem(
                display, "not-a-file", "not a regular file", "pass YAML files or folders"
            )
        content = handle.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        size = max(status.st_size, len(content))
        message = f"the file is {size / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB"
        return "", _file_problem(
            display, "file-too-large", message, "split the definitions into several files"
        )
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return "", _encoding_problem(display, content, exc)


def _file_problem(display: str, code: str, message: str, hint: str = "") -> Problem:
    return Problem(display, 1, 1, "", code, "error", message, hint)


def _encoding_problem(display: str, content: bytes, exc: UnicodeDecodeError) -> Problem:
    line_start = content.rfind(b"\n", 0, exc.start) + 1
    line = content.count(b"\n", 0, exc.start) + 1
    col = len(content[line_start : exc.start].decode("utf-8", errors="replace")) + 1
    message = f"not UTF-8 text: byte 0x{content[exc.start]:02x} ({exc.reason})"
    return Problem(display, line, col, "", "encoding", "error", message, "save the file as UTF-8")


def parse_documents(text: str, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    try:
        parsed, problems = read_yaml(text, display)
    except yaml.MarkedYAMLError as exc:
        return [], [_syntax_problem(display, exc, text)]
    except yaml.reader.ReaderError as exc:  # a control character: located by its position in the text
        message = f"YAML syntax error: unacceptable character #x{exc.character:04x} ({exc.reason})"
        return [], [_at_position(display, text, exc.position, message, "remove the character")]
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from JSON text: no file decodes to one
        message = f"not Unicode text: {exc.reason}"
        return [], [_at_position(display, text, exc.start, message, "remove the character")]
    except yaml.YAMLError as exc:
        return [], [Problem(display, 1, 1, "", "yaml-syntax", "error", f"YAML error: {exc}")]
    except ReadStopped as stopped:
        return [], [stopped.problem]
    return [SourceDocument(display, document.data, document.positions) for document in parsed], problems


def _at_position(display: str, text: str, position: int, message: str, hint: str) -> Problem:
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    return Problem(display, line, col, "", "yaml-syntax", "error", message, hint)


def _syntax_problem(display: str, exc: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = exc.problem or exc.context or "invalid YAML"
    started = exc.context_mark
    if exc.context and started is not None and (started.line + 1, started.column + 1) != (line, col):
        message += f" ({exc.context} at line {started.line + 1}, column {started.column + 1})"
    lines = text.splitlines()
    indent = (
        lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())] if line <= len(lines) else ""
    )
    hint = "indent with spaces: YAML does not allow tabs" if "\t" in indent else ""
    return Problem(display, line, col, "", "yaml-syntax", "error", f"YAML syntax error: {message}", hint)
