"""The project config (provisioner.yaml): environments, their defaults, and the team's mesh services.

Credentials are not read here: they come from the environment, and the lead's code owns them. With a
cache directory, the checked contents are kept there (``definitions/cache.py``): a run that reads the same
provisioner.yaml again loads no YAML reader and no schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.definitions.cache import cached_reading
from provisioner.definitions.files import read_text
from provisioner.definitions.findings import did_you_mean
from provisioner.definitions.pointers import join_pointer
from provisioner.errors import UserError
from provisioner.model import CollectionModes, Environment, Json, Problem, ProjectConfig
from provisioner.report.problems import format_problems

if TYPE_CHECKING:
    from provisioner.definitions.source import SourceDocument

DEFAULT_CONFIG_FILE = Path("provisioner.yaml")
IMPLICIT_ENVIRONMENT = "default"
DEFAULT_NAMESPACE = "default"


def load_config(path: Path | None, cache_directory: Path | None = None) -> ProjectConfig:
    """The config at ``path``; with ``cache_directory``, its checked contents are kept there.

    None: ./provisioner.yaml if it exists, else a config with one implicit environment named "default".
    """
    if path is None:
        if not DEFAULT_CONFIG_FILE.is_file():
            return _implicit_config()
        path = DEFAULT_CONFIG_FILE
    if not path.is_file():
        raise UserError(f"config file {path} not found", "pass an existing file with --config")
    text, problem = read_text(path, str(path))
    if problem is not None:
        raise _invalid(path, [problem])
    if cache_directory is None:
        data = _checked_data(path, text)
    else:
        data = cached_reading(cache_directory, "config", str(path), text, lambda: _checked_data(path, text))
    config = _build_config(str(path), data)
    return replace(config, warnings=_shared_namespace_warnings(path, text, config.environments))


def select_environment(config: ProjectConfig, name: str | None) -> Environment:
    """The environment named by --env; None: the config's default (or its only one)."""
    if name is None:
        name = config.default_environment
        if name is None and len(config.environments) == 1:
            name = next(iter(config.environments))
        if name is None:
            raise UserError(
                f"{config.path} defines several environments and no default_environment",
                f"pass --env with one of: {', '.join(sorted(config.environments))}",
            )
    if name not in config.environments:
        known = sorted(config.environments)
        where = config.path or "the project (no provisioner.yaml)"
        raise UserError(f"unknown environment '{name}' in {where}", did_you_mean(name, known))
    return config.environments[name]


def _implicit_config() -> ProjectConfig:
    implicit = Environment(name=IMPLICIT_ENVIRONMENT, namespace=DEFAULT_NAMESPACE)
    return ProjectConfig(path=None, environments={IMPLICIT_ENVIRONMENT: implicit}, default_environment=None)


def _checked_data(path: Path, text: str) -> dict[str, Json]:
    """The config file's data, or a UserError naming every problem in it."""
    from provisioner.definitions.source import parse_documents  # the YAML reader: not when the cache has it

    documents, problems = parse_documents(text, str(path))
    if len(documents) > 1:
        second = documents[1].problem("", "config-documents", "the config file must hold one YAML document")
        problems = [*problems, second]
    elif documents and not problems:
        problems = _config_problems(documents[0])
    if problems:
        raise _invalid(path, problems)
    return documents[0].data if documents else {}  # a mapping: _config_problems says so otherwise


def _invalid(path: Path, problems: list[Problem]) -> UserError:
    return UserError(f"invalid config file {path}:\n{format_problems(problems, 'text')}")


def _config_problems(document: SourceDocument) -> list[Problem]:
    from provisioner.definitions.schema import CONFIG_SCHEMA, check_schema

    if not isinstance(document.data, dict):
        return [document.problem("", "wrong-type", "the config file must be a mapping")]
    problems = [
        document.problem(f.pointer, f.code, f.message, f.hint, f.severity, key=f.at_key)
        for f in check_schema(CONFIG_SCHEMA, document.data)
    ]
    if problems:
        return problems
    problems.extend(_site_problems(document))
    default = document.data.get("default_environment")
    environments = document.data.get("environments") or {}
    if default is not None and default not in environments:
        message = f"default_environment '{default}' is not one of the environments"
        hint = did_you_mean(default, environments) or "add it under environments:"
        problems.append(document.problem("/default_environment", "unknown-environment", message, hint))
    return problems


