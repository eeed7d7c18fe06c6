"""The pure audit: classification, hygiene findings, duplicates and mesh coverage, with a fixed clock.

Live bodies are shaped the way ``GET /api/v1/monitor?page=N`` returns them (datadog-api-facts.md (a)
and (d)): server fields, inserted option defaults, float thresholds, ``matching_downtimes``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from provisioner import identity
from provisioner.changes import Action, LiveOrg, LiveResource
from provisioner.engine.audit import audit_org
from provisioner.engine.audit_types import (
    AuditedResource,
    AuditReport,
    AuditSettings,
    Finding,
    FindingSeverity,
    Ownership,
)
from provisioner.model import DashboardSpec, DefinitionSet, MonitorSpec, SourceLocation

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NS = "mesh-team"
ERRORS_Q = (
    "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod} by {service}.as_count() / "
    "clamp_min(sum:trace.envoy.proxy.hits{env:prod} by {service}.as_count(), 100) > 0.05"
)
SIDECAR_Q = "sum(last_10m):sum:istio.sidecar_injection.failure_total{*}.as_count() > 0"
CIRCUIT_CART_Q = (
    "max(last_5m):max:envoy.cluster.outlier_detection.ejections_active"
    "{envoy_cluster:outbound|80||cart.shop.svc.cluster.local} > 0"
)
CPU_Q = "avg(last_5m):avg:system.cpu.user{env:prod,team:mesh} by {host} > 90"


def spec(definition_id: str, query: str, line: int = 1, **body: Any) -> MonitorSpec:
    compiled = {
        "name": f"[mesh] {definition_id}",
        "type": "query alert",
        "query": query,
        "message": "Investigate. @slack-mesh-alerts",
        "tags": ["team:mesh"],
        "options": {
            "notify_no_data": True,
            "no_data_timeframe": 10,
            "thresholds": {"critical": 0.05, "warning": 0.02},
        },
    }
    compiled.update(body)
    return MonitorSpec(definition_id, "monitor", compiled, SourceLocation("monitors/mesh.yaml", line, 1))


def served(body: dict[str, Any], datadog_id: int, **server: Any) -> LiveResource:
    """A monitor as a list page returns it: what was sent plus what the server adds."""
    options = dict(body.get("options") or {})
    if "thresholds" in options:
        options["thresholds"] = {k: float(v) for k, v in options["thresholds"].items() if v is not None}
    options = {
        "notify_no_data": False,
        "notify_audit": False,
        "include_tags": True,
        "new_host_delay": 300,
    } | options
    options.setdefault("silenced", {})
    stamp = "2025-02-27T09:00:00.138359+00:00"
    record = {
        "id": datadog_id,
        "org_id": 321813,
        "name": body.get("name"),
        "type": body["type"],
        "query": body["query"].rstrip(),
        "message": (body.get("message") or "").rstrip(),
        "tags": list(body.get("tags") or []),
        "options": options,
        "priority": body.get("priority"),
        "restricted_roles": None,
        "multi": " by {" in body["query"],
        "created": stamp,
        "created_at": 1740646800000,
        "modified": stamp,
        "creator": {
            "name": None,
            "handle": "frog@datadoghq.com",
            "email": "frog@datadoghq.com",
            "id": 1445416,
        },
        "overall_state": "OK",
        "overall_state_modified": "2025-02-28T10:00:00+00:00",
        "deleted": None,
        "restriction_policy": None,
        "draft_status": "published",
        "assets": [],
        "matching_downtimes": [],
    }
    record.update(server)
    return LiveResource("monitor", datadog_id, record)


def unmanaged(
    datadog_id: int, query: str, message: str = "Paged. @pagerduty-mesh", **extra: Any
) -> LiveResource:
    body = {"name": f"hand-made {datadog_id}", "type": "metric alert", "query": query, "message": message}
    body["options"] = extra.pop(
        "options", {"thresholds": {"critical": 90, "warning": 80}, "notify_no_data": True}
    )
    return served(body, datadog_id, **extra)


def managed(s: MonitorSpec, datadog_id: int, namespace: str = NS, **server: Any) -> LiveResource:
    return served(identity.marked_monitor_body(s, namespace), datadog_id, **server)


def run(
    live: list[LiveResource],
    specs: tuple[MonitorSpec, ...] = (),
    services: tuple[str, ...] = (),
    dashboards: tuple[LiveResource, ...] = (),
    dashboard_specs: tuple[DashboardSpec, ...] = (),
    now: datetime = NOW,
) -> AuditReport:
    definitions = DefinitionSet(monitors=specs, dashboards=dashboard_specs, services=services)
    org = LiveOrg(monitors=tuple(live), dashboards=dashboards, requests=2)
    return audit_org(definitions, org, NS, now, AuditSettings(timedelta(days=7), timedelta(days=3)))


def by_id(report: AuditReport, datadog_id: int | str) -> AuditedResource:
    return next(r for r in report.monitors + report.dashboards if r.datadog_id == datadog_id)


def codes(resource: AuditedResource) -> set[str]:
    return {f.code for f in resource.findings}


def finding(resource: AuditedResource, code: str) -> Finding:
    (found,) = [f for f in resource.findings if f.code == code]
    return found


# --- classification -------------------------------------------------------------------------

ERRORS = spec("mesh-errors", ERRORS_Q, line=3)
SIDECAR = spec(
    "sidecar",
    SIDECAR_Q,
    line=20,
    options={"notify_no_data": True, "thresholds": {"critical": 0, "warning": 0}},
)


def test_a_managed_monitor_that_matches_its_definition_is_in_sync() -> None:
    report = run([managed(ERRORS, 1)], (ERRORS,))
    audited = by_id(report, 1)
    assert audited.ownership is Ownership.IN_SYNC
    assert (audited.namespace, audited.definition_id, audited.source) == (NS, "mesh-errors", ERRORS.source)
    assert audited.signals == ("error-rate",) and audited.findings == ()


def test_a_hand_edited_monitor_is_drifted_with_the_plans_fields() -> None:
    live = managed(ERRORS, 1)
    live.body["options"]["thresholds"]["critical"] = 0.2  # edited in the Datadog UI
    audited = by_id(run([live], (ERRORS,)), 1)
    assert audited.ownership is Ownership.DRIFTED
    assert audited.drift is not None and audited.drift.action is Action.DRIFT
    assert [(f.pointer, f.old, f.new, f.origin) for f in audited.drift.fields] == [
        ("/options/thresholds/critical", 0.2, 0.05, "datadog")
    ]
    (finding,) = audited.findings
    assert finding.code == "drift" and "monitors/mesh.yaml:3" in finding.fix


def test_a_definition_changed_in_code_but_not_applied_is_reported_as_not_applied() -> None:
    changed = spec(
        "mesh-errors",
        ERRORS_Q.replace("0.05", "0.1"),
        line=3,
        options={"notify_no_data": True, "thresholds": {"critical": 0.1, "warning": 0.02}},
    )
    audited = by_id(run([managed(ERRORS, 1)], (changed,)), 1)
    assert audited.ownership is Ownership.DRIFTED and audited.drift.action is Action.UPDATE  # type: ignore[union-attr]
    assert codes(audited) == {"not-applied"}


def test_our_mark_without_a_definition_is_orphaned() -> None:
    audited = by_id(run([managed(ERRORS, 1)], ()), 1)
    assert audited.ownership is Ownership.ORPHANED and codes(audited) == {"orphaned"}
    assert "--prune" in audited.findings[0].fix


def test_a_second_copy_of_one_definition_is_orphaned() -> None:
    report = run([managed(ERRORS, 1), managed(ERRORS, 2)], (ERRORS,))
    assert by_id(report, 1).ownership is Ownership.IN_SYNC
    second = by_id(report, 2)
    assert second.ownership is Ownership.ORPHANED and "second copy" in second.findings[0].message


def test_another_namespace_is_foreign_and_not_ours_to_fix() -> None:
    audited = by_id(run([managed(ERRORS, 1, namespace="payments-team")], (ERRORS,)), 1)
    assert audited.ownership is Ownership.FOREIGN and audited.namespace == "payments-team"
    assert codes(audited) <= {"duplicate"} and "orphaned" not in codes(audited)


def test_an_unmarked_monitor_is_unmanaged_with_an_import_fix() -> None:
    audited = by_id(run([unmanaged(7, CPU_Q)]), 7)
    assert audited.ownership is Ownership.UNMANAGED and audited.definition_id is None
    (finding,) = audited.findings
    assert finding.severity is FindingSeverity.INFO and finding.fix.startswith(
        "bring it under code with `provisioner import --id 7`"
    )


def test_an_adoption_target_is_unmanaged_until_apply_adopts_it() -> None:
    adopting = MonitorSpec(
        "cpu",
        "monitor",
        {"name": "cpu", "type": "metric alert", "query": CPU_Q},
        SourceLocation("m.yaml", 1, 1),
        adopt_id=7,
    )
    report = run([unmanaged(7, CPU_Q)], (adopting,))
    audited = by_id(report, 7)
    assert audited.ownership is Ownership.UNMANAGED and audited.definition_id == "cpu"
    assert "adopt-pending" in codes(audited) and report.undeployed == ()


def test_definitions_missing_from_datadog_are_listed_as_undeployed() -> None:
    report = run([], (ERRORS,))
    assert [(u.kind, u.definition_id, u.source) for u in report.undeployed] == [
        ("monitor", "mesh-errors", ERRORS.source)
    ]


def test_dashboards_are_classified_by_their_description_marker() -> None:
    board = DashboardSpec(
        "mesh-overview",
        {"title": "Mesh", "layout_type": "ordered", "widgets": []},
        SourceLocation("d.yaml", 1, 1),
    )
    marked = {
        **identity.marked_dashboard_body(board, NS),
        "id": "abc-def-ghi",
        "url": "/dashboard/abc-def-ghi/mesh",
    }
    summary = {"id": "xyz-xyz-xyz", "title": "Hand made", "description": None, "layout_type": "ordered"}
    report = run(
        [],
        dashboard_specs=(board,),
        dashboards=(
            LiveResource("dashboard", "abc-def-ghi", marked),
            LiveResource("dashboard", "xyz-xyz-xyz", summary, complete=False),
        ),
    )
    assert by_id(report, "abc-def-ghi").ownership is Ownership.IN_SYNC
    hand_made = by_id(report, "xyz-xyz-xyz")
    assert (
        hand_made.ownership is Ownership.UNMANAGED and "--dashboard xyz-xyz-xyz" in hand_made.findings[0].fix
    )


# --- hygiene --------------------------------------------------------------------------------


def test_a_message_without_handle_is_a_warning_and_the_marker_does_not_count() -> None:
    silent = spec(
        "silent",
        SIDECAR_Q,
        message="Look at istiod.",
        options={"notify_no_data": True, "thresholds": {"critical": 0, "warning": 0}},
    )
    report = run(
        [
            managed(silent, 1),
            unmanaged(2, CPU_Q, message="mail ops@example.com"),
            unmanaged(3, CPU_Q + " ", message="{{#is_alert}}@team@example.com{{/is_alert}}"),
        ],
        (silent,),
    )
    assert codes(by_id(report, 1)) == {"no-notification-handle"}
    assert "monitors/mesh.yaml:1" in by_id(report, 1).findings[0].fix
    assert "no-notification-handle" in codes(by_id(report, 2))
    assert "no-notification-handle" not in codes(by_id(report, 3))


def test_muted_forever_is_an_error() -> None:
    audited = by_id(
        run(
            [
                unmanaged(
                    1, CPU_Q, options={"silenced": {"*": None}, "thresholds": {"critical": 90, "warning": 80}}
                )
            ]
        ),
        1,
    )
    (finding,) = [f for f in audited.findings if f.code == "muted-forever"]
    assert finding.severity is FindingSeverity.ERROR and '{"*": null}' in finding.message


def test_a_mute_ending_beyond_the_limit_is_a_warning_and_a_short_one_is_fine() -> None:
    far = int((NOW + timedelta(days=30)).timestamp())
    near = int((NOW + timedelta(days=2)).timestamp())
    past = int((NOW - timedelta(days=1)).timestamp())
    report = run(
        [
            unmanaged(
                1, CPU_Q, options={"silenced": {"*": far}, "thresholds": {"critical": 90, "warning": 80}}
            ),
            unmanaged(
                2,
                CPU_Q.replace("90", "91"),
                options={"silenced": {"*": near}, "thresholds": {"critical": 91, "warning": 80}},
            ),
            unmanaged(
                3,
                CPU_Q.replace("90", "92"),
                options={"silenced": {"host:a": past}, "thresholds": {"critical": 92, "warning": 80}},
            ),
        ]
    )
    assert (
        "muted-too-long" in codes(by_id(report, 1))
        and "2025-03-31" in finding(by_id(report, 1), "muted-too-long").message
    )
    assert not codes(by_id(report, 2)) & {"muted-too-long", "muted-forever"}
    assert not codes(by_id(report, 3)) & {"muted-too-long", "muted-forever"}


def test_matching_downtimes_from_the_list_count_as_mutes() -> None:
    start = int((NOW - timedelta(days=20)).timestamp())
    downtimes = [
        {"id": 42, "active": True, "monitor_id": 1, "start": start, "end": None, "scope": ["*"], "groups": []}
    ]
    long_running = [
        {
            "id": 43,
            "active": True,
            "monitor_id": 2,
            "start": start,
            "end": int((NOW + timedelta(days=1)).timestamp()),
            "scope": ["*"],
        }
    ]
    report = run(
        [
            unmanaged(1, CPU_Q, matching_downtimes=downtimes),
            unmanaged(2, SIDECAR_Q, matching_downtimes=long_running),
        ]
    )
    assert (
        "muted-forever" in codes(by_id(report, 1))
        and "downtime 42" in finding(by_id(report, 1), "muted-forever").message
    )
    assert "muted-too-long" in codes(by_id(report, 2))  # 21 days of downtime, although it ends tomorrow


def test_stuck_states_use_the_injected_clock() -> None:
    alert = unmanaged(1, CPU_Q, overall_state="Alert", overall_state_modified="2025-02-20T08:00:00+00:00")
    never_data = unmanaged(
        2,
        SIDECAR_Q,
        overall_state="No Data",
        overall_state_modified=None,
        created="2025-01-01T00:00:00.000001+00:00",
    )
    fresh = unmanaged(
        3,
        CIRCUIT_CART_Q,
        overall_state="No Data",
        overall_state_modified=None,
        created="2025-02-28T00:00:00.000001+00:00",
    )
    report = run([alert, never_data, fresh])
    assert "stuck-in-alert" in codes(by_id(report, 1)) and "stuck-in-no-data" in codes(by_id(report, 2))
    assert "stuck-in-no-data" not in codes(by_id(report, 3))
    earlier = run([alert, never_data], now=datetime(2025, 2, 21, tzinfo=UTC))
    assert "stuck-in-alert" not in codes(by_id(earlier, 1))


def test_no_data_notification_off_is_flagged_on_mesh_signals_only() -> None:
    quiet_options = {"thresholds": {"critical": 0.05, "warning": 0.01}}
    report = run(
        [
            unmanaged(1, ERRORS_Q, options=quiet_options),
            unmanaged(2, CPU_Q, options={"thresholds": {"critical": 90, "warning": 80}}),
            unmanaged(
                3,
                SIDECAR_Q,
                options={
                    "on_missing_data": "show_and_notify_no_data",
                    "thresholds": {"critical": 0, "warning": 0},
                },
            ),
        ]
    )
    assert "no-data-notification-off" in codes(by_id(report, 1))
    assert "no-data-notification-off" not in codes(by_id(report, 2)) | codes(by_id(report, 3))


def test_no_data_is_normal_for_counts_of_events_and_for_a_composite_and_its_parts() -> None:
    quiet = {
        "overall_state": "No Data",
        "overall_state_modified": None,
        "created": "2025-01-01T00:00:00+00:00",
    }
    counts = {"thresholds": {"critical": 0, "warning": 0}}  # on_missing_data: default (dropped by Datadog)
    ratio = "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod}.as_count() / sum:trace.envoy.proxy.hits{env:prod}.as_count() > 0.05"
    traffic = "sum(last_5m):sum:trace.envoy.proxy.hits{env:prod}.as_count() >= 100"
    report = run(
        [
            unmanaged(1, SIDECAR_Q, options=counts, **quiet),  # an event counter that never counted
            unmanaged(2, CIRCUIT_CART_Q, options=counts, **quiet),  # a gauge that should always report
            unmanaged(
                3,
                ratio,
                "part",
                options={"thresholds": {"critical": 0.05}, "on_missing_data": "resolve"},
                **quiet,
            ),
            unmanaged(4, traffic, "part", options={"thresholds": {"critical": 100}}, **quiet),
            served(
                {"name": "errors", "type": "composite", "query": "3 && 4", "message": "@slack-mesh"},
                5,
                **quiet,
            ),
        ]
    )
    assert not codes(by_id(report, 1)) & {"no-data-notification-off", "stuck-in-no-data"}
    assert {"no-data-notification-off", "stuck-in-no-data"} <= codes(by_id(report, 2))
    for part in (3, 4):  # the composite notifies for its parts: no handle, no warning level asked of them
        assert codes(by_id(report, part)) == {"unmanaged"}
    assert codes(by_id(report, 5)) == {"unmanaged"} and by_id(report, 5).signals == ("error-rate",)
    assert report.coverage.mesh[0].monitors == (5,)  # the composite covers error-rate, not its parts


def test_a_critical_threshold_without_warning_is_info() -> None:
    audited = by_id(run([unmanaged(1, CPU_Q, options={"thresholds": {"critical": 90}})]), 1)
    (finding,) = [f for f in audited.findings if f.code == "no-warning-threshold"]
    assert finding.severity is FindingSeverity.INFO


def test_duplicates_match_across_metric_and_query_alert_and_scope_order() -> None:
    a = unmanaged(1, CPU_Q)
    b = served(
        {
            **a.body,
            "type": "query alert",
            "query": "avg(last_5m):avg:system.cpu.user{team:mesh, env:prod} by {host} > 90",
            "name": "copy",
        },
        2,
    )
    c = unmanaged(3, CPU_Q.replace("90", "95"), options={"thresholds": {"critical": 95, "warning": 80}})
    report = run([a, b, c])
    assert [f.message for f in by_id(report, 1).findings if f.code == "duplicate"] == [
        "same type and query as monitor 2"
    ]
    assert "duplicate" in codes(by_id(report, 2)) and "duplicate" not in codes(by_id(report, 3))


# --- coverage -------------------------------------------------------------------------------


def test_coverage_per_service_and_signal() -> None:
    report = run(
        [
            managed(ERRORS, 1),
            managed(SIDECAR, 2),
            unmanaged(
                3,
                CIRCUIT_CART_Q,
                options={"notify_no_data": True, "thresholds": {"critical": 0, "warning": 0}},
            ),
        ],
        (ERRORS, SIDECAR),
        services=("cart", "checkout"),
    )
    table = {s.service: {c.signal: c.monitors for c in s.signals} for s in report.coverage.services}
    assert table == {
        "cart": {
            "error-rate": (1,),
            "sidecar-injection": (2,),
            "config-propagation": (),
            "circuit-open": (3,),
        },
        "checkout": {
            "error-rate": (1,),
            "sidecar-injection": (2,),
            "config-propagation": (),
            "circuit-open": (),
        },
    }
    messages = sorted(f.message for f in report.coverage.findings)
    assert messages == [
        "no monitor watches config-propagation (a control-plane signal) anywhere in the mesh",
        "service checkout: no monitor watches circuit-open",
    ]
    assert {c.signal: c.monitors for c in report.coverage.mesh}["circuit-open"] == ()


def test_a_monitor_filtered_on_the_caller_covers_no_destination() -> None:
    """``service:`` on Envoy's cluster stats is the calling pod: frontend's breakers to its dependencies
    watch neither frontend nor, without an envoy_cluster filter, any destination; and it is not mesh-wide."""
    callers_breakers = "max(last_5m):max:envoy.cluster.circuit_breakers.rq_open{service:frontend} > 0"
    callers_errors = (
        "sum(last_5m):sum:istio.mesh.request.count.total{source_app:frontend,response_code:5*}.as_count() > 9"
    )
    report = run(
        [unmanaged(1, callers_breakers), unmanaged(2, callers_errors)], services=("frontend", "cart")
    )
    table = {s.service: {c.signal: c.monitors for c in s.signals} for s in report.coverage.services}
    assert table["frontend"]["circuit-open"] == () and table["cart"]["circuit-open"] == ()
    assert table["frontend"]["error-rate"] == () and table["cart"]["error-rate"] == ()
    assert {c.signal: c.monitors for c in report.coverage.mesh}["circuit-open"] == ()


def test_without_known_services_coverage_is_checked_mesh_wide() -> None:
    report = run([unmanaged(1, ERRORS_Q)])
    assert report.coverage.services == ()
    assert {f.message.split(" watches ")[1].split(" ")[0] for f in report.coverage.findings} == {
        "sidecar-injection",
        "config-propagation",
        "circuit-open",
    }


# --- the report as a whole ------------------------------------------------------------------


def test_fail_on_thresholds() -> None:
    report = run([unmanaged(1, CPU_Q)], services=())
    worst = max(f.severity.rank for f in report.findings)
    assert worst == FindingSeverity.WARNING.rank  # coverage warnings, unmanaged info
    assert report.fails(FindingSeverity.INFO) and report.fails(FindingSeverity.WARNING)
    assert not report.fails(FindingSeverity.ERROR) and not report.fails(None)


_names = st.text(alphabet="abcdefghij -", min_size=1, max_size=20).map(str.strip).filter(bool)


@given(_names, st.floats(0.01, 0.5), st.booleans())
def test_applied_definitions_are_always_in_sync(name: str, critical: float, notify: bool) -> None:
    query = ERRORS_Q.replace("0.05", repr(critical))
    s = spec(
        "x",
        query,
        name=name,
        options={"notify_no_data": notify, "thresholds": {"critical": critical, "warning": critical / 2}},
    )
    report = run([managed(s, 10)], (s,))
    assert by_id(report, 10).ownership is Ownership.IN_SYNC
    assert [r.datadog_id for r in report.monitors] == [10]
