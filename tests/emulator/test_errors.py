"""Error answers exactly as recorded (datadog-api-facts.md, section c), compared as parsed JSON."""

from __future__ import annotations

import socket
import struct
from typing import Any
from urllib.parse import urlsplit

import pytest
from datadog_api_client.exceptions import ApiException, ForbiddenException, NotFoundException
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.monitor import Monitor

from provisioner.emulator import RunningEmulator
from tests.conftest import TEST_API_KEY, TEST_APP_KEY

INVALID_QUERY = {"errors": ["The value provided for parameter 'query' is invalid"]}
INVALID_LOG_QUERY = {
    "errors": ["The value provided for parameter 'query' is invalid: invalid operator specified: "]
}
THRESHOLD_MISMATCH = {"errors": ["Alert threshold (90.0) does not match that used in the query (200.0)."]}
GOOD = {"type": "metric alert", "query": "avg(last_5m):avg:system.cpu.user{*} > 200", "name": "cpu"}
MISMATCHED = {**GOOD, "options": {"thresholds": {"critical": 90}}}


def existing_monitor(raw: Any) -> int:
    answer = raw.call("POST", "/api/v1/monitor", GOOD)
    assert answer.status == 200
    return answer.json["id"]


def _write(raw: Any, where: str, body: dict[str, Any]) -> Any:
    if where == "create":
        return raw.call("POST", "/api/v1/monitor", body)
    if where == "validate":
        return raw.call("POST", "/api/v1/monitor/validate", body)
    monitor_id = existing_monitor(raw)
    if where == "update":
        return raw.call("PUT", f"/api/v1/monitor/{monitor_id}", body)
    return raw.call("POST", f"/api/v1/monitor/{monitor_id}/validate", body)


WHERE = ["create", "validate", "update", "validate_existing"]


@pytest.mark.parametrize("where", WHERE)
def test_fact_log_alert_query_without_operator_is_400_invalid_operator(raw: Any, where: str) -> None:
    answer = _write(raw, where, {"type": "log alert", "query": "query"})
    assert (answer.status, answer.json) == (400, INVALID_LOG_QUERY)


@pytest.mark.parametrize("where", WHERE)
def test_fact_bad_metric_query_is_400_invalid_query(raw: Any, where: str) -> None:
    answer = _write(raw, where, {"type": "metric alert", "query": "THIS IS A BAD QUERY"})
    assert (answer.status, answer.json) == (400, INVALID_QUERY)


@pytest.mark.parametrize("where", WHERE)
def test_fact_critical_threshold_differing_from_the_query_is_400(raw: Any, where: str) -> None:
    answer = _write(raw, where, MISMATCHED)
    assert (answer.status, answer.json) == (400, THRESHOLD_MISMATCH)


def test_rejected_writes_change_nothing(raw: Any) -> None:
    monitor_id = existing_monitor(raw)
    before = raw.call("GET", f"/api/v1/monitor/{monitor_id}").json
    raw.call("PUT", f"/api/v1/monitor/{monitor_id}", {"query": "nonsense"})
    raw.call("POST", "/api/v1/monitor", {"type": "metric alert", "query": "nonsense"})
    assert raw.call("GET", f"/api/v1/monitor/{monitor_id}").json == before
    assert len(raw.call("GET", "/api/v1/monitor").json) == 1


def test_client_sees_the_query_error_as_api_exception(monitors_api: MonitorsApi) -> None:
    with pytest.raises(ApiException) as caught:
        monitors_api.validate_monitor(body=Monitor(type="metric alert", query="THIS IS A BAD QUERY"))
    assert (caught.value.status, caught.value.body) == (400, INVALID_QUERY)


@pytest.mark.parametrize(
    ("monitor_type", "query"),
    [
        ("metric alert", "query"),
        ("metric alert", "avg(last_5m):avg:system.cpu.user{} > 1"),
        ("metric alert", "avg(last_5m):avg:system.cpu.user{*} >"),
        ("metric alert", "avg(last_5m):unknown_fn(avg:system.cpu.user{*}) > 1"),
        ("service check", "THIS IS A BAD QUERY"),
        ("composite", "123 &&"),
        ("rum alert", "not a query > 5"),
        ("nonsense type", "avg(last_5m):avg:system.cpu.user{*} > 1"),
    ],
)
def test_nonsense_is_rejected_for_every_type(raw: Any, monitor_type: str, query: str) -> None:
    answer = raw.call("POST", "/api/v1/monitor/validate", {"type": monitor_type, "query": query})
    assert answer.status == 400 and answer.json["errors"][0].startswith("The value provided for parameter")


