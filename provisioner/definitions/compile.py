"""A raw definition to the specs one environment gets: resolve, compile by kind, check the result."""

from __future__ import annotations

from collections.abc import Callable, Collection

from provisioner.definitions.documents import DASHBOARD_KIND, RawDefinition
from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds import MONITOR_KINDS
from provisioner.definitions.kinds.base import CompileContext
from provisioner.definitions.kinds.dashboard import compile_dashboard
from provisioner.definitions.resolve import ResolvedDefinition, resolve
from provisioner.definitions.rules import check_monitor
from provisioner.model import DashboardSpec, Environment, MonitorSpec, Problem, SourceLocation

Spec = MonitorSpec | DashboardSpec


def compile_definition(
    raw: RawDefinition, environment: Environment, known_environments: Collection[str] = ()
) -> tuple[list[Spec], list[Problem]]:
    resolved, problems = resolve(raw, environment, known_environments)
    specs: list[Spec] = []
    for definition in resolved:
        spec, spec_problems = _compile(definition, environment)
        specs.append(spec)
        problems.extend(spec_problems)
    return specs, problems


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
