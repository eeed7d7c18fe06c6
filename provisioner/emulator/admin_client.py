"""``EmulatorAdmin``: a stdlib (urllib) client of the admin endpoint, usable against any emulator URL."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable
from typing import Any

from provisioner.emulator.faults import FaultConfig, FaultRule, fault_config_from_dict, fault_config_to_dict
from provisioner.emulator.requestlog import RequestLogEntry


class EmulatorAdmin:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def set_faults(
        self,
        faults: FaultConfig | None = None,
        *,
        rules: Iterable[FaultRule] = (),
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """Replace the fault config: pass a ``FaultConfig``, or its parts as keywords."""
        config = faults or FaultConfig(
            latency_ms=latency_ms, jitter_ms=jitter_ms, rules=tuple(rules), seed=seed
        )
        self._call("PUT", "/faults", fault_config_to_dict(config))

    def faults(self) -> FaultConfig:
        return fault_config_from_dict(self._call("GET", "/faults"))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def request_log(self) -> list[RequestLogEntry]:
        return [RequestLogEntry.from_dict(item) for item in self._call("GET", "/requests")["requests"]]

    def request_counts(self) -> dict[str, int]:
        """Requests by endpoint since the last reset, e.g. ``{"PUT /api/v1/monitor/{id}": 3}``."""
        return dict(self._call("GET", "/counts")["counts"])

    def reset_log(self) -> None:
        self._call("DELETE", "/requests")

    def wipe(self) -> None:
        """Delete every monitor and dashboard of the org."""
        self._call("POST", "/wipe")

    def set_duplicate_window(self, seconds: float | None) -> None:
        """Answer a create identical to one made within ``seconds`` with 400 "Duplicate of ..."; None: off."""
        self._call("PUT", "/settings", {"duplicate_window_s": seconds})

    def seed_monitors(self, bodies: list[dict[str, Any]]) -> list[int]:
        """Create monitors in bulk through the same rules as ``POST /api/v1/monitor``; returns their ids."""
        return list(self._call("POST", "/seed/monitors", bodies)["ids"])

    def flush_state(self) -> None:
        self._call("POST", "/flush")

    def accept_any_timestamp(self, accept: bool = True) -> None:
        """Keep submitted points outside [now - 1 h, now + 10 min] (backfilled test data)."""
        self._call("PUT", "/settings", {"accept_any_timestamp": accept})

    def clock(self) -> dict[str, Any]:
        """``{"now": epoch s, "iso": ..., "mode": "manual"|"realtime", "last_evaluated": epoch s}``."""
        return dict(self._call("GET", "/clock"))

    def set_clock(self, now_s: float) -> dict[str, Any]:
        """Move a manual clock to ``now_s``; every minute boundary passed is evaluated before this returns."""
        return dict(self._call("POST", "/clock", {"now": now_s}))

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move a manual clock forward; every minute boundary passed is evaluated before this returns."""
        return dict(self._call("POST", "/clock", {"advance_s": seconds}))

    def unevaluated(self) -> list[dict[str, Any]]:
        """Monitors the evaluator cannot evaluate (they keep "No Data"), each with its ``reason``."""
        return list(self._call("GET", "/unevaluated")["monitors"])

    def evaluations(self, monitor_id: int, limit: int | None = None) -> dict[str, Any]:
        """One monitor's ``last`` evaluation per group and its ``history`` (oldest first)."""
        query = f"?monitor_id={monitor_id}" + ("" if limit is None else f"&limit={limit}")
        found = self._call("GET", f"/evaluations{query}")["monitors"]
        if not found:
            raise KeyError(f"no monitor {monitor_id}")
        return dict(found[0])

    def metric_stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/metrics"))

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.base_url}/_emulator{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=self._timeout_s) as answer:
            return json.loads(answer.read() or b"null")
