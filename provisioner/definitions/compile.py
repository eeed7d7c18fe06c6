"""A definition file (``compile_file``), and each raw definition in it, to the specs one environment gets:
resolve, check each effective definition against its kind's schema (rules that span layers, e.g. an option
set in an override that conflicts with one in the base), compile by kind, check the result."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace

from provisioner import identity
from provisioner.definitions.compiled import CompiledDefinition, CompiledFile
from provisioner.definitions.documents import DASHBOARD_KIND, RawDefinition, split_definitions
from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds import MONITOR_KINDS
from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, MonitorKind
from provisioner.definitions.kinds.dashboard import compile_dashboard
from provisioner.definitions.kinds.mesh import setup_findings
from provisioner.definitions.pointers import related, without_values
from provisioner.definitions.references import Referrer, refers_to_others
from provisioner.definitions.resolve import ResolvedDefinition, resolve
from provisioner.definitions.rules import Facts, check_monitor, composite_part_variables, template_variables
from provisioner.definitions.schema import KIND_SCHEMAS, check_schema
from provisioner.definitions.source import parse_documents
from provisioner.model import DashboardSpec, Environment, Json, MonitorSpec, Problem, SourceLocation

Spec = MonitorSpec | DashboardSpec
COMPOSITE = "composite"  # in ``adopt: {composite: N, <part>: N}``, the key of the composite's Datadog id


def compile_definition(
    raw: RawDefinition, environment: Environment, known_environments: Collection[str] = ()
) -> tuple[list[Spec], list[Problem]]:
    resolved, problems = resolve(raw, environment, known_environments)
    specs: list[Spec] = []
    kind = raw.kind
    for definition in resolved:
        if not _checked_as_written(definition):
            effective = check_schema(KIND_SCHEMAS[kind], definition.fields)
            if effective:
                problems.extend(definition.problem(finding) for finding in effective)
                continue
        if kind == DASHBOARD_KIND:
            dashboard, dashboard_problems = _dashboard(definition, environment)
            specs.append(dashboard)
            problems.extend(dashboard_problems)
        else:
            monitors, monitor_problems = _monitors(definition, MONITOR_KINDS[kind], environment)
            specs.extend(monitors)
            problems.extend(monitor_problems)
    return specs, problems


def _checked_as_written(definition: ResolvedDefinition) -> bool:
    """Whether the effective definition is the raw one, which its schema accepted already (a valid raw
    definition is one the schema check of ``split_definitions`` found nothing in)."""
    return definition.fields is definition.raw.data and definition.raw.valid


def compile_file(
    text: str, display: str, environment: Environment, known_environments: Collection[str] = ()
) -> CompiledFile:
    """A definition file's text to its definitions' specs and problems (what the cache keeps of it)."""
    documents, file_problems = parse_documents(text, display)
    problems = list(file_problems)
    unreadable = {p.pointer for p in file_problems}  # the reader said what is wrong there already
    # a file error (e.g. a duplicate key: which value is meant?) keeps all its definitions from specs
    usable = not any(p.severity == "error" for p in file_problems)
    compiled: list[CompiledDefinition] = []
    for document in documents:
        definitions, definition_problems = split_definitions(document)
        problems.extend(p for p in definition_problems if p.pointer not in unreadable)
        for raw in definitions:
            specs = _specs(raw, environment, known_environments, problems)
            compiled.append(
                CompiledDefinition(raw.id_location(), tuple(specs) if usable else (), _referrer(raw, specs))
            )
    return CompiledFile(tuple(compiled), tuple(problems))


def _referrer(raw: RawDefinition, specs: list[Spec]) -> Referrer | None:
    """Where the definition's query is, when one of its monitors names other definitions."""
    for spec in specs:
        if isinstance(spec, MonitorSpec) and refers_to_others(spec):
            return Referrer.of(raw)
    return None


def _specs(
    raw: RawDefinition, environment: Environment, known_environments: Collection[str], problems: list[Problem]
) -> list[Spec]:
    if not raw.valid:
        problems.extend(semantic_problems_despite_schema(raw, environment, known_environments))
        return []
    specs, spec_problems = compile_definition(raw, environment, known_environments)
    problems.extend(spec_problems)
    if spec_problems and any(p.severity == "error" for p in spec_problems):
        return []
    return specs


