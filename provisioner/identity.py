"""The one ownership scheme: how a Datadog resource says which definition it comes from.

A managed monitor carries two marks, so that either one alone still finds it after a hand edit:
- tags ``provisioner-ns:<namespace>`` and ``provisioner-id:<definition id>``;
- a marker line at the end of its message:
  ``[provisioner ns=<namespace> id=<definition id> fp=<fingerprint>] Managed in git by provisioner; ...``

A managed dashboard carries the marker line at the end of its description (Datadog allows only
``team:`` tags on dashboards, so tags cannot carry it).

The fingerprint records what was last applied, one short digest per field group, so that a plan
can tell a change made in code from a change made by hand in Datadog, field group by field group.

A definition may compile to a composite and its parts: each part is a monitor of its own, with the id
``<definition id>:<part>``. A composite's query names the monitors it combines by definition id,
``@{<definition id>}``, and apply puts their Datadog ids in (engine/references.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from provisioner.model import DashboardSpec, Json, JsonObject, MonitorSpec, ResourceKind

NAMESPACE_TAG = "provisioner-ns"
DEFINITION_TAG = "provisioner-id"
FINGERPRINT_VERSION = "1"
_DIGEST_CHARS = 4

_MARKER_RE = re.compile(
    r"\[provisioner ns=(?P<ns>[a-z0-9._-]+) id=(?P<id>[a-z0-9._/:-]+)(?: fp=(?P<fp>[0-9a-f]+))?\]"
)
PART_SEPARATOR = ":"  # never in a definition id, nor in a service name: "<id>:<part>" is unambiguous
REFERENCE_RE = re.compile(r"@\{(?P<id>[a-z0-9][a-z0-9._/:-]*)\}")
_MARKER_LINE_RE = re.compile(r"\s*^[^\n]*\[provisioner ns=[^\]\n]*\][^\n]*$", re.MULTILINE)
_MARKER_NOTE = "Managed in git by provisioner; edits made here are reported as drift and reverted."

# Field groups the fingerprint records, as RFC 6901 pointers into the canonical body.
# A change's group is the longest group pointer that is a prefix of the change's pointer.
FINGERPRINT_GROUPS: Mapping[ResourceKind, tuple[str, ...]] = {
    "monitor": (
        "/name",
        "/type",
        "/query",
        "/message",
        "/tags",
        "/priority",
        "/options/thresholds",
        "/options",
        "/restricted_roles",
    ),
    "dashboard": (
        "/title",
        "/description",
        "/layout_type",
        "/reflow_type",
        "/widgets",
        "/template_variables",
        "/template_variable_presets",
        "/notify_list",
        "/tags",
        "/restricted_roles",
    ),
}


@dataclass(frozen=True)
class Mark:
    """What a live resource says about its owner. Either source may be missing after a hand edit."""

    namespace: str
    definition_id: str
    fingerprint: str | None  # None when the marker line is gone
    has_tags: bool
    has_marker: bool


# --- marking desired bodies ----------------------------------------------------------------


def marked_monitor_body(spec: MonitorSpec, namespace: str) -> dict[str, Json]:
    """The body apply sends: the compiled definition plus both identity marks."""
    body = dict(spec.body)
    fingerprint = spec_fingerprint(spec)
    body["message"] = _with_marker(body.get("message") or "", namespace, spec.definition_id, fingerprint)
    body["tags"] = sorted(set(body.get("tags") or ()) | set(identity_tags(namespace, spec.definition_id)))
    return body


def marked_dashboard_body(spec: DashboardSpec, namespace: str) -> dict[str, Json]:
    body = dict(spec.body)
    fingerprint = spec_fingerprint(spec)
    body["description"] = _with_marker(
        body.get("description") or "", namespace, spec.definition_id, fingerprint
    )
    return body


def identity_tags(namespace: str, definition_id: str) -> tuple[str, str]:
    return (f"{NAMESPACE_TAG}:{namespace}", f"{DEFINITION_TAG}:{definition_id}")


def definition_tag(definition_id: str) -> str:
    return f"{DEFINITION_TAG}:{definition_id}"


def _with_marker(text: str, namespace: str, definition_id: str, fingerprint: str) -> str:
    marker = f"[provisioner ns={namespace} id={definition_id} fp={fingerprint}] {_MARKER_NOTE}"
    text = strip_marker(text)
    return f"{text}\n\n{marker}" if text else marker


def part_id(definition_id: str, part: str) -> str:
    return f"{definition_id}{PART_SEPARATOR}{part}"


def reference(definition_id: str) -> str:
    """How a composite's query names the monitor of a definition: ``@{<definition id>}``."""
    return "@{" + definition_id + "}"


