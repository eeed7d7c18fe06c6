"""A raw definition to the concrete definitions one environment gets: variables substituted, the
environment's overrides merged, and one definition per service for a ``services:`` list.

Merging: mappings merge key by key, any other value replaces (null removes). Order, least to most
specific: the definition, ``overrides.<env>``, the service entry. Each concrete definition remembers the
layers it came from, so a problem in a merged value points at the line that set it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from provisioner.definitions.documents import RawDefinition
from provisioner.definitions.findings import Finding, did_you_mean
from provisioner.definitions.pointers import holds, join_pointer, split_pointer
from provisioner.definitions.variables import (
    SERVICE_VARIABLE,
    UnknownVariable,
    environment_variables,
    substitute,
)
from provisioner.model import Environment, Json, Problem

_STRUCTURE = ("overrides", "services")
_KEEP_SERVICE = frozenset({SERVICE_VARIABLE})  # substituted per service, after the environment's variables


@dataclass(frozen=True)
class ResolvedDefinition:
    raw: RawDefinition
    fields: Mapping[str, Json]  # the effective definition (no overrides, no services)
    service: str | None
    layers: tuple[str, ...]  # pointers of the layers that were merged, most specific first; "" is the base

    @property
    def definition_id(self) -> str:
        base = str(self.raw.data["id"])
        return f"{base}/{self.service}" if self.service is not None else base

    def problem(self, finding: Finding) -> Problem:
        """The finding located where the user wrote the value (in the layer that set it)."""
        return self.raw.problem(
            Finding(self.source_pointer(finding.pointer), finding.code, finding.message, finding.hint,
                    finding.severity, finding.at_key)
        )  # fmt: skip

    def source_pointer(self, pointer: str) -> str:
        tokens = split_pointer(pointer)
        while True:
            for layer in self.layers:
                candidate = join_pointer(layer, *tokens)
                if holds(self.raw.data, candidate):
                    return candidate
            if not tokens:
                return self.layers[0] if self.service is not None else ""
            tokens = tokens[:-1]


def resolve(
    raw: RawDefinition, environment: Environment, known_environments: Collection[str] = ()
) -> tuple[list[ResolvedDefinition], list[Problem]]:
    variables = environment_variables(environment)
    unknown: list[UnknownVariable] = []
    expands = "services" in raw.data
    data = substitute(raw.data, variables, unknown, _KEEP_SERVICE if expands else frozenset())
    problems = [raw.problem(_unknown_variable(u, variables, expands)) for u in unknown]
    overrides = data.get("overrides") or {}
    problems.extend(_unknown_environments(raw, overrides, known_environments))
    base = _fields(data)
    layers: tuple[str, ...] = ("",)
    override = overrides.get(environment.name)
    if override is not None:
        base = deep_merge(base, override)
        layers = (join_pointer("/overrides", environment.name), *layers)
    if not expands:
        return [ResolvedDefinition(raw, base, None, layers)], problems
    resolved, service_problems = _expand(raw, base, data["services"], layers)
    return resolved, problems + service_problems


def _fields(data: Mapping[str, Json]) -> Mapping[str, Json]:
    """The definition without its overrides and services: ``data`` itself when it has neither (a
    definition without variables then compiles from the data as written, not a copy)."""
    if "overrides" not in data and "services" not in data:
        return data
    return {key: value for key, value in data.items() if key not in _STRUCTURE}


def _expand(
    raw: RawDefinition, base: Mapping[str, Json], services: list[Json], layers: tuple[str, ...]
) -> tuple[list[ResolvedDefinition], list[Problem]]:
    resolved: list[ResolvedDefinition] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, entry in enumerate(services):
        name = entry if isinstance(entry, str) else str(entry["service"])
        if name in seen:
            finding = Finding(f"/services/{index}", "duplicate-service", f"service '{name}' is listed twice")
            problems.append(raw.problem(finding))
            continue
        seen.add(name)
        settings = {} if isinstance(entry, str) else {k: v for k, v in entry.items() if k != "service"}
        fields = deep_merge(base, settings)
        if "${service}" not in str(fields.get("name", "")):
            fields["name"] = f"{fields.get('name', '')} (${{service}})"
        fields = substitute(fields, {SERVICE_VARIABLE: name}, [])
        resolved.append(ResolvedDefinition(raw, fields, name, (f"/services/{index}", *layers)))
    return resolved, problems


def deep_merge(base: Mapping[str, Json], override: Mapping[str, Json]) -> dict[str, Json]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _unknown_variable(unknown: UnknownVariable, variables: Mapping[str, str], expands: bool) -> Finding:
    known = [*variables, *([SERVICE_VARIABLE] if expands else [])]
    if unknown.name == SERVICE_VARIABLE:
        hint = "${service} exists only in a definition with a services: list"
    else:
        hint = (
            did_you_mean(unknown.name, known)
            or "define it under variables: for the environment in provisioner.yaml"
        )
    return Finding(unknown.pointer, "unknown-variable", f"unknown variable ${{{unknown.name}}}", hint)


def _unknown_environments(
    raw: RawDefinition, overrides: Mapping[str, Json], known_environments: Collection[str]
) -> list[Problem]:
    if not known_environments:
        return []
    return [
        raw.problem(
            Finding(
                join_pointer("/overrides", name),
                "unknown-environment",
                f"no environment named '{name}'",
                did_you_mean(name, known_environments),
                at_key=True,
            )
        )  # fmt: skip
        for name in overrides
        if name not in known_environments
    ]
