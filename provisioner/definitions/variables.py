"""``${name}`` substitution in definition values (keys are left alone).

``$${name}`` writes a literal ``${name}``.

Variables come from the environment (provisioner.yaml), plus the built-ins ``${env}`` and ``${namespace}``,
and ``${service}`` inside a definition expanded per service.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
    """``value`` with variables replaced; names in ``keep`` are left for a later pass. Only what changes is
    copied: a mapping or list that holds no variable is returned as it is (the caller copies before it
    changes one)."""
    if value.__class__ is str:
        return _substitute_text(value, variables, unknown, keep, None) if "$" in value else value
    if value.__class__ is dict:
        return _substitute_in(value, value.items(), variables, unknown, keep, None)
    if value.__class__ is list:
        return _substitute_in(value, enumerate(value), variables, unknown, keep, None)
    return value


def _substitute_in(
    container: dict[str, Json] | list[Json],
    entries: Iterable[tuple[Any, Json]],
    variables: Mapping[str, str],
    unknown: list[UnknownVariable],
    keep: frozenset[str],
    path: NodePath,
) -> Json:
    """A mapping or list (``entries``: its keys or indexes with their items) with variables replaced: the
    container itself when none of its items holds one. A string is tested for "$" here, not in a call per
    value: most values hold no variable, and a call per value was most of the cost."""
    changed: Any = None
    for key, item in entries:
        if item.__class__ is str:
            if "$" not in item:
                continue
            new = _substitute_text(item, variables, unknown, keep, (path, key))
        elif item.__class__ is dict:
            new = _substitute_in(item, item.items(), variables, unknown, keep, (path, key))
        elif item.__class__ is list:
            new = _substitute_in(item, enumerate(item), variables, unknown, keep, (path, key))
        else:
            continue
        if new is not item:
            if changed is None:
                changed = container.copy()
            changed[key] = new
    return container if changed is None else changed


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
