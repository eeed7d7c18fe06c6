"""The shipped pipeline (.github/, .pre-commit-hooks.yaml) checked against the real CLI and CI hygiene."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.main import get_command

from provisioner.cli import app

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
EXPECTED_WORKFLOWS = {"tests.yml", "plan.yml", "sync.yml", "drift.yml"}
DATADOG_COMMANDS = {"plan", "apply", "audit", "import"}
DATADOG_SECRETS = {"DD_API_KEY", "DD_APP_KEY"}

# --- reading shell scripts -----------------------------------------------------------------------

_CONTROL = {"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"}
_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "{", "}", "exec"}
_REDIRECT = re.compile(r"^[<>&]+$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELL_VALUE = re.compile(r"^(\$\{\{.*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)$")


def simple_commands(script: str) -> list[list[str]]:
    """The simple commands of a bash script, as words: control operators, redirections, leading keywords
    and variable assignments removed. Good enough for the scripts of a workflow, and loud when it is not
    (an unclosed quote raises)."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        tokens = iter(lexer)
        for token in tokens:
            if token in _CONTROL:
                commands.append(current)
                current = []
            elif _REDIRECT.match(token):
                if current and current[-1].isdigit():
                    current.pop()  # the "2" of "2>&1"
                next(tokens, None)  # the redirection's target
            elif current or not (token in _KEYWORDS or _ASSIGNMENT.match(token)):
                current.append(token)
        commands.append(current)
    return [command for command in commands if command]


def provisioner_invocations(script: str) -> list[list[str]]:
    """The arguments of every ``provisioner …`` (or ``python -m provisioner …``) in ``script``."""
    found = []
    for words in simple_commands(script):
        if Path(words[0]).name == "provisioner":
            found.append(words[1:])
        elif len(words) > 2 and words[0].startswith("python") and words[1:3] == ["-m", "provisioner"]:
            found.append(words[3:])
    return found


def invocation_problem(args: list[str]) -> str | None:
    """Why the real CLI would refuse ``provisioner <args>``, or None; parsed by the CLI's own parser."""
    command: Any = get_command(app)
    args = ["1" if _SHELL_VALUE.match(arg) else arg for arg in args]  # a value known only at run time
    position = 0
    path = "provisioner"
    while hasattr(command, "commands"):
        options = {opt: param.is_eager for param in command.params for opt in param.opts} | {"--help": True}
        while position < len(args) and args[position].startswith("-"):
            if args[position] not in options:
                return f"{path}: unknown option {args[position]}"
            if options[args[position]]:
                return None  # --help, --version: print and exit before any subcommand
            position += 1
        if position == len(args):
            return f"{path}: no subcommand"
        name = args[position]
        if name not in command.commands:
            return f"{path}: unknown subcommand {name!r}"
        command, path, position = command.commands[name], f"{path} {name}", position + 1
    try:
        command.make_context(path, list(args[position:]))
    except typer.Exit:
        return None  # --help
    except typer.TyperException as exc:
        return f"{path}: {exc.format_message()}"
    return None


def subcommand(args: list[str]) -> list[str]:
    """The subcommand path of an invocation, e.g. ["github", "comment"]."""
    words = [arg for arg in args if not arg.startswith("-")]
    return words[:2] if words[:1] == ["github"] else words[:1]


# --- reading workflows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    source: str  # file and job, for messages
    job_id: str
    job: dict[str, Any]
    step: dict[str, Any]

    @property
    def run(self) -> str:
        return str(self.step.get("run", ""))

    @property
    def invocations(self) -> list[list[str]]:
        return provisioner_invocations(self.run)

    @property
    def subcommands(self) -> set[str]:
        return {" ".join(subcommand(args)) for args in self.invocations}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a YAML mapping"
    return data


def workflow(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / name)


def workflow_paths() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.y*ml"))


def triggers(data: dict[str, Any]) -> dict[str, Any]:
    """The ``on:`` section as a mapping (YAML 1.1 reads the bare key ``on`` as True)."""
    on = data.get("on", data.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def steps_of(path: Path) -> Iterator[Step]:
    data = load(path)
    for job_id, job in (data.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            yield Step(f"{path.name}:{job_id}", job_id, job, step)


def action_steps() -> Iterator[Step]:
    for path in sorted(ACTIONS.glob("*/action.y*ml")):
        for step in load(path)["runs"].get("steps") or []:
            yield Step(f"{path.parent.name}/{path.name}", "composite", {}, step)


def all_steps() -> list[Step]:
    return [step for path in workflow_paths() for step in steps_of(path)] + list(action_steps())


def job_runs(data: dict[str, Any], job_id: str) -> str:
    return "\n".join(str(step.get("run", "")) for step in data["jobs"][job_id].get("steps") or [])


def secrets_in(value: Any) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z0-9_]+)", yaml.safe_dump(value)))


