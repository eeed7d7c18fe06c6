"""load_definitions on real YAML files: what each kind compiles to, and how problems are collected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from provisioner.config import load_config, select_environment
from provisioner.definitions import load_definitions
from provisioner.model import CollectionModes, DefinitionSet, Environment, Problem

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


def issues(definitions: DefinitionSet) -> tuple[Problem, ...]:
    """The problems, but for the warnings about Istio set-up a mesh metric needs (test_setup covers them)."""
    return tuple(p for p in definitions.problems if p.code != "needs-mesh-setup")


def only_query(definitions: DefinitionSet) -> str:
    assert issues(definitions) == (), definitions.problems
    (monitor,) = definitions.monitors
    return str(monitor.body["query"])


def test_error_rate_is_a_composite_of_the_ratio_and_the_traffic_it_needs(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        id: mesh-error-rate
        kind: error-rate
        name: "5xx on {{service.name}}"
        scope: ["env:prod"]
        group_by: [service]
        thresholds: {critical: 5%, warning: 2%}
        message: "{{service.name}} fails @slack-mesh"
        options: {renotify_interval: 60, new_group_delay: 300}
    """)  # fmt: skip
    assert issues(definitions) == ()
    composite, ratio, traffic = definitions.monitors
    assert (composite.definition_id, ratio.definition_id, traffic.definition_id) == (
        "mesh-error-rate", "mesh-error-rate:ratio", "mesh-error-rate:traffic"
    )  # fmt: skip
    assert composite.body["type"] == "composite"
    assert composite.body["query"] == "@{mesh-error-rate:ratio} && @{mesh-error-rate:traffic}"
    assert composite.body["options"] == {"renotify_interval": 60}  # notification options: the composite's
    assert composite.body["message"] == "{{service.name}} fails @slack-mesh\n\n@pagerduty-mesh"
    assert ratio.body["query"] == (
        "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod} by {service}.as_count() / "
        "sum:trace.envoy.proxy.hits{env:prod} by {service}.as_count() > 0.05"
    )
    assert ratio.body["options"] == {
        "new_group_delay": 300,
        "thresholds": {"critical": 0.05, "warning": 0.02},
        "on_missing_data": "resolve",  # the errors series only exists after an error
        "require_full_window": False,  # sparse counts: a window with empty buckets is still evaluated
    }
    assert (
        traffic.body["query"]
        == "sum(last_5m):sum:trace.envoy.proxy.hits{env:prod} by {service}.as_count() >= 100"
    )
    assert traffic.body["options"] == {
        "new_group_delay": 300,
        "thresholds": {"critical": 100},
        "on_missing_data": "default",
        "require_full_window": False,
    }
    for part in (ratio, traffic):  # parts never notify
        assert part.part_of == "mesh-error-rate" and part.body["priority"] is None
        assert "@" not in part.body["message"] and "5xx on {{service.name}} [" in part.body["name"]
    assert {m.signal for m in definitions.monitors} == {"error-rate"}


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
        tmp_path,
        "{id: e, kind: error-rate, name: n, message: '@x', thresholds: {critical: 14.3%}, min_requests: 0}",
    )
    assert definitions.monitors[0].body["options"]["thresholds"] == {"critical": 0.143}
    assert only_query(definitions).endswith("> 0.143")


OPENMETRICS = Environment(name="om", istio=CollectionModes("openmetrics", "openmetrics", "openmetrics"))
LEGACY = Environment(name="v1", istio=CollectionModes("legacy", "legacy", "legacy"))


@pytest.mark.parametrize(
    ("environment", "metric"),
    [
        (OPENMETRICS, "istio.sidecar_injection.failure.count"),
        (LEGACY, "istio.sidecar_injection.failure_total"),
    ],
)
def test_sidecar_injection_alerts_on_any_failure_by_default(
    tmp_path: Path, environment: Environment, metric: str
) -> None:
    text = "{id: s, kind: sidecar-injection, name: n, message: '@x', group_by: [kube_cluster_name]}"
    definitions = load(tmp_path, text, environment)
    assert (
        only_query(definitions) == f"sum(last_5m):sum:{metric}{{*}} by {{kube_cluster_name}}.as_count() > 0"
    )
    assert definitions.monitors[0].body["options"]["on_missing_data"] == "default"  # no failure: no series


