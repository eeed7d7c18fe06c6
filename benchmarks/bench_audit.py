"""``provisioner audit`` over a large org, against the emulator in a child process (real HTTP on 127.0.0.1).

The org: ``--managed`` monitors applied from generated definitions with ``provisioner apply``, and the rest
created by hand through ``POST /api/v1/monitor`` (8 parallel clients, rate limits off): mesh signal monitors
for some services, duplicates, muted monitors, monitors without a notification handle.
Then ``provisioner audit --format json --no-metric-check`` runs in a fresh process; the benchmark prints its
wall time (start-up included) and the requests it made. Target (issue 5): under 3 s for 5,000 monitors, list
calls only. Then, with a series submitted for every metric the monitors query, the same audit with the
metrics-reporting check (issue 9): its requests stay within 1 + 25 tag reads + 3 type reads whatever the
number of monitors, and its wall time is printed as a ratio to the audit without it.

Run: python benchmarks/bench_audit.py [--monitors 5000] [--managed 500] [--services 100]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.emulator import EmulatorAdmin
from provisioner.emulator.process import emulator_process
from provisioner.engine.metric_check import MetricCheckSettings
from provisioner.signals import metric_names

HEADERS = {"DD-API-KEY": "bench", "DD-APPLICATION-KEY": "bench", "Content-Type": "application/json"}
LIST_CALLS = frozenset({"GET /api/v1/monitor", "GET /api/v1/dashboard", "GET /api/v1/dashboard/{id}"})
METRIC_CHECK_BUDGET = 1 + MetricCheckSettings().max_tag_reads + 3  # active list, tag reads, type reads
CLIENTS = 8


def service(index: int, services: int) -> str:
    return f"svc-{index % services:04d}"


def write_project(folder: Path, managed: int, services: int) -> None:
    config = {
        "namespace": "bench",
        "services": [service(i, services) for i in range(services)],
        "environments": {"prod": {"tags": ["env:prod"], "notify": ["@slack-mesh"]}},
    }
    (folder / "provisioner.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monitors = folder / "monitors"
    monitors.mkdir()
    documents = [_definition(i, services) for i in range(managed)]
    for start in range(0, managed, 100):
        (monitors / f"generated-{start // 100:03d}.yaml").write_text(
            yaml.safe_dump_all(documents[start : start + 100], sort_keys=False)
        )


def _definition(index: int, services: int) -> dict[str, object]:
    name = service(index, services)
    if index % 2 == 0:
        return {
            "kind": "error-rate",
            "id": f"errors-{index}",
            "name": f"[mesh] {name} error rate #{index}",
            "scope": [f"service:{name}", f"shard:{index}"],
            "min_requests": 0,  # one monitor per definition (no composite): the targets count monitors
            "thresholds": {"critical": "5%", "warning": "2%"},
            "options": {"notify_no_data": True, "no_data_timeframe": 30},
        }
    return {
        "kind": "monitor",
        "id": f"latency-{index}",
        "name": f"[mesh] {name} latency #{index}",
        "type": "query alert",
        "query": f"avg(last_5m):avg:trace.envoy.proxy.duration{{service:{name},shard:{index}}} > 2",
        "message": f"{name} is slow",
        "options": {"thresholds": {"critical": 2, "warning": 1}},
    }


def hand_made(index: int, services: int) -> dict[str, object]:
    """A varied unmanaged monitor; every 25th repeats the previous one's query (a duplicate)."""
    name = service(index, services)
    shard = index - 1 if index % 25 == 0 else index
    shapes = [
        (f"avg(last_5m):avg:system.cpu.user{{host:h{shard}}} > 90", "@pagerduty-infra", {}),
        (
            f"max(last_5m):max:envoy.cluster.outlier_detection.ejections_active"
            f"{{envoy_cluster:outbound|80||{name}.shop.svc.cluster.local,shard:{shard}}} > 0",
            "@slack-mesh",
            {"notify_no_data": True},
        ),
        (f"avg(last_5m):avg:system.disk.in_use{{host:h{shard}}} > 0.9", "nobody is told", {}),
        (f"avg(last_5m):avg:system.load.1{{host:h{shard}}} > 4", "@slack-infra", {"silenced": {"*": None}}),
    ]
    query, message, options = shapes[shard % len(shapes)]
    threshold = float(query.rsplit(">", 1)[1])
    return {
        "name": f"hand made {index}",
        "type": "metric alert",
        "query": query,
        "message": f"Look at it. {message}",
        "tags": ["team:mesh"],
        "options": {"thresholds": {"critical": threshold}, **options},
    }


