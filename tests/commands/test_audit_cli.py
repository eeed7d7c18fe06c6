"""``provisioner audit`` end to end: a realistic org in the emulator (applied definitions, hand edits,
an orphan, unmanaged monitors with and without handles, duplicates, a mute, another team's monitor),
the real CLI, real HTTP. Every monitor's class and findings are asserted."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.emulator import RunningEmulator
from provisioner.github.body import GITHUB_BODY_LIMIT, compose, github_length
from tests.conftest import TEST_API_KEY, TEST_APP_KEY, OutputSchemas

REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
namespace: mesh-sre
default_environment: prod
services: [cart, checkout, payments]
environments:
  prod:
    tags: ["env:prod"]
    notify: ["@slack-mesh"]
    variables: {cluster: mesh-prod, runbooks: https://runbooks.example.com}
"""

MESH = """\
- id: checkout-errors
  kind: error-rate
  name: "[mesh] ${service} 5xx ratio"
  source: istio
  services: [cart, checkout]
  thresholds: {critical: 2%, warning: 1%}
  message: "5xx ratio of ${service} is high."
  options: {notify_no_data: true, no_data_timeframe: 30}
- id: sidecar-injection
  kind: sidecar-injection
  name: "[mesh] sidecar injection failing"
  thresholds: {critical: 5, warning: 1}
  message: "istiod cannot inject sidecars."
  options: {notify_no_data: true, no_data_timeframe: 30}
"""

PLAIN = """\
id: {id}
kind: monitor
name: "{name}"
type: metric alert
query: "avg(last_5m):avg:app.request.latency{{service:{service}}} > 2"
message: "Latency of {service} is high."
options:
  thresholds: {{critical: 2, warning: 1}}
"""

CPU_QUERY = "avg(last_5m):avg:system.cpu.user{env:prod,team:mesh} by {host} > 90"


