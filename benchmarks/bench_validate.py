"""`provisioner validate` on 5,000 generated definitions, as a ratio to a bare parse of the same files.

Generates a temporary project (provisioner.yaml plus 500 files of 10 definitions, all five monitor kinds,
with overrides, variables and options). In interleaved rounds it runs, each in a fresh interpreter:
- the floor: a process that only parses the same files with PyYAML's CSafeLoader;
- `provisioner validate` with no paths: exactly what the pre-commit hook runs on every commit that touches
  a definition or provisioner.yaml (the whole repository, so a duplicate id across files fails locally),
  with the compiled-definitions cache warm (as after a first run: one file changed is one file compiled)
  and with it off (PROVISIONER_CACHE=off: every file compiled);
- the same two in this interpreter (no start-up, no imports): the parse, and load_definitions.
Before the rounds, provisioner's modules are byte-compiled, as pip does for an installed package. It
prints CPU and wall medians, validate / floor (target <= 2x, issue 13), each process's peak resident
memory, and the hook's time on this repository's own definitions. Figures, never asserted.

    python benchmarks/bench_validate.py [--count 5000] [--rounds 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bytecode import byte_compile_provisioner

REPOSITORY = Path(__file__).resolve().parents[1]
TARGET_RATIO = 2.0
CACHE_OFF = {"PROVISIONER_CACHE": "off"}
PER_FILE = 10
# Each measured process reports its own peak resident memory (VmHWM) on its last stderr line.
PEAK = (
    "import atexit, re, sys; atexit.register(lambda: print('peak_kb=' + re.search(r'VmHWM:\\s*(\\d+)',"
    " open('/proc/self/status').read()).group(1), file=sys.stderr))\n"
)
PARSE = """
import glob, yaml
for name in sorted(glob.glob("monitors/**/*.y*ml", recursive=True)):
    with open(name, encoding="utf-8") as handle:
        list(yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))
"""
LOAD = """
from provisioner.config import load_config, select_environment
from provisioner.definitions import load_definitions
config = load_config(None)
assert load_definitions([], select_environment(config, None), config).ok
"""
FLOOR = PEAK + PARSE
VALIDATE = (
    PEAK
    + """
import runpy
sys.argv = ["provisioner", "validate"]
runpy.run_module("provisioner", run_name="__main__")
"""
)

# A team with 5,000 monitors has applied the mesh set-up they need and declared it (else every APM and
# Envoy definition warns needs-mesh-setup), and gives staging its own namespace.
CONFIG = """\
namespace: bench
default_environment: production
istio: {set_up: [envoy-check, proxy-stats, apm-tracer]}
environments:
  production:
    tags: ["env:production", "team:mesh-sre"]
    notify: ["@pagerduty-mesh"]
    variables: {cluster: mesh-prod-eu1}
  staging:
    namespace: bench-staging
    tags: ["env:staging"]
    variables: {cluster: mesh-staging-eu1}
"""

TEMPLATES = (
    """\
id: svc-{n}-error-rate
kind: error-rate
name: "[mesh] svc-{n}: 5xx error rate on {{{{service.name}}}}"
source: apm
scope: ["env:${{env}}", "service:svc-{n}"]
group_by: [service]
window: 5m
min_requests: 100
thresholds: {{critical: 5%, warning: 2%}}
message: |
  {{{{service.name}}}} fails {{{{a.value}}}} of its requests.
  Runbook: https://runbooks.example.com/mesh/error-rate @slack-mesh-alerts
tags: ["team:mesh-sre", "service:svc-{n}"]
priority: 2
options: {{renotify_interval: 60, new_group_delay: 300, notify_no_data: false}}
overrides:
  staging: {{priority: 4, thresholds: {{critical: 10%}}}}
""",
    """\
id: cluster-{n}-sidecar-injection
kind: sidecar-injection
name: "[mesh] sidecar injection failing in ${{cluster}} ({n})"
scope: ["kube_cluster_name:${{cluster}}"]
window: 10m
message: "Runbook: https://runbooks.example.com/mesh/sidecar-injection @slack-mesh-alerts"
tags: ["team:mesh-sre"]
""",
    """\
id: cluster-{n}-config-propagation
kind: config-propagation
name: "[mesh] Istio config not propagating ({n})"
scope: ["kube_cluster_name:${{cluster}}"]
push_errors: true
proxy_rejects: true
thresholds: {{critical: 5, warning: 0}}
message: "Runbook: https://runbooks.example.com/mesh/config @slack-mesh-alerts"
""",
    """\
id: svc-{n}-circuit-open
kind: circuit-open
name: "[mesh] outlier ejections on {{{{envoy_cluster.name}}}} ({n})"
signal: outlier-ejection
scope: ["kube_cluster_name:${{cluster}}"]
clusters: ["outbound_8080__svc-{n}.default.svc.cluster.local"]
message: "{{{{envoy_cluster.name}}}} ejected hosts. @slack-mesh-alerts"
""",
    """\