def create_many(base_url: str, bodies: Sequence[dict[str, object]]) -> int:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    for body in bodies:
        connection.request("POST", "/api/v1/monitor", json.dumps(body), HEADERS)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, (answer.status, body)
    connection.close()
    return len(bodies)


def seed_by_hand(base_url: str, count: int, services: int) -> float:
    bodies = [hand_made(i, services) for i in range(count)]
    chunks = [bodies[i::CLIENTS] for i in range(CLIENTS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        assert sum(pool.map(lambda chunk: create_many(base_url, chunk), chunks)) == count
    return time.perf_counter() - started


def submit_every_metric(base_url: str, bodies: Sequence[dict[str, object]]) -> int:
    """One point now for every metric the monitors query, tagged with a service: they all report."""
    names = sorted({name for body in bodies for name in metric_names(body)})
    now = int(time.time())
    series = [
        {"metric": n, "points": [{"timestamp": now, "value": 1.0}], "tags": ["service:svc-0000"]}
        for n in names
    ]
    with DatadogClient(Target(base_url, "bench", "bench")) as client:
        client.submit_series(series)
    return len(names)


def cli(folder: Path, base_url: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {
        **os.environ,
        "PROVISIONER_API_URL": base_url,
        "DD_API_KEY": "bench-api-key",
        "DD_APP_KEY": "bench-app-key",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", *args], env=env, cwd=folder, capture_output=True, text=True
    )
    return time.perf_counter() - started, done


def bench_audit(folder: Path, monitors: int, managed: int, services: int) -> bool:
    write_project(folder, managed, services)
    with emulator_process("--no-rate-limits") as base_url:
        admin = EmulatorAdmin(base_url)
        applied_s, applied = cli(folder, base_url, "apply")
        assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]
        seeded_s = seed_by_hand(base_url, monitors - managed, services)
        print(f"[seed] {managed} managed by `provisioner apply` in {applied_s:.2f} s; "
              f"{monitors - managed} by hand (POST, {CLIENTS} clients) in {seeded_s:.2f} s")  # fmt: skip
        admin.reset_log()
        seconds, done = cli(folder, base_url, "audit", "--format", "json", "--no-metric-check")
        counts = admin.request_counts()
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:])
            return False
        metrics = submit_every_metric(base_url, [{"query": q} for q in _queries(base_url)])
        admin.reset_log()
        checked_s, checked = cli(folder, base_url, "audit", "--format", "json")
        checked_counts = admin.request_counts()
    report = json.loads(done.stdout)
    summary = report["summary"]
    print(
        f"[audit] {summary['monitors']['total']} monitors, {summary['dashboards']['total']} dashboards: "
        f"{seconds:.2f} s wall (whole process, start-up included), {sum(counts.values())} requests {counts}"
    )
    print(
        f"        classes {summary['monitors']}; findings {summary['findings']}; coverage {summary['coverage']}"
    )
    ok = seconds < 3.0 and set(counts) <= LIST_CALLS and summary["monitors"]["total"] == monitors
    print(f"        {'OK' if ok else 'MISSED'} (target: < 3 s, list calls only, every monitor classified)")
    return _report_metric_check(seconds, checked_s, checked, checked_counts, metrics) and ok


def _queries(base_url: str) -> list[str]:
    with DatadogClient(Target(base_url, "bench", "bench")) as client:
        return [str(m.body.get("query") or "") for m in client.list_monitors()]


def _report_metric_check(
    floor_s: float,
    seconds: float,
    done: subprocess.CompletedProcess[str],
    counts: dict[str, int],
    metrics: int,
) -> bool:
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        return False
    check = json.loads(done.stdout)["metric_check"]
    extra = {k: v for k, v in counts.items() if k not in LIST_CALLS}
    print(
        f"[audit + metrics-reporting check] {seconds:.2f} s wall = {seconds / floor_s:.2f}x the audit without "
        f"it; {check['metrics']} metrics ({metrics} reporting), {sum(extra.values())} check requests {extra}"
    )
    ok = check["status"] == "checked" and sum(extra.values()) <= METRIC_CHECK_BUDGET
    print(
        f"        {'OK' if ok else 'MISSED'} (target: at most {METRIC_CHECK_BUDGET} requests, any org size)"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--monitors", type=int, default=5000)
    parser.add_argument("--managed", type=int, default=500)
    parser.add_argument("--services", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="provisioner-bench-audit-") as tmp:
        ok = bench_audit(Path(tmp), args.monitors, args.managed, args.services)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
