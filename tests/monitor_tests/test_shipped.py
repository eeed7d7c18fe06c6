"""The shipped monitors against data: ``provisioner test`` on monitors/tests/ passes, every shipped monitor
has a test, and a critical threshold ten times too high makes a shipped test fail, saying why."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.config import load_config, select_environment
from provisioner.definitions import load_definitions
from provisioner.monitor_tests.cases import DEFAULT_TEST_FOLDER, load_tests

REPO = Path(__file__).resolve().parents[2]
FAILURE = re.compile(
    r"^monitors/tests/[\w.-]+\.yaml:\d+: [\w./:-]+( \[[^\]]+\])? at \d+m: .+ "
    r"(is (OK|Warn|Alert|No Data)|has no state \(no evaluation saw it\)), expected (never )?[\w ]+ "
    r"\(.*value -?[\d.e+-]+ [<>=!]+ (critical|warning)(_recovery)? -?[\d.e+-]+ over \d+[mhd].*\)$"
)


def run_tests(root: Path, monkeypatch: pytest.MonkeyPatch, *paths: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["test", *paths])
    return result.exit_code, result.output


def test_the_shipped_monitor_tests_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = run_tests(REPO, monkeypatch)
    assert code == 0, output
    assert re.search(r"^\d+ tests: (\d+) passed, 0 failed", output, re.MULTILINE), output


def test_every_shipped_monitor_has_a_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    config = load_config(None)
    definitions = load_definitions([], select_environment(config, None), config)
    shipped = {spec.definition_id.split("/")[0] for spec in definitions.monitors if spec.part_of is None}
    tested = {test.monitor.split("/")[0] for test in load_tests([DEFAULT_TEST_FOLDER]).tests}
    assert shipped - tested == set()


# A definition with a nonzero critical threshold, and the test file that covers it.
MUTATED = [
    ("error-rate.yaml", "mesh-error-rate"),
    ("error-rate.yaml", "checkout-path-error-rate"),
    ("config-propagation.yaml", "istio-config-propagation"),
    ("circuit-open.yaml", "upstream-overflow"),
]


def ten_times(value: Any) -> Any:
    if isinstance(value, str) and value.endswith("%"):
        return f"{float(value[:-1]) * 10:g}%"
    return value * 10


def raise_critical(definition: dict[str, Any]) -> None:
    """Every critical threshold of a mesh definition ten times higher: its own, its services', its
    overrides'."""
    places = [definition, *(s for s in definition.get("services", []) if isinstance(s, dict))]
    places += list((definition.get("overrides") or {}).values())
    changed = 0
    for place in places:
        thresholds = place.get("thresholds") or {}
        if thresholds.get("critical"):
            thresholds["critical"] = ten_times(thresholds["critical"])
            changed += 1
    assert changed, f"{definition['id']} has no nonzero critical threshold"


@pytest.mark.parametrize(("test_file", "definition_id"), MUTATED, ids=[d for _, d in MUTATED])
def test_a_critical_threshold_ten_times_higher_fails_a_shipped_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_file: str, definition_id: str
) -> None:
    shutil.copytree(REPO / "monitors", tmp_path / "monitors")
    shutil.copy(REPO / "provisioner.yaml", tmp_path / "provisioner.yaml")
    for path in (tmp_path / "monitors").glob("*.yaml"):
        documents = list(yaml.safe_load_all(path.read_text()))
        definitions = [d for doc in documents for d in (doc if isinstance(doc, list) else [doc])]
        if any(d.get("id") == definition_id for d in definitions):
            raise_critical(next(d for d in definitions if d.get("id") == definition_id))
            path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    code, output = run_tests(tmp_path, monkeypatch, f"monitors/tests/{test_file}")
    failures = [line for line in output.splitlines() if line.startswith("monitors/tests/")]
    assert code == 1, output
    assert failures and all(FAILURE.match(line) for line in failures), "\n".join(failures)
