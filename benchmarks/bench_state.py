"""The cost of an acknowledged write with --state: it must not grow with the org.

Two kinds of write, each at a small and a large org: monitor updates at 100 and 10,000 monitors, and series
submissions into a metric store of 1,000 and 1,000,000 points. Each org runs in its own emulator child
(``python -m provisioner.emulator --state``): seed it, fold it into the snapshot, then time the writes (each
answered only once it is fsynced in the journal) from one client, then from eight at once (their fsyncs are
shared). Floors measured in the same run: the same writes to an emulator without --state (HTTP and the rules
alone), and a bare append plus fdatasync of a record-sized line in the same folder. Medians of rounds that
alternate between the settings. A series submission is 20 series of one new point each, as an agent flush.

    .venv/bin/python benchmarks/bench_state.py [--sizes 100 10000] [--points 1000 1000000] [--writes 300]
        [--rounds 5] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from bench_emulator import KEYS, monitor_body  # the same monitors as the throughput benchmark

from provisioner.emulator.admin_client import EmulatorAdmin
from provisioner.emulator.process import emulator_process

# A clock that stands still: no evaluation runs during the timings (10,000 monitors each minute otherwise).
EMULATOR = ("--no-rate-limits", "--clock", "manual")
Timings = dict[tuple[int, bool, int], float]  # (org size, --state, clients) -> seconds per write


def connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)


def send(connection: http.client.HTTPConnection, method: str, path: str, body: bytes, expected: int) -> None:
    connection.request(method, path, body, KEYS)
    answer = connection.getresponse()
    answer.read()
    assert answer.status == expected, answer.status


# -- monitor updates ---------------------------------------------------------------------------------------


def update_many(base_url: str, ids: list[int], seed: int) -> int:
    connection = connect(base_url)
    rng = random.Random(seed)
    for step, monitor_id in enumerate(ids):
        body = json.dumps(
            {"name": f"renamed {seed}-{step}", "tags": ["managed-by:bench", f"r:{rng.random()}"]}
        )
        send(connection, "PUT", f"/api/v1/monitor/{monitor_id}", body.encode(), 200)
    connection.close()
    return len(ids)


def seeded_monitors(base_url: str, monitors: int) -> list[int]:
    admin = EmulatorAdmin(base_url, timeout_s=300)
    ids: list[int] = []
    for start in range(0, monitors, 2000):
        ids += admin.seed_monitors([monitor_body(i) for i in range(start, min(start + 2000, monitors))])
    admin.flush_state()
    return ids


def time_updates(base_url: str, ids: list[int], writes: int, clients: int) -> float:
    """Seconds per acknowledged monitor update."""
    rng = random.Random(clients)
    chosen = [rng.choice(ids) for _ in range(writes)]
    share = -(-writes // clients)
    chunks = [chosen[start : start + share] for start in range(0, writes, share)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = sum(pool.map(lambda pair: update_many(base_url, pair[1], pair[0]), enumerate(chunks)))
    return (time.perf_counter() - started) / done


# -- series submissions ------------------------------------------------------------------------------------


def submit_many(base_url: str, bodies: list[bytes]) -> int:
    connection = connect(base_url)
    for body in bodies:
        send(connection, "POST", "/api/v2/series", body, 202)
    connection.close()
    return len(bodies)


def agent_flush(client: int, timestamp: int) -> bytes:
    series = [
        {"metric": "bench.requests", "type": 1, "interval": 10, "tags": [f"client:{client}", f"pod:p{pod}"],
         "points": [{"timestamp": timestamp, "value": 1.0}]}
        for pod in range(20)
    ]  # fmt: skip
    return json.dumps({"series": series}).encode()


def seeded_points(base_url: str, points: int) -> None:
    """``points`` points in 1,000 series over the last week (v1 bodies of up to 100,000 points)."""
    admin = EmulatorAdmin(base_url, timeout_s=300)
    admin.accept_any_timestamp()  # the seed spans more than the accepted hour
    per_series = max(1, points // 1000)
    series_per_body = max(1, 100_000 // per_series)
    start = int(time.time()) - 7 * 86_400
    connection = connect(base_url)
    for first in range(0, 1000, series_per_body):
        series = [
            {"metric": "bench.seed", "type": "gauge", "tags": [f"pod:p{index}"],
             "points": [[start + 60 * step, float(step)] for step in range(per_series)]}
            for index in range(first, min(first + series_per_body, 1000))
        ]  # fmt: skip
        send(connection, "POST", "/api/v1/series", json.dumps({"series": series}).encode(), 202)
    connection.close()
    admin.accept_any_timestamp(False)
    admin.flush_state()
    assert admin.metric_stats()["points"] == per_series * 1000


def time_submissions(base_url: str, writes: int, clients: int, seconds: Iterator[int]) -> float:
    """Seconds per acknowledged series submission (each at a second of its own: only new points)."""
    share = -(-writes // clients)
    bodies = [[agent_flush(client, next(seconds)) for _ in range(share)] for client in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = sum(pool.map(lambda chunk: submit_many(base_url, chunk), bodies))
    return (time.perf_counter() - started) / done


# -- floors and figures ------------------------------------------------------------------------------------


def bare_fsync_floor(folder: Path, line_bytes: int = 1200, count: int = 500) -> float:
    descriptor, path = tempfile.mkstemp(dir=folder)
    line = b"x" * (line_bytes - 1) + b"\n"
    started = time.perf_counter()
    for _ in range(count):
        os.write(descriptor, line)
        os.fdatasync(descriptor)
    elapsed = (time.perf_counter() - started) / count
    os.close(descriptor)
    os.unlink(path)
    return elapsed


def report(what: str, sizes: list[int], cost: Timings, floor: float, clients: int) -> None:
    for size in sizes:
        one, many = cost[size, True, 1], cost[size, True, clients]
        print(
            f"{size:>9,} {what}: acknowledged write, 1 client {one * 1e6:,.0f} us "
            f"(x{one / cost[size, False, 1]:.2f} of the same write without --state, x{one / floor:.2f} of "
            f"a bare fsync); {clients} clients {many * 1e6:,.0f} us per write "
            f"(x{many / cost[size, False, clients]:.2f} of the same without --state)"
        )
    if len(sizes) > 1:
        smallest, largest = min(sizes), max(sizes)
        one = cost[largest, True, 1] / cost[smallest, True, 1]
        many = cost[largest, True, clients] / cost[smallest, True, clients]
        print(f"flatness: cost at {largest:,} / cost at {smallest:,} {what} = x{one:.2f} (1 client), "
              f"x{many:.2f} ({clients} clients)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000], help="monitors")
    parser.add_argument("--points", type=int, nargs="+", default=[1000, 1_000_000], help="stored points")
    parser.add_argument("--writes", type=int, default=300, help="writes per round and setting")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-state-") as temporary, ExitStack() as children:
        folder = Path(temporary)
        monitor_orgs: dict[tuple[int, bool], tuple[str, list[int]]] = {}
        metric_orgs: dict[tuple[int, bool], tuple[str, Iterator[int]]] = {}
        for kept in (False, True):
            for size in args.sizes:
                state = ["--state", str(folder / f"monitors-{size}.json")] if kept else []
                base_url = children.enter_context(emulator_process(*EMULATOR, *state))
                monitor_orgs[size, kept] = (base_url, seeded_monitors(base_url, size))
            for points in args.points:
                state = ["--state", str(folder / f"points-{points}.json")] if kept else []
                base_url = children.enter_context(emulator_process(*EMULATOR, *state))
                seeded_points(base_url, points)
                now = int(EmulatorAdmin(base_url).clock()["now"])
                metric_orgs[points, kept] = (base_url, itertools.count(now - 3000))
        # Rounds alternate between the settings, so that load from elsewhere on the machine hits them alike.
        updates: dict[tuple[int, bool, int], list[float]] = {}
        submissions: dict[tuple[int, bool, int], list[float]] = {}
        fsync_floor: list[float] = []
        for _ in range(args.rounds):
            fsync_floor.append(bare_fsync_floor(folder))
            for clients in (1, args.clients):
                for (size, kept), (base_url, ids) in monitor_orgs.items():
                    timing = time_updates(base_url, ids, args.writes, clients)
                    updates.setdefault((size, kept, clients), []).append(timing)
                for (points, kept), (base_url, seconds) in metric_orgs.items():
                    timing = time_submissions(base_url, args.writes, clients, seconds)
                    submissions.setdefault((points, kept, clients), []).append(timing)
        floor = statistics.median(fsync_floor)
        print(f"floor: append + fdatasync of a 1.2 kB line: {floor * 1e6:,.0f} us (median of {args.rounds})")
        medians = {key: statistics.median(values) for key, values in updates.items()}
        report("monitors (a PUT)", args.sizes, medians, floor, args.clients)
        medians = {key: statistics.median(values) for key, values in submissions.items()}
        report("points (a submission of 20 series)", args.points, medians, floor, args.clients)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
