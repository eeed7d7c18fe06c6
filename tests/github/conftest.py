"""Fixtures for the GitHub integration: a stubbed GitHub API (``responses``) and a job's environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

API = "https://api.github.com"
REPO = "acme/mesh-monitors"
PR = 7
TOKEN = "ghs_SECRETtoken0123456789abcdefABCDEF"
BOT = "github-actions[bot]"  # the login GITHUB_TOKEN writes as


@dataclass
class GitHubStub:
    """A GitHub REST API answered by ``responses``; any request not registered fails the test."""

    mock: responses.RequestsMock
    api: str = API
    repo: str = REPO
    pr: int = PR
    token: str = TOKEN

    def url(self, path: str) -> str:
        return f"{self.api}/repos/{self.repo}/{path.lstrip('/')}"

    def pages(self, path: str, pages: list[list[dict[str, Any]]], **params: str) -> None:
        """Serve ``pages`` of a list endpoint, linked with ``Link: rel="next"`` as GitHub does."""
        for index, items in enumerate(pages, start=1):
            query = {**params, "per_page": "100", **({"page": str(index)} if index > 1 else {})}
            headers = {}
            if index < len(pages):
                next_query = "&".join(f"{k}={v}" for k, v in {**query, "page": str(index + 1)}.items())
                headers["Link"] = f'<{self.url(path)}?{next_query}>; rel="next"'
            match = [matchers.query_param_matcher(query)]
            self.mock.get(self.url(path), json=items, headers=headers, match=match)

    def comment(self, comment_id: int, body: str, author: str = BOT) -> dict[str, Any]:
        return {
            "id": comment_id,
            "body": body,
            "html_url": f"https://github.com/{self.repo}/pull/{self.pr}#issuecomment-{comment_id}",
            "user": _user(author),
        }

    def issue(
        self, number: int, body: str, title: str = "drift", pull_request: bool = False, author: str = BOT
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "html_url": f"https://github.com/{self.repo}/issues/{number}",
            "user": _user(author),
        }
        if pull_request:
            item["pull_request"] = {"url": self.url(f"pulls/{number}")}
        return item

    def sent(self, method: str) -> list[Any]:
        """The JSON bodies sent with ``method``, in order."""
        return [json.loads(c.request.body) for c in self.mock.calls if c.request.method == method]

    def requests(self) -> list[str]:
        return [f"{c.request.method} {c.request.url}" for c in self.mock.calls]


def _user(login: str) -> dict[str, str]:
    return {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}


@pytest.fixture
def gh() -> Iterator[GitHubStub]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield GitHubStub(mock)


@pytest.fixture
def github_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment of a GitHub Actions job for pull request #7; returns the event file."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": PR, "pull_request": {"number": PR}}))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    for name in ("GITHUB_API_URL", "GITHUB_SERVER_URL", "GITHUB_RUN_ID", "PROVISIONER_GITHUB_AUTHOR"):
        monkeypatch.delenv(name, raising=False)
    return event
