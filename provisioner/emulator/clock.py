"""Server timestamps in the shapes Datadog records: ISO-8601 with microseconds and epoch milliseconds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time that never repeats, so a PUT always moves ``modified`` forward."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime.fromtimestamp(0, UTC)

    def now(self) -> datetime:
        with self._lock:
            current = datetime.now(UTC)
            if current <= self._last:
                current = self._last + timedelta(microseconds=1)
            self._last = current
            return current


def iso_timestamp(moment: datetime) -> str:
    """``2024-10-10T16:39:00.138359+00:00``: microseconds always present, ``+00:00`` offset."""
    return moment.isoformat(timespec="microseconds")


def epoch_millis_to_second(moment: datetime) -> int:
    """``created_at`` is epoch milliseconds truncated to the second (``1728578340000``)."""
    return int(moment.timestamp()) * 1000
