"""Composite monitors and the monitors they combine, between definitions (``@{<definition id>}``) and
Datadog (numeric monitor ids).

- **Plan** compares a composite in the definitions' form on both sides: a live composite's numeric ids
  are translated back to ``@{<definition id>}`` through this namespace's marks (``desired_form``), and
  so are the raw Datadog ids a definition's query names where they are this namespace's monitors
  (``referenced_form``: an imported composite may name its parts by id). Fingerprints and diffs are
  computed on the placeholder form, and re-creating a part is not a change of the composite.
- **Apply** writes in dependency waves (``write_in_waves``): the monitors a composite combines first,
  then the composite with their Datadog ids put in (those just created included). A composite whose
  monitors could not be written is not sent. Deletes run in reverse (``delete_waves``): composites
  first, since Datadog refuses to delete a monitor a composite still uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from provisioner import identity
from provisioner.changes import LiveResource, Outcome, OutcomeStatus, PlannedChange
from provisioner.model import JsonObject, MonitorSpec

_COMPOSITE = "composite"
_MONITOR_ID = re.compile(r"(?<![\w@{.])\d+(?![\w}.])")

RunWave = Callable[[Sequence[PlannedChange]], list[Outcome]]
Report = Callable[[PlannedChange, OutcomeStatus, str], Outcome]


def live_ids(
    monitors: Sequence[LiveResource],
    namespace: str,
    specs: Sequence[MonitorSpec] = (),
    marks: Mapping[int | str, identity.Mark | None] | None = None,
) -> dict[str, int | str]:
    """The Datadog id of each of this namespace's monitors, by definition id (the lowest id of copies),
    and of the unmarked monitors definitions adopt. ``marks``: each monitor's mark by Datadog id, when
    the caller has read them already."""
    found: dict[str, int | str] = {}
    unmarked: set[int | str] = set()
    for monitor in sorted(monitors, key=lambda m: (isinstance(m.datadog_id, str), m.datadog_id)):
        mark = marks[monitor.datadog_id] if marks is not None else identity.read_monitor_mark(monitor.body)
        if mark is None:
            unmarked.add(monitor.datadog_id)
        elif mark.namespace == namespace:
            found.setdefault(mark.definition_id, monitor.datadog_id)
    for spec in specs:
        if spec.adopt_id in unmarked and spec.definition_id not in found:
            found[spec.definition_id] = spec.adopt_id
    return found


def desired_form(monitors: Sequence[LiveResource], ids: Mapping[str, int | str]) -> tuple[LiveResource, ...]:
    """The live monitors with each composite's monitor ids written as ``@{<definition id>}`` where a
    definition of this namespace owns them (other ids stay: a hand edit shows as drift)."""
    definitions = _definitions_by_datadog_id(ids)
    return tuple(_in_form(monitor, monitor.body, definitions) for monitor in monitors)


def referenced_form(specs: Sequence[MonitorSpec], ids: Mapping[str, int | str]) -> tuple[MonitorSpec, ...]:
    """The definitions with each raw Datadog id a composite's query names written as ``@{<definition
    id>}`` where it is one of this namespace's monitors: the form ``desired_form`` gives the live side,
    so a composite imported as ``123 && 456`` compares equal to what apply wrote from it. Apply
    resolves the references back to the same ids."""
    definitions = _definitions_by_datadog_id(ids)
    return tuple(_in_form(spec, spec.body, definitions) for spec in specs)


def named_query(query: str, ids: Mapping[str, int | str]) -> str:
    """A composite's query with each Datadog id in ``ids`` (by definition id) written as
    ``@{<definition id>}``; other ids stay as they are."""
    return _named(query, _definitions_by_datadog_id(ids))


def _definitions_by_datadog_id(ids: Mapping[str, int | str]) -> dict[str, str]:
    return {str(datadog_id): definition_id for definition_id, datadog_id in ids.items()}


_Holder = TypeVar("_Holder", LiveResource, MonitorSpec)


def _in_form(holder: _Holder, body: JsonObject, definitions: Mapping[str, str]) -> _Holder:
    query = body.get("query")
    if body.get("type") != _COMPOSITE or not isinstance(query, str):
        return holder
    written = _named(query, definitions)
    return holder if written == query else replace(holder, body={**body, "query": written})


def _named(query: str, definitions: Mapping[str, str]) -> str:
    return _MONITOR_ID.sub(lambda m: _reference(m[0], definitions), query)


def _reference(datadog_id: str, definitions: Mapping[str, str]) -> str:
    definition_id = definitions.get(datadog_id)
    return identity.reference(definition_id) if definition_id is not None else datadog_id


def combined_ids(body: JsonObject) -> tuple[int, ...]:
    """The Datadog ids of the monitors a live composite combines."""
    query = body.get("query")
    if body.get("type") != _COMPOSITE or not isinstance(query, str):
        return ()
    return datadog_ids_in(query)


def datadog_ids_in(query: str) -> tuple[int, ...]:
    """The raw Datadog monitor ids a composite's query names (not its ``@{<definition id>}``)."""
    return tuple(int(found) for found in _MONITOR_ID.findall(query))


