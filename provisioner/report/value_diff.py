"""How a changed field is shown to a reviewer: never as two truncated copies that look the same.

- Short values: both, as JSON (``0.1 → 0.08``).
- A string with line breaks (a message), or a list or object whose JSON is long (widgets): a line
  diff (difflib's unified format, two lines of context), ``-`` what Datadog has, ``+`` what the code says.
- A long one-line string (a query): the changed tokens marked, with long unchanged stretches elided
  to the characters next to a change.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from provisioner.changes import FieldChange
from provisioner.model import Json

INLINE_LIMIT = 80  # characters of JSON; longer values are diffed
CONTEXT_CHARS = 40  # unchanged characters kept on each side of a changed token
CONTEXT_LINES = 2
ELLIPSIS = "…"

# Numbers whole (0.08 is one token), words (last_5m, trace.envoy is three), runs of spaces, any other
# character alone: a changed threshold or tag is marked as itself, not as a changed digit.
_TOKEN = re.compile(r"\d+(?:\.\d+)?|\w+|\s+|[^\w\s]")


class Shape(Enum):
    INLINE = "inline"
    TOKENS = "tokens"
    LINES = "lines"


@dataclass(frozen=True)
class Piece:
    """A stretch of a token diff: in both values, only in the live one, or only in the desired one."""

    text: str
    side: Literal["same", "old", "new"]


def shape_of(change: FieldChange) -> Shape:
    if not (change.old_present and change.new_present):
        return Shape.INLINE
    old, new = change.old, change.new
    if isinstance(old, str) and isinstance(new, str):
        if "\n" in old or "\n" in new:
            return Shape.LINES
        return Shape.TOKENS if max(len(old), len(new)) > INLINE_LIMIT else Shape.INLINE
    structured = isinstance(old, dict | list) or isinstance(new, dict | list)
    if structured and max(len(compact_json(old)), len(compact_json(new))) > INLINE_LIMIT:
        return Shape.LINES
    return Shape.INLINE


def compact_json(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def line_diff(old: Json, new: Json) -> list[str]:
    """Unified diff hunks (``@@ -a,b +c,d @@`` then `` ``/``-``/``+`` lines), without file headers."""
    diff = difflib.unified_diff(_lines(old), _lines(new), n=CONTEXT_LINES, lineterm="")
    return list(diff)[2:]  # the "---"/"+++" file headers: always the first two lines


def _lines(value: Json) -> list[str]:
    if isinstance(value, str):
        return value.split("\n")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2).split("\n")


def token_pieces(old: str, new: str, context: int = CONTEXT_CHARS) -> list[Piece]:
    """The two strings as stretches in both, only in ``old``, only in ``new``. An unchanged stretch
    keeps the whole tokens within ``context`` characters of each change and elides the rest."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    pieces: list[Piece] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            keep_head = index > 0  # text right after a change
            keep_tail = index < len(opcodes) - 1  # text right before one
            pieces.append(Piece(_elided(a[i1:i2], keep_head, keep_tail, context), "same"))
            continue
        if i2 > i1:
            pieces.append(Piece("".join(a[i1:i2]), "old"))
        if j2 > j1:
            pieces.append(Piece("".join(b[j1:j2]), "new"))
    return pieces


def _elided(tokens: list[str], keep_head: bool, keep_tail: bool, context: int) -> str:
    text = "".join(tokens)
    nothing_changed = not (keep_head or keep_tail)
    if nothing_changed or len(text) <= context * (keep_head + keep_tail) + len(ELLIPSIS):
        return text
    head = _fitting(tokens, context) if keep_head else ""
    tail = _fitting(tokens, context, from_end=True) if keep_tail else ""
    return head + ELLIPSIS + tail


def _fitting(tokens: list[str], limit: int, from_end: bool = False) -> str:
    """The whole tokens at the start (or end) that fit in ``limit`` characters; a single longer token is cut."""
    ordered = reversed(tokens) if from_end else iter(tokens)
    kept: list[str] = []
    size = 0
    for token in ordered:
        if size + len(token) > limit:
            break
        kept.append(token)
        size += len(token)
    if from_end:
        return "".join(reversed(kept)) or tokens[-1][-limit:]
    return "".join(kept) or tokens[0][:limit]
