"""One real run: the installed `provisioner` program posts a comment to a GitHub stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TOKEN = "ghs_smokeTOKEN0123456789"
BOT = {"user": {"login": "github-actions[bot]", "type": "Bot"}}


class _FakeGitHub(BaseHTTPRequestHandler):
    """Pull request #3 of acme/mesh has two pages of comments, the marked one on page 2."""

    received: list[tuple[str, str, dict[str, object] | None, str]] = []

    def do_GET(self) -> None:  # http.server's naming
        self._record(None)
        if "page=2" in self.path:
            self._reply(
                200, [{"id": 9, "body": "<!-- provisioner-plan -->\nold", "html_url": "http://x/9", **BOT}]
            )
        else:
            base = f"http://{self.headers['Host']}/repos/acme/mesh/issues/3/comments"
            link = f'<{base}?per_page=100&page=2>; rel="next"'
            self._reply(200, [{"id": 1, "body": "hi", "html_url": "http://x/1", **BOT}], {"Link": link})

    def do_PATCH(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._record(body)
        self._reply(200, {"id": 9, "body": body["body"], "html_url": "http://x/9"})

    def _record(self, body: dict[str, object] | None) -> None:
        self.received.append((self.command, self.path, body, self.headers.get("Authorization", "")))

    def _reply(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_github() -> Iterator[str]:
    _FakeGitHub.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_program_updates_the_marked_comment_over_real_http(fake_github: str, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3}}))
    (tmp_path / "plan.md").write_text("## plan\n\nno changes\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_") and "proxy" not in k.lower()}
    env |= {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/mesh", "GITHUB_API_URL": fake_github}
    env["GITHUB_EVENT_PATH"] = str(event)

    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "github", "comment", "--body", "plan.md"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "comment updated: http://x/9"
    assert TOKEN not in result.stdout + result.stderr
    methods = [(method, path) for method, path, _, _ in _FakeGitHub.received]
    assert methods == [
        ("GET", "/repos/acme/mesh/issues/3/comments?per_page=100"),
        ("GET", "/repos/acme/mesh/issues/3/comments?per_page=100&page=2"),
        ("PATCH", "/repos/acme/mesh/issues/comments/9"),
    ]
    assert _FakeGitHub.received[-1][2] == {"body": "<!-- provisioner-plan -->\n## plan\n\nno changes\n"}
    assert {auth for _, _, _, auth in _FakeGitHub.received} == {f"Bearer {TOKEN}"}
