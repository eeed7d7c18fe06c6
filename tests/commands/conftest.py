"""The real CLI, driven through typer's runner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from provisioner.cli import app


class Cli:
    def __call__(self, *args: str) -> tuple[int, str]:
        """Exit code and everything printed (stdout and stderr)."""
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    def json(self, *args: str) -> tuple[int, dict]:
        """Exit code and the JSON document printed on stdout."""
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()
