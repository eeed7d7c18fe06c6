"""The team's shipped definitions, applied to the emulator, pass the tool's own audit: the only findings
are the ones their definitions explain (a critical threshold of 0 leaves no room for a lower warning
level)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.emulator import RunningEmulator

REPO = Path(__file__).resolve().parents[2]
EXPLAINED = {  # definition id -> findings its definition says why it keeps
    "outlier-ejections": ["no-warning-threshold"],
    "checkout-path-circuit-breakers/checkout": ["no-warning-threshold"],
    "checkout-path-circuit-breakers/payments": ["no-warning-threshold"],
    "checkout-path-circuit-breakers/cart": ["no-warning-threshold"],
    "sidecar-injection-failures": ["no-warning-threshold"],
    "envoy-control-plane-disconnected": ["no-warning-threshold"],
}


@pytest.fixture(params=["as shipped", "openmetrics", "legacy"])
def applied(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator
) -> Path:
    for name in ("monitors", "dashboards", "provisioner.yaml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    if request.param != "as shipped":  # every collector in one mode
        config = (tmp_path / "provisioner.yaml").read_text()
        for mode in ("legacy", "openmetrics"):
            config = re.sub(rf"(data_plane|control_plane|envoy): {mode} ", rf"\1: {request.param} ", config)
        assert config.count(f": {request.param} ") == 3
        (tmp_path / "provisioner.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["apply", "--env", "production"])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_the_shipped_monitors_pass_audit_hygiene_or_say_why_not(applied: Path) -> None:
    # Nothing reports in this org: whether the metrics report is tests/commands/test_metric_check.py's.
    result = CliRunner().invoke(
        app, ["audit", "--env", "production", "--format", "json", "--no-metric-check"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    findings = {m["definition_id"]: sorted(f["code"] for f in m["findings"]) for m in report["monitors"]}
    assert {i: codes for i, codes in findings.items() if codes} == EXPLAINED
    assert all(m["class"] == "in-sync" for m in report["monitors"] + report["dashboards"])
    assert report["coverage"]["findings"] == []  # every service watched for every signal
    composites = {m["definition_id"]: m["signals"] for m in report["monitors"] if m["type"] == "composite"}
    assert composites == {
        "istio-config-propagation": ["config-propagation"],
        "mesh-error-rate": ["error-rate"],
        "checkout-path-error-rate/checkout": ["error-rate"],
        "checkout-path-error-rate/payments": ["error-rate"],
        "checkout-path-error-rate/cart": ["error-rate"],
    }
