"""A metric monitor query computed over one window, group by group.

``plan_query`` checks once, statically, that the evaluator can compute a query (or raises ``Unevaluable``
with the reason); ``evaluate_query`` computes it over a window from the metric store. The rules applied
here are listed, with their sources and choices, in the package docstring (``evaluation/__init__.py``).

A **distribution** metric's term is computed per bucket and group over the raw values of every series of
the group in the bucket (``p95:``, ``count:``, ``avg:`` ...), as Datadog computes it. Datadog's DDSketch
makes its percentiles approximate (1% relative accuracy); the emulator keeps the raw values and is exact:
the percentile is linearly interpolated between the two closest ranks of the sorted values. A percentile
or ``count:`` on a metric of another type is refused (``Unevaluable``), and monitors with them are not
evaluated.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import TypeVar

from provisioner.emulator.evaluation.timeframe import Timeframe, TimeframeError, parse_timeframe
from provisioner.emulator.metric_query import (
    DISTRIBUTION_AGGREGATORS,
    PERCENTILE,
    BinaryOp,
    FunctionCall,
    MetricQueryFacts,
    MetricTerm,
    Modified,
    Modifier,
    Negate,
    Node,
    Number,
    Word,
)
from provisioner.emulator.metrics import DISTRIBUTION, Metric, MetricStore, Series
from provisioner.emulator.scope import ScopeError, parse_tag_filter

GroupKey = tuple[str, ...]
Vector = list[float | None]
_Read = TypeVar("_Read")

ROLLUP_METHODS = frozenset({"avg", "sum", "min", "max", "count"})
FILL_MODES = frozenset({"null", "zero", "last", "linear"})
DEFAULT_FILL_LIMIT_S = 300
COUNTING_TYPES = frozenset({"count", "rate"})
_UNARY_FUNCTIONS: dict[str, Callable[[float], float | None]] = {"abs": abs}
_THRESHOLD_FUNCTIONS: dict[str, Callable[[float, float], float | None]] = {
    "clamp_min": lambda value, limit: max(value, limit),
    "clamp_max": lambda value, limit: min(value, limit),
    "cutoff_min": lambda value, limit: None if value < limit else value,
    "cutoff_max": lambda value, limit: None if value > limit else value,
}
EVALUATED_FUNCTIONS = frozenset({"default_zero", *_UNARY_FUNCTIONS, *_THRESHOLD_FUNCTIONS})


class Unevaluable(Exception):
    """The evaluator cannot compute this query; ``reason`` says why (listed by ``/_emulator/unevaluated``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class QueryPlan:
    aggregator: str  # the monitor's time aggregator: avg, sum, min, max, last
    timeframe: Timeframe
    comparator: str
    threshold: float
    expression: Node
    path: str  # "classic" or "as_count"
    grid_s: int  # value buckets inside the window
    group_by: tuple[str, ...]  # the finest grouping of the query; () for a simple alert
    count_query: bool  # on_missing_data "default" evaluates it as 0 when data is missing

    @property
    def multi(self) -> bool:
        return bool(self.group_by)


@dataclass(frozen=True)
class Window:
    start: int
    end: int
    bucket_s: int
    presence_bucket_s: int  # require_full_window buckets

    @property
    def buckets(self) -> int:
        return max(1, math.ceil((self.end - self.start) / self.bucket_s))

    @property
    def presence_buckets(self) -> int:
        return max(1, math.ceil((self.end - self.start) / self.presence_bucket_s))

    def bucket_length(self, index: int) -> int:
        begin = self.start + index * self.bucket_s
        return min(self.bucket_s, self.end - begin)


@dataclass(frozen=True)
class GroupOutcome:
    name: str  # "service:cart" or "*"
    value: float | None  # None: no value (no points, or every result rejected)
    presence: frozenset[int]  # presence buckets holding a point (when tracked)
    latest: int | None  # the newest point of the group inside the window


@dataclass(frozen=True)
class QueryOutcome:
    groups: dict[str, GroupOutcome]


# -- planning ---------------------------------------------------------------------------
def plan_query(facts: MetricQueryFacts) -> QueryPlan:
    if facts.change is not None:
        raise Unevaluable(f"{facts.change}() queries are not evaluated")
    try:
        timeframe = parse_timeframe(facts.timeframe)
    except TimeframeError as exc:
        raise Unevaluable(str(exc)) from None
    grouping = _check(facts.expression)
    if grouping is None:
        raise Unevaluable("the query has no metric")
    terms = list(metric_terms(facts.expression))
    for term in terms:
        if _distribution_only(term.space_aggregator):
            raise Unevaluable(f"{term.space_aggregator}: monitors on distributions are not evaluated")
    rollups = [_rollup_seconds(term) for term in terms]
    explicit = [seconds for seconds in rollups if seconds]
    arithmetic = _has_arithmetic(facts.expression)
    all_as_count = all(term.has_modifier("as_count") for term in terms)
    return QueryPlan(
        aggregator=facts.aggregator,
        timeframe=timeframe,
        comparator=facts.comparator,
        threshold=facts.threshold,
        expression=facts.expression,
        path="as_count" if arithmetic and any(t.has_modifier("as_count") for t in terms) else "classic",
        grid_s=max(explicit) if explicit else timeframe.bucket_s,
        group_by=grouping,
        count_query=(facts.aggregator == "sum" or all_as_count)
        and not _uses(facts.expression, "default_zero"),
    )


def _check(node: Node) -> tuple[str, ...] | None:
    """The query's grouping (sorted keys; None for a constant); raises ``Unevaluable``."""
    if isinstance(node, Number):
        return None
    if isinstance(node, Negate):
        return _check(node.operand)
    if isinstance(node, MetricTerm):
        _check_term(node)
        return tuple(sorted(set(node.group_by)))
    if isinstance(node, FunctionCall):
        return _check_function(node)
    if isinstance(node, BinaryOp):
        return _finer(_check(node.left), _check(node.right))
    if isinstance(node, Modified):
        raise Unevaluable("modifiers on something other than a metric are not evaluated")
    raise Unevaluable(f"{node.text!r} is not a value")


def _distribution_only(space_aggregator: str | None) -> bool:
    """``count:`` and percentiles (``p95:``) aggregate the raw values of a distribution only."""
    if space_aggregator is None:
        return False
    return space_aggregator in DISTRIBUTION_AGGREGATORS or PERCENTILE.fullmatch(space_aggregator) is not None


def _check_term(term: MetricTerm) -> None:
    try:
        parse_tag_filter(term.scope)
    except ScopeError as exc:
        raise Unevaluable(f"{term.metric}{{{term.scope}}}: {exc}") from None
    for modifier in term.modifiers:
        if modifier.name in ("as_count", "as_rate") and not modifier.args:
            continue
        if modifier.name == "rollup" and _rollup_arguments(modifier) is not None:
            continue
        if modifier.name == "fill" and _fill_arguments(modifier) is not None:
            continue
        raise Unevaluable(f".{modifier.name}({_shown(modifier.args)}) is not evaluated")


def _check_function(call: FunctionCall) -> tuple[str, ...] | None:
    if call.name not in EVALUATED_FUNCTIONS:
        raise Unevaluable(f"{call.name}() is not evaluated")
    wants = 2 if call.name in _THRESHOLD_FUNCTIONS else 1
    if len(call.args) != wants or (wants == 2 and _constant(call.args[1]) is None):
        raise Unevaluable(f"{call.name}() takes {'a query and a number' if wants == 2 else 'one query'}")
    return _check(call.args[0])


def _finer(left: tuple[str, ...] | None, right: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The grouping of ``left op right``: one must group by a subset of the other's keys."""
    if left is None or right is None:
        return right if left is None else left
    if set(left) <= set(right):
        return right
    if set(right) <= set(left):
        return left
    raise Unevaluable(f"operands grouped by different tags ({', '.join(left)} and {', '.join(right)})")


def metric_terms(node: Node) -> Iterable[MetricTerm]:
    if isinstance(node, MetricTerm):
        yield node
    elif isinstance(node, Negate):
        yield from metric_terms(node.operand)
    elif isinstance(node, FunctionCall):
        for argument in node.args:
            yield from metric_terms(argument)
    elif isinstance(node, BinaryOp):
        yield from metric_terms(node.left)
        yield from metric_terms(node.right)


def _has_arithmetic(node: Node) -> bool:
    if isinstance(node, BinaryOp):
        return True
    if isinstance(node, Negate):
        return _has_arithmetic(node.operand)
    if isinstance(node, FunctionCall):
        return any(_has_arithmetic(argument) for argument in node.args)
    return False


def _uses(node: Node, function: str) -> bool:
    if isinstance(node, FunctionCall):
        return node.name == function or any(_uses(argument, function) for argument in node.args)
    if isinstance(node, BinaryOp):
        return _uses(node.left, function) or _uses(node.right, function)
    return isinstance(node, Negate) and _uses(node.operand, function)


def _constant(node: Node) -> float | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Negate):
        inner = _constant(node.operand)
        return None if inner is None else -inner
    return None


def _rollup_arguments(modifier: Modifier) -> tuple[str, int | None] | None:
    args = modifier.args
    if not args or len(args) > 2 or not isinstance(args[0], Word) or args[0].text not in ROLLUP_METHODS:
        return None
    if len(args) == 1:
        return args[0].text, None
    seconds = _constant(args[1])
    if seconds is None or seconds < 1 or seconds != int(seconds):
        return None
    return args[0].text, int(seconds)


def _fill_arguments(modifier: Modifier) -> tuple[str, int] | None:
    args = modifier.args
    if not args or len(args) > 2 or not isinstance(args[0], Word) or args[0].text not in FILL_MODES:
        return None
    limit = DEFAULT_FILL_LIMIT_S if len(args) == 1 else _constant(args[1])
    if limit is None or limit < 0:
        return None
    return args[0].text, int(limit)


def _rollup_seconds(term: MetricTerm) -> int | None:
    for modifier in term.modifiers:
        if modifier.name == "rollup":
            arguments = _rollup_arguments(modifier)
            return arguments[1] if arguments else None
    return None


def _shown(args: tuple[Node, ...]) -> str:
    return ", ".join(arg.text if isinstance(arg, Word) else "…" for arg in args)


# -- evaluation -------------------------------------------------------------------------
@dataclass
class _Frame:
    """Per-group vectors of one operand (one bucket per value, or one value on the as_count path)."""

    by: tuple[str, ...]
    values: dict[GroupKey, Vector] = field(default_factory=dict)
    presence: dict[GroupKey, set[int]] = field(default_factory=dict)
    latest: dict[GroupKey, int] = field(default_factory=dict)
    known: set[GroupKey] = field(default_factory=set)  # groups with a source in the store, any time
    zero_aligned: bool = False  # a count/rate with as_count()/as_rate(): a missing bucket or group is 0


_Operand = _Frame | float


@dataclass(frozen=True)
class _Context:
    aggregator: str  # the monitor's time aggregator (the default rollup inside a bucket)
    path: str
    store: MetricStore
    window: Window
    track_presence: bool

    @property
    def length(self) -> int:
        """Vector length: one value per bucket, or one per window on the as_count path."""
        return 1 if self.path == "as_count" else self.window.buckets


def evaluate_series(
    expression: Node, store: MetricStore, window: Window
) -> tuple[tuple[str, ...], dict[GroupKey, Vector]]:
    """The grouping and per-group bucket values of a bare expression (``GET /api/v1/query``): buckets
    rolled up by ``avg`` unless the query says otherwise, arithmetic per bucket. Raises ``Unevaluable``."""
    grouping = _check(expression)
    if grouping is None:
        raise Unevaluable("the query has no metric")
    result = _evaluate(expression, _Context("avg", "classic", store, window, False))
    assert isinstance(result, _Frame)
    return grouping, result.values


def evaluate_query(plan: QueryPlan, store: MetricStore, window: Window, track_presence: bool) -> QueryOutcome:
    context = _Context(plan.aggregator, plan.path, store, window, track_presence)
    result = _evaluate(plan.expression, context)
    if not isinstance(result, _Frame):
        raise Unevaluable("the query has no metric")
    groups = {}
    for key, vector in result.values.items():
        name = ",".join(key) or "*"
        value = vector[0] if plan.path == "as_count" else time_aggregate(plan.aggregator, vector)
        latest = result.latest.get(key, -1)
        presence = frozenset(result.presence.get(key, ()))
        groups[name] = GroupOutcome(name, value, presence, latest if latest >= 0 else None)
    return QueryOutcome(groups)


def _evaluate(node: Node, context: _Context) -> _Operand:
    if context.path == "as_count" and _is_operand(node):
        return _window_operand(node, context)
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Negate):
        return _map(_evaluate(node.operand, context), lambda value: -value)
    if isinstance(node, MetricTerm):
        return _term_frame(node, context)
    if isinstance(node, FunctionCall):
        return _function(node, context)
    if isinstance(node, BinaryOp):
        return _combine(node.op, _evaluate(node.left, context), _evaluate(node.right, context), context)
    raise Unevaluable("this part of the query is not evaluated")


