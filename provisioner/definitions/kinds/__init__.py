"""The monitor kinds, by name."""

from __future__ import annotations

from provisioner.definitions.kinds.base import MonitorKind, same_pointer
from provisioner.definitions.kinds.circuit_open import compile_circuit_open
from provisioner.definitions.kinds.config_propagation import compile_config_propagation
from provisioner.definitions.kinds.error_rate import compile_error_rate
from provisioner.definitions.kinds.mesh import mesh_field_pointer
from provisioner.definitions.kinds.raw_monitor import compile_raw_monitor
from provisioner.definitions.kinds.sidecar_injection import compile_sidecar_injection

MONITOR_KINDS: dict[str, MonitorKind] = {
    kind.name: kind
    for kind in (
        MonitorKind("error-rate", compile_error_rate, mesh_field_pointer),
        MonitorKind("sidecar-injection", compile_sidecar_injection, mesh_field_pointer),
        MonitorKind("config-propagation", compile_config_propagation, mesh_field_pointer),
        MonitorKind("circuit-open", compile_circuit_open, mesh_field_pointer),
        MonitorKind("monitor", compile_raw_monitor, same_pointer),
    )
}