def write_waves(changes: Sequence[PlannedChange]) -> list[list[PlannedChange]]:
    """The changes in the order apply writes them: each wave only references monitors of earlier waves
    (or monitors that already exist). Composites cannot combine composites, so there are two waves."""
    written = [c for c in changes if not _references(c)]
    composites = [c for c in changes if _references(c)]
    return [wave for wave in (written, composites) if wave]


def delete_waves(changes: Sequence[PlannedChange]) -> list[list[PlannedChange]]:
    """Deletes in reverse dependency order: composites, then the monitors they combined."""
    composites = [c for c in changes if _is_composite(c.live_body)]
    others = [c for c in changes if not _is_composite(c.live_body)]
    return [wave for wave in (composites, others) if wave]


def write_in_waves(
    changes: Sequence[PlannedChange], known_ids: Mapping[str, int | str], run: RunWave, report: Report
) -> list[Outcome]:
    """Run the writes wave by wave, putting the Datadog ids of referenced monitors (known, or written in
    an earlier wave) into each composite before it is sent."""
    ids = dict(known_ids)
    outcomes: list[Outcome] = []
    for wave in write_waves(changes):
        ready: list[PlannedChange] = []
        for change in wave:
            missing = [i for i in identity.referenced_ids(_query(change.body)) if i not in ids]
            if missing:
                note = f"not sent: {', '.join(missing)} has no Datadog monitor (its write failed)"
                outcomes.append(report(change, "failed", note))
            else:
                ready.append(_resolved(change, ids))
        done = run(ready)
        ids.update({o.change.definition_id: o.datadog_id for o in done if o.status == "ok" and o.datadog_id})
        outcomes.extend(done)
    return outcomes


def validatable(
    changes: Sequence[PlannedChange], known_ids: Mapping[str, int | str]
) -> tuple[list[PlannedChange], list[tuple[PlannedChange, tuple[str, ...]]]]:
    """The changes as Datadog's validate endpoint can judge them (a composite with the Datadog ids of the
    monitors it combines), and the composites it cannot judge yet, with the definition ids of the
    monitors they combine that do not exist yet (apply creates them first)."""
    ready: list[PlannedChange] = []
    waiting: list[tuple[PlannedChange, tuple[str, ...]]] = []
    for change in changes:
        referenced = identity.referenced_ids(_query(change.body))
        missing = tuple(i for i in referenced if i not in known_ids)
        if missing:
            waiting.append((change, missing))
        else:
            ready.append(_resolved(change, known_ids) if referenced else change)
    return ready, waiting


def _resolved(change: PlannedChange, ids: Mapping[str, int | str]) -> PlannedChange:
    return replace(change, body=_with_ids(change.body, ids), live_body=_with_ids(change.live_body, ids))


def _with_ids(body: JsonObject | None, ids: Mapping[str, int | str]) -> JsonObject | None:
    if body is None or not isinstance(body.get("query"), str):
        return body
    query = identity.substitute_references(str(body["query"]), lambda i: str(ids[i]) if i in ids else None)
    return {**body, "query": query}


def _references(change: PlannedChange) -> bool:
    return change.kind == "monitor" and bool(identity.referenced_ids(_query(change.body)))


def _is_composite(body: JsonObject | None) -> bool:
    return body is not None and body.get("type") == _COMPOSITE


def _query(body: JsonObject | None) -> str:
    query = body.get("query") if body is not None else None
    return query if isinstance(query, str) else ""
