"""The shipped pipeline (.github/, .pre-commit-hooks.yaml) checked against the real CLI and CI hygiene."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.github.pipeline import (
    DATADOG_COMMANDS,
    DATADOG_SECRETS,
    GITHUB,
    ROOT,
    WORKFLOWS,
    all_steps,
    invocation_problem,
    job_runs,
    load,
    option,
    provisioner_invocations,
    secrets_in,
    steps_of,
    subcommand,
    triggers,
    workflow,
    workflow_paths,
)

EXPECTED_WORKFLOWS = {"tests.yml", "plan.yml", "sync.yml", "drift.yml"}
# The first major version of each action that runs on Node 24 (GitHub deprecated Node 20).
NODE24_MAJORS = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
}
_PINNED_USE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+?)@([0-9a-f]{40})\s+#\s*(v\d+(?:\.\d+){0,2})\s*$")
_USE_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)")

# --- the scanner itself --------------------------------------------------------------------------


def test_the_scanner_finds_invocations_inside_shell_constructs() -> None:
    script = (
        "status=0\n"
        "provisioner plan --detailed-exitcode --format markdown --out drift.md || status=$?\n"
        'if provisioner validate --format github; then echo "provisioner is fine"; fi\n'
        '{ provisioner apply > apply.txt 2>&1; } >> "$GITHUB_STEP_SUMMARY"\n'
        "DD_SITE=x python -m provisioner audit \\\n  --fail-on never | tee audit.md\n"
        "# provisioner in a comment is not a command\n"
        'while read -r environment; do provisioner validate --env "$environment"; done < envs.txt\n'
    )
    assert provisioner_invocations(script) == [
        ["plan", "--detailed-exitcode", "--format", "markdown", "--out", "drift.md"],
        ["validate", "--format", "github"],
        ["apply"],
        ["audit", "--fail-on", "never"],
        ["validate", "--env", "$environment"],
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
        ("provisioner environments --format yaml", "Invalid value for '--format'"),
    ],
)
def test_the_scanner_reports_what_the_cli_would_refuse(script: str, problem: str) -> None:
    [args] = provisioner_invocations(script)
    assert problem in (invocation_problem(args) or "")


@pytest.mark.parametrize(
    "script",
    [
        'provisioner github comment --body plan.md --pr "$PR_NUMBER" --heading "Environment: $ENVIRONMENT"',
        "provisioner --version",
        "provisioner --debug plan --help",
        "provisioner apply --concurrency=4 monitors/",
        "provisioner environments --format json",
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
def test_every_job_asks_for_its_own_minimal_permissions(path: Path) -> None:
    data = load(path)
    assert data.get("permissions") == {}, f"{path.name}: top-level permissions: {{}}; jobs ask for their own"
    for job_id, job in data["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{path.name}:{job_id}: list the job's permissions one by one"
        checks_out = any(str(step.get("uses", "")).startswith("actions/checkout@") for step in job["steps"])
        if checks_out:
            assert permissions.get("contents") == "read", f"{path.name}:{job_id}: contents: read to check out"
        else:
            assert "contents" not in permissions, f"{path.name}:{job_id}: checks nothing out"
        writes = {name for name, level in permissions.items() if level == "write"}
        used = {
            " ".join(subcommand(args))
            for step in steps_of(path)
            if step.job_id == job_id
            for args in step.invocations
        }
        needed = {"pull-requests"} if "github comment" in used else set()
        needed |= {"issues"} if "github issue" in used else set()
        assert writes == needed, f"{path.name}:{job_id}: write permissions {writes}, needed {needed}"
        allowed = ({"contents"} if checks_out else set()) | needed
        assert set(permissions) <= allowed, f"{path.name}:{job_id}: scopes it does not use"


def _uses_lines() -> list[tuple[str, str]]:
    """Every ``uses:`` line of the workflows and actions, as (file:line, text): comments included."""
    found = []
    for path in sorted(GITHUB.rglob("*.y*ml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if _USE_LINE.match(line):
                found.append((f"{path.relative_to(ROOT)}:{number}", line))
    return found


def test_every_action_is_pinned_to_a_full_commit_with_its_version_in_a_comment() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for where, line in _uses_lines():
        pinned = _PINNED_USE.match(line)
        assert pinned, f"{where}: pin by full commit SHA with the version in a comment: {line.strip()}"
        action, sha, version = pinned.groups()
        pins.setdefault(action, set()).add((sha, version))
    assert set(NODE24_MAJORS) <= set(pins), "the pipeline checks out, sets up Python and uploads artifacts"
    for action, versions in pins.items():
        assert len(versions) == 1, f"{action}: one commit everywhere, found {sorted(versions)}"
        [(_, version)] = versions
        major = int(version.lstrip("v").split(".")[0])
        assert major >= NODE24_MAJORS.get(action, 0), f"{action}@{version} runs on a deprecated Node"


def test_checkouts_do_not_persist_the_token() -> None:
    checkouts = [
        step for step in all_steps() if str(step.step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    for step in checkouts:
        assert (step.step.get("with") or {}).get("persist-credentials") is False, step.source


def test_dependabot_keeps_the_actions_and_the_python_dependencies_up_to_date() -> None:
    config = load(GITHUB / "dependabot.yml")
    assert config["version"] == 2
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    actions = updates["github-actions"]
    assert "/" in actions.get("directories", [actions.get("directory")])
    for update in updates.values():
        assert update["schedule"]["interval"] in {"daily", "weekly", "monthly"}


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


def test_every_step_that_calls_github_gets_the_job_token() -> None:
    github_steps = [step for step in all_steps() if any(s.startswith("github") for s in step.subcommands)]
    assert len(github_steps) >= 3
    for step in github_steps:
        assert (step.step.get("env") or {}).get("GITHUB_TOKEN") == "${{ github.token }}", step.source


# --- tests.yml -----------------------------------------------------------------------------------


def test_tests_run_ci_on_every_push_and_pull_request_and_once_at_the_dependency_floors() -> None:
    data = workflow("tests.yml")
    assert {"push", "pull_request"} <= set(triggers(data))
    assert triggers(data)["push"] is None, "every push: no branch filter"
    test = data["jobs"]["test"]
    assert {"3.11", "3.12"} <= set(test["strategy"]["matrix"]["python-version"])
    assert job_runs(data, "test").split() == ["bash", ".ci/run"], "CI runs what a clean clone runs"
    assert job_runs(data, "lowest").split() == ["bash", ".ci/run", "--lowest"]
    [python] = [
        step["with"]["python-version"]
        for step in data["jobs"]["lowest"]["steps"]
        if "with" in step and "python-version" in step["with"]
    ]
    assert python == "3.11", "the floors are tested on the lowest Python too"


# --- plan.yml ------------------------------------------------------------------------------------


def test_plan_runs_on_pull_requests_and_validates_every_environment_first_withoutsecrets_in() -> None:
    data = workflow("plan.yml")
    assert set(triggers(data)) == {"pull_request"}
    validate = data["jobs"]["validate"]
    assert not secrets_in(validate)
    script = job_runs(data, "validate")
    assert ["validate", "--env", "$environment", "--format", "github"] in provisioner_invocations(script)
    assert ["environments"] in provisioner_invocations(script)
    assert "$GITHUB_STEP_SUMMARY" in script
    assert 'exit "$status"' in script, "a validation failure must fail the check"


def test_plan_is_skipped_for_forks_and_runs_even_when_validation_failed() -> None:
    plan = workflow("plan.yml")["jobs"]["plan"]
    assert plan["needs"] == "validate"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in plan["if"]
    # Skipped after a failed validation, its comment would keep showing an older commit's plan.
    assert plan["if"].startswith("!cancelled() && "), "runs whatever validation's result"
    assert "needs.validate.outputs.environments != ''" in plan["if"], "but not without a matrix"
    [failed] = [step for step in plan["steps"] if "failure()" in str(step.get("if", ""))]
    [args] = provisioner_invocations(failed["run"])
    assert option(args, "--body") == "plan-failed.md"
    assert option(args, "--marker") == "provisioner-plan-$ENVIRONMENT"
    assert plan["strategy"]["fail-fast"] is False, "one environment's failed plan must not hide the others"


def test_each_plan_is_posted_as_its_environments_sticky_comment_with_the_plan_as_an_artifact() -> None:
    steps = [step.step for step in steps_of(WORKFLOWS / "plan.yml") if step.job_id == "plan"]
    runs = [provisioner_invocations(str(step.get("run", ""))) for step in steps]
    plan_at = next(i for i, found in enumerate(runs) if found and found[0][0] == "plan")
    assert runs[plan_at][0] == [
        "plan", "--env", "$ENVIRONMENT", "--format", "markdown", "--out", "plan.md", "--save-plan", "plan.json"
    ]  # fmt: skip
    upload_at = next(i for i, step in enumerate(steps) if "upload-artifact" in str(step.get("uses")))
    # plan.md is cut to fit a comment; the artifact keeps the whole plan too
    assert steps[upload_at]["with"]["path"].split() == ["plan.md", "plan.json"]
    assert "${{ matrix.environment }}" in steps[upload_at]["with"]["name"], "one artifact per environment"
    comments = [
        (i, found[0]) for i, found in enumerate(runs) if found and found[0][:2] == ["github", "comment"]
    ]
    for _, comment in comments:
        assert comment[comment.index("--marker") + 1] == "provisioner-plan-$ENVIRONMENT"
    comment_at, comment = comments[0]
    assert comment[comment.index("--body") + 1] == "plan.md"
    assert "--artifact-url" in comment
    upload_id = steps[upload_at]["id"]
    assert steps[comment_at]["env"]["ARTIFACT_URL"] == f"${{{{ steps.{upload_id}.outputs.artifact-url }}}}"
    assert plan_at < upload_at < comment_at


# --- sync.yml ------------------------------------------------------------------------------------


def test_sync_applies_on_merge_to_main_one_sync_at_a_time_never_cancelled() -> None:
    data = workflow("sync.yml")
    assert triggers(data)["push"] == {"branches": ["main"]}
    assert data["concurrency"]["group"]
    assert data["concurrency"]["cancel-in-progress"] is False
    apply = data["jobs"]["apply"]
    assert apply["needs"] == ["validate", "plan", "changes"]
    assert apply["if"] == "needs.changes.outputs.any == 'true'", "no apply job (no approval) for no change"
    assert apply["strategy"]["max-parallel"] == 1, "one environment at a time"
    assert apply["strategy"]["fail-fast"] is True, "a failed environment stops the ones after it"
    validations = provisioner_invocations(job_runs(data, "validate"))
    assert ["validate", "--env", "$environment", "--format", "github"] in validations


def test_apply_and_drift_of_one_environment_share_a_concurrency_group_and_are_never_cancelled() -> None:
    apply = workflow("sync.yml")["jobs"]["apply"]["concurrency"]
    drift = workflow("drift.yml")["jobs"]["drift"]["concurrency"]
    assert apply == drift
    assert "${{ matrix.environment }}" in apply["group"], "one group per environment"
    assert apply["cancel-in-progress"] is False


# --- drift.yml -----------------------------------------------------------------------------------


def test_drift_is_checked_on_a_schedule_and_keeps_one_issue_per_environment() -> None:
    data = workflow("drift.yml")
    assert triggers(data)["schedule"][0]["cron"]
    assert data["jobs"]["drift"]["strategy"]["fail-fast"] is False, "every environment is checked"
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
    for step in issue_steps:
        [args] = step.invocations
        assert args[args.index("--marker") + 1] == "provisioner-drift-$ENVIRONMENT", step.source
    fails = [step for step in steps.values() if step.step.get("if") == on_drift and "exit 1" in step.run]
    assert fails, "drift must fail the job"


def test_drift_issue_and_close_use_the_same_marker_and_label() -> None:
    issue_calls = [
        args for step in all_steps() for args in step.invocations if subcommand(args) == ["github", "issue"]
    ]

    def option(args: list[str], name: str) -> str:
        return args[args.index(name) + 1]

    assert len(issue_calls) == 2
    assert len({option(args, "--marker") for args in issue_calls}) == 1
    assert len({option(args, "--label") for args in issue_calls}) == 1


# --- the pre-commit hook -------------------------------------------------------------------------


def test_pre_commit_hook_validates_the_whole_repository_when_a_definition_changes() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "provisioner-validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # every file, so a duplicate id across files fails locally
    files = re.compile(hook["files"])
    for path in [
        "monitors/mesh.yaml",
        "monitors/team/checkout.yml",
        "dashboards/overview.yaml",
        "provisioner.yaml",
    ]:
        assert files.search(path), path
    for path in ["README.md", "monitors/notes.md", "src/monitors/x.yaml", "team/provisioner.yaml"]:
        assert not files.search(path), path
    [args] = provisioner_invocations(hook["entry"])
    assert args[0] == "validate"
    assert invocation_problem(args) is None
