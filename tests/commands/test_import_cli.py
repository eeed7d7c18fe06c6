"""import: existing monitors become definitions that the next plan adopts in place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

from provisioner.emulator import RunningEmulator


def unmanaged_bodies(count: int) -> list[dict]:
    bodies = []
    for index in range(count):
        service = f"svc{index % 40}"
        bodies.append(
            {
                "name": f"{service} latency #{index}" + ("  " if index % 7 == 0 else ""),
                "type": "metric alert" if index % 2 else "query alert",
                "query": f"avg(last_5m):avg:trace.envoy.proxy.duration{{service:{service}}} by {{resource_name}} > {index % 9 + 1}",
                "message": f"Slow {{{{resource_name.name}}}} @slack-{service}\n\nsecond line"
                if index % 3
                else "",
                "tags": ["team:mesh", f"service:{service}"] if index % 4 else [],
                "priority": index % 5 + 1 if index % 2 else None,
                "options": {
                    "thresholds": {"critical": index % 9 + 1, "warning": None},
                    "notify_no_data": index % 2 == 0,
                    "renotify_interval": 0 if index % 3 else 60,
                    "include_tags": index % 5 != 0,
                    "escalation_message": "still ${not_a_variable} @pagerduty-mesh" if index % 11 == 0 else "",
                },
            }
        )
    return bodies


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def live_ids(emulator: RunningEmulator) -> dict[int, str]:
    from provisioner.credentials import Target
    from provisioner.datadog.client import DatadogClient

    with DatadogClient(
        Target(emulator.base_url, os.environ["DD_API_KEY"], os.environ["DD_APP_KEY"])
    ) as client:
        return {m.datadog_id: m.title for m in client.list_monitors()}


def test_import_all_unmanaged_then_plan_adopts_every_one_in_place(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    ids = dd_env.admin.seed_monitors(unmanaged_bodies(200))
    before = live_ids(dd_env)

    code, output = cli("import", "--all-unmanaged")
    assert code == 0, output
    files = sorted((project / "monitors").glob("*.yaml"))
    assert len(files) == 200
    assert cli("validate")[0] == 0

    code, plan = cli.json("plan", "--format", "json", "--detailed-exitcode")
    assert code == 2
    assert plan["summary"]["adopt"] == 200 and plan["summary"]["create"] == 0
    assert sorted(c["datadog_id"] for c in plan["changes"]) == sorted(ids)

    code, output = cli("apply")
    assert code == 0, output
    assert cli("plan", "--detailed-exitcode")[0] == 0
    assert live_ids(dd_env) == {i: title.strip() for i, title in before.items()}  # same ids, no copies


def test_import_by_id_and_refuse_to_overwrite(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    first, second = dd_env.admin.seed_monitors(unmanaged_bodies(2))
    code, output = cli("import", "--id", str(first))
    assert code == 0, output
    (written,) = (project / "monitors").glob("*.yaml")
    text = written.read_text()
    assert f"adopt: {first}" in text

    written.write_text(text + "# my own notes\n")
    code, output = cli("import", "--id", str(first))
    assert code == 1 and "not overwritten" in output
    assert written.read_text().endswith("# my own notes\n")

    code, output = cli("import", "--id", "999999")
    assert code == 1 and "999999 does not exist" in output


def test_import_needs_a_selector(cli: Cli, project: Path) -> None:
    code, output = cli("import")
    assert code == 1 and "--all-unmanaged" in output


def test_managed_monitors_are_not_imported_again(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    first, *_ = dd_env.admin.seed_monitors(unmanaged_bodies(3))
    assert cli("import", "--all-unmanaged")[0] == 0
    assert cli("apply")[0] == 0
    code, output = cli("import", "--all-unmanaged")
    assert code == 0
    assert "= 3 selected monitor(s) already managed: left as is" in output
    assert "Imported 0 definition(s)" in output
    code, output = cli("import", "--id", str(first))  # named, and managed: not a failure either
    assert code == 0, output
    assert f"= monitor {first} is already managed by provisioner as " in output
    assert " in namespace default: left as is" in output  # which repository's definitions hold it


def test_long_queries_and_names_stay_on_one_line(cli: Cli, project: Path, dd_env: RunningEmulator) -> None:
    scope = ",".join(f"kube_namespace:team-{index}" for index in range(12))
    query = f"sum(last_5m):sum:istio.mesh.request.count.total{{{scope},response_code:5*}}.as_count() > 50"
    name = "Errors on every namespace of the payments platform, across both clusters, page the on-call " * 2
    body = {"name": name.strip(), "type": "query alert", "query": query, "message": "m @slack-x",
            "options": {"thresholds": {"critical": 50}}}  # fmt: skip
    (monitor,) = dd_env.admin.seed_monitors([body])
    assert cli("import", "--id", str(monitor))[0] == 0
    (written,) = (project / "monitors").glob("*.yaml")
    lines = written.read_text().splitlines()
    assert f"query: {query}" in lines or f"query: '{query}'" in lines, lines
    assert any(line.startswith("name: ") and line.endswith("on-call") for line in lines), lines


def seed_composite(emulator: RunningEmulator) -> tuple[int, int, int]:
    """Two unmanaged monitors (``cat errs``, ``cat traffic``) and an unmanaged composite of both."""
    errs, traffic = emulator.admin.seed_monitors(
        [
            {"name": name, "type": "metric alert", "query": f"avg(last_5m):avg:cat.{metric}{{*}} > 5",
             "message": "m @slack-x", "options": {"thresholds": {"critical": 5}}}
            for name, metric in (("cat errs", "errors"), ("cat traffic", "requests"))
        ]
    )  # fmt: skip
    (composite,) = emulator.admin.seed_monitors(
        [{"name": "cat both", "type": "composite", "query": f"{errs} && {traffic}", "message": "both @slack-x"}]
    )
    return composite, errs, traffic


def composite_query(project: Path) -> str:
    import yaml

    document = yaml.safe_load((project / "monitors" / "cat-both.yaml").read_text())
    return str(document["query"])


def assert_applied_without_drift(cli: Cli, emulator: RunningEmulator, query: str) -> None:
    """Apply, plan without changes, and again: the live composite still names the same Datadog ids."""
    for _ in range(2):
        code, output = cli("apply")
        assert code == 0, output
        code, output = cli("plan", "--detailed-exitcode")
        assert code == 0, output
    assert live_query(emulator, "cat both") == query


def live_query(emulator: RunningEmulator, title: str) -> str:
    from provisioner.credentials import Target
    from provisioner.datadog.client import DatadogClient

    with DatadogClient(
        Target(emulator.base_url, os.environ["DD_API_KEY"], os.environ["DD_APP_KEY"])
    ) as client:
        (monitor,) = [m for m in client.list_monitors() if m.title == title]
        return str(monitor.body["query"])


def test_a_composite_imported_with_its_parts_names_them_and_never_drifts(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    composite, errs, traffic = seed_composite(dd_env)
    code, output = cli("import", "--id", str(composite), "--id", str(errs), "--id", str(traffic))
    assert code == 0, output
    assert "warning" not in output
    assert composite_query(project) == "@{cat-errs} && @{cat-traffic}"
    assert cli("validate")[0] == 0
    assert_applied_without_drift(cli, dd_env, f"{errs} && {traffic}")


def test_a_part_left_unwritten_lends_the_composite_no_reference(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    """A part whose file is in the way is not written: the composite names it by its Datadog id (a
    reference to a definition that does not exist would fail validation), and says so."""
    composite, errs, traffic = seed_composite(dd_env)
    (project / "monitors").mkdir(exist_ok=True)
    (project / "monitors" / "cat-errs.yaml").write_text("# someone else's file\n")
    code, output = cli("import", "--id", str(composite), "--id", str(errs), "--id", str(traffic))
    assert code == 1 and "cat-errs.yaml exists; not overwritten" in output
    assert (project / "monitors" / "cat-errs.yaml").read_text() == "# someone else's file\n"
    assert composite_query(project) == f"{errs} && @{{cat-traffic}}"
    assert f"warning: composite {composite} 'cat both' combines monitor(s) {errs}" in output


def test_a_composite_imported_alone_warns_and_stops_drifting_once_its_parts_are_imported(
    cli: Cli, project: Path, dd_env: RunningEmulator
) -> None:
    composite, errs, traffic = seed_composite(dd_env)
    code, output = cli("import", "--id", str(composite))
    assert code == 0, output
    assert f"warning: composite {composite} 'cat both' combines monitor(s) {errs}, {traffic}" in output
    assert f"`provisioner import --id {errs} --id {traffic}`" in output
    assert composite_query(project) == f"{errs} && {traffic}"  # unmanaged parts keep their ids
    assert_applied_without_drift(cli, dd_env, f"{errs} && {traffic}")

    code, output = cli("import", "--id", str(errs), "--id", str(traffic))  # the parts, in a later run
    assert code == 0, output
    assert composite_query(project) == f"{errs} && {traffic}"  # written before: as it was
    assert_applied_without_drift(cli, dd_env, f"{errs} && {traffic}")
