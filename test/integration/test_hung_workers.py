"""Hung workers are ended after the response timeout; the worker count returns to normal.

Two workers, a 5 s response timeout, and two requests at once whose predict_fn never returns
(one sleeps, one busy-loops in Python). Each request gets a 5xx after the timeout, MMS starts
replacements, and the hung processes must be gone a few seconds later, leaving two workers.
"""

import os
import threading
import time

import psutil
import pytest
import requests

from server_harness import running_server, write_model

pytestmark = pytest.mark.timeout(240)

TIMEOUT = 5
WORKERS = 2

# [[-1, 0]] sleeps for ever, [[-1, 1]] spins for ever; both record the worker's pid first.
HANGING = """
import os
import time

import numpy as np

PIDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hung-pids")


def model_fn(model_dir):
    return np.load(os.path.join(model_dir, "weights.npy"))


def predict_fn(data, model):
    data = np.asarray(data, dtype=float)
    if data.flat[0] == -1:
        with open(PIDS, "a") as handle:
            handle.write("{}\\n".format(os.getpid()))
        if data.flat[1] == 0:
            while True:
                time.sleep(1)
        while True:
            pass
    return data @ model
"""


def worker_processes(server):
    """Live children of the model's Python backend (one per MMS worker)."""
    javas = [
        proc
        for proc in psutil.Process(server.process.pid).children()
        if "com.amazonaws.ml.mms.ModelServer" in proc.cmdline()
    ]
    workers = []
    for backend in javas[0].children() if javas else []:
        if not any(part.endswith("model_service_worker.py") for part in backend.cmdline()):
            continue
        for child in backend.children():
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    workers.append(child.pid)
            except psutil.NoSuchProcess:
                continue
    return sorted(workers)


def hang(server, mode, results):
    started = time.monotonic()
    response = requests.post(
        server.url + "/invocations",
        data="[[-1, {}]]".format(mode).encode(),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    results.append((response.status_code, time.monotonic() - started))


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_hung_workers_are_killed_and_replaced():
    env = {
        "SAGEMAKER_MODEL_SERVER_WORKERS": str(WORKERS),
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": str(TIMEOUT),
    }
    holder = {}

    def prepare(server):
        holder["model"] = write_model(server.base_dir, {"inference.py": HANGING})

    with running_server(env, prepare) as server:
        server.wait_until(lambda: len(worker_processes(server)) == WORKERS, timeout=60)
        before = worker_processes(server)
        peak = {"count": len(before)}
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                try:
                    peak["count"] = max(peak["count"], len(worker_processes(server)))
                except psutil.Error:
                    pass
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        results = []
        threads = [
            threading.Thread(target=hang, args=(server, mode, results), daemon=True)
            for mode in (0, 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(results) == 2
        for status, elapsed in results:
            assert 500 <= status < 600
            assert elapsed < TIMEOUT + 3
        during = worker_processes(server)
        with open(os.path.join(holder["model"], "code", "hung-pids")) as handle:
            hung = [int(line) for line in handle.read().split()]
        assert len(hung) == 2 and set(hung) <= set(before)

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(alive(pid) for pid in hung):
            time.sleep(0.2)
        assert not any(alive(pid) for pid in hung), "hung workers still alive"
        server.wait_until(lambda: len(worker_processes(server)) == WORKERS, timeout=30)
        sampling.set()
        sampler.join(5)
        after = worker_processes(server)
        print(
            "worker processes: before {} {}, at the 5xx {} {}, most at once {}, after {} {}".format(
                len(before), before, len(during), during, peak["count"], len(after), after
            )
        )
        assert len(after) == WORKERS
        assert not set(hung) & set(after)
        # One replacement per killed worker: at no sample were there more processes than the
        # workers plus the hung ones not yet gone.
        assert peak["count"] <= WORKERS + len(hung), peak
        ok = requests.post(
            server.url + "/invocations",
            data=b"[[1, 2]]",
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert ok.status_code == 200 and ok.json() == [[5.0]]
