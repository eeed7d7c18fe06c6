"""load_definitions on real YAML files: what each kind compiles to, and how problems are collected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from provisioner.config import load_config, select_environment
from provisioner.definitions import load_definitions
from provisioner.model import DefinitionSet, Environment

PRODUCTION = Environment(
    name="production", namespace="mesh", tags=("env:production", "team:mesh"), notify=("@pagerduty-mesh",),
    variables={"cluster": "prod-eu1"},
)  # fmt: skip


def load(
    tmp_path: Path, text: str, environment: Environment = PRODUCTION, name: str = "m.yaml"
) -> DefinitionSet:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_definitions([path], environment)


def only_query(definitions: DefinitionSet) -> str:
    assert definitions.problems == (), definitions.problems
    (monitor,) = definitions.monitors
    return str(monitor.body["query"])


def test_error_rate_apm_is_the_guarded_ratio(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        id: mesh-error-rate
        kind: error-rate
        name: "5xx on {{service.name}}"
        scope: ["env:prod"]
        group_by: [service]
        thresholds: {critical: 5%, warning: 2%}
        message: "{{service.name}} fails @slack-mesh"
    """)  # fmt: skip
    assert only_query(definitions) == (
        "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod} by {service}.as_count() / "
        "clamp_min(sum:trace.envoy.proxy.hits{env:prod} by {service}.as_count(), 100) > 0.05"
    )
    (monitor,) = definitions.monitors
    assert monitor.body["options"] == {"thresholds": {"critical": 0.05, "warning": 0.02}}
    assert (monitor.kind, monitor.signal, monitor.services) == ("error-rate", "error-rate", ())


def test_error_rate_istio_counts_5xx_where_requests_are_received(tmp_path: Path) -> None:
    query = only_query(load(tmp_path, """
        id: e
        kind: error-rate
        name: n
        source: istio
        window: 15m
        min_requests: 0
        thresholds: {critical: 0.014}
        message: "@x"
    """))  # fmt: skip
    assert query == (
        "sum(last_15m):sum:istio.mesh.request.count.total{reporter:destination,response_code:5*}.as_count() / "
        "sum:istio.mesh.request.count.total{reporter:destination}.as_count() > 0.014"
    )


def test_percents_become_exact_ratios(tmp_path: Path) -> None:
    definitions = load(
        tmp_path, "{id: e, kind: error-rate, name: n, message: '@x', thresholds: {critical: 14.3%}}"
    )
    assert definitions.monitors[0].body["options"]["thresholds"] == {"critical": 0.143}
    assert only_query(definitions).endswith("> 0.143")


def test_sidecar_injection_alerts_on_any_failure_by_default(tmp_path: Path) -> None:
    query = only_query(
        load(
            tmp_path,
            "{id: s, kind: sidecar-injection, name: n, message: '@x', group_by: [kube_cluster_name]}",
        )
    )
    assert (
        query
        == "sum(last_5m):sum:istio.sidecar_injection.failure_total{*} by {kube_cluster_name}.as_count() > 0"
    )


def test_config_propagation_sums_the_chosen_signals(tmp_path: Path) -> None:
    only = only_query(load(tmp_path, "{id: c, kind: config-propagation, name: n, message: '@x'}"))
    assert only == "sum(last_10m):sum:istio.galley.validation.failed{*}.as_count() > 0"
    every = only_query(load(tmp_path, """
        {id: c, kind: config-propagation, name: n, message: '@x', scope: [kube_cluster_name:c1],
         push_errors: true, proxy_rejects: true, thresholds: {critical: 3}}
    """))  # fmt: skip
    assert every == (
        "sum(last_10m):default_zero(sum:istio.galley.validation.failed{kube_cluster_name:c1}.as_count()) + "
        "default_zero(sum:istio.pilot.xds.pushes{kube_cluster_name:c1,type:*senderr}.as_count()) + "
        "default_zero(sum:istio.pilot.total_xds_rejects{kube_cluster_name:c1}.as_count()) > 3"
    )


