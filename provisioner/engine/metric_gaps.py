"""What the metrics-reporting check (``metric_check.py``) found: each monitor's gaps and the check's outcome.
Apart from the check itself, so that a plan run without the check loads none of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import Literal

from provisioner.model import SourceLocation

ALL_TAGS_MIN_WINDOW = timedelta(hours=4)  # Datadog's minimum window[seconds] for all-tags


@dataclass(frozen=True)
class MetricCheckSettings:
    window: timedelta = timedelta(hours=24)  # a metric with no point in this window does not report
    max_tag_reads: int = 25  # all-tags requests at most, one per distinct metric

    @property
    def tags_window(self) -> timedelta:
        return max(self.window, ALL_TAGS_MIN_WINDOW)


class Cause(StrEnum):
    OTHER_MODE = "other-mode"
    COLLECTOR_SILENT = "collector-silent"
    STATS_NOT_KEPT = "stats-not-kept"
    NOT_REPORTING = "not-reporting"
    TAG_MISSING = "tag-missing"
    VALUE_MISSING = "value-missing"
    CUMULATIVE_GAUGE = "cumulative-gauge"


@dataclass(frozen=True)
class MetricGap:
    """One metric of one monitor that does not report (or lacks a tag key), and why."""

    metric: str
    cause: Cause
    message: str
    fix: str
    tag_key: str | None = None  # tag-missing, value-missing: the tag key


@dataclass(frozen=True)
class MonitorGaps:
    key: str
    source: SourceLocation | None
    gaps: tuple[MetricGap, ...]


CheckStatus = Literal["checked", "skipped", "failed"]


@dataclass(frozen=True)
class MetricCheck:
    """The outcome of one check: the monitors with gaps, and what it cost."""

    status: CheckStatus  # skipped: --no-metric-check; failed: Datadog could not be read (``error``)
    window: timedelta = MetricCheckSettings.window
    monitors: tuple[MonitorGaps, ...] = ()
    metrics: int = 0  # distinct metrics the monitors query
    tags_read: tuple[str, ...] = ()
    tags_unread: tuple[str, ...] = ()  # reporting metrics whose tag keys were over the budget
    requests: int = 0
    error: str = ""

    def gaps_of(self, key: str) -> tuple[MetricGap, ...]:
        return self._by_key.get(key, ())

    @cached_property
    def _by_key(self) -> dict[str, tuple[MetricGap, ...]]:
        return {m.key: m.gaps for m in self.monitors}


NOT_CHECKED = MetricCheck("skipped")


def span(delta: timedelta) -> str:
    """``24 h``, ``90 min``, ``7 days``."""
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86_400 and seconds % 86_400 == 0:
        return f"{seconds // 86_400} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"
