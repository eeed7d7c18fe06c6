"""The mesh monitors fire. Applied by the real CLI to the emulator, fed the series the Istio and Envoy
checks submit in the environment's mode (real HTTP to /api/v2/series), evaluated on the emulator's clock
the way datadog-monitor-evaluation.md describes: a monitor that syncs but never fires is worse than none."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from tests.conftest import TEST_API_KEY, TEST_APP_KEY

T0 = 1_700_000_040  # a minute boundary
STEP = 10  # seconds between two check runs' points

MONITORS = """\
- id: errors
  kind: error-rate
  source: istio
  name: "${service} 5xx"
  message: "@slack-mesh"
  window: 5m
  min_requests: 100
  thresholds: {critical: 5%}
  services: [checkout, cart]
- id: ejections
  kind: circuit-open
  name: "ejections {{envoy_cluster.name}}"
  message: "@slack-mesh"
- id: injection
  kind: sidecar-injection
  name: injection failing
  message: "@slack-mesh"
"""
# (Datadog name per mode) for the series the test submits
NAMES: dict[str, dict] = {
    "legacy": {
        "requests": "istio.mesh.request.count.total",
        "active": "envoy.cluster.outlier_detection.ejections_active",
        "enforced": "envoy.cluster.outlier_detection.ejections_enforced_total",
        "overflow": "envoy.cluster.outlier_detection.ejections_overflow",
        "other_enforced": [],
    },
    "openmetrics": {
        "requests": "istio.mesh.request.count",
        "active": "envoy.cluster.outlier_detection.ejections_active",
        "enforced": "envoy.cluster.outlier_detection.ejections_enforced_consecutive_5xx.count",
        "overflow": "envoy.cluster.outlier_detection.ejections_overflow.count",
        "other_enforced": [  # Envoy creates every detector's counters with the cluster: they report zeros
            "envoy.cluster.outlier_detection.ejections_enforced_consecutive_gateway_failure.count",
            "envoy.cluster.outlier_detection.ejections_enforced_consecutive_local_origin_failure.count",
        ],
    },
}


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        api_keys=(TEST_API_KEY,), app_keys=(TEST_APP_KEY,), rate_limits=False, clock_start_s=T0
    )
    running = start_emulator(config)
    try:
        yield running
    finally:
        running.stop()


def submit(
    emulator: RunningEmulator, metric: str, metric_type: int, tags: list[str], values: list[float]
) -> None:
    """One point every STEP seconds, the first at T0 - 300 + STEP."""
    points = [{"timestamp": T0 - 300 + STEP * (i + 1), "value": v} for i, v in enumerate(values)]
    series = {"metric": metric, "type": metric_type, "interval": STEP, "points": points, "tags": tags}
    request = urllib.request.Request(
        f"{emulator.base_url}/api/v2/series",
        data=json.dumps({"series": [series]}).encode(),
        headers={"DD-API-KEY": TEST_API_KEY, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback emulator
        assert answer.status == 202


def states(emulator: RunningEmulator) -> dict[str, str]:
    request = urllib.request.Request(
        f"{emulator.base_url}/api/v1/monitor",
        headers={"DD-API-KEY": TEST_API_KEY, "DD-APPLICATION-KEY": TEST_APP_KEY},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback emulator
        return {m["name"]: m["overall_state"] for m in json.loads(answer.read())}


@pytest.mark.parametrize("mode", ["legacy", "openmetrics"])
def test_the_mesh_monitors_fire_on_the_series_their_mode_submits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator, mode: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(f"istio: {{data_plane: {mode}, envoy: {mode}}}\n")
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "mesh.yaml").write_text(MONITORS)
    result = CliRunner().invoke(app, ["apply"])
    assert result.exit_code == 0, result.output
    names, steps = NAMES[mode], 300 // STEP

    def requests(service: str, code: int, per_step: float) -> None:
        tags = ["reporter:destination", f"destination_service_name:{service}", f"response_code:{code}"]
        submit(dd_env, names["requests"], 1, tags, [per_step] * steps)

    # checkout: 8 requests every 10 s, 2 of them 5xx (25 %): enough traffic, the ratio alerts.
    requests("checkout", 200, 6)
    requests("checkout", 503, 2)
    # cart: all 5 requests failed (100 %), but 5 < min_requests: the guard keeps it quiet.
    submit(dd_env, names["requests"], 1, ["reporter:destination", "destination_service_name:cart",
                                           "response_code:503"], [1 if i % 6 == 0 else 0 for i in range(steps)])  # fmt: skip
    # one host of payments ejected between two samples of the gauge: only the enforced counter saw it.
    cluster = ["envoy_cluster:outbound_8080__payments.shop.svc.cluster.local"]
    submit(dd_env, names["active"], 3, cluster, [0] * steps)
    submit(dd_env, names["enforced"], 1, cluster, [1 if i == steps - 3 else 0 for i in range(steps)])
    for zeros in [names["overflow"], *names["other_enforced"]]:
        submit(dd_env, zeros, 1, cluster, [0] * steps)
    # no sidecar injection ever failed: the counter has no series at all.
    dd_env.admin.advance_clock(120)  # two evaluations: the new ejection group waits 60 s (new_group_delay)

    found = states(dd_env)

    assert found["checkout 5xx"] == "Alert"  # the composite
    assert found["checkout 5xx [error ratio]"] == "Alert"
    assert found["checkout 5xx [at least 100 requests]"] == "Alert"
    assert found["cart 5xx"] == "OK"  # the ratio alerts, the traffic part does not: the composite stays OK
    assert found["cart 5xx [error ratio]"] == "Alert"
    assert found["cart 5xx [at least 100 requests]"] == "OK"
    assert found["ejections {{envoy_cluster.name}}"] == "Alert"
    # Never a series: with on_missing_data: default, "an empty monitor evaluation is treated as 0" (V1
    # OnMissingDataOption) for this count query, from the first evaluation: OK, and no one is notified.
    assert found["injection failing"] == "OK"
