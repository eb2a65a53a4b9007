"""Running and stopping: killed and hung workers, SIGTERM/SIGINT, fail-fast, dead processes."""

import os
import signal
import threading
import time

import psutil
import pytest
import requests

from server_harness import BASIC_INFERENCE, module_server, write_model

pytestmark = pytest.mark.timeout(180)

# [[-5, s]] sleeps s seconds in predict_fn, after writing a "sleeping" file in the model
# directory so that a test knows the request reached the worker.
SLEEPY_INFERENCE = """
import os
import time

import numpy as np


def model_fn(model_dir):
    return np.load(model_dir + "/weights.npy"), model_dir


def predict_fn(data, model):
    weights, model_dir = model
    data = np.asarray(data, dtype=float)
    if data.flat[0] == -5:
        open(os.path.join(model_dir, "sleeping"), "w").close()
        time.sleep(float(data.flat[1]))
        return np.array([[42.0]])
    return data @ weights
"""

FAILING_INFERENCE = """
def model_fn(model_dir):
    raise ValueError("weights file is corrupt")
"""


def sleep_request(server, seconds, results):
    started = time.monotonic()
    try:
        response = requests.post(
            server.url + "/invocations",
            data="[[-5, {}]]".format(seconds).encode(),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        results.append((response.status_code, response.text, time.monotonic() - started))
    except requests.RequestException as exc:
        results.append((None, repr(exc), time.monotonic() - started))


def in_background(server, seconds):
    """Send a sleeping request from a thread; returns once predict_fn has started on it."""
    marker = os.path.join(server.base_dir, "model", "sleeping")
    if os.path.exists(marker):
        os.remove(marker)
    results = []
    thread = threading.Thread(target=sleep_request, args=(server, seconds, results), daemon=True)
    thread.start()
    server.wait_until(lambda: os.path.exists(marker) or bool(results), timeout=30)
    return thread, results


def predict_ok(server):
    response = requests.post(
        server.url + "/invocations",
        data=b"[[1, 2]]",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    return response.status_code == 200 and response.json() == [[5.0]]


def java_of(server):
    for proc in psutil.Process(server.process.pid).children():
        if "com.amazonaws.ml.mms.ModelServer" in proc.cmdline():
            return proc
    raise AssertionError("no java child")


def backends_of(server):
    return [
        proc
        for proc in java_of(server).children()
        if any(part.endswith("model_service_worker.py") for part in proc.cmdline())
    ]


def busy_worker(server):
    for backend in backends_of(server):
        for child in backend.children():
            if child.status() != psutil.STATUS_ZOMBIE:
                return child
    raise AssertionError("no worker process")


@pytest.fixture(scope="module")
def server():
    yield from module_server(
        {"inference.py": SLEEPY_INFERENCE},
        env={"SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "3"},
    )


def test_worker_sigkill_mid_request_gives_5xx_then_serves(server):
    thread, results = in_background(server, 2)
    busy_worker(server).kill()
    thread.join(30)
    status, body, _ = results[0]
    assert status is not None and 500 <= status < 600, results
    server.wait_until(lambda: predict_ok(server), timeout=30)


def test_hang_past_timeout_gives_5xx_then_serves(server):
    thread, results = in_background(server, 8)
    thread.join(30)
    status, body, elapsed = results[0]
    assert status is not None and 500 <= status < 600, results
    assert elapsed < 7.5, results
    server.wait_until(lambda: predict_ok(server), timeout=30)


def test_sigterm_lets_in_flight_request_finish(server):
    thread, results = in_background(server, 2)
    stopped_at = time.monotonic()
    code = server.stop(signal.SIGTERM)
    elapsed = time.monotonic() - stopped_at
    thread.join(10)
    assert results and results[0][0] == 200, results
    assert results[0][1].strip() == "[[42.0]]"
    assert code == 0, server.log()[-3000:]
    assert elapsed < 15, elapsed


def test_sigint_stops_cleanly(make_server):
    server = make_server()
    write_model(server.base_dir, {"inference.py": BASIC_INFERENCE})
    server.start()
    server.wait_for_prediction()
    started = time.monotonic()
    assert server.stop(signal.SIGINT) == 0
    assert time.monotonic() - started < 10


def test_model_fn_failure_exits_non_zero_with_reason(make_server):
    server = make_server(env={"SAGEMAKER_MAX_LOAD_FAILURES": "2"})
    write_model(server.base_dir, {"inference.py": FAILING_INFERENCE})
    server.start()
    code = server.wait_exit(timeout=90)
    server.assert_nothing_left()
    assert code == 2, server.log()[-3000:]
    tail = "\n".join(server.log().strip().splitlines()[-3:])
    assert "ValueError: weights file is corrupt" in tail, tail
    assert "inference.py" in tail, tail


def test_dead_python_backend_exits_non_zero(make_server):
    server = make_server()
    write_model(server.base_dir, {"inference.py": BASIC_INFERENCE})
    server.start()
    server.wait_for_prediction()
    for backend in backends_of(server):
        backend.kill()
    code = server.wait_exit(timeout=30)
    server.assert_nothing_left()
    assert code == 4, server.log()[-3000:]


def test_dead_java_exits_non_zero(make_server):
    server = make_server()
    write_model(server.base_dir, {"inference.py": BASIC_INFERENCE})
    server.start()
    server.wait_for_prediction()
    java_of(server).kill()
    code = server.wait_exit(timeout=30)
    server.assert_nothing_left()
    assert code == 3, server.log()[-3000:]
