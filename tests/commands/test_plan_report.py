"""A plan a reviewer can read: long values as diffs, changed tokens marked, every resource linked to
its page in the Datadog UI of the environment's site. The real CLI against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli, OutputSchemas

from provisioner.emulator import RunningEmulator
from provisioner.github.body import GITHUB_BODY_LIMIT, compose, github_length

# 40 lines of ~50 characters: a 2,000-character runbook message.
RUNBOOK = [f"{n}. check the envoy cluster stats of checkout, step {n:02d} of 40" for n in range(1, 41)]

MONITOR = """\
kind: monitor
id: checkout-errors
name: {name}
type: query alert
query: sum(last_5m):sum:trace.envoy.proxy.errors{{env:prod,service:checkout}}.as_count() / sum:trace.envoy.proxy.hits{{env:prod,service:checkout}}.as_count() > {critical}
message: |
{message}
  @slack-mesh-oncall
options:
  thresholds: {{critical: {critical}}}
"""

DASHBOARD = """\
kind: dashboard
id: checkout
title: {title}
layout: ordered
widgets:
  - type: timeseries
    title: Checkout errors
    query: sum:trace.envoy.proxy.errors{{service:checkout}}.as_count()
"""

CONFIG = """\
namespace: mesh-sre
environments:
  prod:
    site: {site}
"""

# docs.datadoghq.com/getting_started/site: the site parameter and the site's web address.
SITE_UI = {
    "datadoghq.com": "https://app.datadoghq.com",
    "us3.datadoghq.com": "https://us3.datadoghq.com",
    "us5.datadoghq.com": "https://us5.datadoghq.com",
    "datadoghq.eu": "https://app.datadoghq.eu",
    "ap1.datadoghq.com": "https://ap1.datadoghq.com",
    "ap2.datadoghq.com": "https://ap2.datadoghq.com",
    "uk1.datadoghq.com": "https://uk1.datadoghq.com",
    "ddog-gov.com": "https://app.ddog-gov.com",
    "us2.ddog-gov.com": "https://us2.ddog-gov.com",
}


def write_definitions(root: Path, critical: float = 0.05, step: str = "step 17", name: str = "checkout errors",
                      title: str = "Checkout") -> None:  # fmt: skip
    (root / "monitors").mkdir(exist_ok=True)
    (root / "dashboards").mkdir(exist_ok=True)
    message = "\n".join(f"  {line.replace('step 17', step)}" for line in RUNBOOK)
    (root / "monitors" / "errors.yaml").write_text(
        MONITOR.format(name=name, message=message, critical=critical)
    )
    (root / "dashboards" / "checkout.yaml").write_text(DASHBOARD.format(title=title))


@pytest.fixture
def applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator, cli: Cli) -> Path:
    """Definitions applied to the emulator, then changed in code: the message (one line of 40), the
    query's threshold, and the dashboard's title."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG.format(site="datadoghq.eu"))
    write_definitions(tmp_path)
    assert cli("apply")[0] == 0
    write_definitions(tmp_path, critical=0.08, step="step seventeen", title="Checkout errors")
    return tmp_path


def ids(cli: Cli) -> tuple[int, str]:
    _, plan = cli.json("plan", "--format", "json")
    by_kind = {c["kind"]: c["datadog_id"] for c in plan["changes"]}
    return by_kind["monitor"], by_kind["dashboard"]


def test_a_changed_2000_character_message_is_a_line_diff_in_text_and_markdown(
    applied: Path, cli: Cli
) -> None:
    assert len("\n".join(RUNBOOK)) > 2_000
    code, text = cli("plan", "--detailed-exitcode")
    assert code == 2, text
    lines = text.splitlines()
    start = lines.index("      /message: (- in Datadog, + in code)")
    assert lines[start + 1 : start + 7] == [
        "        @@ -15,5 +15,5 @@",
        "         15. check the envoy cluster stats of checkout, step 15 of 40",
        "         16. check the envoy cluster stats of checkout, step 16 of 40",
        "        -17. check the envoy cluster stats of checkout, step 17 of 40",
        "        +17. check the envoy cluster stats of checkout, step seventeen of 40",
        "         18. check the envoy cluster stats of checkout, step 18 of 40",
    ]
    assert text.count("step 01 of 40") == 0  # no copy of the whole message, truncated or not

    _, markdown = cli("plan", "--format", "markdown")
    assert "| `/message` | _line diff below_ | _line diff below_ | code |" in markdown
    block = markdown[markdown.index("```diff\n") :]
    assert block.startswith(
        "```diff\n@@ -15,5 +15,5 @@\n"
        " 15. check the envoy cluster stats of checkout, step 15 of 40\n"
        " 16. check the envoy cluster stats of checkout, step 16 of 40\n"
        "-17. check the envoy cluster stats of checkout, step 17 of 40\n"
        "+17. check the envoy cluster stats of checkout, step seventeen of 40\n"
    )
    assert "step 01 of 40" not in markdown