def semantic_problems_despite_schema(
    raw: RawDefinition, environment: Environment, known_environments: Collection[str] = ()
) -> list[Problem]:
    """What the semantic checks find in a definition its schema rejects: they run on the definition
    without the rejected values, and report only what is not at, above or below one of them (a value the
    schema rejected is the one problem there). Nothing when a required field or the kind itself is wrong."""
    pruned = without_values(raw.data, raw.rejected)
    if pruned is None or raw.kind not in KIND_SCHEMAS or check_schema(KIND_SCHEMAS[raw.kind], pruned):
        return []
    _, problems = compile_definition(replace(raw, data=pruned, rejected=()), environment, known_environments)
    rejected = [raw.pointer + pointer for pointer in raw.rejected]
    return [p for p in problems if not any(related(p.pointer, pointer) for pointer in rejected)]


def _monitors(
    definition: ResolvedDefinition, kind: MonitorKind, environment: Environment
) -> tuple[list[MonitorSpec], list[Problem]]:
    """The definition's monitor, and the parts its composite combines (``<id>:<part>``)."""
    context = CompileContext(environment, definition.service, definition.definition_id)
    compiled = kind.compile(definition.fields, context)
    findings = _monitor_findings(compiled, kind.field_pointer, context)
    specs = _monitor_specs(definition, context.definition_id, kind.name, compiled)
    return specs, [definition.problem(f) for f in findings]


def _monitor_findings(
    compiled: CompiledMonitor, field_pointer: Callable[[str], str], context: CompileContext
) -> list[Finding]:
    findings = [*compiled.findings, *_checked(compiled.body, field_pointer)]
    queries = _query(compiled.body)
    if compiled.parts:
        # The parts share the definition's thresholds and options (a traffic part's are fixed): checking
        # one is checking them all. A part never notifies: the composite carries the handles.
        findings.extend(_checked(compiled.parts[0].body, field_pointer, notifies=False))
        # The composite's {{tag.name}} variables come from the groups of its parts.
        part_queries = " ".join([_query(part.body) for part in compiled.parts])
        stand_in = {**compiled.body, "type": "query alert", "query": part_queries}
        part_variables = composite_part_variables(len(compiled.parts))
        findings.extend(
            _in_fields(f, field_pointer) for f in template_variables(Facts(stand_in), part_variables)
        )
        queries = f"{queries} {part_queries}"
    findings.extend(_in_fields(f, field_pointer) for f in setup_findings(queries, context.modes))
    return list(dict.fromkeys(findings))


def _query(body: Mapping[str, Json]) -> str:
    return str(body.get("query", ""))


def _monitor_specs(
    definition: ResolvedDefinition, whole: str, kind: str, compiled: CompiledMonitor
) -> list[MonitorSpec]:
    adopt = definition.fields.get("adopt")
    adopt_ids = adopt if isinstance(adopt, dict) else {COMPOSITE: adopt}
    source = _source(definition)
    keep_drift = bool(definition.fields.get("keep_drift", False))
    signal, services = compiled.signal, compiled.services

    def spec(definition_id: str, body: dict[str, Json], adopt: Json, part_of: str | None = None) -> MonitorSpec:
        # in MonitorSpec's field order: keywords cost more, and every monitor is built here
        adopt_id = _adopt_id(adopt)
        return MonitorSpec(definition_id, kind, body, source, keep_drift, signal, services, adopt_id, part_of)

    parts = [
        spec(identity.part_id(whole, part.suffix), part.body, adopt_ids.get(part.suffix), part_of=whole)
        for part in compiled.parts
    ]
    return [spec(whole, compiled.body, adopt_ids.get(COMPOSITE)), *parts]


def _adopt_id(value: Json) -> int | None:
    return value if isinstance(value, int) else None


def _checked(
    body: dict[str, Json], field_pointer: Callable[[str], str], notifies: bool = True
) -> list[Finding]:
    if not body:  # the kind could not build one; its findings say why
        return []
    return [_in_fields(f, field_pointer) for f in check_monitor(body, notifies)]


def _in_fields(finding: Finding, field_pointer: Callable[[str], str]) -> Finding:
    pointer = field_pointer(finding.pointer)
    if pointer == finding.pointer:
        return finding
    return Finding(pointer, finding.code, finding.message, finding.hint, finding.severity, finding.at_key)


def _dashboard(
    definition: ResolvedDefinition, environment: Environment
) -> tuple[DashboardSpec, list[Problem]]:
    compiled = compile_dashboard(definition.fields, environment)
    spec = DashboardSpec(
        definition_id=definition.definition_id,
        body=compiled.body,
        source=_source(definition),
        keep_drift=bool(definition.fields.get("keep_drift", False)),
        adopt_id=definition.fields.get("adopt"),
    )
    return spec, [definition.problem(f) for f in compiled.findings]


def _source(definition: ResolvedDefinition) -> SourceLocation:
    layer = definition.layers[0] if definition.service is not None else ""
    line, col = definition.raw.locate(layer)
    return SourceLocation(definition.raw.document.path, line, col)
