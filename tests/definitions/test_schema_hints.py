"""Every schema error says how to fix it: through `provisioner validate` on real files in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioner.cli import app


def validate(folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, ["validate", *args])
    assert result.exit_code == 1, result.output
    return result.output


def hint_after(output: str, message: str) -> str:
    lines = output.splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.endswith(message)]
    assert lines[index + 1].startswith("  hint: "), output
    return lines[index + 1].removeprefix("  hint: ")


def test_a_percent_where_a_count_is_expected_and_a_negative_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sidecar.yaml").write_text(
        "kind: sidecar-injection\nid: sidecar\nname: n\nthresholds:\n  critical: '0%'\n  warning: -1\n",
        encoding="utf-8",
    )
    output = validate(tmp_path, monkeypatch, "sidecar.yaml")
    percent = hint_after(output, "/thresholds/critical: '0%' is a string, expected a number")
    assert "write a plain number, without quotes or '%'" in percent and "A count, not a ratio" in percent
    assert hint_after(output, "/thresholds/warning: -1 is below the minimum 0").startswith(
        "allowed: 0 or more"
    )


def test_a_range_names_both_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.yaml").write_text(
        "kind: sidecar-injection\nid: sidecar\nname: n\npriority: 9\n", encoding="utf-8"
    )
    output = validate(tmp_path, monkeypatch, "m.yaml")
    assert hint_after(output, "/priority: 9 is above the maximum 5").startswith("allowed: 1 to 5")


@pytest.mark.parametrize(
    ("written", "meant"), [("v2", "openmetrics"), ("V1", "legacy"), ("Legacy", "legacy")]
)
def test_an_istio_mode_outside_the_enum_gets_the_close_value_and_what_v1_v2_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, meant: str
) -> None:
    (tmp_path / "provisioner.yaml").write_text(
        f"istio:\n  data_plane: {written}\nenvironments:\n  prod: {{}}\n", encoding="utf-8"
    )
    (tmp_path / "monitors").mkdir()
    output = validate(tmp_path, monkeypatch)
    hint = hint_after(output, f"/istio/data_plane: '{written}' is not one of: openmetrics, legacy")
    assert hint.startswith(f"did you mean '{meant}'?")
    assert "openmetrics = OpenMetrics V2, legacy = OpenMetrics V1" in hint


def test_a_missing_field_says_what_to_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.yaml").write_text("kind: sidecar-injection\nid: sidecar\n", encoding="utf-8")
    output = validate(tmp_path, monkeypatch, "m.yaml")
    assert hint_after(output, "missing required field 'name'").startswith("add 'name:'")
