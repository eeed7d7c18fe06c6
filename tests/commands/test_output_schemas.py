"""Every JSON output has a JSON Schema shipped in the package, written by `provisioner schema`; each real
output validates against it (the strict test variant: no field the schema does not list)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from jsonschema import Draft202012Validator

if TYPE_CHECKING:
    from conftest import Cli, OutputSchemas

from provisioner.emulator import RunningEmulator
from provisioner.report.schemas import OUTPUT_SCHEMAS, output_schema_documents

REPO = Path(__file__).resolve().parents[2]
CLEAN = """\
kind: monitor
id: checkout-latency
name: checkout latency
type: metric alert
query: avg(last_5m):avg:app.request.latency{service:checkout} > 2
message: Slow. @slack-mesh-oncall
options:
  thresholds: {critical: 2}
"""


@pytest.mark.parametrize("name", sorted(output_schema_documents()))
def test_each_shipped_schema_is_a_valid_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(output_schema_documents()[name])


def test_schema_writes_the_output_schemas_next_to_the_definition_schemas(tmp_path: Path, cli: Cli) -> None:
    code, output = cli("schema", "--out", str(tmp_path / "schemas"))
    assert code == 0, output
    written = {p.name for p in (tmp_path / "schemas").iterdir()}
    assert set(OUTPUT_SCHEMAS.values()) | {"output-common.json", "definition.json"} <= written
    for name in OUTPUT_SCHEMAS.values():
        assert json.loads((tmp_path / "schemas" / name).read_text()) == output_schema_documents()[name]


def test_validate_json_with_and_without_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli, output_schemas: OutputSchemas
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "m.yaml").write_text("kind: error-rate\nid: Bad Id\n")
    code, broken = cli.json("validate", "--format", "json")
    assert code == 1
    output_schemas.check("validate", broken)
    assert broken["summary"]["errors"] == len(broken["problems"]) > 0
    (tmp_path / "monitors" / "m.yaml").write_text(CLEAN)
    code, clean = cli.json("validate", "--format", "json")
    assert code == 0
    output_schemas.check("validate", clean)
    assert clean == {"format_version": 1, "summary": {"errors": 0, "warnings": 0, "files": 1}, "problems": []}


def test_the_printed_schema_stands_alone_and_validates_a_real_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator, cli: Cli
) -> None:
    monkeypatch.chdir(tmp_path)
    for folder in ("monitors", "dashboards"):
        (tmp_path / folder).mkdir()
        for source in (REPO / folder).glob("*.yaml"):
            (tmp_path / folder / source.name).write_text(source.read_text())
    (tmp_path / "provisioner.yaml").write_text((REPO / "provisioner.yaml").read_text())
    _, printed = cli("schema", "--json-output", "plan")
    schema = json.loads(printed)
    code, plan = cli.json("plan", "--format", "json")
    assert code == 0 and plan["summary"]["create"] == 24  # 23 monitors (composites and their parts), 1 dashboard
    Draft202012Validator(schema).validate(plan)  # no registry: the shared definitions are embedded
    plan["changes"][0]["action"] = "rename"
    assert not Draft202012Validator(schema).is_valid(plan)


def test_the_strict_check_refuses_a_field_the_schema_does_not_list(output_schemas: OutputSchemas) -> None:
    document = {"format_version": 1, "summary": {"errors": 0, "warnings": 0, "files": 0}, "problems": []}
    output_schemas.check("validate", document)
    document["summary"]["infos"] = 0
    with pytest.raises(AssertionError, match="'infos' was unexpected"):
        output_schemas.check("validate", document)