def _is_operand(node: Node) -> bool:
    """An operand of the as_count path's arithmetic: a metric, with functions around it, no arithmetic."""
    return not _has_arithmetic(node) and any(True for _ in metric_terms(node))


def _window_operand(node: Node, context: _Context) -> _Frame:
    """The as_count path: the operand per bucket (functions apply per rollup point), then aggregated
    over the whole window, before the arithmetic."""
    per_bucket = _evaluate(node, replace(context, path="classic"))
    assert isinstance(per_bucket, _Frame)  # an operand holds a metric
    return _reduced(per_bucket, context.aggregator)


def _function(call: FunctionCall, context: _Context) -> _Operand:
    operand = _evaluate(call.args[0], context)
    if call.name == "default_zero":
        return _default_zero(operand, context.length)
    if call.name in _UNARY_FUNCTIONS:
        return _map(operand, _UNARY_FUNCTIONS[call.name])
    limit = _constant(call.args[1])
    assert limit is not None  # checked by plan_query
    function = _THRESHOLD_FUNCTIONS[call.name]
    return _map(operand, lambda value: function(value, limit))


def _map(operand: _Operand, function: Callable[[float], float | None]) -> _Operand:
    if not isinstance(operand, _Frame):
        result = function(operand)
        return math.nan if result is None else result
    mapped = _like(operand)
    for key, vector in operand.values.items():
        mapped.values[key] = [None if value is None else _finite(function(value)) for value in vector]
    return mapped


