"""``provisioner schema``: the definition JSON Schemas, for editors (yaml-language-server), and the
schemas of the JSON outputs, for the machines that read them."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from provisioner.definitions.schema import EDITOR_SCHEMA, schema_documents
from provisioner.errors import UserError
from provisioner.report.schemas import COMMON_SCHEMA, OUTPUT_SCHEMAS, output_schema_documents


def schema(out: Path | None, json_output: str | None = None) -> int:
    """No folder: print the entry schema (definition.json). A folder: write every schema file into it."""
    if json_output is not None:
        return _print_output_schema(json_output)
    documents = schema_documents()
    if out is None:
        typer.echo(json.dumps(documents[EDITOR_SCHEMA], indent=2))
        return 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, contents in sorted(documents.items()):
            (out / name).write_text(json.dumps(contents, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the schemas to {out}: {exc.strerror}") from exc
    typer.echo(f"wrote {len(documents)} schemas to {out}/")
    _write_output_schemas(out)
    typer.echo(
        f"editors: add '# yaml-language-server: $schema={out.as_posix()}/{EDITOR_SCHEMA}' to a definition"
    )
    return 0


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
