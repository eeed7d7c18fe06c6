"""Thresholds, recovery thresholds and the status they give a value (reference 3.3)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OK, WARN, ALERT, NO_DATA = "OK", "Warn", "Alert", "No Data"
# "OK, Skipped, Ignored, No Data, Unknown, Warn, Alert" (composite guide, 2017)
SEVERITY = {OK: 0, "Skipped": 1, "Ignored": 2, NO_DATA: 3, "Unknown": 4, WARN: 5, ALERT: 6}

_CROSSES: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
# The recovery table: alert on > T recovers at <= recovery, >= at <, < at >=, <= at >.
_RECOVERED: dict[str, Callable[[float, float], bool]] = {
    ">": operator.le,
    ">=": operator.lt,
    "<": operator.ge,
    "<=": operator.gt,
}
NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Decision:
    status: str
    compared_with: str  # "critical", "critical_recovery", "warning" or "warning_recovery"
    threshold: float
    crossed: bool  # whether the value is on the alerting side of that threshold

    def explanation(self, value: float, comparator: str) -> str:
        """``value 0.031 <= critical 0.05``: the comparison that decided the status."""
        shown = comparator if self.crossed else NEGATED[comparator]
        text = f"value {number(value)} {shown} {self.compared_with} {number(self.threshold)}"
        if self.compared_with.endswith("_recovery"):
            text += ", not recovered" if self.crossed else ", recovered"
        return text


@dataclass(frozen=True)
class Thresholds:
    comparator: str
    critical: float
    warning: float | None = None
    critical_recovery: float | None = None
    warning_recovery: float | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], comparator: str, query_threshold: float) -> Thresholds:
        """``options.thresholds``; the critical threshold defaults to the one written in the query."""
        given = options.get("thresholds") or {}

        def read(key: str) -> float | None:
            value = given.get(key)
            return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

        critical = read("critical")
        return cls(
            comparator,
            query_threshold if critical is None else critical,
            read("warning"),
            read("critical_recovery"),
            read("warning_recovery"),
        )

    def as_dict(self) -> dict[str, float]:
        fields = ("critical", "warning", "critical_recovery", "warning_recovery")
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}

    def decide(self, value: float, previous: str | None) -> Decision:
        """Alert wins over Warn. A group in Alert (Warn) with a recovery threshold stays there until the
        value passes the recovery threshold; without one it leaves as soon as the condition is not met."""
        critical = self._check(value, self.critical, self.critical_recovery, "critical", previous == ALERT)
        if critical.crossed:
            return Decision(ALERT, critical.compared_with, critical.threshold, True)
        if self.warning is not None:
            held = previous in (ALERT, WARN)
            warning = self._check(value, self.warning, self.warning_recovery, "warning", held)
            if warning.crossed:
                return Decision(WARN, warning.compared_with, warning.threshold, True)
        return Decision(OK, critical.compared_with, critical.threshold, False)

    def _check(
        self, value: float, threshold: float, recovery: float | None, name: str, held: bool
    ) -> Decision:
        if held and recovery is not None and self.comparator in _RECOVERED:
            recovered = _RECOVERED[self.comparator](value, recovery)
            return Decision("", f"{name}_recovery", recovery, not recovered)
        return Decision("", name, threshold, _CROSSES[self.comparator](value, threshold))


def worst(statuses: list[str]) -> str | None:
    return max(statuses, key=SEVERITY.__getitem__) if statuses else None


def number(value: float) -> str:
    """``0.031``, ``5``, ``1e-07``: short and exact enough for a message."""
    return f"{value:.6g}"
