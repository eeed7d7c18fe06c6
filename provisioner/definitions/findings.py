"""A finding: one thing wrong inside a value, located by a pointer relative to that value.

Checks that look at a value (a schema, a rule, a kind's compiler) return findings; the definition that
owns the value turns them into Problems with a file, a line and a column.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.model import Severity


@dataclass(frozen=True)
class Finding:
    pointer: str
    code: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    at_key: bool = False  # locate the key ("options:") rather than the value
