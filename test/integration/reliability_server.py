"""A real MMS serving a tiny numpy model, for the hostile-input and soak tests.

The model multiplies its input by the largest weight in ``weights.npy`` (2.0), through the
library's default handler service, so every request runs the real decoder, transformer and encoder.

``module_server()`` uses test/integration/conftest.py's ``module_server`` (the project's shared
fixture) when it is importable. Otherwise ``serve()`` runs the library's ``start_model_server``
in a subprocess, or MMS's Java front end directly (SAGEMAKER_RELIABILITY_LAUNCHER=java forces
that), in its own session on 127.0.0.1, on a port below 32767 (MMS 1.1 rejects higher ones),
and kills everything in that session afterwards.
"""

import http.client
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

import numpy as np

HOST = "127.0.0.1"
# "java" starts MMS's Java front end directly; "start_model_server" (the default when the
# function exists) goes through the library's entry point.
LAUNCHER_ENV = "SAGEMAKER_RELIABILITY_LAUNCHER"
FACTOR = 2.0

INFERENCE_SOURCE = textwrap.dedent("""
    import os

    import numpy as np


    def model_fn(model_dir):
        weights = np.load(os.path.join(model_dir, "weights.npy"))
        return float(np.abs(weights).max())


    def predict_fn(data, model):
        if hasattr(data, "toarray"):
            data = data.toarray()
        return np.asarray(data, dtype=float) * model
    """)
# What conftest.py's write_model saves as weights.npy (the model's factor is their maximum).
WEIGHTS = np.array([[1.0], [FACTOR]])

VALID_BODY = b"[[1, 2, 3], [4.5, 5, 6]]"
VALID_ANSWER = [[2.0, 4.0, 6.0], [9.0, 10.0, 12.0]]


class Server(NamedTuple):
    port: int
    base_dir: str
    log_path: str
    process: subprocess.Popen

    @property
    def address(self) -> str:
        return "http://{}:{}".format(HOST, self.port)


def free_port(exclude: int = 0) -> int:
    rng = random.Random()
    for _ in range(500):
        port = rng.randint(20000, 32766)
        if port == exclude:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32767")


def write_model(base_dir: str) -> str:
    model_dir = os.path.join(base_dir, "model")
    os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
    np.save(os.path.join(model_dir, "weights.npy"), WEIGHTS)
    with open(os.path.join(model_dir, "code", "inference.py"), "w") as handle:
        handle.write(INFERENCE_SOURCE)
    return model_dir


def tail(path: str, lines: int = 60) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log at {})".format(path)


def _has_start_model_server() -> bool:
    try:
        spec = importlib.util.find_spec("sagemaker_inference.model_server")
    except (ImportError, ValueError):
        return False
    if spec is None or spec.origin is None:
        return False
    with open(spec.origin, errors="replace") as handle:
        return "def start_model_server" in handle.read()


def _clean_environment(base_dir: str, port: int, env: Dict[str, str]) -> Dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
    tmp = os.path.join(base_dir, "tmp")
    logs = os.path.join(base_dir, "logs")
    for directory in (tmp, logs):
        os.makedirs(directory, exist_ok=True)
    state = os.path.join(base_dir, "state")
    os.makedirs(state, exist_ok=True)
    environ.update(
        {
            "SAGEMAKER_BASE_DIR": base_dir,
            "SAGEMAKER_BIND_TO_PORT": str(port),
            # Keep the server's files out of /etc and its management API off the kernel's
            # ephemeral range (MMS rejects ports >= 32767).
            "SAGEMAKER_STATE_DIR": state,
            "SAGEMAKER_MMS_CONFIG_FILE": os.path.join(state, "mms.properties"),
            "SAGEMAKER_MANAGEMENT_PORT": str(free_port(exclude=port)),
            "TMPDIR": tmp,
            "TEMP": tmp,
            "LOG_LOCATION": logs,
            "METRICS_LOCATION": logs,
        }
    )
    environ.update(env)
    return environ


