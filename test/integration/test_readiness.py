"""Readiness (/ping) and /execution-parameters through the plugin, against the real Java MMS.

The fixture below starts MMS's Java front end directly (the command shape of MMS's own
launcher) with the plugin on ``plugins_path``; it is meant to be swapped for the project's
start_model_server fixture once test/integration/conftest.py provides one.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager

import pytest
import requests

from sagemaker_inference import plugin

pytestmark = pytest.mark.timeout(240)

HANDLER_MODULE = "readiness_probe_handler"

# One handler for every test model: the model directory says how loading goes.
#   load_sleep: seconds to sleep while loading; load_fail: loading raises.
HANDLER_SOURCE = textwrap.dedent("""
    import os
    import time


    def _read(model_dir, name):
        path = os.path.join(model_dir, name)
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return handle.read().strip()


    def handle(data, context):
        if data is None:
            model_dir = context.system_properties["model_dir"]
            if _read(model_dir, "load_fail") is not None:
                raise RuntimeError("model refuses to load")
            time.sleep(float(_read(model_dir, "load_sleep") or 0))
            return None
        return [b"ok" for _ in data]
    """)


def _free_port():
    # MMS 1.1 rejects ports >= 32767, so the kernel's ephemeral range (bind to 0) is unusable.
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(20000, 32766)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32767")


def _wait_for_port(port, proc, log_path, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("MMS exited early:\n" + _tail(log_path))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("MMS did not bind port {}:\n{}".format(port, _tail(log_path)))


def _tail(path, lines=40):
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory):
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    directory = plugin.ensure_plugin(str(tmp_path_factory.mktemp("plugin-cache")))
    if directory is None:
        pytest.skip("the MMS plugin could not be built (no javac?)")
    return directory


@contextmanager
def run_mms(
    base,
    plugin_path,
    models,
    workers=1,
    extra_env=None,
    multi_model=False,
    separate_management=False,
):
    """Start Java MMS on an ephemeral port; ``models`` maps name -> {"load_sleep"|"load_fail"}."""
    code_dir = base / "code"
    store = base / "models"
    tmp = base / "tmp"
    for directory in (code_dir, store, tmp, base / "logs"):
        directory.mkdir(parents=True, exist_ok=True)
    (code_dir / (HANDLER_MODULE + ".py")).write_text(HANDLER_SOURCE)
    load = []
    for name, behaviour in models.items():
        model_dir = store / name
        model_dir.mkdir()
        for key, value in behaviour.items():
            (model_dir / key).write_text(str(value))
        load.append("{}={}".format(name, name))  # resolved inside model_store

    port = _free_port()
    address = "http://127.0.0.1:{}".format(port)
    management = address
    if separate_management:
        management = "http://127.0.0.1:{}".format(_free_port())
    config = base / "config.properties"
    lines = [
        "inference_address=" + address,
        "management_address=" + management,
        "model_store=" + str(store),
        "default_workers_per_model={}".format(workers),
        "default_service_handler={}:handle".format(HANDLER_MODULE),
        "decode_input_request=false",
        "plugins_path=" + plugin_path,
    ]
    if load:
        lines.append("load_models=" + ",".join(load))
    config.write_text("\n".join(lines) + "\n")

    env = dict(os.environ)
    for key in list(env):
        if key.startswith("SAGEMAKER_"):
            del env[key]
    env.update(extra_env or {})
    if multi_model:
        env["SAGEMAKER_MULTI_MODEL"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code_dir), env.get("PYTHONPATH")]))
    env["TMPDIR"] = env["TEMP"] = str(tmp)
    env["LOG_LOCATION"] = env["METRICS_LOCATION"] = str(base / "logs")

    frontend = os.path.dirname(plugin.model_server_jar())  # <site-packages>/mms/frontend
    command = [
        "java",
        "-Dmodel_server_home={}".format(os.path.dirname(os.path.dirname(frontend))),
        "-Djava.io.tmpdir={}".format(tmp),
        "-cp",
        ".:{}/*:{}/*".format(frontend, plugin_path),
        "com.amazonaws.ml.mms.ModelServer",
        "--python",
        sys.executable,
        "-f",
        str(config),
    ]
    log_path = base / "mms.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=str(base),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_port(port, proc, log_path)
        yield address, log_path
    finally:
        # The session holds Java and every Python worker it spawned (MMS leaves them behind).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


def _ping(address):
    response = requests.get(address + "/ping", timeout=5)
    return response.status_code, response.json()


def _poll_ping_until(address, status, timeout):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        code, body = _ping(address)
        seen.append(code)
        if code == status:
            return seen, body
        time.sleep(0.2)
    pytest.fail("/ping never answered {} (saw {})".format(status, sorted(set(seen))))


@pytest.fixture(scope="module")
def slow_server(plugin_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("slow")
    with run_mms(base, plugin_dir, {"model": {"load_sleep": 6}}, workers=2) as running:
        yield running


def test_ping_is_503_while_loading_then_200(slow_server):
    address, log_path = slow_server
    code, body = _ping(address)
    assert code == 503, body
    assert body["status"] == "Unhealthy"
    assert body["models"]["model"].startswith("0/")

    seen, body = _poll_ping_until(address, 200, timeout=60)
    assert body == {"status": "Healthy"}
    assert "Loading plugin for endpoint ping" in log_path.read_text(errors="replace")


def test_inference_still_served_with_plugin(slow_server):
    address, _ = slow_server
    _poll_ping_until(address, 200, timeout=60)
    response = requests.post(address + "/invocations", data=b"x", timeout=30)
    assert response.status_code == 200
    assert response.content == b"ok"


def test_execution_parameters_defaults(slow_server):
    address, _ = slow_server
    response = requests.get(address + "/execution-parameters", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    # 2 workers; MMS's default max_request_size (6553500 bytes) is 6 whole MiB.
    assert response.json() == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 6,
    }


def test_ping_rejects_other_methods(slow_server):
    address, _ = slow_server
    response = requests.post(address + "/ping", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_ping_stays_503_when_a_startup_model_fails(plugin_dir, tmp_path):
    models = {"good": {}, "broken": {"load_fail": 1}}
    with run_mms(tmp_path, plugin_dir, models) as (address, log_path):
        # The good model comes up; the broken one keeps failing and is retried by MMS.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            code, body = _ping(address)
            assert code == 503, body
            if body["models"].get("good", "").startswith("1/"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("good model never loaded:\n" + _tail(log_path))
        end = time.monotonic() + 5
        while time.monotonic() < end:
            code, body = _ping(address)
            assert code == 503
            assert body["models"]["broken"].startswith("0/")
            time.sleep(0.5)
        assert "model refuses to load" in log_path.read_text(errors="replace")


def test_multi_model_ping_is_200_without_models_and_env_parameters(plugin_dir, tmp_path):
    env = {
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "3",
        "SAGEMAKER_BATCH_STRATEGY": "MultiRecord",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20",
    }
    with run_mms(tmp_path, plugin_dir, {}, extra_env=env, multi_model=True) as (address, _):
        assert _ping(address) == (200, {"status": "Healthy"})
        response = requests.get(address + "/execution-parameters", timeout=5)
        assert json.loads(response.text) == {
            "MaxConcurrentTransforms": 3,
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": 20,
        }


def test_single_model_mode_without_startup_model_is_503(plugin_dir, tmp_path):
    with run_mms(tmp_path, plugin_dir, {}) as (address, _):
        code, body = _ping(address)
        assert code == 503
        assert body["reason"] == "no model is configured to load at start"


def test_plugin_serves_inference_port_when_management_is_separate(plugin_dir, tmp_path):
    with run_mms(tmp_path, plugin_dir, {"model": {}}, separate_management=True) as (address, _):
        _poll_ping_until(address, 200, timeout=60)
        response = requests.get(address + "/execution-parameters", timeout=5)
        assert response.status_code == 200
        assert response.json()["MaxConcurrentTransforms"] == 1
