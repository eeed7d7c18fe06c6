"""The emulator's monitor evaluation cost per monitor-minute, for 1,000 monitors of the mesh shapes.

Builds an org in-process (the evaluator runs in-process in every mode), submits 15 minutes of mesh series
at 10 s intervals, creates the monitors, then evaluates a number of minute boundaries. The floor, measured
in the same run, is the bare store work every evaluation needs: for each monitor-minute, look up the series
matching each metric and scope, and walk the points inside the window. The figure printed is the evaluation
cost as a ratio to that floor, and its absolute value.

    .venv/bin/python benchmarks/bench_evaluation.py [--monitors 1000] [--minutes 5] [--services 100]
"""

from __future__ import annotations

import argparse
import time

from provisioner.emulator.clock import Clock
from provisioner.emulator.evaluation.query import metric_terms, plan_query
from provisioner.emulator.evaluation.scheduler import Evaluator
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.metric_query import parse_metric_query
from provisioner.emulator.metrics import MetricStore, SubmittedSeries
from provisioner.emulator.org import Org
from provisioner.emulator.scope import parse_tag_filter

T0 = 1_700_000_040
NAMESPACES = 20


def feed(org: Org, services: int) -> int:
    """15 minutes of points every 10 s before T0; returns the number of points."""
    stamps = range(T0 - 900, T0 + 60 * 10, 10)
    total = 0

    def add(metric: str, tags: tuple[str, ...], kind: str, value: float) -> None:
        nonlocal total
        points = tuple((float(stamp), value) for stamp in stamps)
        org.metrics.add(SubmittedSeries(metric, points, tags, kind, 10), None, None)
        total += len(points)

    for index in range(services):
        service = (
            f"destination_service_name:svc-{index}",
            f"destination_service_namespace:ns{index % NAMESPACES}",
        )
        for code, rate in (("200", 95.0), ("503", 5.0 if index % 7 == 0 else 0.1)):
            add(
                "istio.mesh.request.count",
                ("reporter:destination", f"response_code:{code}", *service),
                "count",
                rate,
            )
        for flag in ("UO", "UH", "-"):
            add(
                "istio.mesh.request.count",
                ("reporter:source", f"response_flags:{flag}", *service),
                "count",
                1.0,
            )
        cluster = f"envoy_cluster:outbound_8080__svc-{index}.ns{index % NAMESPACES}.svc.cluster.local"
        add(
            "envoy.cluster.outlier_detection.ejections_active",
            (cluster, "kube_cluster_name:c1"),
            "gauge",
            0.0,
        )
        add("system.cpu.user", (f"host:node-{index}",), "gauge", 40.0 + index % 50)
    return total


def monitor_queries(count: int) -> list[str]:
    shapes = [
        "sum(last_10m):sum:istio.mesh.request.count{{reporter:destination,destination_service_namespace:ns{n},response_code:5*}}"
        " by {{destination_service_name}}.as_count() / sum:istio.mesh.request.count{{reporter:destination,"
        "destination_service_namespace:ns{n}}} by {{destination_service_name}}.as_count() > 0.0{t}",
        "sum(last_5m):sum:istio.mesh.request.count{{reporter:source,destination_service_namespace:ns{n},"
        "(response_flags:UO OR response_flags:UH)}} by {{destination_service_name}}.as_count() > 1{t}",
        "max(last_5m):max:envoy.cluster.outlier_detection.ejections_active{{kube_cluster_name:c1,"
        "envoy_cluster:*.ns{n}.svc.cluster.local}} by {{envoy_cluster}} > 0.{t}",
        "avg(last_5m):avg:system.cpu.user{{host:node-{n}}} > 9{t}",
        "max(last_10m):avg:system.cpu.user{{*}} by {{host}} > 8{t}",
    ]
    return [shapes[i % len(shapes)].format(n=i % NAMESPACES, t=i % 10) for i in range(count)]


def floor_per_monitor_minute(store: MetricStore, queries: list[str], minutes: int) -> float:
    """Seconds per monitor-minute of the bare store work: matching series, then the window's points."""
    terms = [
        [
            (term.metric, parse_tag_filter(term.scope))
            for term in metric_terms(parse_metric_query(query).expression)
        ]
        for query in queries
    ]
    windows = [plan_query(parse_metric_query(query)).timeframe.seconds for query in queries]
    started = time.perf_counter()
    checksum = 0.0
    for minute in range(1, minutes + 1):
        end = T0 + 60 * minute
        for query_terms, window in zip(terms, windows, strict=True):
            for metric, scope in query_terms:
                for series in store.matching(metric, scope):
                    first, last = series.span(end - window, end)
                    for index in range(first, last):
                        checksum += series.values[index]
    return (time.perf_counter() - started) / (len(queries) * minutes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=5)
    parser.add_argument("--services", type=int, default=100)
    args = parser.parse_args()

    clock = Clock("manual", T0)
    org = Org(0, OrgIdentity(), clock)
    points = feed(org, args.services)
    queries = monitor_queries(args.monitors)
    for index, query in enumerate(queries):
        org.monitors.create({"type": "query alert", "query": query, "name": f"bench {index}"})
    evaluator = Evaluator(org, clock)
    print(f"org: {args.monitors} monitors, {org.metrics.stats()['series']} series, {points:,} points")

    clock.set(T0 + 60 * args.minutes)
    started = time.perf_counter()
    evaluated = evaluator.advance_to(clock.now_s())
    elapsed = time.perf_counter() - started
    per_monitor_minute = elapsed / (args.monitors * evaluated)
    floor = floor_per_monitor_minute(org.metrics, queries, evaluated)
    groups = sum(
        len(entry.groups)
        for entry in (org.evaluations.get(i["id"]) for i in org.monitors.all_records())
        if entry
    )
    print(
        f"evaluation: {args.monitors} monitors x {evaluated} minutes in {elapsed:.2f} s"
        f" = {per_monitor_minute * 1e6:,.0f} us per monitor-minute ({groups} groups tracked)"
    )
    print(f"floor (series lookup + window scan): {floor * 1e6:,.0f} us per monitor-minute")
    print(f"ratio to floor: {per_monitor_minute / floor:.1f}x; one minute of 1,000 monitors costs "
          f"{per_monitor_minute * 1000 * 1000:,.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
