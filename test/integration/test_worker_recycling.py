"""Worker recycling: after N requests, or above an RSS bound, a worker is replaced and no
request fails (both settings are off by default)."""

import threading

import psutil
import pytest

from server_harness import post_json, running_server, write_model

pytestmark = pytest.mark.timeout(240)

# Answers the worker's pid and resident size; {"leak": n} first keeps n MB more alive.
SOURCE = """
import json
import os

KEPT = []


def model_fn(model_dir):
    return None


def transform_fn(model, body, content_type, accept):
    request = json.loads(body)
    if request.get("leak"):
        KEPT.append(bytearray(os.urandom(1024)) * (1024 * request["leak"]))
    with open("/proc/self/statm") as handle:
        rss = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return json.dumps({"pid": os.getpid(), "rss": rss}), "application/json"
"""


def prepare(server):
    write_model(server.base_dir, {"inference.py": SOURCE})


def post(server, payload):
    return post_json(server, "/invocations", payload)


def ready(server):
    server.wait_for_prediction(b"{}")


def worker_pids(server):
    java = [
        p
        for p in psutil.Process(server.process.pid).children()
        if "com.amazonaws.ml.mms.ModelServer" in p.cmdline()
    ]
    pids = []
    for backend in java[0].children() if java else []:
        if any(part.endswith("model_service_worker.py") for part in backend.cmdline()):
            pids += [c.pid for c in backend.children() if c.status() != psutil.STATUS_ZOMBIE]
    return sorted(pids)


def test_worker_is_replaced_after_max_requests_without_failing_a_request():
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2", "SAGEMAKER_MAX_REQUESTS_PER_WORKER": "5"}
    with running_server(env, prepare, ready=ready) as server:
        answers, failures = [], []

        def client():
            for _ in range(15):
                response = post(server, {})
                if response.status_code == 200:
                    answers.append(response.json()["pid"])
                else:
                    failures.append((response.status_code, response.text[:200]))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures[:5]
        assert len(answers) == 60
        served = {pid: answers.count(pid) for pid in set(answers)}
        assert len(served) >= 60 // 5, served
        # The readiness request counted too, so a worker answers at most 5 of these.
        assert max(served.values()) <= 5, served
        server.wait_until(lambda: len(worker_pids(server)) == 2, timeout=30)
        assert "x-sagemaker-inference-retire-worker" not in {
            key.lower() for key in post(server, {}).headers
        }


def test_worker_above_the_rss_bound_is_replaced():
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_MAX_WORKER_RSS_MB": "250"}
    with running_server(env, prepare, ready=ready) as server:
        seen = []
        for _ in range(24):
            response = post(server, {"leak": 50})
            assert response.status_code == 200, response.text[:200]
            seen.append(response.json())
        pids = [answer["pid"] for answer in seen]
        assert len(set(pids)) >= 3, pids
        # Each worker grew to about the bound before being replaced, never far beyond it.
        assert max(answer["rss"] for answer in seen) < (250 + 60) * 1024 * 1024
        server.wait_until(lambda: len(worker_pids(server)) == 1, timeout=30)


def test_recycling_is_off_by_default():
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
    with running_server(env, prepare, ready=ready) as server:
        pids = {post(server, {}).json()["pid"] for _ in range(60)}
        assert len(pids) == 1
