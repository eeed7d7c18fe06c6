"""What README.md and docs/ show: fenced blocks, shell commands (in ``bash``, ``sh`` and ``console`` blocks, and
inline code spans that start with ``provisioner``), headings and their anchors. The shell lines are read into
commands by ``tests/github/pipeline.py``, which reads the workflows' scripts the same way."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
SHELL_LANGUAGES = frozenset({"bash", "sh", "console"})
# A synopsis names options rather than showing a command: `provisioner plan [--env E] [--format text|json]`.
_SYNOPSIS = re.compile(r"[\[(|…]|\.\.\.")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


@dataclass(frozen=True)
class Shown:
    """One shell command line as a document shows it."""

    path: Path
    line: int
    text: str
    inline: bool  # an inline code span, not a line of a fenced block

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    @property
    def synopsis(self) -> bool:
        return self.inline and bool(_SYNOPSIS.search(self.text))


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence, language = opening.groups()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[index + 1 : end]]
        found.append(Block(path, index + 1, language.lower(), "\n".join(body)))
        index = end + 1
    return found


def prose_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The lines outside fenced blocks, numbered from 1."""
    fenced: set[int] = set()
    for block in blocks(path):
        fenced.update(range(block.line, block.line + block.text.count("\n") + 3))
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if number not in fenced:
            yield number, line


def shell_lines(block: Block) -> Iterator[Shown]:
    """The commands of a shell block, continuation lines joined; a console block's prompt removed and its
    output lines skipped."""
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(block.text.splitlines(), start=block.line + 1):
        line = raw
        if block.language == "console":
            if not line.startswith("$ ") and not pending:
                continue
            line = line.removeprefix("$ ")
        if not pending:
            start = offset
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        if not _complete(" ".join([*pending, line])):  # a quoted string goes on on the next line
            pending.append(line)
            continue
        text = " ".join([*pending, line]).strip()
        pending = []
        if text and not text.startswith("#"):
            yield Shown(block.path, start, text, inline=False)


def _complete(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return False
    return True


def shown_commands(path: Path) -> list[Shown]:
    """Every shell command the document shows: block lines and inline `provisioner …` spans."""
    found = [
        shown for block in blocks(path) if block.language in SHELL_LANGUAGES for shown in shell_lines(block)
    ]
    for number, line in prose_lines(path):
        for span in _INLINE_CODE.findall(line):
            if span.startswith("provisioner "):
                found.append(Shown(path, number, span.replace("\\|", "|"), inline=True))
    return found


def all_shown() -> list[Shown]:
    return [shown for path in DOCUMENTS for shown in shown_commands(path)]


def section(path: Path, heading: str) -> str:
    """The text under a ``## heading``, up to the next heading of that level."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n") + len(heading) + 5
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def headings(path: Path) -> list[str]:
    return [line.lstrip("#").strip() for _, line in prose_lines(path) if re.match(r"^#{1,6} ", line)]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces to ``-``."""
    text = re.sub(r"<[^>]+>", "", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in headings(path):
        base = anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found
