"""One deadline per command, and pacing at Datadog's rate limits shared by every worker of a client.

Datadog answers every rate-limited request with ``x-ratelimit-limit``, ``-period``, ``-remaining``,
``-reset`` (seconds until the calendar-aligned window ends) and usually ``-name`` (the bucket,
e.g. ``post_monitors``; see shared/reference/datadog-api-facts.md, section e). ``RateGate`` learns
each bucket from those headers and paces every request through it:

- a worker may send while the bucket has requests left in the current window (our estimate counts
  every request we sent, and takes the server's ``remaining`` when that is lower, e.g. because
  another client shares the bucket);
- when the bucket is empty (we used it up, the server said ``remaining: 0``, or answered 429) every
  worker on it holds until the window ends: one wait for all, reported once;
- the window's end is known to well under a second: ``reset`` is rounded up to whole seconds, so
  each answer bounds the end from both sides, and the bounds of all answers in a window intersect.

So a run at the limit sends exactly what the window allows and steady state meets no 429. Buckets
are keyed by ``x-ratelimit-name``, or by the endpoint until an answer names its bucket.

Waits are wall-clock time charged against the command's ``Deadline``; a wait that would end after
it is refused at once (``NotSentError``) rather than slept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from provisioner.errors import NotSentError

Clock = Callable[[], float]

_NO_HEADER_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 10.0)  # a 429 that does not say when to come back
_UNKNOWN_END_POLL_S = 0.05  # bucket empty, end not known yet: wait for the next answer


class Deadline:
    """The wall-clock limit of one command: requests, retries and rate-limit waits all count.

    An explicit ``--timeout`` is fixed. The default grows with the work: apply extends it by what
    its writes need once it knows how many it will send."""

    def __init__(self, seconds: float, explicit: bool = False, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self.seconds = seconds
        self.explicit = explicit

    def remaining(self) -> float:
        return self._started + self.seconds - self._clock()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def extend(self, seconds: float) -> None:
        if not self.explicit:
            self.seconds += seconds

    def describe(self) -> str:
        if self.explicit:
            return f"the --timeout of {self.seconds:.0f} s"
        return f"the default timeout of {self.seconds:.0f} s (set another with --timeout)"


@dataclass(frozen=True)
class RateLimitWait:
    """Every worker on ``bucket`` holds for ``seconds``, until its window resets."""

    bucket: str
    seconds: float


@dataclass(frozen=True)
class RateHeaders:
    name: str | None = None
    limit: int | None = None
    period: int | None = None
    remaining: int | None = None
    reset: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateHeaders:
        lower = {str(k).lower(): str(v) for k, v in headers.items()}
        return cls(
            name=lower.get("x-ratelimit-name") or None,
            limit=_int(lower.get("x-ratelimit-limit")),
            period=_int(lower.get("x-ratelimit-period")),
            remaining=_int(lower.get("x-ratelimit-remaining")),
            reset=_int(lower.get("x-ratelimit-reset")),
        )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class _Bucket:
    """What we know of one bucket's current window."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.period: int | None = None
        self.remaining: int | None = None  # None: unknown, send and learn
        self.window_end: float | None = None  # the latest moment the current window can end
        self.floor = float("-inf")  # answers to requests sent before this describe windows already over
        self.window = 0  # counts windows, so that each hold is reported once
        self.reported = -1
        self.backoffs = 0

    def take(self, now: float) -> float:
        """Spend one request (0.0) or say how long to hold."""
        if self.window_end is not None and now >= self.window_end:
            self._roll()
        if self.remaining is None or self.remaining > 0:
            if self.remaining is not None:
                self.remaining -= 1
            return 0.0
        if self.window_end is None:
            return _UNKNOWN_END_POLL_S
        return self.window_end - now

    def _roll(self) -> None:
        assert self.window_end is not None
        self.floor = self.window_end
        self.window_end = self.window_end + self.period if self.period else None
        self.remaining = self.limit or None  # a limit of 0 (seen on injected 429s) says nothing
        self.window += 1

    def observe(self, sent_at: float, received_at: float, rate: RateHeaders, throttled: bool) -> None:
        assert rate.reset is not None
        # The server computed reset = ceil(end - t) at some t between sending and receiving.
        latest_end = received_at + rate.reset
        earliest_end = sent_at + rate.reset - 1
        if earliest_end < self.floor:
            return  # the answer describes a window that is already over
        self.limit = rate.limit if rate.limit is not None else self.limit
        self.period = rate.period if rate.period else self.period
        if self.window_end is None or earliest_end >= self.window_end:
            if self.window_end is not None:  # a later window than the one we were counting in
                self.floor = self.window_end
                self.remaining = None
                self.window += 1
            self.window_end = latest_end
        else:
            self.window_end = min(self.window_end, latest_end)
        if rate.remaining is not None:
            self.remaining = rate.remaining if self.remaining is None else min(self.remaining, rate.remaining)
        if throttled:
            self.remaining = 0
        self.backoffs = 0

    def hold_without_reset(self, received_at: float) -> None:
        """A 429 that does not say when the window ends: back off, longer each time."""
        delay = _NO_HEADER_BACKOFF_S[min(self.backoffs, len(_NO_HEADER_BACKOFF_S) - 1)]
        self.backoffs += 1
        self.remaining = 0
        self.floor = received_at
        self.window_end = max(self.window_end or 0.0, received_at + delay)
        self.window += 1


