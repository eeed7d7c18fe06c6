"""The metric store, the evaluation state and the clock in the --state journal: replayed exactly, bounded after
replay, incremental, loaded from main's version-1 files, shared between processes, and kept through kill -9."""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from provisioner.emulator.admin_client import EmulatorAdmin
from provisioner.emulator.clock import Clock
from provisioner.emulator.evaluation.scheduler import Evaluator
from provisioner.emulator.identity import OrgIdentity
from provisioner.emulator.journal import decode_line
from provisioner.emulator.metrics import MetricLimits, SubmittedSeries
from provisioner.emulator.org import Org
from provisioner.emulator.process import EmulatorChild, start_emulator_process
from provisioner.emulator.state import StateKeeper

from .conftest import RawClient, kill_under_load  # type: ignore[import-not-found]

T0 = 4_000_000_020  # a minute boundary ahead of the wall clock, so that a manual clock can be moved to it
LIMITS = MetricLimits(retention_s=1800, max_points_per_series=8, max_series_per_metric=2, max_total_points=20)
MONITOR = {
    "type": "query alert",
    "query": "max(last_5m):max:app.errors{*} by {host} > 5",
    "name": "errors",
    "options": {"notify_no_data": True, "no_data_timeframe": 10, "new_host_delay": 0},
}


@contextmanager
def kept_org(
    state: Path, limits: MetricLimits = LIMITS, clock: Clock | None = None
) -> Iterator[tuple[Org, StateKeeper, Evaluator]]:
    """An org kept in ``state`` the way an emulator process keeps it (by default a manual clock that follows
    the stored one)."""
    clock = clock or Clock("manual")
    org = Org(0, OrgIdentity(), clock, limits)
    keeper = StateKeeper(state, org, compact_after_bytes=1 << 30)
    keeper.load()
    try:
        yield org, keeper, Evaluator(org, clock)
    finally:
        keeper.stop()


def contents(org: Org) -> Any:
    org.refresh()
    return json.loads(json.dumps(org.snapshot().sections))


def series(metric: str, host: str, at: float, values: list[float]) -> SubmittedSeries:
    points = tuple((at + 7 * index, value) for index, value in enumerate(values))
    return SubmittedSeries(metric, points, (f"host:{host}",), "gauge")


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"),
            st.sampled_from(["app.errors", "app.load"]),
            st.sampled_from(["a", "b", "c"]),
            st.integers(-4000, 700),  # some points fall outside the accepted range
            st.lists(st.floats(0, 10), max_size=6),
        ),
        st.tuples(st.just("advance"), st.integers(0, 1800)),
        st.tuples(st.just("monitor")),
        st.tuples(st.just("compact")),
    ),
    max_size=20,
)


@settings(max_examples=50, deadline=None)
@given(operations)
def test_an_org_read_back_from_its_state_equals_the_org_that_wrote_it(steps: list[tuple[Any, ...]]) -> None:
    """Points, bounds, retention, group states, overall states, the evaluated minutes and the clock: a
    process that follows the writer and one that starts afterwards both end equal to it."""
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        state = Path(folder) / "org.json"
        writer, keeper, evaluator = stack.enter_context(kept_org(state, clock=Clock("manual", T0)))
        follower = stack.enter_context(kept_org(state))[0]
        evaluator.move_clock(advance_s=0)  # the writer's time, for the others to follow
        for step in steps:
            if step[0] == "submit":
                _, metric, host, offset, values = step
                writer.submit_series([series(metric, host, writer.clock.now_s() + offset, values)])
            elif step[0] == "advance":
                evaluator.move_clock(advance_s=step[1])
            elif step[0] == "monitor":
                writer.monitors.create(MONITOR)
            else:
                keeper.compact(wait=True)
        expected = contents(writer)
        assert contents(follower) == expected
        with kept_org(state) as (restarted, _, _):
            assert contents(restarted) == expected
            assert restarted.metrics.stats()["points"] <= LIMITS.max_total_points
            for metric in expected["metrics"]["metrics"]:
                assert len(metric["series"]) <= LIMITS.max_series_per_metric
                assert all(
                    len(kept["timestamps"]) <= LIMITS.max_points_per_series for kept in metric["series"]
                )


def journal_bytes(state: Path) -> int:
    return sum(path.stat().st_size for path in state.parent.glob(f"{state.name}.journal.*"))


