"""provisioner side by side with the tools users would pick instead, and with floors measured in the same run.

Uses the peer harness (``../shared/peer-bench/``: a recording fake of Datadog's monitor API on 127.0.0.1,
the definition generator, the peers' commands) and the peers' virtual environments under ``$PEERS`` (one
per tool, as that harness's README.md installs them); a peer that is not installed is left out, and
without the harness the benchmark says so and stops. Every tool gets its own fake, holding the same
monitors (pushed once by the tool itself), and its own HOME. In interleaved rounds (rotated, so load
on a shared machine hits every case alike) each case runs once per round; printed: CPU medians (user +
system of the child) and the median of the per-round ratios. Figures, never asserted.

1. A no-change plan of 500 monitors: provisioner (compiled-definitions cache warm, and off) against
   dogpush (Python 3 port), datadog-deployer and the legacy ``datadog`` library's 60-line script.
2. A no-change plan of 5,000 monitors against a process that only parses the same definitions with
   PyYAML's CSafeLoader, for the generator's one file and for the same monitors in 500 files of 10.
3. Peak resident memory of a no-change plan of 20,000 monitors in 500 files (cache warm, and off).

provisioner runs as a user runs it, ``provisioner plan --detailed-exitcode``, with ``--no-metric-check``:
the same work as the peers, which list and compare and check no metric. (The check asks Datadog which
metrics report, one request and more per metric; the peers' fake answers it 404 and the plan warns that
nothing was checked: that case is printed too. ``--no-remote-validate`` changes nothing here: a no-change
plan has nothing to validate.) Requests per plan are printed.

The harness runs every tool with ``PYTHONDONTWRITEBYTECODE=1``. The peers' packages were byte-compiled when
pip installed them; provisioner's checkout (an editable install) is byte-compiled here before the rounds, as
the harness's README asks, or each plan would compile its ~50 source files again (about 60 ms at 500).

    python benchmarks/bench_peers.py [--rounds 9] [--small 500] [--large 5000] [--memory 20000]
                                     [--skip-small] [--skip-large] [--skip-memory]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace

from bytecode import byte_compile_provisioner

REPOSITORY = Path(__file__).resolve().parents[1]
PEERS = ("datadog-legacy-baseline", "dogpush-py3", "datadog-deployer")
TARGETS = {"dogpush-py3": 0.5, "datadog-legacy-baseline": 1.8}  # issue 13: provisioner / peer, at 500
FLOOR_TARGET = 1.1  # issue 13: a no-change plan of 5,000 / a bare parse of the same definitions
MEMORY_TARGET_MB = 250
PLAN_FLAGS = ("--no-metric-check",)
PARSE = (
    "import glob, yaml\n"
    "for name in sorted(glob.glob('monitors/**/*.y*ml', recursive=True)):\n"
    "    with open(name, encoding='utf-8') as handle:\n"
    "        yaml.load(handle.read(), Loader=yaml.CSafeLoader)\n"
)


def harness_folder() -> Path | None:
    for candidate in (os.environ.get("PEER_BENCH"), REPOSITORY.parent / "shared" / "peer-bench",
                      REPOSITORY.parents[1] / "shared" / "peer-bench"):  # fmt: skip
        if candidate and (Path(candidate) / "bench.py").is_file():
            return Path(candidate)
    return None


def load_harness(folder: Path) -> ModuleType:
    sys.path.insert(0, str(folder))
    import bench  # the harness: Fake, ToolRun, TOOLS, gen

    return bench


@dataclass
class Case:
    """One command, run in each round in its tool's scratch folder against its own fake."""

    name: str
    argv: list[str]
    cwd: str
    env: dict[str, str]
    fake: object | None = None
    cpu: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    def warm_up(self) -> None:
        """One run left out of the figures (the first plan writes the compiled-definitions cache)."""
        self.run()
        self.cpu.clear(), self.requests.clear(), self.peak_mb.clear()

    def run(self) -> None:
        before = _request_count(self.fake)
        process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
        error = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{self.name}: exit {os.waitstatus_to_exitcode(status)}\n{error[-2000:]}")
        self.cpu.append(usage.ru_utime + usage.ru_stime)
        self.peak_mb.append(usage.ru_maxrss / 1024)
        if self.fake is not None:
            self.requests.append(_request_count(self.fake) - before)