def referenced_ids(query: str) -> tuple[str, ...]:
    """The definition ids a composite's query names, in order."""
    return tuple(match["id"] for match in REFERENCE_RE.finditer(query))


def substitute_references(query: str, datadog_id: Callable[[str], str | None]) -> str:
    """The query with each ``@{id}`` replaced by ``datadog_id(id)`` (kept where that is None)."""

    def replaced(match: re.Match[str]) -> str:
        found = datadog_id(match["id"])
        return match[0] if found is None else found

    return REFERENCE_RE.sub(replaced, query)


# --- reading live bodies --------------------------------------------------------------------


def read_monitor_mark(body: JsonObject) -> Mark | None:
    return _read_mark(body.get("message"), _tag_values(body.get("tags")))


def read_dashboard_mark(body: JsonObject) -> Mark | None:
    return _read_mark(body.get("description"), {})


def _read_mark(text: Json, tags: Mapping[str, str]) -> Mark | None:
    match = _MARKER_RE.search(text) if isinstance(text, str) else None
    tag_ns, tag_id = tags.get(NAMESPACE_TAG), tags.get(DEFINITION_TAG)
    has_tags = bool(tag_ns and tag_id)
    if match is None and not has_tags:
        return None
    if has_tags:
        namespace, definition_id = str(tag_ns), str(tag_id)
    else:
        assert match is not None
        namespace, definition_id = match["ns"], match["id"]
    has_marker = match is not None and (match["ns"], match["id"]) == (namespace, definition_id)
    fingerprint = match["fp"] if has_marker and match is not None else None
    return Mark(namespace, definition_id, fingerprint, has_tags, has_marker)


def _tag_values(tags: Json) -> dict[str, str]:
    values: dict[str, str] = {}
    for tag in tags if isinstance(tags, list) else ():  # a saved plan's body may say anything
        key, _, value = str(tag).partition(":")
        if key in (NAMESPACE_TAG, DEFINITION_TAG) and value:
            values.setdefault(key, value)
    return values


def strip_monitor_marks(body: JsonObject) -> dict[str, Json]:
    """The live body as a definition would have produced it: marker line and identity tags removed."""
    out = dict(body)
    if isinstance(out.get("message"), str):
        out["message"] = strip_marker(out["message"])
    if isinstance(out.get("tags"), list):
        out["tags"] = [
            t for t in out["tags"] if str(t).partition(":")[0] not in (NAMESPACE_TAG, DEFINITION_TAG)
        ]
    return out


def strip_dashboard_marks(body: JsonObject) -> dict[str, Json]:
    out = dict(body)
    if isinstance(out.get("description"), str):
        out["description"] = strip_marker(out["description"])
    return out


def strip_marker(text: str) -> str:
    return _MARKER_LINE_RE.sub("", text).strip()


# --- fingerprints ---------------------------------------------------------------------------


def fingerprint_of(kind: ResourceKind, canonical: JsonObject) -> str:
    return FINGERPRINT_VERSION + "".join(_digest(_value_of(canonical, g)) for g in _GROUPS[kind])


_KNOWN_FINGERPRINT = "_fingerprint"  # an attribute of a spec, not a field: ``replace`` never copies it


