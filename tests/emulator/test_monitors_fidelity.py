"""Monitor fidelity: one test per fact of datadog-api-facts.md (sections a and b) the emulator claims.

Calls go through datadog-api-client (check_return_type on) or, where the exact wire shape matters
(absent keys, raw JSON types), through a raw HTTP client. Every client answer is checked for unparsed parts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from datadog_api_client.exceptions import NotFoundException
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

METRIC_QUERY = "avg(last_5m):avg:system.cpu.user{env:prod} > 2"
GROUPED_QUERY = "avg(last_1h):avg:system.cpu.user{*} by {host} > 2"
LOG_QUERY = 'logs("service:foo AND type:error").index("*").rollup("count").by("source").last("5m") > 10'


def create_raw(raw: Any, **fields: Any) -> dict[str, Any]:
    body = {"type": "metric alert", "query": METRIC_QUERY, "name": "cpu", **fields}
    answer = raw.call("POST", "/api/v1/monitor", body)
    assert answer.status == 200, answer.raw
    return answer.json


def get_raw(raw: Any, monitor_id: int, query: str = "") -> dict[str, Any]:
    answer = raw.call("GET", f"/api/v1/monitor/{monitor_id}{query}")
    assert answer.status == 200, answer.raw
    return answer.json


def put_raw(raw: Any, monitor_id: int, body: dict[str, Any]) -> dict[str, Any]:
    answer = raw.call("PUT", f"/api/v1/monitor/{monitor_id}", body)
    assert answer.status == 200, answer.raw
    return answer.json


# -- through the official client --------------------------------------------------------------------


def test_client_round_trip_has_no_unparsed_parts(monitors_api: MonitorsApi, parsed: Any) -> None:
    body = Monitor(
        type="metric alert",
        query=GROUPED_QUERY,
        name="cpu",
        options={"thresholds": {"critical": 2, "warning": 1}},
    )
    created = parsed(monitors_api.create_monitor(body=body))
    fetched = parsed(monitors_api.get_monitor(created.id, with_downtimes=True))
    updated = parsed(monitors_api.update_monitor(created.id, body=MonitorUpdateRequest(message="changed")))
    listed = parsed(monitors_api.list_monitors())
    assert fetched.id == updated.id == listed[0].id == created.id
    assert parsed(monitors_api.validate_monitor(body=body)) == {}
    assert parsed(monitors_api.validate_existing_monitor(created.id, body=body)) == {}
    assert parsed(monitors_api.check_can_delete_monitor(monitor_ids=[created.id])).data.ok == [created.id]
    assert parsed(monitors_api.search_monitors()).metadata.total_count == 1
    assert parsed(monitors_api.delete_monitor(created.id)).deleted_monitor_id == created.id


def test_unparsed_check_can_fail(monitors_api: MonitorsApi, raw: Any, parsed: Any) -> None:
    """A part the client could not parse is flagged by the walk: the check is not vacuous."""
    model = monitors_api.get_monitor(create_raw(raw)["id"])
    model._data_store["overall_state"]._unparsed = True
    with pytest.raises(AssertionError):
        parsed(model)


# -- (a) top-level fields the server adds ---------------------------------------------------------------


def test_fact_id_is_a_server_assigned_int64(raw: Any) -> None:
    first, second = create_raw(raw), create_raw(raw, name="other")
    assert isinstance(first["id"], int) and len(str(first["id"])) == 9
    assert second["id"] > first["id"]


def test_fact_org_id_is_added(raw: Any) -> None:
    assert isinstance(create_raw(raw)["org_id"], int)


def test_fact_created_is_iso8601_with_microseconds_and_utc_offset(raw: Any) -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", create_raw(raw)["created"])


def test_fact_created_at_is_epoch_millis_truncated_to_the_second(raw: Any) -> None:
    created_at = create_raw(raw)["created_at"]
    assert isinstance(created_at, int) and created_at % 1000 == 0 and created_at > 1_600_000_000_000


def test_fact_modified_equals_created_on_create(raw: Any) -> None:
    monitor = create_raw(raw)
    assert monitor["modified"] == monitor["created"]


def test_fact_creator_on_post_and_get(raw: Any) -> None:
    monitor = create_raw(raw)
    assert set(monitor["creator"]) == {"name", "handle", "email", "id"}
    assert get_raw(raw, monitor["id"])["creator"] == monitor["creator"]


def test_fact_creator_missing_from_put_response_but_kept_for_get(raw: Any) -> None:
    monitor = create_raw(raw)
    assert "creator" not in put_raw(raw, monitor["id"], {"message": "x"})
    assert get_raw(raw, monitor["id"])["creator"] == monitor["creator"]


def test_fact_overall_state_is_no_data_on_creation(raw: Any) -> None:
    assert create_raw(raw)["overall_state"] == "No Data"


def test_fact_overall_state_modified_is_null(raw: Any) -> None:
    assert create_raw(raw)["overall_state_modified"] is None


@pytest.mark.parametrize(
    ("monitor_type", "query", "multi"),
    [
        ("metric alert", "avg(current_1mo):avg:system.load.5{*} > 0.5", False),
        ("metric alert", GROUPED_QUERY, True),
        ("log alert", LOG_QUERY, True),
        ("log alert", 'logs("service:foo").index("*").rollup("count").last("5m") > 10', False),
    ],
)
def test_fact_multi_follows_the_group_by(raw: Any, monitor_type: str, query: str, multi: bool) -> None:
    assert create_raw(raw, type=monitor_type, query=query)["multi"] is multi


def test_fact_deleted_is_null(raw: Any) -> None:
    assert create_raw(raw)["deleted"] is None


def test_fact_restricted_roles_null_when_not_sent_echoed_when_sent(raw: Any) -> None:
    assert create_raw(raw)["restricted_roles"] is None
    assert create_raw(raw, restricted_roles=["abc-role"])["restricted_roles"] == ["abc-role"]


def test_fact_priority_null_when_not_sent(raw: Any) -> None:
    assert create_raw(raw)["priority"] is None


def test_fact_priority_null_in_put_clears_it(raw: Any) -> None:
    monitor = create_raw(raw, priority=2)
    assert put_raw(raw, monitor["id"], {"priority": None})["priority"] is None


def test_fact_priority_string_is_returned_as_int(raw: Any) -> None:
    assert create_raw(raw, priority="5")["priority"] == 5


def test_fact_tags_empty_list_when_not_sent(raw: Any) -> None:
    assert create_raw(raw)["tags"] == []


@pytest.mark.parametrize("sent", [{}, {"message": None}])
def test_fact_message_empty_string_when_omitted_or_null(raw: Any, sent: dict[str, Any]) -> None:
    assert create_raw(raw, **sent)["message"] == ""


def test_fact_name_is_generated_when_omitted(raw: Any) -> None:
    body = {"type": "metric alert", "query": "avg(last_1h):sum:system.net.bytes_rcvd{host:host0} > 100"}
    monitor = raw.call("POST", "/api/v1/monitor", body).json
    expected = (
        "**system.net.bytes_rcvd** over **host:host0** was **> 100.0** on average during the **last 1h**."
    )
    assert monitor["name"] == expected


def test_fact_restriction_policy_is_null(raw: Any) -> None:
    assert create_raw(raw)["restriction_policy"] is None


def test_fact_draft_status_is_published(raw: Any) -> None:
    assert create_raw(raw)["draft_status"] == "published"


def test_fact_assets_is_an_empty_list(raw: Any) -> None:
    assert create_raw(raw)["assets"] == []


def test_fact_state_is_not_returned(raw: Any) -> None:
    assert "state" not in create_raw(raw)


def test_fact_matching_downtimes_absent_on_single_get(raw: Any) -> None:
    assert "matching_downtimes" not in get_raw(raw, create_raw(raw)["id"])


def test_fact_matching_downtimes_present_with_with_downtimes(raw: Any) -> None:
    monitor = get_raw(raw, create_raw(raw)["id"], "?with_downtimes=true")
    assert monitor["matching_downtimes"] == []


def test_fact_matching_downtimes_on_list_items_without_the_parameter(raw: Any) -> None:
    create_raw(raw)
    assert [item["matching_downtimes"] for item in raw.call("GET", "/api/v1/monitor").json] == [[]]


# -- (a) options defaults ----------------------------------------------------------------------------


def test_fact_option_notify_no_data_defaults_false(raw: Any) -> None:
    assert create_raw(raw)["options"]["notify_no_data"] is False


def test_fact_option_notify_no_data_not_inserted_with_on_missing_data(raw: Any) -> None:
    options = create_raw(raw, options={"on_missing_data": "show_no_data"})["options"]
    assert "notify_no_data" not in options and options["on_missing_data"] == "show_no_data"


@pytest.mark.parametrize("value", ["default", "show_no_data", "show_and_notify_no_data", "resolve"])
def test_fact_option_on_missing_data_is_echoed_and_notify_no_data_never_inserted(
    monitors_api: MonitorsApi, parsed: Any, value: str
) -> None:
    """[corrected] ``"default"`` is echoed on POST and PUT (newest recording, 2026-07)."""
    body = Monitor(type="query alert", query=METRIC_QUERY, name="cpu", options={"on_missing_data": value})
    created = parsed(monitors_api.create_monitor(body=body))
    update = MonitorUpdateRequest(options={"on_missing_data": value, "thresholds": {"critical": 2}})
    updated = parsed(monitors_api.update_monitor(created.id, body=update))
    for options in (created.options, updated.options):
        assert str(options.on_missing_data) == value and "notify_no_data" not in options


def test_fact_option_notify_audit_defaults_false(raw: Any) -> None:
    assert create_raw(raw)["options"]["notify_audit"] is False


def test_fact_option_include_tags_defaults_true_and_sent_value_echoed(raw: Any) -> None:
    assert create_raw(raw)["options"]["include_tags"] is True
    assert create_raw(raw, options={"include_tags": False})["options"]["include_tags"] is False


def test_fact_option_new_host_delay_defaults_300_and_null_stays_null(raw: Any) -> None:
    assert create_raw(raw)["options"]["new_host_delay"] == 300
    assert create_raw(raw, options={"new_host_delay": None})["options"]["new_host_delay"] is None


def test_fact_option_silenced_defaults_empty_object(raw: Any) -> None:
    assert create_raw(raw)["options"]["silenced"] == {}


@pytest.mark.parametrize(
    ("monitor_type", "query"),
    [
        ("log alert", LOG_QUERY),
        ("rum alert", 'rum("@type:error").rollup("count").last("5m") > 5'),
        ("ci-pipelines alert", 'ci-pipelines("@ci.status:error").rollup("count").last("5m") > 1'),
        ("ci-tests alert", 'ci-tests("@test.status:fail").rollup("count").last("5m") > 1'),
        ("error-tracking alert", 'error-tracking-rum("service:x").rollup("count").last("5m") > 1'),
        ("llm-observability alert", 'llm-observability("x").rollup("count").last("5m") > 1'),
    ],
)
def test_fact_option_groupby_simple_monitor_for_log_based_types(
    raw: Any, monitor_type: str, query: str
) -> None:
    assert create_raw(raw, type=monitor_type, query=query)["options"]["groupby_simple_monitor"] is False


def test_fact_option_groupby_simple_monitor_not_for_metric_alerts(raw: Any) -> None:
    assert "groupby_simple_monitor" not in create_raw(raw)["options"]


def test_fact_option_locked_no_longer_added(raw: Any) -> None:
    assert "locked" not in create_raw(raw)["options"]


def test_fact_option_require_full_window_not_inserted_but_echoed(raw: Any) -> None:
    assert "require_full_window" not in create_raw(raw)["options"]
    assert create_raw(raw, options={"require_full_window": True})["options"]["require_full_window"] is True


def test_fact_other_options_echoed_verbatim_including_nulls(raw: Any) -> None:
    sent = {"no_data_timeframe": None, "evaluation_delay": None, "timeout_h": None, "renotify_interval": 60}
    options = create_raw(raw, options=sent)["options"]
    assert {key: options[key] for key in sent} == sent


def test_fact_thresholds_become_floats(raw: Any) -> None:
    body = {
        "query": "avg(last_5m):avg:system.cpu.user{*} > 2",
        "options": {"thresholds": {"critical": 2, "warning": 1}},
    }
    answer = create_raw(raw, **body)
    thresholds = answer["options"]["thresholds"]
    assert thresholds == {"critical": 2.0, "warning": 1.0}
    assert all(isinstance(value, float) for value in thresholds.values())
    assert b'"critical":2.0' in raw.call("GET", f"/api/v1/monitor/{answer['id']}").raw


def test_fact_null_thresholds_are_dropped(raw: Any) -> None:
    monitor = create_raw(raw, query="avg(last_5m):avg:system.cpu.user{*} > 2")
    body = {"options": {"thresholds": {"critical": 2, "warning": None}}}
    assert put_raw(raw, monitor["id"], body)["options"]["thresholds"] == {"critical": 2.0}


# -- (a) type normalisation --------------------------------------------------------------------------


def test_fact_type_metric_alert_with_calendar_query_becomes_query_alert(raw: Any) -> None:
    options = {"scheduling_options": {"evaluation_window": {"day_starts": "04:00", "month_starts": 1}}}
    monitor = create_raw(raw, query="avg(current_1mo):avg:system.load.5{*} > 0.5", options=options)
    assert monitor["type"] == "query alert"


def test_fact_type_query_alert_formula_with_aggregate_queries_becomes_metric_alert(raw: Any) -> None:
    variables = [
        {"data_source": "aggregate_augmented_query", "name": "query1", "compute": {"aggregation": "count"}}
    ]
    monitor = create_raw(
        raw, type="query alert", query='formula("query1").last("5m") > 200', options={"variables": variables}
    )
    assert monitor["type"] == "metric alert"


def test_fact_type_metric_alert_with_last_window_is_echoed(raw: Any) -> None:
    assert create_raw(raw)["type"] == "metric alert"


def test_fact_type_change_by_put_is_accepted_and_echoed(raw: Any) -> None:
    monitor = create_raw(raw)
    assert put_raw(raw, monitor["id"], {"type": "query alert"})["type"] == "query alert"


# -- PUT semantics -----------------------------------------------------------------------------------


def test_fact_put_keeps_absent_top_level_fields(raw: Any) -> None:
    monitor = create_raw(raw, tags=["team:sre"], options={"renotify_interval": 30})
    updated = put_raw(raw, monitor["id"], {"message": "monitor updated"})
    assert (updated["tags"], updated["options"], updated["query"]) == (
        monitor["tags"],
        monitor["options"],
        monitor["query"],
    )
    assert updated["message"] == "monitor updated"


def test_fact_put_options_replace_the_whole_object_and_defaults_are_reapplied(raw: Any) -> None:
    monitor = create_raw(
        raw, options={"notify_no_data": True, "no_data_timeframe": 10, "escalation_message": "e"}
    )
    options = put_raw(raw, monitor["id"], {"options": {"silenced": {"*": None}}})["options"]
    assert options == {
        "silenced": {"*": None},
        "notify_no_data": False,
        "notify_audit": False,
        "include_tags": True,
        "new_host_delay": 300,
    }


def test_fact_put_keeps_created_and_bumps_modified(raw: Any) -> None:
    monitor = create_raw(raw)
    updated = put_raw(raw, monitor["id"], {"message": "x"})
    assert (updated["created"], updated["created_at"]) == (monitor["created"], monitor["created_at"])
    assert updated["modified"] > monitor["modified"]


def test_fact_put_unknown_id_is_404(monitors_api: MonitorsApi) -> None:
    with pytest.raises(NotFoundException) as caught:
        monitors_api.update_monitor(123456789, body=MonitorUpdateRequest(message="x"))
    assert caught.value.body == {"errors": ["Monitor not found"]}


# -- other endpoints' success bodies -----------------------------------------------------------------


def test_fact_delete_answers_deleted_monitor_id_then_404(raw: Any) -> None:
    monitor_id = create_raw(raw)["id"]
    assert raw.call("DELETE", f"/api/v1/monitor/{monitor_id}").json == {"deleted_monitor_id": monitor_id}
    again = raw.call("DELETE", f"/api/v1/monitor/{monitor_id}")
    assert (again.status, again.json) == (404, {"errors": ["Monitor not found"]})
    assert raw.call("GET", f"/api/v1/monitor/{monitor_id}").status == 404


def test_fact_validate_endpoints_answer_empty_object(raw: Any) -> None:
    body = {"type": "metric alert", "query": METRIC_QUERY}
    monitor_id = create_raw(raw)["id"]
    assert raw.call("POST", "/api/v1/monitor/validate", body).json == {}
    assert raw.call("POST", f"/api/v1/monitor/{monitor_id}/validate", body).json == {}


def test_fact_validate_does_not_store(raw: Any) -> None:
    raw.call("POST", "/api/v1/monitor/validate", {"type": "metric alert", "query": METRIC_QUERY})
    assert raw.call("GET", "/api/v1/monitor").json == []


def test_fact_can_delete_ok_body(raw: Any) -> None:
    monitor_id = create_raw(raw)["id"]
    answer = raw.call("GET", f"/api/v1/monitor/can_delete?monitor_ids={monitor_id}")
    assert (answer.status, answer.json) == (200, {"data": {"ok": [monitor_id]}, "errors": None})


def test_fact_can_delete_409_with_errors_keyed_by_id_when_used_by_a_composite(raw: Any) -> None:
    first, second = create_raw(raw, name="a")["id"], create_raw(raw, name="b")["id"]
    composite = create_raw(raw, type="composite", query=f"{first} && {second}", name="both")
    answer = raw.call("GET", f"/api/v1/monitor/can_delete?monitor_ids={first},{composite['id']}")
    assert answer.status == 409
    assert answer.json["data"] == {"ok": [composite["id"]]}
    assert answer.json["errors"] == {
        str(first): [f"monitor [{first},a] is referenced in composite monitors: [{composite['id']},both]"]
    }


def test_fact_search_envelope(raw: Any) -> None:
    create_raw(raw, tags=["team:sre"])
    body = raw.call("GET", "/api/v1/monitor/search").json
    assert set(body) == {"counts", "monitors", "metadata"}
    assert set(body["counts"]) == {"status", "muted", "tag", "type"}
    assert body["metadata"] == {"total_count": 1, "page_count": 1, "page": 0, "per_page": 30}
    expected_keys = {
        "id", "name", "status", "type", "tags", "query", "classification", "creator", "metrics", "notifications",
        "muted_until_ts", "last_triggered_ts", "org_id", "priority", "scopes", "overall_state_modified",
        "restricted_roles",
    }  # fmt: skip
    assert set(body["monitors"][0]) == expected_keys


# -- (b) how query strings and messages are echoed ---------------------------------------------------------


def test_fact_trailing_newline_trimmed_from_query_message_and_escalation_message(raw: Any) -> None:
    monitor = create_raw(
        raw,
        query="avg(last_1h):avg:system.cpu.user{*} by {host} > 2\n",
        message="cpu high @hipchat-channel\n",
        options={"escalation_message": "still high @pagerduty\n"},
    )
    fetched = get_raw(raw, monitor["id"])
    for shown in (monitor, fetched):
        assert shown["query"] == "avg(last_1h):avg:system.cpu.user{*} by {host} > 2"
        assert shown["message"] == "cpu high @hipchat-channel"
        assert shown["options"]["escalation_message"] == "still high @pagerduty"


def test_fact_validate_accepts_the_untrimmed_body(raw: Any) -> None:
    body = {"type": "metric alert", "query": "avg(last_1h):avg:system.cpu.user{*} by {host} > 2\n"}
    assert raw.call("POST", "/api/v1/monitor/validate", body).status == 200


def test_fact_interior_whitespace_and_case_preserved(raw: Any) -> None:
    query = "avg(last_5m):avg:System.CPU.User{Env:Prod}   by {host}  >   2"
    message = "Line one\n\n  Indented  line with  spaces"
    monitor = create_raw(raw, query=query, message=message)
    assert (monitor["query"], monitor["message"]) == (query, message)


# -- [corrected]/[added] facts of the second batch of recordings ---------------------------------------

SERVICE_CHECK = '"ntp.in_sync".by("*").last(2).count_by_status()'
ANOMALIES = (
    "avg(last_1h):anomalies(avg:system.cpu.system{name:cassandra}, 'basic', 2, direction='above') >= 1"
)
ANOMALIES_BY_HOST = (
    "avg(last_4h):anomalies(avg:aws.ec2.cpu{environment:foo,host:foo} by {host}, 'basic', 2, "
    "direction='both', alert_window='last_15m', interval=60, count_default_zero='true') >= 1"
)


def test_fact_service_check_query_accepted_with_integer_thresholds_echoed_as_integers(
    monitors_api: MonitorsApi, raw: Any, parsed: Any
) -> None:
    """Raw HTTP: the client's threshold model is float, so it never sends an integer."""
    thresholds = {"warning": 1, "ok": 1, "critical": 1}
    created = create_raw(raw, type="service check", query=SERVICE_CHECK, options={"thresholds": thresholds})
    assert created["query"] == SERVICE_CHECK and created["multi"] is True
    assert (
        b'"thresholds":{"warning":1,"ok":1,"critical":1}'
        in raw.call("GET", f"/api/v1/monitor/{created['id']}").raw
    )
    assert parsed(monitors_api.get_monitor(created["id"])).options.thresholds.critical == 1
    floats = create_raw(
        raw, query="avg(last_5m):avg:system.cpu.user{*} > 2", options={"thresholds": {"critical": 2}}
    )
    assert b'"critical":2.0' in raw.call("GET", f"/api/v1/monitor/{floats['id']}").raw


