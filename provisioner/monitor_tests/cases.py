"""Monitor test files to typed tests.

A test file is YAML read by the definitions' reader (the same bounds and the same ``file:line:col``
errors), checked against the shipped schema ``monitor-test.json``, then read into ``MonitorTest`` values.
Problems are collected, never raised, all in one pass (a schema error leaves the rest of the file checked);
the command runs no test while there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from provisioner.definitions.files import display_path, find_definition_files
from provisioner.definitions.findings import did_you_mean
from provisioner.definitions.pointers import related, without_values
from provisioner.definitions.schema import check_schema
from provisioner.definitions.source import SourceDocument, join_pointer, read_documents
from provisioner.mesh import catalogue
from provisioner.model import Json, Problem, SourceLocation
from provisioner.monitor_tests.series import (
    NotationError,
    SeriesName,
    expand_values,
    format_duration,
    parse_duration,
    parse_series_name,
)

TEST_SCHEMA = "monitor-test.json"
DEFAULT_TEST_FOLDER = Path("monitors") / "tests"  # when `provisioner test` is given no paths
DEFAULT_STEP_S = 60
MINUTE = 60
STATES = ("OK", "Warn", "Alert", "No Data")
_T = TypeVar("_T")


@dataclass(frozen=True)
class InputSeries:
    """One series of a test: its values, one per step from the start of the input."""

    name: SeriesName
    values: tuple[float | None, ...]
    step_s: int
    metric_type: str | None  # count, rate or gauge; None: the catalogue's type, else gauge
    interval_s: int | None
    source: SourceLocation

    @property
    def end_s(self) -> int:
        """The end of the last step."""
        return len(self.values) * self.step_s

    def points(self) -> Iterator[tuple[int, float]]:
        """``(seconds from the start, value)`` for every step that has a point."""
        for index, value in enumerate(self.values):
            if value is not None:
                yield index * self.step_s, value


@dataclass(frozen=True)
class ExpectedState:
    key: str  # a group name ("service:cart", "*" for the monitor) or a monitor id
    state: str
    source: SourceLocation


@dataclass(frozen=True)
class StatesAt:
    """Each named group's state after the evaluation at ``at_s``."""

    at_s: int
    expected: tuple[ExpectedState, ...]
    source: SourceLocation


@dataclass(frozen=True)
class Never:
    """No group of the tested monitors (or of ``groups``) has one of ``states`` after any evaluation in
    [from_s, until_s]."""

    states: tuple[str, ...]
    from_s: int
    until_s: int | None  # None: the end of the input
    source: SourceLocation
    groups: tuple[str, ...] = ()  # group names or monitor ids; (): every group


Expectation = StatesAt | Never


@dataclass(frozen=True)
class MonitorTest:
    name: str
    monitor: str  # a definition id, or one expanded monitor's id
    series: tuple[InputSeries, ...]
    expectations: tuple[Expectation, ...]
    source: SourceLocation  # the test's first line
    monitor_source: SourceLocation
    env: str | None = None  # the environment whose monitors it checks; None: the command's
    env_source: SourceLocation | None = None
    istio: tuple[Json, ...] = ()  # istio: settings to run it under, one run each; (): the environment's own

    @property
    def input_end_s(self) -> int:
        """The end of the input, in whole minutes (evaluations run at minute boundaries)."""
        return _whole_minutes(max(series.end_s for series in self.series))

    def never_until_s(self, check: Never) -> int:
        return self.input_end_s if check.until_s is None else check.until_s

    @property
    def end_s(self) -> int:
        """The last evaluation the test needs."""
        ends = [self.input_end_s]
        for check in self.expectations:
            ends.append(check.at_s if isinstance(check, StatesAt) else self.never_until_s(check))
        return max(ends)


@dataclass(frozen=True)
class LoadedTests:
    tests: tuple[MonitorTest, ...]  # every test read, also from a file with errors (then none may run)
    problems: tuple[Problem, ...]
    files: tuple[str, ...]


def load_tests(paths: Sequence[Path]) -> LoadedTests:
    """Every test of the test files under ``paths`` (files, or folders searched for *.yaml / *.yml)."""
    files, problems = find_definition_files(paths)
    tests: list[MonitorTest] = []
    displays = []
    for file in files:
        display = display_path(file)
        displays.append(display)
        documents, file_problems = read_documents(file, display)
        problems.extend(file_problems)
        for document in documents:
            found, document_problems = _read_document(document)
            problems.extend(document_problems)
            tests.extend(found)
    return LoadedTests(tuple(tests), tuple(problems), tuple(displays))


def unknown_name_problem(
    where: SourceLocation, code: str, message: str, name: str, known: Collection[str]
) -> Problem:
    """A test naming something that does not exist, with the closest known name as the hint."""
    return Problem(where.path, where.line, where.col, "", code, "error", message, did_you_mean(name, known))


def _read_document(document: SourceDocument) -> tuple[list[MonitorTest], list[Problem]]:
    """The document's tests and every problem in one pass: the schema's, and what the reader finds in the
    values the schema accepted (as for definitions: the rejected values are left out, and nothing is
    reported at, above or below one of them)."""
    findings = check_schema(TEST_SCHEMA, document.data)
    problems = [
        document.problem(f.pointer, f.code, f.message, f.hint, f.severity, key=f.at_key) for f in findings
    ]
    rejected = [f.pointer for f in findings if f.code != "missing-field"]  # the reader copes with a gap
    pruned = without_values(document.data, rejected)
    items = pruned.get("tests") if isinstance(pruned, dict) else None
    if not isinstance(items, list):
        return [], problems
    reader = _Reader(document)
    tests = [
        reader.test(f"/tests/{index}", item) for index, item in enumerate(items) if isinstance(item, dict)
    ]
    problems.extend(p for p in reader.problems if not any(related(p.pointer, r) for r in rejected))
    return [test for test in tests if test is not None], problems


