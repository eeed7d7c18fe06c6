"""``provisioner mesh requirements`` and the set-up warnings of ``validate``: what the cluster and the
Datadog Agent need for a repository's monitors to get data, through the real CLI on real YAML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.definitions.schema import schema_documents
from provisioner.mesh import catalogue, setup
from provisioner.model import CollectionModes

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
        "set_up": [],
    }
    assert not any(r["declared"] for r in document["requirements"])
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
    tracer, agent = prod["apm-tracer"].split("\n\n")
    assert yaml.safe_load(tracer) == {"global": {"proxy": {"tracer": "datadog"}}, "traceSampling": 100.0}
    # Datadog's Istio tracing page: the Agent must accept the sidecars' traces on its host port.
    assert yaml.safe_load(agent) == {"datadog": {"apm": {"portEnabled": True}}}
    instance = yaml.safe_load(
        yaml.safe_load(openmetrics["istio-data-plane"])["datadog"]["confd"]["istio.yaml"]
    )["instances"][0]
    assert instance["exclude_labels"] == [  # Datadog's suggested list (istio-metrics.md §3)
        "source_version", "destination_version", "source_canonical_revision", "destination_canonical_revision",
        "source_principal", "destination_principal", "source_cluster", "destination_cluster",
        "source_canonical_service", "destination_canonical_service", "source_workload_namespace",
        "destination_workload_namespace", "request_protocol", "connection_security_policy",
    ]  # fmt: skip


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


def test_filtering_or_grouping_by_the_cluster_tag_needs_the_agents_cluster_name(project: Path) -> None:
    assert "cluster-name" not in {r["key"] for r in requirements("prod")["requirements"]}
    (project / "monitors" / "clustered.yaml").write_text("""\
id: injection-by-cluster
kind: sidecar-injection
name: injection failing in {{kube_cluster_name.name}}
group_by: [kube_cluster_name]
message: "@slack-mesh"
---
id: cpu-in-cluster
kind: monitor
name: cpu
type: query alert
query: "avg(last_5m):avg:system.cpu.user{kube_cluster_name:prod-eu1} > 90"
message: "@slack-infra"
options: {thresholds: {critical: 90}}
""")
    (project / "dashboards").mkdir()
    (project / "dashboards" / "mesh.yaml").write_text("""\
id: mesh-board
kind: dashboard
title: mesh
template_variables:
  - {name: cluster, prefix: kube_cluster_name, defaults: ["*"]}
  - {name: zone, prefix: topology_zone, defaults: ["*"]}
widgets:
  - type: timeseries
    query: sum:mesh:requests{$cluster} by {destination_service_name}
""")
    (found,) = [r for r in requirements("prod")["requirements"] if r["key"] == "cluster-name"]
    assert found["monitors"] == ["injection-by-cluster", "cpu-in-cluster", "mesh-board"]
    assert found["opt_in"] is False  # detected on GKE, AKS and EKS: validate does not warn
    assert "kubernetes-cluster-name-detection" in found["why"]
    assert yaml.safe_load(found["snippets"][0]["yaml"]) == {"datadog": {"clusterName": "<cluster name>"}}


def test_validate_warns_about_a_running_total_read_as_a_count_in_monitors_and_widgets(project: Path) -> None:
    """The legacy data plane sends the request counter and the latency sum/count twice: as counts
    (``.total``) and as cumulative gauges under the plain names, which V2 uses for its counts."""
    (project / "monitors" / "raw.yaml").write_text("""\
id: running-total
kind: monitor
name: requests
type: query alert
query: "sum(last_5m):sum:istio.mesh.request.count{reporter:destination}.as_count() > 9"
message: "@slack-mesh"
options: {thresholds: {critical: 9}}
""")
    (project / "dashboards").mkdir()
    (project / "dashboards" / "board.yaml").write_text("""\
id: board
kind: dashboard
title: board
widgets:
  - type: timeseries
    query: sum:mesh:request_duration_sum_cumulative{*}
  - definition:
      type: query_value
      requests: [{q: "sum:istio.mesh.request.duration.milliseconds.count{*}"}]
