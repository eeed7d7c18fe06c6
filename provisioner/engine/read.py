"""Reading the live org with as few requests as the API allows.

Monitors: list calls only (⌈N/1000⌉ pages), never one GET per monitor. Dashboards: the list
gives summaries (with descriptions, so the marker is visible); only the dashboards a plan needs
whole (ours, or candidates for adoption) are fetched one by one, in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from provisioner import identity
from provisioner.changes import LiveOrg, LiveResource
from provisioner.datadog.port import DatadogPort
from provisioner.model import DefinitionSet

# Synthetic tests own their monitors; they are neither managed nor reported as unmanaged.
SKIPPED_MONITOR_TYPES = frozenset({"synthetics alert"})


def read_live_org(
    port: DatadogPort,
    wanted_dashboards: Callable[[LiveResource], bool],
    concurrency: int = 8,
) -> LiveOrg:
    before = port.request_count
    monitors = tuple(m for m in port.list_monitors() if m.body.get("type") not in SKIPPED_MONITOR_TYPES)
    summaries = port.list_dashboards()
    to_fetch = [s for s in summaries if wanted_dashboards(s)]
    fetched = {d.datadog_id: d for d in _fetch_all(port, to_fetch, concurrency)}
    dashboards = tuple(fetched.get(s.datadog_id, s) for s in summaries)
    return LiveOrg(monitors, dashboards, port.request_count - before)


def _fetch_all(port: DatadogPort, summaries: Iterable[LiveResource], concurrency: int) -> list[LiveResource]:
    ids = [str(s.datadog_id) for s in summaries]
    if not ids:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(ids)))) as pool:
        return list(pool.map(port.get_dashboard, ids))


def dashboards_for_plan(definitions: DefinitionSet, namespace: str) -> Callable[[LiveResource], bool]:
    """Which dashboard summaries a plan must read whole: ours, and those it may adopt."""
    titles = {str(d.body.get("title")) for d in definitions.dashboards}
    adopt_ids = {str(d.adopt_id) for d in definitions.dashboards if d.adopt_id}

    def wanted(summary: LiveResource) -> bool:
        mark = identity.read_dashboard_mark(summary.body)
        if mark is not None:
            return mark.namespace == namespace
        return summary.title in titles or str(summary.datadog_id) in adopt_ids

    return wanted


def all_marked_dashboards(summary: LiveResource) -> bool:
    """For audit: every dashboard carrying any provisioner mark is read whole."""
    return identity.read_dashboard_mark(summary.body) is not None
