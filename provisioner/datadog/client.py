"""The Datadog adapter: the only module that imports ``datadog_api_client``.

Requests go through the official client (its configuration, auth headers, host selection and
urllib3 pool), but with ``preload_content`` off: we read the JSON ourselves. That keeps every field
the server returns verbatim (fields the client's models do not know would be hidden or reshaped)
and lists thousands of monitors without building a model object per field, which is what keeps a
plan over 5,000 monitors within its time budget.

Every request goes through one loop here, not urllib3's retry, so that all workers cooperate:
- ``pacing.RateGate`` paces them at Datadog's rate limits (one shared hold per bucket, learned from
  the ``x-ratelimit-*`` headers); a 429 waits for its window and is sent again, for every method;
- 5xx answers, dropped connections, read timeouts and 2xx answers whose body is not the JSON
  Datadog sends are retried with backoff for GET, PUT and DELETE only. A POST that fails that way
  may still have been stored (re-sending it could create a duplicate), so it surfaces as a
  ``DatadogError`` with ``maybe_applied`` set and the sync engine looks the resource up first;
- a refused connection or an unknown host fails at once, with the URL and where it came from;
- everything, waits included, is charged against the command's ``pacing.Deadline``; each request's
  read timeout is cut to what is left of it, and an answer still arriving when it runs out is cut off;
- a TLS failure or a URL urllib3 cannot use is named as such, never retried.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.rest import RESTClientObject
from datadog_api_client.v1.api.dashboards_api import DashboardsApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi

from provisioner.changes import LiveResource
from provisioner.credentials import Target, redact
from provisioner.datadog.pacing import Deadline, RateGate, RateLimitWait
from provisioner.errors import DatadogError, NotSentError
from provisioner.model import Json, JsonObject, MetricTags

DASHBOARD_PAGE_SIZE = 100
_RETRYABLE_STATUS = frozenset({408, 500, 502, 503, 504, 507, 509, 510, 511, 512})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_MONITOR_PUT_CLEARS: JsonObject = {
    "message": "",
    "tags": [],
    "priority": None,
    "restricted_roles": None,
    "options": {},
}

# Datadog's write limit for monitors and dashboards (post_monitors, put_monitors: 500 per 10 s).
WRITES_PER_SECOND = 500 / 10
READ_DEADLINE_S = 100.0  # default for a command that only reads: a hung plan ends within 2 minutes


def write_allowance_s(writes: int) -> float:
    """How much longer a command may run to send ``writes`` writes: twice what Datadog's write limit
    allows, plus a minute, so a first sync of 5,000 monitors (100 s at the limit) is never cut."""
    return 60.0 + 2 * writes / WRITES_PER_SECOND


@dataclass(frozen=True)
class ClientSettings:
    concurrency: int = 8
    max_retries: int = 6  # per request, for 5xx, dropped connections and unreadable answers
    backoff_factor: float = 0.5
    backoff_max_s: float = 10.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0


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


class _Unreadable(Exception):
    """A 2xx answer whose body is not what Datadog sends; the message completes "a body that ..."."""


class _SlowAnswer(urllib3.exceptions.HTTPError):
    """Internal: the deadline ran out while an answer's body was still arriving."""


@dataclass(frozen=True)
class _Answer:
    """An answer read whole (its connection is back in the pool): all the client, and its
    ``ApiException``, read of a urllib3 response."""

    status: int
    reason: str | None
    headers: Any
    data: bytes


