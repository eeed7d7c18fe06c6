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
    """A copy of ``value`` with variables replaced; names in ``keep`` are left for a later pass."""
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
        return {key: _substitute(item, variables, unknown, keep, (path, key)) for key, item in value.items()}
    if value.__class__ is list:
        return [_substitute(item, variables, unknown, keep, (path, i)) for i, item in enumerate(value)]
    return value


def _substitute_text(
    text: str,
    variables: Mapping[str, str],
    unknown: list[UnknownVariable],
    keep: frozenset[str],
    path: NodePath,
) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if name in keep:
            return match.group(0)
        if escaped:
            return "${" + name + "}"
        if name in variables:
            return variables[name]
        unknown.append(UnknownVariable(path_pointer(path), name))
        return match.group(0)

    return _VARIABLE.sub(replace, text)
