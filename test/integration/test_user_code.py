"""User hooks: input/predict/output with context, transform_fn, SAGEMAKER_PROGRAM, requirements."""

import base64
import hashlib
import json
import os
import zipfile

import pytest
import requests

from server_harness import module_server, write_model, Server

pytestmark = pytest.mark.timeout(180)

HOOKS_INFERENCE = """
import json

import numpy as np


def _headers(context):
    props = context.request_processor[0].get_request_properties()
    return {str(k).lower(): v for k, v in props.items()}


def model_fn(model_dir):
    return np.load(model_dir + "/weights.npy")


def input_fn(body, content_type, context):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    return {"values": json.loads(body), "content_type": content_type}


def predict_fn(data, model, context):
    result = np.asarray(data["values"], dtype=float) @ model
    return {"result": result.tolist(), "content_type": data["content_type"],
            "attributes": _headers(context).get("x-amzn-sagemaker-custom-attributes")}


def output_fn(prediction, accept, context):
    prediction["accept"] = accept
    return json.dumps(prediction), "application/vnd.test+json"
"""

TRANSFORM_ENTRY = """
import json

import smi_localpkg


def model_fn(model_dir):
    return "model-from-" + model_dir.rsplit("/", 1)[-1]


def transform_fn(model, body, content_type, accept):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    return json.dumps({"model": model, "echo": body, "package": smi_localpkg.VALUE}), accept
"""


@pytest.fixture(scope="module")
def hooks_server():
    yield from module_server({"inference.py": HOOKS_INFERENCE})


def test_custom_hooks_with_context(hooks_server):
    response = requests.post(
        hooks_server.url + "/invocations",
        data=b"[[1, 2]]",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/vnd.test+json",
            "X-Amzn-SageMaker-Custom-Attributes": "trace=abc,variant=1",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/vnd.test+json")
    payload = response.json()
    assert payload["result"] == [[5.0]]
    assert payload["content_type"].startswith("application/json")
    assert payload["accept"] == "application/vnd.test+json"
    assert payload["attributes"] == "trace=abc,variant=1"


def test_custom_attributes_absent(hooks_server):
    response = requests.post(
        hooks_server.url + "/invocations",
        data=b"[[1, 1]]",
        headers={"Content-Type": "application/json", "Accept": "application/vnd.test+json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["attributes"] is None


def _write_wheel(directory):
    """A dependency-free wheel pip can install without any index."""
    name, version = "smi_localpkg", "0.1"
    files = {
        "smi_localpkg/__init__.py": b"VALUE = 'installed-from-requirements'\n",
        "{}-{}.dist-info/METADATA".format(name, version): (
            "Metadata-Version: 2.1\nName: smi-localpkg\nVersion: {}\n".format(version).encode()
        ),
        "{}-{}.dist-info/WHEEL".format(name, version): (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_name = "{}-{}.dist-info/RECORD".format(name, version)
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append("{},sha256={},{}".format(path, digest, len(data)))
    lines.append("{},,".format(record_name))
    files[record_name] = ("\n".join(lines) + "\n").encode()
    path = os.path.join(directory, "{}-{}-py3-none-any.whl".format(name, version))
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def test_transform_fn_program_and_requirements(make_server, timings):
    server: Server = None
    site = None
    server = make_server(
        env={
            "SAGEMAKER_PROGRAM": "entry_point.py",
            "PIP_NO_INDEX": "1",
        }
    )
    site = os.path.join(server.root, "site")
    server.extra_env["PIP_TARGET"] = site
    server.extra_env["PYTHONPATH"] = site
    model_dir = write_model(
        server.base_dir,
        {
            "entry_point.py": TRANSFORM_ENTRY,
            "inference.py": "raise RuntimeError('inference.py must not be imported')\n",
        },
    )
    wheel = _write_wheel(os.path.join(model_dir, "code"))
    with open(os.path.join(model_dir, "code", "requirements.txt"), "w") as handle:
        handle.write("./{}\n".format(os.path.basename(wheel)))
    server.start()
    server.wait_for_prediction(body=b"ping")
    timings["single model with requirements.txt"] = server.first_prediction_seconds
    response = requests.post(
        server.url + "/invocations",
        data=b'{"x": 1}',
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert json.loads(response.text) == {
        "model": "model-from-model",
        "echo": '{"x": 1}',
        "package": "installed-from-requirements",
    }
    assert os.path.isdir(os.path.join(site, "smi_localpkg"))
    assert server.stop() == 0
