"""The request log the admin endpoint serves: no header values, and key-like query parameters redacted."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from provisioner.emulator.auth import SECRET_QUERY_PARAMS

MAX_ENTRIES = 100_000
REDACTED = "REDACTED"


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    path: str  # as requested, without the query string
    template: str  # e.g. "/api/v1/monitor/{id}"
    query: str  # redacted
    status: int | None  # None when the connection was dropped without an answer
    fault: str | None  # the injected fault, if any
    duration_ms: float

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.template}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestLogEntry:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(key, REDACTED if key.lower() in SECRET_QUERY_PARAMS else value) for key, value in pairs]
    )


class RequestLog:
    """The last ``MAX_ENTRIES`` requests, and counts by endpoint since the last reset."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestLogEntry] = deque(maxlen=max_entries)
        self._counts: Counter[str] = Counter()

    def record(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._counts[entry.endpoint] += 1

    def entries(self) -> list[RequestLogEntry]:
        with self._lock:
            return list(self._entries)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counts.clear()