class _AnswerReadingPool:
    """The client's urllib3 pool, but every answer's body is read here, chunk by chunk, before the client
    sees it (its error path reads bodies too): a socket's read timeout bounds each chunk only, so a
    server trickling its answer a byte at a time would otherwise outlast any deadline."""

    def __init__(self, pool: urllib3.PoolManager, read_body: Callable[[Any], bytes]) -> None:
        self._pool = pool
        self._read_body = read_body

    def request(self, method: str, url: str, **kwargs: Any) -> _Answer:
        kwargs["preload_content"] = False
        response = self._pool.request(method, url, **kwargs)
        return _Answer(response.status, response.reason, response.headers, self._read_body(response))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class _PooledApiClient(ApiClient):
    """An ApiClient whose urllib3 pool keeps a connection per worker (the plain one keeps 4, so with
    8 workers every other request would open a new connection; the client's ThreadedApiClient does
    the same through this hook), whose timeouts follow the command's deadline, and whose answers are
    read within it (``_AnswerReadingPool``)."""

    def __init__(
        self,
        configuration: Configuration,
        maxsize: int,
        timeouts: Callable[[], tuple[float, float]],
        read_body: Callable[[Any], bytes],
    ) -> None:
        self._maxsize = maxsize
        self._timeouts = timeouts
        self._read_body = read_body
        super().__init__(configuration)

    def _build_rest_client(self) -> RESTClientObject:
        rest = RESTClientObject(self.configuration, maxsize=self._maxsize)
        rest.pool_manager = _AnswerReadingPool(rest.pool_manager, self._read_body)
        return rest

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["request_timeout"] = self._timeouts()
        return super().call_api(*args, **kwargs)


