"""The admin endpoint, outside ``/api/``: faults, request log, counts, settings, wipe.

GET    /_emulator/health     -> {"ok": true, "monitors": N, "dashboards": N}
GET    /_emulator/faults     -> the current fault config
PUT    /_emulator/faults     <- a fault config (see faults.py); replaces every rule
DELETE /_emulator/faults     -> no faults
GET    /_emulator/requests   -> {"requests": [entry, ...]}  (no keys, query redacted)
DELETE /_emulator/requests   -> empties the log and the counts
GET    /_emulator/counts     -> {"counts": {"GET /api/v1/monitor": N, ...}}
GET    /_emulator/settings   -> {"duplicate_window_s": ...}
PUT    /_emulator/settings   <- {"duplicate_window_s": seconds or null}
POST   /_emulator/wipe       -> deletes every monitor and dashboard
POST   /_emulator/flush      -> folds the journal into the state file now (when --state is set)
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner.emulator.app import EmulatorApp
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
    return json_response({"duplicate_window_s": app.org.monitors.duplicate_window_s})


def _put_settings(app: EmulatorApp, request: ApiRequest) -> ApiResponse:
    body = request.object_body()
    window = body.get("duplicate_window_s")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int | float) or window < 0):
        raise bad_request("duplicate_window_s must be a number of seconds (0 or more) or null")
    app.org.monitors.duplicate_window_s = None if window is None else float(window)
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
}


def handle_admin(app: EmulatorApp, method: str, path: str, body: bytes) -> ApiResponse:
    sub_path = path[len(ADMIN_PREFIX) :].rstrip("/")
    handler = ADMIN_ROUTES.get((method, sub_path))
    if handler is None:
        return error_response(ApiError(404, {"errors": [f"No admin endpoint {method} {path}"]}))
    request = ApiRequest(method, path, path, {}, {}, {}, body)
    try:
        return handler(app, request)
    except ApiError as error:
        return error_response(error)