def test_fact_service_check_by_tag_is_multi_and_without_by_is_not(raw: Any) -> None:
    by_tag = '"custom.check".by("environment:foo").last(2).count_by_status()'
    assert create_raw(raw, type="service check", query=by_tag)["multi"] is True
    ungrouped = '"custom.check".last(2).count_by_status()'
    assert create_raw(raw, type="service check", query=ungrouped)["multi"] is False


@pytest.mark.parametrize(("query", "multi"), [(ANOMALIES, False), (ANOMALIES_BY_HOST, True)])
def test_fact_anomalies_queries_accepted_with_threshold_windows(
    monitors_api: MonitorsApi, parsed: Any, query: str, multi: bool
) -> None:
    options = {
        "thresholds": {"critical": 1, "critical_recovery": 0},
        "threshold_windows": {"trigger_window": "last_15m", "recovery_window": "last_15m"},
    }
    created = parsed(
        monitors_api.create_monitor(body=Monitor(type="query alert", query=query, options=options))
    )
    assert created.query == query and created.multi is multi
    assert created.options.threshold_windows.trigger_window == "last_15m"


def test_fact_priority_zero_is_accepted_and_returned_as_null(monitors_api: MonitorsApi, parsed: Any) -> None:
    created = parsed(
        monitors_api.create_monitor(body=Monitor(type="query alert", query=GROUPED_QUERY, priority=0))
    )
    assert created.priority is None
    updated = parsed(monitors_api.update_monitor(created.id, body=MonitorUpdateRequest(priority=0)))
    assert updated.priority is None