def _default_zero(operand: _Operand, length: int) -> _Operand:
    if not isinstance(operand, _Frame):
        return 0.0 if math.isnan(operand) else operand
    filled = _like(operand)
    for key in operand.known | set(operand.values):
        vector = operand.values.get(key) or [None] * length
        filled.values[key] = [0.0 if value is None else value for value in vector]
    return filled


def _like(frame: _Frame) -> _Frame:
    """An empty frame with the same grouping and bookkeeping."""
    return _Frame(frame.by, {}, frame.presence, frame.latest, frame.known, frame.zero_aligned)


# -- one metric term ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Rollup:
    method: str  # avg sum min max last count
    factor: float = 1.0  # each value multiplied by it (a rate's interval for as_count)
    per_second: bool = False  # divided by the bucket length (as_rate of a count)
    zero_aligned: bool = False
    interpolated: bool = False  # gauges: linear fill when several sources meet in a group


def _term_frame(term: MetricTerm, context: _Context) -> _Frame:
    by = tuple(sorted(set(term.group_by)))
    frame = _Frame(by, known=set() if by else {()})
    metric = context.store.metric(term.metric)
    if metric is None:
        return frame
    if metric.metric_type == DISTRIBUTION:
        return _distribution_frame(term, metric, frame, context)
    if _distribution_only(term.space_aggregator):
        raise Unevaluable(
            f"{term.space_aggregator}: needs a distribution metric; {metric.name} is of type {metric.metric_type}"
        )
    rollup = _rollup_rule(term, metric, context.aggregator)
    frame.zero_aligned = rollup.zero_aligned
    sources = _grouped_sources(context.store.matching(metric.name, parse_tag_filter(term.scope)), by)
    frame.known.update(sources)
    fill = _explicit_fill(term)
    for key, members in sources.items():
        vectors, presence, latest = _per_source(
            members,
            context,
            lambda source, first, last: _bucketize(source, first, last, rollup, context.window),
        )
        if not vectors:
            continue
        if fill is not None:
            vectors = [_filled(vector, *fill, context.window.bucket_s) for vector in vectors]
        elif rollup.interpolated and len(vectors) > 1:
            vectors = [_filled(v, "linear", DEFAULT_FILL_LIMIT_S, context.window.bucket_s) for v in vectors]
        combined = _space_aggregate(term.space_aggregator or "avg", vectors)
        if rollup.zero_aligned:
            combined = [0.0 if value is None else value for value in combined]
        frame.values[key], frame.presence[key], frame.latest[key] = combined, presence, latest
    return frame


