"""The process: ``python -m provisioner`` and the ``provisioner`` script run ``main``, which sets the
garbage collector for a short-lived process before anything else is imported."""

from __future__ import annotations

import gc


def main() -> None:
    # A command builds many containers (definitions, the org's JSON, canonical forms) that live until it
    # ends and hold no reference cycles: a collection scans them and frees nothing. The default threshold
    # (700) rescanned them all again and again (8 % of a plan); at one collection per million new ones, a
    # no-change plan of 5,000 monitors runs none. The same holds for what the start-up imports build
    # (modules, classes, functions, alive until exit): set before them, the threshold spares a validate
    # ~45 collections (~6 ms). What is alive at the end is frozen, so that the interpreter's last collection
    # does not scan it either (5 % of a 500-monitor plan).
    gc.set_threshold(1_000_000, 50, 100)
    try:
        from provisioner.cli import main as run_command  # after the threshold: the imports gain from it

        run_command()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
