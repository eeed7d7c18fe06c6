"""config-propagation: Istio config that does not reach the proxies, or that they refuse.

Three signals, each an istiod counter named for the environment's control-plane mode:

- ``push_errors`` (default on): xDS pushes istiod failed to send to a proxy (pushes with
  ``type:*senderr``);
- ``proxy_rejects`` (default on): xDS responses proxies rejected (NACK): config that reached a proxy and
  was refused (``total_xds_rejects``);
- ``validation_failures`` (default on): config refused at ``kubectl apply`` by istiod's validating
  admission webhook. Not a propagation failure (the config never entered the mesh, and whoever applied it
  saw the error); set it to false to leave them out.

Each counter has no series until its first event, and an arithmetic query where one operand has no series
yields nothing: the signals are never added in one query. With one signal the definition is one monitor;
with several it is a composite ``a || b || c`` of one monitor per signal (``<id>:push-errors``,
``<id>:proxy-rejects``, ``<id>:validation``), so one incident sends one notification. Every part
counts against the same thresholds and evaluates a window without data as 0 (``on_missing_data:
default``). Istio's per-type reject gauges (``*_reject``, a running total per proxy) are not used: a
window aggregate cannot tell a new reject from an old one, and ``total_xds_rejects`` counts the same NACKs.

``group_by`` with several signals is refused (an error of validate): a composite evaluates only the groups
common to all its parts, and each signal's series appears per group only after that group's first event of
that signal, so a group would alert only once it had every kind of failure. Compiling it to something that
works would mean one notifying monitor per signal; that is what the hint asks the user to write, so the
ids, notifications and thresholds of each stay visible in the definitions.
"""

from __future__ import annotations

from provisioner.definitions.findings import Finding
from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields
from provisioner.definitions.kinds.mesh import (
    EVALUATE_AS_ZERO,
    Part,
    combined,
    count_thresholds,
    scope,
    term,
    watched_services,
    window,
)
from provisioner.definitions.query import format_number
from provisioner.mesh.catalogue import CONFIG_PROPAGATION

DEFAULT_WINDOW = "10m"
_SHOWN = (("threshold", "critical"), ("warn_threshold", "warning"))  # message variable -> level
# Per signal: (the definition field that turns it on or off, part suffix, title, catalogue key, extra filter).
SIGNALS = (
    ("push_errors", "push-errors", "xDS push errors", "xds_pushes", "type:*senderr"),
    ("proxy_rejects", "proxy-rejects", "config rejected by proxies", "xds_rejects", None),
    ("validation_failures", "validation", "config refused at apply", "config_validation_failures", None),
)


def compile_config_propagation(fields: Fields, context: CompileContext) -> CompiledMonitor:
    filters = scope(fields)
    group_by = list(fields.get("group_by") or ())
    thresholds = count_thresholds(fields)
    condition = f"> {format_number(thresholds['critical'])}"
    expression = f"sum({window(fields, DEFAULT_WINDOW)}):"
    parts = [
        Part(
            suffix,
            title,
            f"{expression}{term(context, key, [*filters, *([extra] if extra else [])], group_by)} {condition}",
            thresholds,
            EVALUATE_AS_ZERO,
        )
        for field, suffix, title, key, extra in SIGNALS
        if fields.get(field, True)
    ]
    if not parts:
        message = "config-propagation needs at least one signal"
        hint = "set push_errors, proxy_rejects or validation_failures to true"
        return CompiledMonitor({}, (Finding("", "no-signal", message, hint),), CONFIG_PROPAGATION)
    if group_by and len(parts) > 1:
        return CompiledMonitor({}, (_grouped_composite(group_by, parts),), CONFIG_PROPAGATION)
    services = watched_services(filters, context, "xds_pushes")
    shown = {name: format_number(thresholds[level]) for name, level in _SHOWN if level in thresholds}
    return combined(fields, context, CONFIG_PROPAGATION, parts, "||", services, shown_thresholds=shown)


def _grouped_composite(group_by: list[str], parts: list[Part]) -> Finding:
    titles = ", ".join(part.title for part in parts)
    message = (
        f"group_by {group_by} with {len(parts)} signals ({titles}) cannot alert: the composite that combines "
        "them evaluates only the groups common to all of them, and each signal's series exists for a group "
        "only after that group's first event of it"
    )
    hint = (
        "keep one signal here (set the others to false) and write one definition per signal, or remove "
        "group_by"
    )
    return Finding("/group_by", "grouped-composite", message, hint, at_key=True)
