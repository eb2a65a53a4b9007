"""Fixtures for the downstream tests: real framework toolkits on top of this package.

The tests themselves run in the project's own environment; everything that needs a framework
(building models, computing the framework's own answers, serving) runs in a virtual environment
that ``setup_envs.sh`` builds under ``test/downstream/.envs`` (see that script). Servers run
through the integration harness (``test/integration/server_harness.py``), so each one has its own
SAGEMAKER_BASE_DIR, TMPDIR, state directory and ephemeral port, and every process it starts is
found again through a marker in its environment: a test fails if any is left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Iterator, List, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ENVS = os.environ.get("DOWNSTREAM_ENVS") or os.path.join(HERE, ".envs")
SETUP = os.path.join(HERE, "setup_envs.sh")
SETUP_TIMEOUT = 1400  # below the tests' own timeout (1500 s), which covers their fixtures

sys.path.insert(0, os.path.join(REPO, "test", "integration"))

from server_harness import Server, leftover_processes  # noqa: E402


def environment_python(name: str) -> str:
    """The python of downstream environment ``name``, building the environment when needed.

    Skips (with the reason) only when setup_envs.sh reports a package no index offers; any
    other failure of the setup fails the test.
    """
    try:
        result = subprocess.run(
            ["bash", SETUP, name],
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("setup_envs.sh {} took more than {} s".format(name, SETUP_TIMEOUT))
    if result.returncode != 0:
        missing = os.path.join(ENVS, name + ".missing")
        if os.path.exists(missing):
            with open(missing, encoding="utf-8") as handle:
                reason = handle.read().strip()
            if reason:
                pytest.skip("downstream env {} cannot be installed: {}".format(name, reason))
        pytest.fail(
            "setup_envs.sh {} failed:\n{}\n{}".format(name, result.stdout, result.stderr[-4000:])
        )
    return os.path.join(ENVS, name, "bin", "python")


def run_json(python: str, script: str, *args: str, timeout: float = 600) -> object:
    """Run ``script`` (a file in this directory) with ``python`` and parse its last stdout line."""
    result = subprocess.run(
        [python, os.path.join(HERE, script)] + list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=toolkit_environ(python),
        cwd=tempfile.gettempdir(),
    )
    if result.returncode != 0:
        pytest.fail("{} {} failed:\n{}".format(script, " ".join(args), result.stderr[-6000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


def toolkit_environ(python: str) -> Dict[str, str]:
    """os.environ for a process of the downstream environment: its bin/ first on PATH, no
    SAGEMAKER_* or PYTHONPATH from the caller, no Hugging Face hub access."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SAGEMAKER_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["PATH"] = os.path.dirname(python) + os.pathsep + env.get("PATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["HF_HOME"] = os.path.join(tempfile.gettempdir(), "smi-downstream-hf-home")
    return env


class ToolkitServer(Server):
    """A harness server whose process is ``python -c <code>`` of a downstream environment."""

    def __init__(self, root: str, python: str, code: str, env: Optional[Dict[str, str]] = None):
        super().__init__(root, env=env)
        self.python = python
        self.code = code

    def environment(self) -> Dict[str, str]:
        env = super().environment()
        base = toolkit_environ(self.python)
        for key in ("PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            env[key] = base[key]
        env["HF_HOME"] = os.path.join(self.root, "hf-home")
        env.pop("VIRTUAL_ENV", None)
        env.update(self.extra_env)
        return env

    def command(self) -> List[str]:
        return [self.python, "-c", self.code]


@pytest.fixture
def servers() -> Iterator[List[ToolkitServer]]:
    """Servers a test starts; at the end each is stopped and must leave no process behind."""
    started: List[ToolkitServer] = []
    yield started
    problems = []
    for server in started:
        try:
            if server.process is not None and server.process.poll() is None:
                code = server.stop()
                if code != 0:
                    problems.append("server exited with {}:\n{}".format(code, server.log()[-3000:]))
        except BaseException as exc:  # stop() fails the test when processes are left
            problems.append(str(exc))
        finally:
            left = leftover_processes(server.marker)
            if left:
                server.kill_everything()
                problems.append(
                    "processes left: {}".format([(proc.pid, proc.name()) for proc in left])
                )
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def workdir() -> Iterator[str]:
    root = tempfile.mkdtemp(prefix="smi-downstream-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def start(
    servers: List[ToolkitServer],
    root: str,
    python: str,
    code: str,
    env: Optional[Dict[str, str]] = None,
    model_dir: Optional[str] = None,
    models: Optional[Dict[str, str]] = None,
) -> ToolkitServer:
    """Start ``code`` in a new server root; ``model_dir`` is linked as <base>/model and each
    ``models`` entry as <base>/models/<name> before the process starts."""
    os.makedirs(root, exist_ok=True)
    server = ToolkitServer(root, python, code, env=env)
    if model_dir is not None:
        os.symlink(model_dir, os.path.join(server.base_dir, "model"))
    for name, path in (models or {}).items():
        os.makedirs(os.path.join(server.base_dir, "models"), exist_ok=True)
        os.symlink(path, os.path.join(server.base_dir, "models", name))
    servers.append(server)
    return server.start()


def assert_package_under_test(python: str, toolkits: List[str], uses: List[str]) -> None:
    """The downstream environment imports this repository's sagemaker_inference (the PyTorch
    sdist bundles its own trimmed copy) and every name ``toolkits`` use from it resolves;
    ``uses`` are names that must be among those checked."""
    found = run_json(python, "probe_imports.py")
    assert os.path.samefile(found["sagemaker_inference"], os.path.join(REPO, "src")), found
    assert found["toolkits"] == toolkits, found
    assert set(uses) <= set(found["checked"]), found
    assert found["missing"] == [], found
