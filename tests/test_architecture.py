"""The dependency direction reads top-down, and every module imports on its own."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.mesh import catalogue

PACKAGE = Path(__file__).resolve().parents[1] / "provisioner"

# layer -> layers it must never import (CLI → commands → engine → definitions/normalisation → adapter)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "engine": ("provisioner.cli", "provisioner.commands", "provisioner.report", "provisioner.github"),
    "definitions": ("provisioner.cli", "provisioner.commands", "provisioner.engine", "provisioner.datadog"),
    "datadog": ("provisioner.cli", "provisioner.commands", "provisioner.engine", "provisioner.definitions"),
    "report": ("provisioner.cli", "provisioner.commands", "provisioner.datadog"),
    "normalize": ("provisioner.",),
    "model": ("provisioner.",),
    "changes": ("provisioner.",),
    "identity": ("provisioner.cli", "provisioner.commands", "provisioner.engine", "provisioner.datadog"),
    "github": ("provisioner.cli", "provisioner.commands", "provisioner.engine", "provisioner.datadog"),
    "mesh": ("provisioner.",),  # the mesh catalogue is a leaf: facts, no behaviour of ours
    "monitor_tests": ("provisioner.cli", "provisioner.commands", "provisioner.report", "provisioner.github"),
}
ALLOWED_EVERYWHERE = ("provisioner.model", "provisioner.changes", "provisioner.errors")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_layer_above_it(path: Path) -> None:
    layer = layer_of(path)
    forbidden = FORBIDDEN.get(layer, ())
    own = (f"provisioner.{layer}.", f"provisioner.{layer}")  # a package may import its own modules
    upward = {
        name
        for name in imported_names(path)
        if name.startswith(forbidden)
        and not name.startswith(ALLOWED_EVERYWHERE)
        and name not in own
        and not name.startswith(own[0])
    }
    assert not upward, f"{path.relative_to(PACKAGE)} imports {sorted(upward)}"


def test_only_the_adapter_imports_datadog_api_client() -> None:
    importers = {
        str(p.relative_to(PACKAGE))
        for p in modules()
        if any(n.split(".")[0] == "datadog_api_client" for n in imported_names(p))
    }
    assert importers == {"datadog/client.py"}


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    names = [
        ".".join(("provisioner", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for p in modules()
        if p.name != "__main__.py"
    ]
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# A mesh metric name outside the catalogue is a second copy of a fact that changes with the collection mode.
_MESH_METRIC = re.compile(r"(?<![\w./-])(?:istio\.[a-z_]+\.[a-z_]|envoy\.[a-z_]+\.[a-z_]|trace\.envoy\.)")


def test_no_mesh_metric_name_outside_the_catalogue() -> None:
    """Code, strings, docstrings and comments: the catalogue (provisioner/mesh/) is the only place that
    names Istio, Envoy or APM metrics; everything else asks it."""
    names = catalogue.all_names()
    found = []
    for path in modules():
        if path.relative_to(PACKAGE).parts[0] == "mesh":
            continue
        text = path.read_text(encoding="utf-8")
        words = set(re.findall(r"[A-Za-z0-9_.]+", text))
        for match in _MESH_METRIC.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(PACKAGE)}:{line}: {match.group(0)}…")
        found += [f"{path.relative_to(PACKAGE)}: {name}" for name in sorted(names & words)]
    assert not found, "\n".join(found)


# What a plan loads is paid on every push and every hourly drift run: nothing of the other commands, and
# no library a plan does not use (pydantic came with typer 0.29; the key-management models with the
# read-only key check, which plan imports only when it runs).
NOT_FOR_A_PLAN = (
    "provisioner.emulator",
    "provisioner.github",
    "provisioner.monitor_tests",
    "provisioner.engine.audit",
    "provisioner.engine.importer",
    "provisioner.commands.audit",
    "provisioner.commands.import_",
    "provisioner.commands.mesh",
    "provisioner.commands.test",
    "provisioner.commands.apply",
    "provisioner.report.plan_json",
    "provisioner.report.plan_markdown",
    "pydantic",
    "rich",
    "requests",
    "jsonschema.",  # python-jsonschema (a test dependency); jsonschema_rs validates
    "datadog_api_client.v2",
)


def test_a_plan_imports_only_what_it_uses(tmp_path: Path) -> None:
    """The real CLI parsing a plan's options and running its command, in a folder without definitions
    (it stops there, exit 1, before any request)."""
    script = (
        "import runpy, sys\nsys.argv = ['provisioner', 'plan', '--format', 'text']\n"
        "try:\n    runpy.run_module('provisioner', run_name='__main__')\nexcept SystemExit as exit:\n"
        "    print('exit', exit.code)\nprint('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert "exit 1" in done.stdout and "no monitors/ or dashboards/" in done.stderr, done.stderr
    assert "provisioner.commands.plan" in done.stdout.split()
    loaded = [name for name in done.stdout.split() if (name + ".").startswith(NOT_FOR_A_PLAN)]
    assert not loaded, f"a plan imports {loaded}"


# What validate loads is paid on every pre-commit hook and CI check, most of it before it reads a file:
# nothing of the commands that talk to Datadog (their engine, adapter, reports and values), and no library
# it does not use. With the cache off, as in the benchmark, nothing is digested.
NOT_FOR_VALIDATE = (
    "provisioner.changes",
    "provisioner.engine",
    "provisioner.datadog",
    "provisioner.normalize",
    "provisioner.emulator",
    "provisioner.github",
    "provisioner.monitor_tests",
    "provisioner.commands.plan",
    "provisioner.commands._session",
    "provisioner.report.plan_text",
    "provisioner.report.plan_json",
    "provisioner.report.plan_markdown",
    "datadog_api_client",
    "requests",
    "pydantic",
    "rich",
    "jsonschema.",  # python-jsonschema (a test dependency); jsonschema_rs validates
    "hashlib",  # loads OpenSSL: only the cache and the fingerprints of a plan digest
    "importlib.resources",  # the schemas are read from the package folder
    "tempfile",  # only the cache writes files
)


def test_validate_imports_only_what_it_uses(tmp_path: Path) -> None:
    """The real CLI validating a mesh monitor and a dashboard with a provisioner.yaml, the cache off."""
    (tmp_path / "monitors").mkdir()
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "provisioner.yaml").write_text("namespace: team\nenvironments:\n  prod:\n    site: eu\n")
    (tmp_path / "monitors" / "errors.yaml").write_text(
        "id: errors\nkind: error-rate\nname: errors\nthresholds: {critical: 5%}\nmessage: '@slack-mesh'\n",
        encoding="utf-8",
    )
    (tmp_path / "dashboards" / "mesh.yaml").write_text(
        "id: mesh\nkind: dashboard\ntitle: Mesh\nwidgets: []\n", encoding="utf-8"
    )
    script = (
        "import runpy, sys\nsys.argv = ['provisioner', 'validate']\n"
        "try:\n    runpy.run_module('provisioner', run_name='__main__')\nexcept SystemExit as exit:\n"
        "    print('exit', exit.code)\nprint('\\n'.join(sorted(sys.modules)))\n"
    )
    environment = {**os.environ, "PROVISIONER_CACHE": "off"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert "exit 0" in done.stdout, done.stdout + done.stderr
    loaded = done.stdout.split()
    assert "provisioner.definitions.compile" in loaded and "provisioner.definitions.kinds.dashboard" in loaded
    unused = [name for name in loaded if (name + ".").startswith(NOT_FOR_VALIDATE)]
    assert not unused, f"validate imports {unused}"


def test_the_entry_point_loads_the_cli_only_once_the_collector_is_set() -> None:
    """``__main__.main`` sets the garbage-collector threshold before the CLI's imports, which gain from it:
    importing the entry point loads neither the CLI nor typer."""
    script = "import sys, provisioner.__main__\nprint('provisioner.cli' in sys.modules, 'typer' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


# A plan the compiled-definitions cache serves whole (every run after the first, and the hourly drift job)
# reads neither YAML nor a schema, compiles nothing, and loads no check it was not asked for.
NOT_FOR_A_CACHED_PLAN = (
    "yaml",
    "jsonschema_rs",
    "provisioner.definitions.yaml_reader",
    "provisioner.definitions.source",
    "provisioner.definitions.documents",
    "provisioner.definitions.schema",
    "provisioner.definitions.compile",
    "provisioner.definitions.kinds",
    "provisioner.definitions.rules",
    "provisioner.engine.metric_check",
    "provisioner.signals",
    "provisioner.mesh.setup",
    "datadog_api_client.v1.api.metrics_api",
)


def test_a_plan_the_cache_serves_imports_no_reader_schema_or_compiler(tmp_path: Path) -> None:
    """Two real plans without the metrics check, with a provisioner.yaml: the first fills the cache, the
    second is served by it. Both stop at a refused connection (exit 1), after loading everything."""
    (tmp_path / "monitors").mkdir()
    (tmp_path / "provisioner.yaml").write_text("namespace: team\nistio: openmetrics\n", encoding="utf-8")
    (tmp_path / "monitors" / "errors.yaml").write_text(
        "id: errors\nkind: error-rate\nname: errors\nthresholds: {critical: 5%}\nmessage: '@slack-mesh'\n",
        encoding="utf-8",
    )
    with socket.socket() as unused:  # a loopback port nothing listens on
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['provisioner', 'plan', '--no-metric-check', '--api-url', {url!r}]\n"
        "try:\n    runpy.run_module('provisioner', run_name='__main__')\nexcept SystemExit as exit:\n"
        "    print('exit', exit.code)\nprint('\\n'.join(sorted(sys.modules)))\n"
    )
    environment = {**os.environ, "PROVISIONER_CACHE_DIR": str(tmp_path / "cache"), "DD_API_KEY": "x" * 32,
                   "DD_APP_KEY": "y" * 40}  # fmt: skip
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        for _ in range(2)
    ]
    for done in runs:
        assert "exit 1" in done.stdout and "could not connect to Datadog" in done.stderr, done.stderr
    first, cached = (done.stdout.split() for done in runs)
    assert "provisioner.definitions.compile" in first  # the first run compiled the file
    loaded = [name for name in cached if (name + ".").startswith(tuple(m + "." for m in NOT_FOR_A_CACHED_PLAN))]
    assert not loaded, f"a plan served by the cache imports {loaded}"


def test_the_cli_builds_only_the_command_it_runs() -> None:
    from provisioner.cli import app, app_for

    planned = app_for(["--debug", "plan", "monitors"]).registered_commands
    assert [c.callback.__name__ for c in planned if c.callback] == ["plan"]
    assert [g.name for g in app_for(["mesh", "requirements"]).registered_groups] == ["mesh"]
    assert app_for(["import", "--id", "1"]).registered_commands[0].name == "import"
    assert app_for(["--help"]) is app
    assert app_for(["plann"]) is app  # an unknown name: the whole app, so the error can suggest "plan"
