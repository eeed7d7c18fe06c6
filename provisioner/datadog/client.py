"""The Datadog adapter: the only module that imports ``datadog_api_client``.

Requests go through the official client (its configuration, auth headers, host selection,
urllib3 pool and retry hook), but with ``preload_content`` off: we read the JSON ourselves.
That keeps every field the server returns verbatim (fields the client's models do not know
would be hidden or reshaped) and lists thousands of monitors without building a model object
per field, which is what keeps a plan over 5,000 monitors within its time budget.

Retries: 429 is retried for every method after ``x-ratelimit-reset`` seconds; 5xx and dropped
connections only for GET, PUT and DELETE. A POST that fails that way may still have been stored
(the client's own retry would then create a duplicate), so it surfaces as a ``DatadogError``
with ``maybe_applied`` set and the sync engine looks the resource up before it tries again.
All waits of one client share a budget, so a storm of 429s cannot stall a pipeline forever.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.rest import ClientRetry, RESTClientObject
from datadog_api_client.v1.api.dashboards_api import DashboardsApi
from datadog_api_client.v1.api.metrics_api import MetricsApi as MetricsApiV1
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v2.api.key_management_api import KeyManagementApi
from datadog_api_client.v2.api.metrics_api import MetricsApi

from provisioner.credentials import Target, redact
from provisioner.errors import DatadogError
from provisioner.model import Json, JsonObject, LiveResource

DASHBOARD_PAGE_SIZE = 100
_RETRYABLE_5XX = frozenset({408, 500, 502, 503, 504, 507, 509, 510, 511, 512})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_MONITOR_PUT_CLEARS: JsonObject = {"message": "", "tags": [], "priority": None, "restricted_roles": None, "options": {}}


@dataclass(frozen=True)
class ClientSettings:
    concurrency: int = 8
    max_retries: int = 6
    max_total_wait_s: float = 120.0  # all retry waits of one run together
    backoff_factor: float = 0.5
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0


class _WaitBudget:
    def __init__(self, seconds: float) -> None:
        self._left = seconds
        self._lock = threading.Lock()

    def take(self, wanted: float) -> float:
        with self._lock:
            granted = max(0.0, min(wanted, self._left))
            self._left -= granted
            return granted

    @property
    def exhausted(self) -> bool:
        return self._left <= 0


@dataclass(frozen=True)
class ApplicationKeyAccess:
    """What Datadog tells about the application key in use. ``known`` is False when it does not tell:
    listing its user's keys needs the ``user_app_keys`` permission (a key scoped without it gets 403),
    and the key is found only by its last four characters."""

    known: bool
    scopes: tuple[str, ...] | None = None  # None: unscoped, every permission of the key's owner

    @property
    def can_write(self) -> bool:
        return self.known and (self.scopes is None or bool(self.write_scopes))

    @property
    def write_scopes(self) -> tuple[str, ...]:
        return tuple(scope for scope in self.scopes or () if scope.endswith("_write"))


class _BoundedRetry(ClientRetry):
    """The client's retry (``x-ratelimit-reset`` on 429), made safe for creates and bounded in time."""

    budget: _WaitBudget = _WaitBudget(0)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if not self.total or self.budget.exhausted:
            return False
        if status_code == 429:
            return True
        return method in _IDEMPOTENT and status_code in _RETRYABLE_5XX

    def _is_method_retryable(self, method: str) -> bool:
        return method in _IDEMPOTENT  # connection dropped mid-request: never re-send a POST blindly

    def get_retry_after(self, response: Any) -> float | None:
        if response.status != 429:
            return None  # a 5xx waits the backoff, not the rate-limit period
        header = response.headers.get("X-Ratelimit-Reset")
        return None if header is None else max(0.2, self.parse_retry_after(header))

    def sleep(self, response: Any = None) -> None:
        wanted = (self.get_retry_after(response) if response is not None else None) or self.get_backoff_time()
        granted = self.budget.take(wanted)
        if granted:
            time.sleep(granted)


def _retry_policy(settings: ClientSettings) -> ClientRetry:
    bounded = type("BoundedRetry", (_BoundedRetry,), {"budget": _WaitBudget(settings.max_total_wait_s)})
    return bounded(
        total=settings.max_retries,
        backoff_factor=settings.backoff_factor,
        backoff_max=10,
        raise_on_status=False,
    )


class _PooledApiClient(ApiClient):
    """An ApiClient whose urllib3 pool keeps a connection per worker; the plain one keeps 4, so with
    8 workers every other request would open a new connection (the client's ThreadedApiClient does
    the same through this hook)."""

    def __init__(self, configuration: Configuration, maxsize: int) -> None:
        self._maxsize = maxsize
        super().__init__(configuration)

    def _build_rest_client(self) -> RESTClientObject:
        return RESTClientObject(self.configuration, maxsize=self._maxsize)


