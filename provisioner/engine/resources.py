"""Per-kind rules (monitor, dashboard) so that plan, apply and audit are written once for both."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner import identity
from provisioner.model import DashboardSpec, Json, JsonObject, MonitorSpec, ResourceKind
from provisioner.normalize import Canonical, canonical_dashboard, canonical_monitor, without_server_added

Spec = MonitorSpec | DashboardSpec


@dataclass(frozen=True)
class KindRules:
    kind: ResourceKind
    title_field: str
    canonical: Callable[[JsonObject], Canonical]
    read_mark: Callable[[JsonObject], identity.Mark | None]
    strip_marks: Callable[[JsonObject], dict[str, Json]]
    marked_body: Callable[[Any, str], dict[str, Json]]
    needs_tags: bool  # whether a complete mark includes identity tags

    def desired_canonical(self, spec: Spec) -> dict[str, Json]:
        return self.canonical(spec.body).body

    def live_canonical(self, live_body: JsonObject, desired: JsonObject) -> Canonical:
        canonical = self.canonical(self.strip_marks(live_body))
        if self.kind == "monitor":
            return Canonical(without_server_added(desired, canonical.body), canonical.unknown_fields)
        return canonical

    def marks_complete(self, mark: identity.Mark | None, fingerprint: str) -> bool:
        if mark is None or not mark.has_marker or mark.fingerprint != fingerprint:
            return False
        return mark.has_tags or not self.needs_tags

    def is_written(self, live_body: JsonObject, planned_body: JsonObject) -> bool:
        """Whether a live resource is what a plan's marked body writes: no field differs in canonical form
        (as a plan compares) and it carries the plan's marks whole. A composite is compared in the
        definitions' form (``references.desired_form``)."""
        planned_mark = self.read_mark(planned_body)
        if planned_mark is None or not self.marks_complete(
            self.read_mark(live_body), planned_mark.fingerprint
        ):
            return False
        desired = self.canonical(self.strip_marks(planned_body)).body
        return self.live_canonical(live_body, desired).body == desired


MONITOR_RULES = KindRules(
    kind="monitor",
    title_field="name",
    canonical=canonical_monitor,
    read_mark=identity.read_monitor_mark,
    strip_marks=identity.strip_monitor_marks,
    marked_body=identity.marked_monitor_body,
    needs_tags=True,
)

DASHBOARD_RULES = KindRules(
    kind="dashboard",
    title_field="title",
    canonical=canonical_dashboard,
    read_mark=identity.read_dashboard_mark,
    strip_marks=identity.strip_dashboard_marks,
    marked_body=identity.marked_dashboard_body,
    needs_tags=False,
)

RULES: Mapping[ResourceKind, KindRules] = {"monitor": MONITOR_RULES, "dashboard": DASHBOARD_RULES}
