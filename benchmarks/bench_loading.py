"""Peak memory of loading definitions, and what hostile input costs before it is refused.

Each figure comes from a fresh interpreter reporting its own peak resident memory (VmHWM), in interleaved
rounds, beside floors measured in the same run:
- imports only: the interpreter with provisioner's definitions layer imported, nothing loaded;
- bare parse: PyYAML's CSafeLoader parsing the same files and keeping what it parsed;
- load_definitions: read, validated and compiled into specs (what validate and plan hold).
for 5,000 and 20,000 generated monitor definitions (bench_validate's generator), then the growth per
definition. Issue 13's target is a whole 20,000-monitor plan under 250 MB; loading is the part measured
here. Then an alias bomb, a 50 MB file, a 10,000-digit number and deep nesting through `provisioner
validate`: seconds and peak memory until the exit 1 (target: within 5 s and 300 MB).

    python benchmarks/bench_loading.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_validate import generate

COUNTS = (5000, 20000)
PEAK = (
    "import atexit, re, sys; atexit.register(lambda: print('peak_kb=' + re.search(r'VmHWM:\\s*(\\d+)',"
    " open('/proc/self/status').read()).group(1), file=sys.stderr))\n"
)
IMPORTS = PEAK + "import yaml, provisioner.config, provisioner.definitions\n"
PARSE = (
    IMPORTS
    + """
import glob
kept = []
for name in sorted(glob.glob("monitors/**/*.y*ml", recursive=True)):
    with open(name, encoding="utf-8") as handle:
        kept.append(list(yaml.load_all(handle.read(), Loader=yaml.CSafeLoader)))
"""
)
LOAD = (
    IMPORTS
    + """
from provisioner.config import load_config, select_environment
config = load_config(None)
loaded = provisioner.definitions.load_definitions([], select_environment(config, None), config)
assert loaded.ok
"""
)
VALIDATE = (
    PEAK
    + "import runpy\nsys.argv = ['provisioner', 'validate']\nrunpy.run_module('provisioner', run_name='__main__')\n"
)


def peak_mb(code: str, cwd: Path, expected_exit: int = 0) -> tuple[float, float]:
    """(peak resident MB, wall seconds) of a fresh interpreter running ``code`` in ``cwd``."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )
    seconds = time.perf_counter() - started
    if completed.returncode != expected_exit:
        raise SystemExit(f"exit {completed.returncode} in {cwd}:\n{completed.stdout}{completed.stderr}")
    return int(re.findall(r"peak_kb=(\d+)", completed.stderr)[-1]) / 1024, seconds


def loading(folders: dict[int, Path], rounds: int) -> dict[tuple[str, int], float]:
    peaks: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for count, folder in folders.items():
            for name, code in (("imports only", IMPORTS), ("bare parse", PARSE), ("load_definitions", LOAD)):
                peaks.setdefault((name, count), []).append(peak_mb(code, folder)[0])
    return {key: statistics.median(values) for key, values in peaks.items()}


def hostile_inputs(root: Path) -> dict[str, tuple[float, float]]:
    monitor = (
        'id: m\nkind: monitor\nname: m\ntype: query alert\nquery: "avg(last_5m):avg:system.load.1{*} > 2"\n'
    )
    bomb = ["a0: &a0 [" + ", ".join(['"l"'] * 9) + "]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    cases = {
        "alias bomb (9^9 values in 600 bytes)": monitor + "\n".join(bomb) + "\nextra: *a8\n",
        "50 MB file": monitor + ("# " + "x" * 1021 + "\n") * (50 * 1024),
        "10,000-digit threshold": monitor + "options: {thresholds: {critical: " + "9" * 10_000 + "}}\n",
        "nesting 500 deep": monitor + "extra: " + "[" * 500 + "]" * 500 + "\n",
    }
    results = {}
    for name, text in cases.items():
        folder = root / re.sub(r"\W+", "-", name)
        (folder / "monitors").mkdir(parents=True)
        (folder / "monitors" / "m.yaml").write_text(text, encoding="utf-8")
        results[name] = peak_mb(VALIDATE, folder, expected_exit=1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        folders = {count: root / str(count) for count in COUNTS}
        for count, folder in folders.items():
            folder.mkdir()
            generate(folder, count)
        peaks = loading(folders, args.rounds)
        hostile = hostile_inputs(root / "hostile")
    print(f"peak resident memory, medians of {args.rounds} interleaved rounds:")
    for count in COUNTS:
        figures = "  ".join(
            f"{name} {peaks[(name, count)]:.0f} MB"
            for name in ("imports only", "bare parse", "load_definitions")
        )
        ratio = peaks[("load_definitions", count)] / peaks[("bare parse", count)]
        print(f"  {count:>6} definitions: {figures}  (load / bare parse {ratio:.2f}x)")
    low, high = COUNTS
    for name in ("bare parse", "load_definitions"):
        growth = (peaks[(name, high)] - peaks[(name, low)]) * 1024 / (high - low)
        print(f"  growth per definition, {name}: {growth:.1f} KB")
    print(
        f"  loading {high} definitions: {peaks[('load_definitions', high)]:.0f} MB (a whole plan's target: < 250 MB)"
    )
    print(
        "hostile input through `provisioner validate` (exit 1, located error; target within 5 s and 300 MB):"
    )
    for name, (mb, seconds) in hostile.items():
        print(f"  {name:<38} {seconds:.2f} s  peak {mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
