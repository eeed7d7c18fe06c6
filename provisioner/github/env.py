"""What a GitHub Actions job tells us through its environment: token, repository, API URL, event."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.errors import UserError

DEFAULT_API_URL = "https://api.github.com"
# The login GITHUB_TOKEN writes as in GitHub Actions; a GitHub App's token writes as "<app-slug>[bot]".
DEFAULT_AUTHOR = "github-actions[bot]"
AUTHOR_VARIABLE = "PROVISIONER_GITHUB_AUTHOR"
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
# A user login, or an app's bot login ("name[bot]").
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?$")
_TOKEN_HINT = "in the workflow step, set  env: GITHUB_TOKEN: ${{ github.token }}"


@dataclass(frozen=True)
class GitHubSettings:
    """Where to talk to GitHub and as whom. The token never appears in a repr."""

    repository: str  # "owner/name"
    api_url: str  # without a trailing slash
    token: str = field(repr=False)
    # Only comments and issues written by this login are ours to edit: anyone who can comment can copy
    # a hidden marker into their own comment, and the bot must never write into it.
    author: str = DEFAULT_AUTHOR


def settings_from_env(environ: Mapping[str, str]) -> GitHubSettings:
    """Read GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL (default https://api.github.com) and
    PROVISIONER_GITHUB_AUTHOR (default github-actions[bot], the login GITHUB_TOKEN writes as)."""
    token = _required(environ, "GITHUB_TOKEN", _TOKEN_HINT)
    repository = _required(environ, "GITHUB_REPOSITORY", "GitHub Actions sets it; elsewhere use owner/name")
    if not _REPOSITORY.match(repository):
        raise UserError(f"GITHUB_REPOSITORY must look like owner/name, got {repository!r}")
    api_url = (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise UserError(f"GITHUB_API_URL must be an http(s) URL, got {api_url!r}")
    author = environ.get(AUTHOR_VARIABLE, "").strip() or DEFAULT_AUTHOR
    if not _LOGIN.match(author):
        raise UserError(
            f"{AUTHOR_VARIABLE} must be a GitHub login, got {author!r}",
            hint=f"the login the token writes as: {DEFAULT_AUTHOR} for GITHUB_TOKEN, <app-slug>[bot] for an app",
        )
    return GitHubSettings(repository=repository, api_url=api_url, token=token, author=author)


def pull_request_number(environ: Mapping[str, str], explicit: int | None) -> int:
    """The pull request to comment on: ``--pr N`` if given, else ``pull_request.number`` of the event."""
    if explicit is not None:
        return explicit
    event_path = environ.get("GITHUB_EVENT_PATH", "").strip()
    if not event_path:
        raise UserError(
            "no pull request number: GITHUB_EVENT_PATH is not set and --pr was not given",
            hint="run this step in a pull_request workflow, or pass --pr N",
        )
    number = _event_pull_request_number(_read_event(Path(event_path)))
    if number is None:
        trigger = environ.get("GITHUB_EVENT_NAME", "unknown")
        raise UserError(
            f"no pull request number in {event_path}: the event has no pull_request.number "
            f"(this run was triggered by {trigger!r}, not by a pull request)",
            hint="run this step only on pull_request events, or pass --pr N",
        )
    return number


def run_url(environ: Mapping[str, str]) -> str | None:
    """The web address of the current workflow run, when running in GitHub Actions."""
    server = environ.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository = environ.get("GITHUB_REPOSITORY", "")
    run_id = environ.get("GITHUB_RUN_ID", "")
    if not (server and repository and run_id):
        return None
    return f"{server}/{repository}/actions/runs/{run_id}"


def _required(environ: Mapping[str, str], name: str, hint: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise UserError(f"environment variable {name} is not set", hint=hint)
    return value


def _read_event(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read the event file {path} (GITHUB_EVENT_PATH): {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"the event file {path} (GITHUB_EVENT_PATH) is not valid JSON: {exc}") from None


def _event_pull_request_number(event: object) -> int | None:
    pull_request = event.get("pull_request") if isinstance(event, dict) else None
    number = pull_request.get("number") if isinstance(pull_request, dict) else None
    if isinstance(number, int) and not isinstance(number, bool) and number > 0:
        return number
    return None