@pytest.mark.parametrize(
    ("extra", "query"),
    [
        ("", "max(last_5m):max:envoy.cluster.outlier_detection.ejections_active{*} by {envoy_cluster} > 0"),
        (
            "signal: circuit-breaker, breakers: [rq_open, cx_open], clusters: [a, b]",
            "max(last_5m):default_zero(max:envoy.cluster.circuit_breakers.rq_open{(envoy_cluster:a OR envoy_cluster:b)}"
            " by {envoy_cluster}) + default_zero(max:envoy.cluster.circuit_breakers.cx_open"
            "{(envoy_cluster:a OR envoy_cluster:b)} by {envoy_cluster}) > 0",
        ),
        (
            "signal: overflow, group_by: []",
            "sum(last_5m):sum:istio.mesh.request.count.total{response_flags:UO}.as_count() > 0",
        ),
    ],
)
def test_circuit_open_signals(tmp_path: Path, extra: str, query: str) -> None:
    text = "{id: o, kind: circuit-open, name: n, message: '@x'" + (f", {extra}" if extra else "") + "}"
    assert only_query(load(tmp_path, text)) == query


def test_raw_monitor_body_and_environment_additions(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        id: raw
        kind: monitor
        name: "  latency  "
        type: metric alert
        query: "avg(last_5m):avg:trace.envoy.proxy.duration{env:production} > 2"
        message: "Latency is high.\\n"
        tags: [team:mesh, service:checkout]
        options: {thresholds: {critical: 2}, notify_no_data: false}
        restricted_roles: [role-1]
    """)  # fmt: skip
    (monitor,) = definitions.monitors
    assert dict(monitor.body) == {
        "name": "latency",
        "type": "metric alert",
        "query": "avg(last_5m):avg:trace.envoy.proxy.duration{env:production} > 2",
        "message": "Latency is high.\n\n@pagerduty-mesh",
        "tags": ["env:production", "service:checkout", "team:mesh"],
        "priority": None,
        "options": {"thresholds": {"critical": 2}, "notify_no_data": False},
        "restricted_roles": ["role-1"],
    }
    assert (monitor.signal, monitor.keep_drift, monitor.source.line) == (None, False, 2)


def test_services_expand_with_their_own_thresholds(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        id: checkout-path
        kind: error-rate
        name: "${service} errors"
        source: istio
        message: "${service} @x"
        thresholds: {critical: 2%}
        keep_drift: true
        services:
          - service: checkout
            thresholds: {critical: 1%}
          - cart
    """)  # fmt: skip
    assert definitions.problems == ()
    checkout, cart = definitions.monitors
    assert (checkout.definition_id, cart.definition_id) == ("checkout-path/checkout", "checkout-path/cart")
    assert (checkout.body["name"], cart.body["message"]) == ("checkout errors", "cart @x\n\n@pagerduty-mesh")
    assert checkout.body["options"]["thresholds"] == {"critical": 0.01}
    assert cart.body["options"]["thresholds"] == {"critical": 0.02}
    assert "destination_service_name:checkout" in str(checkout.body["query"])
    assert (checkout.services, checkout.keep_drift, checkout.source.line) == (("checkout",), True, 10)
    assert definitions.services == ("cart", "checkout")


def test_expanded_names_without_the_service_variable_get_it_appended(tmp_path: Path) -> None:
    definitions = load(
        tmp_path,
        "{id: e, kind: error-rate, name: errors, message: '@x', thresholds: {critical: 1%}, services: [a]}",
    )
    assert definitions.monitors[0].body["name"] == "errors (a)"


def test_overrides_and_variables_follow_the_environment(tmp_path: Path) -> None:
    text = """
        id: s
        kind: sidecar-injection
        name: "injection failing in ${cluster} (${env}), literally $${cluster}"
        scope: ["kube_cluster_name:${cluster}"]
        message: "@x"
        priority: 3
        overrides:
          production: {priority: 1, thresholds: {critical: 2}}
    """
    production = load(tmp_path, text).monitors[0]
    staging = load(tmp_path, text, Environment(name="staging", variables={"cluster": "stg"})).monitors[0]
    assert production.body["name"] == "injection failing in prod-eu1 (production), literally ${cluster}"
    assert (production.body["priority"], production.body["query"].endswith("> 2")) == (1, True)
    assert (staging.body["priority"], staging.body["query"].endswith("> 0")) == (3, True)
    assert "kube_cluster_name:stg" in staging.body["query"]


