"""A recursive-descent parser for metric monitor queries.

Grammar (what Datadog accepts for ``metric alert`` / ``query alert`` and what our tool generates)::

    query      := prefix ':' expr comparator number
    prefix     := agg '(' timeframe ')' | ('change'|'pct_change') '(' agg '(' timeframe ')' ',' timeframe ')'
    expr       := term (('+'|'-') term)*
    term       := unary (('*'|'/') unary)*
    unary      := '-' unary | primary suffix*
    primary    := number | '(' expr ')' | function '(' args ')' | [space_agg ':'] metric '{' scope '}' [by]
    by         := 'by' '{' tag (',' tag)* '}'
    suffix     := '.' method '(' [args] ')'          e.g. .as_count() .rollup(sum, 60) .fill(zero)
    args       := arg (',' arg)* ;  arg := [name '='] (quoted string | bare word | expr)

The parser only has to be strict enough to reject what the real API rejects in the recordings. It also
builds the expression tree (``MetricQuery.expression``) that the evaluator (``evaluation/``) computes; the
scope inside braces is kept as written and parsed by ``evaluation.scope``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

AGGREGATORS = frozenset({"avg", "sum", "min", "max"})
# Space aggregators of distribution metrics only: ``count`` and p50, p95, p99.9, ... ("any percentile with up
# to two decimal points", Datadog's distributions page); evaluated by ``GET /api/v1/query`` (evaluation/).
PERCENTILE = re.compile(r"p\d{1,2}(?:\.\d{1,2})?")
DISTRIBUTION_AGGREGATORS = frozenset({"count"})
# ``last`` is not in the spec's list (reference 3.1, "unverified"); accepted so monitors can use it.
TIME_AGGREGATORS = AGGREGATORS | {"last"}
CHANGE_FUNCTIONS = frozenset({"change", "pct_change"})
SUFFIX_METHODS = frozenset({"as_count", "as_rate", "rollup", "fill", "weighted"})
FUNCTIONS = frozenset(
    {
        "abs",
        "log2",
        "log10",
        "cumsum",
        "integral",
        "clamp_min",
        "clamp_max",
        "cutoff_min",
        "cutoff_max",
        "default_zero",
        "top",
        "top_offset",
        "bottom",
        "diff",
        "derivative",
        "monotonic_diff",
        "per_second",
        "per_minute",
        "per_hour",
        "dt",
        "timeshift",
        "hour_before",
        "day_before",
        "week_before",
        "month_before",
        "robust_trend",
        "trend_line",
        "piecewise_constant",
        "outliers",
        "anomalies",
        "forecast",
        "count_nonzero",
        "count_not_null",
        "ewma_3",
        "ewma_5",
        "ewma_10",
        "ewma_20",
        "median_3",
        "median_5",
        "median_7",
        "median_9",
        "exclude_null",
        "sqrt",
        "rate",
        "top5",
        "top10",
        "top15",
        "top20",
        "bottom5",
        "bottom10",
        "bottom15",
        "bottom20",
    }
)
COMPARATORS = (">=", "<=", "==", "!=", ">", "<")
_TIMEFRAME = re.compile(r"(?:last|current)_\d+(?:mo|[smhdw])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_TAG = re.compile(r"[^\s{},]+")
_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)")


class QuerySyntaxError(ValueError):
    """The query is not one Datadog would accept."""


# -- the expression tree ------------------------------------------------------
@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Word:
    """A bare word or quoted string argument, e.g. ``sum`` in ``.rollup(sum, 60)`` (quotes removed)."""

    text: str


@dataclass(frozen=True)
class Modifier:
    """A ``.method(args)`` suffix: ``as_count``, ``as_rate``, ``rollup``, ``fill``, ``weighted``."""

    name: str
    args: tuple[Node, ...] = ()


@dataclass(frozen=True)
class MetricTerm:
    """``space_aggregator:metric{scope} by {group_by}.modifiers``; ``scope`` is the text inside the braces."""

    space_aggregator: str | None
    metric: str
    scope: str
    group_by: tuple[str, ...] = ()
    modifiers: tuple[Modifier, ...] = ()

    def has_modifier(self, name: str) -> bool:
        return any(modifier.name == name for modifier in self.modifiers)


@dataclass(frozen=True)
class FunctionCall:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class BinaryOp:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Modified:
    """Suffixes after something other than a metric, e.g. ``(a + b).rollup(sum)``."""

    operand: Node
    modifiers: tuple[Modifier, ...]


Node = Number | Word | MetricTerm | FunctionCall | BinaryOp | Negate | Modified


@dataclass
class MetricQueryFacts:
    aggregator: str
    timeframe: str
    comparator: str
    threshold: float
    metrics: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    expression: Node = Number(0.0)
    change: str | None = None  # "change" or "pct_change" when the query has that prefix


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.metrics: list[str] = []
        self.scopes: list[str] = []
        self.group_by: list[str] = []
        self.change: str | None = None

    # -- low-level scanning -------------------------------------------------
    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        self.skip_space()
        return self.text.startswith(token, self.pos)

    def accept(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.accept(token):
            raise QuerySyntaxError(f"expected {token!r} at offset {self.pos}")

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip_space()
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group(0)

    def require(self, pattern: re.Pattern[str], what: str) -> str:
        value = self.match(pattern)
        if value is None:
            raise QuerySyntaxError(f"expected {what} at offset {self.pos}")
        return value

    # -- grammar ------------------------------------------------------------
    def prefix(self) -> tuple[str, str]:
        name = self.require(_IDENT, "an aggregator")
        if name in CHANGE_FUNCTIONS:
            self.change = name
            self.expect("(")
            aggregator, timeframe = self.prefix()
            self.expect(",")
            self.require(_TIMEFRAME, "a timeframe")
            self.expect(")")
            return aggregator, timeframe
        if name not in TIME_AGGREGATORS:
            raise QuerySyntaxError(f"unknown aggregator {name!r}")
        self.expect("(")
        timeframe = self.require(_TIMEFRAME, "a timeframe")
        self.expect(")")
        return name, timeframe

    def expr(self) -> Node:
        node = self.term()
        while True:
            op = "+" if self.accept("+") else "-" if self.accept("-") else None
            if op is None:
                return node
            node = BinaryOp(op, node, self.term())

    def term(self) -> Node:
        node = self.unary()
        while True:
            op = "*" if self.accept("*") else "/" if self.accept("/") else None
            if op is None:
                return node
            node = BinaryOp(op, node, self.unary())

    def unary(self) -> Node:
        if self.accept("-"):
            return Negate(self.unary())
        node = self.primary()
        modifiers = self.suffixes()
        if not modifiers:
            return node
        if isinstance(node, MetricTerm):
            return MetricTerm(
                node.space_aggregator, node.metric, node.scope, node.group_by, node.modifiers + modifiers
            )
        return Modified(node, modifiers)

    def primary(self) -> Node:
        number = self.match(_NUMBER)
        if number is not None:
            return Number(float(number))
        if self.accept("("):
            node = self.expr()
            self.expect(")")
            return node
        name = self.require(_IDENT, "a metric, a function or a number")
        if self.accept(":"):
            if name not in AGGREGATORS | DISTRIBUTION_AGGREGATORS and not PERCENTILE.fullmatch(name):
                raise QuerySyntaxError(f"unknown space aggregator {name!r}")
            return self.metric(name, self.require(_IDENT, "a metric name"))
        if self.peek("{"):
            return self.metric(None, name)
        if self.accept("("):
            return self.function(name)
        raise QuerySyntaxError(f"unexpected word {name!r}")

    def metric(self, space_aggregator: str | None, name: str) -> MetricTerm:
        if name.endswith(".") or ".." in name:
            raise QuerySyntaxError(f"invalid metric name {name!r}")
        self.metrics.append(name)
        scope_text, scope_parts = self.braces("a scope")
        self.scopes.extend(scope_parts)
        group_by: list[str] = []
        if self.by_keyword():
            group_by = self.braces("group-by tags")[1]
            self.group_by.extend(group_by)
        return MetricTerm(space_aggregator, name, scope_text, tuple(group_by))

    def by_keyword(self) -> bool:
        self.skip_space()
        found = re.compile(r"by\s*\{").match(self.text, self.pos)
        if found is None:
            return False
        self.pos += 2
        return True

    def braces(self, what: str) -> tuple[str, list[str]]:
        """The text inside ``{...}`` and its comma-separated parts."""
        self.expect("{")
        end = self.text.find("}", self.pos)
        content = self.text[self.pos : end] if end >= 0 else ""
        if end < 0 or not content.strip() or "{" in content or content.count("(") != content.count(")"):
            raise QuerySyntaxError(f"invalid {what} at offset {self.pos}")
        self.pos = end + 1
        return content.strip(), [part.strip() for part in content.split(",") if part.strip()]

    def function(self, name: str) -> FunctionCall:
        if name not in FUNCTIONS:
            raise QuerySyntaxError(f"unknown function {name!r}")
        return FunctionCall(name, self.arguments())

    def suffixes(self) -> tuple[Modifier, ...]:
        modifiers: list[Modifier] = []
        while self.accept("."):
            method = self.require(_IDENT, "a method name")
            if method not in SUFFIX_METHODS:
                raise QuerySyntaxError(f"unknown method {method!r}")
            self.expect("(")
            modifiers.append(Modifier(method, () if self.accept(")") else self.arguments()))
        return tuple(modifiers)

    def arguments(self) -> tuple[Node, ...]:
        """Arguments up to and including the closing parenthesis."""
        args = [self.argument()]
        while self.accept(","):
            args.append(self.argument())
        self.expect(")")
        return tuple(args)

    def argument(self) -> Node:
        """A value, or ``name=value`` (``anomalies(…, 'basic', 2, direction='above', interval=60)``: the
        name is not kept, since no function the evaluator computes takes one)."""
        self.match(_KEYWORD)
        quoted = self.match(_STRING)
        if quoted is not None:
            return Word(quoted[1:-1])
        self.skip_space()
        bare = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*[,)])").match(self.text, self.pos)
        if bare is not None:
            self.pos = bare.end()
            return Word(bare.group(0))
        return self.expr()

    def comparator(self) -> str:
        self.skip_space()
        for comparator in COMPARATORS:
            if self.text.startswith(comparator, self.pos):
                self.pos += len(comparator)
                return comparator
        raise QuerySyntaxError(f"expected a comparator at offset {self.pos}")

    def threshold(self) -> float:
        negative = self.accept("-")
        value = float(self.require(_NUMBER, "a threshold number"))
        return -value if negative else value

    def end(self) -> None:
        self.skip_space()
        if self.pos != len(self.text):
            raise QuerySyntaxError(f"unexpected text at offset {self.pos}")


def parse_metric_query(text: str) -> MetricQueryFacts:
    """Parse a metric monitor query, or raise ``QuerySyntaxError``."""
    parser = _Parser(text)
    aggregator, timeframe = parser.prefix()
    parser.expect(":")
    expression = parser.expr()
    comparator = parser.comparator()
    threshold = parser.threshold()
    parser.end()
    return MetricQueryFacts(
        aggregator=aggregator,
        timeframe=timeframe,
        comparator=comparator,
        threshold=threshold,
        metrics=parser.metrics,
        scopes=parser.scopes,
        group_by=parser.group_by,
        expression=expression,
        change=parser.change,
    )


def parse_metric_expression(text: str) -> Node:
    """A bare expression, as ``GET /api/v1/query`` takes it (no aggregator prefix, no comparator)."""
    parser = _Parser(text)
    expression = parser.expr()
    parser.end()
    return expression
