"""What the commands that talk to Datadog share: loading the project, and opening a connection
(to Datadog, or to the embedded emulator with ``--emulator``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from provisioner.config import load_config, select_environment
from provisioner.credentials import Target, resolve_target
from provisioner.datadog.client import ClientSettings, DatadogClient
from provisioner.definitions import load_definitions
from provisioner.model import DefinitionSet, Environment, ProjectConfig
from provisioner.report.problems import format_problems

EMULATOR_STATE = Path(".provisioner") / "emulator-state.json"


@dataclass(frozen=True)
class Project:
    config: ProjectConfig
    environment: Environment
    definitions: DefinitionSet

    @property
    def namespace(self) -> str:
        return self.environment.namespace


def load_project(paths: Sequence[Path], env: str | None, config_path: Path | None) -> Project:
    """Config, environment and definitions; problems are printed to stderr (callers check ``ok``)."""
    config = load_config(config_path)
    environment = select_environment(config, env)
    definitions = load_definitions(list(paths), environment)
    if definitions.problems:
        typer.echo(format_problems(definitions.problems, "text"), err=True)
    return Project(config, environment, definitions)


@contextmanager
def datadog_connection(
    environment: Environment, use_emulator: bool, api_url: str | None, concurrency: int = 8
) -> Iterator[DatadogClient]:
    settings = ClientSettings(concurrency=concurrency)
    if not use_emulator:
        with DatadogClient(resolve_target(environment, api_url), settings) as client:
            yield client
        return
    from provisioner.emulator import EmulatorConfig, start_emulator

    EMULATOR_STATE.parent.mkdir(parents=True, exist_ok=True)
    running = start_emulator(EmulatorConfig(state_path=EMULATOR_STATE))
    try:
        typer.echo(f"Using the embedded Datadog emulator (org kept in {EMULATOR_STATE}).", err=True)
        with DatadogClient(Target(running.base_url, "emulator", "emulator"), settings) as client:
            yield client
    finally:
        running.stop()


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def styler(enabled: bool) -> object:
    def style(text: str, colour: str) -> str:
        return typer.style(text, fg=colour) if enabled else text

    return style
