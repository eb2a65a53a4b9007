"""Unloading a model of a multi-model endpoint while it is being invoked.

Eight clients invoke the model (each prediction takes 0.2 s on one worker, so requests queue)
while it is unloaded. Every request must get 200, 404 or 503 promptly; none "Worker died."
(500) or left hanging; the unload itself succeeds and the model can be loaded again.
"""

import threading
import time

import pytest
import requests

from server_harness import load_model, Server, running_server, write_model

pytestmark = pytest.mark.timeout(240)

CLIENTS = 8
PROMPT_SECONDS = 10

SLOW = """
import time

import numpy as np


def model_fn(model_dir):
    return np.load(model_dir + "/weights.npy")


def predict_fn(data, model):
    time.sleep(0.2)
    return np.asarray(data, dtype=float) @ model
"""


def load(server, name, url):
    return load_model(server, name, url)


def invoke_until(server, stop, results):
    session = requests.Session()
    while not stop.is_set():
        started = time.monotonic()
        try:
            response = session.post(
                server.url + "/models/racer/invoke",
                data=b"[[1, 2]]",
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            results.append((response.status_code, response.text[:200], time.monotonic() - started))
        except requests.RequestException as exc:
            results.append((None, repr(exc)[:200], time.monotonic() - started))


def test_requests_racing_an_unload_get_200_404_or_503_promptly():
    holder = {}

    def prepare(server):
        holder["model"] = write_model(server.base_dir, {"inference.py": SLOW}, name="racer")

    env = {"SAGEMAKER_MULTI_MODEL": "true"}
    with running_server(env, prepare, ready=Server.wait_for_ping) as server:
        assert load(server, "racer", holder["model"]).status_code == 200
        stop = threading.Event()
        results = []
        threads = [
            threading.Thread(target=invoke_until, args=(server, stop, results), daemon=True)
            for _ in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        # Unload once the queue is busy: every client has been answered at least once.
        server.wait_until(lambda: len(results) >= 2 * CLIENTS, timeout=60)
        started = time.monotonic()
        deleted = requests.delete(server.url + "/models/racer", timeout=60)
        unload_seconds = time.monotonic() - started
        # Keep invoking until every client has been answered again after the unload.
        answered = len(results)
        server.wait_until(lambda: len(results) >= answered + CLIENTS, timeout=60)
        stop.set()
        for thread in threads:
            thread.join(PROMPT_SECONDS + 60)
        statuses = sorted({status for status, _, _ in results}, key=str)
        tally = {s: sum(1 for r in results if r[0] == s) for s in statuses}
        slowest = max(r[2] for r in results)
        print(
            "\nunload under load: DELETE {} in {:.2f} s; {} requests, statuses {}, "
            "slowest {:.2f} s".format(
                deleted.status_code, unload_seconds, len(results), tally, slowest
            )
        )
        assert deleted.status_code == 200, deleted.text
        assert unload_seconds < PROMPT_SECONDS
        unexpected = [r for r in results if r[0] not in (200, 404, 503)]
        assert not unexpected, unexpected[:5]
        slow = [r for r in results if r[2] > PROMPT_SECONDS]
        assert not slow, slow[:5]
        assert sum(1 for r in results if r[0] == 200) > CLIENTS
        assert load(server, "racer", holder["model"]).status_code == 200
        again = requests.post(
            server.url + "/models/racer/invoke",
            data=b"[[1, 2]]",
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        assert again.status_code == 200, again.text
