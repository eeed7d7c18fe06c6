"""``provisioner import``: write YAML definitions for existing monitors and dashboards, so that the
next plan adopts them in place (same Datadog id) instead of creating copies."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import typer
import yaml

from provisioner.changes import LiveResource
from provisioner.commands._session import datadog_connection, load_project
from provisioner.definitions.yaml_reader import DefinitionDumper
from provisioner.engine.importer import (
    ImportedDefinition,
    UnmanagedParts,
    definition_id_for,
    import_dashboard,
    import_group,
    import_monitor,
    select_monitors,
    with_named_parts,
)
from provisioner.engine.read import SKIPPED_MONITOR_TYPES
from provisioner.engine.references import combined_ids, live_ids
from provisioner.errors import DatadogError, UserError
from provisioner.identity import Mark, read_dashboard_mark, read_monitor_mark
from provisioner.model import DashboardSpec, Environment, MonitorSpec
from provisioner.recognise import recognise_mesh_group, recognise_mesh_kind
from provisioner.report.colour import colour_enabled, styler

Spec = MonitorSpec | DashboardSpec


@dataclass(frozen=True)
class _Written:
    path: Path
    imported: ImportedDefinition


def import_(
    monitor_ids: list[int],
    dashboard_ids: list[str],
    tags: list[str],
    name_glob: str | None,
    all_unmanaged: bool,
    out: Path,
    dashboards_out: Path,
    overwrite: bool,
    env: str | None,
    config_path: Path | None,
    use_emulator: bool,
    api_url: str | None,
) -> int:
    if not (monitor_ids or dashboard_ids or tags or name_glob or all_unmanaged):
        raise UserError(
            "say what to import",
            hint="use --id N, --dashboard ID, --tag TAG, --name 'PATTERN' or --all-unmanaged",
        )
    project = load_project([], env, config_path, allow_no_definitions=True)
    specs = (*project.definitions.monitors, *project.definitions.dashboards)
    taken = {s.definition_id.split("/")[0] for s in specs}
    adopted = {str(s.adopt_id): s for s in specs if s.adopt_id is not None}  # re-imports keep their id
    defined: dict[str, int | str] = {}  # Datadog ids of the monitors definitions already hold
    problems: list[str] = []  # what was asked for and could not be written: exit 1
    kept: list[str] = []  # already managed, or imported already: left as is, not a failure
    imported: list[ImportedDefinition] = []
    with datadog_connection(project.environment, use_emulator, api_url) as port:
        if monitor_ids or tags or name_glob or all_unmanaged:
            monitors = [m for m in port.list_monitors() if m.body.get("type") not in SKIPPED_MONITOR_TYPES]
            chosen = select_monitors(monitors, monitor_ids, tags, name_glob, all_unmanaged)
            problems += _missing_ids(monitor_ids, monitors)
            managed = [m for m in chosen if read_monitor_mark(m.body) is not None]
            named = [m for m in managed if m.datadog_id in monitor_ids]
            kept += [
                f"monitor {m.datadog_id} is {_managed_as(read_monitor_mark(m.body))}: left as is"
                for m in named
            ]
            if len(managed) > len(named):
                kept.append(f"{len(managed) - len(named)} selected monitor(s) already managed: left as is")
            unmanaged = [m for m in chosen if m not in managed]
            imported += _import_monitors(unmanaged, monitors, project.environment, adopted, taken)
            defined = live_ids(monitors, project.namespace, project.definitions.monitors)
        for dashboard_id in dashboard_ids:
            dashboard = _get_dashboard(port, dashboard_id, problems)
            if dashboard is None:
                continue
            mark = read_dashboard_mark(dashboard.body)
            if mark is not None:
                kept.append(f"dashboard {dashboard_id} is {_managed_as(mark)}: left as is")
                continue
            imported.append(import_dashboard(dashboard, _definition_id(dashboard, adopted, taken)))
    placed = _placed(imported, out, dashboards_out, overwrite, adopted, problems, kept)
    # A composite names as @{id} only the monitors a definition holds or this run writes: a definition
    # left unwritten (its file exists) lends no id.
    named, loose_composites = with_named_parts([item.imported for item in placed], defined)
    written = [_write(_Written(item.path, imported)) for item, imported in zip(placed, named, strict=True)]
    for item in written:
        typer.echo(
            f"✓ {item.imported.kind:<18} {item.path}  ← {item.imported.datadog_id} {item.imported.title!r}"
        )
    for note in kept:
        typer.echo(f"= {note}", err=True)
    written_ids = {item.imported.datadog_id for item in written}
    for composite in loose_composites:
        if composite.datadog_id in written_ids:
            typer.echo(_loose_parts_warning(composite), err=True)
    colour = colour_enabled(sys.stderr)
    for problem in problems:
        typer.echo(styler(colour)(f"✗ {problem}", "red"), err=True, color=colour)
    typer.echo(
        f"Imported {len(written)} definition(s). Next: `provisioner plan` shows them as adoptions "
        "(same Datadog ids); `provisioner apply` takes them over."
    )
    return 1 if problems else 0


def _import_monitors(
    chosen: list[LiveResource],
    org: list[LiveResource],
    environment: Environment,
    adopted: dict[str, Spec],
    taken: set[str],
) -> list[ImportedDefinition]:
    """The chosen monitors as definitions: a composite with the unmanaged monitors it combines as one mesh
    definition when a kind compiles to exactly them (those monitors are then not imported on their own),
    every other monitor as its mesh kind or raw. Recognised in this environment's collection modes."""
    by_id = {m.datadog_id: m for m in org}
    imported: list[ImportedDefinition] = []
    grouped: set[int | str] = set()
    for composite in chosen:
        parts = [by_id[i] for i in combined_ids(composite.body) if i in by_id]
        if not parts or any(read_monitor_mark(p.body) is not None for p in parts):
            continue
        existing = adopted.get(str(composite.datadog_id))
        definition_id = existing.definition_id if existing else definition_id_for(composite.title, set(taken))
        group = import_group(
            composite, parts, definition_id, partial(recognise_mesh_group, environment=environment)
        )
        if group is None:
            continue
        taken.add(definition_id)
        imported.append(group)
        grouped.update({composite.datadog_id, *(p.datadog_id for p in parts)})
    for monitor in chosen:
        if monitor.datadog_id not in grouped:
            definition_id = _definition_id(monitor, adopted, taken)
            imported.append(
                import_monitor(monitor, definition_id, partial(recognise_mesh_kind, environment=environment))
            )
    return imported


