"""Dashboard fidelity: one test per fact of datadog-api-facts.md (section f) the emulator claims."""

from __future__ import annotations

import re
from typing import Any

import pytest
from datadog_api_client.exceptions import NotFoundException
from datadog_api_client.v1.api.dashboards_api import DashboardsApi
from datadog_api_client.v1.model.dashboard import Dashboard

TIMESERIES = {"definition": {"type": "timeseries", "requests": [{"q": "avg:system.cpu.user{*}"}]}}


def group_of(*widgets: dict[str, Any]) -> dict[str, Any]:
    return {"definition": {"type": "group", "layout_type": "ordered", "title": "g", "widgets": list(widgets)}}


def create_raw(raw: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "Mesh overview", "layout_type": "ordered", "widgets": [TIMESERIES], **fields}
    answer = raw.call("POST", "/api/v1/dashboard", body)
    assert answer.status == 200, answer.raw
    return answer.json


def put_raw(raw: Any, dashboard_id: str, **fields: Any) -> dict[str, Any]:
    body = {"title": "Mesh overview", "layout_type": "ordered", "widgets": [TIMESERIES], **fields}
    answer = raw.call("PUT", f"/api/v1/dashboard/{dashboard_id}", body)
    assert answer.status == 200, answer.raw
    return answer.json


def test_client_round_trip_has_no_unparsed_parts(dashboards_api: DashboardsApi, parsed: Any) -> None:
    body = Dashboard(
        title="Mesh",
        layout_type="ordered",
        widgets=[
            {
                "definition": {
                    "type": "timeseries",
                    "requests": [{"q": "avg:istio.mesh.request.count{*}", "display_type": "line"}],
                }
            },
            {"definition": {"type": "query_value", "requests": [{"q": "sum:x{*}", "aggregator": "sum"}]}},
            {
                "definition": {
                    "type": "toplist",
                    "requests": [{"q": "top(avg:x{*} by {host}, 10, 'mean', 'desc')"}],
                }
            },
        ],
    )
    created = parsed(dashboards_api.create_dashboard(body=body))
    assert parsed(dashboards_api.get_dashboard(created.id)).id == created.id
    assert parsed(dashboards_api.update_dashboard(created.id, body=body)).id == created.id
    assert parsed(dashboards_api.list_dashboards()).dashboards[0].id == created.id
    assert parsed(dashboards_api.delete_dashboard(created.id)).deleted_dashboard_id == created.id


def test_fact_id_is_three_groups_of_three_lowercase_alphanumerics(raw: Any) -> None:
    assert re.fullmatch(r"[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}", create_raw(raw)["id"])


def test_fact_url_slug_lowercases_dashes_spaces_and_removes_other_characters(raw: Any) -> None:
    dashboard = create_raw(raw, title="Test-Create_a [new] dashboard 42")
    assert dashboard["url"] == f"/dashboard/{dashboard['id']}/test-createa-new-dashboard-42"


def test_fact_url_slug_truncated_to_80_characters(raw: Any) -> None:
    dashboard = create_raw(raw, title="word " * 30)
    slug = dashboard["url"].rsplit("/", 1)[1]
    assert len(slug) == 80 and slug == ("word-" * 30)[:80]


def test_fact_url_regenerated_when_put_changes_the_title(raw: Any) -> None:
    dashboard = create_raw(raw)
    assert (
        put_raw(raw, dashboard["id"], title="New Title")["url"] == f"/dashboard/{dashboard['id']}/new-title"
    )


def test_fact_author_handle_and_author_name(raw: Any) -> None:
    dashboard = create_raw(raw)
    assert "@" in dashboard["author_handle"] and dashboard["author_name"] is None


def test_fact_created_at_equals_modified_at_on_create(raw: Any) -> None:
    dashboard = create_raw(raw)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", dashboard["created_at"])
    assert dashboard["created_at"] == dashboard["modified_at"]


def test_fact_put_bumps_modified_at_only(raw: Any) -> None:
    dashboard = create_raw(raw)
    updated = put_raw(raw, dashboard["id"])
    assert (
        updated["created_at"] == dashboard["created_at"] and updated["modified_at"] > dashboard["modified_at"]
    )


def test_fact_restricted_roles_always_empty_list(raw: Any) -> None:
    assert create_raw(raw)["restricted_roles"] == []


