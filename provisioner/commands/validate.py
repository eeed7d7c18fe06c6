"""``provisioner validate``: check definitions (YAML, JSON Schema, semantic rules) without Datadog."""

from __future__ import annotations

from pathlib import Path

import typer

from provisioner.config import load_config, select_environment
from provisioner.definitions import load_definitions
from provisioner.definitions.cache import default_cache_directory
from provisioner.report.problems import format_problems, format_summary, validate_json


def validate(paths: list[Path], env: str | None, config_path: Path | None, output_format: str) -> int:
    """Print every problem (sorted) and a summary; 1 when there is an error, 0 otherwise."""
    cache_directory = default_cache_directory()
    config = load_config(config_path, cache_directory)
    environment = select_environment(config, env)
    definitions = load_definitions(paths, environment, config, cache_directory)
    if output_format == "json":
        report = validate_json(definitions.problems, len(definitions.files))
    else:
        report = format_problems(definitions.problems, output_format)
    if report:
        typer.echo(report)
    summary = format_summary(definitions.problems, len(definitions.files))
    typer.echo(summary, err=output_format == "json")
    return 0 if definitions.ok else 1