def _java_command(base_dir: str, port: int, environ: Dict[str, str]) -> List[str]:
    import mms

    site_packages = os.path.dirname(os.path.dirname(os.path.abspath(mms.__file__)))
    frontend = os.path.join(site_packages, "mms", "frontend")
    address = "http://{}:{}".format(HOST, port)
    lines = [
        "inference_address=" + address,
        "management_address=" + address,
        "model_store=" + base_dir,
        "load_models=model=model",
        "default_service_handler=sagemaker_inference.default_handler_service",
        "decode_input_request=false",
        "default_workers_per_model=" + environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", "1"),
    ]
    payload = environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB")
    if payload:
        lines.append("max_request_size={}".format(int(payload) * 1024 * 1024))
    config = os.path.join(base_dir, "mms.properties")
    with open(config, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    vmargs = environ.get("SAGEMAKER_MODEL_SERVER_VMARGS", "-XX:-UseContainerSupport").split()
    return (
        ["java", "-Dmodel_server_home=" + site_packages]
        + ["-Djava.io.tmpdir=" + environ["TMPDIR"]]
        + vmargs
        + ["-cp", ".:{}/*".format(frontend), "com.amazonaws.ml.mms.ModelServer"]
        + ["--python", sys.executable, "-f", config]
    )


def invoke(
    port: int,
    body: bytes,
    content_type: Optional[str] = "application/json",
    accept: Optional[str] = None,
    timeout: float = 30,
):
    """POST /invocations on a fresh connection; returns (status, reason, headers, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.reason, response.getheaders(), response.read()
    finally:
        connection.close()


def answers_correctly(port: int) -> bool:
    status, _, _, body = invoke(port, VALID_BODY)
    return status == 200 and json.loads(body) == VALID_ANSWER


def _wait_until_serving(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("the server exited early:\n" + tail(server.log_path))
        try:
            status, _, _, body = invoke(server.port, VALID_BODY, timeout=5)
            if status == 200 and json.loads(body) == VALID_ANSWER:
                return
            last = "{} {!r}".format(status, body[:200])
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise RuntimeError(
        "the model was not served within {} s (last: {}):\n{}".format(
            timeout, last, tail(server.log_path)
        )
    )


def session_processes(session_id: int) -> List[int]:
    """Pids of every live process in ``session_id`` (Java, its launcher, all Python workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/{}/stat".format(entry), "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == session_id and fields[0] != b"Z":
            pids.append(int(entry))
    return pids


def stop(server: Server) -> None:
    session = server.process.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in session_processes(session):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            server.process.poll()
            if not session_processes(session):
                break
            time.sleep(0.1)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@contextmanager
def serve(
    base_dir: str, env: Optional[Dict[str, str]] = None, startup_timeout: float = 120
) -> Iterator[Server]:
    """Run the model under ``base_dir`` until the block ends; ``env`` adds SAGEMAKER_* settings."""
    write_model(base_dir)
    port = free_port()
    environ = _clean_environment(base_dir, port, dict(env or {}))
    launcher = os.environ.get(LAUNCHER_ENV, "auto")
    if launcher == "start_model_server" or (launcher == "auto" and _has_start_model_server()):
        command = [
            sys.executable,
            "-c",
            "from sagemaker_inference import model_server; model_server.start_model_server()",
        ]
    else:
        command = _java_command(base_dir, port, environ)
    log_path = os.path.join(base_dir, "server.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=base_dir,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port, base_dir, log_path, process)
    try:
        _wait_until_serving(server, startup_timeout)
        yield server
    finally:
        stop(server)


def _shared_module_server():
    try:
        import conftest  # the integration suite's conftest, on sys.path beside this module
    except Exception:  # absent or broken: fall back to serve()
        return None
    factory = getattr(conftest, "module_server", None)
    if factory is None or not hasattr(conftest, "leftover_processes"):
        return None
    return conftest


def module_server(base_dir: str, env: Dict[str, str]) -> Iterator[Any]:
    """Yield one running server (attributes port, process, log_path) for a test module."""
    shared = None if os.environ.get(LAUNCHER_ENV) == "java" else _shared_module_server()
    if shared is None:
        with serve(base_dir, env) as server:
            yield server
        return
    assert abs(float(np.abs(shared.WEIGHTS).max()) - FACTOR) < 1e-12, "conftest WEIGHTS changed"
    yield from shared.module_server({"inference.py": INFERENCE_SOURCE}, env=env)


def server_pids(server: Any) -> List[int]:
    """Every live process of the server: the entry point, Java and all Python workers."""
    marker = getattr(server, "marker", None)
    if marker is None:
        return session_processes(server.process.pid)
    import conftest

    pids = {proc.pid for proc in conftest.leftover_processes(marker)}
    if server.process.poll() is None:
        pids.add(server.process.pid)
    return sorted(pids)
