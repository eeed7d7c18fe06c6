"""recognise_mesh_kind: an imported monitor becomes the mesh-kind definition it was compiled from, only
when that definition compiles back to the very same monitor.

Each monitor is compiled from a real definition file, created in the emulator over HTTP (so server
defaults, float thresholds and the type rewrites are real), shaped by the importer, recognised, written
to a YAML file and loaded again.
"""

from __future__ import annotations

import json
import re
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from provisioner.changes import LiveResource
from provisioner.cli import app
from provisioner.config import load_config, select_environment
from provisioner.credentials import Target
from provisioner.datadog.client import DatadogClient
from provisioner.definitions import load_definitions
from provisioner.emulator import RunningEmulator
from provisioner.engine.importer import monitor_document
from provisioner.identity import strip_monitor_marks, substitute_references
from provisioner.model import MESH_SIGNALS, CollectionModes, Environment, Json, MonitorSpec
from provisioner.normalize import canonical_monitor
from provisioner.recognise import recognise_mesh_group, recognise_mesh_kind, templates
from tests.conftest import TEST_API_KEY, TEST_APP_KEY

BARE = Environment(name="default")
OPENMETRICS = Environment(name="default", istio=CollectionModes("openmetrics", "openmetrics", "openmetrics"))
LEGACY = Environment(name="default", istio=CollectionModes("legacy", "legacy", "legacy"))
MODES = {"default modes": BARE, "openmetrics": OPENMETRICS, "legacy": LEGACY}


@pytest.fixture
def client(emulator: RunningEmulator) -> Iterator[DatadogClient]:
    with DatadogClient(Target(emulator.base_url, TEST_API_KEY, TEST_APP_KEY)) as opened:
        yield opened


def compile_all(folder: Path, text: str, environment: Environment = BARE) -> list[MonitorSpec]:
    """The monitors a definition file compiles to (a composite first, then its parts)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "definition.yaml").write_text(text, encoding="utf-8")
    loaded = load_definitions([folder], environment)
    assert loaded.ok, [p.message for p in loaded.errors]
    return list(loaded.monitors)


def compile_text(folder: Path, text: str, environment: Environment = BARE) -> MonitorSpec:
    """The one monitor a definition file compiles to."""
    (spec,) = compile_all(folder, text, environment)
    return spec


def written_bodies(
    folder: Path, document: dict[str, Json], environment: Environment = BARE
) -> dict[str, Json]:
    """The canonical bodies ``document`` compiles to once written to a file and loaded like any
    definition, by definition id."""
    specs = compile_all(folder, yaml.safe_dump(document), environment)
    adopt = document["adopt"]
    assert {s.adopt_id for s in specs} == (set(adopt.values()) if isinstance(adopt, dict) else {adopt})
    return {spec.definition_id: canonical_monitor(spec.body).body for spec in specs}


def imported(client: DatadogClient, spec: MonitorSpec) -> tuple[LiveResource, dict[str, Json]]:
    live = client.create_monitor(spec.body)
    return live, monitor_document(live, "imported")


@dataclass(frozen=True)
class Created:
    """What a definition's monitors became in Datadog, and the documents import reads."""

    lives: dict[str, LiveResource]  # by definition id
    raws: dict[str, dict[str, Json]]  # import's raw documents, by definition id

    def live_bodies(self, definition_id: str) -> dict[str, Json]:
        """The live canonical bodies, by the ids a definition ``definition_id`` gives them (a composite's
        query naming its parts by those ids)."""
        root = next(key for key in self.lives if ":" not in key)

        def renamed(key: str) -> str:
            return definition_id + key[len(root) :]

        by_datadog_id = {str(live.datadog_id): renamed(key) for key, live in self.lives.items()}
        bodies = {}
        for key, live in self.lives.items():
            body = live_body(live)
            if body["type"] == "composite":
                body["query"] = re.sub(r"\d+", lambda m: "@{" + by_datadog_id[m[0]] + "}", body["query"])
            bodies[renamed(key)] = body
        return bodies


def create_all(client: DatadogClient, specs: list[MonitorSpec]) -> Created:
    """Create the specs as apply does: parts first, then the composite with their ids."""
    lives: dict[str, LiveResource] = {}
    for spec in sorted(specs, key=lambda s: s.body["type"] == "composite"):
        body = dict(spec.body)
        body["query"] = substitute_references(body["query"], lambda i: str(lives[i].datadog_id))
        lives[spec.definition_id] = client.create_monitor(body)
    raws = {key: monitor_document(live, "imported") for key, live in lives.items()}
    return Created(lives, raws)


