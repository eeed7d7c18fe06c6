"""Emulator throughput: monitor creates with parallel clients, then full monitor lists.

Runs the emulator in a child process (``python -m provisioner.emulator``) so client and server do not share
a GIL, and prints the figures. Bounded: by default 1,000 creates with 8 clients and lists of 5,000 monitors.

    .venv/bin/python benchmarks/bench_emulator.py [--creates 1000] [--clients 8] [--monitors 5000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from provisioner.emulator.admin_client import EmulatorAdmin
from provisioner.emulator.process import emulator_process

KEYS = {
    "DD-API-KEY": "bench-api-key",
    "DD-APPLICATION-KEY": "bench-app-key",
    "Content-Type": "application/json",
}


def monitor_body(index: int) -> dict[str, object]:
    query = (
        f"sum(last_5m):sum:istio.mesh.request.count{{env:prod,destination_service:svc-{index}}}"
        " by {destination_workload}.as_count() > 100"
    )
    return {"type": "metric alert", "name": f"bench {index}", "query": query, "tags": ["managed-by:bench"],
            "options": {"thresholds": {"critical": 100, "warning": 50}}, "message": "@slack-sre"}  # fmt: skip


def connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def create_many(base_url: str, indexes: range) -> int:
    connection = connect(base_url)
    for index in indexes:
        connection.request("POST", "/api/v1/monitor", json.dumps(monitor_body(index)), KEYS)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
    connection.close()
    return len(indexes)


def bench_creates(base_url: str, creates: int, clients: int) -> float:
    share = -(-creates // clients)
    chunks = [range(start, min(start + share, creates)) for start in range(0, creates, share)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = sum(pool.map(lambda chunk: create_many(base_url, chunk), chunks))
    elapsed = time.perf_counter() - started
    print(
        f"create: {done} monitors with {clients} clients in {elapsed:.2f} s = {done / elapsed:,.0f} monitors/s"
    )
    return elapsed


def list_once(base_url: str, path: str) -> tuple[int, int]:
    connection = connect(base_url)
    connection.request("GET", path, headers=KEYS)
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return len(json.loads(body)), len(body)


def bench_lists(base_url: str, expected: int) -> None:
    started = time.perf_counter()
    count, size = list_once(base_url, "/api/v1/monitor")
    elapsed = time.perf_counter() - started
    assert count == expected, (count, expected)
    print(
        f"list (unpaginated): {count} monitors, {size / 1e6:.1f} MB in {elapsed:.3f} s = {count / elapsed:,.0f}/s"
    )
    started, total, page = time.perf_counter(), 0, 0
    while True:
        count, _ = list_once(base_url, f"/api/v1/monitor?page={page}&page_size=1000")
        total, page = total + count, page + 1
        if count < 1000:
            break
    elapsed = time.perf_counter() - started
    assert total == expected, (total, expected)
    print(
        f"list (pages of 1000): {total} monitors in {page} requests, {elapsed:.3f} s = {total / elapsed:,.0f}/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--monitors", type=int, default=5000, help="stored monitors for the list figures")
    args = parser.parse_args()
    with emulator_process("--no-rate-limits") as base_url:
        bench_creates(base_url, args.creates, args.clients)
        missing = max(0, args.monitors - args.creates)
        admin = EmulatorAdmin(base_url, timeout_s=120)
        for start in range(0, missing, 1000):
            admin.seed_monitors(
                [monitor_body(args.creates + i) for i in range(start, min(start + 1000, missing))]
            )
        bench_lists(base_url, max(args.monitors, args.creates))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
