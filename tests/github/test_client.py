"""The GitHub client over a stubbed API: pagination, rate-limit waits (with an injected sleep), errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from provisioner.errors import UserError
from provisioner.github.client import GitHubClient, GitHubError, RetryPolicy
from provisioner.github.env import GitHubSettings, settings_from_env

if TYPE_CHECKING:
    from conftest import GitHubStub

API = "https://api.github.com"
REPO = "acme/mesh-monitors"
TOKEN = "ghs_SECRETtoken0123456789abcdefABCDEF"
NOW = 1_700_000_000.0


class Sleeps:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def client(sleeps: Sleeps | None = None, retry: RetryPolicy = RetryPolicy()) -> GitHubClient:
    settings = GitHubSettings(repository=REPO, api_url=API, token=TOKEN)
    return GitHubClient(settings, sleep=sleeps or Sleeps(), clock=lambda: NOW, retry=retry)


def test_the_stub_speaks_for_the_same_repository(gh: GitHubStub) -> None:
    assert (gh.api, gh.repo, gh.token) == (API, REPO, TOKEN)


def test_requests_carry_the_token_and_the_api_version(gh: GitHubStub) -> None:
    gh.mock.get(gh.url("issues/7"), json={"number": 7})
    client().get(f"/repos/{REPO}/issues/7")
    headers = gh.mock.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["User-Agent"].startswith("provisioner/")


def test_paginate_follows_link_next_with_100_per_page(gh: GitHubStub) -> None:
    first = [{"id": i} for i in range(100)]
    gh.pages("issues/7/comments", [first, [{"id": 100}, {"id": 101}], [{"id": 102}]])
    ids = [item["id"] for item in client().paginate(f"/repos/{REPO}/issues/7/comments")]
    assert ids == list(range(103))
    assert len(gh.mock.calls) == 3


def test_paginate_refuses_a_next_link_to_another_host(gh: GitHubStub) -> None:
    gh.mock.get(gh.url("issues"), json=[], headers={"Link": '<https://evil.example/x?page=2>; rel="next"'})
    with pytest.raises(GitHubError, match="points outside"):
        list(client().paginate(f"/repos/{REPO}/issues"))


def test_secondary_rate_limit_with_retry_after_is_waited_out(gh: GitHubStub) -> None:
    limited = {"message": "You have exceeded a secondary rate limit."}
    gh.mock.post(gh.url("issues/7/comments"), status=403, json=limited, headers={"retry-after": "7"})
    gh.mock.post(gh.url("issues/7/comments"), status=429, json=limited, headers={"Retry-After": "3"})
    gh.mock.post(gh.url("issues/7/comments"), status=201, json={"id": 1})
    sleeps = Sleeps()
    assert client(sleeps).post(f"/repos/{REPO}/issues/7/comments", {"body": "x"}) == {"id": 1}
    assert sleeps.seconds == [7.0, 3.0]


def test_primary_rate_limit_waits_until_the_reset_time(gh: GitHubStub) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 42)}
    gh.mock.get(gh.url("issues"), status=403, json={"message": "API rate limit exceeded"}, headers=headers)
    gh.mock.get(gh.url("issues"), json=[])
    sleeps = Sleeps()
    assert list(client(sleeps).paginate(f"/repos/{REPO}/issues")) == []
    assert sleeps.seconds == [43.0]


def test_a_429_without_headers_waits_the_default_minute(gh: GitHubStub) -> None:
    gh.mock.get(gh.url("issues/1"), status=429, json={"message": "slow down"})
    gh.mock.get(gh.url("issues/1"), json={"number": 1})
    sleeps = Sleeps()
    client(sleeps).get(f"/repos/{REPO}/issues/1")
    assert sleeps.seconds == [60.0]


def test_rate_limit_waits_are_capped_in_total(gh: GitHubStub) -> None:
    for _ in range(3):
        gh.mock.get(gh.url("issues/1"), status=429, json={"message": "slow"}, headers={"retry-after": "50"})
    sleeps = Sleeps()
    with pytest.raises(GitHubError, match="still rate limited") as caught:
        client(sleeps, RetryPolicy(max_total_wait=120)).get(f"/repos/{REPO}/issues/1")
    assert sleeps.seconds == [50.0, 50.0]
    assert caught.value.status == 429
    assert "over the 120s cap" in str(caught.value)


def test_server_errors_are_retried_with_short_backoff(gh: GitHubStub) -> None:
    gh.mock.get(gh.url("issues/1"), status=502, body="bad gateway")
    gh.mock.get(gh.url("issues/1"), status=503, body="unavailable")
    gh.mock.get(gh.url("issues/1"), json={"number": 1})
    sleeps = Sleeps()
    client(sleeps).get(f"/repos/{REPO}/issues/1")
    assert sleeps.seconds == [1.0, 2.0]


def test_a_plain_403_is_a_permission_error_and_is_not_retried(gh: GitHubStub) -> None:
    refused = {"message": "Resource not accessible by integration"}
    gh.mock.post(gh.url("issues/7/comments"), status=403, json=refused)
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(sleeps).post(f"/repos/{REPO}/issues/7/comments", {"body": "x"})
    assert sleeps.seconds == []
    message = str(caught.value)
    assert "POST /repos/acme/mesh-monitors/issues/7/comments failed: 403 Resource not accessible" in message
    assert "pull-requests: write" in message


@pytest.mark.parametrize(
    ("status", "github_message", "hint"),
    [
        (401, "Bad credentials", "the token is missing, expired or wrong"),
        (404, "Not Found", "check GITHUB_REPOSITORY (acme/mesh-monitors)"),
        (422, "Validation Failed", ""),
    ],
)
def test_errors_name_the_request_status_and_github_message_but_never_the_token(
    gh: GitHubStub, status: int, github_message: str, hint: str
) -> None:
    gh.mock.get(gh.url("issues/9"), status=status, json={"message": github_message})
    with pytest.raises(GitHubError) as caught:
        client().get(f"/repos/{REPO}/issues/9")
    message = str(caught.value)
    assert f"GET /repos/acme/mesh-monitors/issues/9 failed: {status} {github_message}" in message
    assert hint in message
    assert TOKEN not in message
    assert caught.value.status == status


def test_validation_details_are_included(gh: GitHubStub) -> None:
    detail = {"resource": "Issue", "code": "custom", "message": "body is too long"}
    payload = {"message": "Validation Failed", "errors": [detail]}
    gh.mock.post(gh.url("issues"), status=422, json=payload)
    with pytest.raises(GitHubError, match="Validation Failed; body is too long"):
        client().post(f"/repos/{REPO}/issues", {"title": "t", "body": "b"})


def test_an_unreachable_github_is_a_clear_error(gh: GitHubStub) -> None:
    gh.mock.get(gh.url("issues/1"), body=requests.ConnectionError("connection refused"))
    with pytest.raises(GitHubError, match="could not reach GitHub at https://api.github.com"):
        client().get(f"/repos/{REPO}/issues/1")


def test_the_token_is_not_in_the_settings_repr() -> None:
    assert TOKEN not in repr(GitHubSettings(repository=REPO, api_url=API, token=TOKEN))


def test_a_success_without_json_points_at_the_api_url(gh: GitHubStub) -> None:
    gh.mock.get(gh.url("issues/1"), body="<html>sign in</html>", content_type="text/html")
    with pytest.raises(GitHubError, match="answered 200 without JSON") as caught:
        client().get(f"/repos/{REPO}/issues/1")
    assert "GITHUB_API_URL" in str(caught.value)


@pytest.mark.parametrize(
    ("configured", "author"),
    [(None, "github-actions[bot]"), ("  mesh-bot[bot] ", "mesh-bot[bot]"), ("sre-team-42", "sre-team-42")],
)
def test_the_author_whose_items_are_ours_defaults_to_the_actions_bot(
    configured: str | None, author: str
) -> None:
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}
    if configured is not None:
        environ["PROVISIONER_GITHUB_AUTHOR"] = configured
    assert settings_from_env(environ).author == author


@pytest.mark.parametrize("login", ["evil/../x", "-leading", "two words", "bot[bot][bot]", "x]"])
def test_an_author_that_cannot_be_a_login_is_refused(login: str) -> None:
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "PROVISIONER_GITHUB_AUTHOR": login}
    with pytest.raises(UserError, match="PROVISIONER_GITHUB_AUTHOR must be a GitHub login"):
        settings_from_env(environ)