def recognised(created: Created, environment: Environment = BARE) -> dict[str, Json] | None:
    """What import recognises: the group from its composite, or the one monitor."""
    composite = next((k for k, live in created.lives.items() if live.body["type"] == "composite"), None)
    if composite is None:
        (raw,) = created.raws.values()
        return recognise_mesh_kind(raw, environment)
    parts = {int(live.datadog_id): created.raws[k] for k, live in created.lives.items() if k != composite}
    return recognise_mesh_group(created.raws[composite], parts, environment)


def live_body(live: LiveResource) -> dict[str, Json]:
    return canonical_monitor(strip_monitor_marks(live.body)).body


COMMON = """\
    id: source-definition
    name: "[mesh] something is wrong"
    message: |
      Something is wrong. Runbook: https://runbooks.example.com/mesh
      @slack-mesh-alerts
    tags: ["team:mesh-sre", "signal:any"]
    priority: 2
"""

DEFINITIONS = {
    "error-rate apm, grouped, guarded, percent thresholds": """
        kind: error-rate
        source: apm
        scope: ["env:prod", "!kube_namespace:test"]
        group_by: [service]
        window: 5m
        min_requests: 100
        thresholds: {critical: 5%, warning: 2%}
        options: {renotify_interval: 60, new_group_delay: 300, notify_no_data: true, no_data_timeframe: 20}
        """,
    "error-rate istio, one service, ratio thresholds": """
        kind: error-rate
        source: istio
        scope: ["kube_cluster_name:prod-eu1", "destination_service_name:checkout"]
        window: 10m
        min_requests: 50
        thresholds: {critical: 0.005, warning: 0.002, critical_recovery: 0.001}
        """,
    "error-rate apm, mesh-wide, no guard": """
        kind: error-rate
        min_requests: 0
        group_by: [service, env]
        thresholds: {critical: 12.5%}
        """,
    "error-rate istio, no scope, defaults": """
        kind: error-rate
        source: istio
        group_by: [destination_service_name]
        thresholds: {critical: 1%}
        """,
    "error-rate istio, per-service expansion in a namespace": """
        kind: error-rate
        source: istio
        scope: ["kube_cluster_name:prod-eu1"]
        thresholds: {critical: 2%}
        services:
          - service: payments
            namespace: shop
            thresholds: {critical: 0.5%, warning: 0.2%}
        """,
    "error-rate apm, per-service expansion, no guard": """
        kind: error-rate
        min_requests: 0
        thresholds: {critical: 2%}
        options: {on_missing_data: show_no_data}
        services: [cart]
        """,
    "sidecar-injection, scoped": """
        kind: sidecar-injection
        scope: ["kube_cluster_name:prod-eu1"]
        window: 10m
        thresholds: {critical: 0}
        options: {renotify_interval: 120}
        """,
    "sidecar-injection, all defaults": """
        kind: sidecar-injection
        """,
    "sidecar-injection, grouped, warning": """
        kind: sidecar-injection
        group_by: [kube_namespace]
        window: 1h
        thresholds: {critical: 3, warning: 1}
        """,
    "config-propagation, validation only": """
        kind: config-propagation
        push_errors: false
        proxy_rejects: false
        scope: ["kube_cluster_name:prod-eu1"]
        thresholds: {critical: 2}
        """,
    "config-propagation, push errors only": """
        kind: config-propagation
        push_errors: true
        proxy_rejects: false
        validation_failures: false
        window: 15m
        """,
    "config-propagation, proxy rejects and validation": """
        kind: config-propagation
        push_errors: false
        scope: ["env:prod"]
        """,
    "config-propagation, everything": """
        kind: config-propagation
        scope: ["kube_cluster_name:prod-eu1", "env:prod"]
        window: 30m
        thresholds: {critical: 5, warning: 0}
        options: {renotify_interval: 30, evaluation_delay: 60}
        """,
    "config-propagation, proxy rejects, grouped": """
        kind: config-propagation
        push_errors: false
        validation_failures: false
        group_by: [kube_cluster_name]
        thresholds: {critical: 1}
        """,
    "circuit-open outlier ejection, default group-by": """
        kind: circuit-open
        scope: ["kube_cluster_name:prod-eu1"]
        """,
    "circuit-open outlier ejection, not grouped": """
        kind: circuit-open
        signal: outlier-ejection
        group_by: []
        window: 15m
        thresholds: {critical: 2}
        """,
    "circuit-open circuit breakers, default breakers": """
        kind: circuit-open
        signal: circuit-breaker
        scope: ["env:prod"]
        """,
    "circuit-open one breaker, two clusters": """
        kind: circuit-open
        signal: circuit-breaker
        breakers: [cx_pool_open]
        clusters: ["outbound_80__reviews.default.svc.cluster.local", "outbound_80__cart.default.svc.cluster.local"]
        """,
    "circuit-open all five breakers": """
        kind: circuit-open
        signal: circuit-breaker
        breakers: [rq_retry_open, rq_open, cx_open, rq_pending_open, cx_pool_open]
        group_by: [envoy_cluster, kube_namespace]
        """,
    "circuit-open outlier ejection per destination service": """
        kind: circuit-open
        scope: ["kube_cluster_name:prod-eu1"]
        services:
          - {service: payments, namespace: shop, port: 8080}
        """,
    "circuit-open overflow of 503s only (a scope that names another signal)": """
        kind: circuit-open
        signal: overflow
        scope: ["response_code:503"]
        group_by: []
        """,
    "circuit-open overflow, one destination": """
        kind: circuit-open
        signal: overflow
        scope: ["kube_cluster_name:prod-eu1", "destination_service_name:payments"]
        thresholds: {critical: 10, warning: 0}
        """,
}


def definition_text(kind_fields: str) -> str:
    return textwrap.dedent(COMMON) + textwrap.dedent(kind_fields).strip() + "\n"


@pytest.mark.parametrize("environment", MODES.values(), ids=MODES.keys())
@pytest.mark.parametrize("fields", DEFINITIONS.values(), ids=DEFINITIONS.keys())
def test_imported_mesh_monitors_become_their_definition_and_load_back_to_the_same_monitors(
    tmp_path: Path, client: DatadogClient, fields: str, environment: Environment
) -> None:
    """The round trip, in each collection mode: compile → Datadog → import → compile equals."""
    specs = compile_all(tmp_path / "source", definition_text(fields), environment)
    created = create_all(client, specs)

    document = recognised(created, environment)

    assert document is not None
    assert document["kind"] == specs[0].kind
    assert (document["id"], document["name"]) == ("imported", specs[0].body["name"])
    assert "query" not in document and "type" not in document
    assert written_bodies(tmp_path / "written", document, environment) == created.live_bodies("imported")
    expected = {spec.definition_id: canonical_monitor(spec.body).body for spec in specs}
    assert created.live_bodies(specs[0].definition_id) == expected


def test_a_monitor_compiled_for_other_collection_modes_stays_raw(
    tmp_path: Path, client: DatadogClient
) -> None:
    """Recognising it would change its metric names on the next apply."""
    fields = DEFINITIONS["sidecar-injection, scoped"]
    created = create_all(client, compile_all(tmp_path, definition_text(fields), LEGACY))

    assert recognised(created, LEGACY) is not None
    assert recognised(created, OPENMETRICS) is None


def test_the_recognised_document_reads_as_the_definition_was_written(
    tmp_path: Path, client: DatadogClient
) -> None:
    spec = compile_text(
        tmp_path / "source", definition_text(DEFINITIONS["circuit-open overflow, one destination"])
    )
    live, raw = imported(client, spec)

    document = recognise_mesh_kind(raw)

    assert document == {
        "kind": "circuit-open",
        "id": "imported",
        "adopt": live.datadog_id,
        "name": "[mesh] something is wrong",
        "signal": "overflow",
        "scope": ["kube_cluster_name:prod-eu1", "destination_service_name:payments"],
        "group_by": ["destination_service_name"],
        "window": "5m",
        "thresholds": {"critical": 10, "warning": 0},
        "message": "Something is wrong. Runbook: https://runbooks.example.com/mesh\n@slack-mesh-alerts",
        "tags": ["signal:any", "team:mesh-sre"],
        "priority": 2,
    }


def test_an_error_rate_group_comes_back_as_one_definition_with_percents_and_min_requests(
    tmp_path: Path, client: DatadogClient
) -> None:
    fields = DEFINITIONS["error-rate apm, grouped, guarded, percent thresholds"]
    created = create_all(client, compile_all(tmp_path, definition_text(fields)))

    document = recognised(created)

    assert document is not None
    assert document["adopt"] == {
        "composite": created.lives["source-definition"].datadog_id,
        "ratio": created.lives["source-definition:ratio"].datadog_id,
        "traffic": created.lives["source-definition:traffic"].datadog_id,
    }
    assert document["thresholds"] == {"critical": "5%", "warning": "2%"}
    assert (document["source"], document["min_requests"], document["window"]) == ("apm", 100, "5m")
    assert document["scope"] == ["env:prod", "!kube_namespace:test"]
    assert document["options"] == {
        "new_group_delay": 300,
        "no_data_timeframe": 20,
        "notify_no_data": True,
        "renotify_interval": 60,
    }


REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_every_shipped_mesh_example_is_recognised(
    tmp_path: Path, client: DatadogClient, environment: str
) -> None:
    deployed = select_environment(load_config(REPOSITORY / "provisioner.yaml"), environment)
    shipped = load_definitions([REPOSITORY / "monitors"], deployed)
    mesh = [spec for spec in shipped.monitors if spec.kind in MESH_SIGNALS]
    groups: dict[str, list[MonitorSpec]] = {}
    for spec in mesh:
        groups.setdefault(spec.part_of or spec.definition_id, []).append(spec)
    assert len(groups) >= 9

    for root, specs in groups.items():
        created = create_all(client, specs)
        document = recognised(created, deployed)

        assert document is not None and document["kind"] == specs[0].kind, root
        folder = tmp_path / root.replace("/", "-")
        bare_modes = Environment(name="default", istio=deployed.istio)
        assert written_bodies(folder, document, bare_modes) == created.live_bodies("imported")


ERROR_RATIO = """
    kind: error-rate
    source: apm
    scope: ["env:prod", "!kube_namespace:test"]
    group_by: [service]
    min_requests: 0
    thresholds: {critical: 5%, warning: 2%}
    """


@pytest.fixture
def error_rate_raw(tmp_path: Path, client: DatadogClient) -> dict[str, Json]:
    spec = compile_text(tmp_path, definition_text(ERROR_RATIO))
    return imported(client, spec)[1]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (" / sum:trace", " /  sum:trace"),  # different spacing
        (" / sum:trace", "/sum:trace"),
        ("{env:prod,", "{env:prod, "),  # in the errors term only
        (" by {service}.as_count() /", " by {service}.as_count().rollup(sum, 60) /"),  # an extra function
        ("sum:trace.envoy.proxy.errors", "avg:trace.envoy.proxy.errors"),  # another space aggregation
        ("sum(last_5m)", "avg(last_5m)"),  # another time aggregation
        ("> 0.05", ">= 0.05"),  # another comparator
        ("> 0.05", "> 0.06"),  # query and critical threshold disagree
        ("hits{env:prod,!kube_namespace:test}", "hits{env:prod}"),  # errors and requests scoped apart
        ("hits{env:prod,!kube_namespace:test} by {service}", "hits{env:prod,!kube_namespace:test}"),
        (  # the guard of earlier versions: not what error-rate writes any more
            " / sum:trace.envoy.proxy.hits{env:prod,!kube_namespace:test} by {service}.as_count()",
            " / clamp_min(sum:trace.envoy.proxy.hits{env:prod,!kube_namespace:test} by {service}.as_count(), 100)",
        ),
        ("last_5m", "last_90s"),
    ],
)
def test_a_query_that_merely_resembles_error_rate_stays_a_raw_monitor(
    error_rate_raw: dict[str, Json], old: str, new: str
) -> None:
    assert old in error_rate_raw["query"]
    changed = {**error_rate_raw, "query": error_rate_raw["query"].replace(old, new, 1)}

    assert recognise_mesh_kind(changed) is None
    assert recognise_mesh_kind(error_rate_raw) is not None


def test_a_scope_that_is_not_a_list_of_scope_items_stays_raw(error_rate_raw: dict[str, Json]) -> None:
    """``env IN (prod,staging)`` holds a comma, which no scope item of a definition can."""
    query = error_rate_raw["query"].replace("{env:prod,!kube_namespace:test}", "{env IN (prod,staging)}")
    assert query.count("env IN (prod,staging)") == 2

    assert recognise_mesh_kind({**error_rate_raw, "query": query}) is None


@pytest.mark.parametrize(
    "change",
    [
        {"type": "service check"},
        {
            "options": {
                "thresholds": {"critical": 0.05, "warning": 0.02},
                "threshold_windows": {"trigger_window": "last_5m"},
            }
        },
        {"options": {"thresholds": {"critical": 0.05, "critical_query": "x"}}},
        {"options": {"thresholds": {"warning": 0.02}}},
    ],
)
def test_a_monitor_a_kind_cannot_express_stays_raw(
    error_rate_raw: dict[str, Json], change: dict[str, Json]
) -> None:
    assert recognise_mesh_kind({**error_rate_raw, **change}) is None


def test_monitors_of_no_mesh_kind_stay_raw() -> None:
    raws = [
        "max(last_10m):avg:envoy.control_plane.connected_state{kube_cluster_name:c} by {host} <= 0",
        "sum(last_5m):sum:trace.envoy.proxy.errors{*}.as_count() > 3",  # errors, not a ratio
        "sum(last_5m):sum:istio.sidecar_injection.failure_total{*}.as_count() + "
        "sum:envoy.cluster.outlier_detection.ejections_active{*} > 0",  # two kinds at once
        "",
    ]
    for query in raws:
        raw = {"kind": "monitor", "id": "x", "name": "n", "type": "query alert", "query": query,
               "options": {"thresholds": {"critical": 0}}}  # fmt: skip
        assert recognise_mesh_kind(raw) is None, query


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"query": None},
        {"query": 5},
        {"query": "sum(last_5m):sum:istio.sidecar_injection.failure_total{*}.as_count() > 0", "options": "x"},
        {"query": "sum(last_5m):sum:istio.sidecar_injection.failure_total{*}.as_count() > 0", "tags": 5},
        {
            "query": "sum(last_5m):sum:istio.sidecar_injection.failure_total{*}.as_count() > 0",
            "priority": "high",
        },
        {"query": "sum(last_5m):sum:istio.sidecar_injection.failure_total{*}.as_count() > 0", "name": ["x"]},
        {"query": "sum(last_5m):sum:istio.sidecar_injection.failure_total{\x00scope\x00}.as_count() > 0"},
    ],
)
def test_odd_input_never_raises(raw: dict[str, Json]) -> None:
    assert recognise_mesh_kind({"kind": "monitor", "id": "x", **raw}) is None


def test_every_mesh_kind_has_templates_built_from_its_compiler() -> None:
    for kind in MESH_SIGNALS:
        assert templates(kind), kind


# --- properties -----------------------------------------------------------------------------

tag_keys = st.sampled_from(["env", "kube_cluster_name", "kube_namespace", "service", "team", "region"])
tag_values = st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True)
scope_items = st.builds(
    lambda negated, key, value: f"{'!' if negated else ''}{key}:{value}", st.booleans(), tag_keys, tag_values
)
windows = st.builds(lambda n, unit: f"{n}{unit}", st.integers(1, 59), st.sampled_from("mhdw"))
counts = st.one_of(st.integers(0, 10_000), st.floats(0, 10_000, allow_nan=False).map(lambda f: round(f, 2)))
percents = st.decimals(min_value="0.01", max_value="100", places=2).map(lambda d: f"{d.normalize():f}%")
ratios = st.floats(0.0001, 1, allow_nan=False)
cluster_names = st.from_regex(
    r"outbound\|[0-9]{2,4}\|\|[a-z]{1,8}\.default\.svc\.cluster\.local", fullmatch=True
)


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Json]:
    kind = draw(st.sampled_from(MESH_SIGNALS))
    fields: dict[str, Json] = {"id": "generated", "kind": kind, "name": "[mesh] generated @slack-x"}
    fields["message"] = "@slack-mesh"
    if draw(st.booleans()):
        fields["scope"] = draw(st.lists(scope_items, max_size=3))
    if draw(st.booleans()):
        fields["group_by"] = draw(st.lists(tag_keys, max_size=2, unique=True))
    if draw(st.booleans()):
        fields["window"] = draw(windows)
    fields.update(draw(_kind_fields(kind, grouped=bool(fields.get("group_by")))))
    return fields


@st.composite
def _kind_fields(draw: st.DrawFn, kind: str, grouped: bool) -> dict[str, Json]:
    if kind == "error-rate":
        critical = draw(st.one_of(percents, ratios))
        fields: dict[str, Json] = {
            "source": draw(st.sampled_from(["apm", "istio"])),
            "thresholds": {"critical": critical},
        }
        if draw(st.booleans()):
            fields["min_requests"] = draw(st.integers(0, 5000))
        return fields
    fields = {"thresholds": {"critical": draw(counts)}} if draw(st.booleans()) else {}
    if kind == "config-propagation":
        # Grouped, one signal only: a composite evaluates only the groups common to all its parts.
        flags = st.lists(st.booleans(), min_size=3, max_size=3).filter(lambda f: sum(f) == 1 if grouped else any(f))
        fields.update(zip(("push_errors", "proxy_rejects", "validation_failures"), draw(flags), strict=True))
    if kind == "circuit-open":
        signal = draw(st.sampled_from(["outlier-ejection", "circuit-breaker", "overflow"]))
        fields["signal"] = signal
        if signal == "circuit-breaker" and draw(st.booleans()):
            breakers = ["rq_open", "cx_open", "rq_pending_open", "cx_pool_open", "rq_retry_open"]
            fields["breakers"] = draw(st.lists(st.sampled_from(breakers), min_size=1, unique=True))
        if signal != "overflow" and draw(st.booleans()):
            fields["clusters"] = draw(st.lists(cluster_names, min_size=1, max_size=3))
    return fields


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(definition=definitions())
def test_every_generated_mesh_definition_is_recognised_after_a_trip_through_datadog(
    client: DatadogClient, definition: dict[str, Json]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        specs = compile_all(Path(folder) / "source", yaml.safe_dump(definition))
        created = create_all(client, specs)

        document = recognised(created)

        assert document is not None, [s.body["query"] for s in specs]
        assert document["kind"] == definition["kind"]
        assert written_bodies(Path(folder) / "written", document) == created.live_bodies("imported")


@settings(max_examples=150, deadline=None)
@given(definition=definitions(), data=st.data())
def test_whatever_is_recognised_from_a_changed_query_compiles_to_that_query(
    definition: dict[str, Json], data: st.DataObject
) -> None:
    """Invariant: the result is None or a document that loads back to exactly the raw monitor."""
    with tempfile.TemporaryDirectory() as folder:
        specs = compile_all(Path(folder) / "source", yaml.safe_dump(definition))
        spec = next(s for s in specs if s.body["type"] != "composite")  # the one monitor, or a part
        raw = monitor_document(LiveResource("monitor", 7, spec.body), "changed")
        query = str(raw["query"])
        at = data.draw(st.integers(0, len(query)))
        cut = data.draw(st.integers(0, 2))
        raw["query"] = (
            query[:at] + data.draw(st.sampled_from(["", " ", ",", "x", "{", "}", "0"])) + query[at + cut :]
        )

        document = recognise_mesh_kind(raw)

        if document is not None:
            expected = canonical_monitor(
                {k: v for k, v in raw.items() if k not in ("kind", "id", "adopt")}
            ).body
            assert written_bodies(Path(folder) / "written", document) == {"changed": expected}


def test_import_writes_mesh_monitors_as_their_kinds_and_apply_only_adopts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dd_env: RunningEmulator
) -> None:
    names = ["error-rate istio, per-service expansion in a namespace", "sidecar-injection, scoped",
             "config-propagation, everything", "circuit-open one breaker, two clusters"]  # fmt: skip
    definitions = [
        compile_all(tmp_path / "sources" / str(i), definition_text(DEFINITIONS[n]))
        for i, n in enumerate(names)
    ]
    with DatadogClient(Target(dd_env.base_url, TEST_API_KEY, TEST_APP_KEY)) as client:
        created = [create_all(client, specs) for specs in definitions]
    ids = sorted(live.datadog_id for c in created for live in c.lives.values())
    monkeypatch.chdir(tmp_path)

    code, output = run_cli("import", "--all-unmanaged")

    assert code == 0, output
    written = [yaml.safe_load(path.read_text()) for path in (tmp_path / "monitors").glob("*.yaml")]
    assert sorted(d["kind"] for d in written) == sorted(specs[0].kind for specs in definitions)
    adopted = [
        i for d in written for i in (d["adopt"].values() if isinstance(d["adopt"], dict) else [d["adopt"]])
    ]
    assert sorted(adopted) == ids  # the groups' composites and parts each in one definition
    result = CliRunner().invoke(app, ["plan", "--format", "json", "--detailed-exitcode"])
    assert result.exit_code == 2, result.output
    plan = json.loads(result.stdout)  # the validate warnings (their hints show YAML mappings) go to stderr
    assert plan["summary"]["adopt"] == len(ids) and plan["summary"]["create"] == 0
    assert all(change["fields"] == [] for change in plan["changes"])  # adopted as they are, nothing to change
    assert run_cli("apply")[0] == 0
    assert run_cli("plan", "--detailed-exitcode")[0] == 0


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output
