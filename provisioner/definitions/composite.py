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

# A token after blanks: a monitor, an operator, or the first character of what is neither.
_TOKEN = re.compile(
    rf"\s*+(?:(?P<token>\d+|{identity.REFERENCE_RE.pattern}|&&|\|\||[!()])|(?P<other>.))", re.DOTALL
)
_BINARY = ("&&", "||")
_MAX_NESTING = 100  # Datadog combines at most 10 monitors: real queries nest a few levels


class CompositeQueryError(ValueError):
    """The query is not a composite query; the message says where and why."""


def composite_monitors(query: str) -> tuple[str, ...]:
    """The monitors the query combines, as written (``123``, ``@{checkout-errors}``), in order;
    ``CompositeQueryError`` when it is not well formed."""
    return _read(_tokens(query))


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    for found in _TOKEN.finditer(query):
        if found.lastgroup == "other":
            text = query[found.start("other") :].strip()
            raise CompositeQueryError(
                f"unexpected {text[:20]!r}: name a monitor by its Datadog id or as @{{definition id}}"
            )
        tokens.append(found["token"])
    if not tokens:
        raise CompositeQueryError("the query is empty")
    return tokens


def _read(tokens: list[str]) -> tuple[str, ...]:
    """The monitors, read left to right: a monitor (or '!', '(') and an operator (or ')', the end) are
    expected in turn. Whether a query is well formed does not depend on precedence, so one pass with the
    open '!' and '(' decides it, with what a recursive descent says at the first token that does not fit."""
    monitors: list[str] = []
    pending: list[str] = []  # the '!' and '(' whose operand is not complete yet, innermost last
    expect_monitor = True
    for token in tokens:
        if expect_monitor:
            if token in ("!", "("):
                pending.append(token)  # nesting bounded, so a hostile query cannot exhaust memory or time
                if len(pending) > _MAX_NESTING:
                    raise CompositeQueryError(f"more than {_MAX_NESTING} '!' and '(' nested")
            elif token in ("&&", "||", ")"):
                raise CompositeQueryError(f"{token!r} where a monitor is expected")
            else:
                monitors.append(token)
                _operand_complete(pending)
                expect_monitor = False
        elif token in _BINARY:
            expect_monitor = True
        elif token == ")" and pending:
            pending.pop()  # a '(': the '!' inside it completed with their operands
            _operand_complete(pending)
        elif pending:
            raise CompositeQueryError("a '(' is never closed")
        else:
            raise CompositeQueryError(f"{token!r} where an operator or the end is expected")
    if expect_monitor:
        raise CompositeQueryError("the query ends where a monitor is expected")
    if pending:
        raise CompositeQueryError("a '(' is never closed")
    return tuple(monitors)


def _operand_complete(pending: list[str]) -> None:
    """An operand is complete: so is each '!' directly before it."""
    while pending and pending[-1] == "!":
        pending.pop()
