"""``provisioner emulator``: serve the Datadog API emulator in the foreground."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import typer

from provisioner.config import load_config, select_environment
from provisioner.emulator.config import EmulatorOptionError, build_config
from provisioner.emulator.serve import serve
from provisioner.emulator.state import StateFileError
from provisioner.errors import UserError
from provisioner.mesh.catalogue import Mode, modes_of
from provisioner.model import CollectionModes

SeedMesh = Mode | Literal["config"]  # config: each collector in the mode of the environment's istio: setting


def emulator(
    host: str,
    port: int,
    state: Path | None,
    faults: Path | None,
    seed: int,
    rate_limits: bool,
    api_keys: list[str],
    app_keys: list[str],
    rate_limit_specs: list[str] | None = None,
    rate_limit_body: str = "empty",
    duplicate_window_s: float | None = None,
    seed_mesh: SeedMesh | None = None,
    env: str | None = None,
    config_path: Path | None = None,
) -> int:
    """Print the base URL, serve until Ctrl-C or SIGTERM, compact ``--state`` and return 0. ``seed_mesh``:
    first submit an hour of a healthy mesh's series, every collector in that collection mode, or with
    ``config`` each in the mode the environment names (commands/mesh_demo.py)."""
    on_ready = _seeder(seed_mesh, env, config_path, api_keys) if seed_mesh is not None else None
    try:
        config = build_config(
            state=state,
            faults=faults,
            seed=seed,
            rate_limits=rate_limits,
            api_keys=tuple(api_keys),
            app_keys=tuple(app_keys),
            rate_limit_specs=tuple(rate_limit_specs or ()),
            rate_limit_body=rate_limit_body,
            duplicate_window_s=duplicate_window_s,
        )
        return serve(config, host, port, on_ready=on_ready)
    except (EmulatorOptionError, StateFileError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # e.g. the port is taken
        reason = exc.strerror or str(exc)
        hint = "pick another --port, or 0 for a free one"
        raise UserError(f"cannot serve on {host}:{port}: {reason}", hint=hint) from None


def _seeder(
    seed_mesh: SeedMesh, env: str | None, config_path: Path | None, api_keys: list[str]
) -> Callable[[str], None]:
    """Reads the project first (a bad config fails before anything serves); seeds once the emulator serves."""
    from provisioner.commands.mesh_demo import DemoMesh, submit_demo

    config = load_config(config_path)
    environment = select_environment(config, env)
    mesh = DemoMesh.of(environment, config.services)
    if seed_mesh == "config":
        modes = modes_of(environment)
        described = f"environment {environment.name}'s collection modes ({modes.summary})"
    else:
        modes = CollectionModes(data_plane=seed_mesh, control_plane=seed_mesh, envoy=seed_mesh)
        described = f"{seed_mesh} mode"

    def seed(base_url: str) -> None:
        count = submit_demo(base_url, modes, mesh, int(time.time()), api_keys[0] if api_keys else "demo")
        typer.echo(
            f"Submitted {count} series of a healthy mesh in {described} (the last hour; services "
            f"{', '.join(mesh.services)}, kube_cluster_name:{mesh.cluster}).",
            err=True,
        )

    return seed
