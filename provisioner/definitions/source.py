"""Definition and config files to plain JSON-like data, each document with a compact index of where its
values were written (so any RFC 6901 pointer can be located when a problem needs it).

Reading is bounded before any work: the file's size (``files.read_text``), nesting, aliases and numbers in
yaml_reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from provisioner.definitions.files import read_text
from provisioner.definitions.pointers import escape_token, join_pointer, split_pointer
from provisioner.definitions.positions import PositionIndex
from provisioner.definitions.yaml_reader import ReadStopped, read_yaml
from provisioner.model import Json, Problem, Severity

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
