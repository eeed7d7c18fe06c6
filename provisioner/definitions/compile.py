"""A raw definition to the specs one environment gets: resolve, check each effective definition against its
kind's schema (rules that span layers, e.g. an option set in an override that conflicts with one in the
base), compile by kind, check the result."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import replace

from provisioner.definitions.documents import DASHBOARD_KIND, RawDefinition
from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds import MONITOR_KINDS
from provisioner.definitions.kinds.base import CompileContext
from provisioner.definitions.kinds.dashboard import compile_dashboard
from provisioner.definitions.pointers import split_pointer
from provisioner.definitions.resolve import ResolvedDefinition, resolve
from provisioner.definitions.rules import check_monitor
from provisioner.definitions.schema import KIND_SCHEMAS, check_schema
from provisioner.model import DashboardSpec, Environment, Json, MonitorSpec, Problem, SourceLocation

Spec = MonitorSpec | DashboardSpec


def compile_definition(
    raw: RawDefinition, environment: Environment, known_environments: Collection[str] = ()
) -> tuple[list[Spec], list[Problem]]:
    resolved, problems = resolve(raw, environment, known_environments)
    specs: list[Spec] = []
    for definition in resolved:
        effective = check_schema(KIND_SCHEMAS[raw.kind], definition.fields)
        if effective:
            problems.extend(definition.problem(finding) for finding in effective)
            continue
        spec, spec_problems = _compile(definition, environment)
        specs.append(spec)
        problems.extend(spec_problems)
    return specs, problems


def semantic_problems_despite_schema(
    raw: RawDefinition, environment: Environment, known_environments: Collection[str] = ()
) -> list[Problem]:
    """What the semantic checks find in a definition its schema rejects: they run on the definition
    without the rejected values, and report only what is not at, above or below one of them (a value the
    schema rejected is the one problem there). Nothing when a required field or the kind itself is wrong."""
    pruned = _without(raw.data, raw.rejected)
    if pruned is None or raw.kind not in KIND_SCHEMAS or check_schema(KIND_SCHEMAS[raw.kind], pruned):
        return []
    _, problems = compile_definition(replace(raw, data=pruned, rejected=()), environment, known_environments)
    rejected = [raw.pointer + pointer for pointer in raw.rejected]
    return [p for p in problems if not any(_related(p.pointer, pointer) for pointer in rejected)]


def _without(data: Json, pointers: Collection[str]) -> dict[str, Json] | None:
    """A copy of the definition without the mapping keys that hold the rejected values (a list is removed
    whole, so the positions of what remains do not move); None when the definition itself is rejected."""
    pruned = copy.deepcopy(data)
    for pointer in pointers:
        tokens = split_pointer(pointer)
        parent, key = None, None
        node = pruned
        for token in tokens:
            if isinstance(node, dict) and token in node:
                parent, key, node = node, token, node[token]
            else:
                break
            if isinstance(node, list):
                break
        if parent is None:
            return None
        parent.pop(key, None)
    return pruned


def _related(pointer: str, rejected: str) -> bool:
    return pointer == rejected or pointer.startswith(rejected + "/") or rejected.startswith(pointer + "/")


def _compile(definition: ResolvedDefinition, environment: Environment) -> tuple[Spec, list[Problem]]:
    if definition.raw.kind == DASHBOARD_KIND:
        return _dashboard(definition)
    return _monitor(definition, environment)


def _monitor(definition: ResolvedDefinition, environment: Environment) -> tuple[MonitorSpec, list[Problem]]:
    kind = MONITOR_KINDS[definition.raw.kind]
    compiled = kind.compile(definition.fields, CompileContext(environment, definition.service))
    findings = [
        *compiled.findings,
        *(_in_fields(f, kind.field_pointer) for f in check_monitor(compiled.body)),
    ]
    spec = MonitorSpec(
        definition_id=definition.definition_id,
        kind=kind.name,
        body=compiled.body,
        source=_source(definition),
        keep_drift=bool(definition.fields.get("keep_drift", False)),
        adopt_id=definition.fields.get("adopt"),
        signal=compiled.signal,
        services=compiled.services,
    )
    return spec, [definition.problem(f) for f in findings]


def _in_fields(finding: Finding, field_pointer: Callable[[str], str]) -> Finding:
    pointer = field_pointer(finding.pointer)
    return Finding(pointer, finding.code, finding.message, finding.hint, finding.severity, finding.at_key)


def _dashboard(definition: ResolvedDefinition) -> tuple[DashboardSpec, list[Problem]]:
    compiled = compile_dashboard(definition.fields)
    spec = DashboardSpec(
        definition_id=definition.definition_id,
        body=compiled.body,
        source=_source(definition),
        keep_drift=bool(definition.fields.get("keep_drift", False)),
        adopt_id=definition.fields.get("adopt"),
    )
    return spec, [definition.problem(f) for f in compiled.findings]


def _source(definition: ResolvedDefinition) -> SourceLocation:
    document = definition.raw.document
    layer = definition.layers[0] if definition.service is not None else ""
    line, col = document.locate(definition.raw.pointer + layer)
    return SourceLocation(document.path, line, col)
