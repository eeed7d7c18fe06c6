"""What every monitor kind provides, and the body parts every kind shares (name, message, tags...)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from provisioner.definitions.findings import Finding
from provisioner.mesh.catalogue import modes_of
from provisioner.model import CollectionModes, Environment, Json

Fields = Mapping[str, Json]


@dataclass(frozen=True)
class CompileContext:
    environment: Environment
    service: str | None = None  # set for one expansion of a per-service definition
    definition_id: str = ""  # the concrete definition's id (<id> or <id>/<service>): parts are <id>:<part>

    @property
    def modes(self) -> CollectionModes:
        """How the environment's collectors name the mesh metrics."""
        return modes_of(self.environment)


@dataclass(frozen=True)
class CompiledPart:
    """A monitor a definition's composite combines: ``<definition id>:<suffix>``, never notifying."""

    suffix: str
    body: dict[str, Json]


@dataclass(frozen=True)
class CompiledMonitor:
    body: dict[str, Json]
    findings: tuple[Finding, ...] = ()  # pointers are definition field pointers
    signal: str | None = None
    services: tuple[str, ...] = ()
    parts: tuple[CompiledPart, ...] = ()  # with parts, ``body`` is the composite that combines them


@dataclass(frozen=True)
class MonitorKind:
    name: str
    compile: Callable[[Fields, CompileContext], CompiledMonitor]
    field_pointer: Callable[[str], str]  # body pointer → the definition field the user wrote


def same_pointer(body_pointer: str) -> str:
    return body_pointer


def monitor_body(
    fields: Fields, context: CompileContext, monitor_type: str, query: str, options: Mapping[str, Json]
) -> dict[str, Json]:
    """The Datadog monitor body, in the key order Datadog documents."""
    body: dict[str, Json] = {
        "name": str(fields["name"]).strip(),
        "type": monitor_type,
        "query": query.strip(),
        "message": message_with_handles(str(fields.get("message") or ""), context.environment.notify),
        "tags": merged_tags(fields.get("tags") or (), context.environment.tags),
        "priority": _integer(fields.get("priority")),
        "options": dict(options),
    }
    if "restricted_roles" in fields:
        body["restricted_roles"] = fields["restricted_roles"]
    return body


def _integer(value: Json) -> Json:
    """2.0 → 2: Datadog's integer fields refuse floats."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def message_with_handles(message: str, handles: Sequence[str]) -> str:
    """The message with the environment's handles appended (those not already in it), trimmed the way
    Datadog trims it."""
    written = message.split() if handles else ()
    missing = [handle for handle in handles if handle not in written]
    text = message.rstrip()
    if missing:
        text = f"{text}\n\n{' '.join(missing)}" if text else " ".join(missing)
    return text.strip()


def merged_tags(tags: Iterable[Json], environment_tags: Iterable[str]) -> list[str]:
    return sorted({*map(str, tags), *environment_tags})


def ordered_thresholds(values: Mapping[str, float | None]) -> dict[str, Json]:
    order = ("critical", "warning", "critical_recovery", "warning_recovery")
    return {level: values[level] for level in order if values.get(level) is not None}
