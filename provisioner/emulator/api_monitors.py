"""Handlers of the monitor endpoints: parse the request, call the store, shape the answer."""

from __future__ import annotations

from typing import Any

from provisioner.emulator.http_types import ApiRequest, ApiResponse, bad_request, encode_json, json_response
from provisioner.emulator.monitor_records import Record, get_view, list_view, put_view
from provisioner.emulator.monitor_search import SearchRequest, search_monitors
from provisioner.emulator.monitors import MonitorFilter, parse_id_list, parse_monitor_id
from provisioner.emulator.org import Org
from provisioner.emulator.params import csv_param, int_param

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
GROUP_STATES = frozenset({"all", "alert", "warn", "no data"})


def list_monitors(org: Org, request: ApiRequest) -> ApiResponse:
    """A bare array; all monitors without ``page``; ``[]`` for a page past the end."""
    group_states = _group_states(request)
    monitor_filter = MonitorFilter(
        name=request.query.get("name") or None,
        scope_tags=csv_param(request.query, "tags"),
        monitor_tags=csv_param(request.query, "monitor_tags"),
        id_offset=int_param(request.query, "id_offset"),
    )
    records = org.monitors.matching(monitor_filter)
    page = int_param(request.query, "page")
    if page is not None:
        size = int_param(request.query, "page_size", minimum=1, maximum=MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
        records = records[page * size : (page + 1) * size]
    if group_states:
        items = [_with_state(org, list_view(record), group_states) for record in records]
        return ApiResponse(200, encode_json(items))
    return ApiResponse(200, org.monitors.encoded_list(records))


def get_monitor(org: Org, request: ApiRequest) -> ApiResponse:
    group_states = _group_states(request)
    record = org.monitors.get(parse_monitor_id(request.path_params["id"]))
    view = get_view(record, request.flag("with_downtimes"))
    return json_response(_with_state(org, view, group_states) if group_states else view)


def _with_state(org: Org, view: Record, group_states: frozenset[str]) -> dict[str, Any]:
    """``state.groups`` with the groups whose status was asked for (every group for ``all``)."""
    with org.lock:
        entry = org.evaluations.get(view["id"])
        groups = entry.api_groups(group_states) if entry is not None else {}
    return {**view, "state": {"groups": groups}}


def create_monitor(org: Org, request: ApiRequest) -> ApiResponse:
    return json_response(org.monitors.create(request.object_body()))


def update_monitor(org: Org, request: ApiRequest) -> ApiResponse:
    monitor_id = parse_monitor_id(request.path_params["id"])
    return json_response(put_view(org.monitors.update(monitor_id, request.object_body())))


def delete_monitor(org: Org, request: ApiRequest) -> ApiResponse:
    monitor_id = parse_monitor_id(request.path_params["id"])
    org.monitors.delete(monitor_id, force=request.flag("force"))
    return json_response({"deleted_monitor_id": monitor_id})


def validate_monitor(org: Org, request: ApiRequest) -> ApiResponse:
    org.monitors.validate(request.object_body())
    return json_response({})


def validate_existing_monitor(org: Org, request: ApiRequest) -> ApiResponse:
    monitor_id = parse_monitor_id(request.path_params["id"])
    org.monitors.validate(request.object_body(), monitor_id)
    return json_response({})


def can_delete(org: Org, request: ApiRequest) -> ApiResponse:
    """409 with ``errors`` as an object keyed by id when a monitor is still referenced."""
    result = org.monitors.can_delete(parse_id_list(request.query.get("monitor_ids", "")))
    body = {"data": {"ok": result.ok}, "errors": result.errors or None}
    return json_response(body, 409 if result.errors else 200)


def search(org: Org, request: ApiRequest) -> ApiResponse:
    search_request = SearchRequest(
        query=request.query.get("query", ""),
        page=int_param(request.query, "page") or 0,
        per_page=int_param(request.query, "per_page", minimum=1) or 30,
        sort=request.query.get("sort") or None,
    )
    return json_response(search_monitors(org.monitors.all_records(), search_request))


def _group_states(request: ApiRequest) -> frozenset[str]:
    """The ``group_states`` asked for (empty when absent); 400 for a value Datadog does not take."""
    raw = request.query.get("group_states")
    if raw is None:
        return frozenset()
    states = frozenset(part.strip() for part in raw.split(","))
    if not states <= GROUP_STATES:
        raise bad_request("Invalid group_state filters.")
    return states