class RateGate:
    """Paces the requests of every worker of one client (see the module docstring)."""

    def __init__(
        self, clock: Clock = time.monotonic, on_wait: Callable[[RateLimitWait], None] | None = None
    ) -> None:
        self._clock = clock
        self._on_wait = on_wait or (lambda _wait: None)
        self._changed = threading.Condition()
        self._buckets: dict[str, _Bucket] = {}
        self._bucket_of: dict[str, str] = {}  # endpoint -> the bucket its answers named
        self._cancelled = ""

    def wait_turn(self, endpoint: str, deadline: Deadline) -> None:
        """Block until ``endpoint``'s bucket lets one more request go, then count it as sent."""
        with self._changed:
            while True:
                if self._cancelled:
                    raise NotSentError(f"not sent: {self._cancelled}")
                hold = self.take(endpoint, self._clock())
                if hold <= 0:
                    return
                name = self._bucket_of.get(endpoint, endpoint)
                if hold > deadline.remaining():
                    raise NotSentError(
                        f"not sent: rate limit {name} is used up for {hold:.0f} s more, "
                        f"longer than what is left of {deadline.describe()}",
                        hint="run again with a longer --timeout, or later",
                    )
                self._report(name, hold)
                self._changed.wait(hold)

    def take(self, endpoint: str, now: float) -> float:
        """Count one request against ``endpoint``'s bucket (0.0), or say how long it must hold."""
        bucket = self._buckets.get(self._bucket_of.get(endpoint, endpoint))
        return 0.0 if bucket is None else bucket.take(now)

    def learn(
        self,
        endpoint: str,
        sent_at: float,
        received_at: float,
        status: int | None,
        headers: Mapping[str, str],
    ) -> None:
        """Take in what one answer says about its bucket."""
        rate = RateHeaders.parse(headers)
        throttled = status == 429
        with self._changed:
            name = rate.name or self._bucket_of.get(endpoint, endpoint)
            self._bucket_of[endpoint] = name
            if rate.reset is None and not throttled:
                return
            bucket = self._buckets.setdefault(name, _Bucket())
            if rate.reset is None:
                bucket.hold_without_reset(received_at)
            else:
                bucket.observe(sent_at, received_at, rate, throttled)
            self._changed.notify_all()

    def cancel(self, reason: str) -> None:
        """Wake every waiting worker; none sends again (after an interrupt)."""
        with self._changed:
            self._cancelled = reason
            self._changed.notify_all()

    def _report(self, name: str, hold: float) -> None:
        bucket = self._buckets[name]
        if bucket.reported != bucket.window and hold >= 0.5:
            bucket.reported = bucket.window
            self._on_wait(RateLimitWait(name, hold))
