"""The shipped jobs, run as GitHub runs them (their scripts in order, artifacts handed from job to job)
against the emulator: a merge's sync applies the plan each environment's reviewers saw, removes what was
removed from the definitions, and keeps two environments of one org apart; a pull request's plan that
fails says why in its comment."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner.emulator import RunningEmulator
from tests.conftest import TEST_API_KEY, TEST_APP_KEY
from tests.github.pipeline import (
    API_KEY,
    READ_KEY,
    WRITE_KEY,
    JobInstance,
    Runner,
    job_outputs,
    matrix_jobs,
    workflow,
)

ONE_ORG = """\
default_environment: staging
environments:
  staging:
    namespace: mesh-staging
    tags: ["env:staging"]
  production:
    namespace: mesh-production
    tags: ["env:production"]
"""
MONITOR = """\
kind: monitor
id: {service}-cpu
name: {service} cpu
type: metric alert
query: avg(last_5m):avg:kubernetes.cpu.usage.total{{service:{service}}} > 2
message: CPU of {service} is high. @slack-mesh-oncall
options:
  thresholds: {{critical: 2}}
"""
SERVICES = ("cart", "checkout", "catalog", "payments", "reviews")


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """Five monitors and two environments that share one org, each with its own namespace."""
    root = tmp_path / "repository"
    (root / "monitors").mkdir(parents=True)
    (root / "provisioner.yaml").write_text(ONE_ORG)
    for service in SERVICES:
        (root / "monitors" / f"{service}.yaml").write_text(MONITOR.format(service=service))
    return root


def runner_for(emulator: RunningEmulator, artifacts: Path) -> Runner:
    machine = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DD_", "GITHUB_", "PROVISIONER_API_URL", "PROVISIONER_EXPECT"))
    }
    return Runner(
        artifacts=artifacts,
        secrets={API_KEY: TEST_API_KEY, READ_KEY: TEST_APP_KEY, WRITE_KEY: TEST_APP_KEY},
        variables={},  # DD_SITE unset: the emulator's URL comes from the machine
        environ={**machine, "PROVISIONER_API_URL": emulator.base_url, "NO_COLOR": "1"},
    )


def checkout(repository: Path, workspace: Path) -> Path:
    shutil.copytree(repository, workspace)
    return workspace


def run_ok(runner: Runner, job: JobInstance, workspace: Path) -> str:
    runs = runner.run(job, workspace)
    failed = [run for run in runs if run.exit_code != 0]
    assert not failed, f"{job.name}: {failed[0].name} failed:\n{failed[0].output}"
    return "\n".join(run.output for run in runs)


def sync(repository: Path, emulator: RunningEmulator, run: Path) -> list[str]:
    """One run of sync.yml after validation: every plan job, the job that lists the environments with
    changes, then an apply job for each of those, in order; the apply jobs' logs."""
    data = workflow("sync.yml")
    runner = runner_for(emulator, run / "artifacts")
    runner.needs["validate"] = job_outputs(data, "validate", repository)
    for job in matrix_jobs(data, "plan", repository):
        run_ok(runner, job, checkout(repository, run / job.name))
    changes = runner.job_outputs(data, "changes", checkout(repository, run / "changes"))
    assert data["jobs"]["apply"]["if"] == "needs.changes.outputs.any == 'true'"
    if changes["any"] != "true":  # GitHub skips the job: no matrix, no approval asked
        assert json.loads(changes["environments"]) == {"environments": []}
        return []
    return [
        run_ok(runner, job, checkout(repository, run / job.name))
        for job in matrix_jobs(data, "apply", repository, changes)
    ]


def monitors_by_namespace(emulator: RunningEmulator) -> Counter[str]:
    request = urllib.request.Request(
        f"{emulator.base_url}/api/v1/monitor",
        headers={"DD-API-KEY": TEST_API_KEY, "DD-APPLICATION-KEY": TEST_APP_KEY},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        monitors = json.load(response)
    return Counter(
        tag.split(":", 1)[1] for m in monitors for tag in m["tags"] if tag.startswith("provisioner-ns:")
    )


def test_a_sync_applies_each_reviewed_plan_and_deletes_what_was_removed(
    repository: Path, emulator: RunningEmulator, tmp_path: Path
) -> None:
    sync(repository, emulator, tmp_path / "run-1")
    assert monitors_by_namespace(emulator) == {"mesh-staging": 5, "mesh-production": 5}

    (repository / "monitors" / "reviews.yaml").unlink()  # a reviewed pull request removes a definition
    staging_log, production_log = sync(repository, emulator, tmp_path / "run-2")

    assert monitors_by_namespace(emulator) == {"mesh-staging": 4, "mesh-production": 4}
    for log in (staging_log, production_log):
        assert "delete" in log and "reviews-cpu" in log
        assert "Apply: 1 done, 0 failed, 0 skipped." in log


def test_a_sync_with_nothing_to_change_asks_no_one_to_approve(
    repository: Path, emulator: RunningEmulator, tmp_path: Path
) -> None:
    assert len(sync(repository, emulator, tmp_path / "run-1")) == 2
    assert sync(repository, emulator, tmp_path / "run-2") == []  # e.g. a merge that touched only docs

    (repository / "provisioner.yaml").write_text(ONE_ORG.replace('["env:production"]', '["env:prod"]'))
    [production_log] = sync(repository, emulator, tmp_path / "run-3")  # only production's tags changed
    assert "env:prod" in production_log and "Apply: 5 done, 0 failed, 0 skipped." in production_log


def test_a_pull_request_plan_that_fails_says_why_in_its_comment(repository: Path, tmp_path: Path) -> None:
    broken = MONITOR.format(service="cart").replace("type: metric alert", "type: metric alarm")
    (repository / "monitors" / "cart.yaml").write_text(broken)
    [staging, _] = matrix_jobs(workflow("plan.yml"), "plan", repository)
    [plan_step] = [step for step in staging.steps if step.get("id") == "plan"]
    workspace = checkout(repository, tmp_path / "workspace")
    nowhere = {**os.environ, "PROVISIONER_API_URL": "http://127.0.0.1:9"}  # were anything sent: loopback
    runner = Runner(tmp_path / "artifacts", {API_KEY: "x" * 32, READ_KEY: "y" * 40}, {}, nowhere)

    [run] = runner.run(replace(staging, steps=(plan_step,)), workspace)

    assert run.exit_code == 1
    comment = (workspace / "plan-failed.md").read_text()
    assert comment.startswith("### provisioner plan failed\n\nSee the [workflow run](https://github.com/")
    assert "monitors/cart.yaml:4:7: error" in comment and "metric alarm" in comment
    assert "Nothing was sent to Datadog" in comment
