"""Handlers of the dashboard endpoints and of ``GET /api/v1/validate``."""

from __future__ import annotations

from provisioner.emulator.dashboard_rules import summary_view
from provisioner.emulator.http_types import ApiRequest, ApiResponse, json_response
from provisioner.emulator.org import Org
from provisioner.emulator.params import int_param

DEFAULT_COUNT = 100


def list_dashboards(org: Org, request: ApiRequest) -> ApiResponse:
    """Summaries without widgets; ``count``/``start`` paging. Deleted or shared dashboards: none kept."""
    if request.flag("filter[deleted]") or request.flag("filter[shared]"):
        return json_response({"dashboards": []})
    count = int_param(request.query, "count")
    start = int_param(request.query, "start") or 0
    records = org.dashboards.page(start, DEFAULT_COUNT if count is None else count)
    return json_response({"dashboards": [summary_view(record) for record in records]})


def get_dashboard(org: Org, request: ApiRequest) -> ApiResponse:
    return json_response(org.dashboards.get(request.path_params["id"]))


def create_dashboard(org: Org, request: ApiRequest) -> ApiResponse:
    return json_response(org.dashboards.create(request.object_body()))


def update_dashboard(org: Org, request: ApiRequest) -> ApiResponse:
    return json_response(org.dashboards.update(request.path_params["id"], request.object_body()))


def delete_dashboard(org: Org, request: ApiRequest) -> ApiResponse:
    dashboard_id = request.path_params["id"]
    org.dashboards.delete(dashboard_id)
    return json_response({"deleted_dashboard_id": dashboard_id})


def validate_api_key(org: Org, request: ApiRequest) -> ApiResponse:
    return json_response({"valid": True})
