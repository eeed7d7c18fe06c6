"""Running one monitor test against an emulator with a manual clock, the way Datadog would evaluate it.

For each test: the org is wiped; the monitors the test names are planned and applied through the sync
engine (so composites get their parts' ids as in a real apply); then, minute by minute from the start of
the input, the points of that minute are submitted (``POST /api/v2/series``), the clock is moved one
minute (the emulator evaluates every monitor at the boundary), and at the minutes an expectation names
the group states are read (``GET /api/v1/monitor?group_states=all``). Points arrive as an agent would
send them, never ahead of the clock, so a group appears when its first point does.

A failure carries the emulator's own explanation of the evaluation (``/_emulator/evaluations``): the
computed value, the threshold it was compared with and the window; for a composite, those of the
monitors it combines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Any, Protocol

from provisioner import identity
from provisioner.changes import LiveOrg, LiveResource
from provisioner.datadog.port import DatadogPort
from provisioner.engine.apply import ApplyOptions, apply_plan
from provisioner.engine.plan import compute_plan
from provisioner.engine.references import combined_ids
from provisioner.errors import DatadogError
from provisioner.mesh import catalogue
from provisioner.model import DefinitionSet, Environment, JsonObject, MonitorSpec, SourceLocation
from provisioner.monitor_tests.cases import MINUTE, ExpectedState, InputSeries, MonitorTest, Never, StatesAt
from provisioner.monitor_tests.results import CaseResult, Evaluated, Failure
from provisioner.monitor_tests.series import format_duration
from provisioner.signals import metric_names

START_S = 1_767_225_600  # 2026-01-01T00:00:00Z: a minute, hour and day boundary, where the clock starts
OVERALL = "*"
_INTAKE_TYPES = {"count": 1, "rate": 2, "gauge": 3}
_COMPOSITE_IDS = re.compile(r"\d+")
_EPOCH = re.compile(r"\b1\d{9}\b")  # an epoch second in an explanation ("evaluated from 1767226860")


class MonitorTestPort(DatadogPort, Protocol):
    """The Datadog API a test run uses: the sync engine's, plus metric intake and group states."""

    def submit_series(self, series: Sequence[JsonObject]) -> None: ...

    def list_monitor_states(self) -> list[LiveResource]: ...


