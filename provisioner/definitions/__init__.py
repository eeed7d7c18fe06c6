"""Definitions: YAML files in git → validated, compiled Datadog payloads (``MonitorSpec``/``DashboardSpec``).

``load_definitions`` never raises for bad input: every problem is collected into the ``DefinitionSet``.
Files are read and compiled one at a time; only specs and ids outlive their file.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from provisioner.definitions.cache import DefinitionCache
from provisioner.definitions.compiled import CompiledDefinition, CompiledFile, duplicate_id_problems
from provisioner.definitions.files import display_path, find_definition_files, read_text
from provisioner.definitions.references import reference_problems
from provisioner.model import DashboardSpec, DefinitionSet, Environment, MonitorSpec, ProjectConfig
from provisioner.report.problems import problem_order

__all__ = ["load_definitions"]


def load_definitions(
    paths: Sequence[Path],
    environment: Environment,
    config: ProjectConfig | None = None,
    cache_directory: Path | None = None,
) -> DefinitionSet:
    """Every definition under ``paths`` (default: ./monitors and ./dashboards), compiled for ``environment``.

    ``config`` adds its services to ``DefinitionSet.services`` and lets overrides for unknown environments
    be reported. Only definitions without errors produce specs. With ``cache_directory``, a file whose
    compiled result is cached there (see cache.py) is not compiled again.
    """
    with _garbage_collection_paused():
        return _load(paths, environment, config, cache_directory)


@contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """Loading creates many small containers and no reference cycles; with the collector on, every few
    thousand new ones trigger a scan of all of them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(
    paths: Sequence[Path],
    environment: Environment,
    config: ProjectConfig | None,
    cache_directory: Path | None,
) -> DefinitionSet:
    files, problems = find_definition_files(paths)
    problems.extend(config.warnings if config else ())  # reported with the definitions' problems
    known_environments = tuple(config.environments) if config and config.path else ()
    cache = DefinitionCache(cache_directory, environment, known_environments) if cache_directory else None
    here = os.getcwd()
    displays = [display_path(file, here) for file in files]
    compiled: list[CompiledDefinition] = []
    for file, display in zip(files, displays, strict=True):
        loaded = _load_file(file, display, environment, known_environments, cache)
        compiled.extend(loaded.definitions)
        problems.extend(loaded.problems)
    if cache is not None:
        cache.save()
    duplicates, duplicated = duplicate_id_problems([c.definition_id for c in compiled])
    problems.extend(duplicates)
    specs = [spec for index, c in enumerate(compiled) if index not in duplicated for spec in c.specs]
    monitors = [spec for spec in specs if isinstance(spec, MonitorSpec)]
    known_ids = {c.definition_id.value for c in compiled if c.definition_id}
    problems.extend(reference_problems(monitors, [c.referrer for c in compiled if c.referrer], known_ids))
    services = set(config.services if config else ()) | {s for m in monitors for s in m.services}
    return DefinitionSet(
        monitors=tuple(monitors),
        dashboards=tuple(spec for spec in specs if isinstance(spec, DashboardSpec)),
        problems=tuple(sorted(dict.fromkeys(problems), key=problem_order)),
        files=tuple(displays),
        services=tuple(sorted(services)),
    )


def _load_file(
    file: Path,
    display: str,
    environment: Environment,
    known_environments: tuple[str, ...],
    cache: DefinitionCache | None,
) -> CompiledFile:
    text, problem = read_text(file, display)
    if problem is not None:
        return CompiledFile((), (problem,))
    if cache is None:
        return _compile_file(text, display, environment, known_environments)
    return cache.compiled(
        display, text, lambda: _compile_file(text, display, environment, known_environments)
    )


def _compile_file(
    text: str, display: str, environment: Environment, known_environments: tuple[str, ...]
) -> CompiledFile:
    # the YAML reader, the schemas, the kinds' compilers and rules load when a file is compiled: not on a
    # run the cache serves whole
    from provisioner.definitions.compile import compile_file

    return compile_file(text, display, environment, known_environments)