def spec_fingerprint(spec: MonitorSpec | DashboardSpec, canonical: JsonObject | None = None) -> str:
    """The fingerprint of the spec's body (``canonical``: its canonical form, if at hand), computed once
    per spec: a pure function of the compiled body, which the compiled-definitions cache keeps too (nine
    digests per monitor are a third of a plan's compare)."""
    known: str | None = spec.__dict__.get(_KNOWN_FINGERPRINT)
    if known is None:
        monitor = isinstance(spec, MonitorSpec)
        if canonical is None:
            from provisioner.normalize import canonical_dashboard, canonical_monitor  # validate needs neither

            canonical = (canonical_monitor if monitor else canonical_dashboard)(spec.body).body
        known = fingerprint_of("monitor" if monitor else "dashboard", canonical)
        remember_fingerprint(spec, known)
    return known


def remember_fingerprint(spec: MonitorSpec | DashboardSpec, fingerprint: str) -> None:
    """Keeps ``spec_fingerprint(spec)`` on the spec (frozen: set as dataclasses set fields). A spec made
    from another one by ``dataclasses.replace`` starts without it, whatever its body."""
    object.__setattr__(spec, _KNOWN_FINGERPRINT, fingerprint)


def fingerprint_digests(kind: ResourceKind, fingerprint: str | None) -> dict[str, str] | None:
    """The recorded digest of each field group, or None when the fingerprint is missing or foreign."""
    groups = FINGERPRINT_GROUPS[kind]
    if not fingerprint or not fingerprint.startswith(FINGERPRINT_VERSION):
        return None
    body = fingerprint[len(FINGERPRINT_VERSION) :]
    if len(body) != _DIGEST_CHARS * len(groups):
        return None
    return {g: body[i * _DIGEST_CHARS : (i + 1) * _DIGEST_CHARS] for i, g in enumerate(groups)}


def group_digest(kind: ResourceKind, canonical: JsonObject, group: str) -> str:
    return _digest(group_value(kind, canonical, group))


def group_of(kind: ResourceKind, pointer: str) -> str:
    matches = [g for g in FINGERPRINT_GROUPS[kind] if pointer == g or pointer.startswith(g + "/")]
    return max(matches, key=len) if matches else pointer


def finer_group_keys(kind: ResourceKind, group: str) -> frozenset[str]:
    """Keys under a group's value that finer groups cover (for "/options": {"thresholds"})."""
    return frozenset(g[len(group) + 1 :] for g in FINGERPRINT_GROUPS[kind] if g.startswith(group + "/"))


@dataclass(frozen=True)
class _Group:
    parts: tuple[str, ...]  # the pointer's path
    finer: frozenset[str]  # keys left to finer groups


_GROUPS: Mapping[ResourceKind, tuple[_Group, ...]] = {
    kind: tuple(_Group(tuple(g.strip("/").split("/")), finer_group_keys(kind, g)) for g in groups)
    for kind, groups in FINGERPRINT_GROUPS.items()
}


def group_value(kind: ResourceKind, canonical: JsonObject, group: str) -> Json:
    """The value a group covers: the value at its pointer, minus the parts finer groups cover."""
    return _value_of(canonical, _Group(tuple(group.strip("/").split("/")), finer_group_keys(kind, group)))


def _value_of(canonical: JsonObject, group: _Group) -> Json:
    value: Json = canonical
    for part in group.parts:
        value = value.get(part) if isinstance(value, Mapping) else None
    if group.finer and isinstance(value, Mapping):
        value = {k: v for k, v in value.items() if k not in group.finer}
    return value


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)  # built once: plans digest a lot


def _digest(value: Json) -> str:
    import hashlib  # here, not at the top: validate digests nothing, and hashlib loads OpenSSL (3 ms)

    encoded = _ENCODER.encode(value).encode()
    return hashlib.blake2b(encoded, digest_size=4).hexdigest()[:_DIGEST_CHARS]