""")

    def warnings(env: str) -> list[tuple[str, int, str]]:
        result = CliRunner().invoke(app, ["validate", "--env", env, "--format", "json"])
        problems = json.loads(result.stdout)["problems"]  # openmetrics: the shorthand names no metric there
        return [
            (p["filename"].split("/")[-1], p["line"], p["hint"])
            for p in problems
            if p["code"] == "cumulative-gauge"
        ]

    assert warnings("all-legacy") == [
        ("board.yaml", 5, "use istio.mesh.request.duration.milliseconds.sum.total, the count per interval"),
        ("board.yaml", 7, "use istio.mesh.request.duration.milliseconds.count.total, the count per interval"),
        ("raw.yaml", 5, "use istio.mesh.request.count.total, the count per interval"),
    ]
    assert warnings("all-openmetrics") == []  # there the plain names are the counts


# --- declaring the set-up done: istio: {set_up: [...]} -------------------------------------------------


def setup_warnings(env: str) -> dict[str, str]:
    """needs-mesh-setup warnings by definition line: the message's list of set-up, then the hint."""
    result = CliRunner().invoke(app, ["validate", "--env", env, "--format", "json"])
    assert result.exit_code == 0, result.output
    problems = json.loads(result.stdout)["problems"]
    return {
        f"{p['filename'].split('/')[-1]}:{p['line']}": p["message"].split(": ", 1)[1] + " | " + p["hint"]
        for p in problems
        if p["code"] == "needs-mesh-setup"
    }


def declare(project: Path, config: str) -> None:
    (project / "provisioner.yaml").write_text(config)


def test_declared_set_up_ends_the_warning_and_a_partial_declaration_leaves_the_rest(project: Path) -> None:
    apply_ = "`provisioner mesh requirements` prints the snippets to apply; once applied, declare it in "
    assert setup_warnings("prod") == {
        "mesh.yaml:6": "Envoy check on the sidecars; proxyStatsMatcher inclusions | "
        + apply_ + "provisioner.yaml: `istio: {set_up: [envoy-check, proxy-stats]}`",
        "mesh.yaml:10": "Envoy's Datadog tracer (APM) | " + apply_ + "provisioner.yaml: `istio: {set_up: [apm-tracer]}`",
        "mesh.yaml:25": "Envoy check on the sidecars; proxyStatsMatcher inclusions | "
        + apply_ + "provisioner.yaml: `istio: {set_up: [envoy-check, proxy-stats]}`",
    }  # fmt: skip

    declare(project, "istio: {set_up: [envoy-check, apm-tracer]}\nenvironments: {prod: {}}\n")
    assert setup_warnings("prod") == {
        "mesh.yaml:6": "proxyStatsMatcher inclusions | "
        + apply_ + "provisioner.yaml: `istio: {set_up: [proxy-stats]}` (added to the keys already declared)",
        "mesh.yaml:25": "proxyStatsMatcher inclusions | "
        + apply_ + "provisioner.yaml: `istio: {set_up: [proxy-stats]}` (added to the keys already declared)",
    }  # fmt: skip

    declare(project, "istio: {set_up: [envoy-check, proxy-stats, apm-tracer]}\nenvironments: {prod: {}}\n")
    assert setup_warnings("prod") == {}


def test_an_environments_declaration_adds_to_the_projects(project: Path) -> None:
    declare(
        project,
        """\
istio: {set_up: [apm-tracer]}
environments:
  prod: {}
  traced-and-checked:
    istio: {data_plane: openmetrics, set_up: [envoy-check, proxy-stats]}
  openmetrics-applied:
    istio: {data_plane: openmetrics, set_up: [istio-data-plane]}
""",
    )
    assert set(setup_warnings("prod")) == {"mesh.yaml:6", "mesh.yaml:25"}  # the project's apm-tracer holds
    # The environment's list joins the project's: nothing is left but its openmetrics data plane.
    assert setup_warnings("traced-and-checked") == {
        "mesh.yaml:15": "Istio check on the proxies (data plane) | `provisioner mesh requirements` prints the "
        "snippets to apply; once applied, declare it in provisioner.yaml: `istio: {set_up: [istio-data-plane]}` "
        "(added to the keys already declared)"
    }
    assert set(setup_warnings("openmetrics-applied")) == {"mesh.yaml:6", "mesh.yaml:25"}


