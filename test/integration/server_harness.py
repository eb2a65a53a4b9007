"""Run the real Java MMS through start_model_server in a subprocess, on 127.0.0.1.

The integration tests import what they need from here (not from conftest.py: every conftest.py
outside a package is imported as module "conftest", so the name is not unique in a session).

Each server gets its own SAGEMAKER_BASE_DIR, TMPDIR, empty HOME and config file, a port
below 32767 (MMS's limit) and a marker in its environment so that every process it starts can
be found afterwards: stopping a server fails the test when any of them is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np
import psutil
import pytest
import requests

import server_process
from process_marks import processes_with, wait_gone
from server_process import JDK_ONLY_TOOLS  # noqa: F401 - the tests' name for them

MARKER_ENV = "SAGEMAKER_INFERENCE_TEST_SERVER"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 40.0

WEIGHTS = np.array([[1.0], [2.0]])

BASIC_INFERENCE = """
import os

import numpy as np

WARMED = []


def model_fn(model_dir, context):
    assert context.system_properties["model_dir"] == model_dir
    return np.load(os.path.join(model_dir, "weights.npy"))


def model_warmup_fn(model_dir, model):
    WARMED.append(float(model.sum()))


def predict_fn(data, model):
    data = np.asarray(data, dtype=float)
    if data.size and data.flat[0] == -999:
        raise RuntimeError("predict exploded on purpose")
    if data.size and data.flat[0] == -1:
        return np.array([WARMED])
    return data @ model
