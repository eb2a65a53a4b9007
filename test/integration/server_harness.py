"""Run the real Java MMS through start_model_server in a subprocess, on 127.0.0.1.

The integration tests import what they need from here (not from conftest.py: every conftest.py
outside a package is imported as module "conftest", so the name is not unique in a session).

Each server gets its own SAGEMAKER_BASE_DIR, TMPDIR, empty HOME and config file, a port
below 32767 (MMS's limit) and a marker in its environment so that every process it starts can
be found afterwards: stopping a server fails the test when any of them is left.
"""

from __future__ import annotations

import atexit
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
from typing import Callable, Dict, Iterator, List, Optional

import numpy as np
import psutil
import pytest
import requests

from process_marks import kill_all, processes_with, wait_gone
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


# What a JDK has and a Java runtime image (openjdk-*-jre-headless) does not.
JDK_ONLY_TOOLS = ("javac", "jar", "jarsigner", "javadoc", "jshell", "jlink", "jdeps", "jmod")
_JRE_SHAPE: Dict[str, str] = {}


def jre_only_shape() -> Dict[str, str]:
    """PATH and JAVA_HOME as a framework image has them: java, and no javac anywhere.

    Made once per test process in a temporary directory: a JAVA_HOME whose bin/ holds only
    java, and a PATH directory linking every command of this machine's PATH but the JDK's.
    """
    if _JRE_SHAPE:
        return dict(_JRE_SHAPE)
    java = shutil.which("java")
    if java is None:
        pytest.fail("integration tests need a Java runtime: install openjdk-17-jre-headless")
    root = tempfile.mkdtemp(prefix="smi-jre-")
    atexit.register(shutil.rmtree, root, True)
    java_home_bin = os.path.join(root, "jre", "bin")
    path_dir = os.path.join(root, "bin")
    os.makedirs(java_home_bin)
    os.makedirs(path_dir)
    os.symlink(os.path.realpath(java), os.path.join(java_home_bin, "java"))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = os.path.join(path_dir, name)
            source = os.path.join(directory, name)
            if name in JDK_ONLY_TOOLS or os.path.lexists(target) or not os.access(source, os.X_OK):
                continue
            os.symlink(source, target)
    _JRE_SHAPE.update({"PATH": path_dir, "JAVA_HOME": os.path.join(root, "jre")})
    return dict(_JRE_SHAPE)


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
        """SageMaker's shape (an empty HOME, no tuning variables) plus only what a test run on a
        shared machine needs; each SAGEMAKER_ variable SageMaker would not set says why."""
        tmp = os.path.join(self.root, "tmp")
        home = os.path.join(self.root, "home")
        os.makedirs(tmp, exist_ok=True)
        os.makedirs(home, exist_ok=True)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SAGEMAKER_") and key not in ("PYTHONPATH", "CA_REPOSITORY_ARN")
        }
        # A framework image has a Java runtime and no JDK: no javac on PATH or in JAVA_HOME.
        env.update(jre_only_shape())
        env.update(
            {
                MARKER_ENV: self.marker,
                # A container starts with empty caches: nothing may depend on HOME's contents.
                "HOME": home,
                # /opt/ml and port 8080 are not ours to use on a test machine.
                "SAGEMAKER_BASE_DIR": self.base_dir,
                "SAGEMAKER_BIND_TO_PORT": str(self.port),
                # Tests talk to 127.0.0.1 only; a container binds every interface.
                "SAGEMAKER_BIND_ADDRESS": "127.0.0.1",
                # Run as root the default is /etc/sagemaker-mms.properties, outside the test's
                # temporary directories.
                "SAGEMAKER_MMS_CONFIG_FILE": os.path.join(self.root, "sagemaker-mms.properties"),
                # Keep a test's stop well inside its timeout (SageMaker allows 30 s).
                "SAGEMAKER_SHUTDOWN_GRACE_SECONDS": "15",
                "TMPDIR": tmp,
                # MMS's own launcher (used by container-style starts) passes TEMP to Java as
                # java.io.tmpdir, where the worker sockets live: keep them apart per server.
                "TEMP": tmp,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.extra_env.get("SAGEMAKER_MULTI_MODEL", "").lower() != "true":
            # One worker keeps a single-model test server's start and memory small on a 2-core
            # machine; the tests of the default worker count set their own (multi-model servers
            # run with SageMaker's setting: none).
            env["SAGEMAKER_MODEL_SERVER_WORKERS"] = "1"
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
        procs = leftover_processes(self.marker)
        if self.process is not None and self.process.poll() is None:
            procs.append(psutil.Process(self.process.pid))
        kill_all(procs)
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