def test_a_submission_journals_its_own_points_whatever_the_size_of_the_store(tmp_path: Path) -> None:
    growth = []
    for stored_points in (0, 100_000):
        state = tmp_path / f"org-{stored_points}.json"
        with kept_org(state, MetricLimits(), Clock("manual", T0)) as (org, keeper, _):
            for start in range(0, stored_points, 20_000):
                org.submit_series(
                    [
                        series("big", f"h{n}", T0 - 3000, [1.0] * 400)
                        for n in range(start // 400, start // 400 + 50)
                    ]
                )
            keeper.compact(wait=True)
            assert org.metrics.stats()["points"] == stored_points
            before = journal_bytes(state)
            org.submit_series([series("app.errors", "a", T0 - 60, [1.0, 2.0, 3.0])])
            growth.append(journal_bytes(state) - before)
    assert growth[0] == growth[1] < 400


def test_a_version_1_state_file_with_points_group_states_and_the_clock_loads(tmp_path: Path) -> None:
    """What main wrote before the journal: points as [timestamp, value] pairs, the evaluations keyed by id."""
    state = tmp_path / "org.json"
    monitor = {"id": 5, "name": "errors", "type": "query alert", "query": MONITOR["query"], "tags": [],
               "options": {}, "overall_state": "Alert", "overall_state_modified": "2096-10-02T07:07:00+00:00"}  # fmt: skip
    group = {"name": "host:a", "first_seen": T0 - 600, "status": "Alert", "last_point_ts": T0 - 30,
             "last_triggered_ts": T0 - 300, "last_notified_ts": T0 - 300, "last_resolved_ts": None,
             "last_nodata_ts": None}  # fmt: skip
    version_1 = {
        "format": "provisioner-emulator-state", "version": 1, "monitors": [monitor], "dashboards": [],
        "metrics": {"metrics": [{"name": "app.errors", "type": "gauge", "interval": None, "unit": None,
                                 "series": [{"tags": ["host:a"], "points": [[T0 - 90, 7.0], [T0 - 30, 9.0]]}]}]},
        "evaluations": {"5": {"overall_state": "Alert", "overall_modified": T0 - 300, "groups": [group]}},
        "clock_s": T0,
    }  # fmt: skip
    state.write_text(json.dumps(version_1))
    with start_emulator(EmulatorConfig(rate_limits=False, state_path=state)) as running:
        raw = RawClient(running.base_url, "k", "a")
        shown = raw.call("GET", "/api/v1/monitor/5?group_states=all").json
        query = f"/api/v1/query?from={T0 - 120}&to={T0}&query=max:app.errors{{*}}"
        points = raw.call("GET", query).json["series"][0]["pointlist"]
        raw.close()
        assert running.admin.clock()["now"] == T0
        assert shown["state"]["groups"]["host:a"]["last_triggered_ts"] == T0 - 300
        assert [value for _, value in points] == [7.0, 9.0]
        running.admin.advance_clock(60)  # a write: the next compaction rewrites the file as version 2
    upgraded = json.loads(state.read_text())
    assert upgraded["version"] == 2 and upgraded["clock_s"] == T0 + 60
    assert upgraded["evaluations"]["last_evaluated"] == T0 + 60
    assert upgraded["metrics"]["metrics"][0]["series"][0]["values"] == [7.0, 9.0]


# -- processes sharing one state ---------------------------------------------------------------------------


def submit(raw: RawClient, metric: str, tags: list[str], points: list[tuple[int, float]]) -> None:
    body = {"series": [{"metric": metric, "type": 3, "tags": tags,
                        "points": [{"timestamp": t, "value": v} for t, v in points]}]}  # fmt: skip
    answer = raw.call("POST", "/api/v2/series", body)
    assert answer.status == 202, answer.raw


def stored_points(raw: RawClient, metric: str, tag: str, start: int, end: int) -> dict[int, float]:
    """Every point of one series, read back at 1-second resolution (300 seconds per query)."""
    found: dict[int, float] = {}
    for chunk in range(start, end + 1, 300):
        query = f"/api/v1/query?from={chunk}&to={min(chunk + 299, end)}&query=max:{metric}{{{tag}}}"
        for item in raw.call("GET", query).json["series"]:
            assert item["interval"] == 1
            found.update({int(ms) // 1000: value for ms, value in item["pointlist"]})
    return found


def test_two_emulators_submitting_series_to_one_state_keep_every_point(tmp_path: Path) -> None:
    config = EmulatorConfig(rate_limits=False, state_path=tmp_path / "org.json", accept_any_timestamp=True)
    with start_emulator(config) as first, start_emulator(config) as second:

        def send(running: RunningEmulator, writer: int) -> None:
            raw = RawClient(running.base_url, "k", "a")
            for step in range(40):  # a series of its own, and one series all four writers share
                submit(raw, "shared.m", [f"writer:{writer}"], [(T0 + step, float(step))])
                submit(raw, "shared.all", ["pool:one"], [(T0 + 100 * step + writer, 1.0)])
            raw.close()

        writers = [
            threading.Thread(target=send, args=(running, writer))
            for writer, running in enumerate((first, second, first, second))
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        for running in (first, second):
            raw = RawClient(running.base_url, "k", "a")
            for writer in range(4):
                assert stored_points(raw, "shared.m", f"writer:{writer}", T0, T0 + 39) == {
                    T0 + step: float(step) for step in range(40)
                }
            assert len(stored_points(raw, "shared.all", "pool:one", T0, T0 + 4000)) == 160
            raw.close()


def journaled(state: Path, collection: str, op: str) -> list[Any]:
    """The values of one kind of change, in journal order."""
    found = []
    for segment in sorted(state.parent.glob(f"{state.name}.journal.*")):
        for line in segment.read_bytes().splitlines()[1:]:
            found += [item["v"] for item in decode_line(line) if item["c"] == collection and item["op"] == op]
    return found


def test_emulators_moving_one_shared_clock_evaluate_each_minute_once(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    config = EmulatorConfig(rate_limits=False, state_path=state)
    with start_emulator(config) as first:
        first.admin.set_clock(T0)  # before the second starts: both evaluators start at T0
        with start_emulator(config) as second:
            both_move_the_clock(state, first, second)


def both_move_the_clock(state: Path, first: RunningEmulator, second: RunningEmulator) -> None:
    raw = RawClient(first.base_url, "k", "a")
    monitor_id = raw.call("POST", "/api/v1/monitor", MONITOR).json["id"]
    submit(raw, "app.errors", ["host:a"], [(T0 - 30, 9.0)])
    raw.close()
    evaluated: list[int] = []

    def advance(running: RunningEmulator) -> None:
        for _ in range(10):
            evaluated.append(running.admin.advance_clock(60)["evaluated_minutes"])

    movers = [threading.Thread(target=advance, args=(running,)) for running in (first, second, first, second)]
    for mover in movers:
        mover.start()
    for mover in movers:
        mover.join()
    until = journaled(state, "evaluations", "evaluated_until")
    assert sum(evaluated) == 40 and until[-40:] == list(range(T0 + 60, T0 + 41 * 60, 60))
    views = []
    for running in (first, second):
        raw = RawClient(running.base_url, "k", "a")
        views.append(raw.call("GET", f"/api/v1/monitor/{monitor_id}?group_states=all").json)
        raw.close()
    assert views[0] == views[1] and views[0]["overall_state"] == "No Data"  # the point left the window
    assert views[0]["state"]["groups"]["host:a"]["last_triggered_ts"] == T0 + 60


# -- kill -9 ----------------------------------------------------------------------------------------------


def test_kill_9_under_series_load_loses_no_acknowledged_point(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    acknowledged: dict[str, dict[int, float]] = {}
    next_second = {writer: T0 for writer in ("w0", "w1", "w2")}

    def send_until_killed(base_url: str, writer: str) -> None:
        raw = RawClient(base_url, "k", "a")
        try:
            while True:
                second = next_second[writer]
                points = [(second + offset, float(second + offset)) for offset in range(3)]
                submit(raw, "kill.m", [f"writer:{writer}"], points)
                acknowledged.setdefault(writer, {}).update(points)
                next_second[writer] = second + 3
        except (OSError, AssertionError, ValueError, http.client.HTTPException):
            return  # killed: the submission in flight has no answer
        finally:
            raw.close()

    for round_ in range(5):
        child = start_emulator_process("--no-rate-limits", "--state", str(state), "--compact-after", "20000")
        try:
            EmulatorAdmin(child.base_url).accept_any_timestamp()
            writers = [
                threading.Thread(target=send_until_killed, args=(child.base_url, w)) for w in next_second
            ]
            enough = 150 * (round_ + 1)
            kill_under_load(child, writers, lambda n=enough: sum(map(len, acknowledged.values())) >= n)
        finally:
            child.stop()
    restarted = start_emulator_process("--no-rate-limits", "--state", str(state))
    try:
        raw = RawClient(restarted.base_url, "k", "a")
        for writer, points in acknowledged.items():
            kept = stored_points(raw, "kill.m", f"writer:{writer}", T0, max(points))
            assert {second: kept.get(second) for second in points} == points
        raw.close()
    finally:
        restarted.stop()
    assert sum(map(len, acknowledged.values())) >= 750


def clock_and_states(child: EmulatorChild, monitor_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = RawClient(child.base_url, "k", "a")
    try:
        shown = raw.call("GET", f"/api/v1/monitor/{monitor_id}?group_states=all").json
    finally:
        raw.close()
    return EmulatorAdmin(child.base_url).clock(), shown


def test_a_kill_9_restart_keeps_group_states_the_clock_and_the_evaluated_minutes(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    arguments = ("--no-rate-limits", "--state", str(state), "--clock", "manual")
    child = start_emulator_process(*arguments)
    try:
        raw = RawClient(child.base_url, "k", "a")
        monitor_id = raw.call("POST", "/api/v1/monitor", MONITOR).json["id"]
        now = int(EmulatorAdmin(child.base_url).clock()["now"])
        submit(raw, "app.errors", ["host:a"], [(now - 20, 9.0)])
        submit(raw, "app.errors", ["host:b"], [(now - 20, 1.0)])
        raw.close()
        EmulatorAdmin(child.base_url).advance_clock(120)
        before = clock_and_states(child, monitor_id)
    finally:
        child.kill()  # no compaction: the restart replays the journal
    assert before[1]["state"]["groups"]["host:a"]["status"] == "Alert"
    assert not state.exists()
    restarted = start_emulator_process(*arguments)
    try:
        after = clock_and_states(restarted, monitor_id)
        assert after == before
        assert EmulatorAdmin(restarted.base_url).advance_clock(60)["evaluated_minutes"] == 1
        group = clock_and_states(restarted, monitor_id)[1]["state"]["groups"]["host:a"]
        assert group["last_triggered_ts"] == before[1]["state"]["groups"]["host:a"]["last_triggered_ts"]
    finally:
        restarted.stop()
