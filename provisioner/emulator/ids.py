"""Server-assigned identifiers, drawn from one seeded generator so a seed gives a repeatable org."""

from __future__ import annotations

import random
import string
import threading

_DASHBOARD_ALPHABET = string.ascii_lowercase + string.digits
_FIRST_MONITOR_ID = 150_000_000  # recorded ids have 9 digits
_WIDGET_ID_RANGE = (10**15, 2**53)  # up to 16 digits, below 2^53 (recorded)


class IdSource:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._last_monitor_id = _FIRST_MONITOR_ID + self._rng.randrange(1_000_000)

    def next_monitor_id(self) -> int:
        """Increasing (so ``id_offset`` paging works), but not consecutive, like a shared real org."""
        with self._lock:
            self._last_monitor_id += self._rng.randint(1, 97)
            return self._last_monitor_id

    def observe_monitor_id(self, monitor_id: int) -> None:
        """After a restore, never hand out an id at or below one already stored."""
        with self._lock:
            self._last_monitor_id = max(self._last_monitor_id, monitor_id)

    def dashboard_id(self) -> str:
        """``8a5-8x9-spj``: three groups of three lowercase alphanumerics."""
        with self._lock:
            groups = ("".join(self._rng.choices(_DASHBOARD_ALPHABET, k=3)) for _ in range(3))
            return "-".join(groups)

    def widget_id(self) -> int:
        with self._lock:
            return self._rng.randrange(*_WIDGET_ID_RANGE)
