"""Every command README.md and docs/ show is one the tool takes: each ``provisioner`` invocation parses with the
real CLI parser (flags exist, values valid), each synopsis names real options and values, and the runnable ones
run against an emulator in a copy of the repository. The README's quick start runs as a script of its own
(``test_quick_start.py``). What cannot run here is listed below with the reason."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.emulator import RunningEmulator
from provisioner.emulator.__main__ import _arguments as emulator_module_arguments
from tests.docs.shown import (
    DOCUMENTS,
    REPO,
    Shown,
    all_shown,
    anchors,
    blocks,
    prose_lines,
    section,
)
from tests.github.pipeline import (
    InvocationProblem,
    invocation_params,
    provisioner_invocations,
    simple_commands,
)

README = REPO / "README.md"
QUICK_START = "Quick start (no Datadog account needed)"
# Placeholders the documents write for a value, and what the parser is given instead.
PLACEHOLDERS = {
    "E": "staging",
    "ENV": "staging",
    "MODE": "openmetrics",
    "N": "1",
    "ID": "abc-def-ghi",
    "T": "team:mesh-sre",
    "GLOB": "*latency*",
    "FILE": "plan.json",
    "DIR": ".schemas",
    "S": "30",
    "URL": "https://github.com/owner/repo/actions/runs/1",
    "TEXT": "Environment: staging",
    "NAME": "provisioner-plan-staging",
}
# Programs other than provisioner that the documents show, and why the test does not run them. The README's
# quick start is run as a whole (test_quick_start.py), so its shell lines are not listed here.
NOT_RUN = {
    "pip": "installs the package: the suite runs in the installed environment",
    "python3": "creates the virtual environment of the set-up",
    ".": "activates the virtual environment of the set-up",
    "pytest": "the suite itself",
    "ruff": "the linter, run by .ci/run before the suite",
    "bash": "`bash .ci/run` creates a virtual environment and runs the suite",
    "export": "the real Datadog's keys and site; the commands after it run against the emulator instead",
    "curl": "an emulator serving on a fixed port; the quick start shows the same calls and runs them",
    "date": "part of the curl example",
    "jq": "reads the JSON the provisioner command before it prints (that command runs)",
}
# `python …` commands: benchmarks take minutes (their files must exist); the emulator module serves until
# stopped (its arguments are parsed).
BENCHMARK = re.compile(r"^benchmarks/bench_\w+\.py$")
# provisioner commands parsed but not run, and why.
NOT_RUN_SUBCOMMANDS = {
    "emulator": "serves until stopped (the quick start runs it in the background)",
    "github": "talks to GitHub's API",
}
SMALL_TEST_FILE = "monitors/tests/envoy-control-plane.yaml"
# Exit codes other than 0 that a command shown runs to here, and why.
EXPECTED_CODES = {
    ("import",): (1, "named in prose as the command; alone it asks what to import"),
    ("import", "--id", "1"): (1, "no monitor 1 in the test's org: nothing to import is reported as skipped"),
    ("import", "--dashboard", "abc-def-ghi"): (
        1,
        "the example dashboard id does not exist in the test's org",
    ),
}


def with_values(arguments: list[str]) -> list[str]:
    return [PLACEHOLDERS.get(argument, argument) for argument in arguments]


def parse_error(arguments: list[str]) -> str | None:
    try:
        invocation_params(arguments)
    except InvocationProblem as exc:
        return str(exc)
    return None


def invocations(shown: list[Shown]) -> Iterator[tuple[Shown, list[str]]]:
    for item in shown:
        if item.synopsis:
            continue
        for arguments in provisioner_invocations(item.text):
            if arguments[:1] == ["@"]:
                continue  # `provisioner @ git+https://…`: a pip requirement, not a command
            yield item, with_values([argument for argument in arguments if argument != "$@"])  # a function's


def test_every_provisioner_command_shown_parses() -> None:
    shown = list(invocations(all_shown()))
    assert len(shown) > 60  # every document's blocks and inline commands were read
    failures = [
        f"{item.where}: {' '.join(args)}: {parse_error(args)}" for item, args in shown if parse_error(args)
    ]
    assert not failures, "\n".join(failures)


def synopsis_invocations(text: str) -> Iterator[list[str]]:
    """``provisioner audit [PATHS] [--format text|json] (--id N | --all)`` → one invocation per option and value
    shown, with the options outside brackets (required ones) in each."""
    tokens = text.split()[1:]
    words = []
    while tokens and re.fullmatch(r"[a-z]+", tokens[0]):
        words.append(tokens.pop(0))
    depth = 0
    options: list[tuple[int, str, str | None]] = []  # (depth, option, value)
    for index, token in enumerate(tokens):
        core = token.strip("[]()")
        if core.startswith("-"):
            following = tokens[index + 1].strip("[]()") if index + 1 < len(tokens) else ""
            opens_group = index + 1 < len(tokens) and tokens[index + 1].startswith(("[", "("))
            value = following if following and not following.startswith("-") and following != "|" else None
            options.append(
                (depth + len(token) - len(token.lstrip("[(")), core, None if opens_group else value)
            )
        depth += token.count("[") + token.count("(") - token.count("]") - token.count(")")
    required = {option: (value or "").split("|")[0] for level, option, value in options if level == 0}
    for _, option, value in options:
        others = [
            part for other, first in required.items() if other != option for part in (other, first) if part
        ]
        for alternative in (value or "").split("|"):
            yield [*words, *others, option, *([alternative] if alternative else [])]
    if not options:
        yield words


def test_every_synopsis_names_options_and_values_the_cli_takes() -> None:
    synopses = [item for item in all_shown() if item.synopsis]
    assert len(synopses) >= 14  # the commands table
    failures = []
    for item in synopses:
        for arguments in synopsis_invocations(item.text):
            error = parse_error(with_values(arguments))
            if error:
                failures.append(f"{item.where}: {' '.join(arguments)}: {error}")
    assert not failures, "\n".join(failures)


def test_every_other_command_shown_is_accounted_for() -> None:
    quick_start = section(README, QUICK_START)
    unknown = []
    for item in all_shown():
        if item.synopsis or (item.path == README and item.text in quick_start and not item.inline):
            continue  # synopses: the test above; the quick start: run as a whole by test_quick_start.py
        for command in simple_commands(item.text):
            program = command[0]
            if program == "provisioner" or not re.fullmatch(r"[\w./-]+", program):
                continue  # not a program: the rest of a word a `$(…)` inside quotes split
            if program in ("python", "python3") and command[1:3] == ["-m", "provisioner.emulator"]:
                assert _emulator_module_parses(command[3:]), f"{item.where}: {item.text}"
            elif program == "python" and len(command) > 1 and BENCHMARK.match(command[1]):
                assert (REPO / command[1]).is_file(), f"{item.where}: no {command[1]}"
            elif program not in NOT_RUN:
                unknown.append(f"{item.where}: {item.text}")
    assert not unknown, "commands the test neither runs nor lists in NOT_RUN:\n" + "\n".join(unknown)


def _emulator_module_parses(arguments: list[str]) -> bool:
    try:
        emulator_module_arguments(arguments)
    except SystemExit:
        return False
    return True


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator) -> Path:
    """A copy of the repository's definitions and config; Datadog is the emulator (``dd_env``)."""
    for name in ("monitors", "dashboards", "provisioner.yaml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def runnable() -> list[tuple[Shown, list[str]]]:
    """The provisioner commands the documents show, outside the quick start, in document order, each once."""
    quick_start = section(README, QUICK_START)
    seen: set[tuple[str, ...]] = set()
    found = []
    for item, arguments in invocations(all_shown()):
        if item.path == README and item.text in quick_start and not item.inline:
            continue
        subcommand = next((argument for argument in arguments if not argument.startswith("-")), "")
        if subcommand in NOT_RUN_SUBCOMMANDS or tuple(arguments) in seen:
            continue
        seen.add(tuple(arguments))
        found.append((item, arguments))
    return found


def test_the_commands_shown_run_against_the_emulator(project: Path) -> None:
    commands = runnable()
    assert len(commands) > 30
    failures = []
    for item, arguments in commands:
        result = CliRunner().invoke(app, with_one_test_file(arguments))
        allowed = {0, 2} if "--detailed-exitcode" in arguments else {0}
        expected = EXPECTED_CODES.get(tuple(arguments))
        if expected is not None:
            allowed = {expected[0]}
        if result.exit_code not in allowed:
            failures.append(
                f"{item.where}: provisioner {' '.join(arguments)} exited {result.exit_code}:\n{result.output[-600:]}"
            )
    assert not failures, "\n\n".join(failures)


def with_one_test_file(arguments: list[str]) -> list[str]:
    """``provisioner test`` without paths runs every shipped monitor test (the quick start does, and
    tests/monitor_tests checks them); each other form shown runs here on the smallest test file."""
    if arguments[:1] != ["test"] or invocation_params(arguments)["paths"]:
        return arguments
    return [*arguments, SMALL_TEST_FILE]


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN = re.compile(r"`[^`]*`")


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for document in DOCUMENTS:
        for number, line in prose_lines(document):
            for target in _LINK.findall(_CODE_SPAN.sub("", line)):
                if re.match(r"^[a-z]+:", target):
                    continue  # https:, mailto:
                path_part, _, fragment = target.partition("#")
                path = (document.parent / path_part).resolve() if path_part else document
                where = f"{document.relative_to(REPO)}:{number}: {target}"
                if not path.exists():
                    broken.append(f"{where}: no such file")
                elif fragment and path.suffix == ".md" and fragment not in anchors(path):
                    broken.append(f"{where}: no such heading")
    assert not broken, "\n".join(broken)


def test_every_reference_page_is_linked_from_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    pages = sorted(path.name for path in (REPO / "docs").glob("*.md"))
    assert [page for page in pages if f"](docs/{page})" not in readme] == []


def test_the_readme_is_a_front_door_with_one_command_set_up_and_the_ci_test_command() -> None:
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 260
    quick_start = [block for block in blocks(README) if block.language == "bash"]
    set_up = quick_start[0].text.strip()
    assert set_up.count("\n") == 0 and "pip install -e '.[dev]'" in set_up  # set-up in one command
    (test_command,) = [block.text.strip() for block in blocks(README) if block.text.strip() == "pytest"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci  # CI runs the README's test command


def test_the_pages_on_audit_state_its_exit_code_default_and_the_ci_setting() -> None:
    """audit exits 0 with errors unless --fail-on says otherwise: the table and the audit page both say so."""
    audit = typer.main.get_command(app).commands["audit"]  # type: ignore[attr-defined]
    (fail_on,) = [param for param in audit.params if param.name == "fail_on"]
    default = getattr(fail_on.default, "value", fail_on.default)
    for page in ("commands.md", "audit-and-import.md"):
        text = (REPO / "docs" / page).read_text(encoding="utf-8")
        assert f"`--fail-on` defaults to `{default}`" in text, page
        assert "`--fail-on error`" in text, page


_RELATIVE_PATH = re.compile(r"(?<![\w/.])(?:\.\./)+([\w.-]+)")
GENERATED = {".schemas"}  # written by `provisioner schema --out .schemas`: editors' $schema paths name it


def test_no_page_points_at_a_path_outside_the_repository() -> None:
    """A clone has only the repository: a ``../`` path to a folder it does not hold (as ``../shared/...``
    did) points at nothing for a reader. Paths relative to a definition file (``../../.schemas``) name the
    repository's own folders."""
    held = {entry.name for entry in REPO.iterdir()} | GENERATED
    outside = [
        f"{document.relative_to(REPO)}:{number}: {found.group(0)}"
        for document in DOCUMENTS
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1)
        for found in _RELATIVE_PATH.finditer(line)
        if found.group(1) not in held
    ]
    assert not outside, "\n".join(outside)
