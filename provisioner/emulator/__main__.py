"""``python -m provisioner.emulator``: the same server as ``provisioner emulator``, without the CLI package.

Child processes (benchmarks, kill tests) use this entry point; it prints the base URL on the first line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioner.emulator.clock import CLOCK_MODES
from provisioner.emulator.config import RATE_LIMIT_BODIES, EmulatorOptionError, build_config
from provisioner.emulator.serve import serve
from provisioner.emulator.state import StateFileError


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m provisioner.emulator", description="Datadog API emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8126, help="0 picks a free port")
    parser.add_argument("--state", type=Path, help="keep the org in this file across restarts")
    parser.add_argument("--faults", type=Path, help="fault-injection config (JSON or YAML)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate-limits", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--rate-limit", action="append", default=[], metavar="BUCKET=LIMIT/PERIOD_S")
    parser.add_argument("--rate-limit-body", choices=RATE_LIMIT_BODIES, default="empty")
    parser.add_argument("--duplicate-window", type=float, metavar="SECONDS")
    parser.add_argument(
        "--compact-after", type=int, metavar="BYTES", help="fold the --state journal into the snapshot sooner"
    )
    parser.add_argument("--api-key", action="append", default=[])
    parser.add_argument("--app-key", action="append", default=[])
    parser.add_argument(
        "--clock",
        choices=CLOCK_MODES,
        default="realtime",
        help="realtime: the wall clock, monitors evaluated each minute; manual: moved by POST /_emulator/clock",
    )
    parser.add_argument("--clock-start", type=float, metavar="EPOCH_S", help="where a manual clock starts")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        config = build_config(
            state=args.state,
            faults=args.faults,
            seed=args.seed,
            rate_limits=args.rate_limits,
            api_keys=tuple(args.api_key),
            app_keys=tuple(args.app_key),
            rate_limit_specs=tuple(args.rate_limit),
            rate_limit_body=args.rate_limit_body,
            duplicate_window_s=args.duplicate_window,
            clock=args.clock,
            clock_start_s=args.clock_start,
            compact_after_bytes=args.compact_after,
        )
        return serve(config, args.host, args.port)
    except (EmulatorOptionError, StateFileError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