@pytest.mark.parametrize(
    ("monitor_type", "query", "options", "multi"),
    [
        ("data-quality alert", 'formula("query1").last("30m") > 1000',
         {"variables": [{"data_source": "data_quality_metrics", "name": "query1", "measure": "row_count",
                         "filter": "search for column where `database:production AND table:users`",
                         "group_by": ["entity_id"]}]}, False),
        ("data-jobs alert", 'formula("failed_runs(run_query)").by(job_name,workspace_name).last(10d) > 0',
         {"variables": [{"job_type": "databricks.job", "jobs_query": "*", "name": "run_query",
                         "query_dialect": "metric"}]}, True),
        ("error-tracking alert",
         'error-tracking-rum("service:foo AND @error.source:source").rollup("count").by("@issue.id").last("1h") >= 1',
         {}, True),
        ("llm-observability alert", 'llm-observability("*").rollup("count").last("2h") > 0', {}, False),
        ("cost alert",
         'formula("exclude_null(query1)").last("7d").anomaly(direction="above", threshold=10) >= 5',
         {"variables": [{"data_source": "cloud_cost", "aggregator": "sum", "name": "query1",
                         "query": "sum:aws.cost.net.amortized{*}"}]}, False),
        ("rum alert", 'formula("query2 / query1 * 100").last("15m") >= 0.8', {}, False),
        ("ci-pipelines alert", 'formula("query1 / query2 * 100").last("15m") >= 0.8', {}, False),
        ("ci-tests alert",
         'ci-tests("type:test @git.branch:staging* @test.status:fail").rollup("count").by("@test.name").last("5m") >= 1',
         {}, True),
        ("log alert", 'logs("*").index("*").rollup("count").last("5m") < 100', {"on_missing_data": "default"}, False),
        ("metric alert", "min(last_5m):avg:synthetics.pl.worker.running{*} by {location_id} < 1", {}, True),
    ],
)  # fmt: skip
def test_fact_recorded_monitor_types_and_query_shapes_are_accepted(
    raw: Any, monitor_type: str, query: str, options: dict[str, Any], multi: bool
) -> None:
    created = create_raw(raw, type=monitor_type, query=query, options=options)
    assert (created["type"], created["query"], created["multi"]) == (monitor_type, query, multi)


