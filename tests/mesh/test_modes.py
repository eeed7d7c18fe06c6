"""The shipped monitors and dashboard rendered for an environment in each collection mode use only the
Datadog names that mode submits, with ``.as_count()`` exactly on counts. The table below is taken from
the reference (shared/reference/istio-metrics.md §2, §4, §6), not from the catalogue."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app

REPO = Path(__file__).resolve().parents[2]

# (collector, mode) -> {Datadog name: type}, for the metrics the shipped definitions may query.
REFERENCE: dict[tuple[str, str], dict[str, str]] = {
    ("data_plane", "openmetrics"): {
        "istio.mesh.request.count": "count",
        "istio.mesh.request.duration.milliseconds.sum": "count",
        "istio.mesh.request.duration.milliseconds.count": "count",
    },
    ("data_plane", "legacy"): {  # the .total monotonic counts: the plain names are cumulative gauges there
        "istio.mesh.request.count.total": "count",
        "istio.mesh.request.duration.milliseconds.sum.total": "count",
        "istio.mesh.request.duration.milliseconds.count.total": "count",
    },
    ("control_plane", "openmetrics"): {
        "istio.sidecar_injection.failure.count": "count",
        "istio.galley.validation.failed.count": "count",
        "istio.pilot.xds.pushes.count": "count",
        "istio.pilot.total_xds_rejects.count": "count",
    },
    ("control_plane", "legacy"): {
        "istio.sidecar_injection.failure_total": "count",
        "istio.galley.validation.failed": "count",
        "istio.pilot.xds.pushes": "count",
        "istio.pilot.total_xds_rejects": "count",
    },
    ("envoy", "openmetrics"): {
        "envoy.cluster.outlier_detection.ejections_active": "gauge",
        "envoy.cluster.outlier_detection.ejections_enforced_consecutive_5xx.count": "count",
        "envoy.cluster.outlier_detection.ejections_enforced_consecutive_gateway_failure.count": "count",
        "envoy.cluster.outlier_detection.ejections_enforced_consecutive_local_origin_failure.count": "count",
        "envoy.cluster.outlier_detection.ejections_overflow.count": "count",
        "envoy.cluster.circuit_breakers.rq_open": "gauge",
        "envoy.cluster.circuit_breakers.cx_open": "gauge",
        "envoy.cluster.circuit_breakers.rq_pending_open": "gauge",
        "envoy.cluster.upstream_rq_pending_overflow.count": "count",
        "envoy.control_plane.connected_state": "gauge",
    },
    ("envoy", "legacy"): {
        "envoy.cluster.outlier_detection.ejections_active": "gauge",
        "envoy.cluster.outlier_detection.ejections_enforced_total": "count",
        "envoy.cluster.outlier_detection.ejections_overflow": "count",
        "envoy.cluster.circuit_breakers.rq_open": "gauge",
        "envoy.cluster.circuit_breakers.cx_open": "gauge",
        "envoy.cluster.circuit_breakers.rq_pending_open": "gauge",
        "envoy.cluster.upstream_rq_pending_overflow": "count",
        "envoy.control_plane.connected_state": "gauge",
    },
    ("apm", ""): {
        "trace.envoy.proxy.hits": "count",
        "trace.envoy.proxy.errors": "count",
        "trace.envoy.proxy": "distribution",
    },
}

CONFIG = """\
namespace: mesh-sre
environments:  # the shipped definitions' environments, one in each mode
  staging:
    istio: {data_plane: openmetrics, control_plane: openmetrics, envoy: openmetrics}
    variables: {cluster: c1, runbooks: https://runbooks.example.com}
  production:
    istio: {data_plane: legacy, control_plane: legacy, envoy: legacy}
    variables: {cluster: c1, runbooks: https://runbooks.example.com}
"""
ENVIRONMENTS = {"openmetrics": "staging", "legacy": "production"}
_TERM = re.compile(
    r"(?<![\w.])((?:istio|envoy|trace)\.[a-z0-9_.]+)\{[^{}]*\}(?: by \{[^{}]*\})?(\.as_count\(\))?"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "monitors", tmp_path / "monitors")
    shutil.copytree(REPO / "dashboards", tmp_path / "dashboards")
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rendered_queries(env: str) -> tuple[dict[str, str], list[str]]:
    result = CliRunner().invoke(app, ["render", "--env", env])
    assert result.exit_code == 0, result.output
    rendered = json.loads(result.stdout)
    queries = [m["payload"]["query"] for m in rendered["monitors"]]
    for dashboard in rendered["dashboards"]:
        for widget in dashboard["payload"]["widgets"]:
            queries += [q["query"] for r in widget["definition"]["requests"] for q in r["queries"]]
    return rendered["istio"], queries


@pytest.mark.parametrize("mode", ["openmetrics", "legacy"])
def test_render_uses_only_the_names_the_environments_mode_submits(project: Path, mode: str) -> None:
    modes, queries = rendered_queries(ENVIRONMENTS[mode])
    assert modes == {"data_plane": mode, "control_plane": mode, "envoy": mode, "set_up": []}
    allowed = {
        name: kind
        for (_collector, m), names in REFERENCE.items()
        if m in (mode, "")
        for name, kind in names.items()
    }
    used: dict[str, set[bool]] = {}
    for query in queries:
        for name, as_count in _TERM.findall(query):
            used.setdefault(name, set()).add(bool(as_count))
    assert set(used) <= set(allowed), sorted(set(used) - set(allowed))
    for name, counted in used.items():
        assert counted == {allowed[name] == "count"}, name  # .as_count() exactly on counts
    collectors = {collector for (collector, m), names in REFERENCE.items() if set(names) & set(used)}
    assert collectors == {"data_plane", "control_plane", "envoy", "apm"}  # every collector is exercised


def test_the_two_modes_name_the_same_signals_differently(project: Path) -> None:
    _, openmetrics = rendered_queries("staging")
    _, legacy = rendered_queries("production")
    assert len(openmetrics) == len(legacy)
    assert sum(a != b for a, b in zip(openmetrics, legacy, strict=True)) > len(openmetrics) // 2
