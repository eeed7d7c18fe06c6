"""The rate-limit gate against a simulated Datadog: calendar-aligned windows, ``x-ratelimit-*``
headers as recorded, latency both ways, a clock phase of its own. The clock is the only thing
simulated (the gate takes ``now`` and answer times as arguments); the real thing, over HTTP, is in
tests/commands/test_sync_conditions.py."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.datadog.pacing import Deadline, RateGate, RateHeaders
from provisioner.errors import NotSentError

ENDPOINT = "POST /api/v1/monitor"


@dataclass
class Server:
    """Datadog's limiter as recorded: ``limit`` per calendar-aligned ``period``; reset in whole seconds."""

    limit: int
    period: int
    phase: float  # server clock = simulated time + phase
    used: dict[int, int] = field(default_factory=dict)

    def answer(self, at: float) -> tuple[int, dict[str, str]]:
        server_time = at + self.phase
        window = math.floor(server_time / self.period)
        allowed = self.used.get(window, 0) < self.limit
        self.used[window] = self.used.get(window, 0) + allowed
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-period": str(self.period),
            "x-ratelimit-remaining": str(self.limit - self.used[window]),
            "x-ratelimit-reset": str(max(1, math.ceil((window + 1) * self.period - server_time))),
            "x-ratelimit-name": "post_monitors",
        }
        return (200 if allowed else 429), headers

    def ideal_finish(self, requests: int, workers: int, up: float, down: float) -> float:
        """When the last answer arrives for a client that knows the windows exactly: each worker
        sends as soon as its previous answer is in, timed to arrive just as a window opens when the
        current one is used up."""
        free_at = [0.0] * workers
        used: dict[int, int] = {}
        last = 0.0
        for _ in range(requests):
            arrive = heapq.heappop(free_at) + up
            window = math.floor((arrive + self.phase) / self.period)
            while used.get(window, 0) >= self.limit:
                window += 1
                arrive = window * self.period - self.phase
            used[window] = used.get(window, 0) + 1
            heapq.heappush(free_at, arrive + down)
            last = max(last, arrive + down)
        return last


def simulate(server: Server, requests: int, workers: int, up: float, down: float) -> tuple[float, int]:
    """Run ``workers`` workers through one gate until ``requests`` succeeded: (finish time, 429s)."""
    gate = RateGate()
    events: list[tuple[float, int, str, int, float]] = []  # (time, seq, kind, worker, sent_at)
    seq = 0

    def push(at: float, kind: str, worker: int, sent_at: float = 0.0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, worker, sent_at))

    for worker in range(workers):
        push(0.0, "try", worker)
    done = throttled = 0
    idle: set[int] = set()
    now = 0.0
    while done < requests:
        now, _, kind, worker, sent_at = heapq.heappop(events)
        if kind == "answer":
            status, headers = server.answer(sent_at + up)
            gate.learn(ENDPOINT, sent_at, now, status, headers)
            done += status == 200
            throttled += status == 429
            for waiting in idle | {worker}:  # an answer wakes every waiting worker, as notify_all does
                push(now, "try", waiting)
            idle.clear()
            continue
        if worker in idle:
            idle.discard(worker)
        if done + _in_flight(events) >= requests:
            continue
        hold = gate.take(ENDPOINT, now)
        if hold <= 0:
            push(now + up + down, "answer", worker, now)
        else:
            idle.add(worker)
            push(now + hold, "try", worker)
    return now, throttled


def _in_flight(events: list[tuple[float, int, str, int, float]]) -> int:
    return sum(1 for e in events if e[2] == "answer")


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(8, 60),
    period=st.sampled_from([2, 10, 60]),  # recorded: 10 and 60; 2 as in the CLI test
    phase=st.floats(0, 1000, allow_nan=False),
    windows=st.integers(1, 6),
    workers=st.integers(1, 8),
    latency=st.floats(0.0005, 0.15),
)
# Found by this property: an answer sent before the window we count ended, answered after it, may be
# this window's; dropped, its request left the in-flight count uncounted, and one request too many went.
@example(limit=10, period=2, phase=1.75, windows=2, workers=2, latency=0.1171875)
@example(limit=16, period=2, phase=673.8144232806811, windows=4, workers=3, latency=0.12496499842319023)
def test_one_client_meets_no_429_and_finishes_close_to_what_the_limit_allows(
    limit: int, period: int, phase: float, windows: int, workers: int, latency: float
) -> None:
    server = Server(limit, period, phase)
    requests = limit * windows
    finish, throttled = simulate(server, requests, workers, latency, latency)
    assert throttled == 0
    assert max(server.used.values()) <= limit
    # Late by at most what the first answers cannot tell (reset is whole seconds, so up to a second
    # and a round trip), shrinking by half at each later window: the sum stays under two of those.
    ideal = server.ideal_finish(requests, workers, latency, latency)
    assert finish <= ideal + 2 * (1 + 2 * latency) + 1e-6


def test_one_second_windows_say_nothing_about_their_end_so_pacing_follows_the_answers() -> None:
    server = Server(limit=6, period=1, phase=1.5)
    finish, throttled = simulate(server, 60, 4, 0.01, 0.01)
    assert throttled <= 10 and finish < 12  # done, few 429s; no better is possible without timing


def test_steady_state_holds_end_within_milliseconds_of_the_real_reset() -> None:
    server = Server(limit=500, period=10, phase=1.65)
    finish, throttled = simulate(server, 500 * 10, 8, 0.002, 0.002)
    ideal = server.ideal_finish(5000, 8, 0.002, 0.002)
    assert throttled == 0 and finish - ideal < 1.0


def test_a_429_without_headers_backs_off_and_one_with_reset_holds_every_worker_until_it() -> None:
    gate = RateGate()
    gate.learn(ENDPOINT, 0.0, 0.01, 429, {})
    assert gate.take(ENDPOINT, 0.02) > 0.9
    assert gate.take(ENDPOINT, 1.02) == 0.0
    gate.learn(ENDPOINT, 1.02, 1.03, 200, {})
    gate.learn(
        ENDPOINT,
        2.0,
        2.01,
        429,
        {
            "x-ratelimit-limit": "5",
            "x-ratelimit-period": "10",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "7",
        },
    )
    holds = [gate.take(ENDPOINT, 2.02) for _ in range(8)]
    assert all(6 <= hold <= 7 for hold in holds)


def test_a_hold_longer_than_the_deadline_is_refused_at_once() -> None:
    gate = RateGate(clock=lambda: 0.01)
    gate.learn(ENDPOINT, 0.0, 0.0, 429, {"x-ratelimit-reset": "30", "x-ratelimit-name": "post_monitors"})
    try:
        gate.wait_turn(ENDPOINT, Deadline(5, explicit=True))
    except NotSentError as exc:
        assert "post_monitors" in exc.message and "--timeout of 5 s" in exc.message
    else:
        raise AssertionError("the gate slept past the deadline")


def test_headers_are_read_case_blind_and_garbage_is_ignored() -> None:
    rate = RateHeaders.parse(
        {"X-RateLimit-Reset": "3", "x-ratelimit-limit": "lots", "X-RateLimit-Name": "put_monitors"}
    )
    assert (rate.reset, rate.limit, rate.name) == (3, None, "put_monitors")