def cli(*args: str) -> tuple[int, str]:
    """The metrics-reporting check is off for audits here: this org has no series (it is
    tests/commands/test_metric_check.py's subject)."""
    if args[:1] == ("audit",):
        args = (*args, "--no-metric-check")
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def client(dd_env: RunningEmulator) -> Iterator[DatadogClient]:
    """Our adapter, standing in for people clicking in the Datadog UI."""
    with DatadogClient(Target(dd_env.base_url, TEST_API_KEY, TEST_APP_KEY)) as opened:
        yield opened


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: DatadogClient) -> dict[str, int]:
    """The seeded org; returns monitor ids by name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    monitors = tmp_path / "monitors"
    monitors.mkdir()
    (monitors / "mesh.yaml").write_text(MESH)
    (monitors / "latency.yaml").write_text(
        PLAIN.format(id="cart-latency", name="cart latency", service="cart")
    )
    (monitors / "legacy.yaml").write_text(PLAIN.format(id="legacy", name="legacy latency", service="legacy"))
    shutil.copytree(REPO / "dashboards", tmp_path / "dashboards")
    code, output = cli("apply")
    assert code == 0, output

    (monitors / "legacy.yaml").unlink()  # its monitor stays in Datadog: an orphan
    ids = {m.title: int(m.datadog_id) for m in client.list_monitors()}
    live = client.get_monitor(ids["cart latency"]).body  # the UI sends the whole monitor back
    edited = {k: live[k] for k in ("type", "query", "message", "tags", "priority", "options")}
    client.update_monitor(ids["cart latency"], {**edited, "name": "cart latency (raised during incident)"})
    ids["cart latency (raised during incident)"] = ids.pop("cart latency")
    for body in _hand_made():
        ids[body["name"]] = int(client.create_monitor(body).datadog_id)
    client.create_dashboard({"title": "Clicked together", "layout_type": "ordered", "widgets": []})
    return ids


def _hand_made() -> list[dict[str, Any]]:
    def monitor(name: str, query: str, message: str, **options: Any) -> dict[str, Any]:
        thresholds = options.pop("thresholds", {"critical": 90, "warning": 80})
        return {
            "name": name,
            "type": options.pop("type", "metric alert"),
            "query": query,
            "message": message,
            "tags": options.pop("tags", ["team:mesh"]),
            "options": {"thresholds": thresholds, **options},
        }

    return [
        monitor("cpu high", CPU_QUERY, "CPU is high. @pagerduty-infra"),
        monitor(
            "cpu high (copy)",
            "avg(last_5m):avg:system.cpu.user{team:mesh, env:prod} by {host} > 90",
            "CPU! @slack-infra",
            type="query alert",
        ),
        monitor(
            "disk full",
            "avg(last_5m):avg:system.disk.in_use{*} by {host} > 0.9",
            "Disk is full.",
            thresholds={"critical": 0.9, "warning": 0.8},
        ),
        monitor(
            "load (muted)",
            "avg(last_5m):avg:system.load.1{*} by {host} > 4",
            "Load. @slack-infra",
            thresholds={"critical": 4, "warning": 3},
            silenced={"*": None},
        ),
        monitor(
            "payments ejections",
            "max(last_5m):max:envoy.cluster.outlier_detection.ejections_active"
            "{envoy_cluster:outbound|80||payments.shop.svc.cluster.local} > 0",
            "Ejecting payments hosts. @slack-payments",
            thresholds={"critical": 0},
        ),
        monitor(
            "their thing",
            "avg(last_5m):avg:system.mem.used{team:other} > 100",
            "Theirs. @slack-other\n\n[provisioner ns=other-team id=their-thing]",
            thresholds={"critical": 100, "warning": 50},
            tags=["provisioner-ns:other-team", "provisioner-id:their-thing"],
        ),
    ]


EXPECTED = {
    "[mesh] cart 5xx ratio": ("in-sync", []),  # the composite: it notifies
    "[mesh] cart 5xx ratio [error ratio]": ("in-sync", []),  # its parts: no handle, no finding about it
    "[mesh] cart 5xx ratio [at least 100 requests]": ("in-sync", []),
    "[mesh] checkout 5xx ratio": ("in-sync", []),
    "[mesh] checkout 5xx ratio [error ratio]": ("in-sync", []),
    "[mesh] checkout 5xx ratio [at least 100 requests]": ("in-sync", []),
    "[mesh] sidecar injection failing": ("in-sync", []),
    "cart latency (raised during incident)": ("drifted", ["drift"]),
    "legacy latency": ("orphaned", ["orphaned"]),
    "cpu high": ("unmanaged", ["duplicate", "unmanaged"]),
    "cpu high (copy)": ("unmanaged", ["duplicate", "unmanaged"]),
    "disk full": ("unmanaged", ["no-notification-handle", "unmanaged"]),
    "load (muted)": ("unmanaged", ["muted-forever", "unmanaged"]),
    "payments ejections": ("unmanaged", ["no-data-notification-off", "no-warning-threshold", "unmanaged"]),
    "their thing": ("foreign", []),
}


def audit_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, output = cli("audit", "--format", "json", *args)
    return code, json.loads(output[output.index("{") :])


def test_every_monitor_is_classified_with_its_findings(org: dict[str, int]) -> None:
    code, report = audit_json()
    assert code == 0
    assert report["format_version"] == 1 and report["namespace"] == "mesh-sre"
    actual = {m["title"]: (m["class"], sorted(f["code"] for f in m["findings"])) for m in report["monitors"]}
    assert actual == EXPECTED
    assert {m["title"]: m["id"] for m in report["monitors"]} == org

    by_title = {m["title"]: m for m in report["monitors"]}
    drifted = by_title["cart latency (raised during incident)"]
    assert drifted["definition_id"] == "cart-latency" and drifted["source"]["path"] == "monitors/latency.yaml"
    assert [(f["pointer"], f["changed_by"]) for f in drifted["drift"]["fields"]] == [("/name", "datadog")]
    assert by_title["their thing"]["namespace"] == "other-team"
    assert by_title["[mesh] cart 5xx ratio"]["signals"] == ["error-rate"]
    assert by_title["[mesh] cart 5xx ratio"]["services"] == ["cart"]
    assert by_title["[mesh] cart 5xx ratio [error ratio]"]["definition_id"] == "checkout-errors/cart:ratio"
    assert report["summary"]["monitors"] == {
        "total": 15,
        "in-sync": 7,
        "drifted": 1,
        "orphaned": 1,
        "unmanaged": 5,
        "foreign": 1,
    }


def test_dashboards_are_classified(org: dict[str, int]) -> None:
    _, report = audit_json()
    assert sorted((d["class"], d["definition_id"]) for d in report["dashboards"]) == [
        ("in-sync", "istio-mesh"),
        ("unmanaged", None),
    ]


def test_coverage_names_each_missing_signal(org: dict[str, int]) -> None:
    _, report = audit_json()
    missing = {s["service"]: s["missing"] for s in report["coverage"]["services"]}
    assert missing == {
        "cart": ["config-propagation", "circuit-open"],
        "checkout": ["config-propagation", "circuit-open"],
        "payments": ["error-rate", "config-propagation"],
    }
    payments = next(s for s in report["coverage"]["services"] if s["service"] == "payments")
    assert payments["signals"]["circuit-open"]["monitors"] == [org["payments ejections"]]
    assert payments["signals"]["sidecar-injection"]["monitors"] == [org["[mesh] sidecar injection failing"]]
    assert sorted(f["message"] for f in report["coverage"]["findings"]) == [
        "no monitor watches config-propagation (a control-plane signal) anywhere in the mesh",
        "service cart: no monitor watches circuit-open",
        "service checkout: no monitor watches circuit-open",
        "service payments: no monitor watches error-rate",
    ]


def test_fail_on_gives_ci_an_exit_code(org: dict[str, int]) -> None:
    assert cli("audit", "--fail-on", "error")[0] == 1  # the monitor muted forever
    assert cli("audit", "--fail-on", "never")[0] == 0
    assert cli("audit")[0] == 0


def test_fail_on_error_passes_when_nothing_is_that_bad(org: dict[str, int], client: DatadogClient) -> None:
    client.update_monitor(org["load (muted)"], {"options": {"thresholds": {"critical": 4, "warning": 3}}})
    assert cli("audit", "--fail-on", "error")[0] == 0
    assert cli("audit", "--fail-on", "warning")[0] == 1


def test_fail_scope_namespace_counts_only_what_this_repository_owns(
    org: dict[str, int], client: DatadogClient
) -> None:
    """A repository's CI job fails on its own monitors' findings, not on another team's or unmanaged ones:
    the error here is an unmanaged monitor muted forever; this namespace has warnings (drift, an orphan)."""
    assert cli("audit", "--fail-on", "error", "--fail-scope", "org")[0] == 1
    assert cli("audit", "--fail-on", "error", "--fail-scope", "namespace")[0] == 0
    assert cli("audit", "--fail-on", "warning", "--fail-scope", "namespace")[0] == 1
    code, report = audit_json("--fail-on", "error", "--fail-scope", "namespace")
    assert code == 0 and report["summary"]["findings"]["error"] >= 1  # reported all the same

    managed = org["[mesh] sidecar injection failing"]
    live = client.get_monitor(managed).body  # muted in the UI, which sends the whole monitor back
    muted = {k: live[k] for k in ("name", "type", "query", "message", "tags", "priority", "options")}
    client.update_monitor(managed, {**muted, "options": {**live["options"], "silenced": {"*": None}}})
    assert cli("audit", "--fail-on", "error", "--fail-scope", "namespace")[0] == 1


def test_the_cli_offers_the_engines_fail_scopes() -> None:
    from provisioner.cli import FailScope as Offered
    from provisioner.engine.audit_types import FailScope

    assert [scope.value for scope in Offered] == [scope.value for scope in FailScope]


def test_audit_reads_with_list_calls_only(org: dict[str, int], dd_env: RunningEmulator) -> None:
    dd_env.admin.reset_log()
    code, report = audit_json()
    counts = dd_env.admin.request_counts()
    assert counts == {"GET /api/v1/monitor": 1, "GET /api/v1/dashboard": 1, "GET /api/v1/dashboard/{id}": 1}
    assert report["summary"]["requests"] == 3


def test_text_and_markdown_reports(org: dict[str, int]) -> None:
    code, text = cli("audit")
    assert code == 0
    lines = text.splitlines()
    assert (
        "Monitors    15: 7 in sync, 1 drifted, 1 orphaned, 5 unmanaged, 1 owned by other namespaces" in lines
    )
    assert "Findings    1 error, 9 warnings, 8 info" in lines
    assert '    muted-forever: muted with no end (options.silenced {"*": null}): it never notifies' in lines
    assert '        /name: "cart latency (raised during incident)" → "cart latency"  [by hand]' in lines
    payments = next(line for line in lines if line.startswith("  payments "))
    assert payments.split() == [
        "payments",
        "✗",
        "✓",
        str(org["[mesh] sidecar injection failing"]),
        "✗",
        "✓",
        str(org["payments ejections"]),
    ]
    code, markdown = cli("audit", "--format", "markdown")
    assert code == 0
    assert markdown.startswith("### provisioner audit · namespace `mesh-sre`")
    assert "**Findings**: 🔴 1 error · 🟠 9 warnings · 🔵 8 info" in markdown
    assert (
        f"| `payments` | ❌ | ✅ {org['[mesh] sidecar injection failing']} | ❌ | ✅ {org['payments ejections']} |"
        in markdown
    )


EJECTIONS = """\
id: payments-ejections
kind: monitor
name: payments ejections
type: metric alert
query: "max(last_5m):max:envoy.cluster.outlier_detection.ejections_active{envoy_cluster:outbound|80||payments.shop.svc.cluster.local} > 0"
message: Ejecting payments hosts.
options: {thresholds: {critical: 0}}
"""

RESPONSES = """\
id: cart-responses
kind: monitor
name: cart responses by code
type: query alert
query: "sum(last_5m):sum:istio.mesh.request.count.total{destination_service_name:cart} by {response_code}.as_count() > 100"
message: Many cart responses of one code.
options: {thresholds: {critical: 100}}
"""


def test_info_folds_only_findings_that_say_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "ejections.yaml").write_text(EJECTIONS)  # circuit-open
    (tmp_path / "monitors" / "responses.yaml").write_text(RESPONSES)  # error-rate
    assert cli("apply", "--no-remote-validate")[0] == 0
    audited = CliRunner().invoke(app, ["audit", "--no-metric-check", "--format", "json"])
    report = json.loads(audited.stdout)
    said: dict[str, set[str]] = {}  # code -> the messages of its info findings
    for resource in report["monitors"]:
        for finding in resource["findings"]:
            if finding["severity"] == "info":
                said.setdefault(finding["code"], set()).add(finding["message"])
    assert len(said["no-data-notification-off"]) == 2, said  # error-rate, circuit-open

    _, text = cli("audit")
    folded = [re.match(r"  (\S+) ×(\d+): (.*)$", line) for line in text.splitlines()]
    assert {(m[1], m[3]) for m in folded if m} == {(code, m) for code in said for m in said[code]}, text
    _, markdown = cli("audit", "--format", "markdown")
    for code, messages in said.items():
        for message in messages:
            assert f"| **{code}**: {message} |" in markdown


def test_stuck_limit_is_configurable(org: dict[str, int]) -> None:
    _, report = audit_json("--stuck-limit", "0s")
    stuck = {
        m["title"] for m in report["monitors"] if any(f["code"] == "stuck-in-no-data" for f in m["findings"])
    }
    # every monitor was created a moment ago and never had data; for a composite and its parts that is normal
    composites = {"[mesh] cart 5xx ratio", "[mesh] checkout 5xx ratio"}
    assert stuck == {title for title in EXPECTED if not title.startswith(tuple(composites))}


def test_a_bad_duration_is_a_clear_error(org: dict[str, int]) -> None:
    code, output = cli("audit", "--mute-limit", "seven days")
    assert code == 1
    assert "--mute-limit: 'seven days' is not a duration" in output


def test_json_follows_the_documented_schema(org: dict[str, int], output_schemas: OutputSchemas) -> None:
    _, report = audit_json()
    output_schemas.check("audit", report)
    report["dashboards"][0]["overall_state"] = "OK"  # a monitor's field, not a dashboard's
    with pytest.raises(AssertionError, match="Unevaluated properties are not allowed"):
        output_schemas.check("audit", report)
    assert list(report) == [
        "format_version", "namespace", "generated_at", "settings", "summary", "monitors", "dashboards",
        "coverage", "metric_check", "undeployed", "warnings",
    ]  # fmt: skip
    assert set(report["summary"]) == {"monitors", "dashboards", "findings", "coverage", "requests"}
    assert set(report["monitors"][0]) == {
        "id", "title", "class", "namespace", "definition_id", "source", "note", "drift", "findings", "type",
        "overall_state", "signals", "services",
    }  # fmt: skip
    assert set(report["coverage"]) == {"services", "mesh_wide", "findings"}
    assert report["settings"] == {"mute_limit_hours": 168.0, "stuck_limit_hours": 168.0}


def test_a_team_without_definitions_can_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: DatadogClient
) -> None:
    monkeypatch.chdir(tmp_path)
    created = client.create_monitor(_hand_made()[0])
    code, output = cli("audit", "--format", "json")
    assert code == 0, output
    assert "No definitions found" in output
    report = json.loads(output[output.index("{") :])
    assert [(m["id"], m["class"]) for m in report["monitors"]] == [(created.datadog_id, "unmanaged")]


def test_a_markdown_audit_too_long_for_a_comment_only_as_github_counts_it_is_cut_within_githubs_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: DatadogClient
) -> None:
    """GitHub counts a body in UTF-16 code units: an emoji is two. 140 hand-made monitors named with emoji,
    each without a notification handle (a warning row): in Python characters the report fits, in GitHub's
    count it does not."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    (tmp_path / "monitors").mkdir()
    for n in range(140):
        query = f"avg(last_5m):avg:app.queue.depth{{queue:q{n:03d}}} > 100"
        client.create_monitor(
            {"name": f"{'🚨' * 150} queue q{n:03d} backs up", "type": "metric alert", "query": query,
             "message": "The queue backs up.", "options": {"thresholds": {"critical": 100}}}
        )  # fmt: skip
    code, markdown = cli("audit", "--format", "markdown")
    assert code == 0, markdown

    shown = [line for line in markdown.splitlines() if "**no-notification-handle**" in line]
    cut = re.search(r"\*\*Report cut\*\*: (\d+) rows are not shown", markdown)
    assert cut is not None and 0 < len(shown) < 140 and int(cut[1]) >= 140 - len(shown)
    # Counted as Python does, the rows shown and the ones cut fit where the cut used to measure them.
    longest_row = max(len(line) + 1 for line in shown)
    assert len(markdown) + int(cut[1]) * longest_row < GITHUB_BODY_LIMIT - 2_000
    assert GITHUB_BODY_LIMIT - 5_000 < github_length(markdown) <= GITHUB_BODY_LIMIT - 1_000
    # The comment posts it as it is: the cut fits with room for the marker and a heading.
    assert compose("provisioner-audit", markdown).endswith(markdown)
