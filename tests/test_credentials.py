"""Keys: refused up front when no Datadog endpoint could take them, never repeated, redacted whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.credentials import redact, resolve_target
from provisioner.errors import UserError
from provisioner.model import Environment

GOOD_APP_KEY = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("api_key", "complaint"),
    [
        ("0123456789abcdef\r\n0123456789abcdef", "cannot be sent in an HTTP header"),
        ("0123456789abcdef\n", None),  # a trailing line break (from $(cat key)) is only trimmed
        ("0123456789 abcdef0123456789abcdef", "cannot be sent in an HTTP header"),
        ("0123456789abcdef0123456789abcdé", "cannot be sent in an HTTP header"),
        ("abc", "3 characters long"),
    ],
)
def test_a_key_no_endpoint_could_take_is_refused_without_repeating_it(
    api_key: str, complaint: str | None
) -> None:
    env = {"DD_API_KEY": api_key, "DD_APP_KEY": GOOD_APP_KEY}
    if complaint is None:
        assert resolve_target(Environment(name="default"), env=env).api_key == api_key.strip()
        return
    with pytest.raises(UserError) as raised:
        resolve_target(Environment(name="default"), env=env)
    assert complaint in str(raised.value) and "DD_API_KEY" in str(raised.value)
    assert api_key.strip() not in str(raised.value)


def test_the_cli_refuses_a_key_with_a_line_break_before_sending_anything_even_with_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "5ecr3t-half-one\r\nX-Injected: 5ecr3t-half-two"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "m.yaml").write_text(
        "kind: monitor\nid: m\nname: m\ntype: metric alert\nquery: avg(last_5m):avg:system.load.1{*} > 2\n"
        "options: {thresholds: {critical: 2}}\n"
    )
    monkeypatch.setenv("DD_API_KEY", secret)
    monkeypatch.setenv("DD_APP_KEY", GOOD_APP_KEY)
    monkeypatch.setenv("PROVISIONER_API_URL", "http://127.0.0.1:9")  # never reached
    result = CliRunner().invoke(app, ["--debug", "plan", "monitors"])
    assert result.exit_code == 1
    assert "DD_API_KEY contains a character that cannot be sent in an HTTP header" in result.output
    assert "5ecr3t" not in result.output and "Traceback" not in result.output


def test_redaction_replaces_whole_keys_only() -> None:
    key = "abcdef0123456789"
    text = f"key={key}; id {key}99 and x{key}; '{key}'"
    assert redact(text, key) == f"key=<redacted>; id {key}99 and x{key}; '<redacted>'"


def test_a_key_shorter_than_a_datadog_key_is_never_looked_for() -> None:
    assert redact("monitor 150000123 answered 404", "404") == "monitor 150000123 answered 404"


@given(
    key=st.text(alphabet="abcdef0123456789", min_size=8, max_size=40),
    before=st.text(alphabet=" .,:;=\n'\"()[]{}", max_size=20),
    between=st.text(alphabet=" .,:;=\n'\"()[]{}", min_size=1, max_size=20),
)
def test_a_whole_key_never_survives_redaction(key: str, before: str, between: str) -> None:
    assert key not in redact(f"{before}{key}{between}{key}", key)