def _request_count(fake: object | None) -> int:
    if fake is None:
        return 0
    with urllib_open(fake.url + "/__fake/stats") as answer:  # type: ignore[attr-defined]
        return int(json.load(answer)["requests"])


def urllib_open(url: str):  # noqa: ANN201 - a context manager from urllib
    import urllib.request

    return urllib.request.urlopen(url, timeout=30)


class Setup:
    """The tools' scratch folders and fakes, each holding ``count`` monitors pushed by the tool itself."""

    def __init__(self, harness: ModuleType, peers: Path, work: Path) -> None:
        self.harness, self.peers, self.work = harness, peers, work
        self.runs: list[object] = []
        bindir = Path(sys.executable).parent
        self.provisioner = dict(
            venv=str(bindir.parent), fmt="provisioner",
            help=[str(bindir / "provisioner"), "--help"],
            push=[str(bindir / "provisioner"), "apply", "--no-remote-validate", "--api-url", "{url}",
                  "{defs}/monitors"],
            diff=[str(bindir / "provisioner"), "plan", *PLAN_FLAGS, "--api-url", "{url}", "--detailed-exitcode",
                  "{defs}/monitors"],
        )  # fmt: skip

    def tool(self, name: str, count: int, per_file: int | None = None) -> object | None:
        """``per_file``: provisioner's definitions in files of that many (a file holds at most 4 MiB)."""
        spec = self.provisioner if name == "provisioner" else self.harness.TOOLS[name]
        args = SimpleNamespace(
            provisioner_venv=None, peers=str(self.peers), work=str(self.work), n=count, realistic=False,
            latency_ms=0.0, trace=False, timeout=1800,
        )  # fmt: skip
        run = self.harness.ToolRun(name, spec, args)
        run.prepare()
        self.runs.append(run)
        if not run.ok:
            return None
        if per_file is not None:
            generated = Path(run.defs) / "monitors" / "monitors.yaml"  # type: ignore[attr-defined]
            write_split(generated, generated.parent, per_file)
            generated.unlink()
        print(f"  {name}: pushing {count} monitors ...", file=sys.stderr, flush=True)
        run.phase("push", "push")
        if run.result["phases"]["push"]["rc"] != 0:
            raise SystemExit(f"{name} could not push: {run.result['phases']['push']['output_tail']}")
        return run

    def plan_case(self, name: str, run: object, **env: str) -> Case:
        argv = self.harness.fmt(run.spec["diff"], **run.kw)  # type: ignore[attr-defined]
        return Case(name, argv, run.cwd, {**run.env, **env}, run.fake)  # type: ignore[attr-defined]

    def stop(self) -> None:
        for run in self.runs:
            run.stop()  # type: ignore[attr-defined]


def rounds(cases: list[Case], count: int) -> None:
    for index in range(count):
        shift = index % len(cases)
        for case in cases[shift:] + cases[:shift]:
            case.run()


def ratio(case: Case, base: Case) -> float:
    return statistics.median(a / b for a, b in zip(case.cpu, base.cpu, strict=True))


def report(title: str, cases: list[Case], base: Case, targets: dict[str, float]) -> None:
    print(f"\n{title}, {len(base.cpu)} interleaved rounds (CPU medians; ratio: median of per-round ratios):")
    for case in cases:
        line = f"  {case.name:<34} cpu {statistics.median(case.cpu) * 1000:7.0f} ms"
        if case.requests:
            line += f"  {collections.Counter(case.requests).most_common(1)[0][0]} requests"
        if case is not base:
            line += f"   {base.name} / this = {ratio(base, case):.2f}x"
            if case.name in targets:
                verdict = "within" if ratio(base, case) <= targets[case.name] else "OVER"
                line += f" (target <= {targets[case.name]}x: {verdict})"
        print(line)


def side_by_side(setup: Setup, count: int, round_count: int) -> None:
    cases: list[Case] = []
    ours = setup.tool("provisioner", count)
    assert ours is not None
    cases.append(setup.plan_case("provisioner", ours))
    cases.append(setup.plan_case("provisioner, cache off", ours, PROVISIONER_CACHE="off"))
    checking = setup.plan_case("provisioner, metric check on", ours)
    checking.argv.remove("--no-metric-check")
    cases.append(checking)
    missing = []
    for name in PEERS:
        run = setup.tool(name, count)
        if run is None:
            missing.append(name)
        else:
            cases.append(setup.plan_case(name, run))
    cases[0].warm_up()  # the cache is written by a first plan, as in CI after its first run
    rounds(cases, round_count)
    report(f"no-change plan of {count} monitors, side by side", cases, cases[0], TARGETS)
    for peer in cases[3:]:
        print(f"  provisioner, cache off / {peer.name} = {ratio(cases[1], peer):.2f}x")
    if missing:
        print(f"  not installed under $PEERS, left out: {', '.join(missing)}")


