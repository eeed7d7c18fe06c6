"""The request pipeline, independent of the HTTP transport:
route -> fault plan -> keys -> rate limit -> handler -> after-commit fault -> request log."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl

from provisioner.emulator.auth import KeyChecker
from provisioner.emulator.clock import Clock
from provisioner.emulator.config import EmulatorConfig
from provisioner.emulator.encoding import decode_body
from provisioner.emulator.evaluation.scheduler import Evaluator, Ticker
from provisioner.emulator.faults import (
    AFTER_COMMIT,
    BEFORE_RUNNING,
    CORRUPTING,
    FaultInjector,
    FaultPlan,
    FaultRule,
    corrupted,
)
from provisioner.emulator.http_types import (
    ApiError,
    ApiRequest,
    ApiResponse,
    encode_json,
    error_response,
    reason_phrase,
)
from provisioner.emulator.org import Org
from provisioner.emulator.ratelimit import RateLimiter, effective_limits
from provisioner.emulator.requestlog import RequestLog, RequestLogEntry, redact_query
from provisioner.emulator.routes import UNMATCHED, RouteMatch, resolve
from provisioner.emulator.state import StateKeeper

_HTML_429 = (
    b"<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"
)


@dataclass(frozen=True)
class Outcome:
    """What the transport does: send ``response`` (None: close without answering) after ``delay_s``."""

    response: ApiResponse | None
    delay_s: float = 0.0
    reset: bool = False  # close with a TCP reset rather than a clean close
    fault: str | None = None


class EmulatorApp:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock = Clock(config.clock, config.clock_start_s)
        self.org = Org(config.seed, config.identity, self.clock, config.metric_limits)
        self.org.monitors.duplicate_window_s = config.duplicate_window_s
        self.org.intake.accept_any_timestamp = config.accept_any_timestamp
        self.faults = FaultInjector(config.seed, config.faults)
        self.limiter = RateLimiter(
            effective_limits(config.rate_limit_overrides) if config.rate_limits else {}
        )
        self.keys = KeyChecker(config.api_keys, config.app_keys)
        self.log = RequestLog()
        self.state_writer: StateKeeper | None = None
        if config.state_path is not None:
            self.state_writer = StateKeeper(config.state_path, self.org, config.state_compact_after_bytes)
            self.state_writer.load()
        self.evaluator = Evaluator(self.org, self.clock)  # after the load: it starts at the stored clock
        self._ticker = Ticker(self.evaluator, self.clock) if self.clock.mode == "realtime" else None

    def start(self) -> None:
        """Called once the server listens. (The state's compactor starts with the first write.)"""
        if self._ticker is not None:
            self._ticker.start()

    def stop(self) -> None:
        """Stop evaluating, then compact what this process wrote into the state file (when kept)."""
        if self._ticker is not None:
            self._ticker.stop()
        if self.state_writer is not None:
            self.state_writer.stop()

    def handle_api(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Outcome:
        started = time.perf_counter()
        match = resolve(method, path)
        template = match.route.template if match else UNMATCHED
        plan = self.faults.plan(method, path, template)
        outcome = self._outcome(plan, match, method, path, query, headers, body)
        status = None if outcome.response is None else outcome.response.status
        elapsed_ms = (time.perf_counter() - started) * 1000 + outcome.delay_s * 1000
        self.log.record(
            RequestLogEntry(
                method, path, template, redact_query(query), status, outcome.fault, round(elapsed_ms, 3)
            )
        )
        return outcome

    def _outcome(
        self,
        plan: FaultPlan,
        match: RouteMatch | None,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Outcome:
        rule = plan.rule
        bucket = match.route.bucket if match else None
        if rule is not None and rule.kind in BEFORE_RUNNING:
            return self._injected(rule, bucket, plan.delay_s)
        if match is None:
            response = error_response(ApiError(404, {"errors": ["Not found"]}))
        else:
            request = ApiRequest(
                method, path, match.route.template, match.path_params, _query(query), headers, body
            )
            response = self._run(match, request)
        if rule is not None and rule.kind in AFTER_COMMIT:
            return self._injected(rule, bucket, plan.delay_s)
        if rule is not None and rule.kind in CORRUPTING:
            return Outcome(corrupted(rule, response), plan.delay_s, fault=rule.kind)
        return Outcome(response, plan.delay_s)

    def _run(self, match: RouteMatch, request: ApiRequest) -> ApiResponse:
        rate_headers: tuple[tuple[str, str], ...] = ()
        try:
            self.keys.check(match.route.auth, request.headers)
            if match.route.bucket is not None:
                decision = self.limiter.take(match.route.bucket)
                rate_headers = decision.headers
                if not decision.allowed:
                    return self._too_many_requests(rate_headers)
            encoding = request.headers.get("content-encoding", "")
            request = replace(request, body=decode_body(request.body, encoding, match.route.body_limits))
            self.org.refresh()  # see what other processes sharing the state file wrote
            response = match.route.handler(self.org, request)
        except ApiError as error:
            response = error_response(error)
        return response.with_headers(rate_headers)

    def _injected(self, rule: FaultRule, bucket: str | None, delay_s: float) -> Outcome:
        if rule.kind == "drop":
            return Outcome(None, delay_s, fault=rule.kind)
        if rule.kind == "commit_then_reset":
            return Outcome(None, delay_s, reset=True, fault=rule.kind)
        if rule.kind == "throttle":
            headers = self.limiter.exhausted_headers(bucket) or _throttle_headers(rule)
            headers = tuple(
                (k, str(rule.reset_s)) if k == "x-ratelimit-reset" else (k, v) for k, v in headers
            )
            return Outcome(self._too_many_requests(headers), delay_s, fault=rule.kind)
        body = encode_json({"errors": [reason_phrase(rule.status)]})
        return Outcome(ApiResponse(rule.status, body), delay_s, fault=rule.kind)

    def _too_many_requests(self, headers: tuple[tuple[str, str], ...]) -> ApiResponse:
        body_kind = self.config.rate_limit_body
        if body_kind == "html":
            return ApiResponse(429, _HTML_429, "text/html; charset=utf-8", headers)
        body = encode_json({"errors": ["Too many requests"]}) if body_kind == "json" else b""
        return ApiResponse(429, body, headers=headers)


def _throttle_headers(rule: FaultRule) -> tuple[tuple[str, str], ...]:
    return (
        ("x-ratelimit-limit", "0"),
        ("x-ratelimit-period", str(max(1, rule.reset_s))),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", str(rule.reset_s)),
    )


def _query(raw: str) -> dict[str, str]:
    return dict(parse_qsl(raw, keep_blank_values=True))
