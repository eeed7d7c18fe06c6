"""One pipeline per environment of provisioner.yaml: the matrix is read from the config by running the
workflows' own steps, plans run side by side, applies run one after another in the declared order, and
the write key exists only where a protected environment guards it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.commands.key_check import EXPECT_READ_ONLY_KEY

if TYPE_CHECKING:
    from conftest import OutputSchemas

from tests.github.pipeline import (
    API_KEY,
    ENVIRONMENT_COMMANDS,
    ENVIRONMENT_VARIABLE,
    MATRIX_ENVIRONMENT,
    READ_KEY,
    ROOT,
    WRITE_KEY,
    JobInstance,
    Runner,
    Step,
    all_steps,
    job_outputs,
    load,
    matrix_jobs,
    needs,
    option,
    provisioner_invocations,
    secrets_in,
    subcommand,
    triggers,
    workflow,
    workflow_paths,
)

TWO_ENVIRONMENTS = """\
namespace: mesh-sre
default_environment: staging
environments:
  {first}:
    site: datadoghq.eu
    tags: ["env:{first}"]
  {second}:
    site: datadoghq.eu
    tags: ["env:{second}"]
"""


def project_with(tmp_path: Path, first: str, second: str) -> Path:
    (tmp_path / "provisioner.yaml").write_text(TWO_ENVIRONMENTS.format(first=first, second=second))
    return tmp_path


def applies_when_every_plan_changes(project: Path, artifacts: Path) -> list[JobInstance]:
    """sync.yml's apply jobs after every environment's plan found changes (each plan job uploads a file
    ``changes`` in its artifact then): the ``changes`` job run on those artifacts gives the matrix."""
    sync = workflow("sync.yml")
    declared = json.loads(job_outputs(sync, "validate", project)["environments"])["environments"]
    for environment in declared:
        (artifacts / f"plan-{environment}").mkdir(parents=True)
        (artifacts / f"plan-{environment}" / "changes").touch()
    runner = Runner(artifacts, {}, {}, dict(os.environ), needs={"validate": job_outputs(sync, "validate", project)})
    workspace = artifacts.parent / "changes-job"
    workspace.mkdir()
    return matrix_jobs(sync, "apply", project, runner.job_outputs(sync, "changes", workspace))


def calls(instance: JobInstance, command: str) -> list[list[str]]:
    """The ``provisioner <command>`` invocations of a job, with the matrix environment filled in."""
    found = []
    for step in instance.steps:
        for args in provisioner_invocations(instance.expand(str(step.get("run", "")))):
            if " ".join(subcommand(args)) == command:
                found.append(args)
    return found


def artifacts(instance: JobInstance, direction: str) -> list[tuple[str, str]]:
    """(name, path) of each artifact a job uploads or downloads, with the matrix filled in."""
    return [
        (instance.expand(step["with"]["name"]), instance.expand(str(step["with"].get("path", "."))))
        for step in instance.steps
        if str(step.get("uses", "")).startswith(f"actions/{direction}-artifact@")
    ]


def uploads(instance: JobInstance) -> list[str]:
    return [name for name, _ in artifacts(instance, "upload")]


# --- the command the matrix is read with ---------------------------------------------------------


def test_environments_lists_the_config_in_declared_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_schemas: OutputSchemas
) -> None:
    monkeypatch.chdir(project_with(tmp_path, "production", "staging"))
    text = CliRunner().invoke(app, ["environments"])
    as_json = CliRunner().invoke(app, ["environments", "--format", "json"])
    assert (text.exit_code, text.stdout) == (0, "production\nstaging\n")
    assert as_json.exit_code == 0
    assert as_json.stdout.count("\n") == 1, "one line, as $GITHUB_OUTPUT takes it"
    document = json.loads(as_json.stdout)
    output_schemas.check("environments", document)
    assert document == {
        "format_version": 1,
        "default_environment": "staging",
        "environments": ["production", "staging"],
    }


def test_environments_without_a_config_is_the_one_implicit_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_schemas: OutputSchemas
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["environments", "--format", "json"])
    assert result.exit_code == 0
    output_schemas.check("environments", json.loads(result.stdout))
    assert json.loads(result.stdout)["environments"] == ["default"]


def test_environments_of_a_broken_config_exit_1_with_where_and_what(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text("namespace: mesh-sre\nenvironments: [staging]\n")
    result = CliRunner().invoke(app, ["environments", "--format", "json"])
    assert result.exit_code == 1
    assert "provisioner.yaml:2:15" in result.output and "expected a mapping" in result.output


# --- every call that talks to Datadog runs for one environment -----------------------------------


def test_every_plan_apply_and_audit_call_passes_env_from_the_matrix() -> None:
    checked = 0
    for step in all_steps():
        for args in step.invocations:
            if subcommand(args)[0] not in ENVIRONMENT_COMMANDS:
                continue
            assert option(args, "--env") == f"${ENVIRONMENT_VARIABLE}", f"{step.source}: {args}: --env"
            assert step.env.get(ENVIRONMENT_VARIABLE) == MATRIX_ENVIRONMENT, f"{step.source}: env"
            assert "environment" in (step.job.get("strategy") or {}).get("matrix", {}), step.source
            checked += 1
    assert checked >= 4, "plan (pull requests), apply (sync), plan and audit (drift)"


# --- two environments in provisioner.yaml --------------------------------------------------------


def test_two_environments_give_two_plans_each_with_its_own_comment_and_artifact(tmp_path: Path) -> None:
    plans = matrix_jobs(workflow("plan.yml"), "plan", project_with(tmp_path, "staging", "production"))

    assert [job.name for job in plans] == ["plan (staging)", "plan (production)"]
    assert all(job.github_environment is None for job in plans), "a pull request never enters an environment"
    for job in plans:
        [plan] = calls(job, "plan")
        assert option(plan, "--env") == job.environment
        comments = calls(job, "github comment")
        assert {option(args, "--marker") for args in comments} == {f"provisioner-plan-{job.environment}"}
        assert uploads(job) == [f"plan-pr-${{{{ github.event.pull_request.number }}}}-{job.environment}"]
    assert not plans[0].fail_fast, "a failed plan in one environment must not cancel the other"


@pytest.mark.parametrize("order", [("staging", "production"), ("production", "staging")])
def test_two_environments_give_two_applies_one_after_another_in_declared_order(
    tmp_path: Path, order: tuple[str, str]
) -> None:
    applies = applies_when_every_plan_changes(project_with(tmp_path, *order), tmp_path / "artifacts")

    assert [job.environment for job in applies] == list(order), "GitHub creates matrix jobs in this order"
    assert [job.github_environment for job in applies] == list(order), "each in its GitHub environment"
    assert [job.name for job in applies] == [f"apply ({name})" for name in order]
    assert applies[0].max_parallel == 1, "the second starts only when the first has finished"
    assert applies[0].fail_fast, "and is cancelled when the first failed"
    for job in applies:
        [apply] = calls(job, "apply")
        assert option(apply, "--env") == job.environment


def test_two_environments_give_two_drift_checks_and_audits_each_keeping_its_own_issue(tmp_path: Path) -> None:
    project = project_with(tmp_path, "staging", "production")
    drift = workflow("drift.yml")
    checks = matrix_jobs(drift, "drift", project)
    audits = matrix_jobs(drift, "audit", project)

    assert (
        [job.environment for job in checks]
        == [job.environment for job in audits]
        == ["staging", "production"]
    )
    for job in checks:
        [plan] = calls(job, "plan")
        assert option(plan, "--env") == job.environment and "--detailed-exitcode" in plan
        markers = {option(args, "--marker") for args in calls(job, "github issue")}
        assert markers == {f"provisioner-drift-{job.environment}"}
        assert uploads(job) == [f"drift-{job.environment}"]
    for job in audits:
        [audit] = calls(job, "audit")
        assert option(audit, "--env") == job.environment
    assert len({*uploads(audits[0]), *uploads(audits[1])}) == 2


# --- two keys: read-only everywhere, write only in protected environments ------------------------


def test_no_job_outside_a_protected_environment_references_the_write_key() -> None:
    writers = 0
    for path in workflow_paths():
        data = load(path)
        for job_id, job in data["jobs"].items():
            if WRITE_KEY not in secrets_in(job):
                continue
            assert job.get("environment") == MATRIX_ENVIRONMENT, f"{path.name}:{job_id}: write key outside"
            assert "pull_request" not in triggers(data), f"{path.name}: a pull request must never see it"
            writers += 1
    assert writers == 1, "only sync's apply job writes"


def test_sync_plans_each_environment_before_the_gate_and_applies_exactly_that_plan_behind_it(
    tmp_path: Path,
) -> None:
    sync = workflow("sync.yml")
    project = project_with(tmp_path, "staging", "production")
    plans = {job.environment: job for job in matrix_jobs(sync, "plan", project)}
    applies = applies_when_every_plan_changes(project, tmp_path / "artifacts")

    assert "plan" in needs(sync["jobs"]["apply"]), "no apply before every plan is made and shown"
    assert list(plans) == [job.environment for job in applies] == ["staging", "production"]
    for apply in applies:
        plan = plans[apply.environment]
        assert plan.github_environment is None, "the plan is made before any approval, with the read key"
        assert WRITE_KEY not in secrets_in(list(plan.steps))
        [planned] = calls(plan, "plan")
        assert option(planned, "--save-plan") == "plan.json" and option(planned, "--env") == apply.environment
        assert any("GITHUB_STEP_SUMMARY" in str(step.get("run", "")) for step in plan.steps), "shown"
        [(name, files)] = artifacts(plan, "upload")
        assert "plan.json" in files.split()

        assert apply.github_environment == apply.environment
        assert calls(apply, "plan") == [], "the gated job makes no plan of its own"
        [(downloaded, folder)] = artifacts(apply, "download")
        assert downloaded == name, "the apply job takes the plan of its own environment's plan job"
        [applied] = calls(apply, "apply")
        assert Path(option(applied, "--plan") or "") == Path(folder) / "plan.json", "the downloaded file"
        assert "--prune" in applied, "a definition removed in a reviewed pull request is deleted"
        assert "--force" not in applied, "under the guard against deleting more than a quarter at once"


def test_reads_use_the_read_only_key_and_applies_the_write_key() -> None:
    datadog_steps = [step for step in all_steps() if step.subcommands & {"plan", "apply", "audit", "import"}]
    assert len(datadog_steps) >= 4
    for step in datadog_steps:
        env = step.step.get("env") or {}
        key = WRITE_KEY if step.subcommands == {"apply"} else READ_KEY
        assert env.get("DD_APP_KEY") == f"${{{{ secrets.{key} }}}}", f"{step.source}: DD_APP_KEY from {key}"
        assert env.get("DD_API_KEY") == f"${{{{ secrets.{API_KEY} }}}}", step.source
        assert env.get("DD_SITE") == "${{ vars.DD_SITE }}", f"{step.source}: DD_SITE is a variable"
        # The write key only behind a protected environment, and nothing but the apply there: a reviewer
        # approves a plan already made and shown.
        assert _deploys(step) == (key == WRITE_KEY), f"{step.source}: {key} and environment"
        if "plan" in step.subcommands:
            assert env.get(EXPECT_READ_ONLY_KEY) == "true", f"{step.source}: plan checks its key is read-only"


def _deploys(step: Step) -> bool:
    return step.job.get("environment") is not None


def test_the_ci_guides_secrets_table_says_where_each_secret_and_variable_lives() -> None:
    guide = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    section = guide.split("\n## 1. Secrets, variables and settings", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ") and "`" in line]
    where = {cells[1].strip().strip("`"): cells[0].strip() for cells in rows}
    referenced = {name for path in workflow_paths() for name in secrets_in(load(path))}
    assert referenced == {API_KEY, READ_KEY, WRITE_KEY}
    assert "Environment secret" in where[WRITE_KEY] and "Repository" not in where[WRITE_KEY]
    assert where[READ_KEY].startswith("Repository secret") and where[API_KEY].startswith("Repository secret")
    variables = {name for path in workflow_paths() for name in _variables(path)}
    assert variables == {"DD_SITE", "PROVISIONER_PACKAGE"}
    assert all("variable" in where[name] for name in variables)


def _variables(path: Path) -> set[str]:
    return set(re.findall(r"vars\.([A-Za-z0-9_]+)", path.read_text(encoding="utf-8")))
