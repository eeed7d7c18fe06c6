"""Reading the shipped pipeline the way GitHub and bash read it: the scripts' commands, the workflows'
jobs and steps, and a job's environment matrix expanded by running the step that computes it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
import yaml
from typer.main import get_command

from provisioner.cli import app

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
ACTIONS = GITHUB / "actions"
DATADOG_COMMANDS = {"plan", "apply", "audit", "import"}
ENVIRONMENT_COMMANDS = {"plan", "apply", "audit"}  # each runs once per environment, with --env
API_KEY = "DD_API_KEY"
READ_KEY = "DD_APP_KEY_READ"  # repository secret: a read-only application key
WRITE_KEY = "DD_APP_KEY_WRITE"  # environment secret of the protected environments only
DATADOG_SECRETS = {API_KEY, READ_KEY, WRITE_KEY}
MATRIX_ENVIRONMENT = "${{ matrix.environment }}"
ENVIRONMENT_VARIABLE = "ENVIRONMENT"  # the matrix environment, as the scripts read it
BIN = Path(sys.executable).parent  # where pip put the provisioner command

# --- reading shell scripts -----------------------------------------------------------------------

_CONTROL = {"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"}
_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "{", "}", "exec"}
_REDIRECT = re.compile(r"^[<>&]+$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELL_VALUE = re.compile(r"^(\$\{\{.*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)$")


def simple_commands(script: str) -> list[list[str]]:
    """The simple commands of a bash script, as words: control operators, redirections, leading keywords
    and variable assignments removed. Good enough for the scripts of a workflow, and loud when it is not
    (an unclosed quote raises)."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        tokens = iter(lexer)
        for token in tokens:
            if token in _CONTROL:
                commands.append(current)
                current = []
            elif _REDIRECT.match(token):
                if current and current[-1].isdigit():
                    current.pop()  # the "2" of "2>&1"
                next(tokens, None)  # the redirection's target
            elif current or not (token in _KEYWORDS or _ASSIGNMENT.match(token)):
                current.append(token)
        commands.append(current)
    return [command for command in commands if command]


def provisioner_invocations(script: str) -> list[list[str]]:
    """The arguments of every ``provisioner …`` (or ``python -m provisioner …``) in ``script``."""
    found = []
    for words in simple_commands(script):
        if Path(words[0]).name == "provisioner":
            found.append(words[1:])
        elif len(words) > 2 and words[0].startswith("python") and words[1:3] == ["-m", "provisioner"]:
            found.append(words[3:])
    return found


class InvocationProblem(Exception):
    """The real CLI would refuse the invocation; the message says why."""


def invocation_problem(args: list[str]) -> str | None:
    """Why the real CLI would refuse ``provisioner <args>``, or None; parsed by the CLI's own parser."""
    try:
        invocation_params(args)
    except InvocationProblem as exc:
        return str(exc)
    return None


def invocation_params(args: list[str]) -> dict[str, Any]:
    """The parameters the CLI's own parser reads from ``provisioner <args>`` (nothing runs); empty for
    ``--help`` and ``--version``. Raises ``InvocationProblem``."""
    command: Any = get_command(app)
    args = ["1" if _SHELL_VALUE.match(arg) else arg for arg in args]  # a value known only at run time
    position = 0
    path = "provisioner"
    while hasattr(command, "commands"):
        options = {opt: param.is_eager for param in command.params for opt in param.opts} | {"--help": True}
        while position < len(args) and args[position].startswith("-"):
            if args[position] not in options:
                raise InvocationProblem(f"{path}: unknown option {args[position]}")
            if options[args[position]]:
                return {}  # --help, --version: print and exit before any subcommand
            position += 1
        if position == len(args):
            raise InvocationProblem(f"{path}: no subcommand")
        name = args[position]
        if name not in command.commands:
            raise InvocationProblem(f"{path}: unknown subcommand {name!r}")
        command, path, position = command.commands[name], f"{path} {name}", position + 1
    try:
        return dict(command.make_context(path, list(args[position:])).params)
    except typer.Exit:
        return {}  # --help
    except typer.TyperException as exc:
        raise InvocationProblem(f"{path}: {exc.format_message()}") from None


