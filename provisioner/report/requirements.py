"""Render the mesh set-up a project's monitors need (``provisioner mesh requirements``): text for a
terminal, YAML or JSON for tools. Snippets are printed as they are applied, never indented."""

from __future__ import annotations

import json
from collections.abc import Sequence

import yaml

from provisioner.mesh.setup import Requirement
from provisioner.model import CollectionModes, Json

REQUIREMENT_FORMATS = ("text", "yaml", "json")
DECLARED = "declared done in provisioner.yaml"  # istio: {set_up: [...]}


def format_requirements(
    environment: str, modes: CollectionModes, requirements: Sequence[Requirement], fmt: str
) -> str:
    if fmt == "text":
        return _text(environment, modes, requirements)
    document = requirements_document(environment, modes, requirements)
    if fmt == "json":
        return json.dumps(document, indent=2)
    return yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=120)


def requirements_document(
    environment: str, modes: CollectionModes, requirements: Sequence[Requirement]
) -> dict[str, Json]:
    return {
        "environment": environment,
        "istio": modes.as_dict(),
        "requirements": [
            {
                "key": r.key,
                "title": r.title,
                "collector": r.collector,
                "mode": r.mode,
                "opt_in": r.opt_in,
                "declared": r.declared,
                "why": r.why,
                "monitors": list(r.monitors),
                "snippets": [{"title": s.title, "yaml": s.text} for s in r.snippets],
            }
            for r in requirements
        ],
    }


def _text(environment: str, modes: CollectionModes, requirements: Sequence[Requirement]) -> str:
    lines = [f"Istio and Datadog set-up for environment {environment} (collection modes: {modes.summary})"]
    if not requirements:
        lines.append("No definition queries a mesh metric: nothing to set up.")
    for number, requirement in enumerate(requirements, start=1):
        mode = f" · {requirement.mode}" if requirement.mode else ""
        declared = f" · {DECLARED}" if requirement.declared else ""
        lines += ["", f"== {number}. {requirement.title}{mode}{declared}", requirement.why]
        lines.append(f"Needed by: {', '.join(requirement.monitors)}")
        for snippet in requirement.snippets:
            lines += ["", f"# {snippet.title}", snippet.text.rstrip("\n")]
    return "\n".join(lines)


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings (the snippets) as literal blocks, so they read as they are applied."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _represent_str)
