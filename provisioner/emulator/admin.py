"""The admin endpoint, outside ``/api/``: faults, request log, counts, settings, wipe.

GET    /_emulator/health     -> {"ok": true, "monitors": N, "dashboards": N}
GET    /_emulator/faults     -> the current fault config
PUT    /_emulator/faults     <- a fault config (see faults.py); replaces every rule
DELETE /_emulator/faults     -> no faults
GET    /_emulator/requests   -> {"requests": [entry, ...]}  (no keys, query redacted)
DELETE /_emulator/requests   -> empties the log and the counts
GET    /_emulator/counts     -> {"counts": {"GET /api/v1/monitor": N, ...}}
GET    /_emulator/settings   -> {"duplicate_window_s": ..., "accept_any_timestamp": false}
PUT    /_emulator/settings   <- either or both keys (duplicate_window_s: seconds or null)
POST   /_emulator/wipe       -> deletes every monitor, dashboard, metric point and evaluation state
POST   /_emulator/flush      -> folds the journal into the state file now (when --state is set)
GET    /_emulator/clock      -> {"now": epoch s, "iso": ..., "mode": "manual"|"realtime", "last_evaluated": epoch s}
POST   /_emulator/clock      <- {"now": epoch s} or {"advance_s": N} (manual mode); evaluates every minute
                                boundary passed before answering -> the clock, plus "evaluated_minutes"
GET    /_emulator/unevaluated -> {"monitors": [{"id", "name", "type", "query", "reason"}, ...]}
GET    /_emulator/evaluations[?monitor_id=ID][&limit=N]
                             -> {"monitors": [{"id", "name", "overall_state", "last": {group: evaluation},
                                "history": [evaluation, ...]}]}  (newest last; see evaluation/book.py)
GET    /_emulator/metrics    -> the metric store's size, drops and limits
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from provisioner.emulator.app import EmulatorApp
from provisioner.emulator.clock import ClockError, iso_seconds
from provisioner.emulator.faults import FaultConfigError, fault_config_from_dict, fault_config_to_dict
from provisioner.emulator.http_types import (
    ApiError,
    ApiRequest,
    ApiResponse,
    bad_request,
    error_response,
    json_response,
)

ADMIN_PREFIX = "/_emulator"
AdminHandler = Callable[[EmulatorApp, ApiRequest], ApiResponse]


def _health(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    return json_response(
        {"ok": True, "monitors": app.org.monitors.count(), "dashboards": app.org.dashboards.count()}
    )


def _get_faults(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    return json_response(fault_config_to_dict(app.faults.current()))


def _put_faults(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    try:
        config = fault_config_from_dict(request.json_body())
    except FaultConfigError as exc:
        raise bad_request(str(exc)) from None
    app.faults.configure(config)
    return json_response(fault_config_to_dict(config))


def _clear_faults(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    app.faults.configure(None)
    return json_response({})


def _requests(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    return json_response({"requests": [entry.to_dict() for entry in app.log.entries()]})


def _reset_log(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    app.log.reset()
    return json_response({})


def _counts(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    return json_response({"counts": app.log.counts()})


def _get_settings(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    return json_response(
        {
            "duplicate_window_s": app.org.monitors.duplicate_window_s,
            "accept_any_timestamp": app.org.intake.accept_any_timestamp,
        }
    )


def _put_settings(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    body = request.object_body()
    if "duplicate_window_s" in body:
        window = body["duplicate_window_s"]
        if window is not None and (
            isinstance(window, bool) or not isinstance(window, int | float) or window < 0
        ):
            raise bad_request("duplicate_window_s must be a number of seconds (0 or more) or null")
        app.org.monitors.duplicate_window_s = None if window is None else float(window)
    if "accept_any_timestamp" in body:
        if not isinstance(body["accept_any_timestamp"], bool):
            raise bad_request("accept_any_timestamp must be true or false")
        app.org.intake.accept_any_timestamp = body["accept_any_timestamp"]
    return _get_settings(app, request)


def _wipe(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    app.org.wipe()
    return json_response({})


def _flush(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    if app.state_writer is not None:
        app.state_writer.flush()
    return json_response(
        {"state_file": None if app.config.state_path is None else str(app.config.state_path)}
    )


def _clock_view(app: EmulatorApp) -> dict[str, Any]:
    now = app.clock.now_s()
    last = app.evaluator.last_boundary
    return {"now": now, "iso": iso_seconds(now), "mode": app.clock.mode, "last_evaluated": last}


def _get_clock(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    return json_response(_clock_view(app))


def _move_clock(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    body = request.object_body()
    now, advance = body.get("now"), body.get("advance_s")
    if (now is None) == (advance is None) or any(
        isinstance(value, bool) or (value is not None and not isinstance(value, int | float))
        for value in (now, advance)
    ):
        raise bad_request('send {"now": <epoch seconds>} or {"advance_s": <seconds>}')
    try:
        evaluated = app.evaluator.move_clock(now, advance)
    except ClockError as exc:
        raise bad_request(str(exc)) from None
    return json_response({**_clock_view(app), "evaluated_minutes": evaluated})


def _unevaluated(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    return json_response({"monitors": app.evaluator.unevaluated()})


def _evaluations(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    wanted = request.query.get("monitor_id")
    if wanted is not None and not wanted.isdigit():
        raise bad_request("monitor_id must be a monitor id")
    limit = request.query.get("limit", "")
    history_limit = int(limit) if limit.isdigit() else None
    org = app.org
    with org.lock:
        records = org.monitors.all_records()
        if wanted is not None:
            records = [record for record in records if record["id"] == int(wanted)]
        listed = []
        for record in records:
            entry = org.evaluations.get(record["id"])
            history = list(entry.history) if entry else []
            if history_limit is not None:
                history = history[-history_limit:] if history_limit else []
            listed.append(
                {
                    "id": record["id"],
                    "name": record["name"],
                    "overall_state": record["overall_state"],
                    "last": {name: item.to_dict() for name, item in (entry.last.items() if entry else ())},
                    "history": [item.to_dict() for item in history],
                }
            )
    return json_response({"monitors": listed})


def _metric_stats(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    with app.org.lock:
        return json_response(app.org.metrics.stats())


def _seed_monitors(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    bodies = request.json_body()
    if not isinstance(bodies, list) or not all(isinstance(body, dict) for body in bodies):
        raise bad_request("expected a JSON array of monitor bodies")
    with app.org.transaction():  # one journal append and one fsync for the batch
        ids = [app.org.monitors.create(body)["id"] for body in bodies]
    return json_response({"ids": ids})


ADMIN_ROUTES: dict[tuple[str, str], AdminHandler] = {
    ("GET", "/health"): _health,
    ("GET", "/faults"): _get_faults,
    ("PUT", "/faults"): _put_faults,
    ("DELETE", "/faults"): _clear_faults,
    ("GET", "/requests"): _requests,
    ("DELETE", "/requests"): _reset_log,
    ("GET", "/counts"): _counts,
    ("GET", "/settings"): _get_settings,
    ("PUT", "/settings"): _put_settings,
    ("POST", "/wipe"): _wipe,
    ("POST", "/flush"): _flush,
    ("POST", "/seed/monitors"): _seed_monitors,
    ("GET", "/clock"): _get_clock,
    ("POST", "/clock"): _move_clock,
    ("GET", "/unevaluated"): _unevaluated,
    ("GET", "/evaluations"): _evaluations,
    ("GET", "/metrics"): _metric_stats,
}


def handle_admin(app: EmulatorApp, method: str, path: str, query: str, body: bytes) -> ApiResponse:
    sub_path = path[len(ADMIN_PREFIX) :].rstrip("/")
    handler = ADMIN_ROUTES.get((method, sub_path))
    if handler is None:
        return error_response(ApiError(404, {"errors": [f"No admin endpoint {method} {path}"]}))
    request = ApiRequest(method, path, path, {}, dict(parse_qsl(query, keep_blank_values=True)), {}, body)
    try:
        app.org.refresh()  # see what other processes sharing the state file wrote
        return handler(app, request)
    except ApiError as error:
        return error_response(error)
