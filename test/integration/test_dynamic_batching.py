"""Dynamic batching through the real MMS: SAGEMAKER_MODEL_SERVER_BATCH_SIZE makes MMS hand a
worker several requests at once, and a model that opts in (batch_stacking) predicts them in one
call, while every request keeps its own decoding, encoding, content type and status.

Concurrent requests are sent to one worker so that MMS forms real batches; the model records,
for every predict call, how many rows it got and how many requests MMS batched (the length of
``context.request_processor``), which proves one call served several requests.
"""

import io
import json
import os
import threading

import numpy as np
import pytest
import requests

from sagemaker_inference import mms_config
from server_harness import Server, running_server, write_model

pytestmark = pytest.mark.timeout(240)

STACKING_MODEL = """
import os
import time

import numpy as np

batch_stacking = True


def model_fn(model_dir):
    return os.path.join(model_dir, "calls.log")


def predict_fn(data, model, context):
    # A fixed cost per call keeps the worker busy while the next requests queue up in MMS.
    time.sleep(0.05)
    with open(model, "a") as log:
        bad = int((data == -1).any())
        log.write("{} {} {}\\n".format(len(data), len(context.request_processor), bad))
    if (data == -1).any():
        raise RuntimeError("a row of -1")
    return data * 2 + 1
"""

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=float))
    return buffer.getvalue()


# (body, Content-Type, Accept): JSON, CSV and NPY bodies of 1 to 3 rows of two float64 columns.
GOOD_REQUESTS = [
    (b"[[1.5, 2.5]]", JSON, JSON),
    (b"1.5,2\n3,4\n", CSV, CSV),
    (npy([[5.25, 6], [7, 8], [9, 10]]), NPY, NPY),
    (b"[[0.5, -2.5], [3.5, 4.5]]", JSON, CSV),
    (b"11.5,12\n", CSV, JSON),
    (npy([[13, 14.5]]), NPY, JSON),
]
BAD_REQUESTS = [
    (b"[[1.5, 2.5", JSON, JSON),  # undecodable: 400
    (npy([[-1, 0]]), NPY, JSON),  # predict raises on it: 500
    (b"\x00\x01", "application/x-unknown", JSON),  # no decoder: 415
]


def write(server: Server) -> None:
    write_model(server.base_dir, {"inference.py": STACKING_MODEL})


