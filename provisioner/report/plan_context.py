"""What a plan report shows besides the plan: links into Datadog's web UI, Datadog's verdict on
the monitors the plan would write, and whether the metrics they query report."""

from __future__ import annotations

from dataclasses import dataclass, field

from provisioner.changes import PlannedChange
from provisioner.engine.metric_gaps import NOT_CHECKED, MetricCheck
from provisioner.engine.remote_validate import SKIPPED, Rejection, RemoteValidation

_UI_PATHS = {"monitor": "monitors", "dashboard": "dashboard"}


def resource_url(app_url: str | None, kind: str, datadog_id: int | str | None) -> str | None:
    """``https://app.datadoghq.eu/monitors/123``, ``…/dashboard/abc-def-ghi``; None without an id or a UI."""
    if app_url is None or datadog_id is None:
        return None
    return f"{app_url}/{_UI_PATHS[kind]}/{datadog_id}"


@dataclass(frozen=True)
class PlanContext:
    app_url: str | None = None  # the environment's Datadog web UI; None: no links (emulator, unknown site)
    validation: RemoteValidation = field(default=SKIPPED)
    metric_check: MetricCheck = field(default=NOT_CHECKED)  # whether the monitors' metrics report

    def url(self, change: PlannedChange) -> str | None:
        return resource_url(self.app_url, change.kind, change.datadog_id)

    def rejection(self, change: PlannedChange) -> Rejection | None:
        return self.validation.rejection_of(change)
