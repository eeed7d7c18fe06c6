"""The pull-request workflow tests the monitors against data beside validation: no Datadog secrets, the
JUnit report kept as an artifact, failures in the job summary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

PLAN = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "plan.yml"


def jobs_running(command: str) -> dict[str, dict[str, Any]]:
    jobs = yaml.safe_load(PLAN.read_text())["jobs"]
    return {
        name: job
        for name, job in jobs.items()
        if any(command in str(step.get("run", "")) for step in job.get("steps", []))
    }


def test_the_pull_request_workflow_tests_the_monitors_beside_validation() -> None:
    testing = jobs_running("provisioner test ")
    assert len(testing) == 1
    name, job = next(iter(testing.items()))
    validating = jobs_running("provisioner validate")
    assert validating and name not in validating
    assert "needs" not in job  # beside validate, not after it
    assert "secrets." not in str(job)  # the emulator needs no keys; forks run it too
    steps = job["steps"]
    script = next(str(step["run"]) for step in steps if "provisioner test " in str(step.get("run", "")))
    report = re.search(r"provisioner test --junit (\S+)", script)
    assert report is not None
    assert "GITHUB_STEP_SUMMARY" in script
    upload = next(step for step in steps if "upload-artifact" in str(step.get("uses", "")))
    assert upload["with"]["path"] == report.group(1)
    assert "cancelled()" in str(upload.get("if"))  # kept when the tests fail
