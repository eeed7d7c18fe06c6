"""YAML documents to raw definitions: one per mapping (a document, or an item of a list document), each
checked against its kind's JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.definitions.findings import Finding
from provisioner.definitions.schema import KIND_SCHEMAS, check_schema, did_you_mean, show
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

    def problem(self, finding: Finding) -> Problem:
        return self.document.problem(
            self.pointer + finding.pointer, finding.code, finding.message, finding.hint, finding.severity,
            key=finding.at_key,
        )  # fmt: skip

    def location(self, pointer: str = "") -> str:
        line, col = self.document.locate(self.pointer + pointer)
        return f"{self.document.path}:{line}:{col}"


def split_definitions(document: SourceDocument) -> tuple[list[RawDefinition], list[Problem]]:
    data = document.data
    if isinstance(data, dict):
        items: list[tuple[str, Json]] = [("", data)]
    elif isinstance(data, list):
        items = [(f"/{index}", item) for index, item in enumerate(data)]
    else:
        message = f"a definition file holds definitions (mappings) or lists of them, not {show(data)}"
        return [], [document.problem("", "not-a-definition", message)]
    definitions: list[RawDefinition] = []
    problems: list[Problem] = []
    for pointer, item in items:
        if not isinstance(item, dict):
            problems.append(
                document.problem(
                    pointer, "not-a-definition", f"expected a definition (a mapping), got {show(item)}"
                )
            )
            continue
        findings = _kind_findings(item) or check_schema(KIND_SCHEMAS[item["kind"]], item)
        definition = RawDefinition(document, pointer, item, tuple(f.pointer for f in findings))
        definitions.append(definition)
        problems.extend(definition.problem(finding) for finding in findings)
    return definitions, problems


def _kind_findings(item: Mapping[str, Json]) -> list[Finding]:
    kinds = ", ".join(KIND_SCHEMAS)
    if "kind" not in item:
        return [Finding("", "missing-field", "missing required field 'kind'", f"one of: {kinds}")]
    kind = item["kind"]
    if not isinstance(kind, str) or kind not in KIND_SCHEMAS:
        hint = did_you_mean(str(kind), KIND_SCHEMAS) if isinstance(kind, str) else f"one of: {kinds}"
        return [Finding("/kind", "unknown-kind", f"unknown kind {show(kind)}", hint)]
    return []


def duplicate_id_problems(definitions: list[RawDefinition]) -> tuple[list[Problem], set[int]]:
    """Problems for ids defined more than once (each naming the other place), and the positions (in
    ``definitions``) of the definitions involved."""
    first_seen: dict[str, int] = {}
    problems: list[Problem] = []
    involved: set[int] = set()
    for index, definition in enumerate(definitions):
        definition_id = definition.definition_id
        if definition_id is None:
            continue
        if definition_id not in first_seen:
            first_seen[definition_id] = index
            continue
        first = definitions[first_seen[definition_id]]
        involved.update({index, first_seen[definition_id]})
        problems.append(_duplicate(definition, definition_id, first.location("/id")))
        problems.append(_duplicate(first, definition_id, definition.location("/id")))
    return problems, involved


def _duplicate(definition: RawDefinition, definition_id: str, other: str) -> Problem:
    message = f"duplicate id '{definition_id}': also defined at {other}"
    hint = "the id is the resource's identity in Datadog: give each definition its own"
    return definition.problem(Finding("/id", "duplicate-id", message, hint))