@pytest.mark.parametrize("field", ["description", "template_variables", "notify_list"])
def test_fact_null_when_not_sent(raw: Any, field: str) -> None:
    assert create_raw(raw)[field] is None


@pytest.mark.parametrize(
    ("field", "value"), [("description", ""), ("template_variables", []), ("notify_list", [])]
)
def test_fact_empty_values_stay_as_sent(raw: Any, field: str, value: Any) -> None:
    assert create_raw(raw, **{field: value})[field] == value


def test_fact_is_read_only_absent(raw: Any) -> None:
    assert "is_read_only" not in create_raw(raw)


def test_fact_tags_only_present_when_sent(raw: Any) -> None:
    assert "tags" not in create_raw(raw)
    assert create_raw(raw, tags=["team:foo", "team:bar"])["tags"] == ["team:foo", "team:bar"]


def test_fact_widget_ids_are_added_as_integers_below_2_pow_53(raw: Any) -> None:
    widget_id = create_raw(raw)["widgets"][0]["id"]
    assert isinstance(widget_id, int) and 0 < widget_id < 2**53


def test_fact_widget_ids_added_to_widgets_nested_in_groups(raw: Any) -> None:
    group = create_raw(raw, widgets=[group_of(TIMESERIES)])["widgets"][0]
    assert isinstance(group["id"], int) and isinstance(group["definition"]["widgets"][0]["id"], int)


def test_fact_sent_widget_ids_are_kept(raw: Any) -> None:
    widgets = [group_of({**TIMESERIES, "id": 8096017487317681}, TIMESERIES)]
    children = create_raw(raw, widgets=widgets)["widgets"][0]["definition"]["widgets"]
    assert children[0]["id"] == 8096017487317681 and children[1]["id"] != 8096017487317681


def test_fact_widgets_without_ids_get_fresh_ids_on_put(raw: Any) -> None:
    dashboard = create_raw(raw, widgets=[group_of({**TIMESERIES, "id": 8096017487317681}, TIMESERIES)])
    first_child = dashboard["widgets"][0]["definition"]["widgets"][1]["id"]
    updated = put_raw(
        raw, dashboard["id"], widgets=[group_of({**TIMESERIES, "id": 8096017487317681}, TIMESERIES)]
    )
    children = updated["widgets"][0]["definition"]["widgets"]
    assert children[0]["id"] == 8096017487317681 and children[1]["id"] != first_child


def test_fact_request_fields_echoed_verbatim_except_widget_ids(raw: Any) -> None:
    sent = {
        "title": "Mesh",
        "description": "d",
        "layout_type": "ordered",
        "reflow_type": "fixed",
        "template_variables": [{"name": "cluster", "prefix": "kube_cluster_name", "defaults": ["*"]}],
        "widgets": [{"definition": {"type": "note", "content": "x", "custom_field": [1, {"a": None}]}}],
    }
    answer = raw.call("POST", "/api/v1/dashboard", sent).json
    widgets = [{key: value for key, value in widget.items() if key != "id"} for widget in answer["widgets"]]
    assert {key: answer[key] for key in sent if key != "widgets"} == {
        k: v for k, v in sent.items() if k != "widgets"
    }
    assert widgets == sent["widgets"]


def test_fact_put_is_a_full_replacement(raw: Any) -> None:
    dashboard = create_raw(raw, description="old", notify_list=["a@b.c"], tags=["team:x"])
    updated = put_raw(raw, dashboard["id"])
    assert (updated["description"], updated["notify_list"]) == (None, None) and "tags" not in updated


def test_fact_get_returns_what_create_returned(raw: Any) -> None:
    dashboard = create_raw(raw)
    assert raw.call("GET", f"/api/v1/dashboard/{dashboard['id']}").json == dashboard


def test_fact_delete_answers_deleted_dashboard_id_then_404(dashboards_api: DashboardsApi, raw: Any) -> None:
    dashboard_id = create_raw(raw)["id"]
    assert dashboards_api.delete_dashboard(dashboard_id).deleted_dashboard_id == dashboard_id
    with pytest.raises(NotFoundException) as caught:
        dashboards_api.delete_dashboard(dashboard_id)
    assert caught.value.body == {"errors": [f"Dashboard with ID {dashboard_id} not found"]}


