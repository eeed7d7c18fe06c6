"""``${name}`` substitution in definition values (keys are left alone).

``$${name}`` writes a literal ``${name}``.

Variables come from the environment (provisioner.yaml), plus the built-ins ``${env}`` and ``${namespace}``,
and ``${service}`` inside a definition expanded per service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.definitions.pointers import NodePath, path_pointer
from provisioner.model import Environment, Json

_VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
SERVICE_VARIABLE = "service"
_WALKED = (str, dict, list)  # what can hold a variable


@dataclass(frozen=True)
class UnknownVariable:
    pointer: str
    name: str


def environment_variables(environment: Environment) -> dict[str, str]:
    return {**environment.variables, "env": environment.name, "namespace": environment.namespace}


def substitute(
    value: Json,
    variables: Mapping[str, str],
    unknown: list[UnknownVariable],
    keep: frozenset[str] = frozenset(),
) -> Json:
    """``value`` with variables replaced; names in ``keep`` are left for a later pass. Only what changes is
    copied: a mapping or list that holds no variable is returned as it is (the caller copies before it
    changes one)."""
    return _substitute(value, variables, unknown, keep, None)


def _substitute(
    value: Json,
    variables: Mapping[str, str],
    unknown: list[UnknownVariable],
    keep: frozenset[str],
    path: NodePath,
) -> Json:
    if value.__class__ is str:
        return _substitute_text(value, variables, unknown, keep, path) if "$" in value else value
    if value.__class__ is dict:
        return _substitute_mapping(value, variables, unknown, keep, path)
    if value.__class__ is list:
        return _substitute_list(value, variables, unknown, keep, path)
    return value


# The two walks below test a string for "$" in place: most values are plain strings or numbers, and a call
# per value was most of the cost of resolving a definition.


def _substitute_mapping(
    mapping: dict[str, Json],
    variables: Mapping[str, str],
    unknown: list[UnknownVariable],
    keep: frozenset[str],
    path: NodePath,
) -> dict[str, Json]:
    changed: dict[str, Json] | None = None
    for key, item in mapping.items():
        if item.__class__ is str and "$" not in item or item.__class__ not in _WALKED:
            continue
        new = _substitute(item, variables, unknown, keep, (path, key))
        if new is not item:
            if changed is None:
                changed = dict(mapping)
            changed[key] = new
    return mapping if changed is None else changed


def _substitute_list(
    items: list[Json],
    variables: Mapping[str, str],
    unknown: list[UnknownVariable],
    keep: frozenset[str],
    path: NodePath,
) -> list[Json]:
    changed: list[Json] | None = None
    for index, item in enumerate(items):
        if item.__class__ is str and "$" not in item or item.__class__ not in _WALKED:
            continue
        new = _substitute(item, variables, unknown, keep, (path, index))
        if new is not item:
            if changed is None:
                changed = list(items)
            changed[index] = new
    return items if changed is None else changed


def _substitute_text(
    text: str,
    variables: Mapping[str, str],
    unknown: list[UnknownVariable],
    keep: frozenset[str],
    path: NodePath,
) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if name in keep:
            return match.group(0)
        if escaped:
            return "${" + name + "}"
        if name in variables:
            return variables[name]
        unknown.append(UnknownVariable(path_pointer(path), name))
        return match.group(0)

    return _VARIABLE.sub(replace, text)
