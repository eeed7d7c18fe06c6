"""``provisioner schema``: the definition JSON Schemas, for editors (yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from provisioner.definitions.schema import EDITOR_SCHEMA, schema_documents
from provisioner.errors import UserError


def schema(out: Path | None) -> int:
    """No folder: print the entry schema (definition.json). A folder: write every schema file into it."""
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
    typer.echo(
        f"editors: add '# yaml-language-server: $schema={out.as_posix()}/{EDITOR_SCHEMA}' to a definition"
    )
    return 0