def test_config_propagation_is_one_monitor_per_signal_never_a_sum(tmp_path: Path) -> None:
    one = load(tmp_path, """
        {id: c, kind: config-propagation, name: n, message: '@x', push_errors: false, proxy_rejects: false}
    """, LEGACY)  # fmt: skip
    assert only_query(one) == "sum(last_10m):sum:istio.galley.validation.failed{*}.as_count() > 0"
    every = load(tmp_path, """
        {id: c, kind: config-propagation, name: n, message: '@x', scope: [kube_cluster_name:c1],
         thresholds: {critical: 3}}
    """, OPENMETRICS)  # fmt: skip
    assert issues(every) == ()
    assert {m.definition_id: m.body["query"] for m in every.monitors} == {
        "c": "@{c:push-errors} || @{c:proxy-rejects} || @{c:validation}",
        "c:push-errors": "sum(last_10m):sum:istio.pilot.xds.pushes.count{kube_cluster_name:c1,type:*senderr}"
        ".as_count() > 3",
        "c:proxy-rejects": "sum(last_10m):sum:istio.pilot.total_xds_rejects.count{kube_cluster_name:c1}.as_count() > 3",
        "c:validation": "sum(last_10m):sum:istio.galley.validation.failed.count{kube_cluster_name:c1}.as_count() > 3",
    }
    none = load(tmp_path, """
        {id: c, kind: config-propagation, name: n, message: '@x', push_errors: false, proxy_rejects: false,
         validation_failures: false}
    """)  # fmt: skip
    assert [p.code for p in none.errors] == ["no-signal"]


@pytest.mark.parametrize(
    ("environment", "extra", "query"),
    [
        (
            OPENMETRICS,
            "",
            "sum(last_5m):sum:envoy.cluster.outlier_detection.ejections_active{*} by {envoy_cluster} + "
            "sum:envoy.cluster.outlier_detection.ejections_enforced_consecutive_5xx.count{*} by {envoy_cluster}.as_count() + "
            "sum:envoy.cluster.outlier_detection.ejections_enforced_consecutive_gateway_failure.count{*} by {envoy_cluster}.as_count() + "
            "sum:envoy.cluster.outlier_detection.ejections_enforced_consecutive_local_origin_failure.count{*} by {envoy_cluster}.as_count() + "
            "sum:envoy.cluster.outlier_detection.ejections_overflow.count{*} by {envoy_cluster}.as_count() > 0",
        ),
        (
            LEGACY,
            "",
            "sum(last_5m):sum:envoy.cluster.outlier_detection.ejections_active{*} by {envoy_cluster} + "
            "sum:envoy.cluster.outlier_detection.ejections_enforced_total{*} by {envoy_cluster}.as_count() + "
            "sum:envoy.cluster.outlier_detection.ejections_overflow{*} by {envoy_cluster}.as_count() > 0",
        ),
        (
            OPENMETRICS,
            "signal: circuit-breaker, breakers: [rq_open, cx_open], clusters: ['outbound|80||a.ns.svc.cluster.local', b]",
            "sum(last_5m):max:envoy.cluster.circuit_breakers.rq_open{(envoy_cluster:outbound_80__a.ns.svc.cluster.local"
            " OR envoy_cluster:outbound_*_b.*.svc.cluster.local)} by {envoy_cluster} + "
            "max:envoy.cluster.circuit_breakers.cx_open{(envoy_cluster:outbound_80__a.ns.svc.cluster.local"
            " OR envoy_cluster:outbound_*_b.*.svc.cluster.local)} by {envoy_cluster} + "
            "sum:envoy.cluster.upstream_rq_pending_overflow.count{(envoy_cluster:outbound_80__a.ns.svc.cluster.local"
            " OR envoy_cluster:outbound_*_b.*.svc.cluster.local)} by {envoy_cluster}.as_count() > 0",
        ),
        (
            OPENMETRICS,
            "signal: overflow, group_by: []",
            "sum(last_5m):sum:istio.mesh.request.count{reporter:source,(response_flags:UO OR response_flags:UH)}"
            ".as_count() > 0",
        ),
        (
            LEGACY,
            "signal: overflow",
            "sum(last_5m):sum:istio.mesh.request.count.total{reporter:source,(response_flags:UO OR response_flags:UH)}"
            " by {destination_service_name}.as_count() > 0",
        ),
    ],
)
def test_circuit_open_signals(tmp_path: Path, environment: Environment, extra: str, query: str) -> None:
    text = "{id: o, kind: circuit-open, name: n, message: '@x'" + (f", {extra}" if extra else "") + "}"
    definitions = load(tmp_path, text, environment)
    assert only_query(definitions) == query
    missing_data = definitions.monitors[0].body["options"]["on_missing_data"]
    assert missing_data == ("default" if "overflow" in extra else "show_and_notify_no_data")