def _distribution_frame(term: MetricTerm, metric: Metric, frame: _Frame, context: _Context) -> _Frame:
    """Each group's buckets aggregated over the raw values of all its series (``fill`` applies after)."""
    for modifier in term.modifiers:
        if modifier.name != "fill":
            raise Unevaluable(f".{modifier.name}() on a distribution metric is not evaluated")
    sources = _grouped_sources(context.store.matching(metric.name, parse_tag_filter(term.scope)), frame.by)
    frame.known.update(sources)
    fill = _explicit_fill(term)
    aggregator = term.space_aggregator or "avg"
    window = context.window
    for key, members in sources.items():
        per_source, presence, latest = _per_source(
            members, context, lambda source, first, last: _bucket_values(source, first, last, window)
        )
        if not per_source:
            continue
        buckets = [list(chain.from_iterable(slices)) for slices in zip(*per_source, strict=True)]
        vector: Vector = [
            _distribution_aggregate(aggregator, values) if values else None for values in buckets
        ]
        if fill is not None:
            vector = _filled(vector, *fill, window.bucket_s)
        frame.values[key], frame.presence[key], frame.latest[key] = vector, presence, latest
    return frame


def _distribution_aggregate(aggregator: str, values: Sequence[float]) -> float:
    """A percentile (``p95``) or avg, sum, min, max, count over raw values (not empty)."""
    if PERCENTILE.fullmatch(aggregator):
        return percentile(values, float(aggregator[1:]))
    return _aggregate(aggregator, values)


