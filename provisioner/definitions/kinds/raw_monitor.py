"""monitor: a raw Datadog monitor body (type, query, options...), for anything the mesh kinds do not cover."""

from __future__ import annotations

from provisioner.definitions.kinds.base import CompileContext, CompiledMonitor, Fields, monitor_body


def compile_raw_monitor(fields: Fields, context: CompileContext) -> CompiledMonitor:
    body = monitor_body(
        fields, context, str(fields["type"]), str(fields["query"]), fields.get("options") or {}
    )
    if "draft_status" in fields:
        body["draft_status"] = fields["draft_status"]
    return CompiledMonitor(body)