def against_the_floor(setup: Setup, count: int, round_count: int) -> None:
    ours = setup.tool("provisioner", count)
    assert ours is not None
    defs = Path(ours.defs)  # type: ignore[attr-defined]
    split = defs.parent / "defs-500-files"
    write_split(defs / "monitors" / "monitors.yaml", split / "monitors", per_file=count // 500 or 1)
    python = str(Path(sys.executable))
    layouts = {"one file": defs, "500 files": split}
    for layout, folder in layouts.items():
        plan = setup.plan_case("provisioner", ours)
        plan.argv[-1] = str(folder / "monitors")
        cases = [
            Case("bare CSafeLoader parse", [python, "-c", PARSE], str(folder), plan.env),
            plan,
            Case("provisioner, cache off", plan.argv, plan.cwd, {**plan.env, "PROVISIONER_CACHE": "off"}, plan.fake),
        ]  # fmt: skip
        plan.warm_up()
        rounds(cases, round_count)
        floor = cases[0]
        print(f"\nno-change plan of {count} monitors ({layout}) / a process that only parses the same "
              f"definitions, {round_count} interleaved rounds:")  # fmt: skip
        for case in cases:
            line = f"  {case.name:<34} cpu {statistics.median(case.cpu) * 1000:7.0f} ms"
            if case is not floor:
                value = ratio(case, floor)
                verdict = "within" if value <= FLOOR_TARGET else "OVER"
                line += f"   {value:.2f}x the floor (target <= {FLOOR_TARGET}x: {verdict}), {case.requests[0]} requests"
            print(line)


def write_split(source: Path, folder: Path, per_file: int) -> None:
    """The generator's one YAML list, as files of ``per_file`` definitions each (same monitors)."""
    items, current = [], []
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("- ") and current:
            items.append("".join(current))
            current = []
        current.append(line)
    items.append("".join(current))
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(items), per_file):
        (folder / f"team-{start // per_file:04d}.yaml").write_text("".join(items[start : start + per_file]))


def memory(setup: Setup, count: int) -> None:
    ours = setup.tool("provisioner", count, per_file=count // 500 or 1)
    assert ours is not None
    warm = setup.plan_case("provisioner", ours)
    off = Case(
        "provisioner, cache off", warm.argv, warm.cwd, {**warm.env, "PROVISIONER_CACHE": "off"}, warm.fake
    )
    warm.warm_up()
    for case in (warm, off, warm, off, warm, off):
        case.run()
    print(f"\npeak resident memory of a no-change plan of {count} monitors (medians of 3):")
    for case in (warm, off):
        peak = statistics.median(case.peak_mb)
        verdict = "within" if peak < MEMORY_TARGET_MB else "OVER"
        print(f"  {case.name:<34} {peak:6.0f} MB (target < {MEMORY_TARGET_MB} MB: {verdict})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--memory", type=int, default=20000)
    parser.add_argument("--skip-small", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--peers", type=Path, default=os.environ.get("PEERS"), help="default: $PEERS")
    args = parser.parse_args()
    folder = harness_folder()
    if folder is None:
        print("skipped: the peer harness (../shared/peer-bench/bench.py, or $PEER_BENCH) is not here")
        return 0
    peers = args.peers or Path(tempfile.gettempdir()) / "peers"
    if not Path(peers).is_dir():
        print(f"note: no peers' virtual environments in {peers} ($PEERS): only the floors are measured")
    harness = load_harness(folder)
    byte_compile_provisioner()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as work:
        setup = Setup(harness, Path(peers), Path(work))
        try:
            if not args.skip_small:
                side_by_side(setup, args.small, args.rounds)
            if not args.skip_large:
                against_the_floor(setup, args.large, args.rounds)
            if not args.skip_memory:
                memory(setup, args.memory)
        finally:
            setup.stop()
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
