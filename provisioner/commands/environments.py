"""``provisioner environments``: the environments of provisioner.yaml, in the order they are declared.

CI reads this list to run one plan per environment and to apply them one after another in this order.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from provisioner.config import load_config

FORMAT_VERSION = 1


def environments(config_path: Path | None, output_format: str) -> int:
    config = load_config(config_path)
    names = list(config.environments)
    if output_format == "json":
        document = {
            "format_version": FORMAT_VERSION,
            "default_environment": config.default_environment,
            "environments": names,
        }
        # One line, so that a workflow step can hand it on through $GITHUB_OUTPUT as it is.
        typer.echo(json.dumps(document, separators=(",", ":")))
    else:
        typer.echo("\n".join(names))
    return 0
