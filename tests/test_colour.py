"""Colour is decided in one place: NO_COLOR, then FORCE_COLOR, then TERM=dumb and CI, then the terminal."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest

from provisioner.report.colour import colour_enabled, interactive, styler


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environ", "tty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # only a non-empty NO_COLOR counts (no-color.org)
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": ""}, False, False),
        ({"FORCE_COLOR": "1", "TERM": "dumb", "CI": "true"}, False, True),
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "xterm-256color"}, True, True),
        ({"CI": "true"}, True, False),
        ({"CI": "false"}, True, True),
        ({"CI": "0"}, True, True),
    ],
)
def test_the_order_of_the_rules(environ: dict[str, str], tty: bool, expected: bool) -> None:
    stream = Terminal() if tty else io.StringIO()
    assert colour_enabled(stream, environ) is expected


def test_progress_bars_only_on_a_plain_terminal() -> None:
    assert interactive(Terminal(), {})
    assert not interactive(io.StringIO(), {})
    assert not interactive(Terminal(), {"CI": "true"})
    assert not interactive(Terminal(), {"TERM": "dumb"})
    assert not interactive(Terminal(), {"FORCE_COLOR": "1", "CI": "1"})  # forcing colour animates nothing


def test_styling() -> None:
    assert styler(True)("x", "red") == "\x1b[31mx\x1b[0m"
    assert styler(False)("x", "red") == "x"


def _error_on_a_terminal(extra: dict[str, str]) -> bytes:
    """stderr of a real `provisioner` process whose stderr is a pseudo-terminal."""
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CI", "TERM")}
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "provisioner", "validate", "--config", "missing.yaml"],
            stdout=subprocess.DEVNULL, stderr=secondary, env=environ | {"TERM": "xterm"} | extra,
            check=False, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1
        return os.read(primary, 4096)
    finally:
        os.close(primary)
        os.close(secondary)


@pytest.mark.parametrize(
    ("extra", "coloured"),
    [({}, True), ({"CI": "true"}, False)],  # the other rules: test_the_order_of_the_rules
)
def test_errors_on_a_real_terminal(extra: dict[str, str], coloured: bool) -> None:
    output = _error_on_a_terminal(extra)
    assert b"config file missing.yaml not found" in output
    assert (b"\x1b[31m" in output) is coloured
