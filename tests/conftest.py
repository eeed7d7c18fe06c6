"""Shared fixtures: a real Datadog API emulator on loopback, and credentials for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator


@pytest.fixture(autouse=True, scope="session")
def _definition_cache_of_the_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The compiled-definitions cache of every command the tests run (in-process and in subprocesses) is
    this run's own, never the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PROVISIONER_CACHE_DIR", str(tmp_path_factory.mktemp("definition-cache")))
    yield
    mp.undo()


TEST_API_KEY = "test-api-key-0123456789abcdef"
TEST_APP_KEY = "test-app-key-0123456789abcdef0123456789"


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh, empty org served over real HTTP on 127.0.0.1 (rate limits off, no faults)."""
    running = start_emulator(
        EmulatorConfig(api_keys=(TEST_API_KEY,), app_keys=(TEST_APP_KEY,), rate_limits=False)
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def dd_env(monkeypatch: pytest.MonkeyPatch, emulator: RunningEmulator) -> RunningEmulator:
    """Credentials and target in the environment, the way a CI job sets them."""
    monkeypatch.setenv("DD_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("DD_APP_KEY", TEST_APP_KEY)
    monkeypatch.delenv("DD_SITE", raising=False)
    monkeypatch.setenv("PROVISIONER_API_URL", emulator.base_url)
    return emulator


class OutputSchemas:
    """The shipped schemas of the JSON outputs, made strict for tests: an object may hold only the
    fields its schema lists (``unevaluatedProperties: false``), so an undocumented field fails a test
    although the shipped schema lets consumers ignore new fields."""

    def __init__(self) -> None:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource

        from provisioner.report.schemas import OUTPUT_SCHEMAS, output_schema_documents

        documents = {name: _strict(document) for name, document in output_schema_documents().items()}
        registry = Registry().with_resources(
            (name, Resource.from_contents(document)) for name, document in documents.items()
        )
        self._validators = {
            command: Draft202012Validator(documents[name], registry=registry)
            for command, name in OUTPUT_SCHEMAS.items()
        }

    def check(self, command: str, document: Any) -> None:
        errors = [
            f"{list(e.absolute_path)}: {e.message}" for e in self._validators[command].iter_errors(document)
        ]
        assert not errors, f"{command} JSON does not match its schema:\n" + "\n".join(errors[:10])


def _strict(schema: Any, extended: frozenset[str] | None = None) -> Any:
    """A copy with ``unevaluatedProperties: false`` on every object schema that lists properties (or extends
    another), except
    the ones another schema extends through ``allOf`` (their extension is made strict instead)."""
    if extended is None:
        extended = frozenset(ref.split("/")[-1] for ref in _all_of_refs(schema))
    if isinstance(schema, list):
        return [_strict(item, extended) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copied = {}
    for key, value in schema.items():
        if key == "$defs":
            copied[key] = {
                name: (_strict(sub, extended) if name not in extended else _strict_inside(sub, extended))
                for name, sub in value.items()
            }
        else:
            copied[key] = _strict(value, extended)
    if ("properties" in schema or "allOf" in schema) and "additionalProperties" not in schema:
        copied["unevaluatedProperties"] = False
    return copied


def _strict_inside(schema: dict, extended: frozenset[str]) -> dict:
    """Strict below this schema, but not at its own level (an ``allOf`` extension adds fields to it)."""
    copied = _strict(schema, extended)
    copied.pop("unevaluatedProperties", None)
    return copied


def _all_of_refs(schema: Any) -> list[str]:
    if isinstance(schema, list):
        return [ref for item in schema for ref in _all_of_refs(item)]
    if not isinstance(schema, dict):
        return []
    refs = [item["$ref"] for item in schema.get("allOf", []) if isinstance(item, dict) and "$ref" in item]
    return refs + [ref for value in schema.values() for ref in _all_of_refs(value)]


@pytest.fixture(scope="session")
def output_schemas() -> OutputSchemas:
    return OutputSchemas()
