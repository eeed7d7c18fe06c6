"""Fault injection: latency, 5xx, 429 bursts, commit-then-fail, dropped connections, slow answers.

Rules are matched in order against the method and the path (a glob on the raw path or on the path
template, e.g. ``/api/v1/monitor/*`` or ``/api/v1/monitor/{id}``). A rule with ``count`` fires on exactly
the next ``count`` matching requests (deterministic); without ``count`` it fires on a ``rate`` share of
them, drawn from a generator seeded with the emulator's seed (repeatable for one client).

Kinds:
- ``delay``: add ``delay_ms`` (+ up to ``jitter_ms``) before the answer is sent, after the request ran;
  with a delay above the client's timeout the write is stored but the client times out.
- ``error``: answer ``status`` (default 503) without running the request.
- ``throttle``: answer 429 with ``x-ratelimit-*`` headers (``reset_s``) without running the request.
- ``drop``: close the connection without an answer, without running the request.
- ``commit_then_error``: run (and store) the request, then answer ``status`` instead.
- ``commit_then_reset``: run (and store) the request, then reset the connection (TCP RST), no answer.
- ``commit_then_truncate``: run (and store) the request, then send only the first half of its answer's
  body (status and Content-Length match the cut body, as a proxy that re-frames a cut stream would).
- ``commit_then_empty``: run (and store) the request, then answer 200 with an empty body.
- ``commit_then_html``: run (and store) the request, then answer ``status`` (default 503; a load
  balancer's 502 is ``status: 502``) with an HTML error page, as a proxy in front of Datadog does.
Every matching ``delay`` rule adds up; the first other rule that fires decides the outcome.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from provisioner.emulator.http_types import ApiResponse, reason_phrase

FAULT_KINDS = (
    "delay",
    "error",
    "throttle",
    "drop",
    "commit_then_error",
    "commit_then_reset",
    "commit_then_truncate",
    "commit_then_empty",
    "commit_then_html",
)
BEFORE_RUNNING = frozenset({"error", "throttle", "drop"})
AFTER_COMMIT = frozenset({"commit_then_error", "commit_then_reset"})
CORRUPTING = frozenset({"commit_then_truncate", "commit_then_empty", "commit_then_html"})

_HTML_ERROR_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center>"
    "<hr><center>nginx</center></body></html>"
)


class FaultConfigError(ValueError):
    """A fault configuration that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class FaultRule:
    kind: str
    method: str = "*"
    path: str = "*"
    count: int | None = None
    rate: float = 1.0
    status: int = 503
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    reset_s: int = 1

    def matches(self, method: str, path: str, template: str) -> bool:
        if self.method != "*" and self.method.upper() != method:
            return False
        return fnmatchcase(path, self.path) or fnmatchcase(template, self.path)


@dataclass(frozen=True)
class FaultConfig:
    latency_ms: float = 0.0  # added to every API request
    jitter_ms: float = 0.0  # plus a uniform share of this
    rules: tuple[FaultRule, ...] = ()
    seed: int | None = None  # reseeds the fault generator when the config is applied


@dataclass(frozen=True)
class FaultPlan:
    delay_s: float = 0.0
    rule: FaultRule | None = None  # the fault that decides the outcome, if any


