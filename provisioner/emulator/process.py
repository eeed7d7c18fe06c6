"""Run an emulator in a child process (``python -m provisioner.emulator``), for benchmarks and kill tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO


class EmulatorProcessError(RuntimeError):
    """The child did not start; the message carries its stderr."""


@dataclass
class EmulatorChild:
    base_url: str
    popen: subprocess.Popen[str]
    _stderr: IO[str]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: no compaction, no cleanup (what a crash looks like; answered writes are in the journal)."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM (a clean stop that compacts ``--state``), SIGKILL if it does not end in time."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._stderr.close()
        return self.popen.returncode


def start_emulator_process(*args: str, startup_timeout_s: float = 20.0) -> EmulatorChild:
    """Start ``python -m provisioner.emulator --port 0 ARGS`` and wait for the base URL it prints."""
    stderr = tempfile.TemporaryFile("w+", encoding="utf-8")
    popen = subprocess.Popen(
        [sys.executable, "-m", "provisioner.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base_url = _first_line(popen, startup_timeout_s)
    if not base_url.startswith("http://"):
        popen.kill()
        popen.wait()
        stderr.seek(0)
        raise EmulatorProcessError(f"the emulator child did not start: {stderr.read().strip() or base_url!r}")
    return EmulatorChild(base_url, popen, stderr)


@contextmanager
def emulator_process(*args: str, startup_timeout_s: float = 20.0) -> Iterator[str]:
    """``with emulator_process("--no-rate-limits") as base_url: ...``; the child is stopped on exit."""
    child = start_emulator_process(*args, startup_timeout_s=startup_timeout_s)
    try:
        yield child.base_url
    finally:
        child.stop()


def _first_line(popen: subprocess.Popen[str], timeout_s: float) -> str:
    assert popen.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(popen.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    return lines[0].strip() if lines else ""
