"""sidecar-injection: Istio sidecar injections that failed in the window (any failure by default).

``sum(<window>):sum:<injection failures>{scope}.as_count() > critical``, the failure counter of istiod's
injection webhook named for the environment's control-plane mode. The counter has no series until the
first failure (and again after istiod restarts), so an evaluation without data is a count of 0
(``on_missing_data: default``): no-data notification would only report istiod restarts. Whether the
metric reports at all is the metrics-reporting check's job (plan and audit).
"""

from __future__ import annotations

from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields
from provisioner.definitions.kinds.mesh import count_monitor, scope, term, watched_services, window
from provisioner.mesh.catalogue import SIDECAR_INJECTION

DEFAULT_WINDOW = "5m"
FAILURES = "sidecar_injection_failure"


def compile_sidecar_injection(fields: Fields, context: CompileContext) -> CompiledMonitor:
    filters = scope(fields)
    failures = term(context, FAILURES, filters, list(fields.get("group_by") or ()))
    expression = f"sum({window(fields, DEFAULT_WINDOW)}):{failures}"
    return count_monitor(fields, context, SIDECAR_INJECTION, expression, watched_services(filters, context, FAILURES))
