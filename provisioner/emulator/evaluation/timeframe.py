"""Monitor windows: ``last_5m`` -> its length, its buckets and how often it is evaluated (reference 3.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LAST = re.compile(r"last_(\d+)([mhdw])\Z")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# require_full_window splits the window into 1 min buckets for minutes, 10 min for hours, 1 h for days
# (weeks are counted as days).
_BUCKET_SECONDS = {"m": 60, "h": 600, "d": 3600, "w": 3600}


class TimeframeError(ValueError):
    """A window the evaluator does not evaluate (the message says which)."""


@dataclass(frozen=True)
class Timeframe:
    text: str  # last_5m
    seconds: int
    bucket_s: int

    @property
    def label(self) -> str:
        """``5m``: how a message names the window."""
        return self.text.removeprefix("last_")

    @property
    def frequency_s(self) -> int:
        """Every minute below 24 h, every 10 min up to 48 h, every 30 min beyond."""
        if self.seconds < 86_400:
            return 60
        return 600 if self.seconds < 172_800 else 1800


def parse_timeframe(text: str) -> Timeframe:
    found = _LAST.match(text)
    if found is None:
        raise TimeframeError(f"the window {text} is not evaluated (only last_N with m, h, d or w)")
    count, unit = int(found.group(1)), found.group(2)
    if count < 1:
        raise TimeframeError(f"the window {text} is empty")
    return Timeframe(text, count * _UNIT_SECONDS[unit], _BUCKET_SECONDS[unit])
