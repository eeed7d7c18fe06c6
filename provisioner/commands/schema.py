"""``provisioner schema``: the definition JSON Schemas, for editors (yaml-language-server), with how to wire
them (a ``yaml.schemas`` setting by glob, for every document of every file, or a per-file header); and the
schemas of the JSON outputs, for the machines that read them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from provisioner.definitions.files import DEFAULT_FOLDERS, TESTS_FOLDER
from provisioner.definitions.schema import CONFIG_SCHEMA, EDITOR_SCHEMA, schema_documents
from provisioner.errors import UserError
from provisioner.monitor_tests.cases import TEST_SCHEMA
from provisioner.report.schemas import COMMON_SCHEMA, OUTPUT_SCHEMAS, output_schema_documents

VSCODE_SETTINGS = Path(".vscode") / "settings.json"


def schema(out: Path | None, json_output: str | None = None, vscode: bool = False) -> int:
    """No folder: print the entry schema (definition.json). A folder: write every schema file into it and
    print the editor settings (``--vscode``: merge them into .vscode/settings.json)."""
    if json_output is not None:
        return _print_output_schema(json_output)
    documents = schema_documents()
    if out is None:
        typer.echo(json.dumps(documents[EDITOR_SCHEMA], indent=2))
        return 0
    _write_definition_schemas(out)
    typer.echo(f"wrote {len(documents)} schemas to {out.as_posix()}/")
    _write_output_schemas(out)
    _wire_editors(out, vscode)
    return 0


def _write_definition_schemas(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, contents in sorted(schema_documents().items()):
            (out / name).write_text(json.dumps(contents, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the schemas to {out}: {exc.strerror}") from exc


def _wire_editors(out: Path, vscode: bool) -> None:
    settings = editor_settings(out)
    if vscode:
        _merge_vscode_settings(settings)
        typer.echo(f"editors: {VSCODE_SETTINGS.as_posix()} maps the schemas to every document of every file")
    else:
        typer.echo("editors: add this to .vscode/settings.json (or run with --vscode) for every document of")
        typer.echo("every definition file and provisioner.yaml:")
        typer.echo(json.dumps(settings, indent=2))
    typer.echo(f"or start a one-document file in {DEFAULT_FOLDERS[0]}/ with: {definition_header(out)}")


def definition_header(out: Path, folder: str = DEFAULT_FOLDERS[0]) -> str:
    """The yaml-language-server header for a file directly in ``folder``: the path is relative to the file."""
    target = os.path.relpath(os.path.abspath(out / EDITOR_SCHEMA), os.path.abspath(folder))
    return f"# yaml-language-server: $schema={Path(target).as_posix()}"


def editor_settings(out: Path) -> dict[str, dict[str, list[str]]]:
    """yaml-language-server's ``yaml.schemas``: schema path (from the workspace root, the current
    directory) → the globs of the files it checks, each document of them."""
    root = Path(os.path.relpath(os.path.abspath(out))).as_posix()
    suffixes = (".yaml", ".yml")
    definitions = [f"{folder}/**/*{suffix}" for folder in DEFAULT_FOLDERS for suffix in suffixes]
    tests = [f"{DEFAULT_FOLDERS[0]}/**/{TESTS_FOLDER}/**/*{suffix}" for suffix in suffixes]
    return {
        "yaml.schemas": {
            f"{root}/{EDITOR_SCHEMA}": definitions + [f"!{glob}" for glob in tests],
            f"{root}/{TEST_SCHEMA}": tests,
            f"{root}/{CONFIG_SCHEMA}": ["provisioner.yaml"],
        }
    }


def _merge_vscode_settings(settings: dict[str, dict[str, list[str]]]) -> None:
    current: dict[str, object] = {}
    if VSCODE_SETTINGS.is_file():
        try:
            current = json.loads(VSCODE_SETTINGS.read_text(encoding="utf-8"))
        except ValueError as exc:  # VS Code allows comments there; this does not rewrite them
            raise UserError(
                f"{VSCODE_SETTINGS} is not plain JSON ({exc})", "add the yaml.schemas setting by hand"
            ) from exc
    schemas = current.get("yaml.schemas")
    merged = {**(schemas if isinstance(schemas, dict) else {}), **settings["yaml.schemas"]}
    try:
        VSCODE_SETTINGS.parent.mkdir(exist_ok=True)
        VSCODE_SETTINGS.write_text(json.dumps({**current, "yaml.schemas": merged}, indent=2) + "\n", "utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {VSCODE_SETTINGS}: {exc.strerror}") from exc


def _print_output_schema(command: str) -> int:
    """One output schema that stands alone: the shared schema is embedded under ``$defs`` with its
    ``$id``, a compound document as JSON Schema 2020-12 defines it, so its references still resolve."""
    documents = output_schema_documents()
    document = documents[OUTPUT_SCHEMAS[command]]
    defs = {**document.get("$defs", {}), COMMON_SCHEMA: documents[COMMON_SCHEMA]}
    typer.echo(json.dumps({**document, "$defs": defs}, indent=2))
    return 0


def _write_output_schemas(out: Path) -> None:
    documents = output_schema_documents()
    try:
        for name, contents in sorted(documents.items()):
            (out / name).write_text(json.dumps(contents, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the output schemas to {out}: {exc.strerror}") from exc
    names = ", ".join(OUTPUT_SCHEMAS[command] for command in OUTPUT_SCHEMAS)
    typer.echo(f"wrote the schemas of the JSON outputs to {out}/: {names} (and {COMMON_SCHEMA})")
