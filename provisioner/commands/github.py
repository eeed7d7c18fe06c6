"""``provisioner github comment`` and ``provisioner github issue``: the pipeline's voice on GitHub."""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.errors import UserError
from provisioner.github.body import compose, marker_tag
from provisioner.github.client import GitHubClient
from provisioner.github.env import pull_request_number, run_url, settings_from_env
from provisioner.github.sticky import Outcome, close_issue, upsert_comment, upsert_issue

CLOSING_TEXT = "Datadog matches the definitions again: no drift and no pending changes. Closing."


def comment(
    body: Path, artifact_url: str | None, marker: str, pr: int | None = None, heading: str | None = None
) -> int:
    """Create or update the one sticky comment (found by ``marker``) on a pull request."""
    marker_tag(marker)
    text = _read_body(body)
    if not text.strip():
        raise UserError(f"{body} is empty; there is nothing to post", hint="did the step writing it fail?")
    if heading and heading.strip():
        text = f"## {heading.strip()}\n\n{text}"
    settings = settings_from_env(os.environ)
    number = pull_request_number(os.environ, pr)
    with GitHubClient(settings) as client:
        composed = compose(marker, text, artifact_url)
        outcome = upsert_comment(client, settings.repository, number, marker, composed, settings.author)
    _report("comment", outcome)
    return 0


def issue(
    title: str,
    body: Path | None,
    label: str | None,
    marker: str,
    artifact_url: str | None = None,
    close: bool = False,
    close_if_empty: bool = False,
) -> int:
    """Open or update the one open issue found by ``marker``; close it when asked or ``body`` is empty."""
    marker_tag(marker)
    text = _read_body(body) if body is not None else None
    if text is None and not close:
        raise UserError("--body is required unless --close is given")
    closing = close or (close_if_empty and text is not None and not text.strip())
    if not closing and not title.strip():
        raise UserError("--title must not be empty")
    settings = settings_from_env(os.environ)
    footer = _run_footer()
    with GitHubClient(settings) as client:
        if closing:
            closing_text = _join(CLOSING_TEXT, footer)
            outcome = close_issue(client, settings.repository, marker, closing_text, settings.author)
        else:
            composed = compose(marker, text or "", artifact_url, footer=footer)
            outcome = upsert_issue(
                client, settings.repository, marker, title.strip(), composed, label, settings.author
            )
    _report("issue", outcome)
    return 0


def _read_body(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"cannot read {path}: no such file", hint="write it first, e.g. plan --out") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"cannot read {path}: not UTF-8 text (byte {exc.start})") from None


def _run_footer() -> str:
    url = run_url(os.environ)
    return f"<sub>Last written by [workflow run]({url}).</sub>" if url else ""


def _join(text: str, footer: str) -> str:
    return f"{text}\n\n{footer}" if footer else text


def _report(what: str, outcome: Outcome) -> None:
    if outcome.url is None:
        print(f"{what}: {outcome.action}")
    else:
        print(f"{what} {outcome.action}: {outcome.url}")
