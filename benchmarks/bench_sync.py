"""Sync engine benchmarks against the emulator (a child process, real HTTP on 127.0.0.1).

Prints, for each scenario, wall time and requests; the targets come from issues 4 and 11:
1. a no-change plan over 5,000 managed monitors: at most 6 requests, under 2 s including start-up;
2. applying 1,000 creates with 20 ms added latency per request: under 5 s;
3. applying 5,000 creates under Datadog's real write limit (500 per 10 s) in one run: exit 0, no
   failed resource, and a total time within 10 % of what the limit allows (printed as a ratio to
   that floor, computed from the engine's own unlimited pace measured in the same run).
Scenarios 2 and 3 measure the writes (``--no-remote-validate``); the cost of asking Datadog's validate
endpoint first (one request per created monitor, apply's default) is printed as a ratio to scenario 2.

Run: python benchmarks/bench_sync.py [--monitors 5000] [--creates 1000] [--limited-creates 5000]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from provisioner.definitions import load_definitions
from provisioner.emulator import EmulatorAdmin
from provisioner.emulator.process import emulator_process
from provisioner.identity import marked_monitor_body
from provisioner.model import Environment

WRITE_LIMIT, WRITE_PERIOD_S = 500, 10
NO_REMOTE_VALIDATE = ("--no-remote-validate",)


def write_definitions(folder: Path, count: int, per_file: int = 100) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, count, per_file):
        documents = [_definition(i) for i in range(start, min(start + per_file, count))]
        (folder / f"generated-{start // per_file:04d}.yaml").write_text(
            yaml.safe_dump_all(documents, sort_keys=False)
        )
    return folder


def _definition(index: int) -> dict:
    service = f"svc-{index:05d}"
    kinds = [
        {
            "kind": "error-rate",
            "id": f"errors-{service}",
            "name": f"[mesh] {service} error rate",
            "message": f"{service} fails @slack-mesh-oncall",
            "scope": ["env:prod", f"service:{service}"],
            "min_requests": 0,  # one monitor per definition (no composite): the targets count monitors
            "thresholds": {"critical": "5%", "warning": "2%"},
        },
        {
            "kind": "monitor",
            "id": f"latency-{service}",
            "name": f"[mesh] {service} latency",
            "type": "query alert",
            "query": f"avg(last_5m):avg:trace.envoy.proxy.duration{{service:{service}}} > 2",
            "message": f"{service} is slow @slack-mesh-oncall",
            "options": {"thresholds": {"critical": 2, "warning": 1}},
        },
    ]
    return kinds[index % 2]


def cli(*args: str, base_url: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """The real command in a fresh process, run from a folder without a provisioner.yaml."""
    env = {
        **os.environ,
        "PROVISIONER_API_URL": base_url,
        "DD_API_KEY": "bench-api-key",
        "DD_APP_KEY": "bench-app-key",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", *args],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, done


def writes(counts: dict[str, int]) -> int:
    return sum(v for k, v in counts.items() if not k.startswith("GET") and not k.endswith("/validate"))


def bench_no_change_plan(workdir: Path, monitors: int) -> None:
    folder = write_definitions(workdir / "plan", monitors)
    definitions = load_definitions([folder], Environment(name="default"))
    assert definitions.ok, definitions.errors[:3]
    bodies = [marked_monitor_body(spec, "default") for spec in definitions.monitors]
    with emulator_process("--no-rate-limits") as base_url:
        admin = EmulatorAdmin(base_url)
        admin.seed_monitors(bodies)
        admin.reset_log()
        seconds, done = cli("plan", str(folder), "--detailed-exitcode", base_url=base_url)
        counts = admin.request_counts()
    requests = sum(counts.values())
    print(
        f"[plan] no-change plan over {len(bodies)} managed monitors: {seconds:.2f} s wall "
        f"(whole process, start-up included), {requests} requests {counts}, exit {done.returncode}"
    )
    _verdict(done.returncode == 0 and requests <= 6 and seconds < 2.0, "target: exit 0, <= 6 requests, < 2 s")
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        return
    with emulator_process("--no-rate-limits") as base_url:
        EmulatorAdmin(base_url).seed_monitors(bodies)
        plan, floor = _interleaved_cpu(
            lambda: cli("plan", str(folder), "--detailed-exitcode", base_url=base_url),
            lambda: subprocess.run([sys.executable, "-c", _PARSE, str(folder)], check=True),
        )
    print(
        f"        CPU {plan:.2f} s; a process that only parses the same files with CSafeLoader: {floor:.2f} s "
        f"({plan / floor:.2f}x; medians of {_ROUNDS} interleaved rounds; benchmarks/bench_peers.py has the "
        "issue-13 figures)"
    )


_ROUNDS = 3
_PARSE = (
    "import glob, sys, yaml\n"
    "for name in sorted(glob.glob(sys.argv[1] + '/**/*.y*ml', recursive=True)):\n"
    "    with open(name, encoding='utf-8') as handle:\n"
    "        list(yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))\n"
)


def _interleaved_cpu(*commands: Callable[[], object]) -> list[float]:
    """The median CPU (user + system of the children) of each command, in interleaved rounds."""
    spent: list[list[float]] = [[] for _ in commands]
    for _ in range(_ROUNDS):
        for index, command in enumerate(commands):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            command()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            spent[index].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return [statistics.median(values) for values in spent]


def bench_creates_with_latency(workdir: Path, creates: int) -> float:
    folder = write_definitions(workdir / "latency", creates)
    seconds, done, counts = _apply_with_latency(folder, NO_REMOTE_VALIDATE)
    print(
        f"[apply] {creates} creates, 20 ms added latency, concurrency 8: {seconds:.2f} s wall, "
        f"{writes(counts)} writes, exit {done.returncode}"
    )
    _verdict(done.returncode == 0 and seconds < 5.0, "target: exit 0, < 5 s")
    validated, done, counts = _apply_with_latency(folder, ())
    print(
        f"[apply] the same with remote validation first (the default): {validated:.2f} s wall "
        f"({validated / seconds:.2f}x the writes alone), {counts.get('POST /api/v1/monitor/validate', 0)} "
        f"validate requests, exit {done.returncode}"
    )
    return seconds


def _apply_with_latency(
    folder: Path, flags: tuple[str, ...]
) -> tuple[float, subprocess.CompletedProcess[str], dict[str, int]]:
    with emulator_process("--no-rate-limits") as base_url:
        admin = EmulatorAdmin(base_url)
        admin.set_faults(latency_ms=20)
        seconds, done = cli("apply", str(folder), *flags, base_url=base_url)
        return seconds, done, admin.request_counts()


def bench_creates_under_write_limit(workdir: Path, creates: int) -> None:
    folder = write_definitions(workdir / "limit", creates)
    with emulator_process() as base_url:  # the recorded limits: post_monitors 500 per 10 s
        admin = EmulatorAdmin(base_url)
        _, unlimited = _unlimited_rate(workdir, creates)
        started_at = time.time()
        seconds, done = cli("apply", str(folder), *NO_REMOTE_VALIDATE, base_url=base_url)
        counts = admin.request_counts()
        throttled = sum(1 for e in admin.request_log() if e.status == 429)
    allowed = _time_the_limit_allows(started_at, creates, unlimited)
    ratio = seconds / allowed
    waits = done.stderr.count("rate limit: post_monitors resets in")
    print(
        f"[apply] {creates} creates under {WRITE_LIMIT} writes per {WRITE_PERIOD_S} s: {seconds:.2f} s wall, "
        f"{writes(counts)} writes of which {throttled} answered 429, {waits} rate-limit waits reported, "
        f"exit {done.returncode}; the limit allows {allowed:.2f} s from this start ({ratio:.2f}x)"
    )
    failed = done.returncode != 0 or f"{creates} done, 0 failed" not in done.stdout
    _verdict(not failed and ratio <= 1.1, "target: exit 0, all created, within 10 % of what the limit allows")
    if failed:
        print(done.stdout[-2000:], done.stderr[-2000:])


def _unlimited_rate(workdir: Path, creates: int) -> tuple[float, float]:
    """Creates per second with no limit and no added latency (the engine's own pace)."""
    folder = write_definitions(workdir / "pace", creates)
    with emulator_process("--no-rate-limits") as base_url:
        seconds, _ = cli("apply", str(folder), *NO_REMOTE_VALIDATE, base_url=base_url)
    return seconds, creates / seconds


def _time_the_limit_allows(started_at: float, creates: int, rate: float) -> float:
    """Fastest finish from ``started_at`` at ``rate`` requests/s under calendar-aligned windows."""
    clock, left = started_at, creates
    while True:
        window_end = (math.floor(clock / WRITE_PERIOD_S) + 1) * WRITE_PERIOD_S
        batch = min(left, WRITE_LIMIT, int((window_end - clock) * rate))
        left -= batch
        if left == 0:
            return clock + batch / rate - started_at
        clock = window_end


def _verdict(ok: bool, target: str) -> None:
    print(f"        {'OK' if ok else 'MISSED'} ({target})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--monitors", type=int, default=5000)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--limited-creates", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="provisioner-bench-") as tmp:
        workdir = Path(tmp)
        bench_no_change_plan(workdir, args.monitors)
        bench_creates_with_latency(workdir, args.creates)
        bench_creates_under_write_limit(workdir, args.limited_creates)


if __name__ == "__main__":
    main()