def _loose_parts_warning(composite: UnmanagedParts) -> str:
    ids = ", ".join(str(i) for i in composite.monitor_ids)
    options = " ".join(f"--id {i}" for i in composite.monitor_ids)
    return (
        f"warning: composite {composite.datadog_id} {composite.title!r} combines monitor(s) {ids}, which no "
        f"definition holds: its query keeps their Datadog ids and `provisioner test` cannot run it. "
        f"Import them too: `provisioner import {options}` (the composite then names them as @{{<definition id>}})"
    )


def _definition_id(live: LiveResource, adopted: dict[str, Spec], taken: set[str]) -> str:
    existing = adopted.get(str(live.datadog_id))
    return existing.definition_id if existing else definition_id_for(live.title, taken)


def _missing_ids(wanted: list[int], monitors: list[LiveResource]) -> list[str]:
    present = {m.datadog_id for m in monitors}
    return [f"monitor {i} does not exist in this org" for i in wanted if i not in present]


def _get_dashboard(port: object, dashboard_id: str, problems: list[str]) -> LiveResource | None:
    try:
        return port.get_dashboard(dashboard_id)  # type: ignore[attr-defined,no-any-return]
    except DatadogError as exc:
        problems.append(f"dashboard {dashboard_id}: {exc.message}")
        return None


def _placed(
    imported: list[ImportedDefinition],
    out: Path,
    dashboards_out: Path,
    overwrite: bool,
    adopted: dict[str, Spec],
    problems: list[str],
    kept: list[str],
) -> list[_Written]:
    """Where each imported definition will be written; those that will not be are in ``problems`` (a file
    is in the way) or ``kept`` (imported already)."""
    placed = []
    for item in imported:
        folder = dashboards_out if item.kind == "dashboard" else out
        path = folder / f"{item.definition_id}.yaml"
        existing = adopted.get(str(item.datadog_id))
        if existing and Path(existing.source.path).resolve() != path.resolve():
            where = f"{existing.source.path}:{existing.source.line}"
            kept.append(
                f"{item.datadog_id} is already imported as {item.definition_id} in {where}: left as is"
            )
            continue
        if path.exists() and not overwrite:
            problems.append(f"{path} exists; not overwritten (use --overwrite to replace it)")
            continue
        placed.append(_Written(path, item))
    return placed


def _write(item: _Written) -> _Written:
    item.path.parent.mkdir(parents=True, exist_ok=True)
    item.path.write_text(_yaml_of(item.imported), encoding="utf-8")
    return item


def _yaml_of(item: ImportedDefinition) -> str:
    header = (
        f"# Imported from Datadog {'dashboard' if item.kind == 'dashboard' else 'monitor'} {item.datadog_id} by "
        "`provisioner import`.\n"
        "# `adopt` makes the next apply take that resource over in place (same id, URL and history).\n"
    )
    return header + yaml.dump(
        item.document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_NO_WRAP
    )


_NO_WRAP = sys.maxsize  # a long query or name stays on one line: the file reads like the monitor in Datadog


class _Dumper(DefinitionDumper):
    """Multi-line strings as literal blocks, so imported messages read as they do in Datadog."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _managed_as(mark: Mark | None) -> str:
    if mark is None:
        return "already managed by provisioner"
    return f"already managed by provisioner as {mark.definition_id} in namespace {mark.namespace}"
