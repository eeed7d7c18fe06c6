"""The cost of an acknowledged write with --state, at 100 and at 10,000 monitors: it must not grow with the org.

Each org size runs in its own emulator child (``python -m provisioner.emulator --state``): seed the
monitors, fold them into the snapshot, then time monitor updates (PUT, each answered only once it is fsynced
in the journal) from one client, then from eight at once (their fsyncs are shared). Floors measured in the
same run: the same writes to an emulator without --state (HTTP and the rules alone), and a bare append plus
fdatasync of a record-sized line in the same folder. Medians of rounds that alternate between the settings.

    .venv/bin/python benchmarks/bench_state.py [--sizes 100 10000] [--writes 300] [--rounds 5] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from bench_emulator import KEYS, monitor_body  # the same monitors as the throughput benchmark

from provisioner.emulator.admin_client import EmulatorAdmin
from provisioner.emulator.process import emulator_process


def update_many(base_url: str, ids: list[int], seed: int) -> int:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    rng = random.Random(seed)
    for step, monitor_id in enumerate(ids):
        body = json.dumps(
            {"name": f"renamed {seed}-{step}", "tags": ["managed-by:bench", f"r:{rng.random()}"]}
        )
        connection.request("PUT", f"/api/v1/monitor/{monitor_id}", body, KEYS)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
    connection.close()
    return len(ids)


def seeded(base_url: str, monitors: int) -> list[int]:
    admin = EmulatorAdmin(base_url, timeout_s=300)
    ids: list[int] = []
    for start in range(0, monitors, 2000):
        ids += admin.seed_monitors([monitor_body(i) for i in range(start, min(start + 2000, monitors))])
    admin.flush_state()
    return ids


def time_writes(base_url: str, ids: list[int], writes: int, clients: int) -> float:
    """Seconds per acknowledged write."""
    rng = random.Random(clients)
    chosen = [rng.choice(ids) for _ in range(writes)]
    share = -(-writes // clients)
    chunks = [chosen[start : start + share] for start in range(0, writes, share)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = sum(pool.map(lambda pair: update_many(base_url, pair[1], pair[0]), enumerate(chunks)))
    return (time.perf_counter() - started) / done


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


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--writes", type=int, default=300, help="writes per round and setting")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-state-") as temporary, ExitStack() as children:
        folder = Path(temporary)
        targets: dict[tuple[int, bool], tuple[str, list[int]]] = {}
        for size in args.sizes:
            for kept in (False, True):
                state = ["--state", str(folder / f"org-{size}.json")] if kept else []
                base_url = children.enter_context(emulator_process("--no-rate-limits", *state))
                targets[size, kept] = (base_url, seeded(base_url, size))
        # Rounds alternate between the settings, so that load from elsewhere on the machine hits them alike.
        timings: dict[tuple[int, bool, int], list[float]] = {}
        fsync_floor: list[float] = []
        for _ in range(args.rounds):
            fsync_floor.append(bare_fsync_floor(folder))
            for (size, kept), (base_url, ids) in targets.items():
                for clients in (1, args.clients):
                    timing = time_writes(base_url, ids, args.writes, clients)
                    timings.setdefault((size, kept, clients), []).append(timing)
        floor = median(fsync_floor)
        print(f"floor: append + fdatasync of a 1.2 kB line: {floor * 1e6:,.0f} us (median of {args.rounds})")
        cost = {key: median(values) for key, values in timings.items()}
        for size in args.sizes:
            one, many = cost[size, True, 1], cost[size, True, args.clients]
            print(
                f"{size:>6} monitors: acknowledged write, 1 client {one * 1e6:,.0f} us "
                f"(x{one / cost[size, False, 1]:.2f} of the same write without --state, x{one / floor:.2f} of "
                f"a bare fsync); {args.clients} clients {many * 1e6:,.0f} us per write "
                f"(x{many / cost[size, False, args.clients]:.2f} of the same without --state)"
            )
        if len(args.sizes) > 1:
            smallest, largest = min(args.sizes), max(args.sizes)
            one = cost[largest, True, 1] / cost[smallest, True, 1]
            many = cost[largest, True, args.clients] / cost[smallest, True, args.clients]
            print(f"flatness: cost at {largest:,} / cost at {smallest:,} monitors = x{one:.2f} (1 client), "
                  f"x{many:.2f} ({args.clients} clients)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
