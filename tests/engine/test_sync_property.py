"""Property: for any valid definitions, apply followed by plan is empty (against the emulator)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.definitions import load_definitions
from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from provisioner.engine.apply import ApplyOptions, apply_plan
from provisioner.engine.plan import compute_plan
from provisioner.engine.read import dashboards_for_plan, read_live_org
from provisioner.model import DefinitionSet, Environment

NAMESPACE = "default"


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    running = start_emulator(EmulatorConfig(rate_limits=False))
    yield running
    running.stop()


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


@st.composite
def monitor_documents(draw: st.DrawFn, index: int) -> dict:
    critical = draw(st.integers(1, 50) | st.floats(0.5, 50, allow_nan=False).map(lambda f: round(f, 2)))
    comparator = draw(st.sampled_from([">", ">="]))
    metric = draw(
        st.sampled_from(["trace.envoy.proxy.errors", "istio.mesh.request.count.total", "system.load.1"])
    )
    group = draw(st.sampled_from(["", " by {service}", " by {envoy_cluster}"]))
    window = draw(st.sampled_from(["last_5m", "last_15m"]))
    options: dict = {"thresholds": {"critical": critical}}
    if draw(st.booleans()):
        options["thresholds"]["warning"] = round(critical / 2, 2)
    if draw(st.booleans()):
        options["notify_no_data"] = True
        options["no_data_timeframe"] = draw(st.sampled_from([10, 20, 60]))
    else:
        options["notify_no_data"] = False
    for key, values in {
        "renotify_interval": [0, 60, 120],
        "include_tags": [True, False],
        "new_host_delay": [300, 600],
        "require_full_window": [True, False],
        "evaluation_delay": [60, 300],
        "escalation_message": ["Still failing @pagerduty-mesh\n", ""],
    }.items():
        if draw(st.booleans()):
            options[key] = draw(st.sampled_from(values))
    document = {
        "kind": "monitor",
        "id": f"m{index}-{draw(words)}",
        "name": f"{draw(words)} {draw(words)} ",
        "type": draw(st.sampled_from(["metric alert", "query alert"])),
        "query": f"avg({window}):avg:{metric}{{env:prod}}{group} {comparator} {critical}",
        "message": draw(
            st.sampled_from(["Page @slack-mesh", "Page @pagerduty-mesh\n", "Look @team-mesh  \n"])
        ),
        "tags": draw(st.lists(st.sampled_from(["team:mesh", "env:prod", "tier:1", "team:mesh"]), max_size=4)),
        "options": options,
    }
    if draw(st.booleans()):
        document["priority"] = draw(st.integers(1, 5))
    return document


definition_sets = st.integers(1, 4).flatmap(lambda n: st.tuples(*(monitor_documents(i) for i in range(n))))


def load(documents: tuple[dict, ...]) -> DefinitionSet:
    folder = Path(tempfile.mkdtemp(prefix="provisioner-prop-"))
    (folder / "generated.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    definitions = load_definitions([folder], Environment(name="default"))
    assert definitions.ok, definitions.errors
    return definitions


def sync(definitions: DefinitionSet, client: DatadogClient) -> None:
    live = read_live_org(client, dashboards_for_plan(definitions, NAMESPACE))
    plan = compute_plan(definitions, live, NAMESPACE)
    result = apply_plan(plan, client, ApplyOptions(prune=True, force=True))
    assert result.ok, [o.message for o in result.failed]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=definition_sets, second=definition_sets)
def test_apply_then_plan_is_empty(
    org: RunningEmulator, first: tuple[dict, ...], second: tuple[dict, ...]
) -> None:
    org.admin.wipe()
    with DatadogClient(Target(org.base_url, "k", "k")) as client:
        for documents in (first, second):  # a fresh apply, then a change on top of it
            definitions = load(documents)
            sync(definitions, client)
            live = read_live_org(client, dashboards_for_plan(definitions, NAMESPACE))
            plan = compute_plan(definitions, live, NAMESPACE)
            assert plan.changes == (), [(c.action, c.definition_id, c.changes) for c in plan.changes]