# --- the scanner itself --------------------------------------------------------------------------


def test_the_scanner_finds_invocations_inside_shell_constructs() -> None:
    script = (
        "status=0\n"
        "provisioner plan --detailed-exitcode --format markdown --out drift.md || status=$?\n"
        'if provisioner validate --format github; then echo "provisioner is fine"; fi\n'
        '{ provisioner apply > apply.txt 2>&1; } >> "$GITHUB_STEP_SUMMARY"\n'
        "DD_SITE=x python -m provisioner audit \\\n  --fail-on never | tee audit.md\n"
        "# provisioner in a comment is not a command\n"
    )
    assert provisioner_invocations(script) == [
        ["plan", "--detailed-exitcode", "--format", "markdown", "--out", "drift.md"],
        ["validate", "--format", "github"],
        ["apply"],
        ["audit", "--fail-on", "never"],
    ]


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ("provisioner plan --nope", "No such option: --nope"),
        ("provisioner plann", "unknown subcommand 'plann'"),
        ("provisioner plan --format xml", "Invalid value for '--format'"),
        ("provisioner github comment --artifact-url x", "Missing option '--body'"),
        ("provisioner github comment --body plan.md plan.md", "unexpected extra argument"),
        ("provisioner github", "no subcommand"),
        ("provisioner --verbose plan", "unknown option --verbose"),
        ("provisioner apply --concurrency 0", "Invalid value for '--concurrency'"),
    ],
)
def test_the_scanner_reports_what_the_cli_would_refuse(script: str, problem: str) -> None:
    [args] = provisioner_invocations(script)
    assert problem in (invocation_problem(args) or "")


@pytest.mark.parametrize(
    "script",
    [
        'provisioner github comment --body plan.md --pr "$PR_NUMBER"',
        "provisioner --version",
        "provisioner --debug plan --help",
        "provisioner apply --concurrency=4 monitors/",
    ],
)
def test_the_scanner_accepts_what_the_cli_accepts(script: str) -> None:
    [args] = provisioner_invocations(script)
    assert invocation_problem(args) is None


# --- every workflow ------------------------------------------------------------------------------


def test_the_pipeline_ships_its_workflows() -> None:
    assert {path.name for path in workflow_paths()} >= EXPECTED_WORKFLOWS


@pytest.mark.parametrize("path", workflow_paths(), ids=lambda p: p.name)
def test_workflow_parses_and_has_triggers_jobs_and_steps(path: Path) -> None:
    data = load(path)
    assert data.get("name"), f"{path.name}: give the workflow a name"
    assert triggers(data), f"{path.name}: no 'on:' triggers"
    for job_id, job in data["jobs"].items():
        assert job.get("runs-on") and job.get("steps"), f"{path.name}:{job_id}: needs runs-on and steps"
        assert job.get("timeout-minutes"), f"{path.name}:{job_id}: set timeout-minutes"


def test_run_scripts_are_valid_bash_and_take_expressions_only_through_env() -> None:
    scripts = [step for step in all_steps() if step.run]
    assert len(scripts) >= 12
    for step in scripts:
        assert "${{" not in step.run, f"{step.source}: pass ${{{{ … }}}} through env: (no script injection)"
        checked = subprocess.run(
            ["bash", "-n"], input=step.run, capture_output=True, text=True, timeout=30, check=False
        )
        assert checked.returncode == 0, f"{step.source}: {checked.stderr}"


def test_every_provisioner_invocation_is_accepted_by_the_cli() -> None:
    checked = 0
    for step in all_steps():
        for args in step.invocations:
            problem = invocation_problem(args)
            assert problem is None, f"{step.source}: `provisioner {' '.join(args)}`: {problem}"
            checked += 1
    assert checked >= 10, "the scanner found too few invocations; is it still reading the scripts?"


@pytest.mark.parametrize("path", workflow_paths(), ids=lambda p: p.name)
def test_no_workflow_uses_pull_request_target(path: Path) -> None:
    assert "pull_request_target" not in triggers(load(path))
    assert "pull_request_target" not in yaml.safe_dump(load(path)), "not in any expression either"


