"""RFC 6901 JSON pointers: how problems name a place inside a YAML document."""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    if "~" not in pointer:  # nothing escaped: most pointers
        return pointer[1:].split("/")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def join_pointer(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape_token(str(t)) for t in tokens)


def without_values(data: Any, pointers: Collection[str]) -> Any:
    """A copy of ``data`` without the mapping entries that hold the values at ``pointers`` (what a schema
    rejected), so that checks can run on the rest; None when ``data`` itself is at one of them.

    No list loses an element (the positions of the ones after it would move): a mapping in a list is
    entered, and a value that is an element itself takes its whole list (the mapping entry holding it)."""
    pruned = copy.deepcopy(data)
    for pointer in pointers:
        if not holds(pruned, pointer):
            continue  # removed already, with an enclosing value
        entry = _enclosing_entry(pruned, split_pointer(pointer))
        if entry is None:
            return None
        holder, key = entry
        holder.pop(key, None)
    return pruned


def _enclosing_entry(data: Any, tokens: list[str]) -> tuple[dict[str, Any], str] | None:
    """The innermost mapping entry (mapping, key) that holds the value at ``tokens`` and is not inside a
    list element the path leaves; None when there is none (the value is the root, or in a top-level list)."""
    entry: tuple[dict[str, Any], str] | None = None
    node = data
    for token in tokens:
        if isinstance(node, dict):
            entry, node = (node, token), node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
            if not isinstance(node, dict):
                return entry
        else:
            return entry
    return entry


def holds(data: Any, pointer: str) -> bool:
    """Whether ``data`` has a value at ``pointer``."""
    node = data
    for token in split_pointer(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def related(pointer: str, other: str) -> bool:
    """The same place, or one inside the other."""
    return pointer == other or pointer.startswith(other + "/") or other.startswith(pointer + "/")


NodePath = tuple[Any, str | int] | None  # (parent path, token): pointers are built only for problems


def path_pointer(path: NodePath) -> str:
    tokens: list[str | int] = []
    while path is not None:
        path, token = path
        tokens.append(token)
    return join_pointer("", *reversed(tokens))
