"""The catalogue against the reference table (shared/reference/istio-metrics.md §2, §4, §6): the name and
Datadog type each collection mode submits."""

from __future__ import annotations

import pytest

from provisioner.mesh import catalogue
from provisioner.mesh.catalogue import CollectionModes

OPENMETRICS = CollectionModes(data_plane="openmetrics", control_plane="openmetrics", envoy="openmetrics")
LEGACY = CollectionModes(data_plane="legacy", control_plane="legacy", envoy="legacy")

# (catalogue key, V2 name and type, V1 name and type); None: that mode does not submit it.
REFERENCE = [
    ("requests", ("istio.mesh.request.count", "count"), ("istio.mesh.request.count.total", "count")),
    ("requests_cumulative", None, ("istio.mesh.request.count", "gauge")),
    (
        "request_duration_sum",
        ("istio.mesh.request.duration.milliseconds.sum", "count"),
        ("istio.mesh.request.duration.milliseconds.sum.total", "count"),
    ),
    (
        "request_duration_count",
        ("istio.mesh.request.duration.milliseconds.count", "count"),
        ("istio.mesh.request.duration.milliseconds.count.total", "count"),
    ),
    (
        "sidecar_injection_failure",
        ("istio.sidecar_injection.failure.count", "count"),
        ("istio.sidecar_injection.failure_total", "count"),
    ),
    (
        "config_validation_failures",
        ("istio.galley.validation.failed.count", "count"),
        ("istio.galley.validation.failed", "count"),
    ),
    ("xds_pushes", ("istio.pilot.xds.pushes.count", "count"), ("istio.pilot.xds.pushes", "count")),
    (
        "xds_rejects",
        ("istio.pilot.total_xds_rejects.count", "count"),
        ("istio.pilot.total_xds_rejects", "count"),
    ),
    ("xds_cds_rejects", ("istio.pilot.xds.cds_reject", "gauge"), ("istio.pilot.xds.cds_reject", "gauge")),
    (
        "outlier_ejections_active",
        ("envoy.cluster.outlier_detection.ejections_active", "gauge"),
        ("envoy.cluster.outlier_detection.ejections_active", "gauge"),
    ),
    (
        "outlier_ejections_enforced",
        None,
        ("envoy.cluster.outlier_detection.ejections_enforced_total", "count"),
    ),
    (
        "outlier_ejections_enforced_consecutive_5xx",
        ("envoy.cluster.outlier_detection.ejections_enforced_consecutive_5xx.count", "count"),
        ("envoy.cluster.outlier_detection.ejections_enforced_consecutive_5xx", "count"),
    ),
    (
        "outlier_ejections_overflow",
        ("envoy.cluster.outlier_detection.ejections_overflow.count", "count"),
        ("envoy.cluster.outlier_detection.ejections_overflow", "count"),
    ),
    (
        "circuit_breaker_rq_open",
        ("envoy.cluster.circuit_breakers.rq_open", "gauge"),
        ("envoy.cluster.circuit_breakers.rq_open", "gauge"),
    ),
    ("apm_errors", ("trace.envoy.proxy.errors", "count"), ("trace.envoy.proxy.errors", "count")),
]


@pytest.mark.parametrize(("key", "v2", "v1"), REFERENCE, ids=[r[0] for r in REFERENCE])
def test_each_mode_submits_the_reference_name_and_type(key: str, v2: tuple | None, v1: tuple | None) -> None:
    for modes, expected in ((OPENMETRICS, v2), (LEGACY, v1)):
        found = catalogue.metric(key).submission(modes)
        assert (None if found is None else (found.name, found.type)) == expected


def test_as_count_only_on_counts() -> None:
    assert catalogue.term("requests", "*", modes=LEGACY) == "sum:istio.mesh.request.count.total{*}.as_count()"
    assert (
        catalogue.term("outlier_ejections_active", "a:b", ["envoy_cluster"], space_aggregation="max")
        == "max:envoy.cluster.outlier_detection.ejections_active{a:b} by {envoy_cluster}"
    )


def test_a_name_two_modes_disagree_on_is_looked_up_as_both() -> None:
    uses = {(u.metric.key, u.mode, u.submission.type) for u in catalogue.lookup("istio.mesh.request.count")}
    assert uses == {("requests", "openmetrics", "count"), ("requests_cumulative", "legacy", "gauge")}


def test_counterparts_name_the_other_mode() -> None:
    names = {u.submission.name for u in catalogue.counterparts("istio.sidecar_injection.failure_total")}
    assert names == {"istio.sidecar_injection.failure.count"}


