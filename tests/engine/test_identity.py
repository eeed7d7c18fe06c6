"""The ownership marks: either one alone finds the resource; the fingerprint survives the round trip."""

from __future__ import annotations

from dataclasses import replace

from provisioner import identity
from provisioner.model import MonitorSpec, SourceLocation
from provisioner.normalize import canonical_monitor

SPEC = MonitorSpec(
    definition_id="mesh-error-rate/checkout",
    kind="error-rate",
    body={
        "name": "Errors",
        "type": "query alert",
        "query": "q > 1",
        "message": "Page @pagerduty-mesh",
        "tags": ["a:b"],
    },
    source=SourceLocation("monitors/mesh.yaml", 1, 1),
)


def test_marked_body_carries_both_marks() -> None:
    body = identity.marked_monitor_body(SPEC, "team-a")
    assert (
        "provisioner-ns:team-a" in body["tags"] and "provisioner-id:mesh-error-rate/checkout" in body["tags"]
    )
    mark = identity.read_monitor_mark(body)
    assert mark is not None
    assert (mark.namespace, mark.definition_id, mark.has_tags, mark.has_marker) == (
        "team-a",
        "mesh-error-rate/checkout",
        True,
        True,
    )
    assert identity.fingerprint_digests("monitor", mark.fingerprint) is not None


def test_marker_alone_still_finds_the_monitor() -> None:
    body = identity.marked_monitor_body(SPEC, "team-a")
    body["tags"] = ["a:b"]
    mark = identity.read_monitor_mark(body)
    assert mark is not None and mark.definition_id == "mesh-error-rate/checkout" and not mark.has_tags


def test_tags_alone_still_find_the_monitor() -> None:
    body = identity.marked_monitor_body(SPEC, "team-a")
    body["message"] = "rewritten by hand"
    mark = identity.read_monitor_mark(body)
    assert mark is not None and mark.definition_id == "mesh-error-rate/checkout" and mark.fingerprint is None


def test_strip_marks_gives_back_the_definition_body() -> None:
    body = identity.marked_monitor_body(SPEC, "team-a")
    stripped = identity.strip_monitor_marks({**body, "message": body["message"] + "\n"})
    assert stripped["message"] == SPEC.body["message"]
    assert stripped["tags"] == ["a:b"]


def test_unmarked_monitor_has_no_mark() -> None:
    assert identity.read_monitor_mark({"message": "hello", "tags": ["team:x"]}) is None


def test_group_of_pointer_prefers_the_finest_group() -> None:
    assert identity.group_of("monitor", "/options/thresholds/critical") == "/options/thresholds"
    assert identity.group_of("monitor", "/options/renotify_interval") == "/options"
    assert identity.group_of("monitor", "/query") == "/query"


def test_a_spec_fingerprint_is_its_body_s_and_never_outlives_the_body() -> None:
    """Computed once per spec (the cache keeps it); a spec made by ``replace`` with another body gets its own."""
    spec = replace(SPEC)
    expected = identity.fingerprint_of("monitor", canonical_monitor(SPEC.body).body)
    assert identity.spec_fingerprint(spec) == expected
    identity.remember_fingerprint(spec, "1" + "0" * 36)  # what a cache would hand back
    assert identity.spec_fingerprint(spec) == "1" + "0" * 36 and spec == SPEC  # not a field: equality holds
    edited = replace(spec, body={**spec.body, "query": "q > 2"})
    assert identity.spec_fingerprint(edited) == identity.fingerprint_of(
        "monitor", canonical_monitor(edited.body).body
    )
    assert identity.spec_fingerprint(edited) != expected
