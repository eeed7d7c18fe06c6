"""validate, render and schema through the real CLI (CliRunner on provisioner.cli.app, and one subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from provisioner.cli import app

REPO = Path(__file__).resolve().parents[2]
BROKEN = (
    "id: x\nkind: error-rate\nname: n\nthresholds: {critical: 5%, warning: 10%}\nmessage: '@x'\nsource: istio\n"
)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


@pytest.mark.parametrize("env", ["staging", "production"])
def test_the_shipped_definitions_are_valid(in_repo: Path, env: str) -> None:
    result = CliRunner().invoke(app, ["validate", "monitors", "dashboards", "--env", env])
    assert result.exit_code == 0, result.output
    # The only warnings: monitors whose metrics need Istio set-up beyond Datadog's default install.
    warnings = [line for line in result.output.splitlines() if " warning [" in line]
    assert warnings and all("warning [needs-mesh-setup]" in line for line in warnings), result.output
    assert result.output.endswith(f"0 errors, {len(warnings)} warnings in 6 files\n")


def test_render_compiles_the_four_mesh_kinds_to_real_queries(in_repo: Path) -> None:
    result = CliRunner().invoke(app, ["render", "monitors", "--env", "production"])
    assert result.exit_code == 0, result.output
    rendered = json.loads(result.stdout)
    assert rendered["istio"] == {
        "data_plane": "legacy",
        "control_plane": "openmetrics",
        "envoy": "openmetrics",
        "set_up": [],
    }
    queries: dict[str, list[str]] = {m["kind"]: [] for m in rendered["monitors"]}
    for monitor in rendered["monitors"]:
        payload = monitor["payload"]
        queries[monitor["kind"]].append(payload["query"])
        assert f"provisioner-id:{monitor['definition_id']}" in payload["tags"]
        part = ":" in monitor["definition_id"]  # a composite's part never notifies; everything else does
        assert ("@pagerduty-mesh-oncall" in payload["message"]) is not part
    assert set(queries) == {
        "error-rate",
        "sidecar-injection",
        "config-propagation",
        "circuit-open",
        "monitor",
    }
    assert "@{mesh-error-rate:ratio} && @{mesh-error-rate:traffic}" in queries["error-rate"]
    assert any("trace.envoy.proxy.errors{env:production}" in q for q in queries["error-rate"])
    assert any("istio.mesh.request.count.total{reporter:destination" in q for q in queries["error-rate"])
    assert (
        "istio.sidecar_injection.failure.count{kube_cluster_name:mesh-prod-eu1}"
        in queries["sidecar-injection"][0]
    )
    assert any(
        "istio.pilot.xds.pushes.count{kube_cluster_name:mesh-prod-eu1,type:*senderr}" in q
        for q in queries["config-propagation"]
    )
    assert any("envoy.cluster.outlier_detection.ejections_active" in q for q in queries["circuit-open"])
    ids = [m["definition_id"] for m in rendered["monitors"]]
    assert {"checkout-path-error-rate/checkout", "checkout-path-error-rate/payments:ratio"} <= set(ids)


def test_render_of_the_dashboard(in_repo: Path) -> None:
    result = CliRunner().invoke(app, ["render", "dashboards"])
    (dashboard,) = json.loads(result.stdout)["dashboards"]
    titles = [w["definition"]["title"] for w in dashboard["payload"]["widgets"]]
    assert titles == [
        "Request count by destination", "Top request destinations", "Average request latency by destination (ms)",
        "Top latency destinations (average ms)", "Request count by resource", "Top request resources",
        "Error count by resource", "Top error resources", "5xx errors by destination",
        "p95 latency by destination route (APM; resource = <host>:<port><path>)",
    ]  # fmt: skip
    assert dashboard["payload"]["title"] == "Istio mesh: traffic, latency, errors (staging)"


def test_render_refuses_broken_definitions(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(BROKEN)
    result = CliRunner().invoke(app, ["render", str(tmp_path / "m.yaml")])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "[warning-above-critical] /thresholds/warning" in result.stderr


def test_validate_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.yaml").write_text(BROKEN)
    as_json = CliRunner().invoke(app, ["validate", "m.yaml", "--format", "json"])
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert (document["format_version"], document["summary"]) == (1, {"errors": 1, "warnings": 0, "files": 1})
    (problem,) = document["problems"]
    assert (problem["filename"], problem["line"], problem["col"], problem["code"]) == (
        "m.yaml",
        4,
        37,
        "warning-above-critical",
    )
    assert as_json.stderr == "1 error, 0 warnings in 1 file\n"
    github = CliRunner().invoke(app, ["validate", "m.yaml", "--format", "github"])
    assert github.stdout.startswith(
        "::error file=m.yaml,line=4,col=37,title=warning-above-critical::/thresholds/warning: "
    )


def test_validate_bad_usage_and_missing_paths(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["validate", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert "[path-not-found]" in missing.output
    usage = CliRunner().invoke(app, ["validate", "--format", "xml"])
    assert usage.exit_code == 1
    unknown_env = CliRunner().invoke(app, ["validate", str(tmp_path), "--env", "prod"])
    assert unknown_env.exit_code == 1
    assert "unknown environment 'prod'" in unknown_env.stderr


def test_schema_command(tmp_path: Path) -> None:
    printed = CliRunner().invoke(app, ["schema"])
    assert json.loads(printed.stdout)["title"] == "provisioner definition file"
    written = CliRunner().invoke(app, ["schema", "--out", str(tmp_path / "schemas")])
    assert written.exit_code == 0
    files = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert "definition.json" in files and "error-rate.json" in files and "config.json" in files
    for name in files:
        Draft202012Validator.check_schema(json.loads((tmp_path / "schemas" / name).read_text()))


def test_subprocess_smoke(in_repo: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "provisioner", "validate", "--env", "production"],
        capture_output=True, text=True, check=False, cwd=in_repo,
    )  # fmt: skip
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout.endswith(" warnings in 6 files\n") and "0 errors" in completed.stdout
