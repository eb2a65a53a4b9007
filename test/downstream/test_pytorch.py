"""sagemaker-pytorch-inference 2.0.25's handler service on this package's start_model_server.

The toolkit is installed unmodified (its sdist's bundled sagemaker_inference removed, so this
repository's package is the one imported); a TorchScript model is built in the test and every
answer is compared with torch's own forward pass.
"""

import io
import json
import os

import numpy as np
import pytest
import requests
from conftest import assert_package_under_test, environment_python, run_json, start

pytestmark = [pytest.mark.downstream, pytest.mark.timeout(1500)]

HANDLER = "sagemaker_pytorch_serving_container.handler_service"
SERVE = (
    "import sys\n"
    "from sagemaker_inference import model_server\n"
    "sys.exit(model_server.start_model_server(handler_service={!r}))\n".format(HANDLER)
)


@pytest.fixture(scope="module")
def torch_python():
    return environment_python("torch")


@pytest.fixture(scope="module")
def torch_models(torch_python, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("torch-models"))
    return out, run_json(torch_python, "build_models.py", "torch", out)


def serve(servers, workdir, python, model_dir):
    return start(servers, os.path.join(workdir, "server"), python, SERVE, model_dir=model_dir)


def post(server, body, content_type, accept):
    return requests.post(
        server.url + "/invocations",
        data=body,
        headers={"Content-Type": content_type, "Accept": accept},
        timeout=60,
    )


def test_the_package_under_test_is_imported(torch_python):
    assert_package_under_test(
        torch_python,
        ["sagemaker_pytorch_serving_container", "sagemaker_huggingface_inference_toolkit"],
        [
            "sagemaker_inference.transformer:Transformer",
            "sagemaker_inference.default_handler_service:DefaultHandlerService",
            "sagemaker_inference.utils:parse_accept",
            "sagemaker_inference.model_server:_create_model_server_config_file",
        ],
    )


def test_torchscript_model_with_the_toolkits_defaults(servers, workdir, torch_python, torch_models):
    out, expected = torch_models
    server = serve(servers, workdir, torch_python, os.path.join(out, "default", "model"))
    rows = expected["rows"]
    server.wait_for_prediction(body=json.dumps(rows).encode())

    answer = post(server, json.dumps(rows), "application/json", "application/json")
    assert answer.status_code == 200, answer.text
    assert np.allclose(answer.json(), expected["output"], rtol=1e-6, atol=1e-7)

    csv_body = "\n".join(",".join(repr(v) for v in row) for row in rows)
    answer = post(server, csv_body, "text/csv", "text/csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/csv")
    served = np.loadtxt(io.StringIO(answer.text), delimiter=",", ndmin=2)
    assert np.allclose(served, expected["output"], rtol=1e-6, atol=1e-7)

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(rows, dtype=np.float32))
    answer = post(server, buffer.getvalue(), "application/x-npy", "application/x-npy")
    assert answer.status_code == 200, answer.text
    served = np.load(io.BytesIO(answer.content))
    assert served.shape == (3, 3)
    assert np.allclose(served, expected["output"], rtol=1e-6, atol=1e-7)

    # the toolkit's output_fn walks the Accept list for a type it encodes, as on 1.10.1
    answer = post(server, json.dumps(rows), "application/json", "image/png, application/json")
    assert answer.status_code == 200, answer.text
    # (its output_fn returns a bare body, so the Content-Type is the negotiated accept, as on
    # 1.10.1, which sent the header as given)
    assert np.allclose(json.loads(answer.content), expected["output"], rtol=1e-6, atol=1e-7)

    # the toolkit's own UnsupportedFormatError for an Accept it cannot encode is a 415
    answer = post(server, json.dumps(rows), "application/json", "image/png")
    assert answer.status_code == 415, answer.text
    assert "image/png" in answer.text
    assert server.stop() == 0


def test_user_model_fn_and_predict_fn(servers, workdir, torch_python, torch_models):
    out, expected = torch_models
    server = serve(servers, workdir, torch_python, os.path.join(out, "user", "model"))
    rows = expected["rows"]
    server.wait_for_prediction(body=json.dumps(rows).encode())
    answer = post(server, json.dumps(rows), "application/json", "application/json")
    assert answer.status_code == 200, answer.text
    served = np.asarray(answer.json())
    assert np.allclose(served, expected["user_output"], rtol=1e-6, atol=1e-7)
    assert np.allclose(served.sum(axis=1), 1.0)
    assert server.stop() == 0