"""


def jre_only_shape() -> Dict[str, str]:
    """PATH and JAVA_HOME as a framework image has them (server_process.jre_only_shape); the
    test fails when this machine has no Java runtime."""
    try:
        return server_process.jre_only_shape()
    except RuntimeError as exc:
        pytest.fail("integration tests need a Java runtime: {}".format(exc))


def slow_loading_inference(seconds: float) -> str:
    """inference.py whose model_fn takes ``seconds`` and whose answer is always b"ok"."""
    return textwrap.dedent("""
        import time


        def model_fn(model_dir):
            time.sleep({})
            return "ok"


        def transform_fn(model, body, content_type, accept):
            return model, "text/plain"
        """).format(seconds)


def post_json(server: "Server", path: str, payload, timeout: float = 60.0) -> requests.Response:
    """POST ``payload`` as JSON to ``path`` of ``server``."""
    return requests.post(
        server.url + path,
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
        timeout=timeout,
    )


def load_model(server: "Server", name: str, url: str) -> requests.Response:
    """Load a model on a multi-model server the way SageMaker does: name and url only."""
    return post_json(server, "/models", {"model_name": name, "url": url}, timeout=120)


def leftover_processes(marker: str) -> List[psutil.Process]:
    """The live processes a server with this marker started (itself included)."""
    return processes_with(MARKER_ENV, marker)


def write_model(
    base_dir: str,
    code: Dict[str, str],
    name: Optional[str] = None,
    weights: np.ndarray = WEIGHTS,
) -> str:
    """Write <base>/model (or <base>/models/<name>/model) with weights.npy and code/ files."""
    model_dir = (
        os.path.join(base_dir, "model")
        if name is None
        else os.path.join(base_dir, "models", name, "model")
    )
    os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
    np.save(os.path.join(model_dir, "weights.npy"), weights)
    for filename, text in code.items():
        with open(os.path.join(model_dir, "code", filename), "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))
    return model_dir


class Server:
    """One start_model_server subprocess."""

    def __init__(self, root: str, env: Optional[Dict[str, str]] = None, handler: str = ""):
        self.root = root
        self.base_dir = os.path.join(root, "ml")
        self.port = server_process.free_port()
        self.url = "http://127.0.0.1:{}".format(self.port)
        self.marker = uuid.uuid4().hex
        self.log_path = os.path.join(root, "server.log")
        self.extra_env = dict(env or {})
        self.handler = handler
        self.process: Optional[subprocess.Popen] = None
        self._proc: Optional[server_process.ServerProcess] = None
        self.started_at = 0.0
        self.first_prediction_seconds: Optional[float] = None
        os.makedirs(self.base_dir, exist_ok=True)

    def environment(self) -> Dict[str, str]:
        """SageMaker's shape (server_process.deployed_environment: an empty HOME, no tuning
        variables) plus only what a test run on a shared machine needs; each SAGEMAKER_
        variable SageMaker would not set says why."""
        env = server_process.deployed_environment(self.root, self.port, self.base_dir)
        env[MARKER_ENV] = self.marker
        # Keep a test's stop well inside its timeout (SageMaker allows 30 s).
        env["SAGEMAKER_SHUTDOWN_GRACE_SECONDS"] = "15"
        if self.extra_env.get("SAGEMAKER_MULTI_MODEL", "").lower() != "true":
            # One worker keeps a single-model test server's start and memory small on a 2-core
            # machine; the tests of the default worker count set their own (multi-model servers
            # run with SageMaker's setting: none).
            env["SAGEMAKER_MODEL_SERVER_WORKERS"] = "1"
        env.update(self.extra_env)
        return env

    def command(self) -> List[str]:
        return server_process.start_model_server_argv(sys.executable, self.handler)

    def start(self) -> "Server":
        self.started_at = time.monotonic()
        self._proc = server_process.ServerProcess(
            self.command(),
            self.environment(),
            self.root,
            MARKER_ENV,
            log_path=self.log_path,
            marker=self.marker,
        )
        self.process = self._proc.process
        return self

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_until(self, check, timeout: float = START_TIMEOUT) -> None:
        """Poll ``check`` (a requests error counts as false) until it holds; the test fails
        with the log when the server exits first or ``timeout`` passes."""
        try:
            server_process.wait_for(check, timeout, process=self.process)
        except server_process.ProcessExited:
            pytest.fail(
                "server exited with {} before it served; log:\n{}".format(
                    self.process.returncode, self.log()[-6000:]
                )
            )
        except server_process.WaitTimeout:
            pytest.fail(
                "server did not serve within {} s; log:\n{}".format(timeout, self.log()[-6000:])
            )

    def wait_for_prediction(self, body: bytes = b"[[1, 2]]", path: str = "/invocations") -> None:
        def predicted() -> bool:
            response = requests.post(
                self.url + path, data=body, headers={"Content-Type": "application/json"}, timeout=10
            )
            return response.status_code == 200

        self.wait_until(predicted)
        self.first_prediction_seconds = time.monotonic() - self.started_at

    def wait_for_ping(self) -> None:
        self.wait_until(lambda: requests.get(self.url + "/ping", timeout=5).status_code == 200)

    def send(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait_exit(self, timeout: float = STOP_TIMEOUT) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_everything()
            pytest.fail(
                "server did not exit within {} s; log:\n{}".format(timeout, self.log()[-6000:])
            )
        return -1

    def assert_nothing_left(self) -> None:
        # Orphans are reaped and killed before the entrypoint returns; allow a moment for the
        # kernel to finish tearing processes down.
        left = wait_gone(MARKER_ENV, self.marker, timeout=3)
        if left:
            description = []
            for proc in left:
                try:
                    description.append("{} {}".format(proc.pid, " ".join(proc.cmdline())[:200]))
                except psutil.Error:
                    pass
            self.kill_everything()
            pytest.fail("processes left after the server ended:\n" + "\n".join(description))

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal the server, wait for it and check that nothing it started is left."""
        assert self.process is not None
        if self.process.poll() is None:
            self.send(signum)
        code = self.wait_exit()
        self.assert_nothing_left()
        return code

    def kill_everything(self) -> None:
        """SIGKILL the server and every process it started (server_process.ServerProcess)."""
        if self._proc is not None:
            self._proc.kill()


@contextmanager
def running_server(
    env: Optional[Dict[str, str]] = None,
    prepare: Optional[Callable[[Server], object]] = None,
    ready: Callable[[Server], object] = Server.wait_for_prediction,
) -> Iterator[Server]:
    """A server in a temporary root: ``prepare`` writes its models, ``ready`` waits for it;
    on leaving, a running server must stop with 0 and leave no process behind."""
    root = tempfile.mkdtemp(prefix="smi-it-")
    server = Server(root, env=env)
    if prepare is not None:
        prepare(server)
    server.start()
    try:
        ready(server)
        yield server
    finally:
        try:
            if server.process is not None and server.process.poll() is None:
                code = server.stop()
                assert code == 0, server.log()[-4000:]
        finally:
            shutil.rmtree(root, ignore_errors=True)


def module_server(code: Dict[str, str], env: Optional[Dict[str, str]] = None):
    """Start one single-model server for a whole test module; stop and check it at the end."""
    with running_server(env, lambda server: write_model(server.base_dir, code)) as server:
        yield server


