"""What a definition file leaves once it is compiled: each definition's id and where it is written, its
specs, where its query is when its monitor names other definitions, and the file's problems. This is
what the compiled-definitions cache stores, and all that checks across files (duplicate ids, references)
need: a run the cache serves whole reads nothing else of the definitions package.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.definitions.references import Referrer
from provisioner.model import DashboardSpec, MonitorSpec, Problem


@dataclass(frozen=True)
class CompiledFile:
    """What a definition file leaves once it is read: its definitions and the problems found in it."""

    definitions: tuple[CompiledDefinition, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class CompiledDefinition:
    """A definition's id and where it is written (for duplicates across files), its specs (none when it has
    an error), and where its query is when its monitor names other definitions."""

    definition_id: DefinitionId | None
    specs: tuple[MonitorSpec | DashboardSpec, ...]
    referrer: Referrer | None = None


@dataclass(frozen=True)
class DefinitionId:
    """A definition's id and where it is written: all that finding duplicates across files needs."""

    value: str
    path: str
    pointer: str  # of the id in its YAML document
    line: int
    col: int

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


def duplicate_id_problems(ids: list[DefinitionId | None]) -> tuple[list[Problem], set[int]]:
    """Problems for ids defined more than once (each naming the other place), and the positions (in
    ``ids``) of the definitions involved."""
    first_seen: dict[str, tuple[int, DefinitionId]] = {}
    problems: list[Problem] = []
    involved: set[int] = set()
    for index, definition_id in enumerate(ids):
        if definition_id is None:
            continue
        if definition_id.value not in first_seen:
            first_seen[definition_id.value] = (index, definition_id)
            continue
        first_index, first = first_seen[definition_id.value]
        involved.update({index, first_index})
        problems.append(_duplicate(definition_id, first))
        problems.append(_duplicate(first, definition_id))
    return problems, involved


def _duplicate(definition_id: DefinitionId, other: DefinitionId) -> Problem:
    message = f"duplicate id '{definition_id.value}': also defined at {other.location}"
    hint = "the id is the resource's identity in Datadog: give each definition its own"
    return Problem(
        definition_id.path, definition_id.line, definition_id.col, definition_id.pointer, "duplicate-id",
        "error", message, hint,
    )  # fmt: skip
