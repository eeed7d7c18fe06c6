"""Compiled definitions kept between runs, per definition file, for runs that read the same files again
(the hourly drift job, a plan after a plan, the pre-commit hook after a one-file change); and the checked
contents of provisioner.yaml (``cached_reading``), so that such a run reads no YAML and checks no schema.

An entry is used only when everything its result depends on is what it was: the file's text and the path
problems name it by, the environment it was compiled for (namespace, variables, tags, notify, collection
modes...), the environments provisioner.yaml declares, and provisioner's own code and libraries (the
names, sizes and modification times of the installed package's files, the YAML reader's and the schema
validator's, so an upgrade or an edited checkout never reads an entry another version wrote). Anything
else is a miss, compiled as without a cache. Nothing else is read: a definition reads no environment
variable and no file but its own.

The cache is JSON, never pickle: reading a cache file runs no code. It lives outside the repository
(``$PROVISIONER_CACHE_DIR``, else ``$XDG_CACHE_HOME/provisioner``, else ``~/.cache/provisioner``), one file
per project folder and environment, so a file committed to the repository can never stand in for the
definitions. ``PROVISIONER_CACHE=off`` turns it off. A file that cannot be read or written is ignored.
"""

from __future__ import annotations

import functools
import importlib.machinery
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from provisioner import __version__, identity
from provisioner.definitions.compiled import CompiledDefinition, CompiledFile, DefinitionId
from provisioner.definitions.references import Referrer
from provisioner.model import DashboardSpec, Environment, Json, MonitorSpec, Problem, SourceLocation

CACHE_SWITCH = "PROVISIONER_CACHE"  # "off" (or 0, false, no): compile every file on every run
CACHE_DIR = "PROVISIONER_CACHE_DIR"
_FORMAT = "2"  # 2: each spec keeps its fingerprint
_PACKAGE = Path(__file__).resolve().parents[1]


def default_cache_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_SWITCH, "").strip().lower() in {"off", "0", "false", "no"}:
        return None
    if environ.get(CACHE_DIR):
        return Path(environ[CACHE_DIR])
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "provisioner"


class DefinitionCache:
    """The entries for one project folder and environment; ``save`` keeps the ones this run used."""

    def __init__(
        self,
        directory: Path,
        environment: Environment,
        known_environments: Sequence[str],
        code_version: str | None = None,
    ) -> None:
        self._context = _digest(
            _FORMAT,
            code_version if code_version is not None else installed_code_fingerprint(),
            repr(environment),
            repr(tuple(known_environments)),
        )
        self._path = directory / f"definitions-{_digest(os.getcwd(), repr(environment))[:24]}.json"
        self._stored = self._read()
        self._used: dict[str, Json] = {}
        self.hits = self.misses = 0

    def compiled(self, display: str, text: str, compile_file: Callable[[], CompiledFile]) -> CompiledFile:
        """The file's compiled definitions: from the cache when nothing they depend on changed."""
        key = _digest(self._context, display, text)
        stored = self._stored.get(key)
        if stored is not None:
            try:
                result = _decode_file(stored)
            except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                result = None  # written by something else: compiled again below
            if result is not None:
                self.hits += 1
                self._used[key] = stored
                return result
        self.misses += 1
        result = compile_file()
        self._used[key] = _encode_file(result)
        return result

    def save(self) -> None:
        """Keeps the entries of this run's files (a removed file's entry goes), when anything changed."""
        if not self.misses and len(self._used) == len(self._stored):
            return
        _write_json(self._path, {"format": _FORMAT, "entries": self._used})

    def _read(self) -> dict[str, Json]:
        stored = _read_json(self._path)
        if not isinstance(stored, dict) or stored.get("format") != _FORMAT:
            return {}
        entries = stored.get("entries")
        return entries if isinstance(entries, dict) else {}


def cached_reading(
    directory: Path, name: str, display: str, text: str, read: Callable[[], dict[str, Json]]
) -> dict[str, Json]:
    """The mapping ``read()`` makes of a file whose text is ``text`` (provisioner.yaml's checked data): from
    the cache when this provisioner read the same text, named ``display``, before. One entry per ``name``
    and project folder. ``read`` raises on bad input; nothing is kept then."""
    key = _digest(_FORMAT, installed_code_fingerprint(), display, text)
    path = directory / f"{name}-{_digest(os.getcwd())[:24]}.json"
    stored = _read_json(path)
    if isinstance(stored, dict) and stored.get("format") == _FORMAT and stored.get("key") == key:
        data = stored.get("data")
        if isinstance(data, dict):
            return data
    data = read()
    _write_json(path, {"format": _FORMAT, "key": key, "data": data})
    return data


