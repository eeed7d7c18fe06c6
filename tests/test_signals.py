"""Recognising the four mesh signals and the services a monitor query watches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.signals import (
    _TERM_RE,
    metric_terms,
    query_key,
    query_metric_names,
    service_name,
    watch_of_monitor,
    watch_of_query,
)

SHIPPED_ERROR_RATE = (
    "sum(last_15m):sum:istio.mesh.request.count.total"
    "{(response_code:4* OR response_code:5* OR response_code:0)} by {cluster_name}.as_count() / "
    "sum:istio.mesh.request.count.total{*} by {cluster_name}.as_count() * 100 > 40"
)
SHIPPED_SIDECAR = (
    "sum(last_5m):avg:istio.sidecar_injection.requests_total{*}.as_count() - "
    "avg:istio.sidecar_injection.success_total{*}.as_count() > 3"
)
SHIPPED_XDS = (
    "sum(last_15m):sum:istio.pilot.xds.pushes.count{type:*senderr} by {kube_cluster_name}.as_count() / "
    "sum:istio.pilot.xds.pushes.count{*} by {kube_cluster_name}.as_count() * 100 > 25"
)


@pytest.mark.parametrize(
    ("query", "signal"),
    [
        (SHIPPED_ERROR_RATE, "error-rate"),
        (SHIPPED_SIDECAR, "sidecar-injection"),
        (SHIPPED_XDS, "config-propagation"),
        (
            "sum(last_5m):sum:trace.envoy.proxy.errors{service:checkout}.as_count() / "
            "clamp_min(sum:trace.envoy.proxy.hits{service:checkout}.as_count(), 100) > 0.05",
            "error-rate",
        ),
        ("sum(last_5m):sum:trace.envoy.proxy.hits{http.status_class:5xx}.as_count() > 10", "error-rate"),
        ("sum(last_5m):sum:istio.mesh.request.count.total{response_code:0}.as_count() > 10", "error-rate"),
        ("sum(last_5m):sum:istio.mesh.request.count.total{response_code:404}.as_count() > 10", "error-rate"),
        ("sum(last_10m):sum:istio.galley.validation.failed.count{*}.as_count() > 0", "config-propagation"),
        ("sum(last_10m):sum:istio.pilot.total_xds_rejects{*}.as_count() > 0", "config-propagation"),
        ("sum(last_10m):sum:istio.pilot.xds.cds_reject{*}.as_count() > 0", "config-propagation"),
        ("sum(last_5m):sum:istio.sidecar_injection.failure_total{*}.as_count() > 0", "sidecar-injection"),
        (
            "max(last_5m):max:envoy.cluster.outlier_detection.ejections_active{*} by {envoy_cluster} > 0",
            "circuit-open",
        ),
        ("max(last_5m):max:envoy.cluster.circuit_breakers.rq_open{*} > 0", "circuit-open"),
        (
            "sum(last_5m):sum:envoy.cluster.upstream_rq_pending_overflow.count{*}.as_count() > 0",
            "circuit-open",
        ),
        ("sum(last_5m):sum:istio.mesh.request.count.total{response_flags:UO}.as_count() > 0", "circuit-open"),
    ],
)
def test_each_signal_is_recognised(query: str, signal: str) -> None:
    assert watch_of_query(query).signals == {signal}


@pytest.mark.parametrize(
    "query",
    [
        "avg(last_5m):avg:system.cpu.user{*} > 90",
        "sum(last_5m):sum:trace.envoy.proxy.hits{service:checkout}.as_count() < 1",  # traffic, not errors
        "sum(last_5m):sum:istio.mesh.request.count.total{*}.as_count() > 0",  # traffic, not errors
        "sum(last_15m):sum:istio.pilot.xds.pushes.count{*}.as_count() > 0",  # pushes, not push errors
        # a response_code or status filter that keeps successes is traffic, not errors
        "sum(last_5m):sum:istio.mesh.request.count.total{response_code:200}.as_count() < 10",
        "sum(last_5m):sum:istio.mesh.request.count.total{response_code:2*}.as_count() < 10",
        "sum(last_5m):sum:trace.envoy.proxy.hits{http.status_class:2xx}.as_count() < 10",
        'logs("service:checkout status:error").index("*").rollup("count").last("5m") > 10',
        "",
    ],
)
def test_other_queries_watch_no_signal(query: str) -> None:
    assert watch_of_query(query).signals == frozenset()


@pytest.mark.parametrize(
    ("query", "services"),
    [
        (
            "sum(last_5m):sum:trace.envoy.proxy.errors{service:checkout,env:prod}.as_count() > 1",
            ("checkout",),
        ),
        ("sum(last_5m):sum:trace.envoy.proxy.errors{service:reviews.default}.as_count() > 1", ("reviews",)),
        (
            "sum(last_5m):sum:istio.mesh.request.count.total{destination_service_name:cart,response_code:5*}"
            ".as_count() > 1",
            ("cart",),
        ),
        (
            "sum(last_5m):sum:istio.mesh.request.count.total{destination_service:pay.shop.svc.cluster.local,"
            "response_code:5*}.as_count() > 1",
            ("pay",),
        ),
        (
            "max(last_5m):max:envoy.cluster.circuit_breakers.rq_open{envoy_cluster:outbound|9080||reviews.default."
            "svc.cluster.local} > 0",
            ("reviews",),
        ),
        (
            "sum(last_5m):sum:trace.envoy.proxy.errors{service IN (a, b)}.as_count() > 1",
            ("a", "b"),
        ),
        ("sum(last_5m):sum:trace.envoy.proxy.errors{(service:a OR service:b)}.as_count() > 1", ("a", "b")),
    ],
)
def test_service_scope_is_read_from_filters(query: str, services: tuple[str, ...]) -> None:
    watch = watch_of_query(query)
    assert watch.services == services
    assert not watch.mesh_wide


def test_grouped_by_service_covers_every_service() -> None:
    watch = watch_of_query("sum(last_5m):sum:trace.envoy.proxy.errors{env:prod} by {service}.as_count() > 1")
    assert watch.mesh_wide and watch.grouped_by_service
    assert watch.covers("error-rate", "anything") and not watch.covers("circuit-open", "anything")


def test_scoped_watch_covers_only_its_services_and_wildcards() -> None:
    watch = watch_of_query("sum(last_5m):sum:trace.envoy.proxy.errors{service:pay*}.as_count() > 1")
    assert watch.covers("error-rate", "payments") and not watch.covers("error-rate", "cart")


def test_negated_service_is_excluded_not_scoped() -> None:
    watch = watch_of_query("sum(last_5m):sum:trace.envoy.proxy.errors{!service:canary}.as_count() > 1")
    assert watch.mesh_wide
    assert watch.covers("error-rate", "cart") and not watch.covers("error-rate", "canary")


def test_formula_variables_are_read() -> None:
    body = {
        "query": 'formula("errors / hits").last("5m") > 0.05',
        "options": {
            "variables": [
                {
                    "name": "errors",
                    "data_source": "metrics",
                    "query": "sum:trace.envoy.proxy.errors{service:a}",
                },
                {"name": "hits", "data_source": "metrics", "query": "sum:trace.envoy.proxy.hits{service:a}"},
            ]
        },
    }
    assert watch_of_monitor(body).signals == {"error-rate"} and watch_of_monitor(body).services == ("a",)


def test_metric_terms_read_group_by() -> None:
    (term,) = metric_terms("avg(last_5m):avg:a.b{x:1, y:2} by {host,service} > 1")
    assert term.metric == "a.b" and term.group_by == ("host", "service") and term.values("y") == ("2",)


def test_service_name_of_envoy_cluster() -> None:
    assert service_name("envoy_cluster", "outbound|80||cart.shop.svc.cluster.local") == "cart"


def test_query_key_ignores_spacing_and_scope_order() -> None:
    a = "avg(last_5m):avg:system.cpu.user{env:prod,service:a} by {host} > 90"
    b = "avg(last_5m): avg:system.cpu.user{service:a, env:prod}  by {host} >  90\n"
    assert query_key(a) == query_key(b)
    assert query_key(a) != query_key(a.replace("> 90", "> 80"))


_tags = st.lists(
    st.from_regex(r"[a-z]{1,5}:[a-z0-9]{1,5}", fullmatch=True), min_size=1, max_size=5, unique=True
)


@given(_tags, st.randoms())
def test_query_key_is_invariant_under_scope_permutation(tags: list[str], rnd: object) -> None:
    shuffled = list(tags)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    query = "avg(last_5m):avg:m.x{%s} > 1"
    assert query_key(query % ",".join(tags)) == query_key(query % ", ".join(shuffled))


def test_service_on_envoys_cluster_stats_is_the_caller_and_covers_no_service() -> None:
    watch = watch_of_query("max(last_5m):max:envoy.cluster.circuit_breakers.rq_open{service:frontend} > 0")
    assert watch.signals == {"circuit-open"} and watch.services == ()
    assert not watch.mesh_wide  # it watches frontend's dependencies, not the mesh
    assert not watch.covers("circuit-open", "frontend") and not watch.covers("circuit-open", "cart")


def test_the_destination_filter_decides_even_beside_a_caller_filter() -> None:
    watch = watch_of_query(
        "max(last_5m):max:envoy.cluster.circuit_breakers.rq_open"
        "{service:frontend,envoy_cluster:outbound_8080_*_cart.shop.svc.cluster.local} > 0"
    )
    assert watch.services == ("cart",) and watch.covers("circuit-open", "cart")
    assert not watch.covers("circuit-open", "frontend")


def test_istio_source_tags_are_the_caller_and_apm_service_its_own() -> None:
    callers = watch_of_query(
        "sum(last_5m):sum:istio.mesh.request.count.total{source_app:frontend,response_code:5*}.as_count() > 9"
    )
    assert callers.signals == {"error-rate"} and not callers.mesh_wide and callers.services == ()
    apm = watch_of_query("sum(last_5m):sum:trace.envoy.proxy.errors{service:checkout.shop}.as_count() > 9")
    assert apm.services == ("checkout",) and apm.covers("error-rate", "checkout")


def test_grouping_envoy_stats_by_the_caller_is_mesh_wide_but_not_by_service() -> None:
    watch = watch_of_query(
        "max(last_5m):max:envoy.cluster.circuit_breakers.rq_open{*} by {service,envoy_cluster} > 0"
    )
    assert watch.mesh_wide and watch.grouped_by_service  # envoy_cluster names the destination
    by_caller = watch_of_query("max(last_5m):max:envoy.cluster.circuit_breakers.rq_open{*} by {service} > 0")
    assert by_caller.mesh_wide and not by_caller.grouped_by_service


@given(st.lists(st.sampled_from(["istio.mesh", "a.b_1", "sum:", ".", "x", "9", " ", "{", "}", "{a:b}", "("]), max_size=10))
def test_the_possessive_term_pattern_finds_what_the_backtracking_one_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    backtracking = re.compile(
        r"(?<![\w.])(?P<metric>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)\s*\{(?P<scope>[^{}]*)\}"
    )
    assert [m.groupdict() for m in _TERM_RE.finditer(text)] == [m.groupdict() for m in backtracking.finditer(text)]


_QUERY_PIECES = [*"istio.mesh a.b a..b 1a _ sum: . x é 9 { } {a:b} by".split(), " ", "\t"]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_QUERY_PIECES), max_size=12))
def test_reading_metric_names_backwards_finds_what_the_term_pattern_finds(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert query_metric_names(text) == tuple(m["metric"] for m in _TERM_RE.finditer(text))
