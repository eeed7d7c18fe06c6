"""Normalisation: the server's defaults and rewrites (datadog-api-facts.md) never read as a change."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.engine.diff import diff_bodies
from provisioner.normalize import canonical_dashboard, canonical_monitor, without_server_added

SENT = {
    "name": "Mesh error rate",
    "type": "query alert",
    "query": "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod}.as_count() > 2\n",
    "message": "Errors are high @slack-mesh\n",
    "tags": ["team:mesh", "env:prod", "team:mesh"],
    "options": {"thresholds": {"critical": 2, "warning": None}, "notify_no_data": False},
}

# What the real API returned for such a body (facts (a), (b)): server fields, option defaults,
# float thresholds, dropped null warning, trimmed text, and "metric alert" in place of "query alert".
RETURNED = {
    "id": 155844758,
    "org_id": 321813,
    "created": "2024-10-10T16:39:00.138359+00:00",
    "created_at": 1728578340000,
    "modified": "2024-10-10T16:39:00.138359+00:00",
    "creator": {"name": None, "handle": "frog@datadoghq.com", "email": "frog@datadoghq.com", "id": 1445416},
    "overall_state": "No Data",
    "overall_state_modified": None,
    "multi": False,
    "deleted": None,
    "restricted_roles": None,
    "priority": None,
    "restriction_policy": None,
    "draft_status": "published",
    "assets": [],
    "name": "Mesh error rate",
    "type": "metric alert",
    "query": "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod}.as_count() > 2",
    "message": "Errors are high @slack-mesh",
    "tags": ["env:prod", "team:mesh"],
    "options": {
        "thresholds": {"critical": 2.0},
        "notify_no_data": False,
        "notify_audit": False,
        "include_tags": True,
        "new_host_delay": 300,
        "silenced": {},
        "avalanche_window": 20,
    },
}


def test_returned_monitor_equals_what_was_sent() -> None:
    desired = canonical_monitor(SENT).body
    live = without_server_added(desired, canonical_monitor(RETURNED).body)
    assert diff_bodies(live, desired) == ()


def test_a_real_change_still_shows() -> None:
    changed = {**RETURNED, "options": {**RETURNED["options"], "thresholds": {"critical": 3.0}}}
    desired = canonical_monitor(SENT).body
    live = without_server_added(desired, canonical_monitor(changed).body)
    (change,) = diff_bodies(live, desired)
    assert (change.pointer, change.old, change.new) == ("/options/thresholds/critical", 3.0, 2.0)


def test_server_added_option_is_compared_when_the_definition_sets_it() -> None:
    desired = canonical_monitor({**SENT, "options": {**SENT["options"], "avalanche_window": 10}}).body
    live = without_server_added(desired, canonical_monitor(RETURNED).body)
    (change,) = diff_bodies(live, desired)
    assert change.pointer == "/options/avalanche_window"


def test_unknown_live_fields_are_reported_not_compared() -> None:
    canonical = canonical_monitor({**RETURNED, "brand_new_field": {"x": 1}})
    assert canonical.unknown_fields == ("brand_new_field",)
    assert "brand_new_field" not in canonical.body


def test_silenced_and_renotify_string_are_not_changes() -> None:
    a = canonical_monitor({"options": {"silenced": {"*": None}, "renotify_interval": "0"}}).body
    assert a == {}


def test_dashboard_widget_ids_and_null_defaults_are_ignored() -> None:
    sent = {"title": "Mesh", "layout_type": "ordered", "widgets": [{"definition": {"type": "note"}}]}
    returned = {
        **sent,
        "id": "abc-def-ghi",
        "url": "/dashboard/abc-def-ghi/mesh",
        "description": None,
        "template_variables": None,
        "notify_list": None,
        "restricted_roles": [],
        "widgets": [{"id": 4674703282750231, "definition": {"type": "note"}}],
    }
    assert diff_bodies(canonical_dashboard(returned).body, canonical_dashboard(sent).body) == ()


json_leaf = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
options = st.dictionaries(
    st.sampled_from(["notify_no_data", "include_tags", "renotify_interval", "new_host_delay", "timeout_h"]),
    json_leaf,
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    options=options,
    thresholds=st.dictionaries(st.sampled_from(["critical", "warning"]), st.none() | st.integers(0, 9)),
    tags=st.lists(st.sampled_from(["a:1", "b:2", "c"]), max_size=4),
)
def test_canonical_form_is_idempotent(options: dict, thresholds: dict, tags: list) -> None:
    body = {
        "name": " n ",
        "type": "query alert",
        "tags": tags,
        "options": {**options, "thresholds": thresholds},
    }
    once = canonical_monitor(body).body
    assert canonical_monitor(once).body == once


def test_corrected_facts_are_not_changes() -> None:
    """priority 0 comes back null; ``thresholds: {}`` comes back without the key; service-check integer
    thresholds come back as integers; ``on_missing_data: "default"`` is echoed without ``notify_no_data``."""
    sent = {
        "name": "ntp",
        "type": "service check",
        "query": '"ntp.in_sync".by("*").last(2).count_by_status()',
        "priority": 0,
        "options": {"thresholds": {"ok": 1.0, "critical": 1.0}, "on_missing_data": "default"},
    }
    returned = {
        **sent,
        "priority": None,
        "options": {"thresholds": {"ok": 1, "critical": 1}, "on_missing_data": "default", "silenced": {}},
    }
    assert canonical_monitor(sent).body == canonical_monitor(returned).body
    empty = {**sent, "options": {"thresholds": {}, "notify_no_data": False}}
    assert canonical_monitor(empty).body == canonical_monitor({**empty, "options": {}}).body
