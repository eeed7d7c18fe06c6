"""The compiled-definitions cache never serves a stale result: whatever a compiled file depends on changes,
the file is compiled again, and what a cached run returns is what a run without the cache returns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner import config as config_module
from provisioner import identity
from provisioner.config import load_config, select_environment
from provisioner.definitions import cache, load_definitions
from provisioner.definitions.cache import DefinitionCache, code_fingerprint, default_cache_directory
from provisioner.errors import UserError
from provisioner.model import DefinitionSet

REPOSITORY = Path(__file__).resolve().parents[2]

CONFIG = """\
namespace: team
default_environment: production
environments:
  production:
    tags: ["env:production"]
    notify: ["@pagerduty-mesh"]
    variables: {cluster: prod-eu1}
  staging:
    variables: {cluster: staging-eu1}
"""

LATENCY = """\
id: latency
kind: monitor
name: "latency in ${cluster}"
type: query alert
query: "avg(last_5m):avg:trace.envoy.proxy.duration{kube_cluster_name:${cluster}} > 2"
message: "slow @slack-mesh"
options: {thresholds: {critical: 2}}
"""

COMPOSITE = """\
- id: errors
  kind: error-rate
  name: "5xx on {{service.name}}"
  scope: ["kube_cluster_name:${cluster}"]
  group_by: [service]
  thresholds: {critical: 5%}
  message: "{{service.name}} fails @slack-mesh"
- id: both
  kind: monitor
  name: both
  type: composite
  query: "@{errors} && @{latency}"
  message: "both @slack-mesh"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "monitors").mkdir()
    (tmp_path / "provisioner.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "monitors" / "latency.yaml").write_text(LATENCY, encoding="utf-8")
    (tmp_path / "monitors" / "composite.yaml").write_text(COMPOSITE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Counted:
    """load_definitions with the cache in ``directory``, counting the files compiled."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch, code_version: str = "v1") -> None:
        self.directory, self.code_version, self.compiled = directory, code_version, 0
        counted = self

        class CountingCache(DefinitionCache):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs, code_version=counted.code_version)  # type: ignore[arg-type]

            def save(self) -> None:
                counted.compiled += self.misses
                super().save()

        monkeypatch.setattr("provisioner.definitions.DefinitionCache", CountingCache)

    def load(self, env: str | None = None) -> DefinitionSet:
        config = load_config(None)
        return load_definitions([], select_environment(config, env), config, self.directory)


def fresh(env: str | None = None) -> DefinitionSet:
    config = load_config(None)
    return load_definitions([], select_environment(config, env), config)


def test_a_cached_run_returns_what_a_fresh_run_returns(project: Path, tmp_path_factory, monkeypatch) -> None:
    cached = Counted(tmp_path_factory.mktemp("cache"), monkeypatch)
    assert cached.load() == fresh()
    assert cached.compiled == 2
    assert cached.load() == fresh()  # from the cache: specs, composites' references, warnings
    assert cached.compiled == 2
    fingerprints = {spec.definition_id: identity.spec_fingerprint(spec) for spec in cached.load().monitors}
    assert fingerprints == {spec.definition_id: identity.spec_fingerprint(spec) for spec in fresh().monitors}


def test_every_input_of_a_compiled_file_invalidates_it(project: Path, tmp_path_factory, monkeypatch) -> None:
    cached = Counted(tmp_path_factory.mktemp("cache"), monkeypatch)
    cached.load()
    latency = project / "monitors" / "latency.yaml"

    os.utime(latency, (1, 1))  # touched, not changed: still cached
    assert cached.load() == fresh() and cached.compiled == 2

    latency.write_text(LATENCY.replace("> 2", "> 3").replace("critical: 2", "critical: 3"), encoding="utf-8")
    assert cached.load() == fresh() and cached.compiled == 3  # only the edited file
    assert "> 3" in next(m for m in cached.load().monitors if m.definition_id == "latency").body["query"]

    config = project / "provisioner.yaml"
    config.write_text(CONFIG.replace("prod-eu1", "prod-us1"), encoding="utf-8")  # a variable's value
    assert cached.load() == fresh() and cached.compiled == 5
    config.write_text(CONFIG.replace('["env:production"]', '["env:prod"]'), encoding="utf-8")  # tags
    assert cached.load() == fresh() and cached.compiled == 7
    config.write_text(CONFIG + "  qa: {}\n", encoding="utf-8")  # one more environment declared
    assert cached.load() == fresh() and cached.compiled == 9

    assert cached.load("staging") == fresh("staging") and cached.compiled == 11  # another environment
    assert cached.load() == fresh() and cached.compiled == 11  # each environment keeps its own entries

    cached.code_version = "v2"  # another provisioner
    assert cached.load() == fresh() and cached.compiled == 13


def test_an_error_is_cached_as_an_error(project: Path, tmp_path_factory, monkeypatch) -> None:
    cached = Counted(tmp_path_factory.mktemp("cache"), monkeypatch)
    (project / "monitors" / "latency.yaml").write_text(LATENCY.replace("kind: monitor", "kind: monitr"))
    first, second = cached.load(), cached.load()
    assert first == second == fresh() and not second.ok and cached.compiled == 2
    assert any(p.code == "unknown-kind" and p.line == 2 for p in second.problems)


def test_the_same_files_seen_from_another_folder_are_compiled_again(project, tmp_path_factory, monkeypatch):
    """Problems and sources name files by their path from the current folder."""
    cached = Counted(tmp_path_factory.mktemp("cache"), monkeypatch)
    cached.load()
    monkeypatch.chdir(project / "monitors")
    config = load_config(project / "provisioner.yaml")
    elsewhere = load_definitions([Path(".")], select_environment(config, None), config, cached.directory)
    assert cached.compiled == 4
    assert {m.source.path for m in elsewhere.monitors} == {"latency.yaml", "composite.yaml"}


def test_an_unreadable_or_foreign_cache_file_is_a_miss(project: Path, tmp_path_factory, monkeypatch) -> None:
    cached = Counted(tmp_path_factory.mktemp("cache"), monkeypatch)
    cached.load()
    (stored,) = cached.directory.iterdir()
    document = json.loads(stored.read_text())
    for entry in document["entries"].values():
        entry["definitions"] = [["not", "a definition"]]
    stored.write_text(json.dumps(document))
    assert cached.load() == fresh() and cached.compiled == 4
    stored.write_text("{not json")
    assert cached.load() == fresh() and cached.compiled == 6
    stored.write_text("[1, 2]")
    assert cached.load() == fresh() and cached.compiled == 8
    assert [p.name for p in cached.directory.iterdir()] == [stored.name]  # no temporary file left


def test_the_code_fingerprint_follows_the_package_files(tmp_path: Path) -> None:
    package = tmp_path / "provisioner"
    shutil.copytree(REPOSITORY / "provisioner" / "definitions", package / "definitions")
    before = code_fingerprint(package)
    assert code_fingerprint(package) == before
    schema = next((package / "definitions" / "schemas").glob("*.json"))
    schema.write_text(schema.read_text() + " ")
    assert code_fingerprint(package) != before
    module, before = package / "definitions" / "findings.py", code_fingerprint(package)
    written = module.stat().st_mtime_ns
    module.write_text(module.read_text().replace("finding", "fjnding", 1))  # the same size
    os.utime(module, ns=(written + 1, written + 1))  # a nanosecond later
    assert code_fingerprint(package) != before
    before = code_fingerprint(package)
    (package / "definitions" / "added.py").write_text("")
    assert code_fingerprint(package) != before
    assert code_fingerprint(REPOSITORY / "provisioner") == cache.code_fingerprint()


def test_the_config_is_read_again_whenever_its_text_changes(
    project: Path, tmp_path: Path, monkeypatch
) -> None:
    """provisioner.yaml's checked contents are cached too: a run that reads the same text parses nothing,
    any other text is read and checked again, and a config with an error is never kept."""
    directory, reads = tmp_path / "config-cache", []
    checked_data = config_module._checked_data
    monkeypatch.setattr(config_module, "_checked_data", lambda *args: reads.append(1) or checked_data(*args))
    assert load_config(None, directory) == load_config(None) and len(reads) == 2
    assert load_config(None, directory) == load_config(None) and len(reads) == 3  # the first from the cache
    (stored,) = directory.iterdir()
    stored.write_text(stored.read_text().replace('"data":{', '"data":[{').removesuffix("}") + "]}")
    assert load_config(None, directory) == load_config(None) and len(reads) == 5  # not a mapping: read again

    config = project / "provisioner.yaml"
    config.write_text(CONFIG.replace("prod-eu1", "prod-us1"), encoding="utf-8")
    assert load_config(None, directory).environments["production"].variables["cluster"] == "prod-us1"
    config.write_text(CONFIG.replace("staging:", "staging: []\n  qa:"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(UserError, match=r"provisioner.yaml:\d+:\d+: error \[wrong-type\]"):
            load_config(None, directory)
    config.write_text(CONFIG, encoding="utf-8")
    assert load_config(None, directory) == load_config(None)
    assert len(reads) == 10  # each run since the first edit read the file (an error is not kept)
    assert load_config(project / "provisioner.yaml", directory).path != load_config(None, directory).path


def test_where_it_lives_and_how_to_turn_it_off() -> None:
    assert default_cache_directory({"PROVISIONER_CACHE": "off", "PROVISIONER_CACHE_DIR": "/x"}) is None
    assert default_cache_directory({"PROVISIONER_CACHE_DIR": "/x"}) == Path("/x")
    assert default_cache_directory({"XDG_CACHE_HOME": "/c"}) == Path("/c/provisioner")
    assert default_cache_directory({}) == Path.home() / ".cache" / "provisioner"


def test_validate_uses_it_and_reports_the_same(project: Path, tmp_path: Path) -> None:
    """The real CLI in fresh processes: a warm run prints what a cold one and an uncached one print."""
    directory = tmp_path / "cli-cache"

    def validate(**env: str) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "provisioner", "validate"],
            capture_output=True, text=True, check=False, cwd=project,
            env={**os.environ, "PROVISIONER_CACHE_DIR": str(directory), **env},
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    cold, warm, off = validate(), validate(), validate(PROVISIONER_CACHE="off")
    assert cold == warm == off
    assert (
        "composite.yaml:12:10: error [composite-in-composite] /1/query" in warm[1]
    )  # located from the cache
    assert sorted(path.name.split("-")[0] for path in directory.iterdir()) == ["config", "definitions"]