# ---- servers started by a command line (the ``serve`` CLI, the container entrypoint) ----


def cli_environment(tmp_path, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Environment for a command-line server in ``tmp_path``: the deployed shape (a Java
    runtime without a JDK, an empty HOME, its own TMPDIR and config file, bound to 127.0.0.1)
    with the port and base directory left to the command line or ``extra``."""
    env = server_process.deployed_environment(str(tmp_path), 0, "")
    for key in ("SAGEMAKER_BASE_DIR", "SAGEMAKER_BIND_TO_PORT"):
        del env[key]
    # The config file sits in TMPDIR, where these tests have always kept it.
    env["SAGEMAKER_MMS_CONFIG_FILE"] = os.path.join(env["TMPDIR"], "sagemaker-mms.properties")
    env.update(extra or {})
    return env


class CliServer:
    """A server started by ``argv`` in a session of its own (server_process.ServerProcess),
    its output collected line by line; leftovers are found by its marker."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str):
        self._proc = server_process.ServerProcess(argv, env, cwd, MARKER_ENV)
        self.argv = self._proc.argv
        self.marker = self._proc.marker
        self.process = self._proc.process
        self.session = self.process.pid
        self.lines = self._proc.lines

    @property
    def output(self) -> str:
        return self._proc.output()

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = 120.0) -> str:
        """The first output line for which ``predicate`` holds; AssertionError when the process
        exits without printing one or ``timeout`` passes."""
        found: List[str] = []
        seen = [0]

        def printed() -> bool:
            while seen[0] < len(self.lines):
                seen[0] += 1
                if predicate(self.lines[seen[0] - 1]):
                    found.append(self.lines[seen[0] - 1])
                    return True
            return False

        try:
            server_process.wait_for(printed, timeout, interval=0.05, process=self.process)
        except server_process.ProcessExited:
            self._proc.wait(timeout=5)  # the reader has the last lines now
            if printed():
                return found[0]
            raise AssertionError(
                "process exited (%s) before the expected line:\n%s"
                % (self.process.returncode, self.output)
            )
        except server_process.WaitTimeout:
            raise AssertionError("timed out waiting for a line; output so far:\n%s" % self.output)
        return found[0]

    def signal(self, signum: int, group: bool = False) -> None:
        self._proc.signal(signum, group=group)

    def wait(self, timeout: float = 40.0) -> int:
        return self._proc.wait(timeout)

    def leftovers(self) -> List[psutil.Process]:
        """Processes this server started that are still alive (zombies ignored)."""
        return leftover_processes(self.marker)

    def wait_no_leftovers(self, timeout: float = 15.0) -> List[psutil.Process]:
        return wait_gone(MARKER_ENV, self.marker, timeout, interval=0.2)

    def kill(self) -> None:
        """Last resort in teardown: SIGKILL everything the server started."""
        self._proc.kill()


def wait_until_ready(
    port: int, server: Optional[CliServer] = None, timeout: float = 120.0
) -> float:
    """Wait for GET /ping to answer 200 with a healthy body; returns the seconds waited."""
    url = "http://127.0.0.1:%d/ping" % port

    def healthy() -> bool:
        response = requests.get(url, timeout=2)
        return response.status_code == 200 and "Unhealthy" not in response.text

    try:
        return server_process.wait_for(
            healthy, timeout, interval=0.2, process=server.process if server else None
        )
    except server_process.ProcessExited:
        raise AssertionError("server exited early:\n" + server.output)
    except server_process.WaitTimeout:
        raise AssertionError(
            "server on port %d not ready after %.0f s:\n%s"
            % (port, timeout, server.output if server else "")
        )


def stop_cli(server: CliServer, signum: int = signal.SIGTERM, group: bool = False) -> int:
    """Signal a command-line server (or its session) and wait for its exit code."""
    server.signal(signum, group=group)
    return server.wait()


@contextlib.contextmanager
def loaded(server: CliServer) -> Iterator[CliServer]:
    """Yield ``server`` once ``serve`` says the model loaded; Ctrl-C its group afterwards."""
    try:
        server.wait_for_line(lambda line: "model loaded in" in line)
        yield server
    finally:
        if server.process.poll() is None:
            stop_cli(server, signal.SIGINT, group=True)
        server.kill()