def test_per_service_circuit_open_filters_the_destination_envoy_cluster(tmp_path: Path) -> None:
    """The caller's proxy keeps the stats: the destination is only in envoy_cluster, in Datadog's
    normalised spelling, built from a service (namespace, port), a host, or Envoy's own cluster name."""
    definitions = load(tmp_path, """
        id: breakers
        kind: circuit-open
        name: "${service} breaker"
        message: "@x"
        signal: circuit-breaker
        breakers: [rq_open]
        services:
          - {service: checkout, namespace: shop, port: 8080}
          - payments.pay.svc.cluster.local
          - {service: cart, clusters: ["outbound|9090|v2|cart.shop.svc.cluster.local"]}
    """)  # fmt: skip
    assert issues(definitions) == ()
    overflow = "sum:envoy.cluster.upstream_rq_pending_overflow.count"  # the counter beside the breaker
    queries = {m.definition_id: m.body["query"] for m in definitions.monitors}
    assert queries == {
        "breakers/checkout": "sum(last_5m):max:envoy.cluster.circuit_breakers.rq_open"
        "{envoy_cluster:outbound_8080_*_checkout.shop.svc.cluster.local} by {envoy_cluster} + "
        f"{overflow}{{envoy_cluster:outbound_8080_*_checkout.shop.svc.cluster.local}} by {{envoy_cluster}}"
        ".as_count() > 0",
        "breakers/payments.pay.svc.cluster.local": "sum(last_5m):max:envoy.cluster.circuit_breakers.rq_open"
        "{envoy_cluster:outbound_*_payments.pay.svc.cluster.local} by {envoy_cluster} + "
        f"{overflow}{{envoy_cluster:outbound_*_payments.pay.svc.cluster.local}} by {{envoy_cluster}}.as_count() > 0",
        "breakers/cart": "sum(last_5m):max:envoy.cluster.circuit_breakers.rq_open"
        "{envoy_cluster:outbound_9090_v2_cart.shop.svc.cluster.local,envoy_cluster:outbound_*_cart.*.svc.cluster.local}"
        f" by {{envoy_cluster}} + {overflow}"
        "{envoy_cluster:outbound_9090_v2_cart.shop.svc.cluster.local,envoy_cluster:outbound_*_cart.*.svc.cluster.local}"
        " by {envoy_cluster}.as_count() > 0",
    }
    assert [m.services for m in definitions.monitors] == [
        ("checkout",),
        ("payments.pay.svc.cluster.local",),
        ("cart",),
    ]


def test_per_service_overflow_and_apm_filter_the_services_own_spelling(tmp_path: Path) -> None:
    overflow = load(tmp_path, """
        {id: o, kind: circuit-open, name: n, message: '@x', signal: overflow, services: [{service: cart, namespace: shop}]}
    """)  # fmt: skip
    assert "destination_service_name:cart,destination_service_namespace:shop,reporter:source" in only_query(
        overflow
    )
    apm = load(tmp_path, """
        {id: e, kind: error-rate, name: n, message: '@x', min_requests: 0, thresholds: {critical: 1%},
         services: [{service: cart, namespace: shop}, checkout]}
    """)  # fmt: skip
    queries = [m.body["query"] for m in apm.monitors]
    assert "trace.envoy.proxy.errors{service:cart.shop}" in queries[0]
    assert "trace.envoy.proxy.errors{service:checkout.*}" in queries[1]


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
    assert issues(definitions) == ()
    checkout, _, _, cart, cart_ratio, _ = definitions.monitors
    assert (checkout.definition_id, cart.definition_id) == ("checkout-path/checkout", "checkout-path/cart")
    assert cart_ratio.definition_id == "checkout-path/cart:ratio"
    assert (checkout.body["name"], cart.body["message"]) == ("checkout errors", "cart @x\n\n@pagerduty-mesh")
    ratios = {
        m.definition_id: m.body["options"]["thresholds"]
        for m in definitions.monitors
        if "ratio" in m.definition_id
    }
    assert ratios == {
        "checkout-path/checkout:ratio": {"critical": 0.01},
        "checkout-path/cart:ratio": {"critical": 0.02},
    }
    assert "destination_service_name:checkout" in str(definitions.monitors[1].body["query"])
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
    assert issues(definitions) == ()
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
        "services: [reviews]\nenvironments: {production: {}, staging: {namespace: staging}}\n"
        "default_environment: staging\n"
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