def test_composite_with_unknown_monitor_id_is_400(raw: Any) -> None:
    known = existing_monitor(raw)
    answer = raw.call("POST", "/api/v1/monitor", {"type": "composite", "query": f"{known} && 999999999"})
    assert answer.status == 400 and "999999999" in answer.json["errors"][0]


def test_client_sees_can_delete_409_with_errors_keyed_by_id(monitors_api: MonitorsApi, raw: Any) -> None:
    used = existing_monitor(raw)
    raw.call("POST", "/api/v1/monitor", {"type": "composite", "query": f"{used} || {used}", "name": "c"})
    with pytest.raises(ApiException) as caught:
        monitors_api.check_can_delete_monitor(monitor_ids=[used])
    assert caught.value.status == 409 and list(caught.value.body["errors"]) == [str(used)]


def test_delete_of_a_monitor_used_by_a_composite_needs_force(raw: Any) -> None:
    used = existing_monitor(raw)
    raw.call("POST", "/api/v1/monitor", {"type": "composite", "query": f"{used} && {used}", "name": "c"})
    refused = raw.call("DELETE", f"/api/v1/monitor/{used}")
    assert refused.status == 400 and "is referenced in composite monitors" in refused.json["errors"][0]
    assert raw.call("DELETE", f"/api/v1/monitor/{used}?force=true").status == 200


def test_fact_invalid_group_states_is_400(raw: Any) -> None:
    answer = raw.call("GET", "/api/v1/monitor?group_states=notagroupstate")
    assert (answer.status, answer.json) == (400, {"errors": ["Invalid group_state filters."]})


def test_fact_search_with_invalid_status_is_400(raw: Any) -> None:
    answer = raw.call("GET", "/api/v1/monitor/search?query=status%3Anotastatus")
    expected = {"errors": ["Query parsing error: 'notastatus' is not a valid monitor status"]}
    assert (answer.status, answer.json) == (400, expected)


def test_fact_dashboard_tag_other_than_team_is_400(raw: Any) -> None:
    body = {"title": "t", "layout_type": "ordered", "widgets": [], "tags": ["tm:foobar"]}
    answer = raw.call("POST", "/api/v1/dashboard", body)
    assert (answer.status, answer.json) == (
        400,
        {"errors": ["Invalid tag format. Valid tag keys are: team."]},
    )


def test_fact_dashboard_template_variable_with_default_and_defaults_is_400(raw: Any) -> None:
    variables = [{"name": "host", "default": "a", "defaults": ["b"]}]
    body = {"title": "t", "layout_type": "ordered", "widgets": [], "template_variables": variables}
    answer = raw.call("POST", "/api/v1/dashboard", body)
    assert (answer.status, answer.json) == (400, {"errors": ["'template_variables' is invalid"]})


def test_fact_dashboard_preset_with_empty_values_is_400(raw: Any) -> None:
    presets = [{"name": "p", "template_variables": [{"name": "host", "values": []}]}]
    body = {"title": "t", "layout_type": "ordered", "widgets": [], "template_variable_presets": presets}
    answer = raw.call("POST", "/api/v1/dashboard", body)
    expected = {"errors": ["Minimum number of elements in parameter 'values' should be 1"]}
    assert (answer.status, answer.json) == (400, expected)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_fact_unknown_monitor_is_404_monitor_not_found(raw: Any, method: str) -> None:
    answer = raw.call(method, "/api/v1/monitor/123456789", {"message": "x"} if method == "PUT" else None)
    assert (answer.status, answer.json) == (404, {"errors": ["Monitor not found"]})


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_fact_unknown_dashboard_is_404_with_its_id(raw: Any, method: str) -> None:
    body = {"title": "t", "layout_type": "ordered", "widgets": []} if method == "PUT" else None
    answer = raw.call(method, "/api/v1/dashboard/hai-uhn-87g", body)
    assert (answer.status, answer.json) == (404, {"errors": ["Dashboard with ID hai-uhn-87g not found"]})


def test_fact_errors_are_json_with_reason_phrases(raw: Any) -> None:
    answer = raw.call("GET", "/api/v1/monitor/123456789")
    assert answer.headers["content-type"] == "application/json"


def test_duplicate_create_is_off_by_default(raw: Any) -> None:
    assert raw.call("POST", "/api/v1/monitor", GOOD).status == 200
    assert raw.call("POST", "/api/v1/monitor", GOOD).status == 200


