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

The parser only has to be strict enough to reject what the real API rejects in the recordings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

AGGREGATORS = frozenset({"avg", "sum", "min", "max"})
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


@dataclass
class MetricQueryFacts:
    aggregator: str
    timeframe: str
    comparator: str
    threshold: float
    metrics: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.metrics: list[str] = []
        self.scopes: list[str] = []
        self.group_by: list[str] = []

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
            self.expect("(")
            aggregator, timeframe = self.prefix()
            self.expect(",")
            self.require(_TIMEFRAME, "a timeframe")
            self.expect(")")
            return aggregator, timeframe
        if name not in AGGREGATORS:
            raise QuerySyntaxError(f"unknown aggregator {name!r}")
        self.expect("(")
        timeframe = self.require(_TIMEFRAME, "a timeframe")
        self.expect(")")
        return name, timeframe

    def expr(self) -> None:
        self.term()
        while self.accept("+") or self.accept("-"):
            self.term()

    def term(self) -> None:
        self.unary()
        while self.accept("*") or self.accept("/"):
            self.unary()

    def unary(self) -> None:
        if self.accept("-"):
            self.unary()
            return
        self.primary()
        self.suffixes()

    def primary(self) -> None:
        if self.match(_NUMBER) is not None:
            return
        if self.accept("("):
            self.expr()
            self.expect(")")
            return
        name = self.require(_IDENT, "a metric, a function or a number")
        if self.accept(":"):
            if name not in AGGREGATORS:
                raise QuerySyntaxError(f"unknown space aggregator {name!r}")
            name = self.require(_IDENT, "a metric name")
            self.metric(name)
        elif self.peek("{"):
            self.metric(name)
        elif self.accept("("):
            self.function(name)
        else:
            raise QuerySyntaxError(f"unexpected word {name!r}")

    def metric(self, name: str) -> None:
        if name.endswith(".") or ".." in name:
            raise QuerySyntaxError(f"invalid metric name {name!r}")
        self.metrics.append(name)
        self.scopes.extend(self.braces("a scope"))
        if self.by_keyword():
            self.group_by.extend(self.braces("group-by tags"))

    def by_keyword(self) -> bool:
        self.skip_space()
        found = re.compile(r"by\s*\{").match(self.text, self.pos)
        if found is None:
            return False
        self.pos += 2
        return True

    def braces(self, what: str) -> list[str]:
        self.expect("{")
        end = self.text.find("}", self.pos)
        content = self.text[self.pos : end] if end >= 0 else ""
        if end < 0 or not content.strip() or "{" in content or content.count("(") != content.count(")"):
            raise QuerySyntaxError(f"invalid {what} at offset {self.pos}")
        self.pos = end + 1
        return [part.strip() for part in content.split(",") if part.strip()]

    def function(self, name: str) -> None:
        if name not in FUNCTIONS:
            raise QuerySyntaxError(f"unknown function {name!r}")
        self.arguments()

    def suffixes(self) -> None:
        while self.accept("."):
            method = self.require(_IDENT, "a method name")
            if method not in SUFFIX_METHODS:
                raise QuerySyntaxError(f"unknown method {method!r}")
            self.expect("(")
            if not self.accept(")"):
                self.arguments()

    def arguments(self) -> None:
        """Arguments up to and including the closing parenthesis."""
        self.argument()
        while self.accept(","):
            self.argument()
        self.expect(")")

    def argument(self) -> None:
        """A value, or ``name=value`` (``anomalies(…, 'basic', 2, direction='above', interval=60)``)."""
        self.match(_KEYWORD)
        if self.match(_STRING) is not None:
            return
        self.skip_space()
        bare = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*[,)])").match(self.text, self.pos)
        if bare is not None:
            self.pos = bare.end()
            return
        self.expr()

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
    parser.expr()
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
    )