def test_a_monitor_watches_the_services_its_scope_names_on_the_receiving_side(tmp_path: Path) -> None:
    """``service:`` on Envoy's cluster stats is the caller: it names no watched service; envoy_cluster does."""
    definitions = load(tmp_path, """
        - id: frontends-breakers
          kind: circuit-open
          signal: circuit-breaker
          name: frontend's breakers
          scope: ["service:frontend"]
          message: "@slack-mesh"
        - id: breakers-to-cart
          kind: circuit-open
          signal: circuit-breaker
          name: breakers to cart
          scope: ["service:frontend", "envoy_cluster:outbound_8080__cart.shop.svc.cluster.local"]
          message: "@slack-mesh"
        - id: cart-errors
          kind: error-rate
          source: istio
          name: cart errors
          scope: ["destination_service_name:cart", "source_app:frontend"]
          thresholds: {critical: 5%}
          message: "@slack-mesh"
    """)  # fmt: skip
    services = {m.definition_id: m.services for m in definitions.monitors if m.part_of is None}
    assert services == {"frontends-breakers": (), "breakers-to-cart": ("cart",), "cart-errors": ("cart",)}


def test_grouped_config_propagation_with_several_signals_is_an_error(tmp_path: Path) -> None:
    """A composite evaluates only the groups common to all its parts, and a signal's series exists for a
    group only after that group's first event: grouped, the parts would never share a group."""
    grouped = load(tmp_path, """
        id: c
        kind: config-propagation
        name: n
        message: '@x'
        group_by: [kube_cluster_name]
    """)  # fmt: skip
    (error,) = grouped.errors
    assert (error.code, error.line, error.pointer) == ("grouped-composite", 6, "/group_by")
    assert "one definition per signal" in error.hint and grouped.monitors == ()
    single = load(tmp_path, """
        {id: c, kind: config-propagation, name: n, message: '@x', group_by: [kube_cluster_name],
         push_errors: false, validation_failures: false}
    """, OPENMETRICS)  # fmt: skip
    assert only_query(single) == (
        "sum(last_10m):sum:istio.pilot.total_xds_rejects.count{*} by {kube_cluster_name}.as_count() > 0"
    )


@pytest.mark.parametrize(
    ("source", "expanded", "warned"),
    [("apm", "services: [checkout, cart]", 4), ("istio", "services: [checkout, cart]", None),
     ("apm", "group_by: [service]", None), ("", "services: [checkout, cart]", 8)],  # the default: apm
)  # fmt: skip
def test_apm_per_service_error_rate_warns_that_spans_count_both_directions(
    tmp_path: Path, source: str, expanded: str, warned: int | None
) -> None:
    definitions = load(tmp_path, f"""
        id: e
        kind: error-rate
        {"source: " + source if source else "# source: apm, the default"}
        name: "errors"
        thresholds: {{critical: 5%}}
        message: '@x'
        {expanded}
    """)  # fmt: skip
    found = [p for p in definitions.problems if p.code == "apm-counts-both-directions"]
    assert len(found) == (1 if warned else 0)  # once for the definition, not once per service
    if warned:
        assert found[0].severity == "warning" and found[0].line == warned  # source:, else services:
        assert "source: istio counts each request once, at the receiving service" in found[0].hint


