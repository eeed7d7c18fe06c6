"""Whether output is coloured (or animated), decided in this one place, and the ANSI styling itself.

The first rule that applies wins, in the order CPython 3.13 uses for its own tracebacks:
1. ``NO_COLOR`` set and not empty (no-color.org): never colour.
2. ``FORCE_COLOR`` set and not empty (force-color.org): colour, even into a pipe or a file.
3. ``TERM=dumb``: no colour.
4. ``CI`` set (and not ``false``/``0``): no colour. CI logs are captured into files and step summaries,
   where escape codes are noise; ``FORCE_COLOR=1`` turns colour back on for a CI that renders it.
5. Otherwise: colour only when the stream is a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TextIO

Style = Callable[[str, str], str]  # (text, colour name) -> text

_SGR = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36}


def colour_enabled(stream: TextIO | None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether text written to ``stream`` gets colour."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return _plain_terminal(stream, environ)


def interactive(stream: TextIO | None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` may show a progress bar: a terminal that is neither dumb nor a CI runner's."""
    return _plain_terminal(stream, os.environ if environ is None else environ)


def styler(enabled: bool) -> Style:
    """``style(text, "red")``: the text in that colour when enabled, else the text unchanged."""
    if not enabled:
        return plain
    return lambda text, colour: f"\x1b[{_SGR[colour]}m{text}\x1b[0m" if text else text


def plain(text: str, _colour: str) -> str:
    return text


def _plain_terminal(stream: TextIO | None, environ: Mapping[str, str]) -> bool:
    if environ.get("TERM") == "dumb" or _in_ci(environ):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _in_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() not in ("", "false", "0")
