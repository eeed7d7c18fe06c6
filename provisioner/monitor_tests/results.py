"""What running a monitor test found: per test (and Istio mode), its failures with the computed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provisioner.model import SourceLocation
from provisioner.monitor_tests.cases import MonitorTest
from provisioner.monitor_tests.series import format_duration

CaseStatus = Literal["passed", "failed", "error"]


@dataclass(frozen=True)
class Evaluated:
    """One monitor group's last evaluation, as the emulator explains it."""

    monitor: str  # the definition id of the monitor evaluated (a composite's part, for a composite)
    group: str
    status: str
    explanation: str  # "value 0.031 <= critical 0.05 over 5m"
    value: float | None = None
    comparator: str | None = None
    threshold: float | None = None
    compared_with: str | None = None  # critical, warning, critical_recovery, warning_recovery
    window: str | None = None  # "5m"


@dataclass(frozen=True)
class Failure:
    """An expectation a monitor group did not meet at one evaluation."""

    source: SourceLocation  # the expectation in the test file
    monitor: str  # the monitor's definition id
    at_s: int  # seconds from the start of the input
    subject: str  # the group ("service:cart"), or "*" for the monitor as a whole
    actual: str | None  # None: the monitor has no state for that group
    expected: str  # "Alert", or "never Alert"
    evaluations: tuple[Evaluated, ...] = ()
    variant: str = ""  # the Istio modes of the run, when the test asks for several
    unsent: tuple[str, ...] = ()  # metrics the monitor's query reads that the test sent no series for
    combines_metrics: bool = False  # the query adds, subtracts, multiplies or divides several metrics

    @property
    def explanation(self) -> str:
        shown = [
            e.explanation if len(self.evaluations) == 1 else f"{e.monitor}: {e.explanation}"
            for e in self.evaluations
        ]
        return "; ".join(shown)

    @property
    def message(self) -> str:
        """``monitors/tests/error-rate.yaml:14: mesh-error-rate at 12m: service:cart is OK, expected Alert
        (value 0.031 <= critical 0.05 over 5m)``."""
        subject = "the monitor" if self.subject == "*" else self.subject
        actual = f"is {self.actual}" if self.actual else "has no state (no evaluation saw it)"
        monitor = f"{self.monitor} [{self.variant}]" if self.variant else self.monitor
        text = (
            f"{self.source.path}:{self.source.line}: {monitor} at {format_duration(self.at_s)}: "
            f"{subject} {actual}, expected {self.expected}"
        )
        text = f"{text} ({self.explanation})" if self.evaluations else text
        if self.unsent:
            text += f"; the test sent no series for {', '.join(self.unsent)}"
            if self.combines_metrics:
                text += " (arithmetic between metrics has a value only where every term has a series)"
        return text


@dataclass(frozen=True)
class CaseResult:
    """One test, run once (per Istio collection mode it asks for)."""

    test: MonitorTest
    environment: str
    variant: str  # "" for the environment as configured, else what was changed ("istio openmetrics")
    failures: tuple[Failure, ...] = ()
    error: str | None = None  # why the test could not run (the monitor could not be created, ...)
    duration_s: float = 0.0

    @property
    def status(self) -> CaseStatus:
        if self.error is not None:
            return "error"
        return "failed" if self.failures else "passed"

    @property
    def title(self) -> str:
        return f"{self.test.name} [{self.variant}]" if self.variant else self.test.name
