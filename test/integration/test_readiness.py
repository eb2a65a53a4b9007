"""Readiness (/ping) and /execution-parameters, answered by the project's MMS plugin.

Servers start through start_model_server (server_harness.Server), so the plugin is on MMS's
``plugins_path`` as in production and the single-model servers have a management port of their
own: everything here is asked on the inference port.
"""

import time

import pytest
import requests

from server_harness import slow_loading_inference, running_server, write_model

pytestmark = pytest.mark.timeout(240)

LOAD_SECONDS = 6

SLOW_INFERENCE = slow_loading_inference(LOAD_SECONDS)

FAILING_INFERENCE = """
def model_fn(model_dir):
    raise RuntimeError("model refuses to load")
"""


def _ping(server):
    response = requests.get(server.url + "/ping", timeout=5)
    return response.status_code, response.json()


def _execution_parameters(server):
    response = requests.get(server.url + "/execution-parameters", timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def _poll_ping_until(server, status, timeout):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        code, body = _ping(server)
        seen.append(code)
        if code == status:
            return body
        time.sleep(0.2)
    pytest.fail("/ping never answered {} (saw {})".format(status, sorted(set(seen))))


def _record_first_ping(server):
    """Keep the first /ping answer once the inference port is open as ``server.first_ping``."""
    answers = []

    def answered() -> bool:
        answers.append(_ping(server))
        return True

    server.wait_until(answered)
    server.first_ping = answers[-1]


@pytest.fixture(scope="module")
def slow_server():
    """Two workers whose model takes LOAD_SECONDS to load."""
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}
    code = {"inference.py": SLOW_INFERENCE}
    with running_server(
        env, lambda server: write_model(server.base_dir, code), ready=_record_first_ping
    ) as server:
        yield server


@pytest.fixture(scope="module")
def multi_model_server():
    env = {
        "SAGEMAKER_MULTI_MODEL": "true",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "3",
        "SAGEMAKER_BATCH_STRATEGY": "MultiRecord",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20",
    }
    with running_server(env, ready=_record_first_ping) as server:
        yield server


def test_ping_is_503_while_loading_then_200(slow_server):
    code, body = slow_server.first_ping
    assert code == 503, body
    assert body["status"] == "Unhealthy"
    assert body["models"]["model"].startswith("0/")

    body = _poll_ping_until(slow_server, 200, timeout=60)
    assert body == {"status": "Healthy"}


def test_inference_still_served_with_plugin(slow_server):
    _poll_ping_until(slow_server, 200, timeout=60)
    response = requests.post(slow_server.url + "/invocations", data=b"x", timeout=30)
    assert response.status_code == 200
    assert response.content == b"ok"


def test_execution_parameters_defaults(slow_server):
    # 2 workers; MMS's default max_request_size (6553500 bytes) is 6 whole MiB.
    assert _execution_parameters(slow_server) == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 6,
    }


def test_ping_rejects_other_methods(slow_server):
    response = requests.post(slow_server.url + "/ping", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_ping_stays_503_for_a_failing_model_until_the_server_gives_up(make_server):
    server = make_server()
    write_model(server.base_dir, {"inference.py": FAILING_INFERENCE})
    server.start()
    answers = []
    deadline = time.monotonic() + 120
    while server.process.poll() is None and time.monotonic() < deadline:
        try:
            answers.append(_ping(server))
        except requests.RequestException:
            pass  # not listening yet, or already stopping
        time.sleep(0.2)
    code = server.wait_exit()
    server.assert_nothing_left()
    assert code != 0, server.log()[-3000:]
    assert answers, "no /ping answer before the server exited:\n" + server.log()[-3000:]
    assert {status for status, _ in answers} == {503}, answers
    assert all(body["models"]["model"].startswith("0/") for _, body in answers), answers
    assert "model refuses to load" in server.log()


def test_multi_model_ping_is_200_without_models(multi_model_server):
    assert multi_model_server.first_ping == (200, {"status": "Healthy"})
    assert _ping(multi_model_server) == (200, {"status": "Healthy"})


def test_execution_parameters_from_environment(multi_model_server):
    assert _execution_parameters(multi_model_server) == {
        "MaxConcurrentTransforms": 3,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 20,
    }
