"""A Datadog API (v1 monitors and dashboards) emulator that behaves like the recorded real service.

It imports nothing from the rest of ``provisioner``, so the sync engine's rules can never cancel its quirks.

    with start_emulator(EmulatorConfig(rate_limits=False)) as running:
        running.base_url        # e.g. "http://127.0.0.1:54321"
        running.admin.set_faults(rules=[FaultRule("error", method="POST", path="/api/v1/monitor", count=1)])
"""

from __future__ import annotations

from provisioner.emulator.admin_client import EmulatorAdmin
from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.faults import FaultConfig, FaultConfigError, FaultRule, load_fault_config
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.requestlog import RequestLogEntry
from provisioner.emulator.running import RunningEmulator, start_emulator

__all__ = [
    "EmulatorAdmin",
    "EmulatorConfig",
    "FaultConfig",
    "FaultConfigError",
    "FaultRule",
    "OrgIdentity",
    "RequestLogEntry",
    "RunningEmulator",
    "load_fault_config",
    "start_emulator",
]