def percentile(values: Sequence[float], rank: float) -> float:
    """The ``rank``-th percentile (0-100) of values (not empty), exact: linear interpolation between the two
    closest ranks of the sorted values (numpy's default "linear" method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * rank / 100
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _grouped_sources(series: list[Series], by: tuple[str, ...]) -> dict[GroupKey, list[Series]]:
    """Sources by group; a source missing one of the group-by tags is not seen by the monitor."""
    groups: dict[GroupKey, list[Series]] = {}
    for source in series:
        key = source.tags_with_keys(by) if by else ()
        if key is not None:
            groups.setdefault(key, []).append(source)
    return groups


def _per_source(
    members: list[Series], context: _Context, read: Callable[[Series, int, int], _Read]
) -> tuple[list[_Read], set[int], int]:
    """What ``read`` gives of each source with points in the window (from the index range of those points),
    the presence buckets and the newest timestamp of them all."""
    window = context.window
    found: list[_Read] = []
    presence: set[int] = set()
    latest = -1
    for source in members:
        first, last = source.span(window.start, window.end)
        if first == last:
            continue
        found.append(read(source, first, last))
        latest = max(latest, source.timestamps[last - 1])
        if context.track_presence:
            step = window.presence_bucket_s
            presence.update((stamp - window.start) // step for stamp in source.timestamps[first:last])
    return found, presence, latest


def _bucket_values(source: Series, first: int, last: int, window: Window) -> list[Sequence[float]]:
    """The raw values ``first:last`` of a distribution's series, bucket by bucket."""
    stamps, values = source.timestamps, source.values
    buckets: list[Sequence[float]] = []
    low = first
    for bucket in range(window.buckets):
        high = bisect.bisect_left(stamps, window.start + (bucket + 1) * window.bucket_s, low, last)
        buckets.append(values[low:high])
        low = high
    return buckets


