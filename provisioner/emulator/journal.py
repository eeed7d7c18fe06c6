"""The org's append-only journal: what changed since the snapshot, shared by every process on the same file.

Files, next to the state file ``S`` (the snapshot, see ``state.py``):

- ``S.journal.000001``, ``S.journal.000002``, ...: segments. The snapshot names the first segment it does not
  contain; the org is the snapshot plus every segment from that one on, replayed in order. Appends go to the
  newest segment. Compaction starts a new segment, writes the snapshot up to it and deletes older segments,
  so writers never wait for a snapshot to be written.
- ``S.lock``: ``flock`` held exclusive to catch up and append (one writer at a time across processes, so ids
  allocated after catching up are unique), shared to catch up for a read.

A segment is lines of ``<crc32 hex> <json>\\n``: a header object first, then one JSON array of changes per
transaction. A line that is unfinished or whose checksum fails ends what is read (a writer killed mid-append
leaves one); the next writer truncates it. An answered write was appended and fsynced before the answer: the
fsync is shared by the writers waiting at the same time (group commit).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JOURNAL_FORMAT = "provisioner-emulator-journal"
JOURNAL_VERSION = 1
_SEGMENT_DIGITS = 6
# The changes of the record stores: the whole record as stored, its removal, everything removed. Every
# collection replays WIPE; other collections (the metric store) may add their own.
PUT, DELETE, WIPE = "put", "delete", "wipe"


class StateFileError(ValueError):
    """The state file or its journal exists but cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Change:
    """One change to one collection of the org: ``op`` on ``key`` with ``value`` (what replay needs)."""

    collection: str
    op: str
    key: Any = None
    value: Any = None


def encode_line(payload: Any) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(data), data)


def decode_line(line: bytes) -> Any:
    """The payload of one line (without its newline), or ``None`` when it is torn or garbage."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    data = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(data):
            return None
        return json.loads(data)
    except ValueError:
        return None


def _changes_of(payload: Any) -> list[Change] | None:
    if not isinstance(payload, list):
        return None
    changes: list[Change] = []
    for item in payload:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("c"), str)
            or not isinstance(item.get("op"), str)
        ):
            return None
        changes.append(Change(item["c"], item["op"], item.get("k"), item.get("v")))
    return changes


def _payload_of(changes: Sequence[Change]) -> list[dict[str, Any]]:
    return [
        {"c": change.collection, "op": change.op, "k": change.key, "v": change.value} for change in changes
    ]


def temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def fsync_folder(folder: Path) -> None:
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


class _GroupCommit:
    """Writers that appended wait for one fsync that started after their append; one of them runs it."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._appended = 0
        self._synced = 0
        self._syncing = False
        self.syncs = 0

    def ticket(self) -> int:
        with self._condition:
            self._appended += 1
            return self._appended

    def mark_synced(self) -> None:
        """Everything appended so far is on disk (a rotation fsynced the segment)."""
        with self._condition:
            self._synced = self._appended
            self._condition.notify_all()

    def wait(self, ticket: int, sync: Any) -> None:
        with self._condition:
            while self._synced < ticket:
                if self._syncing:
                    self._condition.wait()
                    continue
                self._syncing, target = True, self._appended
                self._condition.release()
                try:
                    sync()
                    self._condition.acquire()
                    self._synced = max(self._synced, target)
                    self.syncs += 1
                except BaseException:
                    self._condition.acquire()  # the next waiter retries the fsync
                    raise
                finally:
                    self._syncing = False
                    self._condition.notify_all()