@pytest.mark.parametrize("path", workflow_paths(), ids=lambda p: p.name)
def test_permissions_are_set_and_write_scopes_only_where_used(path: Path) -> None:
    data = load(path)
    assert "permissions" in data, f"{path.name}: set top-level permissions (e.g. contents: read or {{}})"
    for job_id, job in data["jobs"].items():
        for scope in (data["permissions"], job.get("permissions", {})):
            assert scope not in ("write-all", "read-all"), f"{path.name}:{job_id}: list scopes one by one"
        writes = {name for name, level in _job_permissions(data, job).items() if level == "write"}
        used = {
            " ".join(subcommand(args))
            for step in steps_of(path)
            if step.job_id == job_id
            for args in step.invocations
        }
        needed = {"pull-requests"} if "github comment" in used else set()
        needed |= {"issues"} if "github issue" in used else set()
        assert writes == needed, f"{path.name}:{job_id}: write permissions {writes}, needed {needed}"


def _job_permissions(data: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    permissions = job.get("permissions", data.get("permissions"))
    return dict(permissions or {})


def test_actions_are_pinned_to_major_versions() -> None:
    uses = [str(step.step["uses"]) for step in all_steps() if "uses" in step.step]
    for use in uses:
        assert use.startswith("./") or re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", use), f"pin {use} to a major"
    official = {use.split("@")[0]: use for use in uses if use.startswith("actions/")}
    assert official == {
        "actions/checkout": "actions/checkout@v4",
        "actions/setup-python": "actions/setup-python@v5",
        "actions/upload-artifact": "actions/upload-artifact@v4",
    }
    assert all(use == official[use.split("@")[0]] for use in uses if use.startswith("actions/"))


def test_secrets_are_only_given_to_the_steps_that_call_datadog() -> None:
    for path in workflow_paths():
        data = load(path)
        assert not secrets_in(data.get("env", {})), f"{path.name}: no secrets in workflow-level env"
        for job_id, job in data["jobs"].items():
            outside_steps = {key: value for key, value in job.items() if key != "steps"}
            assert not secrets_in(outside_steps), f"{path.name}:{job_id}: give secrets to steps, not the job"
    for step in all_steps():
        names = secrets_in(step.step)
        if names:
            assert names <= DATADOG_SECRETS, f"{step.source}: unexpected secrets {names - DATADOG_SECRETS}"
            assert step.subcommands & DATADOG_COMMANDS, f"{step.source}: secrets for a step that needs none"


def test_every_step_that_calls_datadog_gets_the_keys_and_the_site() -> None:
    datadog_steps = [step for step in all_steps() if step.subcommands & DATADOG_COMMANDS]
    assert len(datadog_steps) >= 4
    for step in datadog_steps:
        env = step.step.get("env") or {}
        assert env.get("DD_API_KEY") == "${{ secrets.DD_API_KEY }}", step.source
        assert env.get("DD_APP_KEY") == "${{ secrets.DD_APP_KEY }}", step.source
        assert env.get("DD_SITE") == "${{ vars.DD_SITE }}", f"{step.source}: DD_SITE is a variable"


def test_every_step_that_calls_github_gets_the_job_token() -> None:
    github_steps = [step for step in all_steps() if any(s.startswith("github") for s in step.subcommands)]
    assert len(github_steps) >= 3
    for step in github_steps:
        assert (step.step.get("env") or {}).get("GITHUB_TOKEN") == "${{ github.token }}", step.source


# --- tests.yml -----------------------------------------------------------------------------------


def test_tests_run_on_every_push_and_pull_request_on_python_311_and_312() -> None:
    data = workflow("tests.yml")
    assert {"push", "pull_request"} <= set(triggers(data))
    assert triggers(data)["push"] is None, "every push: no branch filter"
    [job_id] = data["jobs"]
    assert {"3.11", "3.12"} <= set(data["jobs"][job_id]["strategy"]["matrix"]["python-version"])
    runs = [line.strip() for line in job_runs(data, job_id).splitlines() if line.strip()]
    assert runs == ["pip install -e '.[dev]'", "ruff check provisioner tests benchmarks", "pytest"]


# --- plan.yml ------------------------------------------------------------------------------------


def test_plan_runs_on_pull_requests_and_validates_first_without_secrets() -> None:
    data = workflow("plan.yml")
    assert set(triggers(data)) == {"pull_request"}
    validate = data["jobs"]["validate"]
    assert not secrets_in(validate)
    script = job_runs(data, "validate")
    assert ["validate", "--format", "github"] in provisioner_invocations(script)
    assert "$GITHUB_STEP_SUMMARY" in script
    assert 'exit "$status"' in script, "a validation failure must fail the check"


def test_plan_is_skipped_for_forks_and_needs_validation() -> None:
    plan = workflow("plan.yml")["jobs"]["plan"]
    assert plan["needs"] == "validate"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in plan["if"]


def test_plan_is_posted_as_the_sticky_comment_with_the_full_plan_as_an_artifact() -> None:
    steps = [step.step for step in steps_of(WORKFLOWS / "plan.yml") if step.job_id == "plan"]
    runs = [provisioner_invocations(str(step.get("run", ""))) for step in steps]
    plan_at = next(i for i, found in enumerate(runs) if found and found[0][0] == "plan")
    assert runs[plan_at][0] == ["plan", "--format", "markdown", "--out", "plan.md"]
    upload_at = next(i for i, step in enumerate(steps) if "upload-artifact" in str(step.get("uses")))
    assert steps[upload_at]["with"]["path"] == "plan.md"
    comment_at = next(i for i, found in enumerate(runs) if found and found[0][:2] == ["github", "comment"])
    comment = runs[comment_at][0]
    assert comment[comment.index("--body") + 1] == "plan.md"
    assert "--artifact-url" in comment
    upload_id = steps[upload_at]["id"]
    assert steps[comment_at]["env"]["ARTIFACT_URL"] == f"${{{{ steps.{upload_id}.outputs.artifact-url }}}}"
    assert plan_at < upload_at < comment_at


# --- sync.yml ------------------------------------------------------------------------------------


def test_sync_applies_on_merge_to_main_one_at_a_time_in_production() -> None:
    data = workflow("sync.yml")
    assert triggers(data)["push"] == {"branches": ["main"]}
    concurrency = data["concurrency"]
    assert concurrency["group"]
    assert concurrency["cancel-in-progress"] is False
    [job] = [
        job
        for job_id, job in data["jobs"].items()
        if ["apply"] in provisioner_invocations(job_runs(data, job_id))
    ]
    environment = job["environment"]
    assert (environment if isinstance(environment, str) else environment["name"]) == "production"


# --- drift.yml -----------------------------------------------------------------------------------


def test_drift_is_checked_on_a_schedule_and_keeps_one_issue() -> None:
    data = workflow("drift.yml")
    assert triggers(data)["schedule"][0]["cron"]
    steps = {
        step.step.get("name"): step for step in steps_of(WORKFLOWS / "drift.yml") if step.job_id == "drift"
    }
    plan = next(step for step in steps.values() if "plan" in step.subcommands)
    assert "--detailed-exitcode" in plan.invocations[0]
    assert 'echo "exit-code=$status" >> "$GITHUB_OUTPUT"' in plan.run
    plan_id = plan.step["id"]
    on_drift = f"steps.{plan_id}.outputs.exit-code == '2'"
    on_sync = f"steps.{plan_id}.outputs.exit-code == '0'"
    issue_steps = [step for step in steps.values() if "github issue" in step.subcommands]
    opens = [step for step in issue_steps if step.step.get("if") == on_drift]
    closes = [step for step in issue_steps if step.step.get("if") == on_sync]
    assert len(opens) == 1 and "--close" not in opens[0].invocations[0]
    assert len(closes) == 1 and "--close" in closes[0].invocations[0]
    fails = [step for step in steps.values() if step.step.get("if") == on_drift and "exit 1" in step.run]
    assert fails, "drift must fail the job"


def test_drift_issue_and_close_use_the_same_marker_and_label() -> None:
    issue_calls = [
        args for step in all_steps() for args in step.invocations if subcommand(args) == ["github", "issue"]
    ]

    def option(args: list[str], name: str) -> str:
        return args[args.index(name) + 1]

    assert len({option(args, "--marker") for args in issue_calls}) == 1
    assert len({option(args, "--label") for args in issue_calls}) == 1


# --- actionlint, when installed ------------------------------------------------------------------


def _actionlint() -> str | None:
    return shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed")
def test_actionlint_is_clean() -> None:
    result = subprocess.run(
        [str(_actionlint()), "-no-color", *map(str, workflow_paths())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the pre-commit hook -------------------------------------------------------------------------


def test_pre_commit_hook_validates_the_whole_repository_when_a_definition_changes() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "provisioner-validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # every file, so a duplicate id across files fails locally
    files = re.compile(hook["files"])
    for path in ["monitors/mesh.yaml", "monitors/team/checkout.yml", "dashboards/overview.yaml", "provisioner.yaml"]:
        assert files.search(path), path
    for path in ["README.md", "monitors/notes.md", "src/monitors/x.yaml", "team/provisioner.yaml"]:
        assert not files.search(path), path
    [args] = provisioner_invocations(hook["entry"])
    assert args[0] == "validate"
    assert invocation_problem(args) is None