def test_duplicate_create_within_the_window_is_400_when_enabled(emulator: RunningEmulator, raw: Any) -> None:
    emulator.admin.set_duplicate_window(60)
    first = raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
    again = raw.call("POST", "/api/v1/monitor", GOOD)
    assert (again.status, again.json) == (400, {"errors": [f"Duplicate of an existing monitor_id:{first}"]})
    assert raw.call("POST", "/api/v1/monitor", {**GOOD, "name": "different"}).status == 200


def test_duplicate_window_zero_lets_the_repeat_through(emulator: RunningEmulator, raw: Any) -> None:
    emulator.admin.set_duplicate_window(0)
    raw.call("POST", "/api/v1/monitor", GOOD)
    assert raw.call("POST", "/api/v1/monitor", GOOD).status == 200


# -- keys ---------------------------------------------------------------------------------------------


def test_fact_validate_without_api_key_is_403_api_key_required(raw: Any) -> None:
    answer = raw.call("GET", "/api/v1/validate", headers={"DD-API-KEY": None})
    assert (answer.status, answer.json) == (403, {"errors": ["API key required"]})


def test_validate_with_api_key_only_is_valid(auth_api: AuthenticationApi, raw: Any, parsed: Any) -> None:
    assert parsed(auth_api.validate()).valid is True
    assert raw.call("GET", "/api/v1/validate", headers={"DD-APPLICATION-KEY": None}).json == {"valid": True}


@pytest.mark.parametrize(
    "headers",
    [
        {"DD-API-KEY": None},
        {"DD-APPLICATION-KEY": None},
        {"DD-API-KEY": "wrong"},
        {"DD-APPLICATION-KEY": "wrong"},
    ],
)
def test_missing_or_wrong_key_is_403_forbidden(raw: Any, headers: dict[str, Any]) -> None:
    answer = raw.call("GET", "/api/v1/monitor", headers=headers)
    assert (answer.status, answer.json) == (403, {"errors": ["Forbidden"]})


def test_client_sees_forbidden_exception(emulator: RunningEmulator) -> None:
    from datadog_api_client import ApiClient, Configuration

    configuration = Configuration(host=emulator.base_url)
    configuration.api_key["apiKeyAuth"] = "not-accepted"
    configuration.api_key["appKeyAuth"] = "not-accepted"
    with ApiClient(configuration) as client, pytest.raises(ForbiddenException):
        MonitorsApi(client).list_monitors()


def test_empty_key_config_accepts_any_non_empty_key() -> None:
    from provisioner.emulator import EmulatorConfig, start_emulator

    with start_emulator(EmulatorConfig(rate_limits=False)) as running:
        from datadog_api_client import ApiClient, Configuration

        configuration = Configuration(host=running.base_url)
        configuration.api_key["apiKeyAuth"] = "whatever"
        configuration.api_key["appKeyAuth"] = "anything"
        with ApiClient(configuration) as client:
            assert MonitorsApi(client).list_monitors() == []
            with pytest.raises(NotFoundException):
                MonitorsApi(client).get_monitor(1)


def test_request_log_never_holds_a_key(emulator: RunningEmulator, raw: Any) -> None:
    raw.call("GET", "/api/v1/monitor?api_key=secret-in-query&application_key=other-secret")
    raw.call("GET", "/api/v1/monitor", headers={"DD-API-KEY": "a-wrong-key-value"})
    dumped = repr([entry.to_dict() for entry in emulator.admin.request_log()])
    for secret in (*raw.keys.values(), "secret-in-query", "other-secret", "a-wrong-key-value"):
        assert secret not in dumped
    assert "api_key=REDACTED" in dumped


def test_a_client_that_hangs_up_before_its_answer_is_not_a_server_error(
    emulator: RunningEmulator, raw: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    """A client's deadline or Ctrl-C resets the connection before the answer is written: the server
    carries on quietly (no traceback on its stderr) and keeps serving."""
    address = urlsplit(emulator.base_url)
    request = (
        f"POST /api/v1/monitor/validate HTTP/1.1\r\nHost: x\r\nDD-API-KEY: {TEST_API_KEY}\r\n"
        f"DD-APPLICATION-KEY: {TEST_APP_KEY}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    ).encode()
    for _ in range(20):
        client = socket.create_connection((address.hostname, address.port))
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(request)
        client.close()  # linger 0: a TCP reset, as a killed client sends
    assert raw.call("POST", "/api/v1/monitor", GOOD).status == 200
    assert "Traceback" not in capfd.readouterr().err
