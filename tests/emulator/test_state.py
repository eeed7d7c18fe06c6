"""Persistence with --state: a snapshot plus a journal. Every answered write survives a kill, a torn journal
tail is ignored, older and newer file versions are handled, and emulators sharing one state file see each
other's writes."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from provisioner.emulator.process import EmulatorChild, start_emulator_process
from provisioner.emulator.state import StateFileError

from .conftest import RawClient, kill_under_load  # type: ignore[import-not-found]

GOOD = {"type": "metric alert", "query": "avg(last_5m):avg:system.cpu.user{*} > 2", "name": "cpu"}
DASHBOARD = {
    "title": "Mesh",
    "layout_type": "ordered",
    "widgets": [{"definition": {"type": "note", "content": "x"}}],
}


def config_for(state: Path, **overrides: Any) -> EmulatorConfig:
    return EmulatorConfig(rate_limits=False, state_path=state, **overrides)


@contextmanager
def client_of(running: RunningEmulator | EmulatorChild) -> Iterator[RawClient]:
    raw = RawClient(running.base_url, "k", "a")
    try:
        yield raw
    finally:
        raw.close()


def everything(raw: RawClient) -> tuple[list[Any], list[Any]]:
    monitors = raw.call("GET", "/api/v1/monitor").json
    summaries = raw.call("GET", "/api/v1/dashboard?count=1000").json["dashboards"]
    dashboards = [raw.call("GET", f"/api/v1/dashboard/{item['id']}").json for item in summaries]
    return monitors, dashboards


def names_by_id(raw: RawClient) -> dict[int, str]:
    return {monitor["id"]: monitor["name"] for monitor in raw.call("GET", "/api/v1/monitor").json}


def segments(state: Path) -> list[Path]:
    return sorted(state.parent.glob(f"{state.name}.journal.*"))


def test_restart_keeps_every_monitor_and_dashboard(tmp_path: Path) -> None:
    config = config_for(tmp_path / "org.json")
    with start_emulator(config) as running, client_of(running) as raw:
        for index in range(20):
            raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"m{index}"})
            raw.call("POST", "/api/v1/dashboard", {**DASHBOARD, "title": f"d{index}"})
        doomed = raw.call("GET", "/api/v1/monitor").json[0]["id"]
        raw.call("DELETE", f"/api/v1/monitor/{doomed}")
        before = everything(raw)
    with start_emulator(config) as restarted, client_of(restarted) as raw:
        after = everything(raw)
        new_id = raw.call("POST", "/api/v1/monitor", GOOD).json["id"]
    assert after == before and len(after[0]) == 19 and len(after[1]) == 20
    assert new_id > max(monitor["id"] for monitor in before[0])  # ids are never handed out twice


def test_an_answered_write_is_in_the_journal_before_the_answer(tmp_path: Path) -> None:
    """No stop, no flush: what a fresh reader of the files finds right after each answer."""
    state = tmp_path / "org.json"
    with start_emulator(config_for(state)) as running, client_of(running) as raw:
        for index in range(5):
            created = raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"m{index}"}).json
            with start_emulator(config_for(state)) as reader, client_of(reader) as fresh:
                assert fresh.call("GET", f"/api/v1/monitor/{created['id']}").json == created
    assert not state.exists() or json.loads(state.read_text())["version"] == 2


def test_a_clean_stop_compacts_the_journal_into_the_snapshot(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    with start_emulator(config_for(state)) as running:
        running.admin.seed_monitors([{**GOOD, "name": f"m{index}"} for index in range(300)])
        assert not state.exists() and segments(state)  # only journaled so far
    stored = json.loads(state.read_text())
    assert stored["version"] == 2 and len(stored["monitors"]) == 300
    (remaining,) = segments(state)  # the segment after the snapshot, holding nothing but its header
    assert remaining.read_bytes().count(b"\n") == 1
    assert stored["journal"]["first_segment"] == int(remaining.name.rsplit(".", 1)[1])
    assert not list(tmp_path.glob(".*.tmp"))


def test_writers_waiting_together_share_fsyncs(tmp_path: Path) -> None:
    with start_emulator(config_for(tmp_path / "org.json")) as running:

        def create(count: int) -> None:
            with client_of(running) as raw:
                for index in range(count):
                    assert raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"m{index}"}).status == 200

        writers = [threading.Thread(target=create, args=(40,)) for _ in range(8)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        keeper = running.state
        assert keeper is not None and 0 < keeper.fsyncs < 320


def test_background_compaction_keeps_the_journal_small_and_loses_nothing(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    config = config_for(state, state_compact_after_bytes=20_000)
    with start_emulator(config) as running, client_of(running) as raw:
        ids = [raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"m{i}"}).json["id"] for i in range(150)]
        for monitor_id in ids[:50]:
            raw.call("PUT", f"/api/v1/monitor/{monitor_id}", {"name": f"renamed {monitor_id}"})
        deadline = time.monotonic() + 10
        while running.state.compactions == 0 and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.01)
        assert running.state.compactions > 0  # type: ignore[union-attr]
        assert sum(path.stat().st_size for path in segments(state)) < 100_000
        before = names_by_id(raw)
    with start_emulator(config) as restarted, client_of(restarted) as raw:
        assert names_by_id(raw) == before and len(before) == 150
        assert before[ids[0]] == f"renamed {ids[0]}"


@pytest.mark.parametrize(
    "tail",
    [b'3fa2c1d0 [{"c":"monitors","op":"put","k":1', b"\x00\xff garbage\n\x17", b"00000000 []\n"],
    ids=["torn", "garbage", "bad-checksum"],
)
def test_a_torn_or_garbage_journal_tail_is_ignored_then_truncated_by_the_next_write(
    tmp_path: Path, tail: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "org.json"
    with start_emulator(config_for(state)) as writer, client_of(writer) as raw:
        kept = {raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"m{i}"}).json["id"] for i in range(3)}
        (segment,) = segments(state)
        good = segment.read_bytes()
        with segment.open("ab") as stream:  # what a writer killed mid-append leaves
            stream.write(tail)
        with start_emulator(config_for(state)) as reader, client_of(reader) as fresh:
            assert set(names_by_id(fresh)) == kept  # the tail is not fatal, and not replayed
            assert segment.read_bytes() == good + tail  # a reader does not repair
            added = fresh.call("POST", "/api/v1/monitor", GOOD).json["id"]
            assert segment.read_bytes().startswith(good) and segment.read_bytes().endswith(b"\n")
            assert tail not in segment.read_bytes()
        assert set(names_by_id(raw)) == kept | {added}
    assert "dropped" in capfd.readouterr().err
    with start_emulator(config_for(state)) as restarted, client_of(restarted) as raw:
        assert set(names_by_id(raw)) == kept | {added}


def test_a_version_1_state_file_is_read_and_upgraded_at_the_next_compaction(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    monitor = {"id": 150000123, "name": "old", "type": "metric alert", "query": GOOD["query"], "tags": []}
    state.write_text(json.dumps({"format": "provisioner-emulator-state", "version": 1, "monitors": [monitor],
                                 "dashboards": []}))  # fmt: skip
    with start_emulator(config_for(state)) as running, client_of(running) as raw:
        assert raw.call("GET", "/api/v1/monitor/150000123").json["name"] == "old"
    assert json.loads(state.read_text())["version"] == 1  # a process that only read writes nothing
    with start_emulator(config_for(state)) as running, client_of(running) as raw:
        assert raw.call("POST", "/api/v1/monitor", GOOD).json["id"] > 150000123
    upgraded = json.loads(state.read_text())
    assert upgraded["version"] == 2 and len(upgraded["monitors"]) == 2


def test_a_state_file_of_another_version_is_refused_with_its_name(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    state.write_text(json.dumps({"format": "provisioner-emulator-state", "version": 3, "monitors": []}))
    with pytest.raises(StateFileError, match=r"org.json: emulator state version 3 .* another provisioner"):
        start_emulator(config_for(state))


def test_a_journal_of_another_version_is_refused_with_its_name(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    with start_emulator(config_for(state)) as running, client_of(running) as raw:
        raw.call("POST", "/api/v1/monitor", GOOD)
    (segment,) = segments(state)
    header = b'{"format":"provisioner-emulator-journal","version":9,"segment":2}'
    segment.write_bytes(b"%08x %s\n" % (zlib.crc32(header), header))
    with pytest.raises(StateFileError, match=r"org.json.journal.000002: journal version 9"):
        start_emulator(config_for(state))


def test_a_file_that_is_not_a_state_file_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text("{not json")
    with pytest.raises(StateFileError, match="org.json: not an emulator state file"):
        start_emulator(EmulatorConfig(state_path=path))


def test_a_process_that_only_reads_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    with start_emulator(config_for(state)) as running, client_of(running) as raw:
        raw.call("POST", "/api/v1/monitor", GOOD)
        raw.call("POST", "/api/v1/dashboard", DASHBOARD)
    with start_emulator(config_for(state)) as running, client_of(running) as raw:
        raw.call("POST", "/api/v1/monitor", GOOD)  # journaled, not compacted: the journal is not empty
        files = {path: path.read_bytes() for path in [state, *segments(state)]}
        with start_emulator(config_for(state)) as reader, client_of(reader) as fresh:
            everything(fresh)
            fresh.call("GET", "/api/v1/monitor/search")
        assert {path: path.read_bytes() for path in [state, *segments(state)]} == files


def test_emulators_sharing_a_state_file_see_each_others_writes_and_never_reuse_an_id(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    config = config_for(state, state_compact_after_bytes=30_000)
    with start_emulator(config) as first, start_emulator(config) as second:

        def create(running: RunningEmulator, prefix: str, out: list[int]) -> None:
            with client_of(running) as raw:
                for index in range(60):
                    answer = raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"{prefix}{index}"})
                    out.append(answer.json["id"])
                    raw.call("POST", "/api/v1/dashboard", {**DASHBOARD, "title": f"{prefix}{index}"})

        made: list[list[int]] = [[], [], [], []]
        writers = [
            threading.Thread(target=create, args=(running, f"{name}{n}-", made[2 * index + n]))
            for index, (name, running) in enumerate((("a", first), ("b", second)))
            for n in range(2)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        all_ids = [monitor_id for ids in made for monitor_id in ids]
        assert len(set(all_ids)) == len(all_ids) == 240
        with client_of(first) as raw_first, client_of(second) as raw_second:
            assert everything(raw_first) == everything(raw_second)
            assert set(names_by_id(raw_first)) == set(all_ids)
            assert len(everything(raw_first)[1]) == 240


def test_a_reader_left_behind_by_compactions_reloads_the_snapshot(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    with start_emulator(config_for(state)) as idle, start_emulator(config_for(state)) as busy:
        with client_of(idle) as raw:
            assert names_by_id(raw) == {}
        with client_of(busy) as raw:
            for round_ in range(3):  # each round ends in a compaction that deletes the older segments
                for index in range(5):
                    raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"r{round_}-{index}"})
                busy.admin.flush_state()
            expected = names_by_id(raw)
        with client_of(idle) as raw:
            assert names_by_id(raw) == expected and len(expected) == 15


# -- kill -9 under write load ------------------------------------------------------------------------------


class Ledger:
    """What the server acknowledged (and what it may or may not have applied when it was killed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.names: dict[int, str] = {}  # id -> last acknowledged name
        self.deleted: set[int] = set()
        self.unanswered: dict[int, str | None] = {}  # id -> name of an unanswered PUT, None: a DELETE

    def check(self, served: dict[int, str]) -> None:
        for monitor_id, name in self.names.items():
            maybe = self.unanswered.get(monitor_id, name)
            if maybe is None:  # an unanswered delete may have happened
                assert served.get(monitor_id, name) == name, monitor_id
            else:
                assert served.get(monitor_id) in (name, maybe), (monitor_id, name, served.get(monitor_id))
        assert not self.deleted & set(served)
        self.unanswered.clear()
        self.names = {monitor_id: served[monitor_id] for monitor_id in self.names if monitor_id in served}


def write_until_killed(base_url: str, ledger: Ledger, label: str, seed: int) -> None:
    rng = random.Random(seed)
    mine: list[int] = []
    try:
        raw = RawClient(base_url, "k", "a")
        for step in range(100_000):
            if mine and rng.random() < 0.3:
                target = rng.choice(mine)
                name = f"{label}-{step}"
                with ledger.lock:
                    ledger.unanswered[target] = name
                answer = raw.call("PUT", f"/api/v1/monitor/{target}", {"name": name})
                with ledger.lock:
                    ledger.names[target] = answer.json["name"]
                    ledger.unanswered.pop(target)
            elif mine and rng.random() < 0.1:
                target = mine.pop(rng.randrange(len(mine)))
                with ledger.lock:
                    ledger.unanswered[target] = None
                raw.call("DELETE", f"/api/v1/monitor/{target}")
                with ledger.lock:
                    ledger.deleted.add(target)
                    ledger.names.pop(target)
                    ledger.unanswered.pop(target)
            else:
                answer = raw.call("POST", "/api/v1/monitor", {**GOOD, "name": f"{label}-{step}"})
                with ledger.lock:
                    ledger.names[answer.json["id"]] = answer.json["name"]
                mine.append(answer.json["id"])
    except (OSError, ValueError, http.client.HTTPException):  # killed: what was in flight has no answer
        return


def test_kill_9_under_write_load_ten_times_loses_no_acknowledged_write(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    ledger = Ledger()
    rng = random.Random(11)
    for round_ in range(10):
        child = start_emulator_process("--no-rate-limits", "--state", str(state), "--compact-after", "30000")
        try:
            with client_of(child) as raw:
                ledger.check(names_by_id(raw))
            writers = [
                threading.Thread(
                    target=write_until_killed, args=(child.base_url, ledger, f"{round_}.{n}", round_ * 3 + n)
                )
                for n in range(3)
            ]
            enough = 15 * (round_ + 1)
            kill_under_load(child, writers, lambda n=enough: len(ledger.names) >= n, rng.uniform(0, 0.03))
        finally:
            child.stop()
    restarted = start_emulator_process("--no-rate-limits", "--state", str(state))
    try:
        with client_of(restarted) as raw:
            ledger.check(names_by_id(raw))
    finally:
        restarted.stop()
    # The last round stops at 150 acknowledged monitors; deletes in flight at the kill may have happened.
    # Each writer of each round has its own seed: the same seed every round replayed the same short prefix,
    # and on a loaded machine a run could end without one acknowledged delete.
    assert len(ledger.names) >= 140 and ledger.deleted
