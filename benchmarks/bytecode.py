"""Byte-compiling provisioner's checkout before measuring it (shared by the benchmarks that start processes)."""

from __future__ import annotations


def byte_compile_provisioner() -> None:
    """What pip does for an installed package: its modules' bytecode, so that a run does not compile them.

    With ``PYTHONDONTWRITEBYTECODE=1`` (the peer harness sets it; so may a shell), an editable checkout's
    bytecode is only as fresh as its last write: a measured process would compile every module changed
    since, and measure that."""
    import compileall

    import provisioner

    for folder in provisioner.__path__:
        if not compileall.compile_dir(folder, quiet=1):
            raise SystemExit(f"could not byte-compile {folder}")
