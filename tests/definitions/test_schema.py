"""The shipped schemas through jsonschema-rs: they agree with the reference implementation (python-jsonschema)
on what is valid, and every invalid definition gets at least one located finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from provisioner.definitions import load_definitions
from provisioner.definitions.schema import CONFIG_SCHEMA, KIND_SCHEMAS, check_schema, schema_documents
from provisioner.model import Environment
from tests.mutations import mutated

VALID = {
    "error-rate": {
        "id": "mesh", "kind": "error-rate", "name": "n", "thresholds": {"critical": "5%", "warning": 0.02},
        "scope": ["env:prod"], "group_by": ["service"], "services": ["a", {"service": "b", "min_requests": 5}],
        "overrides": {"prod": {"priority": 1, "options": {"renotify_interval": 5}}},
    },
    "sidecar-injection": {"id": "s", "kind": "sidecar-injection", "name": "n", "window": "5m"},
    "config-propagation": {"id": "c", "kind": "config-propagation", "name": "n", "push_errors": True},
    "circuit-open": {"id": "o", "kind": "circuit-open", "name": "n", "signal": "circuit-breaker", "breakers": ["rq_open"]},
    "monitor": {"id": "m", "kind": "monitor", "name": "n", "type": "query alert", "query": "q > 1",
                "options": {"thresholds": {"critical": 1}, "notify_by": ["*"], "renotify_statuses": ["alert"]}},
    "dashboard": {"id": "d", "kind": "dashboard", "title": "t", "widgets": [
        {"type": "toplist", "query": "q", "limit": 5}, {"definition": {"type": "note"}},
        {"type": "timeseries", "queries": {"a": "x"}, "formula": ["a"]}]},
}  # fmt: skip


@st.composite
def mutated_definitions(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(sorted(VALID)))
    return kind, draw(mutated(VALID[kind]))


def reference_validator(name: str) -> Draft202012Validator:
    registry = Registry().with_resources(
        (file, Resource.from_contents(contents)) for file, contents in schema_documents().items()
    )
    return Draft202012Validator(schema_documents()[name], registry=registry)


REFERENCE = {kind: reference_validator(name) for kind, name in KIND_SCHEMAS.items()}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_definitions())
def test_jsonschema_rs_agrees_with_the_reference_and_explains_every_rejection(case: tuple[str, Any]) -> None:
    kind, instance = case
    findings = check_schema(KIND_SCHEMAS[kind], instance)
    assert (not findings) == REFERENCE[kind].is_valid(instance)
    assert all(finding.hint for finding in findings), [f for f in findings if not f.hint]


VALID_CONFIG = {
    "namespace": "mesh", "default_environment": "prod", "services": ["a"], "istio": {"data_plane": "legacy"},
    "environments": {"prod": {"site": "datadoghq.eu", "tags": ["env:prod"], "notify": ["@x"],
                              "variables": {"cluster": "c"}, "istio": "openmetrics"}},
}  # fmt: skip
CONFIG_REFERENCE = reference_validator(CONFIG_SCHEMA)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(VALID_CONFIG))
def test_every_rejection_of_a_project_config_comes_with_a_hint(config: Any) -> None:
    findings = check_schema(CONFIG_SCHEMA, config)
    assert (not findings) == CONFIG_REFERENCE.is_valid(config)
    assert all(finding.hint for finding in findings), [f for f in findings if not f.hint]


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_examples_pass(kind: str) -> None:
    assert check_schema(KIND_SCHEMAS[kind], VALID[kind]) == []
    assert REFERENCE[kind].is_valid(VALID[kind])


def test_every_shipped_schema_is_valid_draft_2020_12() -> None:
    for schema in schema_documents().values():
        Draft202012Validator.check_schema(schema)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated_definitions())
def test_loading_never_raises_on_bad_definitions(tmp_path: Path, case: tuple[str, Any]) -> None:
    _, instance = case
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(instance), encoding="utf-8")
    definitions = load_definitions([path], Environment(name="prod", variables={"cluster": "c"}))
    assert definitions.ok == (not definitions.errors)
    for problem in definitions.problems:
        assert problem.path == str(path) and problem.line >= 1 and problem.code
    if definitions.ok:
        assert len(definitions.monitors) + len(definitions.dashboards) >= 1
