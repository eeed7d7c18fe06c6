"""HTTP/1.1 transport (stdlib ``ThreadingHTTPServer``): keep-alive, Content-Length always set, one write
per response, and the connection-level faults (close without an answer, TCP reset)."""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from provisioner.emulator.admin import ADMIN_PREFIX, handle_admin
from provisioner.emulator.app import EmulatorApp, Outcome
from provisioner.emulator.encoding import DEFAULT_BODY_LIMITS, decode_body, too_large
from provisioner.emulator.http_types import ApiError, ApiResponse, bad_request, error_response, reason_phrase


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: EmulatorApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up before its answer is written (a deadline, Ctrl-C) is not the server's
        error: Datadog does not log it either; anything else is printed as the stdlib does."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_all_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive connections so they end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "provisioner-emulator"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve()

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: the request log on the admin endpoint replaces the stderr access log."""

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
            if path.startswith(ADMIN_PREFIX + "/"):
                body = decode_body(body, self.headers.get("Content-Encoding", ""))
                self._send(handle_admin(self.server.app, self.command, path, query, body))
                return
        except ApiError as error:
            self._send(error_response(error))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._deliver(self.server.app.handle_api(self.command, path, query, headers, body))

    def _deliver(self, outcome: Outcome) -> None:
        if outcome.delay_s > 0:
            time.sleep(outcome.delay_s)
        if outcome.response is not None:
            self._send(outcome.response)
            return
        self.close_connection = True
        if outcome.reset:  # SO_LINGER 0: close() sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _read_body(self) -> bytes:
        """The body as sent (still encoded: each endpoint decodes it within its own size limits)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        try:
            size = int(length) if length else 0
        except ValueError:
            raise bad_request("Invalid Content-Length") from None
        if size > DEFAULT_BODY_LIMITS.max_raw:
            self.close_connection = True  # the body is not read, so the connection cannot be reused
            raise too_large()
        return self.rfile.read(size) if size else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: ApiResponse) -> None:
        lines = [
            f"HTTP/1.1 {response.status} {reason_phrase(response.status)}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            *(f"{name}: {value}" for name, value in response.headers),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + response.body)