def _site_problems(document: SourceDocument) -> list[Problem]:
    """Sites are checked by the one place that resolves them (credentials.resolve_site)."""
    from provisioner.credentials import resolve_site

    problems = []
    for name, settings in (document.data.get("environments") or {}).items():
        site = (settings or {}).get("site")
        if not isinstance(site, str):
            continue
        try:
            resolve_site(site)
        except UserError as exc:
            pointer = join_pointer("/environments", name, "site")
            problems.append(document.problem(pointer, "unknown-site", exc.message, exc.hint))
    return problems


def _shared_namespace_warnings(
    path: Path, text: str, environments: Mapping[str, Environment]
) -> tuple[Problem, ...]:
    """Environments that send to the same endpoint and manage the same namespace: if that is one Datadog
    org, both claim the same monitors and every sync of one undoes the other's settings."""
    from provisioner.credentials import resolve_endpoint

    first_with: dict[tuple[str, str], str] = {}
    clashes: list[tuple[Environment, str, str]] = []
    for environment in environments.values():
        api_url = resolve_endpoint(environment, env={}).api_url  # the config alone, not DD_SITE
        first = first_with.setdefault((api_url, environment.namespace), environment.name)
        if first != environment.name:
            clashes.append((environment, first, api_url))
    if not clashes:
        return ()
    from provisioner.definitions.source import parse_documents  # only to say where: rarely needed

    [document], _ = parse_documents(text, str(path))
    return tuple(_shared_namespace_warning(document, *clash) for clash in clashes)


def _shared_namespace_warning(
    document: SourceDocument, environment: Environment, first: str, api_url: str
) -> Problem:
    name, namespace = environment.name, environment.namespace
    settings = document.data["environments"][name] or {}
    pointer = join_pointer("/environments", name, *(["namespace"] if "namespace" in settings else []))
    message = (
        f"environments '{first}' and '{name}' both manage namespace '{namespace}' at {api_url}: if that is "
        f"one Datadog org, each claims the other's monitors and every sync of one undoes the other's settings"
    )
    hint = (
        f"give each environment its own namespace, e.g. `namespace: {namespace}-{name}` under {name}; "
        "separate orgs on one site do not fight, but their own namespaces cost nothing and end this warning"
    )
    return document.problem(pointer, "shared-namespace", message, hint, "warning", key=True)


def _build_config(path: str, data: Mapping[str, Any]) -> ProjectConfig:
    from provisioner.mesh.catalogue import DEFAULT_MODES

    namespace = data.get("namespace") or DEFAULT_NAMESPACE
    modes = with_modes(DEFAULT_MODES, data.get("istio"))
    environments = {
        name: _environment(name, settings or {}, namespace, modes)
        for name, settings in (data.get("environments") or {}).items()
    }
    if not environments:
        implicit = Environment(name=IMPLICIT_ENVIRONMENT, namespace=namespace, istio=modes)
        environments = {IMPLICIT_ENVIRONMENT: implicit}
    return ProjectConfig(
        path=path,
        environments=environments,
        default_environment=data.get("default_environment"),
        services=tuple(data.get("services") or ()),
    )


def _environment(
    name: str, settings: Mapping[str, Any], namespace: str, modes: CollectionModes
) -> Environment:
    return Environment(
        name=name,
        site=settings.get("site"),
        api_url=settings.get("api_url"),
        namespace=settings.get("namespace") or namespace,
        tags=tuple(settings.get("tags") or ()),
        notify=tuple(settings.get("notify") or ()),
        variables={key: _variable_text(value) for key, value in (settings.get("variables") or {}).items()},
        istio=with_modes(modes, settings.get("istio")),
    )


def with_modes(modes: CollectionModes, setting: Json) -> CollectionModes:
    """``modes`` changed by an ``istio:`` setting: a plain mode sets the Istio check's two collectors (data
    plane and control plane), a mapping sets the collectors it names. Its ``set_up`` adds to the set-up
    already declared (an environment's declaration joins the project's: it cannot take one back)."""
    if isinstance(setting, str):
        return replace(modes, data_plane=setting, control_plane=setting)  # type: ignore[arg-type]
    if isinstance(setting, Mapping):
        set_up = tuple(sorted({*modes.set_up, *(setting.get("set_up") or ())}))
        return replace(modes, **{**setting, "set_up": set_up})
    return modes


def _variable_text(value: Json) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
