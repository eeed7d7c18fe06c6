"""Tag filters: the scope inside a metric query's braces, and ``tag_filter`` of the active-metrics list.

    filter      := disjunction (',' disjunction)*          a comma is AND
    disjunction := conjunction ('OR' conjunction)*
    conjunction := negation ('AND' negation)*
    negation    := ('NOT' | '!' | '-') negation | primary  ('!' and '-' are written against the tag: !env:prod)
    primary     := '(' filter ')' | '*' | tag [['NOT'] 'IN' '(' value (',' value)* ')']

A tag term ``key:value`` matches a source carrying that tag; ``*`` anywhere in it is a wildcard
(``response_code:5*``, ``type:*senderr``, ``env:*``). A term without ``:`` matches a bare tag of that text.
``key IN (a, b)`` is ``key:a OR key:b``. Keywords are upper case. A template variable (``$cluster``) cannot
be matched: parsing it raises ``ScopeError`` so the monitor is listed as not evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

Matcher = Callable[[frozenset[str]], bool]
_TOKEN = re.compile(r"\s*([(),]|[^\s(),]+)")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN"})


class ScopeError(ValueError):
    """The filter cannot be parsed or matched; the message says why."""


@dataclass(frozen=True)
class TagFilter:
    text: str
    matches: Matcher
    match_all: bool  # ``*``: every source


@lru_cache(maxsize=4096)
def parse_tag_filter(text: str) -> TagFilter:
    tokens = [found.group(1) for found in _TOKEN.finditer(text)]
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ScopeError(f"cannot read the filter {text!r}")
    parser = _Parser(tokens)
    matcher = parser.filter()
    if parser.position != len(tokens):
        raise ScopeError(f"unexpected {tokens[parser.position]!r} in the filter {text!r}")
    return TagFilter(text, matcher, tokens == ["*"])


def _always(tags: frozenset[str]) -> bool:
    return True


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ScopeError("the filter ends where a tag is expected")
        self.position += 1
        return token

    def filter(self) -> Matcher:
        return self.joined(",", self.disjunction, _all_of)

    def disjunction(self) -> Matcher:
        return self.joined("OR", self.conjunction, _any_of)

    def conjunction(self) -> Matcher:
        return self.joined("AND", self.negation, _all_of)

    def joined(
        self, separator: str, operand: Callable[[], Matcher], combine: Callable[[list[Matcher]], Matcher]
    ) -> Matcher:
        """``operand (separator operand)*``, combined when there is more than one."""
        parts = [operand()]
        while self.peek() == separator:
            self.position += 1
            parts.append(operand())
        return parts[0] if len(parts) == 1 else combine(parts)

    def negation(self) -> Matcher:
        if self.peek() == "NOT":
            self.position += 1
            return _negated(self.negation())
        return self.primary()

    def primary(self) -> Matcher:
        token = self.take()
        if token == "(":
            inner = self.filter()
            if self.take() != ")":
                raise ScopeError("unbalanced parentheses in the filter")
            return inner
        if token in _KEYWORDS or token in (")", ","):
            raise ScopeError(f"unexpected {token!r} where a tag is expected")
        if token == "*":
            return _always
        if token[0] in "!-":
            return _negated(_tag_matcher(token[1:]))
        return self.membership(token) or _tag_matcher(token)

    def membership(self, key: str) -> Matcher | None:
        """``key IN (a, b)`` or ``key NOT IN (a, b)``; None when no IN follows."""
        negated = (
            self.peek() == "NOT"
            and self.position + 1 < len(self.tokens)
            and self.tokens[self.position + 1] == "IN"
        )
        if not negated and self.peek() != "IN":
            return None
        self.position += 2 if negated else 1
        if self.take() != "(":
            raise ScopeError(f"expected '(' after {key} IN")
        values = [self.take()]
        while self.peek() == ",":
            self.position += 1
            values.append(self.take())
        if self.take() != ")":
            raise ScopeError(f"expected ')' to close {key} IN (...)")
        matcher = _any_of([_tag_matcher(f"{key}:{value}") for value in values])
        return _negated(matcher) if negated else matcher


def _tag_matcher(pattern: str) -> Matcher:
    if not pattern or pattern in _KEYWORDS:
        raise ScopeError("an empty tag in the filter")
    if pattern.startswith("$"):
        raise ScopeError(f"template variable {pattern} has no value outside a dashboard")
    if "*" not in pattern:
        return lambda tags: pattern in tags
    regex = re.compile("".join(".*" if char == "*" else re.escape(char) for char in pattern) + r"\Z")
    return lambda tags: any(regex.match(tag) for tag in tags)


def _negated(matcher: Matcher) -> Matcher:
    return lambda tags: not matcher(tags)


def _all_of(matchers: list[Matcher]) -> Matcher:
    return lambda tags: all(matcher(tags) for matcher in matchers)


def _any_of(matchers: list[Matcher]) -> Matcher:
    return lambda tags: any(matcher(tags) for matcher in matchers)
