"""Keeping the org in a file across restarts.

Writes are atomic: the whole org goes to a temporary file in the same folder, which is fsynced and then
moved over the state file with ``os.replace`` (and the folder fsynced), so a reader, or a restart after a
kill at any instant, sees either the previous complete file or the new complete file, never a torn one.

Writes are coalesced by one background thread: a mutation only marks the org dirty. The thread waits
``coalesce_s`` (default 50 ms) to gather a burst, snapshots the org (a shallow copy under the org lock;
records are never mutated in place) and writes it. Durability window: a mutation that was answered is on
disk at most ``coalesce_s`` plus one write later; ``stop()`` (Ctrl-C, SIGTERM, ``RunningEmulator.stop``)
flushes what is pending. A SIGKILL can lose the writes of that last window, never the file.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, TextIO

from provisioner.emulator.org import Org, OrgSnapshot

STATE_FORMAT = "provisioner-emulator-state"
STATE_VERSION = 1


class StateFileError(ValueError):
    """The state file exists but cannot be used; the message names the file and the problem."""


def read_state(path: Path) -> OrgSnapshot | None:
    """The stored org, or None when there is no state file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read the emulator state ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateFileError(f"{path}: not an emulator state file (invalid JSON: {exc})") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != STATE_FORMAT
        or data.get("version") != STATE_VERSION
    ):
        raise StateFileError(f"{path}: not an emulator state file of version {STATE_VERSION}")
    return OrgSnapshot(
        monitors=data["monitors"],
        dashboards=data["dashboards"],
        metrics=data.get("metrics"),
        evaluations=data.get("evaluations"),
        clock_s=data.get("clock_s"),
    )


def write_state(path: Path, snapshot: OrgSnapshot) -> None:
    """Atomically replace the state file with this snapshot (records are streamed, one at a time)."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", buffering=1 << 20) as stream:
            _write_document(stream, snapshot)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _write_document(stream: TextIO, snapshot: OrgSnapshot) -> None:
    stream.write(f'{{"format":"{STATE_FORMAT}","version":{STATE_VERSION},"monitors":[')
    _write_records(stream, snapshot.monitors)
    stream.write('],"dashboards":[')
    _write_records(stream, snapshot.dashboards)
    stream.write("]")
    for section in ("metrics", "evaluations", "clock_s"):  # optional sections, absent in older files
        value = getattr(snapshot, section)
        if value is not None:
            stream.write(f',"{section}":{json.dumps(value, separators=(",", ":"))}')
    stream.write("}")


def _write_records(stream: TextIO, records: list[Any]) -> None:
    for index, record in enumerate(records):
        if index:
            stream.write(",")
        stream.write(json.dumps(record, separators=(",", ":")))


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files left by a killed writer (the state file itself is always whole)."""
    for leftover in path.parent.glob(f"{_temporary_prefix(path)}*.tmp"):
        leftover.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename is still atomic
    finally:
        os.close(descriptor)


class StateWriter:
    """Background writer that coalesces mutations into whole-file atomic writes."""

    def __init__(self, path: Path, org: Org, coalesce_s: float = 0.05) -> None:
        self._path = path
        self._org = org
        self._coalesce_s = coalesce_s
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._write_lock = threading.Lock()  # the one lock: a single writer at a time
        self._thread = threading.Thread(target=self._run, name="emulator-state-writer", daemon=True)
        self.writes = 0
        org.on_change(self._dirty.set)

    def start(self) -> None:
        _remove_stale_temporaries(self._path)
        self._thread.start()

    def flush(self) -> None:
        """Write now if anything changed since the last write."""
        with self._write_lock:
            if not self._dirty.is_set():
                return
            self._dirty.clear()
            write_state(self._path, self._org.snapshot())
            self.writes += 1

    def stop(self) -> None:
        self._stopping.set()
        self._dirty.set()  # wake the thread so it can exit
        self._thread.join(timeout=30)
        self._dirty.set()  # the final flush always writes, so the file reflects the stopped org
        self.flush()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            if self._stopping.is_set():
                return
            self._stopping.wait(self._coalesce_s)
            try:
                self.flush()
            except OSError as exc:  # keep serving; the next mutation retries the write
                sys.stderr.write(f"emulator: cannot write the state file {self._path}: {exc}\n")
