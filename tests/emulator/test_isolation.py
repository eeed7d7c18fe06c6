"""The emulator stands apart: it imports nothing from the rest of provisioner."""

from __future__ import annotations

import ast
from pathlib import Path

import provisioner.emulator

PACKAGE = Path(provisioner.emulator.__file__).parent


def _imported_modules(source: Path) -> list[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level <= 1, f"{source.name}: relative import above the package"
            names.append(
                node.module or "" if node.level == 0 else f"provisioner.emulator.{node.module or ''}"
            )
    return names


def test_emulator_imports_nothing_from_the_rest_of_provisioner() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 10
    offending = [
        f"{module.name}: {name}"
        for module in modules
        for name in _imported_modules(module)
        if name.split(".")[0] == "provisioner" and not name.startswith("provisioner.emulator")
    ]
    assert offending == []


def test_the_import_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from provisioner.model import MonitorSpec\nimport provisioner.errors\n")
    assert _imported_modules(bad) == ["provisioner.model", "provisioner.errors"]
