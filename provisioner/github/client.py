"""The one place that speaks HTTP to GitHub: authentication, pagination, rate-limit waits, error messages.

The token lives only in the session's headers; no message built here ever contains it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests

from provisioner import __version__
from provisioner.errors import ProvisionerError
from provisioner.github.env import GitHubSettings

Json = Any  # a decoded JSON value
Sleep = Callable[[float], None]
Clock = Callable[[], float]

PER_PAGE = 100
MAX_PAGES = 100  # 10,000 items: far beyond any real pull request, and a stop for a Link loop
_SERVER_ERRORS = frozenset({500, 502, 503, 504})


class GitHubError(ProvisionerError):
    """GitHub answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None, hint: str = "") -> None:
        super().__init__(message, hint)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request through rate limits and server hiccups."""

    max_total_wait: float = 300.0  # seconds slept across all retries of one request
    max_attempts: int = 8
    default_wait: float = 60.0  # GitHub asks for "at least one minute" when it names no time
    server_error_waits: tuple[float, ...] = (1.0, 2.0, 4.0)


class GitHubClient:
    """A small REST client over one ``requests.Session``; ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(
        self,
        settings: GitHubSettings,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 30.0,
    ) -> None:
        self._settings = settings
        self._session = session or requests.Session()
        self._session.headers.update(_headers(settings.token))
        self._sleep = sleep
        self._clock = clock
        self._retry = retry
        self._timeout = timeout

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._session.close()

    def get(self, path: str, params: dict[str, str | int] | None = None) -> Json:
        return _json(self._request("GET", self._url(path), params=params))

    def post(self, path: str, payload: Json) -> Json:
        return _json(self._request("POST", self._url(path), payload=payload))

    def patch(self, path: str, payload: Json) -> Json:
        return _json(self._request("PATCH", self._url(path), payload=payload))

    def paginate(self, path: str, params: dict[str, str | int] | None = None) -> Iterator[Json]:
        """Every item of a list endpoint, following ``Link: rel="next"`` (``per_page=100``)."""
        url: str | None = self._url(path)
        query: dict[str, str | int] | None = {**(params or {}), "per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._request("GET", url, params=query)
            yield from _list_items(response, path)
            url, query = self._next_page(response), None  # the next link carries the query itself
        raise GitHubError(f'GET {path}: more than {MAX_PAGES} pages; stopped following Link: rel="next"')

    def _url(self, path: str) -> str:
        return f"{self._settings.api_url}/{path.lstrip('/')}"

    def _next_page(self, response: requests.Response) -> str | None:
        url = response.links.get("next", {}).get("url")
        if url is None:
            return None
        if _origin(url) != _origin(self._settings.api_url):
            # Following it would send the token to another host.
            raise GitHubError(f"GitHub's next-page link points outside {self._settings.api_url}: {url}")
        return url

    def _request(
        self, method: str, url: str, params: dict[str, str | int] | None = None, payload: Json = None
    ) -> requests.Response:
        waited = 0.0
        for attempt in range(self._retry.max_attempts):
            response = self._send(method, url, params, payload)
            if response.ok:
                return response
            wait = retry_wait(response, attempt, self._clock(), self._retry)
            if wait is None or attempt + 1 == self._retry.max_attempts:
                raise _error(method, url, response, self._settings.repository)
            if waited + wait > self._retry.max_total_wait:
                raise _gave_up(method, url, response, waited, wait, self._retry.max_total_wait)
            self._sleep(wait)
            waited += wait
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self, method: str, url: str, params: dict[str, str | int] | None, payload: Json
    ) -> requests.Response:
        try:
            return self._session.request(method, url, params=params, json=payload, timeout=self._timeout)
        except requests.RequestException as exc:
            raise GitHubError(
                f"{method} {_path(url)}: could not reach GitHub at {self._settings.api_url} "
                f"({type(exc).__name__})",
                hint="check GITHUB_API_URL and the runner's network",
            ) from None


def retry_wait(response: requests.Response, attempt: int, now: float, policy: RetryPolicy) -> float | None:
    """Seconds to wait before retrying ``response``, or None when retrying will not help."""
    status = response.status_code
    if status in _SERVER_ERRORS:
        waits = policy.server_error_waits
        return waits[attempt] if attempt < len(waits) else None
    if status not in (403, 429):
        return None
    headers = response.headers
    retry_after = _seconds(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    reset = _seconds(headers.get("x-ratelimit-reset"))
    if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
        return max(0.0, reset - now) + 1.0  # the reset time is whole seconds; wait past it
    if status == 429 or "rate limit" in _message(response).lower():
        return policy.default_wait
    return None  # a plain 403: a permission problem, not a limit


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": f"provisioner/{__version__}",
    }


def _json(response: requests.Response) -> Json:
    try:
        return response.json()
    except ValueError:
        method = response.request.method if response.request is not None else "?"
        raise GitHubError(
            f"GitHub API {method} {_path(response.url)}: answered {response.status_code} without JSON",
            status=response.status_code,
            hint="check GITHUB_API_URL: it must be the REST API root, e.g. https://api.github.com",
        ) from None


def _list_items(response: requests.Response, path: str) -> list[Json]:
    items = _json(response)
    if not isinstance(items, list):
        raise GitHubError(f"GET {path}: expected a JSON list from GitHub, got {type(items).__name__}")
    return items


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _message(response: requests.Response) -> str:
    """GitHub's own explanation (``message`` and any ``errors``), or the start of the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(data, dict):
        return ""
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    details = [str(e.get("message") or e.get("code") or e) for e in errors]
    return "; ".join([str(data.get("message", "")), *details]).strip("; ")


_HINTS = {
    401: "the token is missing, expired or wrong; in the workflow step set  "
    "env: GITHUB_TOKEN: ${{ github.token }}",
    403: "the token may not write here: give the job  permissions: pull-requests: write  (comments) or  "
    "issues: write  (issues); pull requests from forks only get a read-only token",
    404: "check GITHUB_REPOSITORY ({repository}) and the number; a token without access to the "
    "repository also gets 404",
    410: "issues may be turned off for {repository} (Settings > General > Features > Issues)",
}


def _error(method: str, url: str, response: requests.Response, repository: str) -> GitHubError:
    status = response.status_code
    reason = _message(response) or response.reason or "no message"
    hint = _HINTS.get(status, "").format(repository=repository)
    message = f"GitHub API {method} {_path(url)} failed: {status} {reason}"
    return GitHubError(message, status=status, hint=hint)


def _gave_up(
    method: str, url: str, response: requests.Response, waited: float, wait: float, cap: float
) -> GitHubError:
    return GitHubError(
        f"GitHub API {method} {_path(url)}: still rate limited ({response.status_code}) after waiting "
        f"{waited:.0f}s; GitHub asks for {wait:.0f}s more, over the {cap:.0f}s cap",
        status=response.status_code,
        hint="re-run the job later; many jobs sharing one token share its limits",
    )


def _path(url: str) -> str:
    return urlsplit(url).path


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc
