"""sagemaker_inference.testing.LocalModel answers exactly like the real server.

The same requests go to a real MMS (through start_model_server, over HTTP) and to a LocalModel
of the same model directory; (status, body, content_type) must be identical. Three models: the
example fruit classifier (user input/predict/output hooks), the integration tests' basic
model (the library's default codecs and negotiation), and a raw handler service that breaks
MMS's rules (the front end's own 503 answers).
"""

import http.client
import io
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import pytest

from server_harness import BASIC_INFERENCE, Server, write_model
from sagemaker_inference.testing import LocalModel
from usability_helpers import APPLE, FRUIT_MODEL, LEMON

pytestmark = pytest.mark.timeout(300)


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


JSON = {"Content-Type": "application/json"}

FRUIT_CASES = [
    ("json", json.dumps([APPLE, LEMON]).encode(), JSON),
    ("json one row", json.dumps(APPLE).encode(), JSON),
    (
        "json charset",
        json.dumps([APPLE]).encode(),
        {"Content-Type": "application/json; charset=utf-8"},
    ),
    (
        "csv to csv",
        b"182,7.4,12.9,0.2\n105,5.4,2.5,0.5",
        {"Content-Type": "text/csv", "Accept": "text/csv"},
    ),
    ("npy", npy([LEMON]), {"Content-Type": "application/x-npy"}),
    (
        "accept ranked",
        json.dumps([APPLE]).encode(),
        {"Content-Type": "application/json", "Accept": "text/csv;q=0.5, application/json"},
    ),
    (
        "accept any",
        json.dumps([APPLE]).encode(),
        {"Content-Type": "application/json", "Accept": "*/*"},
    ),
    (
        "accept refused",
        json.dumps([APPLE]).encode(),
        {"Content-Type": "application/json", "Accept": "image/png"},
    ),
    ("bad shape", b"[[1, 2]]", JSON),
    ("malformed json", b"[[1, 2", JSON),
    ("unsupported type", b"\x89PNG\r\n", {"Content-Type": "image/png"}),
    (
        "custom attributes",
        json.dumps([APPLE]).encode(),
        {"Content-Type": "application/json", "X-Amzn-SageMaker-Custom-Attributes": "trace=1"},
    ),
]