def _read_json(path: Path) -> Json:
    """A cache file's JSON; None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Json) -> None:
    import tempfile  # only when writing: 5 ms of imports

    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(value, separators=(",", ":")))
        os.replace(temporary, path)  # readers see the old file or the new one, never half
    except OSError:  # a cache that cannot be written costs the next run its reading, nothing else
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


@functools.cache
def installed_code_fingerprint() -> str:
    """``code_fingerprint()`` of the running provisioner, computed once per process."""
    return code_fingerprint()


def code_fingerprint(package: Path = _PACKAGE) -> str:
    """What the compiled result depends on besides the input: the path, size and modification time (ns)
    of provisioner's own files (code, schemas), and the same of the files of the libraries that read and
    check definitions. Python's bytecode cache trusts less (size and whole seconds): code these stamps do
    not tell apart from the code that wrote an entry is, for Python too, the same code."""
    import hashlib  # only with the cache on: hashlib loads OpenSSL (3 ms)

    digest = hashlib.blake2b(
        f"{__version__} {_library_files('yaml')} {_library_files('jsonschema_rs')}".encode()
    )
    for directory, folders, names in os.walk(package):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".json")):
                path = os.path.join(directory, name)
                status = os.stat(path)
                digest.update(
                    f"{os.path.relpath(path, package)} {status.st_size} {status.st_mtime_ns}\0".encode()
                )
    return digest.hexdigest()


def _library_files(name: str) -> str:
    """The name, size and modification time of each file of an installed library's package (its version
    and its compiled extension), found without importing it: a run the cache serves does not load it."""
    spec = importlib.machinery.PathFinder.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return ""
    with os.scandir(spec.submodule_search_locations[0]) as entries:
        files = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.is_file())
    return repr(files)


def _digest(*parts: str) -> str:
    import hashlib  # only with the cache on: hashlib loads OpenSSL (3 ms)

    digest = hashlib.blake2b()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


# --- JSON form: lists in the fields' order ---------------------------------------------------------

_MONITOR_FIELDS = tuple(f.name for f in fields(MonitorSpec))
_DASHBOARD_FIELDS = tuple(f.name for f in fields(DashboardSpec))
_MONITOR_SOURCE, _MONITOR_SERVICES = _MONITOR_FIELDS.index("source"), _MONITOR_FIELDS.index("services")
_DASHBOARD_SOURCE = _DASHBOARD_FIELDS.index("source")


def _encode_file(compiled: CompiledFile) -> Json:
    return {
        "definitions": [_encode_definition(d) for d in compiled.definitions],
        "problems": [_values(problem, _PROBLEM_FIELDS) for problem in compiled.problems],
    }


def _decode_file(stored: Any) -> CompiledFile:
    return CompiledFile(
        tuple(_decode_definition(d) for d in stored["definitions"]),
        tuple(Problem(*values) for values in stored["problems"]),
    )


def _encode_definition(definition: CompiledDefinition) -> Json:
    return [
        _values(definition.definition_id, _ID_FIELDS) if definition.definition_id else None,
        [_encode_spec(spec) for spec in definition.specs],
        _values(definition.referrer, _REFERRER_FIELDS) if definition.referrer else None,
    ]


def _decode_definition(stored: Any) -> CompiledDefinition:
    definition_id, specs, referrer = stored
    return CompiledDefinition(
        DefinitionId(*definition_id) if definition_id is not None else None,
        tuple(_decode_spec(spec) for spec in specs),
        Referrer(*referrer) if referrer is not None else None,
    )


def _encode_spec(spec: MonitorSpec | DashboardSpec) -> Json:
    """[kind, fingerprint, *fields]: the fingerprint of the body is kept with it, a plan compares it."""
    kind = "monitor" if isinstance(spec, MonitorSpec) else "dashboard"
    values = _values(spec, _MONITOR_FIELDS if kind == "monitor" else _DASHBOARD_FIELDS)
    return [
        kind,
        identity.spec_fingerprint(spec),
        *(_values(v, _SOURCE_FIELDS) if isinstance(v, SourceLocation) else v for v in values),
    ]


def _decode_spec(stored: Any) -> MonitorSpec | DashboardSpec:
    kind, fingerprint, *values = stored
    monitor = kind == "monitor"
    if len(values) != len(_MONITOR_FIELDS if monitor else _DASHBOARD_FIELDS):
        raise ValueError("written by another version")
    source = _MONITOR_SOURCE if monitor else _DASHBOARD_SOURCE
    values[source] = SourceLocation(*values[source])
    if monitor:
        values[_MONITOR_SERVICES] = tuple(values[_MONITOR_SERVICES])
    spec = MonitorSpec(*values) if monitor else DashboardSpec(*values)
    identity.remember_fingerprint(spec, str(fingerprint))
    return spec


def _values(value: Any, names: Sequence[str]) -> list[Json]:
    return [getattr(value, name) for name in names]


_ID_FIELDS = tuple(f.name for f in fields(DefinitionId))
_REFERRER_FIELDS = tuple(f.name for f in fields(Referrer))
_PROBLEM_FIELDS = tuple(f.name for f in fields(Problem))
_SOURCE_FIELDS = tuple(f.name for f in fields(SourceLocation))
