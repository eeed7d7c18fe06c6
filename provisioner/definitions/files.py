"""Which files hold definitions: the paths given (files, or folders searched for *.yaml / *.yml), or by
default the monitors/ and dashboards/ folders of the current directory. A ``tests`` folder inside a
searched folder holds monitor tests (``provisioner test``), not definitions, and is not searched."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from provisioner.model import Problem

DEFAULT_FOLDERS = ("monitors", "dashboards")
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
TESTS_FOLDER = "tests"  # inside a searched folder: monitor tests (provisioner test), not definitions


def find_definition_files(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    if not paths:
        paths = [Path(folder) for folder in DEFAULT_FOLDERS if Path(folder).is_dir()]
        if not paths:
            message = "no monitors/ or dashboards/ folder in the current directory"
            hint = "run from the repository root, or pass definition files or folders"
            return [], [Problem(".", 1, 1, "", "no-definitions", "error", message, hint)]
    files: dict[Path, Path] = {}
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            for found in _yaml_files(path):
                files.setdefault(Path(os.path.abspath(found)), found)
        elif path.is_file():
            files.setdefault(Path(os.path.abspath(path)), path)
        else:
            hint = "pass existing definition files or folders"
            problems.append(
                Problem(
                    display_path(path), 1, 1, "", "path-not-found", "error", "no such file or folder", hint
                )
            )
    return list(files.values()), problems


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix in YAML_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and TESTS_FOLDER not in path.relative_to(folder).parts[:-1]
    )


def display_path(path: Path) -> str:
    """The path relative to the current directory when it is below it, else as given."""
    absolute, here = os.path.abspath(path), os.getcwd()
    if absolute.startswith(here + os.sep):
        return Path(absolute[len(here) + 1 :]).as_posix()
    return path.as_posix()
