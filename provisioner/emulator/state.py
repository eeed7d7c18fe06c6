"""Keeping the org in a file: a snapshot plus an append-only journal, safe to share between processes.

- **Durable answers.** A write is appended to the journal (``journal.py``) and fsynced before it is
  answered; writers waiting at the same time share the fsync. The cost of a write is its own record, never
  the size of the org.
- **Compaction.** In the background once the journal outgrows the snapshot (and at least
  ``compact_after_bytes``), at a clean stop, and on ``POST /_emulator/flush``: the journal moves on to a new
  segment, the snapshot is written beside it (temporary file, fsync, ``os.replace``, folder fsync) and
  older segments are deleted. A kill at any point leaves either the old snapshot and every segment, or the
  new snapshot and possibly stale segments, which are ignored.
- **Sharing.** Every process that opens the same state file (``provisioner emulator --state``, each
  ``--emulator`` command) reads and writes the same journal: a write catches up with the others under an
  exclusive ``flock`` before it runs (so ids stay unique), a read catches up first. A process that only
  reads never writes a file (beyond creating the lock file).
- **Versions.** Snapshots of version 1 (whole-file writes, no journal) are read and upgraded at the next
  compaction; a snapshot or journal of an unknown version is refused with a message naming the file.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from provisioner.emulator.journal import Change, Journal, StateFileError, fsync_folder, temporary_prefix
from provisioner.emulator.org import Org, OrgSnapshot

__all__ = ["STATE_FORMAT", "STATE_VERSION", "StateFileError", "StateKeeper", "read_state", "write_state"]

STATE_FORMAT = "provisioner-emulator-state"
STATE_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_HEADER_KEYS = frozenset({"format", "version", "journal"})


@dataclass(frozen=True)
class StoredState:
    snapshot: OrgSnapshot
    first_segment: int  # the first journal segment the snapshot does not contain
    size: int  # bytes of the snapshot file


def read_state(path: Path, collections: tuple[str, ...]) -> StoredState | None:
    """The stored snapshot of an org keeping these collections, or None when there is no state file yet."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read the emulator state ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateFileError(f"{path}: not an emulator state file (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise StateFileError(f"{path}: not an emulator state file")
    version = data.get("version")
    if version not in _READABLE_VERSIONS:
        raise StateFileError(
            f"{path}: emulator state version {version!r} was written by another provisioner version (this "
            f"one reads versions {', '.join(map(str, _READABLE_VERSIONS))}); use that version, or move the "
            f"file away to start an empty org"
        )
    sections = {key: value for key, value in data.items() if key not in _HEADER_KEYS}
    unknown = sorted(set(sections) - set(collections))
    if unknown:
        raise StateFileError(
            f"{path}: holds {', '.join(unknown)}, which this provisioner version does not keep; use the "
            f"version that wrote it"
        )
    journal = data.get("journal")  # version 1 had none: its org is whole in the file
    first_segment = journal.get("first_segment") if isinstance(journal, dict) else 1
    if isinstance(first_segment, bool) or not isinstance(first_segment, int) or first_segment < 1:
        raise StateFileError(f"{path}: the journal position is missing or not a segment number")
    return StoredState(OrgSnapshot(sections), first_segment, len(text))


def write_state(path: Path, snapshot: OrgSnapshot, first_segment: int) -> int:
    """Atomically replace the state file with this snapshot (records are streamed one at a time); returns
    its size."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", buffering=1 << 20) as stream:
            _write_document(stream, snapshot, first_segment)
            stream.flush()
            os.fsync(stream.fileno())
            size = os.fstat(stream.fileno()).st_size
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_folder(folder)
    return size


def _write_document(stream: TextIO, snapshot: OrgSnapshot, first_segment: int) -> None:
    stream.write(f'{{"format":"{STATE_FORMAT}","version":{STATE_VERSION},')
    stream.write(f'"journal":{{"first_segment":{first_segment}}}')
    for name, section in snapshot.sections.items():
        stream.write(f",{json.dumps(name)}:")
        if isinstance(section, list):
            stream.write("[")
            for index, item in enumerate(section):
                stream.write("," if index else "")
                stream.write(json.dumps(item, separators=(",", ":")))
            stream.write("]")
        else:
            stream.write(json.dumps(section, separators=(",", ":")))
    stream.write("}")


class StateKeeper:
    """The org's ``ChangeStore``: loads the state at start, journals every write, compacts."""

    def __init__(self, path: Path, org: Org, compact_after_bytes: int) -> None:
        self._path = path
        self._org = org
        self._compact_after_bytes = compact_after_bytes
        self._journal = Journal(path)
        self._compact_lock_path = path.with_name(path.name + ".compact-lock")
        self._snapshot_size = 0
        self._wrote = False  # this process appended something since it last compacted
        self._holding = False
        self._compaction_wanted = threading.Event()
        self._stopping = threading.Event()
        self._compactor: threading.Thread | None = None
        self.compactions = 0
        org.keep_changes_in(self)

    @property
    def fsyncs(self) -> int:
        """fsyncs run for answered writes (fewer than the writes when they were grouped)."""
        return self._journal.syncs

    def load(self) -> None:
        """The snapshot, then every journal entry after it (a torn last entry is ignored)."""
        try:
            with self._org.lock, self._journal.locked(exclusive=False):
                self._reload()
        except BaseException:
            self._journal.close()
            raise

    # -- ChangeStore -------------------------------------------------------------------------------------
    def begin(self) -> None:
        self._journal.acquire(exclusive=True)
        self._holding = True
        try:
            self._catch_up(repair=True)
        except BaseException:
            self._leave()
            raise

    def commit(self, changes: Sequence[Change]) -> Callable[[], None] | None:
        try:
            ticket = self._journal.append(changes) if changes else None
        finally:
            self._leave()
        if ticket is None:
            return None
        self._wrote = True
        if self._journal.entry_bytes > max(self._compact_after_bytes, self._snapshot_size):
            self._want_compaction()
        return lambda: self._journal.wait_durable(ticket)

    def refresh(self) -> None:
        if not self._journal.has_news():
            return
        with self._org.lock, self._journal.locked(exclusive=False):
            self._catch_up(repair=False)

    def _leave(self) -> None:
        if self._holding:
            self._holding = False
            self._journal.release()

    def _catch_up(self, repair: bool) -> None:
        for _attempt in range(5):
            changes = self._journal.read_new(repair)
            if changes is not None:
                self._apply(changes)
                return
            self._reload()  # compacted past us: start again from the new snapshot
        raise StateFileError(f"{self._path}: the journal keeps moving on while it is read; try again")

    def _reload(self) -> None:
        stored = read_state(self._path, self._org.collection_names)
        self._org.restore(stored.snapshot if stored else OrgSnapshot())
        self._snapshot_size = stored.size if stored else 0
        self._journal.start_at(stored.first_segment if stored else 1)
        changes = self._journal.read_new(repair=False)
        if changes is None:
            raise StateFileError(f"{self._path}: the journal segments after the snapshot are missing")
        self._apply(changes)

    def _apply(self, changes: Sequence[Change]) -> None:
        known = self._org.collection_names
        for change in changes:
            if change.collection not in known:
                raise StateFileError(
                    f"{self._journal.segment_path(self._journal.segment)}: holds changes to "
                    f"{change.collection}, which this provisioner version does not keep; use the version "
                    f"that wrote it"
                )
        self._org.replay(changes)

    # -- compaction --------------------------------------------------------------------------------------
    def compact(self, wait: bool = False) -> bool:
        """Fold the journal into the snapshot; False when there was nothing to fold, or another process is
        compacting (and ``wait`` is off)."""
        self._compact_lock_path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._compact_lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return self._compact_holding_the_lock()
        finally:
            os.close(descriptor)  # releases the flock

    def _compact_holding_the_lock(self) -> bool:
        with self._org.lock, self._journal.locked(exclusive=True):
            _remove_temporaries(self._path)  # left by a killed writer: nobody else is writing one now
            self._catch_up(repair=True)
            if self._journal.entry_bytes == 0 and self._path.exists():
                self._journal.remove_before(self._journal.segment)
                return False
            snapshot = self._org.snapshot()
            first_segment = self._journal.rotate()
            self._wrote = False  # what it wrote is in this snapshot; later writes go to the new segment
        self._snapshot_size = write_state(self._path, snapshot, first_segment)
        with self._org.lock, self._journal.locked(exclusive=True):
            self._journal.remove_before(first_segment)
        self.compactions += 1
        return True

    def _want_compaction(self) -> None:
        if self._compactor is None:
            self._compactor = threading.Thread(target=self._compact_when_asked, name="emulator-compactor")
            self._compactor.daemon = True
            self._compactor.start()
        self._compaction_wanted.set()

    def _compact_when_asked(self) -> None:
        while True:
            self._compaction_wanted.wait()
            if self._stopping.is_set():
                return
            self._compaction_wanted.clear()
            try:
                self.compact()
            except (OSError, StateFileError) as exc:  # keep serving: the journal still holds every write
                sys.stderr.write(f"emulator: cannot compact the state file {self._path}: {exc}\n")

    # -- life cycle --------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the snapshot now (``POST /_emulator/flush``)."""
        self.compact(wait=True)

    def stop(self) -> None:
        """A clean stop: compact what this process wrote (a process that only read writes nothing)."""
        self._stopping.set()
        self._compaction_wanted.set()
        if self._compactor is not None:
            self._compactor.join(timeout=60)
        try:
            if self._wrote:
                self.compact()
        finally:
            self._journal.close()


def _remove_temporaries(path: Path) -> None:
    for leftover in path.parent.glob(f"{temporary_prefix(path)}*.tmp"):
        leftover.unlink(missing_ok=True)
