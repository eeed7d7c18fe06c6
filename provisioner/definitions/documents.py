"""YAML documents to raw definitions: one per mapping (a document, or an item of a list document), each
checked against its kind's JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.definitions.compiled import DefinitionId
from provisioner.definitions.findings import Finding, did_you_mean, show
from provisioner.definitions.schema import KIND_SCHEMAS, check_schema
from provisioner.definitions.source import SourceDocument
from provisioner.model import Json, Problem

DASHBOARD_KIND = "dashboard"


@dataclass(frozen=True)
class RawDefinition:
    """One definition as written, with where it stands."""

    document: SourceDocument
    pointer: str  # of the definition in its YAML document: "" or "/3" in a list
    data: Mapping[str, Json]
    rejected: tuple[str, ...] = ()  # pointers (in the definition) of what its kind or schema rejects
    slot: int = 0  # of the definition in its document's position index

    @property
    def valid(self) -> bool:
        """The kind is known and the schema accepts the definition."""
        return not self.rejected

    @property
    def kind(self) -> str:
        return str(self.data.get("kind"))

    @property
    def definition_id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) else None

    def locate(self, pointer: str, key: bool = False) -> tuple[int, int]:
        """(line, col) of a pointer within the definition, as written (``data`` may be a pruned copy)."""
        written = self.document.data if not self.pointer else self.document.data[int(self.pointer[1:])]
        return self.document.locate_in(self.slot, written, pointer, key)

    def problem(self, finding: Finding) -> Problem:
        line, col = self.locate(finding.pointer, key=finding.at_key)
        return Problem(
            self.document.path, line, col, self.pointer + finding.pointer, finding.code, finding.severity,
            finding.message, finding.hint,
        )  # fmt: skip

    def id_location(self) -> DefinitionId | None:
        definition_id = self.definition_id
        if definition_id is None:
            return None
        line, col = self.locate("/id")
        return DefinitionId(definition_id, self.document.path, self.pointer + "/id", line, col)


def split_definitions(document: SourceDocument) -> tuple[list[RawDefinition], list[Problem]]:
    data = document.data
    if isinstance(data, dict):
        items: list[tuple[str, int, Json]] = [("", 0, data)]
    elif isinstance(data, list):
        slots = document.positions.item_slots(0, len(data))
        items = [(f"/{index}", slots[index], item) for index, item in enumerate(data)]
    else:
        message = f"a definition file holds definitions (mappings) or lists of them, not {show(data)}"
        return [], [document.problem("", "not-a-definition", message)]
    definitions: list[RawDefinition] = []
    problems: list[Problem] = []
    for pointer, slot, item in items:
        if not isinstance(item, dict):
            problems.append(
                document.problem(
                    pointer, "not-a-definition", f"expected a definition (a mapping), got {show(item)}"
                )
            )
            continue
        findings = _kind_findings(item) or check_schema(KIND_SCHEMAS[item["kind"]], item)
        definition = RawDefinition(document, pointer, item, tuple([f.pointer for f in findings]), slot)
        definitions.append(definition)
        problems.extend([definition.problem(finding) for finding in findings])
    return definitions, problems


def _kind_findings(item: Mapping[str, Json]) -> list[Finding]:
    kind = item.get("kind")
    if isinstance(kind, str) and kind in KIND_SCHEMAS:
        return []
    kinds = ", ".join(KIND_SCHEMAS)
    if "kind" not in item:
        return [Finding("", "missing-field", "missing required field 'kind'", f"one of: {kinds}")]
    hint = did_you_mean(kind, KIND_SCHEMAS) if isinstance(kind, str) else f"one of: {kinds}"
    return [Finding("/kind", "unknown-kind", f"unknown kind {show(kind)}", hint)]