def batching_env(batch_size: int = 8, delay_ms: int = 500, **extra: str):
    env = {
        "SAGEMAKER_MODEL_SERVER_BATCH_SIZE": str(batch_size),
        "SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS": str(delay_ms),
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def plain():
    with running_server(None, write) as server:
        yield server


@pytest.fixture(scope="module")
def batched():
    env = batching_env(SAGEMAKER_MANAGEMENT_PORT=str(mms_config.free_port()))
    with running_server(env, write) as server:
        yield server


def post(server: Server, request) -> requests.Response:
    body, content_type, accept = request
    return requests.post(
        server.url + "/invocations",
        data=body,
        headers={"Content-Type": content_type, "Accept": accept},
        timeout=60,
    )


def concurrently(server: Server, batch):
    """Send every request of ``batch`` at the same moment, each on its own connection."""
    responses = [None] * len(batch)
    start = threading.Barrier(len(batch))

    def send(index):
        start.wait()
        responses[index] = post(server, batch[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batch))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return responses


def calls(server: Server):
    """(rows, requests in the MMS batch, whether a -1 row was in it) of every predict call so
    far, and forget them."""
    path = os.path.join(server.base_dir, "model", "calls.log")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        lines = handle.read().split()
    os.remove(path)
    return [
        (int(rows), int(size), bool(int(bad)))
        for rows, size, bad in zip(lines[::3], lines[1::3], lines[2::3])
    ]


def formed_a_batch(seen) -> bool:
    return any(size > 1 for _, size, _ in seen)


def burst_until_batched(server: Server, batch, batched=formed_a_batch, attempts: int = 5):
    """Send ``batch`` concurrently until ``batched(calls)`` holds: MMS forms batches from what
    has arrived when a worker frees up, so a loaded machine may let a request through alone.
    Returns the responses and the calls of the last burst."""
    calls(server)
    seen = []
    for _ in range(attempts):
        responses = concurrently(server, batch)
        seen = calls(server)
        if batched(seen):
            return responses, seen
    pytest.fail("MMS never formed the batch this test needs: {}".format(seen))


def answer(response: requests.Response):
    """The status, the media type and the decoded body of a response."""
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if response.status_code != 200:
        return response.status_code, media_type, None
    if media_type == CSV:
        return 200, media_type, np.loadtxt(io.StringIO(response.text), delimiter=",", ndmin=2)
    if media_type == NPY:
        return 200, media_type, np.load(io.BytesIO(response.content))
    return 200, media_type, np.asarray(response.json())


def test_batched_answers_equal_unbatched_and_predict_runs_once_per_batch(plain, batched):
    expected = [answer(post(plain, request)) for request in GOOD_REQUESTS]
    assert all(status == 200 for status, _, _ in expected)
    assert all(size == 1 for _, size, _ in calls(plain))  # without the setting MMS never batches
    responses, seen = burst_until_batched(batched, GOOD_REQUESTS)
    for (status, media_type, value), response in zip(expected, responses):
        got_status, got_type, got_value = answer(response)
        assert (got_status, got_type) == (status, media_type), response.text
        np.testing.assert_array_equal(got_value, value)
    # Every request was answered by a stacked call: one predict call per MMS batch, its rows
    # the sum of the batch's requests' rows (JSON, CSV and NPY bodies together).
    assert len(seen) < len(GOOD_REQUESTS)
    assert sum(size for _, size, _ in seen) == len(GOOD_REQUESTS)
    assert sum(rows for rows, _, _ in seen) == 1 + 2 + 3 + 2 + 1 + 1


def test_without_the_setting_concurrent_requests_are_predicted_one_by_one(plain):
    calls(plain)
    responses = concurrently(plain, GOOD_REQUESTS)
    assert [response.status_code for response in responses] == [200] * len(GOOD_REQUESTS)
    seen = calls(plain)
    assert len(seen) == len(GOOD_REQUESTS) and all(size == 1 for _, size, _ in seen)


def test_each_request_of_a_batch_fails_alone(plain, batched):
    mixed = GOOD_REQUESTS[:3] + BAD_REQUESTS + GOOD_REQUESTS[3:]
    expected = [answer(post(plain, request)) for request in mixed]
    assert [status for status, _, _ in expected] == [200] * 3 + [400, 500, 415] + [200] * 3

    def stacked_with_the_bad_row(seen) -> bool:
        # The -1 row reached predict_fn stacked with other rows, not alone in its MMS batch.
        return any(bad and rows > 1 for rows, _, bad in seen)

    responses, seen = burst_until_batched(batched, mixed, stacked_with_the_bad_row)
    for (status, media_type, value), response in zip(expected, responses):
        got_status, got_type, got_value = answer(response)
        assert (got_status, got_type) == (status, media_type), response.text
        if status == 200:
            np.testing.assert_array_equal(got_value, value)
        else:  # the same one-line reason as without batching
            assert got_value == value
    bodies = {response.status_code: response.text for response in responses}
    assert "a row of -1" in bodies[500]
    # The stacked call that met the -1 row failed and its requests were predicted one by one:
    # the -1 row then came alone to predict_fn although MMS had batched it with others.
    assert any(bad and rows == 1 and size > 1 for rows, size, bad in seen)


def test_the_startup_model_is_registered_with_the_batch_settings(batched):
    port = batched.environment()["SAGEMAKER_MANAGEMENT_PORT"]
    described = requests.get("http://127.0.0.1:{}/models/model".format(port), timeout=10)
    assert described.status_code == 200, described.text
    model = described.json()[0] if isinstance(described.json(), list) else described.json()
    assert (model["batchSize"], model["maxBatchDelay"]) == (8, 500)


def test_multi_model_registrations_get_the_defaults_unless_they_name_their_own():
    urls = {}

    def write_models(server):
        for name in ("first", "second"):
            urls[name] = write_model(server.base_dir, {"inference.py": STACKING_MODEL}, name=name)

    env = batching_env(4, 50, SAGEMAKER_MULTI_MODEL="true", SAGEMAKER_MODEL_SERVER_WORKERS="1")
    with running_server(env, write_models, ready=Server.wait_for_ping) as server:
        response = requests.post(
            server.url + "/models",
            data=json.dumps({"model_name": "first", "url": urls["first"]}),
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        response = requests.post(
            server.url + "/models",
            params={
                "model_name": "second",
                "url": urls["second"],
                "batch_size": "2",
            },
            timeout=120,
        )
        assert response.status_code == 200, response.text
        settings = {}
        for name in ("first", "second"):
            described = requests.get(server.url + "/models/" + name, timeout=10).json()
            model = described[0] if isinstance(described, list) else described
            settings[name] = (model["batchSize"], model["maxBatchDelay"])
        assert settings == {"first": (4, 50), "second": (2, 100)}
        response = requests.post(
            server.url + "/models/first/invoke",
            data=b"[[1.5, 2.5]]",
            headers={"Content-Type": JSON},
            timeout=60,
        )
        assert response.status_code == 200 and response.json() == [[4.0, 6.0]]
