"""Serve in the foreground until Ctrl-C or SIGTERM, then stop cleanly (state flushed)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.running import start_emulator


def serve(
    config: EmulatorConfig, host: str, port: int, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Print the base URL alone on the first line of ``out`` (scripts read it), then block."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with start_emulator(config, host, port) as running:
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
