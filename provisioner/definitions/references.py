"""References between definitions: a composite monitor names the monitors it combines by definition id,
``@{<definition id>}`` (the mesh kinds' composites name their parts ``@{<id>:<part>}``; a raw
``kind: monitor`` composite may name any monitor definition). Checked across all definitions: every
reference names a monitor definition, never a composite (Datadog's composites cannot combine composites),
and no chain of references comes back to where it started.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provisioner import identity
from provisioner.definitions.findings import Finding, did_you_mean
from provisioner.model import MonitorSpec, Problem

if TYPE_CHECKING:  # compiling a file makes a Referrer of one; the cache only reads them back
    from provisioner.definitions.documents import RawDefinition

COMPOSITE = "composite"
_QUERY = "/query"  # every reference problem is about the query that names the others


@dataclass(frozen=True)
class Referrer:
    """A definition whose monitor names others, and where its query is written: all that locating a
    reference problem needs (its YAML data and positions are freed with its file)."""

    definition_id: str
    path: str
    pointer: str  # of the query in its document
    line: int
    col: int

    @classmethod
    def of(cls, raw: RawDefinition) -> Referrer:
        line, col = raw.locate(_QUERY)
        return cls(str(raw.definition_id), raw.document.path, raw.pointer + _QUERY, line, col)

    def problem(self, finding: Finding) -> Problem:
        return Problem(
            self.path, self.line, self.col, self.pointer, finding.code, finding.severity, finding.message,
            finding.hint,
        )  # fmt: skip


def reference_problems(
    monitors: Sequence[MonitorSpec], referring: Iterable[Referrer], known_ids: Collection[str]
) -> list[Problem]:
    """Problems of every ``@{id}`` in the monitors' queries. ``referring``: the definitions whose monitors
    reference others (to locate a problem); ``known_ids``: the id of every definition read, so that a
    reference to a definition that has errors of its own is left alone."""
    referrer_by_id = {referrer.definition_id: referrer for referrer in referring}
    if not referrer_by_id:
        return []
    by_id = {m.definition_id: m for m in monitors}
    problems = []
    for monitor in monitors:
        if monitor.part_of is not None:
            continue  # parts are named by the kind itself
        referrer = referrer_by_id.get(_base_id(monitor.definition_id))
        if referrer is None:
            continue
        for finding in _findings(monitor, by_id, known_ids):
            problems.append(referrer.problem(finding))
    return problems


def refers_to_others(spec: MonitorSpec) -> bool:
    """Whether a monitor's query names other definitions (a composite not built by a mesh kind)."""
    query = str(spec.body.get("query") or "")
    return spec.part_of is None and identity.REFERENCE_RE.search(query) is not None


def _findings(
    monitor: MonitorSpec, by_id: Mapping[str, MonitorSpec], known_ids: Collection[str]
) -> Iterator[Finding]:
    referenced = _referenced(monitor)
    if referenced and monitor.body.get("type") != COMPOSITE:
        message = "@{...} references are only resolved in composite monitors"
        yield Finding(_QUERY, "reference-outside-composite", message, "set type: composite")
        return
    for definition_id in referenced:
        target = by_id.get(definition_id)
        if target is None:
            if _base_id(definition_id) not in known_ids:
                message = f"@{{{definition_id}}} names no monitor definition"
                yield Finding(_QUERY, "unknown-reference", message, did_you_mean(definition_id, by_id))
        elif definition_id == monitor.definition_id or _cycle(definition_id, monitor.definition_id, by_id):
            message = f"@{{{definition_id}}} leads back to {monitor.definition_id}: a reference cycle"
            yield Finding(_QUERY, "reference-cycle", message, "a composite combines monitors, not itself")
        elif target.body.get("type") == COMPOSITE:
            message = f"@{{{definition_id}}} is a composite: Datadog's composites cannot combine composites"
            hint = "reference its parts instead" if _parts(definition_id, by_id) else ""
            yield Finding(_QUERY, "composite-in-composite", message, hint)


def _cycle(start: str, goal: str, by_id: Mapping[str, MonitorSpec]) -> bool:
    """Whether following references from ``start`` reaches ``goal``."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        current = pending.pop()
        if current == goal:
            return True
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        pending.extend(_referenced(by_id[current]))
    return False


def _referenced(monitor: MonitorSpec) -> tuple[str, ...]:
    """The ids the monitor's query names (most queries name none: the regex only runs on those that may)."""
    query = str(monitor.body.get("query") or "")
    return identity.referenced_ids(query) if "@{" in query else ()


def _parts(definition_id: str, by_id: Mapping[str, MonitorSpec]) -> list[str]:
    return [i for i, m in by_id.items() if m.part_of == definition_id]


def _base_id(definition_id: str) -> str:
    """The id written in the file: ``<id>/<service>:<part>`` → ``<id>``."""
    return definition_id.split(identity.PART_SEPARATOR, 1)[0].split("/", 1)[0]
