"""Handlers of the metric endpoints: series submission (v1 and v2), distribution points, the read side.

Choices where nothing was recorded (see docs/emulator.md):
- points outside [now - 1 h, now + 10 min] of the emulator's clock are answered 202 and dropped, as the 2014
  API did; ``accept_any_timestamp`` (``PUT /_emulator/settings``) keeps them, for backfilled test data;
- ``GET /api/v2/metrics/{name}/all-tags`` answers 404 for a metric never submitted (or whose points all
  expired), and 400 for ``window[seconds]`` below its documented minimum of 14400;
- ``GET /api/v1/metrics/{name}`` answers ``type`` null for a metric submitted without a type;
- ``GET /api/v1/query`` (a debugging aid) picks the smallest interval that gives at most 300 points (the two
  recorded ranges: 20 minutes at 5 s, a day at 300 s), rolls buckets up by ``avg`` unless the query says
  otherwise, and answers 400 for what the evaluator does not compute; a grouped response was never recorded,
  so each group is one series with its tags in ``scope`` and ``tag_set``.
"""

from __future__ import annotations

from typing import Any

from provisioner.emulator.evaluation.query import Unevaluable, Vector, Window, evaluate_series, metric_terms
from provisioner.emulator.http_types import ApiRequest, ApiResponse, bad_request, json_response, not_found
from provisioner.emulator.metric_query import QuerySyntaxError, parse_metric_expression
from provisioner.emulator.org import Org
from provisioner.emulator.params import int_param
from provisioner.emulator.scope import ScopeError
from provisioner.emulator.series_intake import read_distribution_submission, read_submission

ALL_TAGS_WINDOW_S = 14_400
V1_CONTENT_TYPE = "text/json"
METRIC_NOT_FOUND = "Metric not found"
QUERY_INTERVALS_S = (1, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 28_800, 86_400)
MAX_QUERY_POINTS = 300


def submit_series_v2(org: Org, request: ApiRequest) -> ApiResponse:
    _store(org, request, version=2)
    return json_response({"errors": []}, 202)


def submit_series_v1(org: Org, request: ApiRequest) -> ApiResponse:
    _store(org, request, version=1)
    return _v1_accepted()


def submit_distribution_points(org: Org, request: ApiRequest) -> ApiResponse:
    """``POST /api/v1/distribution_points``: answered like the v1 series intake."""
    submitted = read_distribution_submission(request.json_body())
    if submitted:
        org.submit_series(submitted)
    return _v1_accepted()


def _v1_accepted() -> ApiResponse:
    response = json_response({"status": "ok"}, 202)
    return ApiResponse(response.status, response.body, V1_CONTENT_TYPE)


def _store(org: Org, request: ApiRequest, version: int) -> None:
    submitted = read_submission(request.json_body(), version)
    if submitted:
        org.submit_series(submitted)


def list_active_metrics(org: Org, request: ApiRequest) -> ApiResponse:
    """``{"from": "<string>", "metrics": [...]}``: metrics with a point at or after ``from``."""
    since = int_param(request.query, "from")
    if since is None:
        raise bad_request("The value provided for parameter 'from' is invalid")
    host = request.query.get("host") or None
    tag_filter = request.query.get("tag_filter") or None
    if host is not None and tag_filter is not None:
        raise bad_request("tag_filter cannot be combined with other filters")
    try:
        with org.lock:
            names = org.metrics.active_metrics(since, host, tag_filter)
    except ScopeError as exc:
        raise bad_request(f"The value provided for parameter 'tag_filter' is invalid: {exc}") from None
    return json_response({"from": str(since), "metrics": names})


def get_metric_metadata(org: Org, request: ApiRequest) -> ApiResponse:
    with org.lock:
        metric = org.metrics.metric(request.path_params["metric_name"])
        if metric is None:
            raise not_found(METRIC_NOT_FOUND)
        return json_response(
            {
                "description": None,
                "short_name": None,
                "integration": None,
                "statsd_interval": None,
                "per_unit": None,
                "type": None if metric.metric_type == "unspecified" else metric.metric_type,
                "unit": metric.unit,
            }
        )