def test_fact_empty_thresholds_are_dropped(raw: Any) -> None:
    for monitor_type in ("metric alert", "query alert"):
        query = "change(min(last_1m),last_5m):sum:a{example,framework:chronos} + sum:b{example} > 5"
        created = create_raw(raw, type=monitor_type, query=query, options={"thresholds": {}})
        assert "thresholds" not in created["options"]
        assert "thresholds" not in put_raw(raw, created["id"], {"options": {"thresholds": {}}})["options"]


def test_fact_composite_null_critical_threshold_is_kept_on_post_and_put(
    monitors_api: MonitorsApi, raw: Any, parsed: Any
) -> None:
    first, second = create_raw(raw)["id"], create_raw(raw, name="other")["id"]
    query = f"( {first} && !{second} ) || ( !{first} && {second} )"
    body = {"type": "composite", "query": query, "name": "c", "options": {"thresholds": {"critical": None}}}
    created = raw.call("POST", "/api/v1/monitor", body).json
    assert created["options"]["thresholds"] == {"critical": None} and created["multi"] is False
    updated = put_raw(raw, created["id"], {"options": {"thresholds": {"critical": None}}})
    assert updated["options"]["thresholds"] == {"critical": None}
    assert parsed(monitors_api.get_monitor(created["id"])).options.thresholds.critical is None


@pytest.mark.parametrize(
    ("query", "scheduling", "stored"),
    [
        ("avg(current_1mo):avg:system.load.5{*} > 0.5",
         {"evaluation_window": {"day_starts": "04:00", "month_starts": 1}}, "query alert"),
        ("avg(current_1h):avg:system.load.5{*} > 0.5",
         {"evaluation_window": {"hour_starts": 0, "timezone": "Europe/Amsterdam"}}, "metric alert"),
        ("avg(last_1h):avg:system.load.5{*} > 0.5",
         {"custom_schedule": {"recurrences": [{"rrule": "FREQ=DAILY;INTERVAL=1", "timezone": "UTC",
                                                "start": "2026-01-01T00:00:00"}]}}, "metric alert"),
    ],
)  # fmt: skip
def test_fact_only_current_1mo_turns_a_metric_alert_into_a_query_alert(
    monitors_api: MonitorsApi, parsed: Any, query: str, scheduling: dict[str, Any], stored: str
) -> None:
    body = Monitor(type="metric alert", query=query, options={"scheduling_options": scheduling})
    assert str(parsed(monitors_api.create_monitor(body=body)).type) == stored
