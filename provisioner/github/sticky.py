"""One comment per pull request, one open issue per marker: find it by its marker and its author, then
edit or create.

The marker is hidden text that anyone who can comment may copy into a comment or an issue of their own;
only items written by the workflow's own login (``GitHubSettings.author``) are ever edited or closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provisioner.github.body import marker_tag
from provisioner.github.client import GitHubClient, GitHubError, Json

Action = Literal["created", "updated", "unchanged", "closed", "nothing-to-close"]


@dataclass(frozen=True)
class StickyComment:
    comment_id: int
    body: str
    url: str
    author: str  # the login that wrote it; "" when GitHub names none (a deleted account)


@dataclass(frozen=True)
class StickyIssue:
    number: int
    title: str
    body: str
    url: str
    author: str


@dataclass(frozen=True)
class Outcome:
    """What was done, and where to see it (None when there was nothing to act on)."""

    action: Action
    url: str | None


def find_comment(
    client: GitHubClient, repository: str, pr: int, marker: str, author: str
) -> StickyComment | None:
    """The first comment on pull request ``pr`` that ``author`` wrote and that carries ``marker``."""
    tag = marker_tag(marker)
    for item in client.paginate(f"/repos/{repository}/issues/{pr}/comments"):
        comment = _comment(item)
        if tag in comment.body and same_login(comment.author, author):
            return comment
    return None


def upsert_comment(
    client: GitHubClient, repository: str, pr: int, marker: str, body: str, author: str
) -> Outcome:
    """Edit ``author``'s marked comment in place, or create it; ``body`` must already carry the marker."""
    existing = find_comment(client, repository, pr, marker, author)
    if existing is None:
        created = _comment(client.post(f"/repos/{repository}/issues/{pr}/comments", {"body": body}))
        return Outcome("created", created.url)
    if existing.body == body:
        return Outcome("unchanged", existing.url)
    path = f"/repos/{repository}/issues/comments/{existing.comment_id}"
    return Outcome("updated", _comment(client.patch(path, {"body": body})).url)


def find_open_issue(client: GitHubClient, repository: str, marker: str, author: str) -> StickyIssue | None:
    """The oldest open issue (not pull request) that ``author`` opened and that carries ``marker``.

    Every open issue is read, not only labelled ones: GitHub drops the labels of a new issue when the token
    may not set them, and a label filter would then open a second issue on the next run. Nor is GitHub's
    ``creator`` filter used: it is not documented to take an app's ``name[bot]`` login, and a filter that
    matched nothing would open a new issue on every run.
    """
    params: dict[str, str | int] = {"state": "open", "sort": "created", "direction": "asc"}
    tag = marker_tag(marker)
    for item in client.paginate(f"/repos/{repository}/issues", params):
        if isinstance(item, dict) and "pull_request" not in item:
            issue = _issue(item)
            if tag in issue.body and same_login(issue.author, author):
                return issue
    return None


def upsert_issue(
    client: GitHubClient,
    repository: str,
    marker: str,
    title: str,
    body: str,
    label: str | None,
    author: str,
) -> Outcome:
    """Update ``author``'s one open marked issue in place (its labels untouched), or open it with ``label``."""
    existing = find_open_issue(client, repository, marker, author)
    if existing is None:
        payload: dict[str, Json] = {"title": title, "body": body}
        if label:
            payload["labels"] = [label]
        return Outcome("created", _issue(client.post(f"/repos/{repository}/issues", payload)).url)
    if existing.body == body and existing.title == title:
        return Outcome("unchanged", existing.url)
    path = f"/repos/{repository}/issues/{existing.number}"
    return Outcome("updated", _issue(client.patch(path, {"title": title, "body": body})).url)


def close_issue(client: GitHubClient, repository: str, marker: str, comment: str, author: str) -> Outcome:
    """Comment on ``author``'s one open marked issue and close it as completed; nothing if none is open."""
    existing = find_open_issue(client, repository, marker, author)
    if existing is None:
        return Outcome("nothing-to-close", None)
    client.post(f"/repos/{repository}/issues/{existing.number}/comments", {"body": comment})
    path = f"/repos/{repository}/issues/{existing.number}"
    client.patch(path, {"state": "closed", "state_reason": "completed"})
    return Outcome("closed", existing.url)


def same_login(written_by: str, author: str) -> bool:
    """GitHub logins are case-insensitive."""
    return bool(written_by) and written_by.casefold() == author.casefold()


def _login(item: Json) -> str:
    user = item.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else ""


def _comment(item: Json) -> StickyComment:
    try:
        return StickyComment(
            comment_id=int(item["id"]),
            body=item.get("body") or "",
            url=str(item["html_url"]),
            author=_login(item),
        )
    except (TypeError, KeyError, ValueError, AttributeError):
        raise GitHubError("GitHub returned a comment without id or html_url") from None


def _issue(item: Json) -> StickyIssue:
    try:
        return StickyIssue(
            number=int(item["number"]),
            title=item.get("title") or "",
            body=item.get("body") or "",
            url=str(item["html_url"]),
            author=_login(item),
        )
    except (TypeError, KeyError, ValueError, AttributeError):
        raise GitHubError("GitHub returned an issue without number or html_url") from None
