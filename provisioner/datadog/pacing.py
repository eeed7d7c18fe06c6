"""One deadline per command, and pacing at Datadog's rate limits shared by every worker of a client.

Datadog answers every rate-limited request with ``x-ratelimit-limit``, ``-period``, ``-remaining``,
``-reset`` (seconds until the calendar-aligned window ends) and usually ``-name`` (the bucket,
e.g. ``post_monitors``; see shared/reference/datadog-api-facts.md, section e). ``RateGate`` learns
each bucket from those headers and paces every request through it:

- a worker may send while the bucket has requests left in the current window: the lowest
  ``remaining`` the server announced, minus our requests still in flight (another client sharing
  the bucket lowers it too);
- when the bucket is empty (used up, ``remaining: 0``, or a 429) every worker on it holds until the
  window ends: one wait for all, reported once;
- the window's end is known to milliseconds after a few windows: ``reset`` is rounded up to whole
  seconds, so each answer bounds the end from both sides, the bounds intersect, carry over from
  window to window (windows are calendar-aligned), and the window's last request is timed so
  that its answer halves what is left to know.

So a run at the limit sends exactly what the window allows and steady state meets no 429. Buckets
are keyed by ``x-ratelimit-name``, or by the endpoint until an answer names its bucket.

Waits are wall-clock time charged against the command's ``Deadline``; a wait that would end after
it is refused at once (``NotSentError``) rather than slept.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from provisioner.errors import NotSentError

Clock = Callable[[], float]

_NO_HEADER_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 10.0)  # a 429 that does not say when to come back
_UNKNOWN_END_POLL_S = 0.05  # bucket empty, end not known yet: wait for the next answer
_PROBE_PRECISION_S = 0.02  # how well a window's end is worth knowing


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
        return f"the default timeout of {self.seconds:.0f} s"


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
    """What we know of one bucket: its limit and period, what is left of the current window, and
    when that window ends.

    Left: the lowest ``remaining`` the server announced in the window, minus our requests still in
    flight (it may not have counted them yet); before any answer of the window, the limit minus
    what may already count in it. A request that was counted already and is still in flight is
    subtracted twice for a moment, so the estimate errs low and heals as answers arrive.

    The end is known as an interval (``earliest_end``, ``window_end``]: ``reset`` is whole seconds,
    so each answer bounds it from both sides, and answers of a window intersect. Windows are
    calendar-aligned, so the interval moves on by one period at each window and what was learned
    is kept. The window's last request is sent at a chosen moment (a probe) whenever that halves
    the interval, so after a few windows holds end within a few milliseconds of the real reset.
    (A 1-second period says nothing about its end: ``reset`` is always 1.)"""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.period: int | None = None
        self.server_remaining: int | None = None  # the lowest "remaining" announced in this window
        self.sent = 0  # requests that may count in this window (see _new_window)
        self.answer_ends: list[float] = []  # for each answer of this window, the latest its window can end
        self.earliest_end = -math.inf  # the current window ends after this...
        self.window_end: float | None = None  # ...and at the latest at this moment
        self.floor = -math.inf  # answers to requests sent before this describe windows already over
        self.window = 0  # counts windows, so that each hold is reported once
        self.reported = -1
        self.backoffs = 0

    def left(self, in_flight: int) -> int | None:
        if self.server_remaining is not None:
            return self.server_remaining - in_flight
        return self.limit - self.sent if self.limit else None

    def take(self, now: float, in_flight: int) -> float:
        """Spend one request (0.0) or say how long to hold."""
        if self.window_end is not None and now >= self.window_end:
            self._roll(in_flight)
        left = self.left(in_flight)
        if left == 1:
            probe_at = self._probe_time(now)
            if probe_at > now:
                return probe_at - now
        if left is None or left > 0:
            self.sent += 1
            return 0.0
        if self.window_end is None:
            return _UNKNOWN_END_POLL_S
        return self.window_end - now

    def _probe_time(self, now: float) -> float:
        """When to send the window's last request so that its answer halves the interval: sent at
        ``middle - k`` seconds (k whole), its ``reset`` says on which side of ``middle`` the end
        lies. 0.0 when the end is known well enough, or no such moment is left in this window."""
        if self.window_end is None or math.isinf(self.earliest_end):
            return 0.0
        if self.window_end - self.earliest_end <= _PROBE_PRECISION_S:
            return 0.0
        middle = (self.window_end + self.earliest_end) / 2
        probe_at = middle - math.floor(middle - now)
        return probe_at if probe_at < self.earliest_end else 0.0

    def _roll(self, in_flight: int) -> None:
        assert self.window_end is not None
        self._new_window(in_flight)
        if self.period:
            self.earliest_end += self.period
            self.window_end += self.period
        else:
            self.earliest_end, self.window_end = -math.inf, None

    def _new_window(self, in_flight: int) -> None:
        """Start counting a new window. What may already count in it: the requests still in flight,
        and those answered whose own answer does not rule out that the server handled them in the
        new window (their window may end as late as the new one)."""
        assert self.window_end is not None
        next_earliest = self.earliest_end + (self.period or 0)
        self.sent = in_flight + sum(1 for end in self.answer_ends if end > next_earliest)
        self.answer_ends = []
        self.server_remaining = None
        self.floor = self.window_end
        self.window += 1

    def observe(
        self, sent_at: float, received_at: float, rate: RateHeaders, in_flight: int, throttled: bool
    ) -> None:
        """Take in one answer (``in_flight``: our requests to the bucket still unanswered)."""
        assert rate.reset is not None
        # The server computed reset = ceil(end - t) at some t between sending and receiving.
        earliest, latest = sent_at + rate.reset - 1, received_at + rate.reset
        if earliest < self.floor:  # the answer describes a window that is already over, or cannot tell
            if self.server_remaining is not None:
                # It no longer counts as in flight, and its own "remaining" may describe the old window:
                # if the server counted it in this one, what we know of this window must still hold it.
                # Counted once more, the estimate errs low by at most one request.
                self.server_remaining -= 1
            return
        if rate.limit:  # a limit of 0 (seen on injected 429s) says nothing
            self.limit = rate.limit
        self.period = rate.period or self.period
        if self.period == 1:  # reset is always 1: answers cannot be told apart by window
            self.server_remaining = 0 if throttled else rate.remaining
            self.earliest_end, self.window_end = -math.inf, latest
            return
        if self.window_end is not None and earliest >= self.window_end:  # a later window than ours
            self._new_window(in_flight)
            shift = self.period or math.inf
            self.earliest_end, self.window_end = self.earliest_end + shift, self.window_end + shift
        self.answer_ends.append(latest)
        self.earliest_end = max(self.earliest_end, earliest)
        self.window_end = latest if self.window_end is None else min(self.window_end, latest)
        if self.earliest_end >= self.window_end:  # what we knew no longer fits: trust the answer
            self.earliest_end, self.window_end = earliest, latest
        announced = 0 if throttled else rate.remaining
        if announced is not None:
            lowest = self.server_remaining if self.server_remaining is not None else announced
            self.server_remaining = min(announced, lowest)
        self.backoffs = 0

    def hold_without_reset(self, received_at: float) -> None:
        """A 429 that does not say when the window ends: back off, longer each time."""
        delay = _NO_HEADER_BACKOFF_S[min(self.backoffs, len(_NO_HEADER_BACKOFF_S) - 1)]
        self.backoffs += 1
        self.server_remaining = 0
        self.floor = received_at
        self.earliest_end = -math.inf
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
        self._in_flight: dict[str, int] = {}  # endpoint -> requests sent and not answered yet
        self._cancelled = ""

    def wait_turn(self, endpoint: str, deadline: Deadline) -> None:
        """Block until ``endpoint``'s bucket lets one more request go, then count it as in flight
        (``learn`` must follow, answered or not)."""
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
        name = self._bucket_of.get(endpoint, endpoint)
        bucket = self._buckets.get(name)
        hold = 0.0 if bucket is None else bucket.take(now, self._in_flight_to(name))
        if hold <= 0:
            self._in_flight[endpoint] = self._in_flight.get(endpoint, 0) + 1
        return hold

    def learn(
        self,
        endpoint: str,
        sent_at: float,
        received_at: float,
        status: int | None,
        headers: Mapping[str, str],
    ) -> None:
        """One request sent through ``wait_turn`` ended; take in what its answer (if any: ``status``
        None and no headers when the connection failed) says about its bucket."""
        rate = RateHeaders.parse(headers)
        throttled = status == 429
        with self._changed:
            self._in_flight[endpoint] = max(0, self._in_flight.get(endpoint, 0) - 1)
            name = rate.name or self._bucket_of.get(endpoint, endpoint)
            self._bucket_of[endpoint] = name
            if rate.reset is not None or throttled:
                bucket = self._buckets.setdefault(name, _Bucket())
                if rate.reset is None:
                    bucket.hold_without_reset(received_at)
                else:
                    bucket.observe(sent_at, received_at, rate, self._in_flight_to(name), throttled)
            self._changed.notify_all()

    def cancel(self, reason: str) -> None:
        """Wake every waiting worker; none sends again (after an interrupt)."""
        with self._changed:
            self._cancelled = reason
            self._changed.notify_all()

    def _in_flight_to(self, name: str) -> int:
        return sum(
            n for endpoint, n in self._in_flight.items() if self._bucket_of.get(endpoint, endpoint) == name
        )

    def _report(self, name: str, hold: float) -> None:
        """Once per window, and only once no answer is outstanding (until then an empty estimate
        may be one that heals)."""
        bucket = self._buckets[name]
        in_flight = self._in_flight_to(name)
        left = bucket.left(in_flight)
        if (
            in_flight == 0
            and left is not None
            and left <= 0
            and bucket.reported != bucket.window
            and hold >= 0.5
        ):
            bucket.reported = bucket.window
            self._on_wait(RateLimitWait(name, hold))