id: svc-{n}-latency
kind: monitor
name: "[mesh] svc-{n} latency high"
type: query alert
query: "avg(last_5m):avg:trace.envoy.proxy.duration{{service:svc-{n}}} by {{resource_name}} > 2"
message: "Latency of {{{{resource_name.name}}}} is {{{{value}}}}s. @slack-mesh-alerts"
options:
  thresholds: {{critical: 2, warning: 1}}
  notify_no_data: false
  new_group_delay: 60
""",
)


def generate(folder: Path, count: int) -> None:
    (folder / "provisioner.yaml").write_text(CONFIG, encoding="utf-8")
    monitors = folder / "monitors"
    monitors.mkdir()
    for first in range(0, count, PER_FILE):
        documents = [
            TEMPLATES[n % len(TEMPLATES)].format(n=n) for n in range(first, min(first + PER_FILE, count))
        ]
        (monitors / f"team-{first // PER_FILE:04d}.yaml").write_text("---\n" + "---\n".join(documents))


@dataclass(frozen=True)
class Run:
    cpu: float  # seconds, user + system, of the child
    wall: float
    peak_mb: float


def measure(code: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """One fresh interpreter running ``code`` in ``cwd``; it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"exit {completed.returncode} in {cwd}:\n{completed.stdout}{completed.stderr}")
    peak = re.findall(r"peak_kb=(\d+)", completed.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(cpu, wall, int(peak[-1]) / 1024 if peak else float("nan"))


def measure_in_process(code: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """``code`` run in this interpreter (start-up and imports excluded once warm): this process's CPU."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        exec(compile(code, "<measured>", "exec"), {})
        return Run(time.process_time() - cpu, time.perf_counter() - started, float("nan"))
    finally:
        os.chdir(previous)


@dataclass(frozen=True)
class Case:
    code: str
    cwd: Path
    in_process: bool = False
    env: dict[str, str] | None = None


def rounds(count: int, cases: dict[str, Case]) -> dict[str, list[Run]]:
    """Interleaved: each round runs every case once, so load on a shared machine hits them alike."""
    results: dict[str, list[Run]] = {name: [] for name in cases}
    for _ in range(count):
        for name, case in cases.items():
            measured = measure_in_process if case.in_process else measure
            results[name].append(measured(case.code, case.cwd, case.env))
    return results


def median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)


def ratios(runs: list[Run], floors: list[Run]) -> list[float]:
    """CPU of each run over the floor's in the same round."""
    return [run.cpu / floor.cpu for run, floor in zip(runs, floors, strict=True)]


def ratio(runs: list[Run], floors: list[Run]) -> float:
    """The median over rounds of ``ratios``."""
    return statistics.median(ratios(runs, floors))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="generate into this (new) folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        generate(folder, args.count)
        byte_compile_provisioner()  # as installed: no run compiles a module changed since its bytecode
        cache = {"PROVISIONER_CACHE_DIR": str(Path(temporary) / "cache")}
        measure(VALIDATE, folder, cache)  # the first run writes the cache
        results = rounds(args.rounds, {
            "floor": Case(FLOOR, folder),
            "validate": Case(VALIDATE, folder, env=cache),
            "validate, cache off": Case(VALIDATE, folder, env=CACHE_OFF),
            "hook, this repository": Case(VALIDATE, REPOSITORY, env=cache),
            "floor, in-process": Case(PARSE, folder, in_process=True),
            "load, in-process": Case(LOAD, folder, in_process=True),
        })  # fmt: skip
    report(args.count, args.rounds, results)
    return 0


def report(count: int, round_count: int, results: dict[str, list[Run]]) -> None:
    files = -(-count // PER_FILE)
    print(f"validate, {count} definitions in {files} files, {round_count} interleaved rounds (medians):")
    for name, runs in results.items():
        peak = median(runs, "peak_mb")
        memory = f"  peak {peak:.0f} MB" if peak == peak else ""  # nan: measured in this process
        print(f"  {name:<24} cpu {median(runs, 'cpu'):.3f} s  wall {median(runs, 'wall'):.3f} s{memory}")
    for name in ("validate", "validate, cache off"):
        each = ratios(results[name], results["floor"])
        whole = statistics.median(each)
        verdict = "within" if whole <= TARGET_RATIO else "OVER"
        print(
            f"  {name} / bare CSafeLoader parse, each a fresh process: {whole:.2f}x "
            f"(rounds {min(each):.2f}-{max(each):.2f}x; target <= {TARGET_RATIO}x: {verdict})"
        )
    loading = ratio(results["load, in-process"], results["floor, in-process"])
    print(f"  load_definitions / bare parse, in-process (no start-up, no imports): {loading:.2f}x")
    own, generated = median(results["hook, this repository"], "wall"), median(results["validate"], "wall")
    cold = median(results["validate, cache off"], "wall")
    print(
        f"  pre-commit hook (the whole repository): this repository {own:.2f} s, {count} definitions {generated:.2f} s "
        f"({cold:.2f} s with the cache off)"
    )


if __name__ == "__main__":
    sys.exit(main())
