"""A finding: one thing wrong inside a value, located by a pointer relative to that value.

Checks that look at a value (a schema, a rule, a kind's compiler) return findings; the definition that
owns the value turns them into Problems with a file, a line and a column. ``did_you_mean`` and ``show`` word
their hints and messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from provisioner.model import Json, Severity


@dataclass(frozen=True)
class Finding:
    pointer: str
    code: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    at_key: bool = False  # locate the key ("options:") rather than the value


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only when a problem is worded

    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    close = close or [option for option in options if word and option.startswith(word)][:1]
    if close:
        return f"did you mean '{close[0]}'?"
    shown = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
    return f"expected one of: {shown}" if options else ""


def show(value: Json) -> str:
    """A short rendering of a value for messages."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
