"""Sync under real conditions: a write limit, two applies at once, answers that are not JSON, a hung
or absent server, interrupts, saved plans. Real CLI, real YAML, real HTTP to the emulator; real
processes where the condition is about processes."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

if TYPE_CHECKING:
    from conftest import Cli

from provisioner.definitions import load_definitions
from provisioner.emulator import EmulatorConfig, FaultRule, RunningEmulator, start_emulator
from provisioner.identity import marked_monitor_body, read_monitor_mark
from provisioner.model import Environment

API_KEY = "sync-test-api-key-0123456789abcdef"
APP_KEY = "sync-test-app-key-0123456789abcdef0123"

MONITOR = """\
kind: monitor
id: {id}
name: {id} latency
type: metric alert
query: avg(last_5m):avg:trace.envoy.proxy.duration{{service:{id}}} > {critical}
message: "{id} is slow @slack-mesh-oncall"
options:
  thresholds: {{critical: {critical}}}
"""


def write_monitors(folder: Path, count: int, critical: float = 2, prefix: str = "svc") -> list[str]:
    """``count`` monitor definitions in one multi-document file; their definition ids."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"{prefix}{index:04d}" for index in range(count)]
    (folder / f"{prefix}.yaml").write_text("---\n".join(MONITOR.format(id=i, critical=critical) for i in ids))
    return ids


def applied_then_changed_in_code(cli: Cli, project: Path, count: int) -> None:
    """``count`` monitors applied with critical 2, then changed in code to critical 4."""
    write_monitors(project / "monitors", count, critical=2)
    assert cli("apply", "monitors")[0] == 0
    write_monitors(project / "monitors", count, critical=4)


def copies_by_definition(org: RunningEmulator) -> Counter[str]:
    api = MonitorsApi(ApiClient(_configuration(org)))
    marks = (read_monitor_mark(m.to_dict()) for m in api.list_monitors())
    return Counter(mark.definition_id for mark in marks if mark is not None)


def rename_by_hand(org: RunningEmulator, name: str, new_name: str) -> Any:
    """The monitor named ``name``, as it was before it was renamed in Datadog, as by hand in the UI."""
    api = MonitorsApi(ApiClient(_configuration(org)))
    monitor = next(m for m in api.list_monitors() if m.name == name)
    api.update_monitor(monitor.id, MonitorUpdateRequest(name=new_name))
    return monitor


def _configuration(org: RunningEmulator) -> Configuration:
    config = Configuration(host=org.base_url)
    config.api_key["apiKeyAuth"] = API_KEY
    config.api_key["appKeyAuth"] = APP_KEY
    return config


def process_env(org_url: str) -> dict[str, str]:
    return {**os.environ, "PROVISIONER_API_URL": org_url, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}


def provisioner(*args: str) -> list[str]:
    return [sys.executable, "-m", "provisioner", *args]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.delenv("DD_SITE", raising=False)
    return tmp_path


def serve(monkeypatch: pytest.MonkeyPatch, **config: object) -> RunningEmulator:
    org = start_emulator(EmulatorConfig(api_keys=(API_KEY,), app_keys=(APP_KEY,), **config))  # type: ignore[arg-type]
    monkeypatch.setenv("PROVISIONER_API_URL", org.base_url)
    return org


