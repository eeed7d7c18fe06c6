"""The metrics-reporting check end to end: the team's shipped definitions applied to the emulator, a
healthy mesh's series submitted through its series endpoint (``commands/mesh_demo.py``, what
``provisioner emulator --seed-mesh`` sends), and the real CLI over real HTTP."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.commands.mesh_demo import DemoMesh, batches, demo_series, submit_demo
from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.emulator import FaultRule, RunningEmulator
from provisioner.mesh import catalogue
from provisioner.mesh.catalogue import DEFAULT_MODES, Collector
from provisioner.model import MODE_COLLECTORS, CollectionModes, Environment
from tests.conftest import TEST_API_KEY, TEST_APP_KEY, OutputSchemas

REPO = Path(__file__).resolve().parents[2]
LEGACY = CollectionModes("legacy", "legacy", "legacy")
OPENMETRICS = CollectionModes("openmetrics", "openmetrics", "openmetrics")
# A raw monitor grouped by a tag key Istio's request metrics never carry.
BY_VERSION = """\
id: checkout-errors-by-version
kind: monitor
name: "[mesh] checkout 5xx by version"
type: query alert
query: "sum(last_5m):sum:istio.mesh.request.count.total{reporter:destination,response_code:5*} by {destination_version}.as_count() > 10"
message: "5xx on {{destination_version.name}} @slack-mesh"
options:
  thresholds: {critical: 10}
