"""What the sync engine needs from Datadog, in model types. ``client.py`` implements it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from provisioner.changes import LiveResource
from provisioner.model import JsonObject, MetricTags


class DatadogPort(Protocol):
    """Every method raises ``provisioner.errors.DatadogError`` on failure."""

    request_count: int  # requests sent so far (for reports and benchmarks)

    def list_monitors(self, monitor_tags: Sequence[str] = ()) -> list[LiveResource]: ...

    def get_monitor(self, datadog_id: int) -> LiveResource: ...

    def create_monitor(self, body: JsonObject) -> LiveResource: ...

    def update_monitor(self, datadog_id: int, body: JsonObject) -> LiveResource: ...

    def delete_monitor(self, datadog_id: int) -> None: ...

    def validate_monitor(self, body: JsonObject, datadog_id: int | None = None) -> None:
        """Ask Datadog whether it would accept this body, as a new monitor (``datadog_id`` None) or as
        the update of an existing one. Writes nothing; a rejection is a ``DatadogError`` with status 400
        and Datadog's own message."""
        ...

    def monitors_blocking_delete(self, datadog_ids: Sequence[int]) -> dict[int, str]:
        """The monitors among these that cannot be deleted (used by an SLO or a composite), and why."""
        ...

    def list_dashboards(self) -> list[LiveResource]:
        """Summaries (``complete=False``): no widgets."""
        ...

    def get_dashboard(self, datadog_id: str) -> LiveResource: ...

    def create_dashboard(self, body: JsonObject) -> LiveResource: ...

    def update_dashboard(self, datadog_id: str, body: JsonObject) -> LiveResource: ...

    def delete_dashboard(self, datadog_id: str) -> None: ...


class MetricsPort(Protocol):
    """What the metrics-reporting check reads (engine/metric_check.py). ``DatadogError`` on failure."""

    request_count: int

    def active_metrics(self, since_s: int) -> frozenset[str]:
        """Every metric with a point since ``since_s`` (epoch seconds)."""
        ...

    def metric_tags(self, metric: str, window_s: int) -> MetricTags | None:
        """The tag keys of the metric's series that reported in the last ``window_s`` seconds (at least
        14,400), each with the values seen, in one request; None when Datadog knows no such metric."""
        ...

    def metric_type(self, metric: str) -> str | None:
        """The metric's type in Datadog's metadata; None when it has none or is unknown."""
        ...
