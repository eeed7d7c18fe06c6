"""Turn live Datadog resources into YAML definition documents that adopt them in place.

Server-set fields and server defaults are left out (``normalize`` decides which, as for plans),
so an imported definition holds only what somebody chose. Each document carries ``adopt: <id>``:
the next plan takes the existing resource over (marks added, same Datadog id) instead of
creating a copy, which keeps its URL, history and links.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from provisioner.changes import LiveResource
from provisioner.engine.references import datadog_ids_in, named_query
from provisioner.identity import strip_dashboard_marks, strip_monitor_marks
from provisioner.model import Json
from provisioner.normalize import canonical_dashboard, canonical_monitor

_MAX_ID_LENGTH = 60

# A recogniser turns a raw monitor document into a mesh-kind document that compiles to the same
# monitor, or returns None; a group recogniser does so for a composite and the monitors it combines
# (raw documents by Datadog id).
Recogniser = Callable[[dict[str, Json]], dict[str, Json] | None]
GroupRecogniser = Callable[[dict[str, Json], dict[int, dict[str, Json]]], dict[str, Json] | None]


@dataclass(frozen=True)
class ImportedDefinition:
    definition_id: str
    kind: str  # the definition kind written ("monitor", "error-rate", ..., "dashboard")
    datadog_id: int | str
    title: str
    document: dict[str, Json]


def import_monitor(live: LiveResource, definition_id: str, recognise: Recogniser | None = None) -> ImportedDefinition:
    raw = monitor_document(live, definition_id)
    document = (recognise(raw) if recognise else None) or raw
    return ImportedDefinition(definition_id, str(document["kind"]), live.datadog_id, live.title, document)


def import_group(
    composite: LiveResource, parts: Sequence[LiveResource], definition_id: str, recognise: GroupRecogniser
) -> ImportedDefinition | None:
    """One definition for a composite and the monitors it combines, when a mesh kind compiles to exactly
    them (error-rate's guard, config-propagation's signals); None otherwise."""
    raws = {int(part.datadog_id): monitor_document(part, definition_id) for part in parts}
    document = recognise(monitor_document(composite, definition_id), raws)
    if document is None:
        return None
    return ImportedDefinition(
        definition_id, str(document["kind"]), composite.datadog_id, composite.title, document
    )


@dataclass(frozen=True)
class UnmanagedParts:
    """An imported composite that combines monitors no definition holds: its ``provisioner test`` cannot
    run (the emulator has no such monitors), and its query keeps their raw Datadog ids."""

    datadog_id: int | str
    title: str
    monitor_ids: tuple[int, ...]


def with_named_parts(
    imported: Sequence[ImportedDefinition], managed: Mapping[str, int | str]
) -> tuple[list[ImportedDefinition], list[UnmanagedParts]]:
    """The imported definitions with each raw composite naming the monitors it combines as ``@{<definition
    id>}`` where a definition holds them (``managed``: Datadog ids by definition id, of this namespace or
    adopted) or this import writes one; and the composites that combine monitors neither holds."""
    ids = {**managed, **{i.definition_id: i.datadog_id for i in imported if i.kind != "dashboard"}}
    named: list[ImportedDefinition] = []
    unmanaged: list[UnmanagedParts] = []
    for item in imported:
        query = item.document.get("query")
        if item.document.get("type") != "composite" or not isinstance(query, str):
            named.append(item)
            continue
        written = named_query(query, ids)
        named.append(replace(item, document={**item.document, "query": written}))
        loose = datadog_ids_in(written)
        if loose:
            unmanaged.append(UnmanagedParts(item.datadog_id, item.title, loose))
    return named, unmanaged


def monitor_document(live: LiveResource, definition_id: str) -> dict[str, Json]:
    body = strip_monitor_marks(live.body)
    canonical = canonical_monitor(body).body
    document: dict[str, Json] = {"kind": "monitor", "id": definition_id, "adopt": live.datadog_id}
    document["name"] = _tidy(canonical.get("name", ""))
    document["type"] = body.get("type")  # as Datadog shows it, not the canonical alias
    for key in ("query", "message", "tags", "priority", "options", "restricted_roles"):
        if key in canonical:
            document[key] = _tidy(canonical[key])
    return document


def import_dashboard(live: LiveResource, definition_id: str) -> ImportedDefinition:
    canonical = canonical_dashboard(strip_dashboard_marks(live.body)).body
    document: dict[str, Json] = {"kind": "dashboard", "id": definition_id, "adopt": live.datadog_id}
    document["title"] = _tidy(canonical.get("title", ""))
    renames = {"layout_type": "layout", "reflow_type": "reflow"}
    for key in ("description", "layout_type", "reflow_type", "tags", "notify_list", "template_variables"):
        if key in canonical:
            document[renames.get(key, key)] = _tidy(canonical[key])
    document["widgets"] = _tidy(canonical.get("widgets", []))
    return ImportedDefinition(definition_id, "dashboard", live.datadog_id, live.title, document)


def _tidy(value: Json) -> Json:
    """Whole floats back to ints (Datadog turns thresholds into floats), for readable YAML; a literal
    ``${`` escaped as ``$${`` so that definitions' variable substitution gives the text back unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, Mapping):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def definition_id_for(title: str, taken: set[str]) -> str:
    """A definition id derived from a title: lowercase, tag-safe, unique among ``taken`` (updated)."""
    base = re.sub(r"[^a-z0-9._-]+", "-", title.lower()).strip("-._")[:_MAX_ID_LENGTH].strip("-._") or "imported"
    candidate, suffix = base, 2
    while candidate in taken:
        candidate = f"{base}-{suffix}"
        suffix += 1
    taken.add(candidate)
    return candidate


def select_monitors(
    monitors: Iterable[LiveResource],
    ids: Iterable[int],
    tags: Iterable[str],
    name_glob: str | None,
    all_unmanaged: bool,
) -> list[LiveResource]:
    """The monitors an import names, by id, tag, name pattern or all; order of the org."""
    wanted_ids = {int(i) for i in ids}
    wanted_tags = set(tags)
    chosen = []
    for monitor in monitors:
        body_tags = set(monitor.body.get("tags") or ())
        if (
            all_unmanaged
            or monitor.datadog_id in wanted_ids
            or (wanted_tags and wanted_tags <= body_tags)
            or (name_glob and fnmatch.fnmatch(monitor.title.lower(), name_glob.lower()))
        ):
            chosen.append(monitor)
    return chosen
