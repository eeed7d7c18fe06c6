"""Sticky bodies: the hidden marker that finds them again, and the cut that keeps them under the limit."""

from __future__ import annotations

import re

from provisioner.errors import UserError

# GitHub rejects an issue or comment body longer than this ("Body is too long (maximum is 65536 characters)").
GITHUB_BODY_LIMIT = 65_536
# Cut at a line break when one is this close to the cut, so a table row or a diff line stays whole.
_LINE_BREAK_WINDOW = 4_000
_MARKER_NAME = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")
_MARKER_MAX = 100
_FENCE = "```"


def marker_tag(marker: str) -> str:
    """The hidden HTML comment that identifies a sticky comment or issue: ``<!-- provisioner-plan -->``."""
    if len(marker) > _MARKER_MAX or not _MARKER_NAME.match(marker):
        raise UserError(
            f"invalid marker {marker!r}: use letters and digits joined by single '-', '_' or '.' "
            f"(at most {_MARKER_MAX} characters)",
            hint="for example --marker provisioner-plan",
        )
    return f"<!-- {marker} -->"


def github_length(text: str) -> int:
    """Length as GitHub may count it: UTF-16 code units, never fewer than Python's code points."""
    return len(text.encode("utf-16-le")) // 2


def compose(
    marker: str,
    text: str,
    artifact_url: str | None = None,
    footer: str = "",
    limit: int = GITHUB_BODY_LIMIT,
) -> str:
    """The marker line, then ``text`` (cut with a note when needed), then ``footer``; never over ``limit``."""
    head = marker_tag(marker) + "\n"
    tail = f"\n\n{footer}" if footer else ""
    whole = head + text + tail
    if github_length(whole) <= limit:
        return whole
    widest_note = _cut_note(len(text), len(text), artifact_url, limit)
    budget = limit - github_length(head + tail + widest_note) - len(_FENCE) - 1
    if budget < 0:
        raise UserError(f"the footer and the marker alone exceed GitHub's limit of {limit} characters")
    kept = _close_open_fence(_cut(text, budget))
    composed = head + kept + _cut_note(len(kept), len(text), artifact_url, limit) + tail
    assert github_length(composed) <= limit, "cut body still over the limit"
    return composed


def _cut(text: str, budget: int) -> str:
    """The longest prefix of ``text`` within ``budget`` (GitHub length), ending at a nearby line break."""
    prefix = text[:budget]
    while (excess := github_length(prefix) - budget) > 0:
        prefix = prefix[: len(prefix) - excess]
    line_break = prefix.rfind("\n")
    if line_break >= 0 and len(prefix) - line_break <= _LINE_BREAK_WINDOW:
        prefix = prefix[: line_break + 1]
    return prefix


def _close_open_fence(text: str) -> str:
    """Close a code block left open by the cut, so the note below renders as text."""
    fences = sum(1 for line in text.splitlines() if line.lstrip().startswith(_FENCE))
    if fences % 2 == 0:
        return text
    return text + ("" if text.endswith("\n") else "\n") + _FENCE


def _cut_note(kept: int, total: int, artifact_url: str | None, limit: int) -> str:
    where = (
        f"[Download the full text]({artifact_url}) (a build artifact of this run)."
        if artifact_url
        else "The full text is kept as a build artifact of this workflow run."
    )
    return (
        f"\n\n---\n> [!WARNING]\n> **Cut to fit GitHub's limit of {limit:,} characters:** "
        f"showing the first {kept:,} of {total:,} characters. {where}"
    )
