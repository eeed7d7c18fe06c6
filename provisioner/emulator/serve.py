"""Serve in the foreground until Ctrl-C or SIGTERM, then stop cleanly (the --state journal compacted)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.running import start_emulator


def serve(
    config: EmulatorConfig,
    host: str,
    port: int,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Call ``on_ready`` with the base URL (e.g. to submit demo data), print the URL alone on the first line
    of ``out`` (scripts read it: the emulator is ready then), then block."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with start_emulator(config, host, port) as running, _advertised(config, running.base_url):
            if on_ready is not None:
                on_ready(running.base_url)
            out.write(running.base_url + "\n")
            out.flush()
            where = f"; org kept in {config.state_path}" if config.state_path else ""
            err.write(f"Datadog API emulator serving at {running.base_url}{where}. Ctrl-C stops it.\n")
            err.flush()
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err.write("emulator stopped\n")
    return 0


def url_file_for(state_path: Path) -> Path:
    """Where a serving emulator writes its base URL, next to its state file, so that other programs
    working on the same org (``provisioner plan --emulator``) talk to it instead of opening the file."""
    return state_path.with_name(state_path.name + ".url")


@contextmanager
def _advertised(config: EmulatorConfig, base_url: str) -> Iterator[None]:
    if config.state_path is None:
        yield
        return
    url_file = url_file_for(config.state_path)
    # Written whole or not at all: a reader never sees half a URL.
    partial = url_file.with_name(f"{url_file.name}.{os.getpid()}.tmp")
    partial.write_text(base_url + "\n", encoding="utf-8")
    os.replace(partial, url_file)
    try:
        yield
    finally:
        url_file.unlink(missing_ok=True)
