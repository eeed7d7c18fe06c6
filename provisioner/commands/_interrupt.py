"""Ctrl-C (SIGINT) and SIGTERM (a CI job cancelled) while apply writes.

The first signal stops new writes from starting: requests in flight finish (or time out), workers
waiting for a rate-limit reset give up, and apply prints what was done, what failed and what was
not started, then exits 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupt:
    def __init__(self) -> None:
        self.signal: int | None = None

    @property
    def reason(self) -> str:
        return f"interrupted ({signal.Signals(self.signal).name})" if self.signal is not None else ""

    @property
    def exit_code(self) -> int:
        assert self.signal is not None
        return EXIT_CODES[signal.Signals(self.signal)]


@contextmanager
def finish_in_flight_on_signal(on_first: Callable[[str], None]) -> Iterator[Interrupt]:
    """Within the block, SIGINT and SIGTERM set the yielded ``Interrupt`` and call ``on_first``
    (with the reason) instead of raising; a second one ends the process. Outside the main thread
    (where signals cannot be caught) nothing changes."""
    interrupt = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if interrupt.signal is not None:
            sys.stdout.flush()
            sys.stderr.write(
                "\nInterrupted again: exiting now. Writes in flight may or may not have been applied.\n"
            )
            sys.stderr.flush()
            os._exit(EXIT_CODES[signal.Signals(signum)])
        interrupt.signal = signum
        on_first(interrupt.reason)

    previous = {signum: signal.signal(signum, handle) for signum in EXIT_CODES}
    try:
        yield interrupt
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