BASIC_CASES = [
    ("json", b"[[1, 2], [3, 4]]", JSON),
    ("json upper-case type", b"[[1, 2]]", {"Content-Type": "Application/JSON"}),
    ("csv in json out", b"1,2\n3,4", {"Content-Type": "text/csv"}),
    ("csv out", b"[[1, 2], [3, 4]]", {"Content-Type": "application/json", "Accept": "text/csv"}),
    (
        "npy both ways",
        npy([[1.5, 2.5]]),
        {"Content-Type": "application/x-npy", "Accept": "application/x-npy"},
    ),
    (
        "jsonlines",
        b"[1, 2]\n[3, 4]\n",
        {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"},
    ),
    ("accept wildcard type", b"[[1, 2]]", {"Content-Type": "application/json", "Accept": "text/*"}),
    ("not acceptable", b"[[1, 2]]", {"Content-Type": "application/json", "Accept": "image/png"}),
    ("unknown charset", b"[[1, 2]]", {"Content-Type": "application/json; charset=klingon"}),
    ("latin-1 csv", "1,2".encode("latin-1"), {"Content-Type": "text/csv; charset=latin-1"}),
    ("unsupported type", b"<a/>", {"Content-Type": "application/xml"}),
    ("malformed csv", b"1,x\n2", {"Content-Type": "text/csv"}),
    ("empty body", b"", JSON),
    ("predict raises", b"[[-999, 0]]", JSON),
    ("shape mismatch", b"[[1, 2, 3]]", JSON),
    ("no content type", b"[[1, 2]]", {}),
]


# A handler service that breaks MMS's rules, to compare the front end's own error answers.
RAW_SERVICE_MODULE = "parity_raw_service"
RAW_SERVICE = """
import numpy


def handle(data, context):
    if data is None:
        return None
    body = bytes(data[0]["body"])
    if body == b"raise":
        raise ValueError("x<y>")
    if body == b"dict":
        return [{"a": 1}]
    if body == b"numpy":
        return [numpy.float32(1.0)]
    return "not a list"
"""
RAW_CASES = [
    ("handle raises", b"raise", {"Content-Type": "text/plain"}),
    ("dict answer", b"dict", {"Content-Type": "text/plain"}),
    ("numpy answer", b"numpy", {"Content-Type": "text/plain"}),
    ("not a list", b"other", {"Content-Type": "text/plain"}),
]


def post(port, body, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type")
    finally:
        connection.close()


def local(model, body, headers):
    rest = {k: v for k, v in headers.items() if k not in ("Content-Type", "Accept")}
    return tuple(
        model.invoke(
            body,
            content_type=headers.get("Content-Type"),
            accept=headers.get("Accept"),
            headers=rest,
        )
    )


def serve_model(prepare, **server_options):
    root = tempfile.mkdtemp(prefix="smi-parity-")
    server = Server(root, **server_options)
    model_dir = prepare(server.base_dir)
    server.start()
    return root, server, model_dir


@pytest.fixture(scope="module")
def servers():
    """Both servers start together (they load in parallel) and stop at the end."""

    def fruit(base):
        target = os.path.join(base, "model")
        shutil.copytree(FRUIT_MODEL, target)
        return target

    def basic(base):
        return write_model(base, {"inference.py": BASIC_INFERENCE})

    service_dir = tempfile.mkdtemp(prefix="smi-parity-service-")
    with open(os.path.join(service_dir, RAW_SERVICE_MODULE + ".py"), "w") as handle:
        handle.write(RAW_SERVICE)

    def raw(base):
        return write_model(base, {"inference.py": "unused = True\n"})

    started = {
        "fruit": serve_model(fruit),
        "basic": serve_model(basic),
        "raw": serve_model(raw, env={"PYTHONPATH": service_dir}, handler=RAW_SERVICE_MODULE),
    }
    sys.path.insert(0, service_dir)
    try:
        started["fruit"][1].wait_for_prediction(body=json.dumps([APPLE]).encode())
        started["basic"][1].wait_for_prediction()
        started["raw"][1].wait_for_prediction(body=b"dict")
        yield {name: (server, model_dir) for name, (_, server, model_dir) in started.items()}
    finally:
        for root, server, _ in started.values():
            try:
                if server.process is not None and server.process.poll() is None:
                    assert server.stop() == 0, server.log()[-4000:]
            finally:
                shutil.rmtree(root, ignore_errors=True)
        sys.path.remove(service_dir)
        sys.modules.pop(RAW_SERVICE_MODULE, None)
        shutil.rmtree(service_dir, ignore_errors=True)


def check_parity(server, model_dir, cases, **options):
    mismatches = []
    with LocalModel(model_dir, **options) as model:
        for name, body, headers in cases:
            real = post(server.port, body, headers)
            mine = local(model, body, headers)
            if real != mine:
                mismatches.append("%s:\n  server: %r\n  local:  %r" % (name, real, mine))
    assert not mismatches, "\n".join(mismatches)


def test_fruit_model_parity(servers):
    server, model_dir = servers["fruit"]
    check_parity(server, model_dir, FRUIT_CASES)


def test_default_codecs_parity(servers):
    server, model_dir = servers["basic"]
    check_parity(server, model_dir, BASIC_CASES)


def test_mms_level_errors_parity(servers):
    server, model_dir = servers["raw"]
    check_parity(server, model_dir, RAW_CASES, handler_service=RAW_SERVICE_MODULE)


def test_statuses_cover_success_and_every_error_class(servers):
    codes = set()
    for name, cases in (("fruit", FRUIT_CASES), ("basic", BASIC_CASES), ("raw", RAW_CASES)):
        server, _ = servers[name]
        codes.update(post(server.port, body, headers)[0] for _, body, headers in cases)
    assert {200, 400, 406, 415, 500, 503} <= codes
