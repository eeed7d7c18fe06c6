"""The query shapes the mesh monitors compile to evaluate, and the max(last_5m) property."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .org_harness import OrgUnderTest  # type: ignore[import-not-found]

NO_DELAY = {"new_group_delay": 0, "new_host_delay": 0}
EACH_MINUTE = (-270, -210, -150, -90, -30)  # one point in each minute of a last_5m window evaluated at +60


@dataclass(frozen=True)
class Feed:
    metric: str
    tags: tuple[str, ...]
    per_minute: float
    metric_type: str = "count"
    offsets: tuple[int, ...] = EACH_MINUTE


SHAPES = [
    pytest.param(
        "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod,service:checkout.shop} by {service}.as_count()"
        " / sum:trace.envoy.proxy.hits{env:prod,service:checkout.shop} by {service}.as_count() > 0.05",
        [
            Feed("trace.envoy.proxy.errors", ("env:prod", "service:checkout.shop"), 12),
            Feed("trace.envoy.proxy.hits", ("env:prod", "service:checkout.shop"), 200),
            Feed("trace.envoy.proxy.errors", ("env:prod", "service:cart.shop"), 100),
        ],
        {"service:checkout.shop": "Alert"},
        id="apm-error-rate",
    ),
    pytest.param(
        "sum(last_10m):sum:istio.mesh.request.count{reporter:destination,response_code:5*} by {destination_service_name}.as_count()"
        " / sum:istio.mesh.request.count{reporter:destination} by {destination_service_name}.as_count() > 0.02",
        [
            Feed(
                "istio.mesh.request.count",
                ("reporter:destination", "response_code:503", "destination_service_name:cart"),
                6,
            ),
            Feed(
                "istio.mesh.request.count",
                ("reporter:destination", "response_code:200", "destination_service_name:cart"),
                194,
            ),
            Feed(
                "istio.mesh.request.count",
                ("reporter:destination", "response_code:500", "destination_service_name:search"),
                1,
            ),
            Feed(
                "istio.mesh.request.count",
                ("reporter:destination", "response_code:200", "destination_service_name:search"),
                199,
            ),
            Feed(
                "istio.mesh.request.count",
                ("reporter:source", "response_code:503", "destination_service_name:search"),
                500,
            ),
        ],
        {"destination_service_name:cart": "Alert", "destination_service_name:search": "OK"},
        id="istio-5xx-ratio",
    ),
    pytest.param(
        "sum(last_5m):sum:istio.mesh.request.count{reporter:source,(response_flags:UO OR response_flags:UH)}"
        " by {destination_service_name}.as_count() > 10",
        [
            Feed(
                "istio.mesh.request.count",
                ("reporter:source", "response_flags:UH", "destination_service_name:cart"),
                2,
            ),
            Feed(
                "istio.mesh.request.count",
                ("reporter:source", "response_flags:UO", "destination_service_name:cart"),
                1,
            ),
            Feed(
                "istio.mesh.request.count",
                ("reporter:source", "response_flags:DC", "destination_service_name:search"),
                50,
            ),
            Feed(
                "istio.mesh.request.count",
                ("reporter:source", "response_flags:UO", "destination_service_name:search"),
                1,
            ),
        ],
        {"destination_service_name:cart": "Alert", "destination_service_name:search": "OK"},
        id="overflow-uo-uh",
    ),
    pytest.param(
        "max(last_5m):max:envoy.cluster.outlier_detection.ejections_active{kube_cluster_name:c1,"
        "envoy_cluster:outbound_8080__checkout.shop.svc.cluster.local} by {envoy_cluster} > 0",
        [
            Feed(
                "envoy.cluster.outlier_detection.ejections_active",
                ("kube_cluster_name:c1", "envoy_cluster:outbound_8080__checkout.shop.svc.cluster.local"),
                0,
                "gauge",
            ),
            Feed(
                "envoy.cluster.outlier_detection.ejections_active",
                ("kube_cluster_name:c1", "envoy_cluster:outbound_8080__checkout.shop.svc.cluster.local"),
                1,
                "gauge",
                (-100,),
            ),
        ],  # fmt: skip
        {"envoy_cluster:outbound_8080__checkout.shop.svc.cluster.local": "Alert"},
        id="ejections-active",
    ),
    pytest.param(
        "sum(last_5m):sum:envoy.cluster.outlier_detection.ejections_enforced_total{*} by {envoy_cluster}.as_count()"
        " + sum:envoy.cluster.outlier_detection.ejections_overflow{*} by {envoy_cluster}.as_count() > 0",
        [
            Feed("envoy.cluster.outlier_detection.ejections_enforced_total", ("envoy_cluster:a",), 0),
            Feed(
                "envoy.cluster.outlier_detection.ejections_overflow", ("envoy_cluster:a",), 1, offsets=(-30,)
            ),
            Feed("envoy.cluster.outlier_detection.ejections_enforced_total", ("envoy_cluster:b",), 0),
        ],
        {"envoy_cluster:a": "Alert", "envoy_cluster:b": "OK"},
        id="ejections-enforced-plus-overflow",
    ),
    pytest.param(
        "sum(last_10m):sum:istio.pilot.xds.pushes.count{type:*senderr} by {kube_cluster_name}.as_count() > 0",
        [
            Feed(
                "istio.pilot.xds.pushes.count",
                ("type:cds_senderr", "kube_cluster_name:c1"),
                1,
                offsets=(-30,),
            ),
            Feed("istio.pilot.xds.pushes.count", ("type:cds", "kube_cluster_name:c2"), 50),
            Feed("istio.pilot.xds.pushes.count", ("type:lds_senderr", "kube_cluster_name:c2"), 0),
        ],
        {"kube_cluster_name:c1": "Alert", "kube_cluster_name:c2": "OK"},
        id="xds-push-errors",
    ),
    pytest.param(
        "sum(last_5m):sum:istio.sidecar_injection.failure_total{kube_cluster_name:c1}.as_count() > 0",
        [
            Feed("istio.sidecar_injection.failure_total", ("kube_cluster_name:c1",), 0),
            Feed("istio.sidecar_injection.failure_total", ("kube_cluster_name:c1",), 1, offsets=(-90,)),
            Feed("istio.sidecar_injection.failure_total", ("kube_cluster_name:c2",), 9),
        ],
        {"*": "Alert"},
        id="sidecar-injection",
    ),
    pytest.param(
        "avg(last_5m):avg:system.cpu.user{host:a} > 90",
        [Feed("system.cpu.user", ("host:a",), 95, "gauge"), Feed("system.cpu.user", ("host:b",), 5, "gauge")],
        {"*": "Alert"},
        id="cpu",
    ),
    pytest.param(
        "max(last_10m):avg:envoy.control_plane.connected_state{*} by {host,endpoint} <= 0",
        [
            Feed("envoy.control_plane.connected_state", ("host:n1", "endpoint:istiod"), 1, "gauge"),
            Feed("envoy.control_plane.connected_state", ("host:n2", "endpoint:istiod"), 0, "gauge"),
        ],
        {"endpoint:istiod,host:n1": "OK", "endpoint:istiod,host:n2": "Alert"},
        id="control-plane-connected",
    ),
]


def feed(org: OrgUnderTest, feeds: list[Feed]) -> None:
    for item in feeds:
        values = {offset: item.per_minute for offset in item.offsets}
        org.points(item.metric, values, tags=item.tags, metric_type=item.metric_type)


@pytest.mark.parametrize(("query", "feeds", "expected"), SHAPES)
def test_mesh_query_shapes_evaluate(query: str, feeds: list[Feed], expected: dict[str, str]) -> None:
    org = OrgUnderTest()
    monitor = org.monitor(query, **NO_DELAY)
    feed(org, feeds)
    org.advance(60)
    assert org.evaluator.unevaluated() == []
    assert org.statuses(monitor) == expected


def test_sidecar_injection_alert_recovers_when_failures_stop() -> None:
    org = OrgUnderTest()
    monitor = org.monitor(
        "sum(last_5m):sum:istio.sidecar_injection.failure_total{kube_cluster_name:c1}.as_count() > 0"
    )
    org.points(
        "istio.sidecar_injection.failure_total", {-30: 1}, tags=["kube_cluster_name:c1"], metric_type="count"
    )
    org.advance(60)
    assert org.status(monitor) == "Alert"
    org.points(
        "istio.sidecar_injection.failure_total",
        {o: 0 for o in range(60, 420, 15)},
        ["kube_cluster_name:c1"],
        "count",
    )
    org.advance(360)
    assert org.status(monitor) == "OK"


def test_a_composite_of_two_mesh_monitors_grouped_by_the_same_tag() -> None:
    org = OrgUnderTest()
    by_service = "by {destination_service_name}.as_count()"
    errors = org.monitor(
        f"sum(last_5m):sum:istio.mesh.request.count{{reporter:destination,response_code:5*}} {by_service}"
        f" / sum:istio.mesh.request.count{{reporter:destination}} {by_service} > 0.02",
        **NO_DELAY,
    )
    traffic = org.monitor(
        f"sum(last_5m):sum:istio.mesh.request.count{{reporter:destination}} {by_service} > 100", **NO_DELAY
    )
    composite = org.monitor(f"{errors} && {traffic}", "composite")
    for service, errors_per_minute, requests_per_minute in (
        ("busy", 10, 100),
        ("quiet", 1, 5),
        ("fine", 0, 100),
    ):
        tags = ("reporter:destination", f"destination_service_name:{service}")
        org.points(
            "istio.mesh.request.count",
            dict.fromkeys(EACH_MINUTE, errors_per_minute),
            (*tags, "response_code:503"),
            "count",
        )
        org.points("istio.mesh.request.count", dict.fromkeys(EACH_MINUTE, requests_per_minute - errors_per_minute), (*tags, "response_code:200"), "count")  # fmt: skip
    org.advance(60)
    assert org.statuses(errors) == {
        f"destination_service_name:{s}": v for s, v in (("busy", "Alert"), ("quiet", "Alert"), ("fine", "OK"))
    }
    assert org.statuses(composite) == {
        "destination_service_name:busy": "Alert", "destination_service_name:quiet": "OK", "destination_service_name:fine": "OK",
    }  # fmt: skip


# -- the property -------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(
    points=st.dictionaries(
        st.integers(-600, 59), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), max_size=40
    ),
    critical=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)
def test_max_last_5m_alerts_exactly_when_a_point_in_the_window_is_above_critical(
    points: dict[int, float], critical: float
) -> None:
    org = OrgUnderTest()
    monitor = org.monitor(f"max(last_5m):avg:m{{*}} > {critical!r}")
    org.points("m", points)
    org.advance(60)  # the window is [now - 240 s, now + 60 s) of the submission time
    in_window = [value for offset, value in points.items() if -240 <= offset < 60]
    expected = None if not in_window else "Alert" if any(value > critical for value in in_window) else "OK"
    assert org.status(monitor) == expected