def test_problems_in_overrides_point_at_the_override(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        id: s
        kind: sidecar-injection
        name: n
        message: "@x"
        thresholds: {critical: 5, warning: 1}
        overrides:
          production:
            thresholds: {warning: 9}
    """)  # fmt: skip
    (problem,) = definitions.problems
    assert (problem.code, problem.pointer, problem.line) == (
        "warning-above-critical",
        "/overrides/production/thresholds/warning",
        9,
    )
    assert definitions.monitors == ()


def test_a_definition_with_an_error_gives_no_spec_but_warnings_do_not_block(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        - {id: fine, kind: sidecar-injection, name: n}
        - {id: broken, kind: sidecar-injection, name: n, thresholds: {critical: -1}}
    """, Environment(name="default"))  # fmt: skip
    assert [m.definition_id for m in definitions.monitors] == ["fine"]
    assert [(p.code, p.severity, p.pointer) for p in definitions.problems] == [
        ("no-notification-handle", "warning", "/0"),
        ("invalid-value", "error", "/1/thresholds/critical"),
    ]
    assert not definitions.ok


def test_dashboard_shorthand_compiles_to_formula_requests(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        id: mesh
        kind: dashboard
        title: "Mesh (${env})"
        tags: [team:mesh]
        template_variables: [{name: cluster, prefix: kube_cluster_name}]
        widgets:
          - {type: query_value, title: Errors, query: "sum:trace.envoy.proxy.errors{$cluster}.as_count()", aggregator: sum, precision: 0}
          - type: toplist
            queries: {d: "sum:a{$cluster} by {x}", c: "sum:b{$cluster} by {x}"}
            formula: d / c
          - {definition: {type: note, content: hi}, layout: {x: 0, y: 0, width: 2, height: 2}}
    """)  # fmt: skip
    assert definitions.problems == ()
    (dashboard,) = definitions.dashboards
    body = dashboard.body
    assert (body["title"], body["layout_type"], body["description"], body["tags"]) == (
        "Mesh (production)",
        "ordered",
        None,
        ["team:mesh"],
    )
    value, top, note = body["widgets"]
    assert value == {"definition": {"type": "query_value", "title": "Errors", "precision": 0, "requests": [{
        "response_format": "scalar",
        "queries": [{"data_source": "metrics", "name": "query1", "query": "sum:trace.envoy.proxy.errors{$cluster}.as_count()", "aggregator": "sum"}],
        "formulas": [{"formula": "query1"}]}]}}  # fmt: skip
    assert top["definition"]["requests"][0]["formulas"] == [
        {"formula": "d / c", "limit": {"count": 10, "order": "desc"}}
    ]
    assert note == {
        "definition": {"type": "note", "content": "hi"},
        "layout": {"x": 0, "y": 0, "width": 2, "height": 2},
    }


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("{id: x, kind: sidecar-injection, name: a, message: '@x'}\n")
    (tmp_path / "b.yaml").write_text("# b\n{id: x, kind: dashboard, title: b, widgets: []}\n")
    definitions = load_definitions([tmp_path], PRODUCTION)
    messages = [
        (p.path.rsplit("/", 1)[-1], p.line, p.message.split(" at ")[-1].rsplit("/", 1)[-1])
        for p in definitions.problems
    ]
    assert messages == [("a.yaml", 1, "b.yaml:2:6"), ("b.yaml", 2, "a.yaml:1:6")]
    assert (definitions.monitors, definitions.dashboards) == ((), ())


def test_missing_paths_and_default_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (nothing,) = load_definitions([], PRODUCTION).problems
    assert nothing.code == "no-definitions"
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "s.yml").write_text("{id: s, kind: sidecar-injection, name: n, message: '@x'}")
    (tmp_path / "monitors" / ".hidden").mkdir()
    (tmp_path / "monitors" / ".hidden" / "x.yaml").write_text("not: [valid")
    found = load_definitions([], PRODUCTION)
    assert (found.files, found.problems, len(found.monitors)) == (("monitors/s.yml",), (), 1)
    (missing,) = load_definitions([Path("nope.yaml")], PRODUCTION).problems
    assert (missing.path, missing.code) == ("nope.yaml", "path-not-found")


def test_services_include_the_config_and_overrides_for_unknown_environments_are_reported(
    tmp_path: Path,
) -> None:
    config_file = tmp_path / "provisioner.yaml"
    config_file.write_text(
        "services: [reviews]\nenvironments: {production: {}, staging: {}}\ndefault_environment: staging\n"
    )
    config = load_config(config_file)
    definition = tmp_path / "m.yaml"
    definition.write_text(
        "{id: s, kind: sidecar-injection, name: n, message: '@x', overrides: {prod: {priority: 1}}}"
    )
    definitions = load_definitions([definition], select_environment(config, None), config)
    assert definitions.services == ("reviews",)
    (problem,) = definitions.problems
    assert (problem.code, problem.hint) == ("unknown-environment", "did you mean 'production'?")