def _rollup_rule(term: MetricTerm, metric: Metric, monitor_aggregator: str) -> _Rollup:
    explicit = None
    for modifier in term.modifiers:
        if modifier.name == "rollup":
            arguments = _rollup_arguments(modifier)
            explicit = arguments[0] if arguments else None
    counting = metric.metric_type in COUNTING_TYPES
    factor = float(metric.interval or 1) if metric.metric_type == "rate" else 1.0
    if counting and term.has_modifier("as_count"):
        return _Rollup(explicit or "sum", factor, zero_aligned=True)
    if counting and term.has_modifier("as_rate"):
        return _Rollup(explicit or "sum", factor, per_second=True, zero_aligned=True)
    return _Rollup(explicit or monitor_aggregator, interpolated=not counting)


def _explicit_fill(term: MetricTerm) -> tuple[str, int] | None:
    for modifier in term.modifiers:
        if modifier.name == "fill":
            return _fill_arguments(modifier)
    return None


def _bucketize(source: Series, first: int, last: int, rollup: _Rollup, window: Window) -> Vector:
    """One value per bucket from the points ``first:last`` (None: no point in that bucket). Each bucket's
    points are found by bisection and aggregated by built-ins: no Python loop over the points."""
    stamps, values = source.timestamps, source.values
    vector: Vector = []
    low = first
    for bucket in range(window.buckets):
        high = bisect.bisect_left(stamps, window.start + (bucket + 1) * window.bucket_s, low, last)
        if high == low:
            vector.append(None)
            continue
        value = _aggregate(rollup.method, values[low:high]) * rollup.factor
        vector.append(value / window.bucket_length(bucket) if rollup.per_second else value)
        low = high
    return vector


def _filled(vector: Vector, mode: str, limit_s: int, bucket_s: int) -> Vector:
    """``fill(mode, limit)``: a missing bucket at most ``limit_s`` after a real one is filled."""
    if mode == "null":
        return vector
    reach = limit_s // bucket_s
    filled = list(vector)
    previous: int | None = None
    for index, value in enumerate(vector):
        if value is not None:
            previous = index
            continue
        if previous is None or index - previous > reach:
            continue
        before = vector[previous]
        assert before is not None
        if mode == "zero":
            filled[index] = 0.0
        elif mode == "last":
            filled[index] = before
        else:
            filled[index] = _interpolated(vector, previous, index, reach)
    return filled


def _interpolated(vector: Vector, previous: int, index: int, reach: int) -> float | None:
    for following in range(index + 1, min(len(vector), previous + reach + 1)):
        after = vector[following]
        if after is not None:
            before = vector[previous]
            assert before is not None
            return before + (after - before) * (index - previous) / (following - previous)
    return None


