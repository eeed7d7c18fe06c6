"""Definitions: YAML files in git → validated, compiled Datadog payloads (``MonitorSpec``/``DashboardSpec``).

``load_definitions`` never raises for bad input: every problem is collected into the ``DefinitionSet``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from provisioner.definitions.compile import compile_definition, semantic_problems_despite_schema
from provisioner.definitions.documents import RawDefinition, duplicate_id_problems, split_definitions
from provisioner.definitions.files import display_path, find_definition_files
from provisioner.definitions.source import read_documents
from provisioner.model import DashboardSpec, DefinitionSet, Environment, MonitorSpec, Problem, ProjectConfig
from provisioner.report.problems import problem_order

__all__ = ["load_definitions"]


def load_definitions(
    paths: Sequence[Path], environment: Environment, config: ProjectConfig | None = None
) -> DefinitionSet:
    """Every definition under ``paths`` (default: ./monitors and ./dashboards), compiled for ``environment``.

    ``config`` adds its services to ``DefinitionSet.services`` and lets overrides for unknown environments
    be reported. Only definitions without errors produce specs.
    """
    with _garbage_collection_paused():
        return _load(paths, environment, config)


@contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """Definitions keep their YAML node trees (to locate problems lazily); with the collector on, every
    few thousand new nodes trigger a scan of all of them, which more than doubles the load time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(paths: Sequence[Path], environment: Environment, config: ProjectConfig | None) -> DefinitionSet:
    files, problems = find_definition_files(paths)
    raws: list[RawDefinition] = []
    excluded: set[int] = set()  # definitions checked for problems but never compiled into specs
    displays: list[str] = []
    for file in files:
        display = display_path(file)
        displays.append(display)
        documents, file_problems = read_documents(file, display)
        problems.extend(file_problems)
        first = len(raws)
        unreadable = {p.pointer for p in file_problems}  # the reader said what is wrong there already
        for document in documents:
            definitions, definition_problems = split_definitions(document)
            raws.extend(definitions)
            problems.extend(p for p in definition_problems if p.pointer not in unreadable)
        if any(p.severity == "error" for p in file_problems):  # e.g. a duplicate key: which value is meant?
            excluded.update(range(first, len(raws)))
    duplicates, duplicated = duplicate_id_problems(raws)
    problems.extend(duplicates)
    monitors, dashboards = _compile_all(raws, excluded | duplicated, environment, config, problems)
    services = set(config.services if config else ()) | {s for m in monitors for s in m.services}
    return DefinitionSet(
        monitors=tuple(monitors),
        dashboards=tuple(dashboards),
        problems=tuple(sorted(dict.fromkeys(problems), key=problem_order)),
        files=tuple(displays),
        services=tuple(sorted(services)),
    )


def _compile_all(
    raws: list[RawDefinition],
    excluded: set[int],
    environment: Environment,
    config: ProjectConfig | None,
    problems: list[Problem],
) -> tuple[list[MonitorSpec], list[DashboardSpec]]:
    known_environments = tuple(config.environments) if config and config.path else ()
    monitors: list[MonitorSpec] = []
    dashboards: list[DashboardSpec] = []
    for index, raw in enumerate(raws):
        if not raw.valid:
            problems.extend(semantic_problems_despite_schema(raw, environment, known_environments))
            continue
        specs, spec_problems = compile_definition(raw, environment, known_environments)
        problems.extend(spec_problems)
        if index in excluded or any(p.severity == "error" for p in spec_problems):
            continue
        monitors.extend(s for s in specs if isinstance(s, MonitorSpec))
        dashboards.extend(s for s in specs if isinstance(s, DashboardSpec))
    return monitors, dashboards
