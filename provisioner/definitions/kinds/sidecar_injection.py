"""sidecar-injection: Istio sidecar injections that failed in the window (any failure by default)."""

from __future__ import annotations

from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields
from provisioner.definitions.kinds.mesh import by_clause, count_monitor, scope, scope_filter, window

SIGNAL = "sidecar-injection"
DEFAULT_WINDOW = "5m"
METRIC = "istio.sidecar_injection.failure_total"


def compile_sidecar_injection(fields: Fields, context: CompileContext) -> CompiledMonitor:
    filters = scope(fields, context)
    term = f"sum:{METRIC}{scope_filter(filters)}{by_clause(list(fields.get('group_by') or ()))}.as_count()"
    return count_monitor(fields, context, SIGNAL, f"sum({window(fields, DEFAULT_WINDOW)}):{term}")