"""
METRIC_ENDPOINTS = re.compile(r"^/api/v[12]/metrics")
# The shipped monitors whose metrics a legacy org does not report under openmetrics names.
OPENMETRICS_NAMES_ABSENT = {
    "outlier-ejections": {"other-mode"},
    # the breaker gauges have one name in both modes; the overflowed-requests counter does not
    **{f"checkout-path-circuit-breakers/{s}": {"other-mode"} for s in ("checkout", "payments", "cart")},
    "upstream-overflow": {"other-mode"},  # the request counter's V2 name: V1's cumulative gauge
    "istio-config-propagation:push-errors": {"other-mode"},
    "istio-config-propagation:proxy-rejects": {"other-mode"},
    "istio-config-propagation:validation": {"other-mode"},
    "sidecar-injection-failures": {"other-mode"},
    **{
        f"checkout-path-error-rate/{s}:{p}": {"other-mode"}
        for s in ("checkout", "payments", "cart")
        for p in ("ratio", "traffic")
    },
}


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--debug", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator) -> Path:
    for name in ("monitors", "dashboards", "provisioner.yaml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    (tmp_path / "monitors" / "by-version.yaml").write_text(BY_VERSION)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def set_modes(project: Path, modes: CollectionModes) -> None:
    config = (project / "provisioner.yaml").read_text()
    for collector in MODE_COLLECTORS:
        config = re.sub(rf"(?m)^  {collector}: \w+", f"  {collector}: {modes.of(collector)}", config)
    (project / "provisioner.yaml").write_text(config)
    code, _, stderr = cli("apply", "--no-remote-validate")
    assert code == 0, stderr


# The services the shipped per-service monitors filter on: a value no series has is a gap.
DEMO_MESH = DemoMesh.of(
    Environment("staging", variables={"cluster": "mesh-staging-eu1"}), ("checkout", "payments", "cart")
)


def seed(emulator: RunningEmulator, modes: CollectionModes) -> int:
    return submit_demo(emulator.base_url, modes, DEMO_MESH, int(time.time()), TEST_API_KEY)


def audit_gaps(*args: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    code, stdout, stderr = cli("audit", "--format", "json", *args)
    assert code == 0, stderr
    report = json.loads(stdout)
    gaps = {
        m["definition_id"]: [f for f in m["findings"] if f["code"] == "metric-not-reporting"]
        for m in report["monitors"]
    }
    return report, {key: found for key, found in gaps.items() if found}


def test_legacy_series_under_openmetrics_monitors_are_reported_with_their_cause_and_none_once_legacy(
    project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    seed(dd_env, LEGACY)
    set_modes(project, OPENMETRICS)

    report, gaps = audit_gaps()

    output_schemas.check("audit", report)
    causes = {key: {f["cause"] for f in found} for key, found in gaps.items()}
    assert causes == OPENMETRICS_NAMES_ABSENT | {"checkout-errors-by-version": {"tag-missing"}}
    assert all(f["severity"] == "error" for found in gaps.values() for f in found)
    sidecar = gaps["sidecar-injection-failures"][0]
    assert sidecar["metric"] == "istio.sidecar_injection.failure.count"
    assert "this environment's control plane looks like legacy" in sidecar["message"]
    assert "`istio: {control_plane: legacy}`" in sidecar["fix"]
    pushes = gaps["istio-config-propagation:push-errors"][0]
    assert re.search(
        r"pilot\.xds\.pushes\.count has not reported in the last 24 h but \S+ does", pushes["message"]
    )
    overflow = gaps["upstream-overflow"][0]
    assert (
        "reports as a gauge" in overflow["message"] and "data plane looks like legacy" in overflow["message"]
    )
    by_version = gaps["checkout-errors-by-version"][0]
    assert (by_version["tag_key"], by_version["cause"]) == ("destination_version", "tag-missing")
    assert report["summary"]["findings"]["error"] == sum(len(found) for found in gaps.values())

    set_modes(project, LEGACY)
    _, gaps = audit_gaps()
    assert list(gaps) == ["checkout-errors-by-version"]  # the mesh monitors' metrics all report


@pytest.mark.parametrize(
    "modes", [OPENMETRICS, LEGACY, DEFAULT_MODES], ids=["openmetrics", "legacy", "as shipped"]
)
def test_the_shipped_monitors_find_their_metrics_in_every_mode(
    project: Path, dd_env: RunningEmulator, modes: CollectionModes
) -> None:
    (project / "monitors" / "by-version.yaml").unlink()
    seed(dd_env, modes)
    set_modes(project, modes)
    report, gaps = audit_gaps()
    assert gaps == {}
    assert report["metric_check"]["status"] == "checked" and report["metric_check"]["tags_unread"] == []


def test_a_collector_that_reports_nothing_names_its_set_up(project: Path, dd_env: RunningEmulator) -> None:
    set_modes(project, LEGACY)  # and nothing submitted at all

    _, gaps = audit_gaps()

    sidecar = gaps["sidecar-injection-failures"][0]
    assert sidecar["cause"] == "collector-silent"
    assert "nor has any control plane metric: not set up (Istio check on istiod" in sidecar["message"]
    assert sidecar["fix"] == "`provisioner mesh requirements` prints the set-up to apply"


def test_declared_set_up_still_gets_its_silent_collector_reported(
    project: Path, dd_env: RunningEmulator
) -> None:
    """``istio: {set_up: [...]}`` quiets validate's needs-mesh-setup; the declaration can be wrong, so the
    metrics-reporting check still tells when the declared Envoy check sends nothing."""
    config = (project / "provisioner.yaml").read_text()
    declared = config.replace("\nistio:\n", "\nistio:\n  set_up: [envoy-check, proxy-stats]\n", 1)
    assert declared != config
    (project / "provisioner.yaml").write_text(declared)
    code, stdout, _ = cli("validate", "--format", "json")
    assert code == 0 and '"envoy-check"' not in stdout  # no hint asks for it any more
    everything_but_envoy = [
        series
        for series in demo_series(LEGACY, DEMO_MESH, int(time.time()))
        if all(use.metric.collector is not Collector.ENVOY for use in catalogue.lookup(str(series["metric"])))
    ]
    with DatadogClient(Target(dd_env.base_url, TEST_API_KEY, TEST_APP_KEY)) as client:
        for batch in batches(everything_but_envoy):
            client.submit_series(batch)
    set_modes(project, LEGACY)

    _, gaps = audit_gaps()

    causes = {key: {f["cause"] for f in found} for key, found in gaps.items()}
    silent = {key for key, found in causes.items() if found == {"collector-silent"}}
    assert {"outlier-ejections", "checkout-path-circuit-breakers/checkout"} <= silent
    assert set(causes) == silent | {"checkout-errors-by-version"}  # every other collector reports
    assert "nor has any Envoy" in gaps["outlier-ejections"][0]["message"]


def test_plan_warns_once_per_missing_metric_naming_its_monitors_and_keeps_its_exit_code(
    project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    seed(dd_env, LEGACY)
    set_modes(project, OPENMETRICS)

    code, stdout, _ = cli("plan", "--detailed-exitcode")
    assert code == 0, stdout  # no changes; the warnings change nothing
    assert re.search(
        r"^warning: istio.sidecar_injection.failure.count has not reported in the last 24 h .*; in monitor "
        r"sidecar-injection-failures \(monitors/sidecar-injection.yaml:\d+\); fix: set `istio: ",
        stdout,
        re.MULTILINE,
    )
    # One line per missing metric and cause, naming its monitors (a composite's parts are the definition's):
    # the per-service copies of one monitor share it.
    breakers = [line for line in stdout.splitlines() if "envoy.cluster.upstream_rq_pending_overflow" in line]
    assert len(breakers) == 1, stdout
    assert re.search(  # each named with its file:line, as a single one is
        r"; in 3 monitors: checkout-path-circuit-breakers/checkout \(monitors/circuit-open.yaml:\d+\), "
        r"checkout-path-circuit-breakers/payments \(monitors/circuit-open.yaml:\d+\), "
        r"checkout-path-circuit-breakers/cart \(monitors/circuit-open.yaml:\d+\); fix: ",
        breakers[0],
    ), breakers[0]
    requests = [line for line in stdout.splitlines() if line.startswith("warning: istio.mesh.request.count ")]
    assert len(requests) == 1 and "; in 4 monitors: " in requests[0] and " and 1 more; fix: " in requests[0]
    assert "Metrics-reporting check (the last 24 h, " in stdout

    code, stdout, _ = cli("plan", "--format", "json")
    plan = json.loads(stdout)
    output_schemas.check("plan", plan)
    not_reporting = {m["definition_id"]: m for m in plan["metric_check"]["not_reporting"]}
    expected = {key.split(":")[0] for key in OPENMETRICS_NAMES_ABSENT} | {"checkout-errors-by-version"}
    assert set(not_reporting) == expected
    assert not_reporting["upstream-overflow"]["source"]["path"] == "monitors/circuit-open.yaml"

    code, markdown, _ = cli("plan", "--format", "markdown")
    assert "monitors watch metrics that do not report</b> (the last 24 h)" in markdown
    assert "| `sidecar-injection-failures` (`monitors/sidecar-injection.yaml:" in markdown
    rows = [line for line in markdown.splitlines() if "envoy.cluster.upstream_rq_pending_overflow" in line]
    assert len(rows) == 1 and "`checkout-path-circuit-breakers/cart` (`monitors/circuit-open.yaml:" in rows[0]


def test_the_check_costs_a_few_requests_and_none_when_off(project: Path, dd_env: RunningEmulator) -> None:
    seed(dd_env, LEGACY)
    set_modes(project, OPENMETRICS)
    for command in ("plan", "audit"):
        dd_env.admin.reset_log()
        assert cli(command, "--no-metric-check")[0] == 0
        assert [e.path for e in dd_env.admin.request_log() if METRIC_ENDPOINTS.match(e.path)] == []

        dd_env.admin.reset_log()
        code, _, stderr = cli(command, "--format", "json")
        assert code == 0, stderr
        counts = dd_env.admin.request_counts()
        assert counts["GET /api/v1/metrics"] == 1
        tag_reads = counts.get("GET /api/v2/metrics/{metric_name}/all-tags", 0)
        type_reads = counts.get("GET /api/v1/metrics/{metric_name}", 0)
        # Distinct reporting metrics filtered or grouped on (not one per monitor: 9 with the shipped
        # definitions and the demo's series), and the one name whose type tells the modes apart.
        assert 0 < tag_reads <= 9 and type_reads == 1, counts


def test_a_short_window_sees_nothing_and_a_bad_one_is_a_usage_error(
    project: Path, dd_env: RunningEmulator
) -> None:
    set_modes(project, LEGACY)
    code, _, stderr = cli("plan", "--metric-window", "soon")
    assert code == 1 and "--metric-window: 'soon' is not a duration" in stderr
    code, _, stderr = cli("audit", "--metric-window", "0m")
    assert code == 1 and "--metric-window: the window must be longer than 0" in stderr
    code, stdout, _ = cli("audit", "--metric-window", "36h")
    assert code == 0 and "Metrics-reporting check (the last 36 h, " in stdout


@contextmanager
def served(cwd: Path, *args: str) -> Iterator[tuple[str, list[str]]]:
    """``provisioner emulator ARGS`` in a child process: its base URL, and its stderr once stopped (Ctrl-C)."""
    command = [sys.executable, "-m", "provisioner", "emulator", "--port", "0", *args]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), stderr
        process.send_signal(signal.SIGINT)
        stderr.append(process.communicate(timeout=15)[1])
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr


def test_provisioner_emulator_seed_mesh_serves_a_reporting_mesh(tmp_path: Path) -> None:
    (tmp_path / "provisioner.yaml").write_text((REPO / "provisioner.yaml").read_text())
    with served(tmp_path, "--seed-mesh", "openmetrics") as (base_url, stderr):  # the URL: the series are in
        with DatadogClient(Target(base_url, "demo", "demo")) as client:
            active = client.active_metrics(int(time.time()) - 3600)
            keys = client.metric_tags("istio.mesh.request.count", 14_400)
            metric_type = client.metric_type("istio.mesh.request.count")
    assert "istio.pilot.xds.pushes.count" in active and "istio.mesh.request.count.total" not in active
    assert {"reporter", "destination_service_name", "response_code", "kube_cluster_name"} <= set(keys or {})
    assert (keys or {})["reporter"] == {"source", "destination"}  # values too, in the same request
    assert metric_type == "count"
    assert "series of a healthy mesh in openmetrics mode" in stderr[0]
    assert "kube_cluster_name:mesh-staging-eu1" in stderr[0]


def test_seed_mesh_config_seeds_each_collector_as_provisioner_yaml_says_and_the_audit_finds_every_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped provisioner.yaml mixes modes (data plane legacy, the rest openmetrics): one mode for all
    leaves some shipped monitor without data; ``config`` seeds what the environment says it runs."""
    for name in ("monitors", "dashboards", "provisioner.yaml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    state = ("--state", ".provisioner/emulator-state.json")
    with served(tmp_path, *state, "--seed-mesh", "config") as (_, stderr):  # the --emulator commands use it
        code, _, applied = cli("apply", "--emulator", "--no-remote-validate")
        assert code == 0, applied
        code, stdout, audited = cli("audit", "--emulator", "--format", "json", "--fail-on", "error")
    assert code == 0, stdout + audited
    report = json.loads(stdout)
    assert report["metric_check"]["status"] == "checked"
    assert [f for m in report["monitors"] for f in m["findings"] if f["code"] == "metric-not-reporting"] == []
    assert len(report["monitors"]) == 23
    assert (
        "series of a healthy mesh in environment staging's collection modes "
        "(data_plane legacy, control_plane openmetrics, envoy openmetrics)"
    ) in stderr[0]


def test_a_refused_read_is_a_warning_that_names_the_scope_and_changes_nothing(
    project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    set_modes(project, LEGACY)
    dd_env.admin.set_faults(rules=[FaultRule("error", method="GET", path="/api/v1/metrics", status=403)])

    code, stdout, _ = cli("plan", "--detailed-exitcode")
    assert code == 0, stdout
    assert re.search(
        r"warning: the metrics-reporting check could not read Datadog, nothing was checked: Datadog answered "
        r"403 to GET /api/v1/metrics.*metrics_read scope",
        stdout,
    )
    code, stdout, _ = cli("audit", "--format", "json", "--fail-on", "error")
    report = json.loads(stdout)
    output_schemas.check("audit", report)
    assert (code, report["metric_check"]["status"]) == (0, "failed")
    assert "metrics_read" in report["metric_check"]["error"]


@pytest.mark.parametrize("modes", [OPENMETRICS, LEGACY], ids=["openmetrics", "legacy"])
def test_the_demo_mesh_uses_its_modes_names_and_fits_datadogs_payload_limit(modes: CollectionModes) -> None:
    mesh = DemoMesh.of(Environment("staging"), [f"svc-{i}" for i in range(40)])
    series = demo_series(modes, mesh, 1_800_000_000)
    for item in series:
        uses = catalogue.lookup(str(item["metric"]))
        assert any(modes.of(u.metric.collector) in (None, u.mode) for u in uses), item["metric"]
        events = {u.metric.key for u in uses if u.metric.on_event}  # sent only where the demo has events
        assert events <= {"apm_errors"} and (not events or "http.status_code:503" in item["tags"])
    payloads = [json.dumps({"series": batch}) for batch in batches(series)]
    assert len(payloads) > 1 and all(len(p) < 512_000 for p in payloads)
    assert sum(len(json.loads(p)["series"]) for p in payloads) == len(series)


# A raw monitor on APM's service under its bare name: under Istio it is <app>.<namespace>.
BARE_SERVICE = """\
id: checkout-apm-traffic
kind: monitor
name: "[mesh] checkout traffic low"
type: query alert
query: "sum(last_10m):sum:trace.envoy.proxy.hits{service:checkout}.as_count() < 10"
message: "checkout gets no traffic @slack-mesh"
options:
  thresholds: {critical: 10}
"""
RUNNING_TOTAL = (
    "sum(last_5m):sum:istio.mesh.request.count{reporter:destination,destination_service_name:cart}"
    ".as_count() > 1000"
)
RAW_RUNNING_TOTAL = f"""\
id: cart-running-total
kind: monitor
name: cart requests (raw query)
type: query alert
query: "{RUNNING_TOTAL}"
message: "@slack-mesh"
options:
  thresholds: {{critical: 1000}}
"""


def test_a_filter_value_no_series_had_and_a_running_total_are_gaps_of_managed_and_unmanaged_monitors(
    project: Path, dd_env: RunningEmulator, output_schemas: OutputSchemas
) -> None:
    (project / "monitors" / "by-version.yaml").unlink()
    (project / "monitors" / "bare-service.yaml").write_text(BARE_SERVICE)
    (project / "monitors" / "running-total.yaml").write_text(RAW_RUNNING_TOTAL)
    seed(dd_env, LEGACY)
    set_modes(project, LEGACY)  # apply: the definitions are managed monitors now
    with DatadogClient(Target(dd_env.base_url, TEST_API_KEY, TEST_APP_KEY)) as client:
        hand_made = {"name": "cart traffic (by hand)", "type": "query alert", "query": RUNNING_TOTAL,
                     "message": "@slack-mesh", "options": {"thresholds": {"critical": 1000}}}  # fmt: skip
        unmanaged = str(client.create_monitor(hand_made).datadog_id)

    report, gaps = audit_gaps()

    output_schemas.check("audit", report)
    assert set(gaps) == {"checkout-apm-traffic", "cart-running-total", None}  # None: the unmanaged one
    (bare,) = gaps["checkout-apm-traffic"]
    assert (bare["cause"], bare["tag_key"]) == ("value-missing", "service")
    assert bare["fix"].startswith("its service values: checkout.shop, ")  # Istio's <app>.<namespace>
    (total,) = [m for m in report["monitors"] if str(m["id"]) == unmanaged][0]["findings"][-1:]
    assert (total["code"], total["cause"]) == ("metric-not-reporting", "cumulative-gauge")
    # A raw query is the user's to edit, where it is: no apply rewrites it.
    assert total["fix"] == "query istio.mesh.request.count.total, the count per interval: edit the query in Datadog"
    (raw,) = gaps["cart-running-total"]
    assert raw["cause"] == "cumulative-gauge"
    assert raw["fix"].endswith(": edit the query in monitors/running-total.yaml:1")

    _, stdout, _ = cli("plan")
    (warning,) = [line for line in stdout.splitlines() if "sends it as a cumulative gauge" in line]
    assert warning.endswith(
        "in monitor cart-running-total (monitors/running-total.yaml:1); fix: query "
        "istio.mesh.request.count.total, the count per interval: edit the query in monitors/running-total.yaml:1"
    )