class DatadogClient:
    """Implements ``DatadogPort`` over HTTP through ``datadog-api-client``."""

    def __init__(self, target: Target, settings: ClientSettings | None = None) -> None:
        self._target = target
        self._settings = settings or ClientSettings()
        config = Configuration(host=target.api_url)
        config.api_key["apiKeyAuth"] = target.api_key
        config.api_key["appKeyAuth"] = target.app_key
        config.preload_content = False
        config.check_input_type = False
        config.retry_policy = _retry_policy(self._settings)
        config.request_timeout = (self._settings.connect_timeout_s, self._settings.read_timeout_s)
        self._api_client = _PooledApiClient(config, max(self._settings.concurrency, 4))
        self._monitors = MonitorsApi(self._api_client)
        self._dashboards = DashboardsApi(self._api_client)
        self._keys = KeyManagementApi(self._api_client)
        self._metrics_v1 = MetricsApiV1(self._api_client)
        self._metrics = MetricsApi(self._api_client)
        self._count_lock = threading.Lock()
        self.request_count = 0

    def close(self) -> None:
        self._api_client.close()

    def __enter__(self) -> DatadogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- monitors ---------------------------------------------------------------------------

    def list_monitors(self, monitor_tags: Sequence[str] = ()) -> list[LiveResource]:
        """Every monitor in one request: without ``page`` the API returns the whole org (kennel does
        the same), so a plan costs one call whatever the org's size, not one per 1,000 monitors."""
        extra = {"monitor_tags": ",".join(monitor_tags)} if monitor_tags else {}
        bodies = self._call("GET", self._monitors.list_monitors, **extra)
        return [_monitor(body) for body in bodies]

    def get_monitor(self, datadog_id: int) -> LiveResource:
        return _monitor(self._call("GET", self._monitors.get_monitor, datadog_id))

    def create_monitor(self, body: JsonObject) -> LiveResource:
        return _monitor(self._call("POST", self._monitors.create_monitor, dict(body)))

    def update_monitor(self, datadog_id: int, body: JsonObject) -> LiveResource:
        """A full replacement. Datadog's PUT keeps top-level fields the body leaves out (only
        ``options`` is replaced whole), so fields the definition does not set are sent as empty."""
        replacement = {**_MONITOR_PUT_CLEARS, **body}
        return _monitor(self._call("PUT", self._monitors.update_monitor, datadog_id, replacement))

    def delete_monitor(self, datadog_id: int) -> None:
        self._call("DELETE", self._monitors.delete_monitor, datadog_id)

    def validate_monitor(self, body: JsonObject, datadog_id: int | None = None) -> None:
        """An update is validated as the full replacement ``update_monitor`` sends."""
        if datadog_id is None:
            self._call("POST", self._monitors.validate_monitor, dict(body))
            return
        replacement = {**_MONITOR_PUT_CLEARS, **body}
        self._call("POST", self._monitors.validate_existing_monitor, datadog_id, replacement)

    def list_monitor_states(self) -> list[LiveResource]:
        """Every monitor with its evaluation state: ``state.groups`` (``group_states=all``), each group's
        status and transition times, besides ``overall_state``."""
        bodies = self._call("GET", self._monitors.list_monitors, group_states="all")
        return [_monitor(body) for body in bodies]

    def monitors_blocking_delete(self, datadog_ids: Sequence[int]) -> dict[int, str]:
        if not datadog_ids:
            return {}
        try:
            self._call("GET", self._monitors.check_can_delete_monitor, list(datadog_ids))
        except DatadogError as exc:
            if exc.status == 409 and isinstance(exc.details, dict):
                return {int(k): "; ".join(map(str, v)) for k, v in exc.details.items()}
            raise
        return {}

    # --- metrics ----------------------------------------------------------------------------

    def submit_series(self, series: Sequence[JsonObject]) -> None:
        """``POST /api/v2/series``: ``[{"metric", "type", "points": [{"timestamp", "value"}], "tags",
        "resources", "interval"}]`` (``provisioner test`` and the emulator's demo data send metrics)."""
        self._call("POST", self._metrics.submit_metrics, {"series": list(series)})

    def active_metrics(self, since_s: int) -> frozenset[str]:
        """The metrics with a point since ``since_s`` (epoch s), the whole org in one request:
        ``GET /api/v1/metrics?from=``."""
        body = self._call("GET", self._metrics_v1.list_active_metrics, since_s)
        names = body.get("metrics") if isinstance(body, dict) else None
        return frozenset(str(name) for name in names or ())

    def metric_tag_keys(self, metric: str, window_s: int) -> frozenset[str] | None:
        """The tag keys of a metric's series that reported within ``window_s`` (Datadog's minimum is
        14,400), keys only: ``GET /api/v2/metrics/{name}/all-tags``. None when Datadog knows no such
        metric."""
        try:
            body = self._call(
                "GET",
                self._metrics.list_tags_by_metric_name,
                metric,
                window_seconds=window_s,
                filter_include_tag_values=False,
            )
        except DatadogError as exc:
            if exc.status == 404:
                return None
            raise
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        tags = attributes.get("tags") if isinstance(attributes, dict) else None
        return frozenset(str(tag).partition(":")[0] for tag in tags or ())

    def metric_type(self, metric: str) -> str | None:
        """The type Datadog's metadata gives a metric (``count``, ``gauge``, ``rate``, ``distribution``):
        ``GET /api/v1/metrics/{name}``. None when it has none, or Datadog knows no such metric."""
        try:
            body = self._call("GET", self._metrics_v1.get_metric_metadata, metric)
        except DatadogError as exc:
            if exc.status == 404:
                return None
            raise
        found = body.get("type") if isinstance(body, dict) else None
        return str(found) if found else None

    # --- dashboards -------------------------------------------------------------------------

    def list_dashboards(self) -> list[LiveResource]:
        summaries: list[LiveResource] = []
        start = 0
        while True:
            page = self._call("GET", self._dashboards.list_dashboards, count=DASHBOARD_PAGE_SIZE, start=start)
            batch = page.get("dashboards") or []
            summaries.extend(_dashboard(body, complete=False) for body in batch)
            if len(batch) < DASHBOARD_PAGE_SIZE:
                return summaries
            start += DASHBOARD_PAGE_SIZE

    def get_dashboard(self, datadog_id: str) -> LiveResource:
        return _dashboard(self._call("GET", self._dashboards.get_dashboard, datadog_id))

    def create_dashboard(self, body: JsonObject) -> LiveResource:
        return _dashboard(self._call("POST", self._dashboards.create_dashboard, dict(body)))

    def update_dashboard(self, datadog_id: str, body: JsonObject) -> LiveResource:
        return _dashboard(self._call("PUT", self._dashboards.update_dashboard, datadog_id, dict(body)))

    def delete_dashboard(self, datadog_id: str) -> None:
        self._call("DELETE", self._dashboards.delete_dashboard, datadog_id)

    # --- the application key ----------------------------------------------------------------

    def application_key_access(self) -> ApplicationKeyAccess:
        """The scopes of the application key in use, found among its user's keys by its last four
        characters. Advisory: any failure, or no single match, means Datadog did not tell."""
        try:
            page = self._call("GET", self._keys.list_current_user_application_keys, page_size=100)
        except DatadogError:
            return ApplicationKeyAccess(known=False)
        last4 = self._target.app_key[-4:]
        items = page.get("data") if isinstance(page, dict) else None
        matches = [
            attributes
            for item in items or []
            if isinstance(attributes := item.get("attributes"), dict) and attributes.get("last4") == last4
        ]
        if len(matches) != 1:
            return ApplicationKeyAccess(known=False)
        scopes = matches[0].get("scopes")
        return ApplicationKeyAccess(known=True, scopes=None if scopes is None else tuple(map(str, scopes)))

    # --- transport --------------------------------------------------------------------------

    def _call(self, method: str, endpoint: Any, *args: Any, **kwargs: Any) -> Any:
        with self._count_lock:
            self.request_count += 1
        try:
            response = endpoint(*args, **kwargs)
        except ApiException as exc:
            raise self._api_error(method, exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DatadogError(
                self._redact(
                    f"could not reach Datadog at {self._target.api_url}: {type(exc).__name__}: {exc}"
                ),
                maybe_applied=method in _WRITES,
            ) from None
        try:
            data = response.data
        finally:
            response.release_conn()
        return json.loads(data) if data else {}

    def _api_error(self, method: str, exc: ApiException) -> DatadogError:
        status = exc.status or None
        body = exc.body
        errors: Json = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            detail = "; ".join(map(str, errors))
        elif isinstance(body, str) and body.strip() and not body.lstrip().startswith("<"):
            detail = body.strip()[:300]
        else:
            detail = exc.reason or "no details"
        error = DatadogError(
            self._redact(f"Datadog answered {status}: {detail}"),
            status=status,
            hint=_hint_for(status),
            maybe_applied=method in _WRITES and (status is None or status >= 500),
        )
        error.details = errors
        return error

    def _redact(self, text: str) -> str:
        return redact(text, self._target.api_key, self._target.app_key)


def _hint_for(status: int | None) -> str:
    if status in (401, 403):
        return (
            "check DD_API_KEY and DD_APP_KEY, and that the application key may manage monitors and dashboards"
        )
    if status == 429:
        return "Datadog's rate limit held for longer than the retry budget; run again later"
    return ""


def _monitor(body: JsonObject) -> LiveResource:
    return LiveResource(kind="monitor", datadog_id=int(body["id"]), body=body)


def _dashboard(body: JsonObject, complete: bool = True) -> LiveResource:
    return LiveResource(kind="dashboard", datadog_id=str(body["id"]), body=body, complete=complete)
