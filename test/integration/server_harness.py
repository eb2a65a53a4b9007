"""Run the real Java MMS through start_model_server in a subprocess, on 127.0.0.1.

The integration tests import what they need from here (not from conftest.py: every conftest.py
outside a package is imported as module "conftest", so the name is not unique in a session).

Each server gets its own SAGEMAKER_BASE_DIR, TMPDIR, state directory and config file, a port
below 32767 (MMS's limit) and a marker in its environment so that every process it starts can
be found afterwards: stopping a server fails the test when any of them is left.
"""

from __future__ import annotations

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
from typing import Callable, Dict, Iterator, List, Optional

import numpy as np
import psutil
import pytest
import requests

from sagemaker_inference import mms_config

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


def leftover_processes(marker: str) -> List[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER_ENV) == marker and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


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
        self.port = mms_config.free_port()
        self.url = "http://127.0.0.1:{}".format(self.port)
        self.marker = uuid.uuid4().hex
        self.log_path = os.path.join(root, "server.log")
        self.extra_env = dict(env or {})
        self.handler = handler
        self.process: Optional[subprocess.Popen] = None
        self.started_at = 0.0
        self.first_prediction_seconds: Optional[float] = None
        os.makedirs(self.base_dir, exist_ok=True)

    def environment(self) -> Dict[str, str]:
        tmp = os.path.join(self.root, "tmp")
        state = os.path.join(self.root, "state")
        os.makedirs(tmp, exist_ok=True)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SAGEMAKER_") and key not in ("PYTHONPATH", "CA_REPOSITORY_ARN")
        }
        env.update(
            {
                MARKER_ENV: self.marker,
                "SAGEMAKER_BASE_DIR": self.base_dir,
                "SAGEMAKER_BIND_TO_PORT": str(self.port),
                "SAGEMAKER_STATE_DIR": state,
                "SAGEMAKER_MMS_CONFIG_FILE": os.path.join(state, "sagemaker-mms.properties"),
                "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
                "SAGEMAKER_SHUTDOWN_GRACE_SECONDS": "15",
                "TMPDIR": tmp,
                # MMS's own launcher (used by container-style starts) passes TEMP to Java as
                # java.io.tmpdir, where the worker sockets live: keep them apart per server.
                "TEMP": tmp,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def command(self) -> List[str]:
        args = repr(self.handler) if self.handler else ""
        script = (
            "import sys\n"
            "from sagemaker_inference import model_server\n"
            "sys.exit(model_server.start_model_server({}))\n".format(args)
        )
        return [sys.executable, "-c", script]

    def start(self) -> "Server":
        log = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command(),
            env=self.environment(),
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        return self

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_until(self, check, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                pytest.fail(
                    "server exited with {} before it served; log:\n{}".format(
                        self.process.returncode, self.log()[-6000:]
                    )
                )
            try:
                if check():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
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
        deadline = time.monotonic() + 3
        left = leftover_processes(self.marker)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = leftover_processes(self.marker)
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
        procs = leftover_processes(self.marker)
        if self.process is not None and self.process.poll() is None:
            procs.append(psutil.Process(self.process.pid))
        for proc in procs:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=5)
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


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