def list_tags_by_metric_name(org: Org, request: ApiRequest) -> ApiResponse:
    """The tags of the sources that reported within ``window[seconds]`` (default and minimum 4 h)."""
    name = request.path_params["metric_name"]
    window = int_param(request.query, "window[seconds]")
    if window is not None and window < ALL_TAGS_WINDOW_S:
        raise bad_request(f"window[seconds] must be at least {ALL_TAGS_WINDOW_S}")
    required = frozenset(
        tag.strip() for tag in request.query.get("filter[tags]", "").split(",") if tag.strip()
    )
    limit = int_param(request.query, "page[limit]", minimum=1, maximum=1_000_000)
    with org.lock:
        if org.metrics.metric(name) is None:
            raise not_found(METRIC_NOT_FOUND)
        since = int(org.clock.now_s()) - (window or ALL_TAGS_WINDOW_S)
        tags = org.metrics.tags_since(name, since, required)
    tags = _shaped_tags(tags, request)
    return json_response({"data": {"type": "metrics", "id": name, "attributes": {"tags": tags[:limit]}}})


def _shaped_tags(tags: list[str], request: ApiRequest) -> list[str]:
    """``filter[match]`` (a substring) and ``filter[include_tag_values]=false`` (keys only)."""
    match = request.query.get("filter[match]")
    if match:
        tags = [tag for tag in tags if match in tag]
    if request.query.get("filter[include_tag_values]", "true").lower() == "false":
        tags = sorted({tag.partition(":")[0] for tag in tags})
    return tags


def query_metrics(org: Org, request: ApiRequest) -> ApiResponse:
    """``GET /api/v1/query?from=&to=&query=``: the points the emulator holds, one series per group."""
    start_s, end_s = int_param(request.query, "from"), int_param(request.query, "to")
    text = request.query.get("query", "")
    for name, value in (("from", start_s), ("to", end_s), ("query", text or None)):
        if value is None:
            raise bad_request(f"The value provided for parameter '{name}' is invalid")
    assert start_s is not None and end_s is not None
    if end_s < start_s:
        raise bad_request("The value provided for parameter 'to' is invalid")
    try:
        expression = parse_metric_expression(text)
    except QuerySyntaxError:
        raise bad_request("The value provided for parameter 'query' is invalid") from None
    interval = next(
        (i for i in QUERY_INTERVALS_S if (end_s - start_s) / i <= MAX_QUERY_POINTS), QUERY_INTERVALS_S[-1]
    )
    window = Window(start_s // interval * interval, end_s + 1, interval, interval)
    try:
        with org.lock:
            grouping, groups = evaluate_series(expression, org.metrics, window)
    except Unevaluable as exc:
        raise bad_request(f"The emulator does not evaluate this query: {exc.reason}") from None
    first = next(iter(metric_terms(expression)))
    series = [
        _query_series(text, first.metric, first.space_aggregator, first.scope, key, vector, window)
        for key, vector in sorted(groups.items())
        if any(value is not None for value in vector)
    ]
    body = {
        "status": "ok", "res_type": "time_series", "resp_version": 1, "query": text,
        "from_date": start_s * 1000, "to_date": end_s * 1000, "group_by": list(grouping), "message": "",
        "times": [], "values": [], "series": series,
    }  # fmt: skip
    return json_response(body)


def _query_series(
    text: str,
    metric: str,
    aggregator: str | None,
    scope: str,
    key: tuple[str, ...],
    vector: Vector,
    window: Window,
) -> dict[str, Any]:
    step = window.bucket_s
    points = [
        [(window.start + index * step) * 1000.0, value]
        for index, value in enumerate(vector)
        if value is not None
    ]
    return {
        "metric": metric, "display_name": metric, "expression": text, "scope": ",".join(key) or scope,
        "tag_set": list(key), "aggr": aggregator, "pointlist": points, "start": int(points[0][0]),
        "end": int(points[-1][0]) + (step - 1) * 1000, "interval": step, "length": len(points), "query_index": 0,
        "unit": None, "attributes": {},
    }  # fmt: skip