def test_event_counts_never_require_a_full_window(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        - {id: s, kind: sidecar-injection, name: n, message: '@x'}
        - {id: o, kind: circuit-open, signal: overflow, name: n, message: '@x'}
        - {id: c, kind: config-propagation, name: n, message: '@x'}
        - {id: e, kind: error-rate, name: n, message: '@x', thresholds: {critical: 5%}}
        - {id: g, kind: circuit-open, name: n, message: '@x'}
        - {id: u, kind: sidecar-injection, name: n, message: '@x', options: {require_full_window: true}}
    """)  # fmt: skip
    options = {m.definition_id: m.body["options"] for m in definitions.monitors}
    for monitor_id in ("s", "o", "c:push-errors", "c:proxy-rejects", "c:validation", "e:ratio", "e:traffic"):
        assert options[monitor_id]["require_full_window"] is False, monitor_id
    assert "require_full_window" not in options["c"] and "require_full_window" not in options["e"]  # composites
    assert "require_full_window" not in options["g"]  # the ejection gauge reports every check run
    assert options["u"]["require_full_window"] is True  # the definition's own choice


def test_a_composites_message_gets_the_thresholds_it_cannot_fill_itself(tmp_path: Path) -> None:
    definitions = load(tmp_path, """
        - id: e
          kind: error-rate
          name: "errors ${service}"
          thresholds: {critical: 2%, warning: 0.005}
          source: istio
          message: "{{#is_alert}}above {{threshold}}{{/is_alert}}{{#is_warning}}above {{ warn_threshold }}{{/is_warning}} @x"
          services: [{service: checkout, thresholds: {critical: 1%}}, cart]
        - id: c
          kind: config-propagation
          name: n
          thresholds: {critical: 5}
          message: "more than {{threshold}} failures, {{value}} now (warn at {{warn_threshold}}) @x"
    """)  # fmt: skip
    messages = {m.definition_id: m.body["message"].split(" @x")[0] for m in definitions.monitors}
    assert messages["e/checkout"] == (
        "{{#is_alert}}above 1%{{/is_alert}}{{#is_warning}}above 0.5%{{/is_warning}}"
    )
    assert messages["e/cart"] == "{{#is_alert}}above 2%{{/is_alert}}{{#is_warning}}above 0.5%{{/is_warning}}"
    assert messages["c"] == "more than 5 failures, {{value}} now (warn at {{warn_threshold}})"
    unfilled = sorted(p.message.split(" ")[0] for p in definitions.problems if p.code == "composite-template-variable")
    assert unfilled == ["{{value}}", "{{warn_threshold}}"]  # no value, and no warning level to write in
    (value,) = [p for p in definitions.problems if p.message.startswith("{{value}}")]
    assert value.severity == "warning" and "{{a.value}} (xDS push errors)" in value.hint
    single = load(tmp_path, """
        {id: e, kind: error-rate, name: n, min_requests: 0, thresholds: {critical: 5%},
         message: "{{value}} above {{threshold}} @x"}
    """)  # fmt: skip
    assert single.monitors[0].body["message"].startswith("{{value}} above {{threshold}}")  # Datadog fills them
    assert not [p for p in single.problems if p.code == "composite-template-variable"]


def test_a_composites_message_may_read_its_parts_as_the_warning_suggests(tmp_path: Path) -> None:
    """The composite-template-variable hint names {{a.value}}: following it must not make an error."""
    definitions = load(tmp_path, """
        - id: e
          kind: error-rate
          name: n
          source: istio
          group_by: [destination_service_name]
          thresholds: {critical: 2%}
          message: "{{destination_service_name.name}}: {{a.value}} of {{b.value}} requests ({{a.status}}) @x"
        - id: c
          kind: config-propagation
          name: n
          thresholds: {critical: 5}
          message: "{{c.value}} rejects, {{d.value}} @x"
    """)  # fmt: skip
    assert [p.code for p in definitions.problems if p.message.startswith("{{a.") or p.message.startswith("{{b.")] == []
    assert {m.definition_id for m in definitions.monitors} >= {"e", "e:ratio", "e:traffic"}
    (beyond,) = [p for p in definitions.problems if "{{" in p.message and p.pointer.startswith("/1")]
    assert beyond.code == "unknown-template-variable" and beyond.message.startswith("{{d.value}}")  # 3 parts
