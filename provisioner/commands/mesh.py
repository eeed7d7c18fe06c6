"""``provisioner mesh requirements``: what the cluster and the Datadog Agent must have for every monitor
of the repository to get data, as ready-to-apply snippets, each naming the monitors that need it."""

from __future__ import annotations

from pathlib import Path

import typer

from provisioner.commands._session import load_project
from provisioner.mesh.catalogue import Metric, modes_of
from provisioner.mesh.setup import requirements as setup_requirements
from provisioner.model import DefinitionSet
from provisioner.report.problems import format_summary
from provisioner.report.requirements import format_requirements
from provisioner.signals import dashboard_tag_keys, metric_terms, metric_uses, monitor_queries


def requirements(paths: list[Path], env: str | None, config_path: Path | None, output_format: str) -> int:
    project = load_project(paths, env, config_path)  # problems go to stderr
    definitions = project.definitions
    if not definitions.ok:
        typer.echo(format_summary(definitions.problems, len(definitions.files)), err=True)
        return 1
    modes = modes_of(project.environment)
    found = setup_requirements(
        mesh_metrics_by_definition(definitions), modes, tag_keys_by_definition(definitions)
    )
    typer.echo(format_requirements(project.environment.name, modes, found, output_format))
    return 0


def mesh_metrics_by_definition(definitions: DefinitionSet) -> dict[str, list[Metric]]:
    """The catalogue metrics each definition's monitors query, by the id written in its file (a
    composite's parts and a per-service definition's services count for it)."""
    uses: dict[str, list[Metric]] = {}
    for spec in definitions.monitors:
        metrics = uses.setdefault((spec.part_of or spec.definition_id).split("/")[0], [])
        metrics.extend(found[0].metric for _term, found in metric_uses(spec.body) if found)
    return {definition_id: metrics for definition_id, metrics in uses.items() if metrics}


def tag_keys_by_definition(definitions: DefinitionSet) -> dict[str, set[str]]:
    """The tag keys each definition's queries filter or group by (monitors and dashboards), by the id
    written in its file."""
    keys: dict[str, set[str]] = {}
    for spec in definitions.monitors:
        found = keys.setdefault((spec.part_of or spec.definition_id).split("/")[0], set())
        for term in (t for query in monitor_queries(spec.body) for t in metric_terms(query)):
            found.update(f.key for f in term.filters if not f.negated)
            found.update(term.group_by)
    for dashboard in definitions.dashboards:
        keys.setdefault(dashboard.definition_id, set()).update(dashboard_tag_keys(dashboard.body))
    return keys
