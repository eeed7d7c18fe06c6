"""config-propagation: Istio config that does not reach the proxies.

Counts istiod's validation failures (``istio.galley.validation.failed``), optionally plus xDS push send
errors (``istio.pilot.xds.pushes{type:*senderr}``) and xDS responses rejected by proxies
(``istio.pilot.total_xds_rejects``), summed in one query.
"""

from __future__ import annotations

from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields
from provisioner.definitions.kinds.mesh import by_clause, count_monitor, scope, scope_filter, sum_of, window

SIGNAL = "config-propagation"
DEFAULT_WINDOW = "10m"


def compile_config_propagation(fields: Fields, context: CompileContext) -> CompiledMonitor:
    filters = scope(fields, context)
    by = by_clause(list(fields.get("group_by") or ()))
    terms = [f"sum:istio.galley.validation.failed{scope_filter(filters)}{by}.as_count()"]
    if fields.get("push_errors"):
        terms.append(f"sum:istio.pilot.xds.pushes{scope_filter([*filters, 'type:*senderr'])}{by}.as_count()")
    if fields.get("proxy_rejects"):
        terms.append(f"sum:istio.pilot.total_xds_rejects{scope_filter(filters)}{by}.as_count()")
    return count_monitor(fields, context, SIGNAL, f"sum({window(fields, DEFAULT_WINDOW)}):{sum_of(terms)}")