class DatadogClient:
    """Implements ``DatadogPort`` over HTTP through ``datadog-api-client``."""

    def __init__(
        self,
        target: Target,
        settings: ClientSettings | None = None,
        deadline: Deadline | None = None,
        on_wait: Callable[[RateLimitWait], None] | None = None,
    ) -> None:
        self._target = target
        self._settings = settings or ClientSettings()
        self.deadline = deadline or Deadline(math.inf)
        self.gate = RateGate(on_wait=on_wait)
        config = Configuration(host=target.api_url)
        config.api_key["apiKeyAuth"] = target.api_key
        config.api_key["appKeyAuth"] = target.app_key
        config.preload_content = False
        config.check_input_type = False
        config.retry_policy = False  # our loop retries (see the module docstring), urllib3 never
        self._api_client = _PooledApiClient(
            config, max(self._settings.concurrency, 4), self._request_timeout, self._read_body
        )
        self._monitors = MonitorsApi(self._api_client)
        self._dashboards = DashboardsApi(self._api_client)
        self._count_lock = threading.Lock()
        self.request_count = 0
        self.target_name = target.api_url  # where this client points, as a saved plan records it

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
        return self._call("GET", self._monitors.list_monitors, read=_monitor_list, **extra)

    def get_monitor(self, datadog_id: int) -> LiveResource:
        return self._call("GET", self._monitors.get_monitor, datadog_id, read=_monitor)

    def create_monitor(self, body: JsonObject) -> LiveResource:
        return self._call("POST", self._monitors.create_monitor, dict(body), read=_monitor)

    def update_monitor(self, datadog_id: int, body: JsonObject) -> LiveResource:
        """A full replacement. Datadog's PUT keeps top-level fields the body leaves out (only
        ``options`` is replaced whole), so fields the definition does not set are sent as empty."""
        replacement = {**_MONITOR_PUT_CLEARS, **body}
        return self._call("PUT", self._monitors.update_monitor, datadog_id, replacement, read=_monitor)

    def delete_monitor(self, datadog_id: int) -> None:
        self._call("DELETE", self._monitors.delete_monitor, datadog_id)

    def validate_monitor(self, body: JsonObject, datadog_id: int | None = None) -> None:
        """An update is validated as the full replacement ``update_monitor`` sends."""
        if datadog_id is None:
            self._call("POST", self._monitors.validate_monitor, dict(body), idempotent=True)
            return
        replacement = {**_MONITOR_PUT_CLEARS, **body}
        self._call("POST", self._monitors.validate_existing_monitor, datadog_id, replacement, idempotent=True)

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

    @functools.cached_property
    def _metrics_v1(self) -> Any:
        """The v1 metrics endpoints (active metrics, metadata), built when first used: a plan without the
        metrics-reporting check does not read metrics."""
        from datadog_api_client.v1.api.metrics_api import MetricsApi

        return MetricsApi(self._api_client)

    @functools.cached_property
    def _metrics(self) -> Any:
        """The v2 metrics endpoints (submitting, tags), built when first used: the v2 models cost a
        plan 25 ms of imports, and a plan whose metrics all report never asks for tags."""
        from datadog_api_client.v2.api.metrics_api import MetricsApi

        return MetricsApi(self._api_client)

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

    def metric_tags(self, metric: str, window_s: int) -> MetricTags | None:
        """The tags of a metric's series that reported within ``window_s`` (Datadog's minimum is 14,400),
        as tag key -> the values seen (a bare tag has none): ``GET /api/v2/metrics/{name}/all-tags``, one
        request for keys and values. None when Datadog knows no such metric."""
        try:
            body = self._call("GET", self._metrics.list_tags_by_metric_name, metric, window_seconds=window_s)
        except DatadogError as exc:
            if exc.status == 404:
                return None
            raise
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        tags = attributes.get("tags") if isinstance(attributes, dict) else None
        values: dict[str, set[str]] = {}
        for tag in tags or ():
            key, separator, value = str(tag).partition(":")
            values.setdefault(key, set()).update((value,) if separator else ())
        return {key: frozenset(found) for key, found in values.items()}

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
            batch = self._call(
                "GET",
                self._dashboards.list_dashboards,
                count=DASHBOARD_PAGE_SIZE,
                start=start,
                read=_dashboard_page,
            )
            summaries.extend(batch)
            if len(batch) < DASHBOARD_PAGE_SIZE:
                return summaries
            start += DASHBOARD_PAGE_SIZE

    def get_dashboard(self, datadog_id: str) -> LiveResource:
        return self._call("GET", self._dashboards.get_dashboard, datadog_id, read=_dashboard)

    def create_dashboard(self, body: JsonObject) -> LiveResource:
        return self._call("POST", self._dashboards.create_dashboard, dict(body), read=_dashboard)

    def update_dashboard(self, datadog_id: str, body: JsonObject) -> LiveResource:
        return self._call("PUT", self._dashboards.update_dashboard, datadog_id, dict(body), read=_dashboard)

    def delete_dashboard(self, datadog_id: str) -> None:
        self._call("DELETE", self._dashboards.delete_dashboard, datadog_id)

    # --- the application key ----------------------------------------------------------------

    def application_key_access(self) -> ApplicationKeyAccess:
        """The scopes of the application key in use, found among its user's keys by its last four
        characters. Advisory: any failure, or no single match, means Datadog did not tell."""
        from datadog_api_client.v2.api.key_management_api import KeyManagementApi  # its models cost 25 ms

        try:
            keys = KeyManagementApi(self._api_client)
            page = self._call("GET", keys.list_current_user_application_keys, page_size=100)
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

    def _call(
        self,
        method: str,
        endpoint: Any,
        *args: Any,
        read: Callable[[Json], Any] = lambda body: body,
        idempotent: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One request, paced, retried where that is safe, read into what ``read`` makes of the JSON.
        ``idempotent``: a POST that changes nothing (validation), retried and reported as a GET is."""
        route = _route_of(method, endpoint)
        if idempotent:
            method = "GET"  # from here on, ``method`` only decides what is safe to retry
        attempt = held = 0
        while True:
            if self.deadline.expired():
                raise NotSentError(f"not sent: {self.deadline.describe()} ran out", hint=_TIMEOUT_HINT)
            self.gate.wait_turn(route, self.deadline)
            try:
                return self._send(method, route, endpoint, args, kwargs, read)
            except _Retry as retry:
                if retry.rate_limited:  # the gate holds it until the reset; the deadline bounds that
                    held += 1
                    if held > _RATE_LIMITED_RETRIES:
                        raise retry.error from None
                    continue
                attempt += 1
                if attempt > (_UNREADABLE_RETRIES if retry.unreadable else self._settings.max_retries):
                    raise retry.error from None
                self._back_off(attempt, retry.error)

    def _send(
        self,
        method: str,
        route: str,
        endpoint: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        read: Callable[[Json], Any],
    ) -> Any:
        with self._count_lock:
            self.request_count += 1
        sent_at = time.monotonic()
        read_timeout = self._request_timeout()[1]
        status: int | None = None
        headers: Any = {}
        try:
            response = endpoint(*args, **kwargs)  # an _Answer: read whole, its connection back in the pool
            status, headers, data = response.status, response.headers, response.data
        except ApiException as exc:
            status, headers = exc.status or None, exc.headers or {}
            if status is None:  # the client's wrapping of a TLS failure: there was no answer
                raise self._tls_error(method, route, str(exc.reason or "")) from None
            raise self._answered_with_error(method, route, exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            error = self._network_error(method, route, exc, read_timeout)
            if isinstance(exc, _NEVER_RETRIED) or method not in _IDEMPOTENT:
                raise error from None  # refused, unknown host, unusable URL: fail fast; a write: look first
            raise _Retry(error) from None
        except UnicodeDecodeError:  # the client could not even decode an error answer's body
            raise self._unreadable(method, route, status, "is not text") from None
        finally:
            self.gate.learn(route, sent_at, time.monotonic(), status, headers)
        try:
            return read(_json_body(data))
        except _Unreadable as exc:
            raise self._unreadable(method, route, status, str(exc)) from None

    def _read_body(self, response: Any) -> bytes:
        """The whole body, read in chunks with the deadline checked between them; ``_SlowAnswer`` when it
        runs out first (the connection is closed then, never reused with half an answer in it)."""
        read = getattr(response, "read1", response.read)  # read1: at most one socket read per chunk
        chunks: list[bytes] = []
        try:
            while chunk := read(_CHUNK_BYTES):
                chunks.append(chunk)
                if self.deadline.expired():
                    raise _SlowAnswer(f"{sum(map(len, chunks)):,} bytes had arrived")
        except BaseException:
            response.close()
            raise
        response.release_conn()
        return b"".join(chunks)

    def _unreadable(self, method: str, route: str, status: int | None, what: str) -> Exception:
        error = DatadogError(  # no status: nothing Datadog meant can be read (not a verdict on the request)
            self._redact(f"Datadog answered {status or 'an error'} to {route} with a body that {what}"),
            hint="a proxy or load balancer in the way may have cut or replaced the answer",
            maybe_applied=method in _WRITES,
        )
        return _Retry(error, unreadable=True) if method in _IDEMPOTENT else error

    def _answered_with_error(self, method: str, route: str, exc: ApiException) -> Exception:
        status = exc.status or None
        body = exc.body
        errors: Json = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            detail = "; ".join(map(str, errors))
        elif isinstance(body, str) and body.lstrip().startswith("<"):
            detail = "an HTML page, not Datadog's JSON (a proxy or load balancer in the way?)"
        elif isinstance(body, str) and body.strip():
            detail = body.strip()[:300]
        else:
            detail = exc.reason or "no details"
        error = DatadogError(
            self._redact(f"Datadog answered {status} to {route}: {detail}"),
            status=status,
            hint=_hint_for(status),
            maybe_applied=method in _WRITES and (status is None or status >= 500),
        )
        error.details = errors
        if status == 429:
            return _Retry(error, rate_limited=True)
        if status in _RETRYABLE_STATUS and method in _IDEMPOTENT:
            return _Retry(error)
        return error

    def _network_error(
        self, method: str, route: str, exc: BaseException, read_timeout: float
    ) -> DatadogError:
        url = self._target.api_url
        maybe_applied = method in _WRITES
        if isinstance(exc, urllib3.exceptions.LocationValueError):  # nothing was sent: the URL itself
            message, maybe_applied = f"the Datadog API URL {url} cannot be used: {exc}", False
            hint = self._wrong_url_hint()
        elif isinstance(exc, urllib3.exceptions.NewConnectionError):
            cause = "the host name does not resolve" if _is_name_error(exc) else "the connection was refused"
            message, maybe_applied = f"could not connect to Datadog at {url}: {cause}", False
            hint = self._wrong_url_hint()
        elif isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
            message = f"no connection to Datadog at {url} within {self._settings.connect_timeout_s:.0f} s"
            maybe_applied, hint = False, self._wrong_url_hint()
        elif isinstance(exc, _SlowAnswer):
            message = (
                f"Datadog at {url} was still sending its answer to {route} when {self.deadline.describe()} "
                f"ran out ({exc})"
            )
            hint = f"the server, or a proxy in front of it, answers very slowly; {_TIMEOUT_HINT}"
        elif isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            cut = read_timeout < self._settings.read_timeout_s
            message = (
                f"Datadog at {url} accepted the connection but sent no answer to {route} within "
                f"{read_timeout:.0f} s" + (f" ({self.deadline.describe()} ran out)" if cut else "")
            )
            hint = (
                "the server, or a proxy in front of it, is hung; try again later"
                if not cut
                else _TIMEOUT_HINT
            )
        else:
            message = f"the connection to Datadog at {url} broke before the answer to {route} was complete ({_reason(exc)})"
            hint = ""
        return DatadogError(self._redact(message), hint=hint, maybe_applied=maybe_applied)

    def _tls_error(self, method: str, route: str, reason: str) -> DatadogError:
        """No TLS connection (the client reports it as an ApiException without a status)."""
        detail = reason.removeprefix("SSLError").strip().replace("\n", " ")[:300]
        lowered = detail.lower()
        may_have_been_sent = False  # a handshake that failed sent nothing
        if "certificate" in lowered:
            cause, hint = "its certificate is not trusted", _CA_HINT
        elif any(word in lowered for word in ("wrong version number", "record layer", "unknown protocol")):
            cause, hint = "the server does not speak TLS there", _PLAIN_HTTP_HINT
        else:
            cause, hint = "the TLS connection failed", f"{_CA_HINT}; or {_PLAIN_HTTP_HINT}"
            may_have_been_sent = "handshake" not in lowered
        return DatadogError(
            self._redact(
                f"no TLS connection to Datadog at {self._target.api_url} for {route}: {cause} ({detail})"
            ),
            hint=hint,
            maybe_applied=method in _WRITES and may_have_been_sent,
        )

    def _back_off(self, attempt: int, error: DatadogError) -> None:
        delay = min(self._settings.backoff_max_s, self._settings.backoff_factor * 2 ** (attempt - 1))
        if delay >= self.deadline.remaining():
            raise error
        time.sleep(delay)

    def _request_timeout(self) -> tuple[float, float]:
        left = max(0.5, self.deadline.remaining())
        return (min(self._settings.connect_timeout_s, left), min(self._settings.read_timeout_s, left))

    def _wrong_url_hint(self) -> str:
        source = self._target.url_source
        if not source:
            return _WRONG_URL_HINT
        return f"check the URL: it comes from {source}"

    def _redact(self, text: str) -> str:
        return redact(text, self._target.api_key, self._target.app_key)


class _Retry(Exception):
    """Internal: the request may be sent again (after backoff, or after the rate-limit hold)."""

    def __init__(self, error: DatadogError, rate_limited: bool = False, unreadable: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.rate_limited = rate_limited
        self.unreadable = unreadable


_CHUNK_BYTES = 256 * 1024

# A 2xx whose body is garbage is not the server asking us to slow down (as a 5xx or a 429 is), but
# a proxy in the way: two more tries, then that resource fails and the others go on.
_UNREADABLE_RETRIES = 2
_RATE_LIMITED_RETRIES = 50  # a request refused 50 windows in a row: something else is using the bucket up

# Errors a retry cannot mend: the connection was refused, the host name does not resolve, or the URL
# itself is unusable (``URLSchemeUnknown`` is a ``LocationValueError``).
_NEVER_RETRIED = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.LocationValueError)

_WRONG_URL_HINT = (
    "check the URL: it comes from --api-url, PROVISIONER_API_URL, DD_SITE, or the environment's api_url "
    "or site in provisioner.yaml (the first one set)"
)
_CA_HINT = (
    "a proxy or firewall that inspects TLS presents its own certificate: add its CA certificate to the "
    "system's trust store, or set SSL_CERT_FILE to a CA bundle that contains it (provisioner does not read "
    "HTTPS_PROXY; to go through a proxy, point --api-url at it)"
)
_PLAIN_HTTP_HINT = (
    "the URL says https:// where the server speaks plain HTTP (an emulator? a local proxy?): use http://"
)
_TIMEOUT_HINT = "run again with a longer --timeout (in seconds), or later"


def _route_of(method: str, endpoint: Any) -> str:
    """``POST /api/v1/monitor``: the endpoint as Datadog's API reference names it."""
    operation = getattr(
        getattr(endpoint, "__self__", None), f"_{getattr(endpoint, '__name__', '')}_endpoint", None
    )
    settings = getattr(operation, "settings", None) or {}
    return f"{settings.get('http_method', method)} {settings.get('endpoint_path', getattr(endpoint, '__name__', '?'))}"


def _is_name_error(exc: BaseException) -> bool:
    name_error = getattr(urllib3.exceptions, "NameResolutionError", None)
    return (name_error is not None and isinstance(exc, name_error)) or "resolve" in str(exc).lower()


def _reason(exc: BaseException) -> str:
    inner = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], BaseException) else exc
    return f"{type(inner).__name__}: {inner}"[:200]


