"""Editors and the CLI agree: `provisioner schema` wires the shipped schema so that it reaches every
document of every definition file from where they are, and a document is valid in the editor's view
(YAML 1.2, the shipped schema checked by a reference validator) exactly when `provisioner validate` says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.definitions.schema import EDITOR_SCHEMA, schema_documents
from provisioner.definitions.source import parse_documents

BASE = """\
id: m
kind: monitor
name: latency
type: query alert
query: "avg(last_5m):avg:trace.envoy.proxy.duration{*} > 2"
message: "@slack-mesh"
"""
BASE_DATA = {"id": "m", "kind": "monitor", "name": "latency", "type": "query alert",
             "query": "avg(last_5m):avg:trace.envoy.proxy.duration{*} > 2", "message": "@slack-mesh"}  # fmt: skip
THRESHOLDS = {"thresholds": {"critical": 2}}
# (YAML added to BASE, the fields a YAML 1.2 editor reads from it, whether the schema accepts them)
CASES = [
    ("keep_drift: yes\n", {"keep_drift": "yes"}, False),
    ("keep_drift: true\n", {"keep_drift": True}, True),
    ("options: {notify_no_data: off, thresholds: {critical: 2}}\n", {"options": {"notify_no_data": "off", **THRESHOLDS}}, False),
    ("options: {renotify_interval: 1e3, thresholds: {critical: 2}}\n", {"options": {"renotify_interval": 1000, **THRESHOLDS}}, True),
    ("priority: 1e0\n", {"priority": 1}, True),
    ("tags: [on, no, 0o17]\n", {"tags": ["on", "no", 15]}, False),
    ("tags: [on, no, '0o17']\n", {"tags": ["on", "no", "0o17"]}, True),
    ("options: {new_group_delay: 60, new_host_delay: 60, thresholds: {critical: 2}}\n",
     {"options": {"new_group_delay": 60, "new_host_delay": 60, **THRESHOLDS}}, False),
]  # fmt: skip


def editor_validator() -> Draft202012Validator:
    documents = schema_documents()
    registry = Registry().with_resources((n, Resource.from_contents(c)) for n, c in documents.items())
    return Draft202012Validator(documents[EDITOR_SCHEMA], registry=registry)


@pytest.mark.parametrize(("extra", "editor_fields", "valid"), CASES, ids=[case[0].strip() for case in CASES])
def test_the_cli_and_the_editor_view_agree(
    tmp_path: Path, extra: str, editor_fields: dict[str, Any], valid: bool
) -> None:
    text = BASE + extra
    editor_view = {**BASE_DATA, **editor_fields}
    (document,), _ = parse_documents(text, "m.yaml")
    assert document.data == editor_view  # the CLI reads what a YAML 1.2 editor reads
    assert editor_validator().is_valid(editor_view) is valid
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "m.yaml")])
    assert result.exit_code == (0 if valid else 1), result.output
    if "yes" in extra:
        assert "hint: write true/false" in result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors" / "team").mkdir(parents=True)
    (tmp_path / "monitors" / "team" / "many.yaml").write_text(f"{BASE}---\n{BASE.replace('id: m', 'id: n')}")
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "provisioner.yaml").write_text("namespace: mesh\n")
    return tmp_path


def test_the_header_path_resolves_from_where_the_definitions_are(project: Path) -> None:
    result = CliRunner().invoke(app, ["schema", "--out", ".schemas"])
    assert result.exit_code == 0, result.output
    header = "# yaml-language-server: $schema=../.schemas/definition.json"
    assert header in result.output
    assert (project / "monitors" / header.split("=", 1)[1]).resolve().is_file()
    snippet = json.loads(result.output[result.output.index("{") : result.output.rindex("}") + 1])
    assert snippet == expected_settings()


def expected_settings() -> dict[str, Any]:
    globs = ["monitors/**/*.yaml", "monitors/**/*.yml", "dashboards/**/*.yaml", "dashboards/**/*.yml"]
    tests = ["monitors/**/tests/**/*.yaml", "monitors/**/tests/**/*.yml"]  # monitor tests (provisioner test)
    return {
        "yaml.schemas": {
            ".schemas/definition.json": globs + [f"!{glob}" for glob in tests],
            ".schemas/monitor-test.json": tests,
            ".schemas/config.json": ["provisioner.yaml"],
        }
    }


def matched(globs: list[str]) -> set[str]:
    """The files the globs take, less those a ``!`` glob excludes (yaml-language-server's negation)."""
    taken = {path.as_posix() for glob in globs if not glob.startswith("!") for path in Path().glob(glob)}
    return taken - {
        path.as_posix() for glob in globs if glob.startswith("!") for path in Path().glob(glob[1:])
    }


def test_vscode_settings_map_every_definition_file_and_keep_other_settings(project: Path) -> None:
    (project / ".vscode").mkdir()
    (project / ".vscode" / "settings.json").write_text(
        '{"editor.tabSize": 2, "yaml.schemas": {"x.json": ["x.yaml"]}}'
    )
    result = CliRunner().invoke(app, ["schema", "--out", ".schemas", "--vscode"])
    assert result.exit_code == 0, result.output
    settings = json.loads((project / ".vscode" / "settings.json").read_text())
    assert settings["editor.tabSize"] == 2
    schemas = settings["yaml.schemas"]
    assert schemas == {"x.json": ["x.yaml"], **expected_settings()["yaml.schemas"]}
    (project / "monitors" / "tests").mkdir()
    (project / "monitors" / "tests" / "checks.yaml").write_text("tests: []\n")
    files = {
        ".schemas/definition.json": {"monitors/team/many.yaml"},
        ".schemas/monitor-test.json": {"monitors/tests/checks.yaml"},
        ".schemas/config.json": {"provisioner.yaml"},
    }
    for schema_path, globs in expected_settings()["yaml.schemas"].items():
        assert (project / schema_path).is_file()
        assert matched(globs) == files[schema_path]


def test_vscode_settings_with_comments_are_left_alone(project: Path) -> None:
    (project / ".vscode").mkdir()
    (project / ".vscode" / "settings.json").write_text('{\n  // mine\n  "editor.tabSize": 2\n}\n')
    result = CliRunner().invoke(app, ["schema", "--out", ".schemas", "--vscode"])
    assert result.exit_code == 1
    assert "add the yaml.schemas setting by hand" in result.output
    assert "// mine" in (project / ".vscode" / "settings.json").read_text()
