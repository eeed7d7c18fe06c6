"""The composite monitor query: monitor ids combined with ``&&``, ``||``, ``!`` and parentheses.

    query    := either ('||' either)*
    either   := negation ('&&' negation)*
    negation := '!' negation | id | '(' query ')'

``!`` binds tightest, then ``&&``, then ``||`` (the UI example ``a || b && !c``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(\d+|&&|\|\||!|\(|\))")


class CompositeSyntaxError(ValueError):
    """The composite query is not well formed."""


@dataclass(frozen=True)
class MonitorRef:
    monitor_id: int


@dataclass(frozen=True)
class Not:
    operand: CompositeNode


@dataclass(frozen=True)
class And:
    left: CompositeNode
    right: CompositeNode


@dataclass(frozen=True)
class Or:
    left: CompositeNode
    right: CompositeNode


CompositeNode = MonitorRef | Not | And | Or


def parse_composite(query: str) -> CompositeNode:
    tokens = _tokens(query)
    node, position = _either_of(tokens, 0)
    if position != len(tokens):
        raise CompositeSyntaxError(f"unexpected {tokens[position]!r}")
    return node


def referenced_ids(node: CompositeNode) -> tuple[int, ...]:
    """The monitor ids in the order they are written (repeats kept)."""
    if isinstance(node, MonitorRef):
        return (node.monitor_id,)
    if isinstance(node, Not):
        return referenced_ids(node.operand)
    return referenced_ids(node.left) + referenced_ids(node.right)


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while query[position:].strip():
        found = _TOKEN.match(query, position)
        if found is None:
            raise CompositeSyntaxError(f"unexpected text at offset {position}")
        tokens.append(found.group(1))
        position = found.end()
    return tokens


def _either_of(tokens: list[str], position: int) -> tuple[CompositeNode, int]:
    return _joined(tokens, position, "||", _all_of, Or)


def _all_of(tokens: list[str], position: int) -> tuple[CompositeNode, int]:
    return _joined(tokens, position, "&&", _negation, And)


def _joined(
    tokens: list[str],
    position: int,
    operator: str,
    operand: Callable[[list[str], int], tuple[CompositeNode, int]],
    node: Callable[[CompositeNode, CompositeNode], CompositeNode],
) -> tuple[CompositeNode, int]:
    """``operand (operator operand)*``, left-associative."""
    tree, position = operand(tokens, position)
    while position < len(tokens) and tokens[position] == operator:
        right, position = operand(tokens, position + 1)
        tree = node(tree, right)
    return tree, position


def _negation(tokens: list[str], position: int) -> tuple[CompositeNode, int]:
    if position >= len(tokens):
        raise CompositeSyntaxError("the query ends where a monitor id is expected")
    token = tokens[position]
    if token == "!":
        operand, position = _negation(tokens, position + 1)
        return Not(operand), position
    if token.isdigit():
        return MonitorRef(int(token)), position + 1
    if token == "(":
        node, position = _either_of(tokens, position + 1)
        if position >= len(tokens) or tokens[position] != ")":
            raise CompositeSyntaxError("unbalanced parentheses")
        return node, position + 1
    raise CompositeSyntaxError(f"unexpected {token!r} where a monitor id is expected")