def test_fact_list_is_summaries_without_widgets(raw: Any) -> None:
    dashboard = create_raw(raw, description="d")
    summaries = raw.call("GET", "/api/v1/dashboard").json["dashboards"]
    assert summaries == [
        {
            "id": dashboard["id"],
            "title": dashboard["title"],
            "description": "d",
            "layout_type": "ordered",
            "url": dashboard["url"],
            "created_at": dashboard["created_at"],
            "modified_at": dashboard["modified_at"],
            "author_handle": dashboard["author_handle"],
            "deleted_at": None,
        }
    ]


def test_fact_list_pages_with_count_and_start(dashboards_api: DashboardsApi, raw: Any) -> None:
    ids = [create_raw(raw, title=f"d{index}")["id"] for index in range(5)]
    first = raw.call("GET", "/api/v1/dashboard?count=2").json["dashboards"]
    second = raw.call("GET", "/api/v1/dashboard?count=2&start=2").json["dashboards"]
    assert [item["id"] for item in first + second] == ids[:4]
    assert [item.id for item in dashboards_api.list_dashboards_with_pagination(count=2)] == ids


# -- [corrected]/[added] facts of the second batch of recordings ---------------------------------------

TAB_ID = "2bb2a1a4-7a27-4c43-8b29-2a2b5b1e8f01"


def test_fact_tabs_resolve_positional_widget_references_on_post_and_put(
    dashboards_api: DashboardsApi, raw: Any, parsed: Any
) -> None:
    """Raw HTTP to send ``"@N"`` (the client's model types ``widget_ids`` as integers); read back with it."""
    note = {"definition": {"type": "note", "content": "x"}}
    tabs = [{"id": TAB_ID, "name": "Overview", "widget_ids": ["@1", "@2"]}]
    created = create_raw(raw, widgets=[TIMESERIES, note], tabs=tabs)
    widget_ids = [widget["id"] for widget in created["widgets"]]
    assert created["tabs"] == [{"id": TAB_ID, "name": "Overview", "widget_ids": widget_ids}]

    updated = put_raw(raw, created["id"], widgets=[note], tabs=[{**tabs[0], "widget_ids": ["@1"]}])
    assert updated["widgets"][0]["id"] != widget_ids[1]  # sent without an id: a fresh one
    assert updated["tabs"][0]["widget_ids"] == [updated["widgets"][0]["id"]]
    fetched = parsed(dashboards_api.get_dashboard(created["id"]))
    assert fetched.tabs[0].widget_ids == [updated["widgets"][0]["id"]] and str(fetched.tabs[0].id) == TAB_ID


def test_fact_tabs_keep_integer_widget_ids_and_a_put_without_tabs_drops_them(raw: Any) -> None:
    widget = {**TIMESERIES, "id": 9876543210987654}
    created = create_raw(
        raw, widgets=[widget], tabs=[{"id": TAB_ID, "name": "t", "widget_ids": [9876543210987654]}]
    )
    assert created["tabs"][0]["widget_ids"] == [9876543210987654]
    assert "tabs" not in put_raw(raw, created["id"], widgets=[widget])


def test_fact_template_variable_defaults_with_an_empty_string_is_400(raw: Any) -> None:
    variables = [{"name": "cluster", "prefix": "kube_cluster_name", "defaults": [""]}]
    answer = raw.call(
        "POST",
        "/api/v1/dashboard",
        {"title": "t", "layout_type": "ordered", "widgets": [], "template_variables": variables},
    )
    assert (answer.status, answer.json) == (
        400,
        {"errors": ["Minimum length of parameter 'defaults' should be 1"]},
    )


def test_fact_preset_variable_with_both_value_and_values_is_400_quoting_it(raw: Any) -> None:
    presets = [{"name": "p", "template_variables": [{"name": "datacenter", "value": "*", "values": ["*"]}]}]
    body = {"title": "t", "layout_type": "ordered", "widgets": [], "template_variable_presets": presets}
    answer = raw.call("POST", "/api/v1/dashboard", body)
    message = "'template_variables' value '{'name': 'datacenter', 'value': '*', 'values': ['*']}' is invalid"
    assert (answer.status, answer.json) == (400, {"errors": [message]})