def subcommand(args: list[str]) -> list[str]:
    """The subcommand path of an invocation, e.g. ["github", "comment"]."""
    words = [arg for arg in args if not arg.startswith("-")]
    return words[:2] if words[:1] == ["github"] else words[:1]


def option(args: list[str], name: str) -> str | None:
    """The value given to ``name`` in an invocation (``--name value`` or ``--name=value``), or None."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


# --- reading workflows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    source: str  # file and job, for messages
    job_id: str
    job: dict[str, Any]
    step: dict[str, Any]

    @property
    def run(self) -> str:
        return str(self.step.get("run", ""))

    @property
    def invocations(self) -> list[list[str]]:
        return provisioner_invocations(self.run)

    @property
    def subcommands(self) -> set[str]:
        return {" ".join(subcommand(args)) for args in self.invocations}

    @property
    def env(self) -> dict[str, Any]:
        """The variables the step's script sees: the job's ``env:``, then the step's own."""
        return {**(self.job.get("env") or {}), **(self.step.get("env") or {})}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a YAML mapping"
    return data


def workflow(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / name)


def workflow_paths() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.y*ml"))


def action_paths() -> list[Path]:
    return sorted(ACTIONS.glob("*/action.y*ml"))


def triggers(data: dict[str, Any]) -> dict[str, Any]:
    """The ``on:`` section as a mapping (YAML 1.1 reads the bare key ``on`` as True)."""
    on = data.get("on", data.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def steps_of(path: Path) -> Iterator[Step]:
    data = load(path)
    for job_id, job in (data.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            yield Step(f"{path.name}:{job_id}", job_id, job, step)


def action_steps() -> Iterator[Step]:
    for path in action_paths():
        for step in load(path)["runs"].get("steps") or []:
            yield Step(f"{path.parent.name}/{path.name}", "composite", {}, step)


def all_steps() -> list[Step]:
    return [step for path in workflow_paths() for step in steps_of(path)] + list(action_steps())


def job_runs(data: dict[str, Any], job_id: str) -> str:
    return "\n".join(str(step.get("run", "")) for step in data["jobs"][job_id].get("steps") or [])


def secrets_in(value: Any) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z0-9_]+)", yaml.safe_dump(value)))


def github_environment(job: dict[str, Any]) -> str | None:
    """The GitHub deployment environment a job runs in (``environment:`` as a name or a mapping)."""
    environment = job.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs") or []
    return [value] if isinstance(value, str) else list(value)


# --- running a workflow's matrix for a project ---------------------------------------------------

_FROM_JOB_OUTPUT = re.compile(r"^\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.([\w-]+)\)\.([\w-]+)\s*\}\}$")
_STEP_OUTPUT = re.compile(r"^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$")


@dataclass(frozen=True)
class JobInstance:
    """One job GitHub would create from a matrix job, in the order GitHub creates them."""

    job_id: str
    name: str
    environment: str  # the matrix value
    github_environment: str | None  # the deployment environment it runs in
    max_parallel: int | None  # None: no limit
    fail_fast: bool
    steps: tuple[dict[str, Any], ...]
    env: dict[str, Any]  # the job's env:, as written

    def expand(self, text: str) -> str:
        """``text`` as the job sees it: ``${{ matrix.environment }}`` and ``$ENVIRONMENT`` filled in."""
        text = text.replace(MATRIX_ENVIRONMENT, self.environment)
        return re.sub(rf"\$\{{?{ENVIRONMENT_VARIABLE}\}}?", self.environment, text)


def matrix_jobs(
    data: dict[str, Any], job_id: str, project: Path, source_outputs: dict[str, str] | None = None
) -> list[JobInstance]:
    """The jobs GitHub creates from ``job_id``'s environment matrix when the repository is ``project``:
    the matrix must come from another job's output, which is computed by running that job's step (or
    given: ``source_outputs``, that job's outputs when it needs a runner, e.g. artifacts)."""
    job = data["jobs"][job_id]
    strategy = job.get("strategy") or {}
    expression = str((strategy.get("matrix") or {}).get("environment", ""))
    found = _FROM_JOB_OUTPUT.match(expression)
    assert found, f"{job_id}: the environment matrix must be read from a job's output, not {expression!r}"
    source_job, output, key = found.groups()
    assert source_job in needs(job), f"{job_id}: needs {source_job!r} to read its output"
    outputs = source_outputs if source_outputs is not None else job_outputs(data, source_job, project)
    environments = json.loads(outputs[output])[key]
    name = str(job.get("name", job_id))
    deployment = github_environment(job)
    return [
        JobInstance(
            job_id=job_id,
            name=name.replace(MATRIX_ENVIRONMENT, environment),
            environment=environment,
            github_environment=deployment and deployment.replace(MATRIX_ENVIRONMENT, environment),
            max_parallel=strategy.get("max-parallel"),
            fail_fast=bool(strategy.get("fail-fast", True)),  # GitHub's default is true
            steps=tuple(job.get("steps") or ()),
            env=dict(job.get("env") or {}),
        )
        for environment in environments
    ]


