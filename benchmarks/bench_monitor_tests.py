"""The time of ``provisioner test`` on the shipped monitor tests (monitors/tests/), as a ratio to a floor
measured in the same run: starting the in-process emulator and feeding it the tests' time line, one
series submission and one clock move per minute of every test, with no monitor to plan, apply, evaluate
or read. What lies above the floor is compiling, applying, evaluating and checking.

    .venv/bin/python benchmarks/bench_monitor_tests.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from provisioner.commands.test import test as provisioner_test
from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.emulator import EmulatorConfig, start_emulator
from provisioner.monitor_tests.cases import MINUTE, MonitorTest, load_tests
from provisioner.monitor_tests.run import START_S

ROOT = Path(__file__).resolve().parents[1]


def run_the_command() -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = provisioner_test([], env=None, config_path=None, output_format="json", junit=None)
    if code != 0:
        raise SystemExit("provisioner test failed on the shipped tests: run it to see why")


def feed_the_time_lines(tests: tuple[MonitorTest, ...]) -> Callable[[], None]:
    def feed() -> None:
        with (
            start_emulator(EmulatorConfig(clock_start_s=START_S, rate_limits=False)) as running,
            DatadogClient(Target(running.base_url, "bench", "bench")) as client,
        ):
            for test in runs(tests):
                running.admin.wipe()
                start = int(running.admin.clock()["now"])
                for minute in range(test.end_s // MINUTE):
                    point = {"timestamp": start + minute * MINUTE, "value": 1.0}
                    client.submit_series([{"metric": "bench.feed", "type": 1, "points": [point]}])
                    running.admin.advance_clock(MINUTE)

    return feed


def runs(tests: tuple[MonitorTest, ...]) -> list[MonitorTest]:
    """Each test once per Istio mode it asks for, as the command runs them."""
    return [test for test in tests for _ in range(len(test.istio) or 1)]


def median_seconds(action: Callable[[], None], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.chdir(ROOT)
    loaded = load_tests([])
    if loaded.problems or not loaded.tests:
        raise SystemExit("no shipped monitor tests to run: see provisioner test")
    minutes = sum(test.end_s // MINUTE for test in runs(loaded.tests))
    run_the_command()  # warm: imports, schemas
    total = median_seconds(run_the_command, args.rounds)
    floor = median_seconds(feed_the_time_lines(loaded.tests), args.rounds)
    print(
        f"shipped tests: {len(loaded.tests)} tests in {len(loaded.files)} files, {len(runs(loaded.tests))} runs"
        f" (Istio modes), {minutes} evaluated minutes"
    )
    print(f"provisioner test: {total:.2f} s (median of {args.rounds})")
    print(f"floor (start the emulator, submit a point and move the clock each minute): {floor:.2f} s")
    print(f"ratio to floor: {total / floor:.1f}x; {total / minutes * 1000:.1f} ms per evaluated test-minute")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