def test_an_unknown_set_up_key_is_an_error_at_its_position_naming_the_keys(project: Path) -> None:
    declare(
        project, "istio: {set_up: [apm-tracer]}\nenvironments:\n  prod:\n    istio:\n      set_up: [envoy]\n"
    )
    result = CliRunner().invoke(app, ["validate", "--env", "prod"])
    assert result.exit_code == 1
    assert (
        "provisioner.yaml:5:16: error [invalid-value] /environments/prod/istio/set_up/0: 'envoy' is not one of: "
        "istio-data-plane, envoy-check, proxy-stats, apm-tracer"
    ) in result.output
    assert "did you mean 'envoy-check'?" in result.output


def test_mesh_requirements_still_lists_declared_set_up_and_marks_it(project: Path) -> None:
    declare(project, "environments:\n  prod:\n    istio: {set_up: [proxy-stats, envoy-check]}\n")
    document = requirements("prod")
    assert document["istio"]["set_up"] == ["envoy-check", "proxy-stats"]
    declared = {r["key"]: r["declared"] for r in document["requirements"]}
    assert declared == {
        "istio-control-plane": False,
        "istio-data-plane": False,
        "envoy-check": True,
        "proxy-stats": True,
        "apm-tracer": False,
    }
    text = CliRunner().invoke(app, ["mesh", "requirements", "--env", "prod"]).stdout.splitlines()
    titles = [line for line in text if line.startswith("== ")]
    assert titles[2:] == [
        "== 3. Envoy check on the sidecars · openmetrics · declared done in provisioner.yaml",
        "== 4. proxyStatsMatcher inclusions · declared done in provisioner.yaml",
        "== 5. Envoy's Datadog tracer (APM)",
    ]
    assert "Needed by: ejections, raw-disconnected" in text  # the snippets stay: the declaration may be wrong
    assert "meshConfig:" in text


def test_the_config_schema_accepts_exactly_the_set_up_that_validate_can_warn_about() -> None:
    items = schema_documents()["config.json"]["$defs"]["istio"]["else"]["properties"]["set_up"]["items"]
    assert items["enum"] == list(setup.DECLARABLE)
    # The Agent's cluster name is never opt-in (detected on GKE, AKS and EKS): validate never warns about it.
    assert setup.DECLARABLE == ("istio-data-plane", "envoy-check", "proxy-stats", "apm-tracer")


MODES = st.builds(CollectionModes, *[st.sampled_from(["openmetrics", "legacy"])] * 3)


@given(
    metrics=st.lists(st.sampled_from(catalogue.keys()).map(catalogue.metric), max_size=6),
    modes=MODES,
    declared=st.lists(st.sampled_from(setup.DECLARABLE), unique=True),
)
def test_a_declaration_takes_away_exactly_the_declared_set_up(
    metrics: list[catalogue.Metric], modes: CollectionModes, declared: list[str]
) -> None:
    undeclared = setup.opt_ins(metrics, modes)
    with_declaration = CollectionModes(
        modes.data_plane, modes.control_plane, modes.envoy, tuple(sorted(declared))
    )
    assert setup.opt_ins(metrics, with_declaration) == tuple(r for r in undeclared if r.key not in declared)
    listed = setup.requirements({"id": metrics}, with_declaration)
    assert [r.key for r in listed] == [r.key for r in setup.requirements({"id": metrics}, modes)]
    assert {r.key for r in listed if r.declared} == {r.key for r in undeclared} & set(declared)
