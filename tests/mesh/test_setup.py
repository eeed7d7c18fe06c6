"""``provisioner mesh requirements`` and the set-up warnings of ``validate``: what the cluster and the
Datadog Agent need for a repository's monitors to get data, through the real CLI on real YAML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from provisioner.cli import app

CONFIG = """\
environments:
  prod: {}
  all-legacy:
    namespace: mesh-legacy
    istio: {data_plane: legacy, control_plane: legacy, envoy: legacy}
  all-openmetrics:
    namespace: mesh-openmetrics
    istio: openmetrics
"""
MONITORS = """\
- id: injection
  kind: sidecar-injection
  name: injection failing
  message: "@slack-mesh"
- id: ejections
  kind: circuit-open
  name: ejections
  message: "@slack-mesh"
- id: apm-errors
  kind: error-rate
  name: errors
  message: "@slack-mesh"
  thresholds: {critical: 5%}
- id: istio-errors
  kind: error-rate
  source: istio
  name: errors
  message: "@slack-mesh"
  thresholds: {critical: 5%}
  services: [checkout, cart]
- id: raw-disconnected
  kind: monitor
  name: envoy disconnected
  type: query alert
  query: "max(last_10m):avg:envoy.control_plane.connected_state{*} by {host} <= 0"
  message: "@slack-mesh"
  options: {thresholds: {critical: 0}}
- id: cpu
  kind: monitor
  name: cpu
  type: query alert
  query: "avg(last_5m):avg:system.cpu.user{*} > 90"
  message: "@slack-infra"
  options: {thresholds: {critical: 90}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "mesh.yaml").write_text(MONITORS)
    return tmp_path


def requirements(env: str, output_format: str = "json") -> dict:
    result = CliRunner().invoke(app, ["mesh", "requirements", "--env", env, "--format", output_format])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if output_format == "json" else yaml.safe_load(result.stdout)


def test_each_requirement_names_the_monitors_that_need_it(project: Path) -> None:
    document = requirements("prod")
    assert document["istio"] == {
        "data_plane": "legacy",
        "control_plane": "openmetrics",
        "envoy": "openmetrics",
    }
    needs = {r["key"]: (r["mode"], r["opt_in"], r["monitors"]) for r in document["requirements"]}
    assert needs == {
        "istio-control-plane": ("openmetrics", False, ["injection"]),
        "istio-data-plane": ("legacy", False, ["istio-errors"]),
        "envoy-check": ("openmetrics", True, ["ejections", "raw-disconnected"]),  # raw monitors count too
        "proxy-stats": (None, True, ["ejections", "raw-disconnected"]),
        "apm-tracer": (None, True, ["apm-errors"]),
    }


def test_the_snippets_follow_the_environments_modes(project: Path) -> None:
    def snippets(env: str) -> dict[str, str]:
        document = requirements(env, "yaml")
        return {r["key"]: "\n".join(s["yaml"] for s in r["snippets"]) for r in document["requirements"]}

    prod, legacy, openmetrics = snippets("prod"), snippets("all-legacy"), snippets("all-openmetrics")
    istiod = yaml.safe_load(prod["istio-control-plane"])["podAnnotations"][
        "ad.datadoghq.com/discovery.checks"
    ]
    assert json.loads(istiod) == {
        "istio": {
            "instances": [{"istiod_endpoint": "http://%%host%%:15014/metrics", "use_openmetrics": "true"}]
        }
    }
    assert '"use_openmetrics": "false"' in legacy["istio-control-plane"]
    assert prod["istio-data-plane"] == ""  # the Agent's shipped auto_conf.yaml runs it
    data_plane = yaml.safe_load(openmetrics["istio-data-plane"])["datadog"]
    assert yaml.safe_load(data_plane["confd"]["istio.yaml"])["instances"][0]["use_openmetrics"] is True
    injected = yaml.safe_load(prod["envoy-check"].split("\n\n")[0])["sidecarInjectorWebhook"][
        "injectedAnnotations"
    ]
    check = json.loads(injected["ad.datadoghq.com/istio-proxy.checks"])
    assert check == {
        "envoy": {"instances": [{"openmetrics_endpoint": "http://%%host%%:15090/stats/prometheus"}]}
    }
    matcher = yaml.safe_load(prod["proxy-stats"].split("\n\n")[0])["meshConfig"]["defaultConfig"][
        "proxyStatsMatcher"
    ]
    assert matcher == {"inclusionRegexps": [".*control_plane.*", ".*outlier_detection.*"]}
    assert "proxy.istio.io/config" in prod["proxy-stats"]
    assert yaml.safe_load(prod["apm-tracer"]) == {
        "global": {"proxy": {"tracer": "datadog"}},
        "traceSampling": 100.0,
    }


def test_the_text_report_prints_snippets_ready_to_apply(project: Path) -> None:
    result = CliRunner().invoke(app, ["mesh", "requirements", "--env", "prod"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Istio and Datadog set-up for environment prod "
        "(collection modes: data_plane legacy, control_plane openmetrics, envoy openmetrics)"
    )
    assert "== 3. Envoy check on the sidecars · openmetrics" in lines
    assert "Needed by: ejections, raw-disconnected" in lines
    start = lines.index("meshConfig:")  # a snippet starts at column 0: copy, paste, apply
    assert lines[start : start + 5] == [
        "meshConfig:",
        "  defaultConfig:",
        "    proxyStatsMatcher:",
        "      inclusionRegexps:",
        '        - ".*control_plane.*"',
    ]


def test_validate_warns_about_monitors_needing_an_opt_in_and_about_other_modes_names(
    project: Path,
) -> None:
    (project / "monitors" / "raw.yaml").write_text("""\
id: old-names
kind: monitor
name: old names
type: query alert
query: "sum(last_5m):sum:istio.mesh.request.count.total{destination_service:cart.shop.svc.cluster.local}.as_count() > 9"
message: "@slack-mesh"
options: {thresholds: {critical: 9}}
""")
    result = CliRunner().invoke(app, ["validate", "--env", "all-openmetrics", "--format", "json"])
    assert result.exit_code == 0, result.output
    problems = json.loads(result.stdout)["problems"]
    warnings = {(p["filename"].split("/")[-1], p["line"], p["code"]) for p in problems}
    assert warnings == {
        ("mesh.yaml", 6, "needs-mesh-setup"),  # ejections (its kind's line): Envoy check, proxyStatsMatcher
        ("mesh.yaml", 10, "needs-mesh-setup"),  # apm-errors: Envoy's Datadog tracer
        ("mesh.yaml", 15, "needs-mesh-setup"),  # istio-errors, once for its services: custom istio.yaml
        ("mesh.yaml", 25, "needs-mesh-setup"),  # raw-disconnected (its query's line)
        ("raw.yaml", 5, "needs-mesh-setup"),
        ("raw.yaml", 5, "metric-not-in-mode"),
    }
    messages = [p["message"] + " | " + p["hint"] for p in problems]
    assert (
        "istio.mesh.request.count.total is the legacy name; this environment's data_plane runs in openmetrics mode"
        " | use istio.mesh.request.count (or set istio: in provisioner.yaml)"
    ) in messages
    assert any("`provisioner mesh requirements`" in m for m in messages)
    legacy = CliRunner().invoke(app, ["validate", "--env", "all-legacy", "--format", "json"])
    excluded = [p for p in json.loads(legacy.stdout)["problems"] if p["code"] == "excluded-tag"]
    assert [p["message"] for p in excluded] == [
        "destination_service is dropped by the Agent's shipped Istio auto_conf.yaml (this data plane is legacy)"
    ]
