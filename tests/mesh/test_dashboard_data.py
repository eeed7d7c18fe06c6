"""The shipped dashboard shows data in both Istio collection modes (issue 9 item 9), on data: with the mesh demo
data of a mode (what ``provisioner emulator --seed-mesh MODE`` sends) in the emulator, every widget query of the
dashboard compiled for an environment in that mode returns a non-empty series per demo service through
``GET /api/v1/query``, and the queries compiled for the other mode do not show the mode's data.

``/api/v1/query`` takes a bare query, as Datadog's does; the test does what the dashboard does before it asks:
- template variables take their defaults: ``$cluster`` becomes ``kube_cluster_name:<the environment's
  cluster>``, a ``*`` default becomes ``*`` (no filter), ``$name.value`` the value alone;
- a formula over named queries (``duration / requests``) is written as the arithmetic of the queries
  themselves, which the endpoint computes point by point, as a formula is.
The p95 widget needs APM's span-duration distribution, which the demo does not send (Datadog takes
distributions on another endpoint): the seeding here submits it for each demo service through
``POST /api/v1/distribution_points``, and the test checks the percentile the emulator computes.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v1.api.metrics_api import MetricsApi
from datadog_api_client.v1.model.distribution_point import DistributionPoint
from datadog_api_client.v1.model.distribution_points_payload import DistributionPointsPayload
from datadog_api_client.v1.model.distribution_points_series import DistributionPointsSeries
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.commands.mesh_demo import NAMESPACE, DemoMesh, submit_demo
from provisioner.emulator import EmulatorConfig, RunningEmulator, start_emulator
from provisioner.mesh import catalogue
from provisioner.model import CollectionModes, Environment, IstioMode
from tests.conftest import TEST_API_KEY, TEST_APP_KEY

REPO = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000
SERVICES = ("frontend", "checkout", "payments", "cart")
CONFIG = """\
namespace: mesh-sre
services: [frontend, checkout, payments, cart]
environments:  # one environment in each mode, every collector in it
  staging:
    istio: {data_plane: openmetrics, control_plane: openmetrics, envoy: openmetrics}
    variables: {cluster: mesh-staging-eu1, runbooks: https://runbooks.example.com}
  production:
    istio: {data_plane: legacy, control_plane: legacy, envoy: legacy}
    variables: {cluster: mesh-prod-eu1, runbooks: https://runbooks.example.com}
"""
ENVIRONMENTS: dict[IstioMode, Environment] = {
    "openmetrics": Environment("staging", variables={"cluster": "mesh-staging-eu1"}),
    "legacy": Environment("production", variables={"cluster": "mesh-prod-eu1"}),
}
OTHER: dict[IstioMode, IstioMode] = {"openmetrics": "legacy", "legacy": "openmetrics"}
PERCENTILE_WIDGETS = {"p95 latency by destination route (APM; resource = <host>:<port><path>)"}
SPAN_DURATIONS_S = [ms / 1000 for ms in range(1, 21)]  # every 5 minutes, per service: p95 is 19.05 ms
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(\.value)?")
_NAME = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


@dataclass(frozen=True)
class Widget:
    title: str
    query: str  # the formula written as the arithmetic of its queries; template variables left in


@dataclass(frozen=True)
class Dashboard:
    widgets: tuple[Widget, ...]
    defaults: Mapping[str, tuple[str, str]]  # template variable: (prefix, default value)

    def asked(self, widget: Widget) -> str:
        """What /api/v1/query is asked for a widget: its query with the template variables at their defaults."""
        return with_defaults(widget.query, self.defaults)


def compiled(env: str) -> Dashboard:
    result = CliRunner().invoke(app, ["render", "dashboards", "--env", env])
    assert result.exit_code == 0, result.output
    (dashboard,) = json.loads(result.stdout)["dashboards"]
    payload = dashboard["payload"]
    widgets = []
    for widget in payload["widgets"]:
        definition = widget["definition"]
        (request,) = definition["requests"]
        queries = {q["name"]: q["query"] for q in request["queries"]}
        (formula,) = request["formulas"]
        widgets.append(Widget(definition["title"], expanded(formula["formula"], queries)))
    defaults = {v["name"]: (v["prefix"], v["defaults"][0]) for v in payload["template_variables"]}
    return Dashboard(tuple(widgets), defaults)


def with_defaults(query: str, defaults: Mapping[str, tuple[str, str]]) -> str:
    def value(found: re.Match[str]) -> str:
        prefix, default = defaults[found.group(1)]
        if found.group(2):
            return default
        return "*" if default == "*" else f"{prefix}:{default}"

    return _VARIABLE.sub(value, query)


def expanded(formula: str, queries: Mapping[str, str]) -> str:
    if formula in queries:
        return queries[formula]
    return _NAME.sub(
        lambda found: f"({queries[found.group(0)]})" if found.group(0) in queries else found.group(0), formula
    )


@pytest.fixture(scope="module")
def dashboards(tmp_path_factory: pytest.TempPathFactory) -> dict[IstioMode, Dashboard]:
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "dashboards", project / "dashboards")
    (project / "provisioner.yaml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        found = {mode: compiled(environment.name) for mode, environment in ENVIRONMENTS.items()}
    assert [w.title for w in found["openmetrics"].widgets] == [w.title for w in found["legacy"].widgets]
    return found


@pytest.fixture(params=["openmetrics", "legacy"])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[IstioMode, MetricsApi]]:
    """An emulator holding the demo mesh's last hour in one mode, and the client that reads it."""
    mode: IstioMode = request.param
    config = EmulatorConfig(
        api_keys=(TEST_API_KEY,), app_keys=(TEST_APP_KEY,), rate_limits=False, clock_start_s=NOW
    )
    with start_emulator(config) as running:
        mesh = DemoMesh.of(ENVIRONMENTS[mode], SERVICES)
        submit_demo(running.base_url, CollectionModes(mode, mode, mode), mesh, NOW, TEST_API_KEY)
        with ApiClient(configuration(running)) as client:
            api = MetricsApi(client)
            api.submit_distribution_points(span_durations(mesh))
            yield mode, api


def span_durations(mesh: DemoMesh) -> DistributionPointsPayload:
    """APM's span-duration distribution of each service's route over the last hour, tagged as the demo tags
    APM's other series."""
    points = [DistributionPoint([float(t), SPAN_DURATIONS_S]) for t in range(NOW - 3300, NOW + 1, 300)]
    return DistributionPointsPayload(
        series=[
            DistributionPointsSeries(
                metric="trace.envoy.proxy",
                points=points,
                tags=[
                    f"kube_cluster_name:{mesh.cluster}",
                    f"env:{mesh.environment}",
                    f"service:{catalogue.apm_service_value(service, NAMESPACE)}",
                    f"resource_name:{catalogue.service_host(service, NAMESPACE)}:8080/*",
                ],
            )
            for service in mesh.services
        ]
    )


def configuration(running: RunningEmulator) -> Configuration:
    configuration = Configuration(host=running.base_url)
    configuration.api_key["apiKeyAuth"] = TEST_API_KEY
    configuration.api_key["appKeyAuth"] = TEST_APP_KEY
    return configuration


def series(api: MetricsApi, query: str) -> list[dict[str, Any]]:
    """The non-empty series of the last hour: ``{"tags", "values"}``."""
    answer = api.query_metrics(_from=NOW - 3600, to=NOW, query=query)
    found = [
        {"tags": list(s.tag_set), "values": [point.value[1] for point in s.pointlist]} for s in answer.series
    ]
    return [s for s in found if s["values"]]


def test_every_graph_shows_each_service_in_both_modes(
    seeded: tuple[IstioMode, MetricsApi], dashboards: dict[IstioMode, Dashboard]
) -> None:
    mode, api = seeded
    dashboard = dashboards[mode]
    shown = {
        w.title: series(api, dashboard.asked(w))
        for w in dashboard.widgets
        if w.title not in PERCENTILE_WIDGETS
    }
    assert len(shown) == 9  # the team's eight graphs and 5xx errors by destination
    for title, found in shown.items():
        services = {tag.split(":", 1)[1].split(".")[0] for s in found for tag in s["tags"]}
        assert services == set(SERVICES), (mode, title, found)
    for title in ("Average request latency by destination (ms)", "Top latency destinations (average ms)"):
        values = {round(v, 6) for s in shown[title] for v in s["values"] if v is not None}
        assert values == {25.0}, title  # the demo's mean request duration, from the sum and count queries


def test_the_percentile_graph_shows_each_services_p95_in_both_modes(
    seeded: tuple[IstioMode, MetricsApi], dashboards: dict[IstioMode, Dashboard]
) -> None:
    mode, api = seeded
    (p95,) = [w for w in dashboards[mode].widgets if w.title in PERCENTILE_WIDGETS]
    found = series(api, dashboards[mode].asked(p95))
    routes = {tag.split(":", 1)[1].split(".")[0] for s in found for tag in s["tags"]}
    assert routes == set(SERVICES), (mode, found)
    values = {round(v, 9) for s in found for v in s["values"]}
    assert values == {0.01905}, values  # the 95th percentile of 1..20 ms, interpolated between 19 and 20


def test_graphs_compiled_for_the_other_mode_do_not_show_this_modes_data(
    seeded: tuple[IstioMode, MetricsApi], dashboards: dict[IstioMode, Dashboard]
) -> None:
    mode, api = seeded
    dashboard, other = dashboards[mode], dashboards[OTHER[mode]]
    pairs = zip(dashboard.widgets, other.widgets, strict=True)
    other_mode = {theirs.title: theirs for ours, theirs in pairs if ours.query != theirs.query}
    assert len(other_mode) == 5  # the Istio graphs; APM's names have no mode
    shown = {title: series(api, dashboard.asked(widget)) for title, widget in other_mode.items()}
    if mode == "openmetrics":  # legacy's `.total` counts do not exist
        assert shown == {title: [] for title in other_mode}
        return
    # Legacy data also holds the plain names, as cumulative gauges: openmetrics' request graphs show running
    # totals that only grow, never a count per interval.
    for title in ("Request count by destination", "Top request destinations"):
        for found in shown[title]:
            values = [v for v in found["values"] if v is not None]
            assert values == sorted(values) and values[-1] > 10 * values[0], (title, found)
