"""How an emulator is set up when it starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.emulator.clock import CLOCK_MODES
from provisioner.emulator.faults import FaultConfig
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.metrics import MetricLimits

RATE_LIMIT_BODIES = ("empty", "json", "html")


@dataclass(frozen=True)
class EmulatorConfig:
    api_keys: tuple[str, ...] = ()  # accepted DD-API-KEY values; () = any non-empty key
    app_keys: tuple[str, ...] = ()  # accepted DD-APPLICATION-KEY values; () = any non-empty key
    rate_limits: bool = True
    rate_limit_overrides: Mapping[str, tuple[int, int]] = field(
        default_factory=dict
    )  # bucket -> (limit, period_s)
    rate_limit_body: str = "empty"  # 429 body: "empty" (recorded), "json" or "html"
    faults: FaultConfig | None = None
    seed: int = 0
    state_path: Path | None = None
    state_compact_after_bytes: int = 4 << 20  # fold the --state journal into the snapshot past this size
    duplicate_window_s: float | None = None  # answer an identical create within this window with 400
    identity: OrgIdentity = field(default_factory=OrgIdentity)
    # "manual": the clock moves only through POST /_emulator/clock (evaluation runs then); it starts at
    # clock_start_s (epoch s) or the wall clock. "realtime": the wall clock, evaluated every minute.
    clock: str = "manual"
    clock_start_s: float | None = None
    metric_limits: MetricLimits = field(default_factory=MetricLimits)
    accept_any_timestamp: bool = False  # keep submitted points outside [now - 1 h, now + 10 min]

    def __post_init__(self) -> None:
        if self.rate_limit_body not in RATE_LIMIT_BODIES:
            raise ValueError(f"rate_limit_body must be one of {', '.join(RATE_LIMIT_BODIES)}")
        if self.clock not in CLOCK_MODES:
            raise ValueError(f"clock must be one of {', '.join(CLOCK_MODES)}")


class EmulatorOptionError(ValueError):
    """A command-line option or a file it names cannot be used; the message says which and why."""


def parse_rate_limit(text: str) -> tuple[str, tuple[int, int]]:
    """``post_monitors=5/10`` -> ("post_monitors", (5, 10))."""
    name, _, rest = text.partition("=")
    limit, _, period = rest.partition("/")
    if not (name and limit.isdigit() and period.isdigit() and int(period) > 0):
        raise EmulatorOptionError(
            f"--rate-limit {text!r}: expected BUCKET=LIMIT/PERIOD_S, e.g. post_monitors=5/10"
        )
    return name, (int(limit), int(period))


def build_config(
    *,
    state: Path | None = None,
    faults: Path | None = None,
    seed: int = 0,
    rate_limits: bool = True,
    api_keys: tuple[str, ...] = (),
    app_keys: tuple[str, ...] = (),
    rate_limit_specs: tuple[str, ...] = (),
    rate_limit_body: str = "empty",
    duplicate_window_s: float | None = None,
    clock: str = "realtime",
    clock_start_s: float | None = None,
    compact_after_bytes: int | None = None,
) -> EmulatorConfig:
    """The config for the command line (``provisioner emulator`` and ``python -m provisioner.emulator``):
    a served emulator follows the wall clock unless told ``clock="manual"``."""
    from provisioner.emulator.faults import FaultConfigError, load_fault_config
    from provisioner.emulator.ratelimit import effective_limits

    try:
        fault_config = None if faults is None else load_fault_config(faults)
    except FaultConfigError as exc:
        raise EmulatorOptionError(str(exc)) from None
    overrides = dict(parse_rate_limit(spec) for spec in rate_limit_specs)
    try:
        effective_limits(overrides)
        return EmulatorConfig(
            api_keys=tuple(api_keys),
            app_keys=tuple(app_keys),
            rate_limits=rate_limits,
            rate_limit_overrides=overrides,
            rate_limit_body=rate_limit_body,
            faults=fault_config,
            seed=seed,
            state_path=state,
            duplicate_window_s=duplicate_window_s,
            clock=clock,
            clock_start_s=clock_start_s,
            **({} if compact_after_bytes is None else {"state_compact_after_bytes": compact_after_bytes}),
        )
    except ValueError as exc:
        raise EmulatorOptionError(str(exc)) from None
