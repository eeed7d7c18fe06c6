"""The pre-commit hook as pre-commit runs it: its entry, no file names, at the repository's root."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = "{{id: {id}, kind: sidecar-injection, name: n, message: '@x'}}\n"


def run_hook(repository: Path) -> subprocess.CompletedProcess[str]:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    program, *args = shlex.split(hook["entry"])
    assert program == "provisioner" and hook["pass_filenames"] is False
    command = [sys.executable, "-m", "provisioner", *args]
    return subprocess.run(command, cwd=repository, capture_output=True, text=True, check=False, timeout=60)


def test_a_duplicate_id_across_files_fails_the_hook(tmp_path: Path) -> None:
    (tmp_path / "monitors" / "a").mkdir(parents=True)
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "monitors" / "a" / "one.yaml").write_text(DEFINITION.format(id="same"))
    (tmp_path / "monitors" / "two.yaml").write_text(DEFINITION.format(id="other"))
    assert run_hook(tmp_path).returncode == 0
    (tmp_path / "monitors" / "two.yaml").write_text(DEFINITION.format(id="same"))  # only this file changed
    failed = run_hook(tmp_path)
    assert failed.returncode == 1
    assert "monitors/a/one.yaml:1:6: error [duplicate-id]" in failed.stdout
    assert "monitors/two.yaml:1:6: error [duplicate-id]" in failed.stdout


def test_a_broken_provisioner_yaml_fails_the_hook(tmp_path: Path) -> None:
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "one.yaml").write_text(DEFINITION.format(id="one"))
    (tmp_path / "provisioner.yaml").write_text("environments: {prod: {sit: eu}}\n")
    failed = run_hook(tmp_path)
    assert failed.returncode == 1
    assert "provisioner.yaml:1:23: error [unknown-key]" in failed.stderr
