"""A real MMS serving a tiny numpy model, for the hostile-input and soak tests.

The default model (``INFERENCE_SOURCE``) multiplies its input by the largest of the weights that
server_harness.py's ``write_model`` saves (``FACTOR``, 2.0), through the library's default handler
service, so every request runs the real decoder, transformer and encoder.

``module_server()`` starts it with server_harness.py's ``module_server`` (start_model_server in a
subprocess, on 127.0.0.1, on a port below 32767); callers may pass their own inference.py source.
"""

import http.client
import json
import os
import textwrap
import time
from typing import Dict, Iterator, List, Optional

import numpy as np

import server_harness

HOST = "127.0.0.1"
FACTOR = float(np.abs(server_harness.WEIGHTS).max())

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

VALID_BODY = b"[[1, 2, 3], [4.5, 5, 6]]"
VALID_ANSWER = (np.array(json.loads(VALID_BODY)) * FACTOR).tolist()


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


def wait_for_worker(port: int, timeout: float = 60) -> None:
    """Wait until the model answers again (MMS replaces a dead worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers_correctly(port):
            return
        time.sleep(0.25)


def module_server(
    env: Dict[str, str], source: str = INFERENCE_SOURCE, scratch_file: Optional[str] = None
) -> Iterator[server_harness.Server]:
    """Yield one running server whose code/inference.py is ``source``, for a test module;
    ``scratch_file`` (a path the tests may create) is removed afterwards."""
    try:
        yield from server_harness.module_server({"inference.py": source}, env=env)
    finally:
        if scratch_file is not None and os.path.exists(scratch_file):
            os.remove(scratch_file)


def server_pids(server: server_harness.Server) -> List[int]:
    """Every live process of the server: the entry point, Java and all Python workers."""
    pids = {proc.pid for proc in server_harness.leftover_processes(server.marker)}
    if server.process is not None and server.process.poll() is None:
        pids.add(server.process.pid)
    return sorted(pids)
