"""RFC 6901 JSON pointers: how problems name a place inside a YAML document."""

from __future__ import annotations

from typing import Any


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def join_pointer(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape_token(str(t)) for t in tokens)


NodePath = tuple[Any, str | int] | None  # (parent path, token): pointers are built only for problems


def path_pointer(path: NodePath) -> str:
    tokens: list[str | int] = []
    while path is not None:
        path, token = path
        tokens.append(token)
    return join_pointer("", *reversed(tokens))
