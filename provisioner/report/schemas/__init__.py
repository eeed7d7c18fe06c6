"""The JSON Schemas (Draft 2020-12) of the JSON that ``plan``, ``apply``, ``audit``, ``validate``,
``environments`` and ``test`` print with ``--format json``, shipped in the package; ``provisioner schema``
writes them out.

They require every field provisioner writes and allow fields they do not list: a field is added
without a new ``format_version``, so consumers must ignore what they do not know.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

OUTPUT_SCHEMAS: dict[str, str] = {
    "plan": "plan-output.json",
    "apply": "apply-output.json",
    "audit": "audit-output.json",
    "validate": "validate-output.json",
    "environments": "environments-output.json",
    "test": "test-output.json",
}
COMMON_SCHEMA = "output-common.json"


@functools.cache
def output_schema_documents() -> dict[str, Any]:
    """Every output schema file (the shared one included), by file name."""
    folder = resources.files(__name__)
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }
