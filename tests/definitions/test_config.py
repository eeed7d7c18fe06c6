from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.config import load_config, select_environment
from provisioner.credentials import resolve_site
from provisioner.errors import UserError
from provisioner.mesh.catalogue import DEFAULT_MODES

REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
namespace: mesh-sre
default_environment: staging
services: [checkout, cart]
environments:
  staging:
    site: datadoghq.eu
    tags: [env:staging]
    notify: ["@slack-staging"]
    variables: {cluster: stg, replicas: 3, canary: true}
  production:
    namespace: mesh-prod
    api_url: https://api.example.test
"""


def test_a_full_config(tmp_path: Path) -> None:
    path = tmp_path / "provisioner.yaml"
    path.write_text(CONFIG)
    config = load_config(path)
    assert (config.path, config.default_environment, config.services) == (
        str(path),
        "staging",
        ("checkout", "cart"),
    )
    staging = select_environment(config, None)
    assert (staging.name, staging.site, staging.namespace, staging.tags, staging.notify) == (
        "staging", "datadoghq.eu", "mesh-sre", ("env:staging",), ("@slack-staging",)
    )  # fmt: skip
    assert staging.variables == {"cluster": "stg", "replicas": "3", "canary": "true"}
    production = select_environment(config, "production")
    assert (production.namespace, production.api_url, production.tags) == (
        "mesh-prod",
        "https://api.example.test",
        (),
    )


def test_no_config_file_means_one_implicit_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.path is None
    assert select_environment(config, None).name == "default"
    with pytest.raises(UserError, match="unknown environment 'production'"):
        select_environment(config, "production")


def test_the_default_file_is_found_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provisioner.yaml").write_text(CONFIG)
    assert load_config(None).path == "provisioner.yaml"


def test_unknown_environment_suggests_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "provisioner.yaml"
    path.write_text(CONFIG)
    with pytest.raises(UserError) as raised:
        select_environment(load_config(path), "prodution")
    assert raised.value.hint == "did you mean 'production'?"


def test_several_environments_and_no_default_need_env(tmp_path: Path) -> None:
    path = tmp_path / "provisioner.yaml"
    path.write_text("environments: {a: {}, b: {}}\n")
    with pytest.raises(UserError, match="several environments") as raised:
        select_environment(load_config(path), None)
    assert "a, b" in raised.value.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "environments:\n  prod:\n    notify: slack\n",
            "provisioner.yaml:3:13: error [wrong-type] /environments/prod/notify",
        ),
        (
            "environments:\n  prod:\n    sit: eu\n",
            "provisioner.yaml:3:5: error [unknown-key] /environments/prod/sit: unknown key 'sit'",
        ),
        (
            "environments:\n  prod: {site: moon.example}\n",
            "provisioner.yaml:2:16: error [unknown-site] /environments/prod/site",
        ),
        (
            "default_environment: prod\nenvironments: {production: {}}\n",
            "provisioner.yaml:1:22: error [unknown-environment]",
        ),
        (
            "environments: {prod: {variables: {env: x}}}\n",
            "provisioner.yaml:1:35: error [key-not-allowed] /environments/prod/variables/env",
        ),
        ("a: [1\n", "provisioner.yaml:2:1: error [yaml-syntax]"),
    ],
)
def test_config_errors_name_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("provisioner.yaml").write_text(text)
    with pytest.raises(UserError) as raised:
        load_config(None)
    assert expected in str(raised.value)


def test_a_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.yaml")


MODES_CONFIG = """\
istio: {data_plane: openmetrics, set_up: [apm-tracer]}
environments:
  legacy-everywhere:
    istio: legacy
  envoy-legacy:
    istio: {envoy: legacy, set_up: [proxy-stats, envoy-check, apm-tracer]}
  as-project: {}
"""


def test_collection_modes_default_to_the_documented_setup_and_merge_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "provisioner.yaml"
    path.write_text(MODES_CONFIG)
    config = load_config(path)
    modes = {name: env.istio.as_dict() for name, env in config.environments.items() if env.istio}
    project_set_up = ["apm-tracer"]  # an environment's set_up joins the project's, sorted, once each
    assert modes == {
        "legacy-everywhere": {
            "data_plane": "legacy", "control_plane": "legacy", "envoy": "openmetrics", "set_up": project_set_up
        },
        "envoy-legacy": {
            "data_plane": "openmetrics", "control_plane": "openmetrics", "envoy": "legacy",
            "set_up": ["apm-tracer", "envoy-check", "proxy-stats"],
        },
        "as-project": {
            "data_plane": "openmetrics", "control_plane": "openmetrics", "envoy": "openmetrics",
            "set_up": project_set_up,
        },
    }  # fmt: skip
    path.write_text("environments: {prod: {}}\n")
    assert load_config(path).environments["prod"].istio == DEFAULT_MODES


def test_an_unknown_mode_is_reported_with_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "provisioner.yaml"
    path.write_text("istio: {data_plane: v2}\nenvironments: {prod: {}}\n")
    with pytest.raises(UserError, match="openmetrics, legacy"):
        load_config(path)


# --- environments that would fight over one org ----------------------------------------------------

SHARED_NAMESPACE = """\
namespace: mesh-sre
default_environment: staging
environments:
  staging:
    site: datadoghq.eu
    tags: [env:staging]
  production:
    site: eu
    tags: [env:production]
"""
MONITOR = """\
id: checkout-errors
kind: monitor
name: checkout errors
type: query alert
query: avg(last_5m):sum:trace.http.request.errors{service:checkout}.as_count() > 5
options: {thresholds: {critical: 5}}
"""


def test_validate_warns_when_two_environments_share_a_site_and_a_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("provisioner.yaml").write_text(SHARED_NAMESPACE)
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "checkout.yaml").write_text(MONITOR)

    text = CliRunner().invoke(app, ["validate"])
    github = CliRunner().invoke(app, ["validate", "--env", "production", "--format", "github"])

    assert text.exit_code == 0 and github.exit_code == 0, text.output
    assert (
        "provisioner.yaml:7:3: warning [shared-namespace] /environments/production: environments 'staging' "
        "and 'production' both manage namespace 'mesh-sre' at https://api.datadoghq.eu"
    ) in text.output
    assert "`namespace: mesh-sre-production` under production" in text.output
    assert "::warning file=provisioner.yaml,line=7,col=3,title=shared-namespace::" in github.output


def test_the_warning_points_at_an_explicit_namespace_and_survives_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "provisioner.yaml"
    path.write_text(
        "environments:\n"
        "  staging: {api_url: 'https://api.datadoghq.com/', namespace: mesh}\n"
        "  production:\n"
        "    namespace: mesh\n"
    )
    for _ in range(2):  # read, then served by the cache
        [warning] = load_config(path, tmp_path / "cache").warnings
        assert (warning.line, warning.col, warning.pointer) == (4, 5, "/environments/production/namespace")
        assert warning.severity == "warning"
        assert "'staging' and 'production' both manage namespace 'mesh' at https://api.datadoghq.com:" in (
            warning.message
        )


def test_the_shipped_config_gives_every_environment_its_own_namespace() -> None:
    config = load_config(REPO / "provisioner.yaml")
    assert len(config.environments) >= 2
    assert config.warnings == ()
    namespaces = [environment.namespace for environment in config.environments.values()]
    assert len(set(namespaces)) == len(namespaces)


_SITES = st.sampled_from(["datadoghq.com", "datadoghq.eu", "eu", "us5.datadoghq.com", None])
_NAMESPACES = st.sampled_from(["mesh", "mesh-staging", None])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_SITES, _NAMESPACES), min_size=1, max_size=4))
def test_one_warning_for_every_environment_that_repeats_an_earlier_ones_org_and_namespace(
    settings_of: list[tuple[str | None, str | None]],
) -> None:
    environments = {
        f"env{index}": {key: value for key, value in (("site", site), ("namespace", ns)) if value}
        for index, (site, ns) in enumerate(settings_of)
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "provisioner.yaml"
        path.write_text(json.dumps({"namespace": "mesh", "environments": environments}))
        config = load_config(path)
    orgs = {(resolve_site(site or "datadoghq.com"), ns or "mesh") for site, ns in settings_of}
    assert len(config.warnings) == len(settings_of) - len(orgs)
    assert all(w.code == "shared-namespace" and w.severity == "warning" for w in config.warnings)
