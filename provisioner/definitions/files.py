"""Which files hold definitions: the paths given (files, or folders searched for *.yaml / *.yml), or by
default the monitors/ and dashboards/ folders of the current directory. A ``tests`` folder inside a
searched folder holds monitor tests (``provisioner test``), not definitions, and is not searched.

Only regular files are read, each at most MAX_FILE_BYTES (``read_text``, before any parsing). A *.yaml
entry that is a symbolic link loop, a broken link, a FIFO, a device or a socket is reported as a warning
and skipped (never opened: a FIFO would block). Folders linked from inside a searched folder are searched
too, each at most once.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from provisioner.model import Problem, Severity

DEFAULT_FOLDERS = ("monitors", "dashboards")
MAX_FILE_BYTES = 4 * 1024 * 1024
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
TESTS_FOLDER = "tests"  # inside a searched folder: monitor tests (provisioner test), not definitions


def find_definition_files(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    if not paths:
        paths = [Path(folder) for folder in DEFAULT_FOLDERS if Path(folder).is_dir()]
        if not paths:
            message = "no monitors/ or dashboards/ folder in the current directory"
            hint = "run from the repository root, or pass definition files or folders"
            return [], [Problem(".", 1, 1, "", "no-definitions", "error", message, hint)]
    files: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found, skipped = _yaml_files(path)
            problems.extend(skipped)
        else:
            found, problems_of_path = _given_file(path)
            problems.extend(problems_of_path)
        for file in found:
            files.setdefault(os.path.abspath(file), file)
    return list(files.values()), problems


def _given_file(path: Path) -> tuple[list[Path], list[Problem]]:
    reason = _not_a_regular_file(path)
    if reason is None:
        return [path], []
    if reason == _MISSING:
        hint = "pass existing definition files or folders"
        return [], [_problem(path, "path-not-found", "no such file or folder", hint, "error")]
    return [], [_skipped(path, reason, "error")]


def _yaml_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    found: list[Path] = []
    problems: list[Problem] = []
    searched = {_identity(folder)}
    for directory, folders, names in os.walk(folder, followlinks=True):
        here = Path(directory)
        real_first = sorted(folders, key=lambda name: (os.path.islink(here / name), name))
        folders[:] = [name for name in real_first if _search_folder(here / name, searched, problems)]
        for name in names:
            path = here / name
            if name.startswith(".") or path.suffix not in YAML_SUFFIXES:
                continue
            reason = _not_a_regular_file(path)
            if reason is None:
                found.append(path)
            else:
                problems.append(_skipped(path, reason, "warning"))
    return sorted(found), problems


def _search_folder(path: Path, searched: set[tuple[int, int]], problems: list[Problem]) -> bool:
    """Whether to descend into ``path``: not hidden, not monitor tests, and not a folder already searched
    (a link loop)."""
    if path.name.startswith(".") or path.name == TESTS_FOLDER:
        return False
    identity = _identity(path)
    if identity in searched:
        message = "skipped: a symbolic link to a folder already searched (a loop?)"
        problems.append(_problem(path, "symlink-loop", message, "remove the link", "warning"))
        return False
    searched.add(identity)
    return True


def _identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


_MISSING = "missing"
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))  # fmt: skip


def _not_a_regular_file(path: Path) -> str | None:
    """None for a regular file (or a link to one), else why it cannot be read as one."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that loops"
        if path.is_symlink():
            return "a broken symbolic link"
        return _MISSING if exc.errno == errno.ENOENT else f"unreadable ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "something else")
    return f"{kind}, not a regular file"


def _skipped(path: Path, reason: str, severity: Severity) -> Problem:
    message = f"skipped: {reason}" if severity == "warning" else reason
    code = "symlink-loop" if "loops" in reason else "not-a-file"
    return _problem(path, code, message, "definitions are regular YAML files", severity)


def _problem(path: Path, code: str, message: str, hint: str, severity: Severity) -> Problem:
    return Problem(display_path(path), 1, 1, "", code, severity, message, hint)


def display_path(path: Path, here: str | None = None) -> str:
    """The path relative to the current directory (``here``, if at hand) when it is below it, else as given."""
    here = here or os.getcwd()
    absolute = os.path.abspath(path)
    if absolute.startswith(here + os.sep):
        return absolute[len(here) + 1 :].replace(os.sep, "/")
    return path.as_posix()


def read_text(path: Path, display: str) -> tuple[str, Problem | None]:
    """The file's UTF-8 text, read only when it is a regular file within MAX_FILE_BYTES."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO named *.yaml must not hang us
    except OSError as exc:
        return "", _file_problem(display, "unreadable", f"cannot read: {exc.strerror}")
    try:  # on the descriptor itself: a file object around it costs more than the read of a small file
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return "", _file_problem(
                display, "not-a-file", "not a regular file", "pass YAML files or folders"
            )
        # Sized by the file: a read of the limit allocates the limit, for every file. One byte more tells
        # a file that grew since fstat (or reports no size, as /proc does): then on up to the limit.
        content = _read(descriptor, min(status.st_size, MAX_FILE_BYTES) + 1)
        if len(content) > status.st_size:
            content += _read(descriptor, MAX_FILE_BYTES + 1 - len(content))
    finally:
        os.close(descriptor)
    if len(content) > MAX_FILE_BYTES:
        size = max(status.st_size, len(content))
        message = f"the file is {size / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB"
        return "", _file_problem(
            display, "file-too-large", message, "split the definitions into several files"
        )
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return "", _encoding_problem(display, content, exc)


def _read(descriptor: int, count: int) -> bytes:
    """Up to ``count`` bytes: fewer only at the end of the file (a read may return less than asked)."""
    chunks = []
    while count > 0:
        chunk = os.read(descriptor, count)
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _file_problem(display: str, code: str, message: str, hint: str = "") -> Problem:
    return Problem(display, 1, 1, "", code, "error", message, hint)


def _encoding_problem(display: str, content: bytes, exc: UnicodeDecodeError) -> Problem:
    line_start = content.rfind(b"\n", 0, exc.start) + 1
    line = content.count(b"\n", 0, exc.start) + 1
    col = len(content[line_start : exc.start].decode("utf-8", errors="replace")) + 1
    message = f"not UTF-8 text: byte 0x{content[exc.start]:02x} ({exc.reason})"
    return Problem(display, line, col, "", "encoding", "error", message, "save the file as UTF-8")