def _space_aggregate(aggregator: str, vectors: list[Vector]) -> Vector:
    if len(vectors) == 1:
        return vectors[0]
    combined: Vector = []
    for column in zip(*vectors, strict=True):
        present = [value for value in column if value is not None]
        combined.append(_aggregate(aggregator, present) if present else None)
    return combined


def time_aggregate(aggregator: str, vector: Vector) -> float | None:
    """The monitor's aggregation over the buckets of the window; empty buckets are left out."""
    present = [value for value in vector if value is not None]
    return _aggregate(aggregator, present) if present else None


def _aggregate(method: str, values: Sequence[float]) -> float:
    """avg, sum, min, max, last (the time aggregators) and count (a rollup method) of non-empty values."""
    if method == "sum":
        return math.fsum(values)
    if method == "avg":
        return math.fsum(values) / len(values)
    if method == "min":
        return min(values)
    if method == "max":
        return max(values)
    if method == "count":
        return float(len(values))
    return values[-1]  # last


def _reduced(frame: _Frame, aggregator: str) -> _Frame:
    """The as_count path: each operand aggregated over the whole window first."""
    reduced = _like(frame)
    for key, vector in frame.values.items():
        reduced.values[key] = [time_aggregate(aggregator, vector)]
    return reduced


# -- arithmetic between operands -----------------------------------------------------------
def _combine(op: str, left: _Operand, right: _Operand, context: _Context) -> _Operand:
    if not isinstance(left, _Frame) and not isinstance(right, _Frame):
        result = None if math.isnan(left) or math.isnan(right) else _arithmetic(op, left, right)
        return math.nan if result is None else result
    if not isinstance(left, _Frame):
        return _map(right, lambda value: _arithmetic(op, left, value))
    if not isinstance(right, _Frame):
        return _map(left, lambda value: _arithmetic(op, value, right))
    fine = right if len(right.by) > len(left.by) else left
    combined = _Frame(fine.by, known=set(fine.known), zero_aligned=left.zero_aligned and right.zero_aligned)
    zeros: Vector = [0.0] * context.length
    for key in _paired_keys(left, right, fine):
        left_vector = _operand_vector(left, key, zeros)
        right_vector = _operand_vector(right, key, zeros)
        if left_vector is None or right_vector is None:
            continue
        combined.values[key] = [
            None if a is None or b is None else _arithmetic(op, a, b)
            for a, b in zip(left_vector, right_vector, strict=True)
        ]
        combined.presence[key] = _presence(left, key) | _presence(right, key)
        combined.latest[key] = max(_latest(left, key), _latest(right, key))
    return combined


def _paired_keys(left: _Frame, right: _Frame, fine: _Frame) -> set[GroupKey]:
    """Same grouping: the groups both have (or either has, where the other side counts a missing group as
    0). Different groupings: every group of the finer side, matched on the coarser side's keys."""
    if set(left.by) != set(right.by):
        return set(fine.values)
    keys = set(left.values) & set(right.values)
    if right.zero_aligned:
        keys |= set(left.values)
    if left.zero_aligned:
        keys |= set(right.values)
    return keys


def _projected(frame: _Frame, key: GroupKey) -> GroupKey:
    return tuple(tag for tag in key if tag.partition(":")[0] in frame.by)


def _operand_vector(frame: _Frame, key: GroupKey, zeros: Vector) -> Vector | None:
    vector = frame.values.get(_projected(frame, key))
    if vector is None and frame.zero_aligned:
        return zeros
    return vector


def _presence(frame: _Frame, key: GroupKey) -> set[int]:
    return frame.presence.get(_projected(frame, key), set())


def _latest(frame: _Frame, key: GroupKey) -> int:
    return frame.latest.get(_projected(frame, key), -1)


def _arithmetic(op: str, left: float, right: float) -> float | None:
    if op == "+":
        result = left + right
    elif op == "-":
        result = left - right
    elif op == "*":
        result = left * right
    elif right == 0:
        return None  # a division by zero is rejected
    else:
        result = left / right
    return _finite(result)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
