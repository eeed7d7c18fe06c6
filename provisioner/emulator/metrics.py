"""The org's metric store: every submitted point, by metric and tag set, bounded.

- A **series** is one metric with one tag set (the host is the tag ``host:<name>``). Points are kept at
  1-second resolution: a fractional timestamp is rounded to the nearest second, and a point sent again for
  the same second replaces the old one (last write wins), as Datadog documents.
- Each **metric** keeps the type it was submitted with (``count``, ``rate``, ``gauge``; a submission without
  a type leaves the known type alone, and a metric never given one is ``unspecified``), its interval and unit.
- A **distribution** (submitted on ``/api/v1/distribution_points``) keeps every raw value: a series of one
  holds one point per value, several at the same second (nothing is replaced), so a query computes its
  percentiles over the raw values.
- **Bounds** (``MetricLimits``): points older than ``retention_s`` before the emulator's clock are dropped; a
  series keeps at most ``max_points_per_series`` (its oldest go first); a metric keeps at most
  ``max_series_per_metric`` (the series that reported least recently goes); the store keeps at most
  ``max_total_points`` (the oldest points of the whole store go). Nothing raises when a bound is hit; the
  drops are counted in ``stats()``.
- **Lookups** that monitors repeat every minute are cached: the series of a metric matching a scope are
  remembered until a series of that metric is added or removed.

The store has no lock of its own: callers hold the org lock.

**Persistence** (the org's collection ``metrics``): ``submit`` records the points each series of a
submission kept (after the time-range check, rounded to the second) as one journal change, so the cost of a
submission is its own size, never the store's; retention drops are recorded as the time they were computed
at. Replaying these through the same code gives the same store, bounds included; ``export`` is the whole
store, for the snapshot.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioner.emulator.journal import WIPE
from provisioner.emulator.scope import TagFilter, parse_tag_filter

if TYPE_CHECKING:
    from provisioner.emulator.org import ChangeRecorder

METRIC_TYPES = ("unspecified", "count", "rate", "gauge")
DISTRIBUTION = "distribution"
# Journal changes: the points a submission kept, and a retention cutoff applied at a time.
POINTS, EXPIRE = "points", "expire"


@dataclass(frozen=True)
class MetricLimits:
    retention_s: int = 8 * 86_400  # the longest window (last_1w) plus a day
    max_points_per_series: int = 50_000
    max_series_per_metric: int = 10_000
    max_total_points: int = 2_000_000


@dataclass(frozen=True)
class SubmittedSeries:
    """One series of a submission, already validated: ``points`` are (epoch s, value) in any order."""

    metric: str
    points: tuple[tuple[float, float], ...]
    tags: tuple[str, ...] = ()
    metric_type: str = "unspecified"
    interval: int | None = None
    unit: str | None = None


class Series:
    __slots__ = ("metric", "tags", "_tag_values", "timestamps", "values")

    def __init__(self, metric: str, tags: frozenset[str]) -> None:
        self.metric = metric
        self.tags = tags
        self._tag_values: dict[str, tuple[str, ...]] = {}
        for tag in sorted(tags):
            key = tag.partition(":")[0]
            self._tag_values[key] = (*self._tag_values.get(key, ()), tag)
        self.timestamps = array("q")
        self.values = array("d")

    def tags_with_keys(self, keys: Iterable[str]) -> tuple[str, ...] | None:
        """The series' tags for these keys (sorted), or None when one key is missing."""
        found: list[str] = []
        for key in keys:
            tags = self._tag_values.get(key)
            if tags is None:
                return None
            found.extend(tags)
        return tuple(sorted(found))

    @property
    def last_timestamp(self) -> int | None:
        return self.timestamps[-1] if self.timestamps else None

    def put(self, timestamp: int, value: float) -> bool:
        """Store a point; True when it is new (False when it replaced one)."""
        stamps = self.timestamps
        if not stamps or timestamp > stamps[-1]:
            stamps.append(timestamp)
            self.values.append(value)
            return True
        index = bisect.bisect_left(stamps, timestamp)
        if stamps[index] == timestamp:
            self.values[index] = value
            return False
        stamps.insert(index, timestamp)
        self.values.insert(index, value)
        return True

    def add(self, timestamp: int, value: float) -> bool:
        """Store a value of a distribution: kept beside those of the same second (always new)."""
        stamps = self.timestamps
        if not stamps or timestamp >= stamps[-1]:
            stamps.append(timestamp)
            self.values.append(value)
            return True
        index = bisect.bisect_right(stamps, timestamp)
        stamps.insert(index, timestamp)
        self.values.insert(index, value)
        return True

    def put_all(self, timestamps: Sequence[int], values: Sequence[float], distribution: bool = False) -> int:
        """Store many points; returns how many are new. Into an empty series, increasing timestamps (an
        export; non-decreasing for a distribution) are taken whole."""
        if len(timestamps) != len(values):
            raise ValueError("a series needs as many values as timestamps")
        pairs = zip(timestamps, timestamps[1:], strict=False)
        in_order = all(a <= b for a, b in pairs) if distribution else all(a < b for a, b in pairs)
        if not self.timestamps and in_order:
            self.timestamps = array("q", timestamps)
            self.values = array("d", values)
            return len(timestamps)
        store = self.add if distribution else self.put
        return sum(store(int(t), float(v)) for t, v in zip(timestamps, values, strict=True))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Index range of the points with ``start <= timestamp < end``."""
        return bisect.bisect_left(self.timestamps, start), bisect.bisect_left(self.timestamps, end)

    def drop_before(self, cutoff: int) -> int:
        count = bisect.bisect_left(self.timestamps, cutoff)
        return self.drop_oldest(count)

    def drop_oldest(self, count: int) -> int:
        if count > 0:
            del self.timestamps[:count]
            del self.values[:count]
        return max(count, 0)


@dataclass
class Metric:
    name: str
    metric_type: str = "unspecified"
    interval: int | None = None
    unit: str | None = None
    series: dict[frozenset[str], Series] = field(default_factory=dict)
    generation: int = 0  # bumped when a series is added or removed


@dataclass
class _Counters:
    accepted: int = 0
    out_of_range: int = 0
    retention: int = 0
    series_cap: int = 0
    point_cap: int = 0
    store_cap: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class MetricStore:
    def __init__(self, limits: MetricLimits | None = None, changes: ChangeRecorder | None = None) -> None:
        """Without ``changes`` (a store used on its own) nothing is recorded."""
        self.limits = limits or MetricLimits()
        self._changes = changes
        self._metrics: dict[str, Metric] = {}
        self._total_points = 0
        self._matching: dict[tuple[str, str], tuple[int, list[Series]]] = {}
        self.counters = _Counters()

    # -- writes -----------------------------------------------------------------
    def submit(
        self, submitted: Iterable[SubmittedSeries], accepted_from: float | None, accepted_to: float | None
    ) -> int:
        """Store the points inside [accepted_from, accepted_to] (None: no bound) and record what each series
        kept (in the org's transaction); returns how many points were kept."""
        kept = []
        for series in submitted:
            points = self._accepted(series, accepted_from, accepted_to)
            self._put(series, points)
            kept.append(_journaled(series, points))
        if self._changes is not None:
            self._changes.record(POINTS, None, kept)
        return sum(len(item["points"]) for item in kept)

    def add(
        self, submitted: SubmittedSeries, accepted_from: float | None = None, accepted_to: float | None = None
    ) -> int:
        """``submit`` of one series without recording it: for a store kept in memory only."""
        points = self._accepted(submitted, accepted_from, accepted_to)
        self._put(submitted, points)
        return len(points)

    def expire(self, now_s: float) -> None:
        """Drop the points older than the retention period, and the series left empty (recorded when that
        changed anything)."""
        if self._drop_expired(now_s) and self._changes is not None:
            self._changes.record(EXPIRE, None, now_s)

    def _accepted(
        self, submitted: SubmittedSeries, accepted_from: float | None, accepted_to: float | None
    ) -> list[tuple[int, float]]:
        accepted = [
            (_to_second(timestamp), value)
            for timestamp, value in submitted.points
            if (accepted_from is None or timestamp >= accepted_from)
            and (accepted_to is None or timestamp <= accepted_to)
        ]
        self.counters.out_of_range += len(submitted.points) - len(accepted)
        return accepted

    def _put(self, submitted: SubmittedSeries, points: Iterable[tuple[int, float]]) -> None:
        metric = self._metrics.get(submitted.metric)
        if metric is None:
            metric = self._metrics[submitted.metric] = Metric(submitted.metric)
        _update_metadata(metric, submitted)
        series = self._series_for(metric, frozenset(submitted.tags))
        store = series.add if metric.metric_type == DISTRIBUTION else series.put
        stored = 0
        for timestamp, value in points:
            self._total_points += store(timestamp, value)
            stored += 1
        self.counters.accepted += stored
        self._cap_series(series)
        if self._total_points > self.limits.max_total_points:
            self._cap_store()

    def _drop_expired(self, now_s: float) -> bool:
        """True when something was dropped (a series without points is, even one that never had any)."""
        cutoff = int(now_s) - self.limits.retention_s
        changed = False
        for metric in list(self._metrics.values()):
            for key, series in list(metric.series.items()):
                dropped = series.drop_before(cutoff)
                self._total_points -= dropped
                self.counters.retention += dropped
                if not series.timestamps:
                    self._remove_series(metric, key)
                    changed = True
                changed = changed or dropped > 0
            if not metric.series:
                self._forget_metric(metric.name)
                changed = True
        return changed

    def wipe(self) -> None:
        self._metrics.clear()
        self._matching.clear()
        self._total_points = 0
        self.counters = _Counters()

    # -- reads ------------------------------------------------------------------
    def metric(self, name: str) -> Metric | None:
        return self._metrics.get(name)

    def matching(self, name: str, scope: TagFilter) -> list[Series]:
        """The series of a metric whose tags pass the scope (cached until that metric's series change)."""
        metric = self._metrics.get(name)
        if metric is None:
            return []
        cached = self._matching.get((name, scope.text))
        if cached is not None and cached[0] == metric.generation:
            return cached[1]
        found = list(metric.series.values())
        if not scope.match_all:
            found = [series for series in found if scope.matches(series.tags)]
        if len(self._matching) > 20_000:
            self._matching.clear()
        self._matching[(name, scope.text)] = (metric.generation, found)
        return found

    def active_metrics(self, since_s: int, host: str | None, tag_filter: str | None) -> list[str]:
        """Names of the metrics with a point at or after ``since_s`` from a source passing the filters."""
        scope = parse_tag_filter(tag_filter) if tag_filter else None
        names = []
        for metric in self._metrics.values():
            for series in metric.series.values():
                last = series.last_timestamp
                if last is None or last < since_s:
                    continue
                if host is not None and f"host:{host}" not in series.tags:
                    continue
                if scope is not None and not scope.matches(series.tags):
                    continue
                names.append(metric.name)
                break
        return sorted(names)

    def tags_since(self, name: str, since_s: int, required: frozenset[str]) -> list[str]:
        """The tags of a metric's sources with a point at or after ``since_s`` that carry every required tag."""
        metric = self._metrics.get(name)
        found: set[str] = set()
        for series in metric.series.values() if metric else ():
            last = series.last_timestamp
            if last is not None and last >= since_s and required <= series.tags:
                found.update(series.tags)
        return sorted(found)

    def stats(self) -> dict[str, Any]:
        return {
            "metrics": len(self._metrics),
            "series": sum(len(metric.series) for metric in self._metrics.values()),
            "points": self._total_points,
            "points_accepted": self.counters.accepted,
            "points_dropped": {k: v for k, v in self.counters.as_dict().items() if k != "accepted"},
            "limits": dict(self.limits.__dict__),
        }

    # -- persistence ------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """A JSON-ready copy of every metric and point (bounded by the limits)."""
        return {"metrics": [_export_metric(metric) for metric in self._metrics.values()]}

    def restore(self, exported: dict[str, Any]) -> None:
        """Load an ``export`` (the bounds apply to it)."""
        self.wipe()
        for item in exported.get("metrics", []):
            metric = self._metrics[item["name"]] = Metric(
                item["name"], item.get("type", "unspecified"), item.get("interval"), item.get("unit")
            )
            for stored in item.get("series", []):
                series = self._series_for(metric, frozenset(stored["tags"]))
                if "points" in stored:  # a state file of version 1: [[timestamp, value], ...]
                    timestamps = [int(point[0]) for point in stored["points"]]
                    values = [float(point[1]) for point in stored["points"]]
                else:
                    timestamps, values = stored["timestamps"], stored["values"]
                self._total_points += series.put_all(timestamps, values, metric.metric_type == DISTRIBUTION)
                self._cap_series(series)
        if self._total_points > self.limits.max_total_points:
            self._cap_store()

    def replay(self, op: str, key: Any, value: Any) -> None:
        if op == POINTS:
            for item in value:
                series = SubmittedSeries(
                    item["metric"], (), tuple(item["tags"]), item["type"], item["interval"], item["unit"]
                )
                self._put(series, ((int(t), float(v)) for t, v in item["points"]))
        elif op == EXPIRE:
            self._drop_expired(value)
        elif op == WIPE:
            self.wipe()
        else:
            raise ValueError(f"unknown metric change {op!r}")

    # -- bounds -----------------------------------------------------------------
    def _series_for(self, metric: Metric, tags: frozenset[str]) -> Series:
        series = metric.series.get(tags)
        if series is not None:
            return series
        if len(metric.series) >= self.limits.max_series_per_metric:
            stalest = min(metric.series, key=lambda key: metric.series[key].last_timestamp or 0)
            self.counters.series_cap += len(metric.series[stalest].timestamps)
            self._remove_series(metric, stalest)
        series = metric.series[tags] = Series(metric.name, tags)
        metric.generation += 1
        return series

    def _cap_series(self, series: Series) -> None:
        excess = len(series.timestamps) - self.limits.max_points_per_series
        if excess > 0:
            self._total_points -= series.drop_oldest(excess)
            self.counters.point_cap += excess

    def _cap_store(self) -> None:
        """Drop the oldest points of the whole store until it holds 90% of its cap."""
        target = self.limits.max_total_points * 9 // 10
        everything = list(self._all_series())
        low = min(series.timestamps[0] for series in everything if series.timestamps)
        high = max(series.timestamps[-1] for series in everything if series.timestamps) + 1
        while low < high:  # the smallest cutoff leaving at most ``target`` points
            middle = (low + high) // 2
            kept = sum(len(s.timestamps) - bisect.bisect_left(s.timestamps, middle) for s in everything)
            if kept <= target:
                high = middle
            else:
                low = middle + 1
        for series in everything:
            dropped = series.drop_before(low)
            self._total_points -= dropped
            self.counters.store_cap += dropped
        for metric in list(self._metrics.values()):
            for key in [key for key, series in metric.series.items() if not series.timestamps]:
                self._remove_series(metric, key)

    def _remove_series(self, metric: Metric, key: frozenset[str]) -> None:
        removed = metric.series.pop(key)
        self._total_points -= len(removed.timestamps)
        metric.generation += 1

    def _forget_metric(self, name: str) -> None:
        del self._metrics[name]
        self._matching = {key: value for key, value in self._matching.items() if key[0] != name}

    def _all_series(self) -> Iterator[Series]:
        for metric in self._metrics.values():
            yield from metric.series.values()


def _update_metadata(metric: Metric, submitted: SubmittedSeries) -> None:
    if submitted.metric_type != "unspecified":
        metric.metric_type = submitted.metric_type
    if submitted.interval is not None:
        metric.interval = submitted.interval
    if submitted.unit is not None:
        metric.unit = submitted.unit


def _journaled(submitted: SubmittedSeries, points: list[tuple[int, float]]) -> dict[str, Any]:
    """One series of a ``points`` change: what ``replay`` needs to store it again."""
    return {
        "metric": submitted.metric,
        "tags": list(submitted.tags),
        "type": submitted.metric_type,
        "interval": submitted.interval,
        "unit": submitted.unit,
        "points": points,
    }


def _to_second(timestamp: float) -> int:
    """Fractions of a second are rounded to the nearest second (half up)."""
    return math.floor(timestamp + 0.5)


def _export_metric(metric: Metric) -> dict[str, Any]:
    return {
        "name": metric.name,
        "type": metric.metric_type,
        "interval": metric.interval,
        "unit": metric.unit,
        "series": [  # two columns: quick to copy under the org lock, which compaction holds
            {
                "tags": sorted(series.tags),
                "timestamps": series.timestamps.tolist(),
                "values": series.values.tolist(),
            }
            for series in metric.series.values()
        ],
    }