def test_default_modes_follow_datadogs_documented_istio_setup() -> None:
    assert catalogue.DEFAULT_MODES == CollectionModes(
        data_plane="legacy", control_plane="openmetrics", envoy="openmetrics"
    )


@pytest.mark.parametrize(
    ("service", "namespace", "port", "expected"),
    [
        # a port without a subset: any subset, the empty one included (outbound_8080__checkout...)
        ("checkout", "shop", 8080, "outbound_8080_*_checkout.shop.svc.cluster.local"),
        ("checkout", "shop", None, "outbound_*_checkout.shop.svc.cluster.local"),
        ("checkout", None, None, "outbound_*_checkout.*.svc.cluster.local"),
        ("payments.pay.svc.cluster.local", None, 9090, "outbound_9090_*_payments.pay.svc.cluster.local"),
        ("checkout.shop", None, None, "outbound_*_checkout.shop.svc.cluster.local"),  # service.namespace
        ("checkout.shop", "ignored", 8080, "outbound_8080_*_checkout.shop.svc.cluster.local"),
        (
            "outbound|8080|v1|Cart.shop.svc.cluster.local",
            None,
            None,
            "outbound_8080_v1_cart.shop.svc.cluster.local",
        ),
    ],
)
def test_envoy_cluster_values_are_built_in_datadogs_normalised_form(
    service: str, namespace: str | None, port: int | None, expected: str
) -> None:
    assert catalogue.envoy_cluster_value(service, namespace, port) == expected
    assert catalogue.service_of("envoy_cluster", expected) == service.split("|")[-1].split(".")[0].lower()


def test_apm_service_is_app_dot_namespace_under_istio() -> None:
    assert catalogue.apm_service_value("checkout", "shop") == "checkout.shop"
    assert catalogue.apm_service_value("checkout") == "checkout.*"


@pytest.mark.parametrize(
    ("name", "filters", "events"),
    [
        ("istio.sidecar_injection.failure.count", {}, True),  # an event counter
        ("istio.mesh.request.count.total", {"response_code": ("5*",)}, True),  # requests kept to errors
        ("istio.mesh.request.count", {"response_flags": ("UO", "UH")}, True),
        ("istio.mesh.request.count.total", {"reporter": ("destination",)}, False),  # all requests: traffic
        ("istio.mesh.request.count", {}, False),  # V2's count, and V1's cumulative gauge
        ("istio.pilot.xds.pushes.count", {"type": ("*senderr",)}, True),
        ("istio.pilot.xds.pushes.count", {}, False),
        ("envoy.cluster.outlier_detection.ejections_active", {}, False),  # a gauge
        ("system.cpu.user", {}, False),
    ],
)
def test_counts_of_events_are_told_from_series_that_always_report(
    name: str, filters: dict[str, tuple[str, ...]], events: bool
) -> None:
    assert catalogue.counts_events(name, filters) is events


def test_another_modes_name_is_told_with_the_name_to_use() -> None:
    mismatch = catalogue.mode_mismatch("istio.pilot.xds.pushes", OPENMETRICS)
    assert mismatch is not None
    use, instead = mismatch
    assert (use.mode, use.metric.key, instead and instead.name) == (
        "legacy",
        "xds_pushes",
        "istio.pilot.xds.pushes.count",
    )
    assert catalogue.mode_mismatch("istio.pilot.xds.pushes.count", OPENMETRICS) is None
    assert catalogue.mode_mismatch("trace.envoy.proxy.hits", LEGACY) is None  # APM has no modes
    only_legacy = catalogue.mode_mismatch(
        "envoy.cluster.outlier_detection.ejections_enforced_total", OPENMETRICS
    )
    assert only_legacy is not None and only_legacy[1] is None  # V2 has per-detector counters only


def test_modes_of_an_environment_default_to_the_documented_setup() -> None:
    from provisioner.model import Environment

    assert catalogue.modes_of(Environment(name="x")) == catalogue.DEFAULT_MODES
    assert catalogue.modes_of(Environment(name="x", istio=LEGACY)) == LEGACY


# V2 names no Datadog document or test lists (istio-metrics.md §2: "inferred"); the catalogue must not
# state them as plain facts.
DERIVED_V2_NAMES = ("sidecar_injection_failure", "sidecar_injection_skip", "xds_rejects", "xds_internal_errors")


@pytest.mark.parametrize("key", DERIVED_V2_NAMES)
def test_inferred_v2_names_say_they_are_derived_not_observed(key: str) -> None:
    source = catalogue.metric(key).source
    assert "derived, not observed" in source and "construct_metrics_config" in source


def test_listed_v2_names_do_not_say_derived() -> None:
    assert "derived" not in catalogue.metric("sidecar_injection_requests").source
