"""The emulator's clock, and server timestamps in the shapes Datadog records.

One clock serves everything that depends on "now": ``created``/``modified``, the accepted time range of
submitted points, metric retention and monitor evaluation.

- ``realtime``: the wall clock. ``provisioner emulator`` starts in this mode and evaluates monitors each
  minute in the background.
- ``manual``: the clock stands still until told to move (``POST /_emulator/clock``); it starts at the wall
  clock or at ``start_s``. An in-process emulator (``start_emulator``) starts in this mode, so a test decides
  when each evaluation happens. The clock never moves backwards.

With a state file the clock is the org's collection ``clock_s``: a manual clock started without an explicit
``start_s`` resumes at the stored time when that is later, and follows the moves other processes sharing the
state make; one started at an explicit ``start_s`` keeps its own time (its own moves are still recorded).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from provisioner.emulator.journal import WIPE

CLOCK_MODES = ("manual", "realtime")
CLOCK_MOVED = "moved"  # the journal change of a manual clock set to a new time


class ClockError(ValueError):
    """The clock cannot be moved that way; the message says why."""


class Clock:
    """Timestamps that never repeat, so a PUT always moves ``modified`` forward."""

    def __init__(self, mode: str = "realtime", start_s: float | None = None) -> None:
        if mode not in CLOCK_MODES:
            raise ValueError(f"clock mode must be one of {', '.join(CLOCK_MODES)}")
        self.mode = mode
        self._follows_stored = mode == "manual" and start_s is None
        self._lock = threading.Lock()
        self._manual_s = time.time() if start_s is None else float(start_s)
        self._last = datetime.fromtimestamp(0, UTC)

    def now_s(self) -> float:
        """The current time in epoch seconds."""
        return time.time() if self.mode == "realtime" else self._manual_s

    def now(self) -> datetime:
        with self._lock:
            current = datetime.fromtimestamp(self.now_s(), UTC)
            if current <= self._last:
                current = self._last + timedelta(microseconds=1)
            self._last = current
            return current

    def resume(self, stored_s: float) -> None:
        """A manual clock restored from a state file continues where it stopped, unless it starts later (or
        was started at an explicit time)."""
        with self._lock:
            if self._follows_stored:
                self._manual_s = max(self._manual_s, float(stored_s))

    def set(self, now_s: float) -> float:
        """Move a manual clock to ``now_s`` (not before the current time); returns the previous time."""
        with self._lock:
            if self.mode != "manual":
                raise ClockError("the clock follows the wall clock (realtime mode); it cannot be set")
            if now_s < self._manual_s:
                raise ClockError(
                    f"the clock never moves backwards (now {self._manual_s:.0f}, asked {now_s:.0f})"
                )
            previous, self._manual_s = self._manual_s, float(now_s)
            return previous

    # -- persistence (the org's collection "clock_s") ---------------------------------------------------
    def export(self) -> float:
        return self.now_s()

    def restore(self, section: Any) -> None:
        if isinstance(section, int | float) and not isinstance(section, bool):
            self.resume(section)

    def replay(self, op: str, key: Any, value: Any) -> None:
        if op == CLOCK_MOVED:
            self.resume(value)
        elif op != WIPE:  # a wipe empties the org; the clock keeps its time
            raise ValueError(f"unknown clock change {op!r}")


def iso_timestamp(moment: datetime) -> str:
    """``2024-10-10T16:39:00.138359+00:00``: microseconds always present, ``+00:00`` offset."""
    return moment.isoformat(timespec="microseconds")


def iso_seconds(epoch_s: float) -> str:
    """``2021-05-03T13:06:23+00:00``: the ``overall_state_modified`` shape, without microseconds."""
    return datetime.fromtimestamp(int(epoch_s), UTC).isoformat(timespec="seconds")


def epoch_millis_to_second(moment: datetime) -> int:
    """``created_at`` is epoch milliseconds truncated to the second (``1728578340000``)."""
    return int(moment.timestamp()) * 1000