class _Reader:
    """Reads a document's values the schema accepted (a field it rejected, or a missing one, is absent);
    what the schema cannot say becomes a located problem."""

    def __init__(self, document: SourceDocument) -> None:
        self.document = document
        self.problems: list[Problem] = []

    def test(self, pointer: str, item: Mapping[str, Json]) -> MonitorTest | None:
        """The test, or None without a monitor to test (its other fields are checked all the same)."""
        step_s = self._duration(join_pointer(pointer, "step"), item.get("step")) or DEFAULT_STEP_S
        series = tuple(
            self._series(join_pointer(pointer, "input", name), name, values, step_s)
            for name, values in item.get("input", {}).items()
        )
        expectations = tuple(
            self._expectation(join_pointer(pointer, "expect", index), check)
            for index, check in enumerate(item.get("expect", []))
        )
        if "monitor" not in item:
            return None
        return MonitorTest(
            name=item.get("name", ""),
            monitor=item["monitor"],
            series=tuple(s for s in series if s is not None),
            expectations=tuple(e for e in expectations if e is not None),
            source=self._where(pointer),
            monitor_source=self._where(join_pointer(pointer, "monitor")),
            env=item.get("env"),
            env_source=self._where(join_pointer(pointer, "env")) if "env" in item else None,
            istio=tuple(item.get("istio") or ()),
        )

    def _series(self, pointer: str, name: str, given: Json, step_s: int) -> InputSeries | None:
        spec = given if isinstance(given, dict) else {"values": given}
        values_pointer = join_pointer(pointer, "values") if isinstance(given, dict) else pointer
        series_name = self._notation(pointer, "bad-series", parse_series_name, name, key=True)
        values = None
        if "values" in spec:  # not when the schema rejected it
            values = self._notation(values_pointer, "bad-values", expand_values, spec["values"])
        own_step = self._duration(join_pointer(pointer, "step"), spec.get("step"))
        if series_name is not None and not self._known_metric(pointer, series_name):
            return None
        if series_name is None or values is None:
            return None
        return InputSeries(
            series_name,
            tuple(values),
            own_step or step_s,
            spec.get("type"),
            spec.get("interval"),
            self._where(pointer, key=True),
        )

    def _known_metric(self, pointer: str, name: SeriesName) -> bool:
        """A ``mesh:<key>`` series names a catalogue key (a Datadog metric name is taken as written)."""
        key = name.catalogue_key
        if key is None or key in catalogue.METRICS:
            return True
        hint = did_you_mean(name.metric, [f"mesh:{known}" for known in catalogue.METRICS])
        self._problem(
            pointer, "unknown-mesh-metric", f"no mesh metric '{key}' in the catalogue", hint, key=True
        )
        return False

    def _expectation(self, pointer: str, check: Mapping[str, Json]) -> Expectation | None:
        keys = set(check)
        is_at = keys == {"at", "states"}
        is_never = "never" in keys and keys <= {"never", "groups", "from", "until"}
        if not (is_at or is_never):
            self._problem(
                pointer,
                "expectation-form",
                "an expectation is either {at, states} or {never[, groups, from, until]}",
                'e.g. {at: 12m, states: {"service:cart": Alert}} or {never: Alert}',
            )
            return None
        if "at" in check:
            at_s = self._minute(join_pointer(pointer, "at"), check["at"])
            expected = tuple(
                ExpectedState(key, state, self._where(join_pointer(pointer, "states", key), key=True))
                for key, state in check["states"].items()
            )
            return None if at_s is None else StatesAt(at_s, expected, self._where(pointer))
        states = check["never"] if isinstance(check["never"], list) else [check["never"]]
        from_s = self._minute(join_pointer(pointer, "from"), check.get("from", "1m"))
        until_s = self._minute(join_pointer(pointer, "until"), check["until"]) if "until" in check else None
        if from_s is None or ("until" in check and until_s is None):
            return None
        groups = tuple(check.get("groups") or ())
        return Never(tuple(dict.fromkeys(states)), from_s, until_s, self._where(pointer), groups)

    def _minute(self, pointer: str, text: Json) -> int | None:
        seconds = self._duration(pointer, text)
        if seconds is None or (seconds > 0 and seconds % MINUTE == 0):
            return seconds
        self._problem(
            pointer,
            "not-a-minute",
            f"{text}: monitors are evaluated at whole minutes after the start",
            f"write a whole number of minutes, e.g. {format_duration(max(MINUTE, _whole_minutes(seconds)))}",
        )
        return None

    def _duration(self, pointer: str, text: Json) -> int | None:
        if text is None:
            return None
        return self._notation(pointer, "bad-duration", parse_duration, str(text))

    def _notation(
        self, pointer: str, code: str, read: Callable[[str], _T], text: str, key: bool = False
    ) -> _T | None:
        try:
            return read(text)
        except NotationError as exc:
            self._problem(pointer, code, exc.message, exc.hint, key=key)
            return None

    def _problem(self, pointer: str, code: str, message: str, hint: str = "", key: bool = False) -> None:
        self.problems.append(self.document.problem(pointer, code, message, hint, key=key))

    def _where(self, pointer: str, key: bool = False) -> SourceLocation:
        line, col = self.document.locate(pointer, key=key)
        return SourceLocation(self.document.path, line, col)


def _whole_minutes(seconds: int) -> int:
    return -(-seconds // MINUTE) * MINUTE