class FaultInjector:
    def __init__(self, seed: int, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self._config = FaultConfig()
        self._remaining: list[int | None] = []
        self.configure(config)

    def configure(self, config: FaultConfig | None) -> None:
        """Replace every rule; deterministic counts start afresh."""
        with self._lock:
            self._config = config or FaultConfig()
            self._remaining = [rule.count for rule in self._config.rules]
            if config is not None and config.seed is not None:
                self._rng = random.Random(config.seed)

    def current(self) -> FaultConfig:
        return self._config

    def plan(self, method: str, path: str, template: str) -> FaultPlan:
        with self._lock:
            config = self._config
            delay_ms = (
                config.latency_ms + config.jitter_ms * self._rng.random()
                if config.latency_ms or config.jitter_ms
                else 0.0
            )
            decisive: FaultRule | None = None
            for index, rule in enumerate(config.rules):
                if (rule.kind != "delay" and decisive is not None) or not rule.matches(
                    method, path, template
                ):
                    continue
                if not self._fires(index, rule):
                    continue
                if rule.kind == "delay":
                    delay_ms += rule.delay_ms + rule.jitter_ms * self._rng.random()
                else:
                    decisive = rule
            return FaultPlan(delay_ms / 1000.0, decisive)

    def _fires(self, index: int, rule: FaultRule) -> bool:
        remaining = self._remaining[index]
        if remaining is not None:
            if remaining <= 0:
                return False
            self._remaining[index] = remaining - 1
            return True
        return self._rng.random() < rule.rate


def corrupted(rule: FaultRule, answer: ApiResponse) -> ApiResponse:
    """The answer a ``CORRUPTING`` rule sends instead of ``answer`` (whose request already ran)."""
    if rule.kind == "commit_then_truncate":
        return ApiResponse(
            answer.status, answer.body[: len(answer.body) // 2], answer.content_type, answer.headers
        )
    if rule.kind == "commit_then_empty":
        return ApiResponse(200, b"", answer.content_type, answer.headers)
    page = _HTML_ERROR_PAGE.format(status=rule.status, reason=reason_phrase(rule.status))
    return ApiResponse(rule.status, page.encode(), "text/html")


# -- (de)serialisation: admin endpoint bodies and --faults files ----------------------------------


def fault_config_to_dict(config: FaultConfig) -> dict[str, Any]:
    data = asdict(config)
    data["rules"] = [asdict(rule) for rule in config.rules]
    return data


def fault_config_from_dict(data: Any, source: str = "fault config") -> FaultConfig:
    if not isinstance(data, Mapping):
        raise FaultConfigError(f"{source}: expected a mapping with latency_ms, jitter_ms, rules, seed")
    _reject_unknown(data, FaultConfig, source)
    rules = data.get("rules") or []
    if not isinstance(rules, list):
        raise FaultConfigError(f"{source}: 'rules' must be a list")
    return FaultConfig(
        latency_ms=_number(data, "latency_ms", 0.0, source),
        jitter_ms=_number(data, "jitter_ms", 0.0, source),
        rules=tuple(_rule(rule, f"{source}: rules[{index}]") for index, rule in enumerate(rules)),
        seed=None if data.get("seed") is None else int(_number(data, "seed", 0, source)),
    )


def load_fault_config(path: Path) -> FaultConfig:
    """A ``--faults`` file, JSON or YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FaultConfigError(f"{path}: cannot read the fault config ({exc.strerror})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise FaultConfigError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    return fault_config_from_dict(data or {}, str(path))


def _rule(data: Any, source: str) -> FaultRule:
    if not isinstance(data, Mapping):
        raise FaultConfigError(f"{source}: expected a mapping")
    _reject_unknown(data, FaultRule, source)
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultConfigError(f"{source}: 'kind' must be one of {', '.join(FAULT_KINDS)} (got {kind!r})")
    rule = FaultRule(
        kind=kind,
        method=str(data.get("method", "*")),
        path=str(data.get("path", "*")),
        count=None if data.get("count") is None else int(_number(data, "count", 0, source)),
        rate=_number(data, "rate", 1.0, source),
        status=int(_number(data, "status", 503, source)),
        delay_ms=_number(data, "delay_ms", 0.0, source),
        jitter_ms=_number(data, "jitter_ms", 0.0, source),
        reset_s=int(_number(data, "reset_s", 1, source)),
    )
    _check_ranges(rule, source)
    return rule


def _check_ranges(rule: FaultRule, source: str) -> None:
    if not 0.0 <= rule.rate <= 1.0:
        raise FaultConfigError(f"{source}: 'rate' must be between 0 and 1 (got {rule.rate})")
    if rule.count is not None and rule.count < 0:
        raise FaultConfigError(f"{source}: 'count' must be 0 or more (got {rule.count})")
    if not 400 <= rule.status <= 599:
        raise FaultConfigError(
            f"{source}: 'status' must be an HTTP error status, 400-599 (got {rule.status})"
        )
    if min(rule.delay_ms, rule.jitter_ms, rule.reset_s) < 0:
        raise FaultConfigError(f"{source}: delay_ms, jitter_ms and reset_s must not be negative")


def _number(data: Mapping[str, Any], name: str, default: float, source: str) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultConfigError(f"{source}: '{name}' must be a number (got {value!r})")
    return float(value)


def _reject_unknown(data: Mapping[str, Any], shape: type, source: str) -> None:
    known = {field.name for field in fields(shape)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise FaultConfigError(
            f"{source}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
