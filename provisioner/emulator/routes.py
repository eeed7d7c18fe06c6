"""The API route table: method, path template, handler, rate-limit bucket and key requirement."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from provisioner.emulator import api_dashboards as dashboards
from provisioner.emulator import api_keys as keys
from provisioner.emulator import api_metrics as metrics
from provisioner.emulator import api_monitors as monitors
from provisioner.emulator.auth import AuthRequirement
from provisioner.emulator.encoding import DEFAULT_BODY_LIMITS, V1_SERIES_LIMITS, V2_SERIES_LIMITS, BodyLimits
from provisioner.emulator.http_types import ApiRequest, ApiResponse
from provisioner.emulator.org import Org

Handler = Callable[[Org, ApiRequest], ApiResponse]
UNMATCHED = "<unmatched>"


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    bucket: str | None = None
    auth: AuthRequirement = AuthRequirement.API_AND_APP_KEY
    body_limits: BodyLimits = DEFAULT_BODY_LIMITS
    pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(f"{regex}$"))

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.template}"


# Fixed paths before the {id} templates they would otherwise match.
ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v1/validate", dashboards.validate_api_key, auth=AuthRequirement.API_KEY),
    Route("GET", "/api/v1/monitor", monitors.list_monitors, "get_all_monitors"),
    Route("POST", "/api/v1/monitor", monitors.create_monitor, "post_monitors"),
    Route("GET", "/api/v1/monitor/can_delete", monitors.can_delete, "can_delete"),
    Route("GET", "/api/v1/monitor/search", monitors.search, "search_monitors"),
    Route("POST", "/api/v1/monitor/validate", monitors.validate_monitor),
    Route("GET", "/api/v1/monitor/{id}", monitors.get_monitor, "get_monitors"),
    Route("PUT", "/api/v1/monitor/{id}", monitors.update_monitor, "put_monitors"),
    Route("DELETE", "/api/v1/monitor/{id}", monitors.delete_monitor),
    Route("POST", "/api/v1/monitor/{id}/validate", monitors.validate_existing_monitor),
    Route("GET", "/api/v1/dashboard", dashboards.list_dashboards, "get_all_dashboards"),
    Route("POST", "/api/v1/dashboard", dashboards.create_dashboard, "post_dashboards"),
    Route("GET", "/api/v1/dashboard/{id}", dashboards.get_dashboard, "get_dashboards"),
    Route("PUT", "/api/v1/dashboard/{id}", dashboards.update_dashboard, "put_dashboards"),
    Route("DELETE", "/api/v1/dashboard/{id}", dashboards.delete_dashboard),
    # Submission is never rate limited (documented); it needs the API key only.
    Route(
        "POST", "/api/v2/series", metrics.submit_series_v2, None, AuthRequirement.API_KEY, V2_SERIES_LIMITS
    ),
    Route(
        "POST", "/api/v1/series", metrics.submit_series_v1, None, AuthRequirement.API_KEY, V1_SERIES_LIMITS
    ),
    Route(
        "POST",
        "/api/v1/distribution_points",
        metrics.submit_distribution_points,
        None,
        AuthRequirement.API_KEY,
        V1_SERIES_LIMITS,
    ),
    Route("GET", "/api/v1/query", metrics.query_metrics, "query_metrics"),
    Route("GET", "/api/v1/metrics", metrics.list_active_metrics, "list_active_metrics"),
    Route("GET", "/api/v1/metrics/{metric_name}", metrics.get_metric_metadata, "get_metric_metadata"),
    Route(
        "GET",
        "/api/v2/metrics/{metric_name}/all-tags",
        metrics.list_tags_by_metric_name,
        "list_tags_by_metric_name",
    ),
    Route("GET", "/api/v2/current_user/application_keys", keys.list_current_user_application_keys),
)


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_params: Mapping[str, str]


def resolve(method: str, path: str) -> RouteMatch | None:
    path = path.rstrip("/") or "/"
    for route in ROUTES:
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found is not None:
            return RouteMatch(route, found.groupdict())
    return None
