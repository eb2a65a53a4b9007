"""A response larger than MMS's max_response_size: a clear 500, and the worker and model stay.

Without the library's check MMS's front end drops the oversized frame, kills the worker (500
"Worker died.") and the model loads again.
"""

import pytest

from server_harness import post_json, running_server, write_model

pytestmark = pytest.mark.timeout(240)

MB = 1024 * 1024
MMS_DEFAULT_LIMIT = 6553500

# {"size": n} answers n bytes; anything else answers the worker's pid and how often model_fn ran.
SOURCE = """
import json
import os

LOADS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loads")


def model_fn(model_dir):
    with open(LOADS, "a") as handle:
        handle.write("load\\n")
    return 1


def transform_fn(model, body, content_type, accept):
    request = json.loads(body)
    if "size" in request:
        return b"x" * request["size"], "application/octet-stream"
    with open(LOADS) as handle:
        loads = len(handle.read().split())
    return json.dumps({"pid": os.getpid(), "loads": loads}), "application/json"
"""


def post(server, payload):
    return post_json(server, "/invocations", payload)


def prepare(server):
    write_model(server.base_dir, {"inference.py": SOURCE})


def test_response_over_the_limit_gets_500_naming_limit_and_setting():
    with running_server({}, prepare, ready=lambda s: s.wait_for_prediction(b"{}")) as server:
        before = post(server, {}).json()
        response = post(server, {"size": 20 * MB})
        assert response.status_code == 500, response.text[:300]
        message = response.text
        assert len(message) < 1000 and "\n" not in message.strip(), message[:300]
        assert str(MMS_DEFAULT_LIMIT) in message
        assert "SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB" in message
        assert "SAGEMAKER_MAX_PAYLOAD_IN_MB" in message
        after = post(server, {}).json()
        assert after == before  # same worker process, model loaded once
        assert after["loads"] == 1
        assert len(post(server, {"size": MMS_DEFAULT_LIMIT}).content) == MMS_DEFAULT_LIMIT
        log = server.log()
        assert "Worker died" not in log


def test_max_payload_setting_raises_the_response_limit():
    env = {"SAGEMAKER_MAX_PAYLOAD_IN_MB": "30"}
    with running_server(env, prepare, ready=lambda s: s.wait_for_prediction(b"{}")) as server:
        response = post(server, {"size": 20 * MB})
        assert response.status_code == 200, response.text[:300]
        assert len(response.content) == 20 * MB
        assert post(server, {}).json()["loads"] == 1
