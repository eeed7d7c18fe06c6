"""Which copy of a definition stays when Datadog holds two: the oldest.

Two applies running at the same time (two merges, a manual run beside CI), or a create whose answer
was lost before an older provisioner version retried it, can leave two resources carrying one
definition's mark. Every run agrees on the order below, so no run ever deletes the copy another run
keeps: monitors by Datadog id (ids only grow), dashboards by creation time (their ids are random),
then by id.
"""

from __future__ import annotations

from collections.abc import Iterable

from provisioner.changes import LiveResource


def oldest_first(copies: Iterable[LiveResource]) -> list[LiveResource]:
    return sorted(copies, key=_age)


def _age(resource: LiveResource) -> tuple[int, str, str]:
    if isinstance(resource.datadog_id, int):
        return (0, "", f"{resource.datadog_id:020d}")
    return (1, resource.created or "", str(resource.datadog_id))
