"""The compact notations of monitor test files: series values (promtool's expanding notation), series
names (``metric{tag:value,...}``) and durations (``90s``, ``12m``, ``1h30m``).

Values, as promtool's ``input_series`` writes them (prometheus docs/configuration/unit_testing_rules.md):

- ``5``, ``-2.5``, ``1e3``: one point;
- ``_``: no point at that step; ``_xN``: N steps without a point;
- ``a+bxN`` / ``a-bxN``: a, then N further points incrementing (decrementing) by b: N+1 points;
- ``axN``: a, N+1 times (``a+0xN``).

Datadog stores what was submitted: a count metric's point is the count of its interval (a delta), not a
running total, so ``12x9`` is 12 events in each of 10 steps. Prometheus' ``stale`` marker has no
Datadog counterpart and is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MISSING = "_"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXPANDED = re.compile(rf"(?P<start>{_NUMBER})(?:(?P<sign>[-+])(?P<step>{_NUMBER}))?x(?P<count>\d+)\Z")
_SINGLE = re.compile(rf"{_NUMBER}\Z")
_MISSING_RUN = re.compile(r"_x(?P<count>\d+)\Z")
_TOKEN = re.compile(r"\S+")
_METRIC = re.compile(r"(?P<metric>(?:mesh:)?[A-Za-z][A-Za-z0-9_.]*)\s*(?:\{(?P<tags>[^{}]*)\})?\Z")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
MAX_POINTS = 100_000  # per series: a test describes minutes or hours, not months at one-second steps

Values = list[float | None]  # one entry per step; None: no point at that step


class NotationError(ValueError):
    """A value string, series name or duration that cannot be read; ``column`` is 1-based in the text."""

    def __init__(self, message: str, column: int = 1, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint


def expand_values(text: str) -> Values:
    """``"0+10x3 _ 5"`` -> ``[0, 10, 20, 30, None, 5]``."""
    values: Values = []
    for token in _TOKEN.finditer(text):
        values.extend(_expand(token.group(), token.start() + 1))
        if len(values) > MAX_POINTS:
            raise NotationError(f"more than {MAX_POINTS} points in one series", token.start() + 1)
    if not values:
        raise NotationError("no values", hint='write values separated by spaces, e.g. "5 5 _ 0" or "0+10x30"')
    return values


def _expand(token: str, column: int) -> Values:
    if token == MISSING:
        return [None]
    if (run := _MISSING_RUN.match(token)) is not None:
        return [None] * _count(run["count"], column)
    if _SINGLE.match(token):
        return [_finite(token, column)]
    if (expanded := _EXPANDED.match(token)) is not None:
        start = _finite(expanded["start"], column)
        step = _finite(expanded["step"], column) if expanded["step"] else 0.0
        step = -step if expanded["sign"] == "-" else step
        return [start + index * step for index in range(_count(expanded["count"], column) + 1)]
    if token == "stale":
        raise NotationError("Datadog has no stale marker", column, "write _ for a step without a point")
    raise NotationError(
        f"cannot read {token!r}",
        column,
        "a number, _ (no point), a+bxN, a-bxN, axN or _xN (promtool's notation)",
    )


def _count(text: str, column: int) -> int:
    count = int(text)
    if count > MAX_POINTS:
        raise NotationError(f"x{count}: more than {MAX_POINTS} points in one series", column)
    return count


def _finite(text: str, column: int) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotationError(f"{text} is not a finite number", column)
    return value


@dataclass(frozen=True)
class SeriesName:
    metric: str  # a Datadog metric name, or mesh:<catalogue key>
    tags: tuple[str, ...]

    @property
    def catalogue_key(self) -> str | None:
        """The catalogue key of ``mesh:<key>``; None for a Datadog metric name."""
        return self.metric.removeprefix("mesh:") if self.metric.startswith("mesh:") else None


def parse_series_name(text: str) -> SeriesName:
    """``mesh:requests{reporter:destination,response_code:503}`` -> its metric and tags."""
    found = _METRIC.match(text.strip())
    if found is None:
        raise NotationError(
            f"cannot read the series {text!r}",
            hint="write metric{tag:value,...}, e.g. app.errors{service:cart}, or mesh:<catalogue key>{...}",
        )
    tags = tuple(tag.strip() for tag in (found["tags"] or "").split(",") if tag.strip())
    for tag in tags:
        if " " in tag:
            raise NotationError(f"the tag {tag!r} holds a space", hint="separate tags with commas")
    return SeriesName(found["metric"], tags)


def parse_duration(text: str) -> int:
    """``90s``, ``12m``, ``1h30m``, ``2d`` -> seconds."""
    compact = text.strip()
    parts = _DURATION_PART.findall(compact)
    if not parts or "".join(amount + unit for amount, unit in parts) != compact:
        raise NotationError(
            f"{text!r} is not a duration", hint="a number and a unit (s, m, h, d): 90s, 12m, 1h30m"
        )
    return sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)


def format_duration(seconds: int) -> str:
    """``720`` -> ``12m``; ``5400`` -> ``1h30m``; ``90`` -> ``1m30s``."""
    if seconds == 0:
        return "0m"
    shown = []
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            shown.append(f"{amount}{unit}")
    return "".join(shown)
