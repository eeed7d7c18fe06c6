"""The composite monitor query, read before anything is sent: monitors combined with ``&&``, ``||``, ``!``
and parentheses, each named by its Datadog id or, in a definition, by ``@{<definition id>}``.

    query    := all-of ('||' all-of)*
    all-of   := term ('&&' term)*
    term     := '!' term | monitor | '(' query ')'
    monitor  := digits | '@{' definition id '}'

Datadog checks composites only against monitors that exist, so a composite combining monitors an apply
creates first cannot be validated remotely before the apply: this check is what stands for Datadog's
then. The emulator parses the same grammar over Datadog ids with a parser of its own (it imports nothing
of provisioner); ``tests/definitions/test_composite_grammar.py`` holds the two to one language.
"""

from __future__ import annotations

import re

from provisioner import identity

_TOKEN = re.compile(
    rf"(?P<monitor>\d+|{identity.REFERENCE_RE.pattern})|(?P<operator>&&|\|\||[!()])|(?P<blank>\s+)|(?P<other>.)",
    re.DOTALL,
)
_BINARY = ("||", "&&")  # loosest first; '!' binds tightest
_MAX_NESTING = 100  # Datadog combines at most 10 monitors: real queries nest a few levels


class CompositeQueryError(ValueError):
    """The query is not a composite query; the message says where and why."""


def composite_monitors(query: str) -> tuple[str, ...]:
    """The monitors the query combines, as written (``123``, ``@{checkout-errors}``), in order;
    ``CompositeQueryError`` when it is not well formed."""
    tokens = _tokens(query)
    reader = _Reader(tokens)
    reader.expression(0)
    if reader.position < len(tokens):
        raise CompositeQueryError(f"{tokens[reader.position]!r} where an operator or the end is expected")
    return tuple(token for token in tokens if token not in ("&&", "||", "!", "(", ")"))


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    for found in _TOKEN.finditer(query):
        if found.lastgroup == "other":
            text = query[found.start() :].strip()
            raise CompositeQueryError(
                f"unexpected {text[:20]!r}: name a monitor by its Datadog id or as @{{definition id}}"
            )
        if found.lastgroup != "blank":
            tokens.append(found.group())
    if not tokens:
        raise CompositeQueryError("the query is empty")
    return tokens


class _Reader:
    """Recursive descent by precedence level: level 0 joins with ``||``, level 1 with ``&&``, level 2 is
    a term."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0  # '!' and '(' nested: bounded, so a hostile query cannot exhaust the stack

    def expression(self, level: int) -> None:
        if level == len(_BINARY):
            self.term()
            return
        self.expression(level + 1)
        while self._next() == _BINARY[level]:
            self.position += 1
            self.expression(level + 1)

    def term(self) -> None:
        token = self._next()
        self.position += 1
        if token in ("!", "("):
            self.depth += 1
            if self.depth > _MAX_NESTING:
                raise CompositeQueryError(f"more than {_MAX_NESTING} '!' and '(' nested")
            if token == "!":
                self.term()
            else:
                self._group()
            self.depth -= 1
        elif token is None:
            raise CompositeQueryError("the query ends where a monitor is expected")
        elif token in ("&&", "||", ")"):
            raise CompositeQueryError(f"{token!r} where a monitor is expected")

    def _group(self) -> None:
        self.expression(0)
        if self._next() != ")":
            raise CompositeQueryError("a '(' is never closed")
        self.position += 1

    def _next(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None