def job_outputs(data: dict[str, Any], job_id: str, project: Path) -> dict[str, str]:
    """A job's ``outputs:``, computed by running the steps they come from in ``project``."""
    job = data["jobs"][job_id]
    steps = {step.get("id"): step for step in job.get("steps") or [] if step.get("id")}
    values = {}
    for name, expression in (job.get("outputs") or {}).items():
        found = _STEP_OUTPUT.match(str(expression))
        assert found, f"{job_id}: output {name} must come from a step's output"
        step_id, key = found.groups()
        values[name] = run_step(steps[step_id], project)[key]
    return values


def run_step(step: dict[str, Any], project: Path) -> dict[str, str]:
    """Run a step's script in ``project`` (it must succeed); its $GITHUB_OUTPUT."""
    done, outputs = run_script(str(step["run"]), project, dict(os.environ), timeout=60)
    assert done.returncode == 0, f"step {step.get('name')!r} failed: {done.stderr}"
    return outputs


def run_script(
    script: str, workspace: Path, env: dict[str, str], timeout: int = 120
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a step's script as the runner does (bash -eo pipefail) in ``workspace`` with ``env`` and the
    provisioner command on PATH; the finished process and what the script wrote to $GITHUB_OUTPUT."""
    output = workspace / ".github-output"
    output.write_text("", encoding="utf-8")
    env = {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done, parse_github_output(output.read_text(encoding="utf-8"))


def parse_github_output(text: str) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, as the runner reads $GITHUB_OUTPUT."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for body in lines:
                if body == delimiter:
                    break
                block.append(body)
            values[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


# --- running a job's steps as the runner does ----------------------------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_CONTEXT_VALUE = re.compile(r"^(secrets|vars|steps\.[\w-]+\.outputs|needs\.[\w-]+\.outputs|github)\.([\w-]+)$")
_SETUP_ACTIONS = ("actions/checkout@", "actions/setup-python@")
_GITHUB_CONTEXT = {
    "token": "ghs_not-used",
    "server_url": "https://github.com",
    "repository": "acme/mesh-monitors",
    "run_id": "1",
}


@dataclass
class StepRun:
    name: str
    exit_code: int
    output: str  # stdout and stderr together


@dataclass
class Runner:
    """Runs the steps of one job instance in a workspace the way the runner does: each ``run:`` under
    ``bash -eo pipefail`` with the step's ``env:`` (expressions filled in from ``secrets``, ``variables``,
    the matrix and earlier steps' outputs); ``upload-artifact`` and ``download-artifact`` hand files from
    job to job through ``artifacts``; checkout, setup-python and the install step are what the test already
    did (the workspace holds the repository, the provisioner command is on PATH). Steps run until one
    fails; a step with an ``if:`` is refused, since its condition is not evaluated here."""

    artifacts: Path
    secrets: dict[str, str]
    variables: dict[str, str]
    environ: dict[str, str]  # the machine's environment, e.g. PROVISIONER_API_URL to reach an emulator
    needs: dict[str, dict[str, str]] = field(default_factory=dict)  # finished jobs' outputs, by job id

    def job_outputs(self, data: dict[str, Any], job_id: str, workspace: Path) -> dict[str, str]:
        """Run the job ``job_id`` (not a matrix job) in ``workspace``; its ``outputs:``, which are also
        kept for the jobs that need it."""
        job = data["jobs"][job_id]
        instance = JobInstance(job_id, str(job.get("name", job_id)), "", None, None, True,
                               tuple(job.get("steps") or ()), dict(job.get("env") or {}))  # fmt: skip
        runs, steps = self._run(instance, workspace)
        failed = [run for run in runs if run.exit_code != 0]
        assert not failed, f"{job_id}: {failed[0].name} failed:\n{failed[0].output}"
        outputs = {name: self._value(str(value), instance, steps) for name, value in job["outputs"].items()}
        self.needs[job_id] = outputs
        return outputs

    def run(self, job: JobInstance, workspace: Path) -> list[StepRun]:
        return self._run(job, workspace)[0]

    def _run(self, job: JobInstance, workspace: Path) -> tuple[list[StepRun], dict[str, dict[str, str]]]:
        summary = workspace / ".github-step-summary"
        outputs: dict[str, dict[str, str]] = {}
        runs: list[StepRun] = []
        for step in job.steps:
            assert "if" not in step, f"{job.name}: {step.get('name')}: conditions are not evaluated here"
            uses = str(step.get("uses", ""))
            if uses.startswith(_SETUP_ACTIONS) or "pip install" in str(step.get("run", "")):
                continue
            name = str(step.get("name") or uses)
            given = {
                key: self._value(str(value), job, outputs) for key, value in (step.get("with") or {}).items()
            }
            if uses.startswith("actions/upload-artifact@"):
                runs.append(self._upload(name, given, workspace))
            elif uses.startswith("actions/download-artifact@"):
                runs.append(self._download(name, given, workspace))
            else:
                assert not uses, f"{job.name}: {name}: no stand-in for {uses}"
                run, outputs[str(step.get("id"))] = self._script(job, step, workspace, summary, outputs)
                runs.append(run)
            if runs[-1].exit_code != 0:
                break
        return runs, outputs

    def _script(
        self,
        job: JobInstance,
        step: dict[str, Any],
        workspace: Path,
        summary: Path,
        outputs: dict[str, dict[str, str]],
    ) -> tuple[StepRun, dict[str, str]]:
        variables = {**job.env, **(step.get("env") or {})}
        env = {
            **self.environ,
            **{key: self._value(str(value), job, outputs) for key, value in variables.items()},
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        done, written = run_script(str(step["run"]), workspace, env)
        return StepRun(str(step.get("name")), done.returncode, done.stdout + done.stderr), written

    def _value(self, text: str, job: JobInstance, outputs: dict[str, dict[str, str]]) -> str:
        def evaluate(found: re.Match[str]) -> str:
            expression = found.group(1)
            if expression == "matrix.environment":
                return job.environment
            context = _CONTEXT_VALUE.match(expression)
            assert context, f"{job.name}: expression {expression!r} is not evaluated here"
            where, key = context.groups()
            if where == "secrets":
                return self.secrets[key]
            if where == "vars":
                return self.variables.get(key, "")  # an unset variable is empty
            if where == "github":
                return _GITHUB_CONTEXT.get(key, "")
            if where.startswith("needs."):
                return self.needs[where.split(".")[1]][key]
            return outputs.get(where.split(".")[1], {}).get(key, "")

        return _EXPRESSION.sub(evaluate, text)

    def _upload(self, name: str, given: dict[str, str], workspace: Path) -> StepRun:
        files = [workspace / line.strip() for line in given["path"].splitlines() if line.strip()]
        present = [file for file in files if file.is_file()]
        if given.get("if-no-files-found") == "error" and not present:
            return StepRun(name, 1, f"no files found: {given['path']}")
        stored = self.artifacts / given["name"]
        stored.mkdir(parents=True, exist_ok=True)
        for file in present:  # the files share the workspace as their root, so they keep their names
            shutil.copy(file, stored / file.relative_to(workspace))
        return StepRun(name, 0, "")

    def _download(self, name: str, given: dict[str, str], workspace: Path) -> StepRun:
        if "pattern" in given:  # every matching artifact, each into a folder of its name under path
            for stored in sorted(self.artifacts.glob(given["pattern"])):
                shutil.copytree(stored, workspace / given.get("path", ".") / stored.name, dirs_exist_ok=True)
            return StepRun(name, 0, "")
        stored = self.artifacts / given["name"]
        if not stored.is_dir():
            return StepRun(name, 1, f"Artifact not found for name: {given['name']}")
        shutil.copytree(stored, workspace / given.get("path", "."), dirs_exist_ok=True)
        return StepRun(name, 0, "")
