"""``provisioner emulator``: serve the Datadog API emulator in the foreground."""

from __future__ import annotations

from pathlib import Path

from provisioner.emulator.config import EmulatorOptionError, build_config
from provisioner.emulator.serve import serve
from provisioner.emulator.state import StateFileError
from provisioner.errors import UserError


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
) -> int:
    """Print the base URL, serve until Ctrl-C or SIGTERM, compact ``--state`` and return 0."""
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
        return serve(config, host, port)
    except (EmulatorOptionError, StateFileError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # e.g. the port is taken
        reason = exc.strerror or str(exc)
        hint = "pick another --port, or 0 for a free one"
        raise UserError(f"cannot serve on {host}:{port}: {reason}", hint=hint) from None
