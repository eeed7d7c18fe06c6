"""``provisioner render``: print the compiled Datadog payloads as JSON, exactly what apply would send."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from provisioner.config import load_config, select_environment
from provisioner.definitions import load_definitions
from provisioner.identity import marked_dashboard_body, marked_monitor_body
from provisioner.mesh.catalogue import modes_of
from provisioner.model import DefinitionSet, Environment, Json
from provisioner.report.problems import format_problems, format_summary


def render(paths: list[Path], env: str | None, config_path: Path | None) -> int:
    config = load_config(config_path)
    environment = select_environment(config, env)
    definitions = load_definitions(paths, environment, config)
    if definitions.problems:
        typer.echo(format_problems(definitions.problems, "text"), err=True)
    if not definitions.ok:
        typer.echo(format_summary(definitions.problems, len(definitions.files)), err=True)
        return 1
    typer.echo(json.dumps(rendered_payloads(definitions, environment), indent=2))
    return 0


def rendered_payloads(definitions: DefinitionSet, environment: Environment) -> dict[str, Json]:
    namespace = environment.namespace
    return {
        "environment": environment.name,
        "namespace": namespace,
        "istio": modes_of(environment).as_dict(),  # the collection modes the mesh queries are compiled for
        "monitors": [
            {
                "definition_id": spec.definition_id,
                "kind": spec.kind,
                "source": f"{spec.source.path}:{spec.source.line}",
                "payload": marked_monitor_body(spec, namespace),
            }
            for spec in definitions.monitors
        ],
        "dashboards": [
            {
                "definition_id": spec.definition_id,
                "kind": "dashboard",
                "source": f"{spec.source.path}:{spec.source.line}",
                "payload": marked_dashboard_body(spec, namespace),
            }
            for spec in definitions.dashboards
        ],
    }