def test_a_long_one_line_query_shows_its_changed_token(applied: Path, cli: Cli) -> None:
    _, text = cli("plan")
    # the unchanged start is elided to the whole tokens of the 40 characters before the change
    assert "      /query: …env:prod,service:checkout}.as_count() > [-0.05-]{+0.08+}" in text.splitlines()

    _, markdown = cli("plan", "--format", "markdown")
    row = next(line for line in markdown.splitlines() if line.startswith("| `/query` |"))
    assert "&gt; <del>0.05</del></code> |" in row and "&gt; <ins>0.08</ins></code> |" in row


@pytest.mark.parametrize("site", sorted(SITE_UI))
def test_every_resource_links_to_its_page_in_the_sites_ui(
    applied: Path, cli: Cli, site: str, output_schemas: OutputSchemas
) -> None:
    (applied / "provisioner.yaml").write_text(CONFIG.format(site=site))
    monitor_id, dashboard_id = ids(cli)
    monitor_url = f"{SITE_UI[site]}/monitors/{monitor_id}"
    dashboard_url = f"{SITE_UI[site]}/dashboard/{dashboard_id}"

    _, text = cli("plan")
    assert f"      in Datadog: {monitor_url}" in text.splitlines()
    assert f"      in Datadog: {dashboard_url}" in text.splitlines()

    _, markdown = cli("plan", "--format", "markdown")
    assert f"`monitors/errors.yaml:1` · [view in Datadog]({monitor_url})" in markdown
    assert f"`dashboards/checkout.yaml:1` · [view in Datadog]({dashboard_url})" in markdown

    _, plan = cli.json("plan", "--format", "json")
    output_schemas.check("plan", plan)
    assert plan["app_url"] == SITE_UI[site]
    assert {c["url"] for c in plan["changes"]} == {monitor_url, dashboard_url}


def test_no_links_without_a_known_site(applied: Path, cli: Cli) -> None:
    (applied / "provisioner.yaml").write_text("namespace: mesh-sre\n")  # PROVISIONER_API_URL, no site
    _, plan = cli.json("plan", "--format", "json")
    assert plan["app_url"] is None
    assert {c["url"] for c in plan["changes"]} == {None}
    assert "in Datadog:" not in cli("plan")[1]


def test_apply_json_links_what_it_created(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dd_env: RunningEmulator,
    cli: Cli,
    output_schemas: OutputSchemas,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG.format(site="us5"))
    write_definitions(tmp_path)
    code, outcome = cli.json("apply", "--format", "json")
    assert code == 0
    output_schemas.check("apply", outcome)
    urls = {o["kind"]: o["url"] for o in outcome["outcomes"]}
    by_kind = {o["kind"]: o["datadog_id"] for o in outcome["outcomes"]}
    assert urls == {
        "monitor": f"https://us5.datadoghq.com/monitors/{by_kind['monitor']}",
        "dashboard": f"https://us5.datadoghq.com/dashboard/{by_kind['dashboard']}",
    }
    assert outcome["summary"] == {"ok": 2, "failed": 0, "skipped": 0, "not_started": 0}


def test_force_color_colours_the_text_plan_but_never_a_file_and_no_color_wins(
    applied: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    _, text = cli("plan", "--out", "plan.txt")
    assert "\x1b[33m  ~ monitor checkout-errors" in text
    assert "        \x1b[31m-17. check the envoy cluster stats of checkout, step 17 of 40\x1b[0m" in text
    assert "\x1b[" not in (applied / "plan.txt").read_text()
    assert "\x1b[" not in cli("plan", "--format", "markdown")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in cli("plan")[1]


def test_a_plan_too_long_for_a_comment_is_cut_by_section_within_githubs_count_saying_where_the_whole_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator, cli: Cli
) -> None:
    """GitHub counts a body in UTF-16 code units: an emoji is two. 150 monitors whose messages are full of
    them make a markdown plan of twice the limit."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitors").mkdir()
    alarm = "🚨" * 60
    (tmp_path / "monitors" / "many.yaml").write_text(
        "---\n".join(
            MONITOR.format(name=f"checkout errors {n}", message=f"  {alarm}", critical=0.05).replace(
                "id: checkout-errors", f"id: checkout-errors-{n:03d}"
            )
            for n in range(150)
        )
    )
    code, output = cli(
        "plan", "--format", "markdown", "--out", "plan.md", "--save-plan", "plan.json",
        "--no-remote-validate", "--no-metric-check",
    )  # fmt: skip
    assert code == 0, output
    markdown = (tmp_path / "plan.md").read_text()
    assert GITHUB_BODY_LIMIT // 2 < github_length(markdown) <= GITHUB_BODY_LIMIT - 1_000
    shown = markdown.count("<details>")
    assert 0 < shown < 150
    assert f"**Plan cut**: {150 - shown} of 150 changes are not shown" in markdown
    assert "The whole plan: `plan.json` in this run's artifact" in markdown
    assert len(json.loads((tmp_path / "plan.json").read_text())["changes"]) == 150
    # The comment posts it as it is: the cut fits with room for the marker and a heading.
    assert compose("provisioner-plan-prod", markdown, "https://example.test/artifact").endswith(markdown)