@pytest.fixture
def org(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    running = serve(monkeypatch, rate_limits=False)
    yield running
    running.stop()


# --- the write rate limit -----------------------------------------------------------------------


def test_apply_paces_creates_at_the_write_limit_every_worker_waiting_for_one_reset(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_monitors(project / "monitors", 50)
    with serve(monkeypatch, rate_limit_overrides={"post_monitors": (20, 2)}) as limited:
        started = time.monotonic()
        code, output = cli("apply", "monitors")
        elapsed = time.monotonic() - started
        posts = [e.status for e in limited.admin.request_log() if e.endpoint == "POST /api/v1/monitor"]
    assert code == 0, output
    assert "Apply: 50 done, 0 failed" in output
    # 50 creates at 20 per 2 s: two resets to wait for, said once each, and no request refused.
    assert output.count("rate limit: post_monitors resets in") in (2, 3)
    assert posts == [200] * 50
    assert elapsed > 2


# --- two applies at once ------------------------------------------------------------------------


def test_two_applies_at_once_leave_exactly_one_monitor_per_definition(
    project: Path, org: RunningEmulator
) -> None:
    ids = write_monitors(project / "monitors", 300)
    # Both read an empty org (their list answers are held back 2 s), so both create all 300.
    org.admin.set_faults(
        rules=[FaultRule("delay", method="GET", path="/api/v1/monitor", count=2, delay_ms=2000)]
    )
    runs = [
        subprocess.Popen(
            provisioner("apply", "monitors"),
            cwd=project,
            env=process_env(org.base_url),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert copies_by_definition(org) == Counter({definition_id: 1 for definition_id in ids})
    assert any("created by an apply running at the same time" in out for out in outputs), outputs
    again = subprocess.run(
        provisioner("plan", "monitors", "--detailed-exitcode"),
        cwd=project,
        env=process_env(org.base_url),
        check=False,
    )
    assert again.returncode == 0


def test_a_second_copy_is_a_repair_that_apply_carries_out_without_prune_keeping_the_oldest(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    write_monitors(project / "monitors", 3)
    specs = load_definitions([project / "monitors"], Environment(name="default")).monitors
    bodies = [marked_monitor_body(spec, "default") for spec in specs]
    older, *_ = org.admin.seed_monitors(bodies)
    (newer,) = org.admin.seed_monitors(bodies[:1])

    code, plan = cli.json("plan", "monitors", "--format", "json", "--detailed-exitcode")
    assert code == 2
    assert [(c["action"], c["datadog_id"]) for c in plan["changes"]] == [("repair", newer)]
    assert str(older) in plan["changes"][0]["note"]

    code, output = cli("apply", "monitors")
    assert code == 0, output
    assert copies_by_definition(org) == Counter({"svc0000": 1, "svc0001": 1, "svc0002": 1})
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0
    assert MonitorsApi(ApiClient(_configuration(org))).get_monitor(older).id == older


# --- answers that are not Datadog's JSON --------------------------------------------------------


def test_one_in_twenty_answers_spoilt_never_exits_3_converges_and_leaves_no_duplicate(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    ids = write_monitors(project / "monitors", 80)
    spoil = [
        FaultRule("commit_then_truncate", path="/api/v1/*", rate=0.017),
        FaultRule("commit_then_empty", path="/api/v1/*", rate=0.017),
        FaultRule("commit_then_html", path="/api/v1/*", rate=0.016, status=502),
    ]
    org.admin.set_faults(rules=spoil, seed=11)
    codes = []
    for _ in range(3):
        code, output = cli("apply", "monitors")
        codes.append(code)
        assert "unexpected error" not in output
        if code == 0:
            break
    spoilt = [e for e in org.admin.request_log() if e.fault and e.fault.startswith("commit_then_")]
    assert 3 not in codes and codes[-1] == 0
    assert len(spoilt) >= 3  # the faults did fire
    assert copies_by_definition(org) == Counter({definition_id: 1 for definition_id in ids})
    org.admin.clear_faults()
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0


def test_an_answer_that_stays_unreadable_fails_that_resource_only(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    applied_then_changed_in_code(cli, project, 4)
    # One at a time, so that the first update gets all three spoilt answers (a try and two retries).
    org.admin.set_faults(rules=[FaultRule("commit_then_truncate", method="PUT", count=3)])
    code, output = cli("apply", "monitors", "--concurrency", "1")
    assert code == 1, output
    failed = [line for line in output.splitlines() if line.startswith("✗ update")]
    assert len(failed) == 1, output
    assert (
        "Datadog answered 200 to PUT /api/v1/monitor/{monitor_id} with a body that is not JSON" in failed[0]
    )
    assert "Apply: 3 done, 1 failed" in output
    assert cli("apply", "monitors")[0] == 0
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0


# --- deadlines and unreachable servers ----------------------------------------------------------


def test_plan_against_a_server_that_never_answers_ends_at_its_timeout(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_monitors(project / "monitors", 1)
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("PROVISIONER_API_URL", url)
        started = time.monotonic()
        code, output = cli("plan", "monitors", "--timeout", "2")
        elapsed = time.monotonic() - started
    assert code == 1, output
    assert f"Datadog at {url} accepted the connection but sent no answer" in output
    assert "the --timeout of 2 s ran out" in output
    assert elapsed < 10


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_remote_validation_gets_its_own_time_beyond_the_default_read_deadline(
    cli: Cli, project: Path, org: RunningEmulator, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The default deadline is for reading (100 s; 1.5 s here): asking Datadog about every monitor a plan
    writes extends it as writes do. 16 validations of 1 s each, 8 at a time, take 2 s."""
    monkeypatch.setattr("provisioner.commands._session.READ_DEADLINE_S", 1.5)
    write_monitors(project / "monitors", 16)
    org.admin.set_faults(
        rules=[FaultRule("delay", method="POST", path="/api/v1/monitor/validate", delay_ms=1000)]
    )
    code, output = cli(command, "monitors", *(("--no-metric-check",) if command == "plan" else ()))
    assert code == 0, output
    assert "Datadog accepts all 16 monitors" in output


def test_a_refused_connection_fails_at_once_naming_the_url_and_where_it_came_from(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_monitors(project / "monitors", 1)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, not listening: refused
        monkeypatch.setenv("PROVISIONER_API_URL", url)
        started = time.monotonic()
        code, output = cli("plan", "monitors")
        elapsed = time.monotonic() - started
        code_by_flag, by_flag = cli("plan", "monitors", "--api-url", url)
    assert code == 1
    assert f"could not connect to Datadog at {url}: the connection was refused" in output
    assert "hint: check the URL: it comes from PROVISIONER_API_URL\n" in output
    assert "DD_SITE" not in output and "--api-url" not in output  # the one it came from, not all five
    assert elapsed < 5
    assert code_by_flag == 1 and "hint: check the URL: it comes from --api-url\n" in by_flag, by_flag


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Answers 200 at once, then its body one byte every 2 s."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(30):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(2)
        except OSError:
            pass  # the client gave up

    def log_message(self, *_args: object) -> None:
        pass


def test_plan_against_a_server_trickling_its_answer_ends_at_its_timeout(project: Path) -> None:
    write_monitors(project / "monitors", 1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        started = time.monotonic()
        done = subprocess.run(
            provisioner("plan", "monitors", "--no-metric-check", "--timeout", "5"),
            cwd=project, env=process_env(url), capture_output=True, text=True, timeout=40,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Datadog at {url} was still sending its answer to GET /api/v1/monitor" in done.stderr
    assert "the --timeout of 5 s ran out" in done.stderr
    assert elapsed < 12


TLS_FILES = Path(__file__).parent / "tls"  # a self-signed certificate for 127.0.0.1, and its key (tests only)


class _Forbidden(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"errors": ["reached over TLS"]}'
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def tls_server() -> Iterator[str]:
    """An HTTPS server on loopback whose certificate no trust store knows; it answers 403 to everything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_FILES / "loopback-cert.pem", TLS_FILES / "loopback-key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_names_tls_and_the_ca_and_ssl_cert_file_mends_it(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch, tls_server: str
) -> None:
    write_monitors(project / "monitors", 1)
    monkeypatch.setenv("PROVISIONER_API_URL", tls_server)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    code, output = cli("plan", "monitors", "--no-metric-check")
    assert code == 1, output
    assert (
        f"no TLS connection to Datadog at {tls_server}" in output and "certificate is not trusted" in output
    )
    assert "CA certificate" in output and "SSL_CERT_FILE" in output and "HTTPS_PROXY" in output
    assert "answered None" not in output

    monkeypatch.setenv("SSL_CERT_FILE", str(TLS_FILES / "loopback-cert.pem"))
    code, output = cli("plan", "monitors", "--no-metric-check")
    assert code == 1 and "Datadog answered 403" in output and "reached over TLS" in output, output


def test_https_to_a_plain_http_server_says_so(cli: Cli, project: Path, org: RunningEmulator) -> None:
    write_monitors(project / "monitors", 1)
    url = org.base_url.replace("http://", "https://")
    code, output = cli("plan", "monitors", "--no-metric-check", "--api-url", url)
    assert code == 1, output
    assert f"no TLS connection to Datadog at {url}" in output and "does not speak TLS" in output
    assert "use http://" in output


# --- interrupts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_apply_finishes_the_writes_in_flight_reports_and_a_rerun_converges(
    project: Path, org: RunningEmulator, signum: int, exit_code: int
) -> None:
    ids = write_monitors(project / "monitors", 150)
    org.admin.set_faults(rules=[FaultRule("delay", method="POST", delay_ms=40)])
    env = process_env(org.base_url)
    run = subprocess.Popen(
        provisioner("apply", "monitors"),
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    lines = [run.stdout.readline()]
    while not lines[-1].startswith("✓ create"):
        assert lines[-1] or run.poll() is None, "".join(lines)  # it ended before writing
        lines.append(run.stdout.readline())
    run.send_signal(signum)
    rest, errors = run.communicate(timeout=60)
    output = "".join(lines) + rest
    assert run.returncode == exit_code, output + errors
    summary = next(line for line in output.splitlines() if line.startswith("Apply:"))
    done, not_started = int(summary.split()[1]), int(summary.split(", ")[-1].split()[0])
    assert f"interrupted ({signal.Signals(signum).name})" in errors
    assert 0 < done < 150 and done + not_started == 150, summary
    assert sum(copies_by_definition(org).values()) == done

    org.admin.clear_faults()
    rerun = subprocess.run(
        provisioner("apply", "monitors"), cwd=project, env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert copies_by_definition(org) == Counter({definition_id: 1 for definition_id in ids})


def test_a_second_ctrl_c_exits_at_once(project: Path, org: RunningEmulator) -> None:
    write_monitors(project / "monitors", 20)
    org.admin.set_faults(rules=[FaultRule("delay", method="POST", path="/api/v1/monitor", delay_ms=20_000)])
    run = subprocess.Popen(
        provisioner("apply", "monitors"),
        cwd=project,
        env=process_env(org.base_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not any(e.endpoint == "POST /api/v1/monitor" for e in org.admin.request_log()):  # writes in flight
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    time.sleep(0.5)
    started = time.monotonic()
    run.send_signal(signal.SIGINT)
    _, errors = run.communicate(timeout=10)
    assert run.returncode == 130
    assert "Interrupted again: exiting now" in errors
    assert time.monotonic() - started < 5


# --- saved plans --------------------------------------------------------------------------------


def test_a_saved_plan_is_applied_exactly_and_a_monitor_edited_since_is_refused(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    applied_then_changed_in_code(cli, project, 3)
    code, _ = cli("plan", "monitors", "--save-plan", "plan.json", "--detailed-exitcode")
    assert code == 2
    saved = json.loads((project / "plan.json").read_text())
    assert (saved["environment"], saved["target"]) == ("default", org.base_url)
    api = MonitorsApi(ApiClient(_configuration(org)))
    by_name = {m.name: m for m in api.list_monitors()}
    edited = rename_by_hand(org, "svc0001 latency", "svc0001 latency (tuned during an incident)")
    write_monitors(project / "monitors", 3, critical=9)  # the plan is carried out, not the code

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1, output
    assert (
        f"✗ update   monitor svc0001 ({edited.id}): refused: it changed in Datadog since the plan was made"
        in output
    )
    assert "Apply: 2 done, 1 failed" in output
    after = {m.id: m for m in api.list_monitors()}
    assert after[edited.id].name == "svc0001 latency (tuned during an incident)"
    assert after[edited.id].options.thresholds.critical == 2.0
    others = [after[by_name[f"svc000{i} latency"].id] for i in (0, 2)]
    assert [m.options.thresholds.critical for m in others] == [4.0, 4.0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p | {"format_version": 99}, "plan format_version 99"),
        (lambda p: p | {"namespace": "payments"}, "planned for namespace 'payments'"),
        (lambda p: p | {"environment": "staging"}, "unknown environment 'staging'"),
        (
            lambda p: p | {"target": "https://api.datadoghq.eu"},
            "was planned against https://api.datadoghq.eu",
        ),
        (lambda p: {k: v for k, v in p.items() if k != "target"}, "made by an older provisioner"),
    ],
)
def test_a_saved_plan_made_elsewhere_is_refused_before_any_request(
    cli: Cli, project: Path, org: RunningEmulator, edit: object, message: str
) -> None:
    write_monitors(project / "monitors", 1)
    assert cli("plan", "monitors", "--save-plan", "plan.json")[0] == 0
    plan = json.loads((project / "plan.json").read_text())
    (project / "plan.json").write_text(json.dumps(edit(plan)))  # type: ignore[operator]
    org.admin.reset_log()
    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1 and message in output, output
    assert org.admin.request_counts() == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--out", "missing/plan.md"), "--out missing/plan.md: cannot write it (No such file or directory)"),
        (("--save-plan", "missing/plan.json"), "--save-plan missing/plan.json: cannot write it"),
        (("--save-plan", "."), "--save-plan .: cannot replace it"),
    ],
)
def test_a_plan_file_that_cannot_be_written_is_a_usage_error(
    cli: Cli, project: Path, org: RunningEmulator, args: tuple[str, ...], message: str
) -> None:
    write_monitors(project / "monitors", 1)
    code, output = cli("plan", "monitors", "--no-metric-check", *args)
    assert code == 1, output
    assert message in output and "hint: name a file in a folder" in output


@pytest.mark.parametrize("failure", ["invalid definitions", "Datadog rejects a monitor"])
def test_a_failed_plan_leaves_no_older_saved_plan_behind(
    cli: Cli, project: Path, org: RunningEmulator, failure: str
) -> None:
    write_monitors(project / "monitors", 1)
    assert cli("plan", "monitors", "--save-plan", "plan.json")[0] == 0
    if failure == "invalid definitions":
        (project / "monitors" / "broken.yaml").write_text("kind: monitor\nid: broken\n")
    else:
        org.admin.set_faults(
            rules=[FaultRule("error", method="POST", path="/api/v1/monitor/validate", status=400)]
        )
    code, output = cli("plan", "monitors", "--save-plan", "plan.json")
    assert code == 1, output
    assert not (project / "plan.json").exists()


ERROR_RATE = """\
kind: error-rate
id: mesh-error-rate
name: "[mesh] checkout 5xx ratio"
source: istio
scope: ["destination_service_name:checkout"]
thresholds: {{critical: 2%, warning: 1%}}
message: "{message} @slack-mesh"
"""


def test_a_saved_plan_changing_a_composite_alone_finds_the_ids_of_its_parts_in_the_org(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    (project / "monitors").mkdir()
    definition = project / "monitors" / "errors.yaml"
    definition.write_text(ERROR_RATE.format(message="checkout fails."))
    assert cli("apply", "monitors")[0] == 0
    definition.write_text(ERROR_RATE.format(message="checkout fails: see the runbook."))
    code, plan = cli.json(
        "plan", "monitors", "--format", "json", "--save-plan", "plan.json", "--detailed-exitcode"
    )
    assert code == 2
    assert [(c["action"], c["definition_id"]) for c in plan["changes"]] == [("update", "mesh-error-rate")]

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 0, output
    assert "Apply: 1 done, 0 failed" in output
    assert cli("plan", "monitors", "--detailed-exitcode")[0] == 0


def test_a_saved_repair_is_refused_when_the_copy_it_keeps_is_gone(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    write_monitors(project / "monitors", 1)
    (spec,) = load_definitions([project / "monitors"], Environment(name="default")).monitors
    body = marked_monitor_body(spec, "default")
    (older,) = org.admin.seed_monitors([body])
    (newer,) = org.admin.seed_monitors([body])
    code, plan = cli.json("plan", "monitors", "--format", "json", "--save-plan", "plan.json")
    assert [(c["action"], c["datadog_id"], c["kept_datadog_id"]) for c in plan["changes"]] == [
        ("repair", newer, older)
    ]
    MonitorsApi(ApiClient(_configuration(org))).delete_monitor(older)  # by hand, after the review

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1, output
    assert f"refused: the copy that was to stay, {older}, is no longer in Datadog" in output
    assert copies_by_definition(org) == Counter({"svc0000": 1})  # the last copy is still there


LOG_ALERT = """\
kind: monitor
id: checkout-logs
name: checkout errors in logs
type: log alert
query: logs("service:checkout status:error").index("*").rollup("count").last("5m")
message: Checkout logs errors. @slack-mesh-oncall
options:
  thresholds: {critical: 10}
"""  # local validation accepts it; Datadog answers 400 (no comparator, no threshold)


def test_a_saved_plan_made_without_remote_validation_is_validated_before_it_is_applied(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    write_monitors(project / "monitors", 2)
    (project / "monitors" / "logs.yaml").write_text(LOG_ALERT)
    code, output = cli("plan", "monitors", "--no-remote-validate", "--save-plan", "plan.json")
    assert code == 0, output
    assert json.loads((project / "plan.json").read_text())["remote_validation"]["status"] == "skipped"

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1, output
    assert "asking now" in output and "Datadog rejects monitor 'checkout-logs'" in output
    assert "Nothing was written to Datadog." in output
    assert copies_by_definition(org) == Counter()

    (project / "monitors" / "logs.yaml").unlink()
    assert cli("plan", "monitors", "--no-remote-validate", "--save-plan", "plan.json")[0] == 0
    code, output = cli("apply", "--plan", "plan.json")
    assert code == 0 and "Datadog accepts all 2 monitors" in output, output


def test_a_plan_datadog_rejected_is_never_applied(cli: Cli, project: Path, org: RunningEmulator) -> None:
    write_monitors(project / "monitors", 1)
    (project / "monitors" / "logs.yaml").write_text(LOG_ALERT)
    code, _ = cli("plan", "monitors", "--format", "json", "--out", "plan.json")
    assert (
        code == 1
        and json.loads((project / "plan.json").read_text())["remote_validation"]["status"] == "rejected"
    )
    org.admin.reset_log()
    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1 and "Datadog rejected monitors of this plan when it was made" in output, output
    assert org.admin.request_counts() == {}


def test_a_saved_plan_has_datadog_judge_at_apply_what_it_could_not_judge_at_plan(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    """The sync workflow plans with a read key that may not validate log monitors (403), and applies with
    the write key: the monitors Datadog did not judge are asked about before the first write."""
    write_monitors(project / "monitors", 2)
    (project / "monitors" / "logs.yaml").write_text(LOG_ALERT)
    org.admin.set_faults(
        rules=[FaultRule("error", method="POST", path="/api/v1/monitor/validate", status=403)]
    )
    code, output = cli("plan", "monitors", "--save-plan", "plan.json")
    assert code == 0 and "warning: Datadog refused to validate 3 monitors" in output, output
    org.admin.clear_faults()

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1, output
    assert "Datadog could not judge 3 of the plan's monitors when it was made: asking now." in output
    assert "Datadog rejects monitor 'checkout-logs'" in output and "Nothing was written to Datadog." in output
    assert copies_by_definition(org) == Counter()


DASHBOARD = """\
kind: dashboard
id: mesh-board
title: Mesh
widgets:
  - {type: query_value, title: Errors, query: "sum:trace.envoy.proxy.errors{*}.as_count()", aggregator: sum}
"""


def _written(org: RunningEmulator) -> dict[str, int]:
    return {
        e: n
        for e, n in org.admin.request_counts().items()
        if not e.startswith(("GET", "POST /api/v1/monitor/validate"))
    }


def test_a_saved_plan_applied_again_finds_it_applied_and_sends_nothing(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    """The sync job re-run after it succeeded: every change (composites included) is in Datadog as planned."""
    write_monitors(project / "monitors", 2)
    (project / "monitors" / "errors.yaml").write_text(ERROR_RATE.format(message="checkout fails."))
    (project / "monitors" / "board.yaml").write_text(DASHBOARD)
    assert cli("plan", "monitors", "--save-plan", "plan.json")[0] == 0
    code, output = cli("apply", "--plan", "plan.json")
    assert code == 0 and "Apply: 6 done, 0 failed" in output, output
    org.admin.reset_log()

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 0, output
    assert "note: the saved plan was already applied: Datadog has all 6 of its changes" in output
    assert "Apply: 0 done, 0 failed, 6 skipped." in output and "refused" not in output
    assert _written(org) == {}


def test_a_saved_plan_applied_again_after_a_failure_carries_out_what_is_left(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    """The sync job re-run after one write failed: what was applied is not sent again, the rest is."""
    ids = write_monitors(project / "monitors", 3)
    assert cli("plan", "monitors", "--save-plan", "plan.json")[0] == 0
    org.admin.set_faults(
        rules=[FaultRule("error", method="POST", path="/api/v1/monitor", count=1, status=400)]
    )
    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1 and "Apply: 2 done, 1 failed" in output, output
    org.admin.clear_faults()
    org.admin.reset_log()

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 0, output
    assert (
        "note: 2 planned changes were already applied (an earlier run of this plan); not sent again" in output
    )
    assert "Apply: 1 done, 0 failed, 2 skipped." in output
    assert _written(org) == {"POST /api/v1/monitor": 1}
    assert copies_by_definition(org) == Counter(ids)


def test_a_saved_plan_applied_again_refuses_what_was_edited_since_and_says_plan_again(
    cli: Cli, project: Path, org: RunningEmulator
) -> None:
    write_monitors(project / "monitors", 2)
    assert cli("plan", "monitors", "--save-plan", "plan.json")[0] == 0
    assert cli("apply", "--plan", "plan.json")[0] == 0
    edited = rename_by_hand(org, "svc0001 latency", "svc0001 latency (tuned)")
    refused = (
        f"✗ create   monitor svc0001: refused: {edited.id} was created in Datadog since the plan was made"
    )

    code, output = cli("apply", "--plan", "plan.json")
    assert code == 1 and refused in output, output
    assert "Apply: 0 done, 1 failed, 1 skipped. Plan again" in output
    assert "note: 1 planned change was refused: Datadog changed since the plan was made; plan again" in output
    assert "1 planned change was already applied (an earlier run of this plan)" in output
    assert "Run apply again" not in output
