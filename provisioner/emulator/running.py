"""Start an emulator in this process, on a background thread."""

from __future__ import annotations

import threading
from types import TracebackType

from provisioner.emulator.admin_client import EmulatorAdmin
from provisioner.emulator.app import EmulatorApp
from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.server import EmulatorHTTPServer
from provisioner.emulator.state import StateKeeper


class RunningEmulator:
    """A serving emulator. ``stop()`` (or leaving the ``with`` block) closes it and compacts ``--state``."""

    def __init__(self, app: EmulatorApp, server: EmulatorHTTPServer) -> None:
        self._app = app
        self._server = server
        self._stopped = False
        self.base_url = server.base_url
        self.admin = EmulatorAdmin(self.base_url)
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator-http", daemon=True
        )
        self._thread.start()

    @property
    def config(self) -> EmulatorConfig:
        return self._app.config

    @property
    def state(self) -> StateKeeper | None:
        """The keeper of ``--state`` (journal and compaction figures), when the org is kept in a file."""
        return self._app.state_writer

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_all_connections()
        self._server.server_close()
        self._app.stop()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_emulator(
    config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Serve an emulator on ``host:port`` (0 = a free port) and return once it accepts connections."""
    app = EmulatorApp(config or EmulatorConfig())
    server = EmulatorHTTPServer((host, port), app)
    app.start()
    return RunningEmulator(app, server)