class EmulatorControl(Protocol):
    """The emulator's admin calls a test run uses (``EmulatorAdmin``)."""

    def wipe(self) -> None: ...

    def clock(self) -> dict[str, Any]: ...

    def advance_clock(self, seconds: float) -> dict[str, Any]: ...

    def evaluations(self, monitor_id: int, limit: int | None = None) -> dict[str, Any]: ...

    def unevaluated(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Variant:
    """An environment a test runs in: its compiled definitions and collection modes."""

    label: str  # "" for the environment as configured
    environment: Environment
    definitions: DefinitionSet


def _unheld_parts_hint(body: JsonObject | None, created: Set[int | str | None]) -> str:
    """Why a composite naming raw Datadog ids cannot run: the emulator holds only the repository's monitors
    (``created``: their ids in the emulator)."""
    unheld = [i for i in combined_ids(body) if i not in created] if body is not None else []
    if not unheld:
        return ""
    options = " ".join(f"--id {i}" for i in unheld)
    return (
        "; hint: a composite test needs the monitors it combines defined in this repository, and "
        f"monitor(s) {', '.join(str(i) for i in unheld)} are not: import them with "
        f"`provisioner import {options}` (the composite then names them as @{{<definition id>}})"
    )


class CaseError(Exception):
    """The test cannot run (a monitor the emulator refuses, a metric the collection mode lacks)."""


def run_test(
    test: MonitorTest, variant: Variant, port: MonitorTestPort, emulator: EmulatorControl
) -> CaseResult:
    started = time.perf_counter()
    environment = variant.environment.name
    try:
        failures = _Case(test, variant, port, emulator).run()
    except (CaseError, DatadogError) as exc:
        return CaseResult(
            test, environment, variant.label, error=str(exc), duration_s=time.perf_counter() - started
        )
    return CaseResult(
        test, environment, variant.label, tuple(failures), duration_s=time.perf_counter() - started
    )


# -- which monitors a test names --------------------------------------------------------------
def tested_monitors(definitions: DefinitionSet, monitor: str) -> tuple[MonitorSpec, ...]:
    """The monitors whose states a test checks: the definition's, or each per-service expansion's. The
    parts of a definition compiled into a composite are not among them: the composite is."""
    return tuple(
        spec
        for spec in definitions.monitors
        if spec.part_of is None
        and (spec.definition_id == monitor or spec.definition_id.startswith(monitor + "/"))
    )


def monitors_to_create(definitions: DefinitionSet, tested: Sequence[MonitorSpec]) -> tuple[MonitorSpec, ...]:
    """The tested monitors and every monitor their composites reference (``@{id}``), parts included."""
    by_id = {spec.definition_id: spec for spec in definitions.monitors}
    wanted = {spec.definition_id: spec for spec in tested}
    pending = list(tested)
    while pending:
        query = pending.pop().body.get("query")
        for referenced in identity.referenced_ids(query if isinstance(query, str) else ""):
            if referenced in by_id and referenced not in wanted:
                wanted[referenced] = by_id[referenced]
                pending.append(by_id[referenced])
    return tuple(wanted.values())


def testable_ids(definitions: DefinitionSet) -> frozenset[str]:
    """What a test may name: every monitor's definition id (parts aside), and the definition a per-service
    one expands."""
    ids = {spec.definition_id for spec in definitions.monitors if spec.part_of is None}
    return frozenset(ids | {definition_id.split("/")[0] for definition_id in ids})


# -- one run ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Monitor:
    definition_id: str
    datadog_id: int


@dataclass(frozen=True)
class _States:
    """The group states read at one minute: per Datadog id, the overall state and each group's status."""

    overall: Mapping[int, str]
    groups: Mapping[int, Mapping[str, str]]
    queries: Mapping[int, tuple[str, str]]  # type, query


class _Case:
    def __init__(
        self, test: MonitorTest, variant: Variant, port: MonitorTestPort, emulator: EmulatorControl
    ) -> None:
        self.test = test
        self.variant = variant
        self.port = port
        self.emulator = emulator
        self.failures: list[Failure] = []
        self.reported: set[tuple[int, str, str]] = set()  # (expectation line, monitor, group) for never
        self.names: dict[int, str] = {}  # Datadog id -> definition id
        self.sent: set[str] = set()  # the Datadog names of the metrics the test submits
        self.start = 0  # the emulator's time of the first point (epoch s)

    def run(self) -> list[Failure]:
        self.emulator.wipe()
        self.start = int(self.emulator.clock()["now"])
        tested = self._create(tested_monitors(self.variant.definitions, self.test.monitor))
        batches = self._batches()
        for minute in range(1, self.test.end_s // MINUTE + 1):
            if batches.get(minute):
                self.port.submit_series(batches[minute])
            self.emulator.advance_clock(MINUTE)
            self._check(minute * MINUTE, tested)
        return self.failures

    def _create(self, tested: Sequence[MonitorSpec]) -> list[_Monitor]:
        """Apply the tested monitors (and those they combine); the tested ones with their Datadog ids."""
        specs = monitors_to_create(self.variant.definitions, tested)
        definitions = DefinitionSet(monitors=tuple(replace(spec, adopt_id=None) for spec in specs))
        plan = compute_plan(definitions, LiveOrg(), self.variant.environment.namespace)
        result = apply_plan(plan, self.port, ApplyOptions(concurrency=4))
        created = {outcome.datadog_id for outcome in result.outcomes if outcome.status == "ok"}
        for outcome in result.failed:
            raise CaseError(
                f"the emulator refused monitor {outcome.change.definition_id}: {outcome.message}"
                + _unheld_parts_hint(outcome.change.body, created)
            )
        for outcome in result.outcomes:
            if isinstance(outcome.datadog_id, int):
                self.names[outcome.datadog_id] = outcome.change.definition_id
        for monitor in self.emulator.unevaluated():
            if monitor["id"] in self.names:
                name = self.names[monitor["id"]]
                raise CaseError(f"the emulator does not evaluate monitor {name}: {monitor['reason']}")
        by_id = {name: datadog_id for datadog_id, name in self.names.items()}
        return [_Monitor(spec.definition_id, by_id[spec.definition_id]) for spec in tested]

    # -- input --------------------------------------------------------------------------------
    def _batches(self) -> dict[int, list[JsonObject]]:
        """The series to submit before the evaluation at each minute: the points of the minute before."""
        batches: dict[int, list[JsonObject]] = {}
        for series in self.test.series:
            submitted = _datadog_metric(series, self.variant.environment)
            if submitted is None:
                continue  # a catalogue metric this environment's collection mode does not submit
            metric, metric_type = submitted
            self.sent.add(metric)
            by_minute: dict[int, list[JsonObject]] = {}
            for offset, value in series.points():
                by_minute.setdefault(offset // MINUTE + 1, []).append(
                    {"timestamp": self.start + offset, "value": value}
                )
            for minute, points in by_minute.items():
                batches.setdefault(minute, []).append(_payload(series, metric, metric_type, points))
        return batches

    # -- expectations -------------------------------------------------------------------------
    def _check(self, at_s: int, tested: Sequence[_Monitor]) -> None:
        due = [
            check
            for check in self.test.expectations
            if (check.at_s == at_s if isinstance(check, StatesAt) else self._covers(check, at_s))
        ]
        if not due:
            return
        states = self._states()
        for check in due:
            if isinstance(check, StatesAt):
                for expected in check.expected:
                    self._check_state(expected, at_s, tested, states)
            else:
                self._check_never(check, at_s, tested, states)

    def _covers(self, check: Never, at_s: int) -> bool:
        return check.from_s <= at_s <= self.test.never_until_s(check)

    def _check_state(
        self, expected: ExpectedState, at_s: int, tested: Sequence[_Monitor], states: _States
    ) -> None:
        named = [m for m in tested if m.definition_id == expected.key]
        if named:
            found = [(named[0], OVERALL, states.overall.get(named[0].datadog_id))]
        elif expected.key == OVERALL:
            found = [(m, OVERALL, states.overall.get(m.datadog_id)) for m in tested]
        else:
            found = [
                (m, expected.key, states.groups[m.datadog_id][expected.key])
                for m in tested
                if expected.key in states.groups.get(m.datadog_id, {})
            ]
        if not found:  # no monitor has the group: each tested monitor reports it missing
            found = [(m, expected.key, None) for m in tested]
        for monitor, group, actual in found:
            if actual != expected.state:
                unsent = self._unsent(monitor.datadog_id, states)
                self._fail(expected.source, monitor, at_s, group, actual, expected.state, states, *unsent)

    def _check_never(self, check: Never, at_s: int, tested: Sequence[_Monitor], states: _States) -> None:
        for monitor in tested:
            for group, status in _own_groups(states, monitor.datadog_id):
                if check.groups and not {group, monitor.definition_id} & set(check.groups):
                    continue
                seen = (check.source.line, monitor.definition_id, group)
                if status in check.states and seen not in self.reported:
                    self.reported.add(seen)
                    expected = "never " + " or ".join(check.states)
                    self._fail(check.source, monitor, at_s, group, status, expected, states)

    def _fail(
        self,
        source: SourceLocation,
        monitor: _Monitor,
        at_s: int,
        group: str,
        actual: str | None,
        expected: str,
        states: _States,
        unsent: tuple[str, ...] = (),
        combines_metrics: bool = False,
    ) -> None:
        evaluations = tuple(self._explain(monitor.datadog_id, group, states))
        self.failures.append(
            Failure(
                source,
                monitor.definition_id,
                at_s,
                group,
                actual,
                expected,
                evaluations,
                self.variant.label,
                unsent=unsent,
                combines_metrics=combines_metrics,
            )  # fmt: skip
        )

    def _unsent(self, datadog_id: int, states: _States) -> tuple[tuple[str, ...], bool]:
        """The metrics the monitor's query (a composite's: its monitors' queries) reads and the test sent
        no series for, and whether the query combines several metrics."""
        monitor_type, query = states.queries.get(datadog_id, ("", ""))
        ids = (
            dict.fromkeys(int(found) for found in _COMPOSITE_IDS.findall(query))
            if monitor_type == "composite"
            else [datadog_id]
        )
        queries = [states.queries.get(monitor, ("", ""))[1] for monitor in ids]
        names = dict.fromkeys(name for text in queries for name in metric_names({"query": text}))
        return tuple(_as_written(name) for name in names if name not in self.sent), len(names) > 1

    def _states(self) -> _States:
        overall: dict[int, str] = {}
        groups: dict[int, dict[str, str]] = {}
        queries: dict[int, tuple[str, str]] = {}
        for live in self.port.list_monitor_states():
            datadog_id = int(live.datadog_id)
            body = live.body
            overall[datadog_id] = str(body.get("overall_state") or "")
            found = ((body.get("state") or {}).get("groups") or {}).items()
            groups[datadog_id] = {name: str(group.get("status")) for name, group in found}
            queries[datadog_id] = (str(body.get("type")), str(body.get("query")))
        return _States(overall, groups, queries)

    # -- why a group is in its state ------------------------------------------------------------
    def _explain(self, datadog_id: int, group: str, states: _States) -> Iterable[Evaluated]:
        monitor_type, query = states.queries.get(datadog_id, ("", ""))
        if monitor_type == "composite":
            for part in dict.fromkeys(int(found) for found in _COMPOSITE_IDS.findall(query)):
                yield from self._records(part, group)
            return
        yield from self._records(datadog_id, group)

    def _records(self, datadog_id: int, group: str) -> Iterable[Evaluated]:
        last: dict[str, Any] = self.emulator.evaluations(datadog_id, limit=1).get("last") or {}
        if group in last:
            chosen = [last[group]]
        elif group == OVERALL or OVERALL in last:
            chosen = [last[name] for name in sorted(last)][:3]
        else:
            chosen = []
        name = self.names.get(datadog_id, str(datadog_id))
        for record in chosen:
            yield _evaluated(name, record, self.start)


def _since_start(epoch_s: int, start: int) -> str:
    """An epoch second as the test's time (``7m``), when it falls after the start of the input."""
    return format_duration(epoch_s - start) if epoch_s >= start else str(epoch_s)


def _own_groups(states: _States, datadog_id: int) -> list[tuple[str, str]]:
    """Each group's status; the monitor's overall state when it has no group of its own (a simple alert,
    or no data yet). A multi alert's ``*`` repeats its most severe group."""
    groups = {name: status for name, status in states.groups.get(datadog_id, {}).items() if name != OVERALL}
    if not groups:
        return [(OVERALL, states.overall.get(datadog_id, ""))]
    return sorted(groups.items())


def _evaluated(monitor: str, record: Mapping[str, Any], start: int) -> Evaluated:
    return Evaluated(
        monitor=monitor,
        group=str(record.get("group")),
        status=str(record.get("status")),
        explanation=_EPOCH.sub(
            lambda found: _since_start(int(found[0]), start), str(record.get("explanation"))
        ),
        value=record.get("value"),
        comparator=record.get("comparator"),
        threshold=record.get("threshold"),
        compared_with=record.get("compared_with"),
        window=record.get("window"),
    )


# -- metric names and types -------------------------------------------------------------------------
def _datadog_metric(series: InputSeries, environment: Environment) -> tuple[str, str] | None:
    """The Datadog name and intake type of a series: ``mesh:<key>`` takes the name the environment's
    collection mode submits (None: that mode submits no such metric); a type comes from the test, else the
    catalogue, else gauge."""
    modes = catalogue.modes_of(environment)
    key = series.name.catalogue_key
    if key is not None:
        if not catalogue.available(key, modes):
            return None
        submitted = catalogue.submission(key, modes)
        return submitted.name, series.metric_type or _intake_type(submitted.type)
    if series.metric_type:
        return series.name.metric, series.metric_type
    uses = catalogue.lookup(series.name.metric)
    matching = [use for use in uses if modes.of(use.metric.collector) in (None, use.mode)] or list(uses)
    return series.name.metric, _intake_type(matching[0].submission.type) if matching else "gauge"


def _as_written(datadog_name: str) -> str:
    """A metric as a test writes it: ``mesh:<key>`` when the name is one catalogue metric's."""
    keys = dict.fromkeys(use.metric.key for use in catalogue.lookup(datadog_name))
    return f"mesh:{next(iter(keys))}" if len(keys) == 1 else datadog_name


def _intake_type(catalogue_type: str) -> str:
    """A distribution is sent as gauge points (the intake takes counts, rates and gauges)."""
    return catalogue_type if catalogue_type in _INTAKE_TYPES else "gauge"


def _payload(series: InputSeries, metric: str, metric_type: str, points: list[JsonObject]) -> JsonObject:
    hosts = [tag.partition(":")[2] for tag in series.name.tags if tag.startswith("host:")]
    body: dict[str, Any] = {
        "metric": metric,
        "type": _INTAKE_TYPES[metric_type],
        "points": points,
        "tags": [tag for tag in series.name.tags if not tag.startswith("host:")],
    }
    if hosts:
        body["resources"] = [{"name": hosts[0], "type": "host"}]
    if series.interval_s:
        body["interval"] = series.interval_s
    return body
