"""The README's quick start and its plan comment, as a reader meets them.

- The quick start's ``bash`` blocks run as one script (bash, the installed ``provisioner`` on PATH, the
  embedded emulator) in a copy of the repository's definitions and config, and every line its ``text`` blocks
  show comes out, in order. Not run: the set-up block (it installs the package the suite runs in).
- The plan comment is made again as the README says it was made (an emulator standing in for staging's org on
  datadoghq.eu, holding the demo mesh's series; staging's thresholds lowered and a runbook line reworded in
  code; a monitor renamed by hand) and must equal the README's, line for line.
Monitor ids, timestamps and durations differ from run to run and match any value; every other number counts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.commands.mesh_demo import DemoMesh, submit_demo
from provisioner.config import load_config, select_environment
from provisioner.emulator import RunningEmulator
from provisioner.mesh.catalogue import modes_of
from tests.conftest import TEST_API_KEY, TEST_APP_KEY
from tests.docs.shown import REPO, blocks, section

README = REPO / "README.md"
QUICK_START = "Quick start (no Datadog account needed)"
SCRIPT_TIMEOUT_S = 240
_VARYING = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?\+00:00)|(?P<id>\b\d{6,}\b)|(?P<took>\(\d+(?:\.\d+)? s\))"
)
_ANY = {"time": r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "id": r"\d{6,}", "took": r"\(\d+(?:\.\d+)? s\)"}


def pattern(line: str) -> re.Pattern[str]:
    """A shown line as a pattern: literal, except ids, timestamps and durations."""
    parts, last = [], 0
    for found in _VARYING.finditer(line):
        parts += [re.escape(line[last : found.start()]), _ANY[str(found.lastgroup)]]
        last = found.end()
    parts.append(re.escape(line[last:]))
    return re.compile("".join(parts))


def quick_start_blocks() -> tuple[str, list[str]]:
    """The script (every bash block but the set-up) and the lines the text blocks show."""
    text = section(README, QUICK_START)
    inside = [b for b in blocks(README) if f"```{b.language}\n{b.text}\n```" in text]
    scripts = [b.text for b in inside if b.language == "bash"]
    set_up, *runnable = scripts
    assert "pip install" in set_up  # installs the package: not run here
    shown = [line for b in inside if b.language == "text" for line in b.text.splitlines() if line.strip()]
    return "\n".join(runnable), [line for line in shown if line.strip() != OMITTED]


OMITTED = "…"  # a line of its own in a text block: output left out there


def missing_lines(shown: list[str], output: list[str]) -> list[str]:
    """The shown lines that do not come out, in order (each after the one before it)."""
    missing, position = [], 0
    for line in shown:
        wanted = pattern(line.rstrip())
        found = next((i for i in range(position, len(output)) if wanted.fullmatch(output[i].rstrip())), None)
        if found is None:
            missing.append(line)
        else:
            position = found + 1
    return missing


def project_copy(root: Path) -> Path:
    for name in ("monitors", "dashboards", "provisioner.yaml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quick start calls the emulator's API with curl")
def test_the_readme_quick_start_runs_and_shows_what_the_readme_says(tmp_path: Path) -> None:
    script, shown = quick_start_blocks()
    assert "provisioner apply --emulator" in script and len(shown) > 15
    project = project_copy(tmp_path)
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DD_", "PROVISIONER_", "FORCE_COLOR", "GITHUB_"))
    }
    environment |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",  # the lines of stdout and stderr in the order they were written
        "NO_COLOR": "1",
    }
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the background emulators go with it
    )
    try:
        output, _ = process.communicate(timeout=SCRIPT_TIMEOUT_S)
    finally:
        if process.poll() is None or _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    missing = missing_lines(shown, output.splitlines())
    assert not missing, (
        "shown in the README, not in the output:\n" + "\n".join(missing) + "\n---\n" + output[-2000:]
    )
    assert not (project / "provisioner.yaml.orig").exists()
    assert (project / "provisioner.yaml").read_text() == (REPO / "provisioner.yaml").read_text()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def readme_plan_comment() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- plan-comment:start -->\n") + len("<!-- plan-comment:start -->\n")
    return text[start : text.index("<!-- plan-comment:end -->")].rstrip("\n").splitlines()


def rename_by_hand(emulator: RunningEmulator, definition_id: str, name: str) -> None:
    keys = {
        "DD-API-KEY": TEST_API_KEY,
        "DD-APPLICATION-KEY": TEST_APP_KEY,
        "Content-Type": "application/json",
    }
    search = f"{emulator.base_url}/api/v1/monitor?monitor_tags=provisioner-id:{definition_id}"
    with urllib.request.urlopen(urllib.request.Request(search, headers=keys), timeout=10) as answer:
        (monitor,) = json.load(answer)
    body = json.dumps({"name": name}).encode()
    url = f"{emulator.base_url}/api/v1/monitor/{monitor['id']}"
    with urllib.request.urlopen(urllib.request.Request(url, body, keys, method="PUT"), timeout=10):
        pass


def test_the_readmes_plan_comment_is_what_plan_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator
) -> None:
    project = project_copy(tmp_path)
    monkeypatch.chdir(project)
    config = load_config(None)
    staging = select_environment(config, "staging")
    assert staging.site == "datadoghq.eu"  # the links point at the EU site's UI
    submit_demo(
        dd_env.base_url,
        modes_of(staging),
        DemoMesh.of(staging, config.services),
        int(time.time()),
        TEST_API_KEY,
    )
    assert CliRunner().invoke(app, ["apply", "--env", "staging"]).exit_code == 0

    definitions = project / "monitors" / "error-rate.yaml"
    text = definitions.read_text()
    for old, new in (
        ("thresholds: {critical: 10%, warning: 5%}", "thresholds: {critical: 8%, warning: 4%}"),
        ("A deploy in the last hour?", "A deploy in the last two hours?"),
    ):
        assert old in text
        text = text.replace(old, new)
    definitions.write_text(text)
    rename_by_hand(dd_env, "sidecar-injection-failures", "sidecar injection (tuned by hand)")

    result = CliRunner().invoke(app, ["plan", "--env", "staging", "--format", "markdown", "--out", "plan.md"])
    assert result.exit_code == 0, result.output
    made = (project / "plan.md").read_text(encoding="utf-8").rstrip("\n").splitlines()
    shown = readme_plan_comment()
    assert len(made) == len(shown), "\n".join(made)
    assert [line for line, want in zip(made, shown, strict=True) if not pattern(want).fullmatch(line)] == []


def test_the_readmes_provisioner_test_output_is_the_real_one_with_what_it_leaves_out_marked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The block after `provisioner test` shows the command's first line, then ``…`` wherever it skips."""
    text = section(README, QUICK_START)
    inside = [b for b in blocks(README) if f"```{b.language}\n{b.text}\n```" in text]
    (after,) = [inside[i + 1] for i, b in enumerate(inside[:-1]) if b.text.strip() == "provisioner test"]
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(app, ["test"], env={"NO_COLOR": "1"})
    printed = [line for line in result.output.splitlines() if line.strip()]
    runs: list[list[str]] = [[]]
    for line in (line for line in after.text.splitlines() if line.strip()):
        if line.strip() == OMITTED:
            runs.append([])
        else:
            runs[-1].append(line)
    from_the_start = bool(runs[0])  # else the block starts with …
    position = 0
    for number, run in enumerate(run for run in runs if run):
        wanted = [pattern(line) for line in run]
        starts = [
            start
            for start in range(position, len(printed) - len(run) + 1)
            if all(w.fullmatch(printed[start + i]) for i, w in enumerate(wanted))
        ]
        assert starts and (number > 0 or not from_the_start or starts[0] == 0), (run, printed[:3])
        position = starts[0] + len(run)