class Journal:
    """This process's view of the journal: the segment and offset read so far, and the file lock.

    Callers hold the org lock around everything but ``wait_durable``, so one descriptor per file is enough.
    """

    def __init__(self, state_path: Path) -> None:
        self._state_path = state_path
        self._folder = state_path.parent
        self._lock_path = state_path.with_name(state_path.name + ".lock")
        self._lock_fd: int | None = None
        self._segment = 1
        self._following_path = str(self.segment_path(2))
        self._fd: int | None = None
        self._fd_guard = threading.Lock()  # a sync never uses a descriptor a rotation is closing
        self._offset = 0
        self._bad_tail_size: int | None = None  # a torn tail already seen (readers do not truncate)
        self._commit = _GroupCommit()
        self.entry_bytes = 0  # bytes of changes since the snapshot, as far as this process has read

    # -- files -------------------------------------------------------------------------------------------
    def segment_path(self, number: int) -> Path:
        return self._state_path.with_name(f"{self._state_path.name}.journal.{number:0{_SEGMENT_DIGITS}d}")

    def segment_numbers(self) -> list[int]:
        pattern = re.compile(
            re.escape(self._state_path.name) + r"\.journal\.(\d{" + str(_SEGMENT_DIGITS) + "})$"
        )
        try:
            names = os.listdir(self._folder)
        except FileNotFoundError:
            return []
        return sorted(int(found.group(1)) for name in names if (found := pattern.match(name)))

    @property
    def segment(self) -> int:
        return self._segment

    @property
    def syncs(self) -> int:
        return self._commit.syncs

    # -- the cross-process lock --------------------------------------------------------------------------
    @contextmanager
    def locked(self, exclusive: bool) -> Iterator[None]:
        self.acquire(exclusive)
        try:
            yield
        finally:
            self.release()

    def acquire(self, exclusive: bool) -> None:
        if self._lock_fd is None:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)

    def release(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # -- reading -----------------------------------------------------------------------------------------
    def start_at(self, first_segment: int) -> None:
        """Position before the first segment the snapshot just loaded does not contain."""
        self._switch_to(first_segment, None, 0)
        self.entry_bytes = 0

    def has_news(self) -> bool:
        """Cheap, without the org lock (a hint: ``read_new`` decides): did anything change since this
        process last read?"""
        with self._fd_guard:  # another thread may be switching segments, closing this descriptor
            if self._fd is None:
                return True  # a segment may have been created since
            status = os.fstat(self._fd)
        if status.st_size != self._offset and status.st_size != self._bad_tail_size:
            return True
        return status.st_nlink == 0 or os.path.exists(self._following_path)

    def read_new(self, repair: bool) -> list[Change] | None:
        """The changes appended since the last read (lock held). ``None``: the journal was compacted past
        this process (its segment is gone), so it must reload the snapshot. ``repair`` (a writer about to
        append): truncate a torn tail."""
        changes: list[Change] = []
        while True:
            if self._fd is None:
                path = self.segment_path(self._segment)
                if not path.exists():
                    # Compaction always leaves a newer segment behind: one means a snapshot passed us by.
                    later = any(number > self._segment for number in self.segment_numbers())
                    return None if later else changes
                self._switch_to(self._segment, *self._open_segment(path))
            changes += self._read_rest(repair)
            if os.path.exists(self._following_path):
                self._switch_to(self._segment + 1, None, 0)
                continue
            if os.fstat(self._fd).st_nlink == 0:  # type: ignore[arg-type]
                return None
            return changes

    def _open_segment(self, path: Path) -> tuple[int, int]:
        """The descriptor of a segment and the offset after its header, which is checked."""
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND)
        head = os.pread(descriptor, 4096, 0)
        end = head.find(b"\n")
        header = decode_line(head[:end]) if end > 0 else None
        problem = None
        if not isinstance(header, dict) or header.get("format") != JOURNAL_FORMAT:
            problem = f"{path}: not a journal of the emulator state {self._state_path.name}"
        elif header.get("version") != JOURNAL_VERSION:
            problem = (
                f"{path}: journal version {header.get('version')!r} was written by another provisioner "
                f"version (this one reads version {JOURNAL_VERSION}); use that version, or move the state "
                f"file and its journal away to start an empty org"
            )
        if problem is not None:
            os.close(descriptor)
            raise StateFileError(problem)
        return descriptor, end + 1

    def _read_rest(self, repair: bool) -> list[Change]:
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size <= self._offset or (size == self._bad_tail_size and not repair):
            return []
        data = os.pread(self._fd, size - self._offset, self._offset)
        changes: list[Change] = []
        good = 0
        while good < len(data):
            end = data.find(b"\n", good)
            parsed = None if end < 0 else _changes_of(decode_line(data[good:end]))
            if parsed is None:
                break
            changes += parsed
            good = end + 1
        self._offset += good
        self.entry_bytes += good
        if good < len(data):
            self._torn_tail(size, len(data) - good, repair)
        return changes

    def _torn_tail(self, size: int, length: int, repair: bool) -> None:
        """What a writer killed mid-append leaves: never replayed, truncated by the next writer."""
        if not repair:
            self._bad_tail_size = size
            return
        assert self._fd is not None
        os.ftruncate(self._fd, self._offset)
        os.fsync(self._fd)
        self._bad_tail_size = None
        where = self.segment_path(self._segment)
        sys.stderr.write(
            f"emulator: dropped {length} bytes of an unfinished journal entry at the end of {where}\n"
        )

    def _switch_to(self, segment: int, descriptor: int | None, offset: int) -> None:
        with self._fd_guard:
            if self._fd is not None and self._fd != descriptor:
                os.close(self._fd)
            self._segment, self._fd, self._offset = segment, descriptor, offset
            self._following_path = str(self.segment_path(segment + 1))  # checked on every request
            self._bad_tail_size = None

    # -- writing (exclusive lock held, caught up) --------------------------------------------------------
    def append(self, changes: Sequence[Change]) -> int:
        """Append one transaction; returns a ticket for ``wait_durable``."""
        if self._fd is None:
            self._switch_to(self._segment, *self._create_segment(self._segment))
        assert self._fd is not None
        line = encode_line(_payload_of(changes))
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: leave nothing half-written behind
            os.ftruncate(self._fd, self._offset)
            raise OSError(f"short write to {self.segment_path(self._segment)}")
        self._offset += len(line)
        self.entry_bytes += len(line)
        return self._commit.ticket()

    def wait_durable(self, ticket: int) -> None:
        """Return once the transaction of ``ticket`` is on disk (fsync shared with concurrent writers)."""
        self._commit.wait(ticket, self._sync_current)

    def _sync_current(self) -> None:
        with self._fd_guard:
            descriptor = None if self._fd is None else os.dup(self._fd)
        if descriptor is not None:
            try:
                os.fdatasync(descriptor)
            finally:
                os.close(descriptor)

    def rotate(self) -> int:
        """Start the next segment (appends go there from now on); returns its number."""
        if self._fd is not None:
            os.fsync(self._fd)
            self._commit.mark_synced()
        following = self._segment + 1
        self._switch_to(following, *self._create_segment(following))
        self.entry_bytes = 0
        return following

    def _create_segment(self, number: int) -> tuple[int, int]:
        path = self.segment_path(number)
        handle, temporary = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=self._folder)
        try:
            os.write(
                handle, encode_line({"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "segment": number})
            )
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temporary, path)
        fsync_folder(self._folder)
        return self._open_segment(path)

    def remove_before(self, first_segment: int) -> None:
        """Delete segments a snapshot now contains (exclusive lock held)."""
        for number in self.segment_numbers():
            if number < first_segment:
                self.segment_path(number).unlink(missing_ok=True)

    def close(self) -> None:
        self._switch_to(self._segment, None, 0)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