def _hint_for(status: int | None) -> str:
    if status in (401, 403):
        return (
            "check DD_API_KEY and DD_APP_KEY, and that the application key may manage monitors and dashboards"
        )
    if status == 429:
        return "Datadog's rate limit held for longer than the run's timeout; run again later"
    return ""


# --- reading answers: the JSON Datadog sends, or _Unreadable ---------------------------------


def _json_body(data: bytes) -> Json:
    if not data or not data.strip():
        raise _Unreadable("is empty")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        pass
    if data.lstrip()[:1] == b"<":
        raise _Unreadable(f"is an HTML page, not JSON ({len(data):,} bytes)")
    raise _Unreadable(f"is not JSON ({len(data):,} bytes, starting {_snippet(data)})")


def _snippet(data: bytes, limit: int = 60) -> str:
    text = data[:limit].decode("utf-8", "replace")
    return repr(text + ("..." if len(data) > limit else ""))


def _monitor(body: Json) -> LiveResource:
    if not isinstance(body, dict) or isinstance(body.get("id"), bool) or not isinstance(body.get("id"), int):
        raise _Unreadable(f"is not a monitor (a JSON {_json_type(body)} without an integer id)")
    return LiveResource(kind="monitor", datadog_id=body["id"], body=body)


def _monitor_list(body: Json) -> list[LiveResource]:
    if not isinstance(body, list):
        raise _Unreadable(f"is not a list of monitors (a JSON {_json_type(body)})")
    return [_monitor(item) for item in body]


def _dashboard(body: Json, complete: bool = True) -> LiveResource:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise _Unreadable(f"is not a dashboard (a JSON {_json_type(body)} without a string id)")
    return LiveResource(kind="dashboard", datadog_id=body["id"], body=body, complete=complete)


def _dashboard_page(body: Json) -> list[LiveResource]:
    batch = body.get("dashboards") if isinstance(body, dict) else None
    if not isinstance(batch, list):
        raise _Unreadable(f"is not a page of dashboards (a JSON {_json_type(body)} without 'dashboards')")
    return [_dashboard(item, complete=False) for item in batch]


def _json_type(value: Json) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")
