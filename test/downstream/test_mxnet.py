"""sagemaker-mxnet-inference 1.5.5's own ``serving.main()`` on this package (mxnet 1.9.1).

Its ``main()`` calls this package's ``start_model_server`` with the toolkit's handler service.
A Module checkpoint (served by the toolkit's defaults, whose ``default_model_fn(model_dir,
preferred_batch_size=1)`` must keep its batch size) and a Gluon block (a user ``model_fn``) are
built in the test; answers are compared with MXNet's own ``Module.predict`` and forward pass.
"""

import io
import json
import os

import numpy as np
import pytest
import requests
from conftest import assert_package_under_test, environment_python, run_json, start

pytestmark = [pytest.mark.downstream, pytest.mark.timeout(1500)]

SERVE = "from sagemaker_mxnet_serving_container import serving\nserving.main()\n"


@pytest.fixture(scope="module")
def mxnet_python():
    return environment_python("mxnet")


@pytest.fixture(scope="module")
def mxnet_models(mxnet_python, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("mxnet-models"))
    return out, run_json(mxnet_python, "build_models.py", "mxnet", out)


def post(server, body, content_type, accept="application/json"):
    return requests.post(
        server.url + "/invocations",
        data=body,
        headers={"Content-Type": content_type, "Accept": accept},
        timeout=60,
    )


def close(served, expected):
    return np.allclose(np.asarray(served, dtype=float), expected, rtol=1e-5, atol=1e-6)


def test_the_package_under_test_is_imported(mxnet_python):
    assert_package_under_test(
        mxnet_python,
        ["sagemaker_mxnet_serving_container"],
        [
            "sagemaker_inference.model_server:start_model_server",
            "sagemaker_inference.transformer:Transformer",
            "sagemaker_inference.decoder:decode",
        ],
    )


def test_module_checkpoint_with_the_toolkits_defaults(servers, workdir, mxnet_python, mxnet_models):
    out, expected = mxnet_models
    server = start(
        servers,
        os.path.join(workdir, "module"),
        mxnet_python,
        SERVE,
        model_dir=os.path.join(out, "module", "model"),
    )
    rows = expected["rows"]
    server.wait_for_prediction(body=json.dumps(rows).encode())

    answer = post(server, json.dumps(rows), "application/json")
    assert answer.status_code == 200, answer.text
    assert close(answer.json(), expected["module_output"])

    csv_body = "\n".join(",".join(repr(v) for v in row) for row in rows)
    answer = post(server, csv_body, "text/csv")
    assert answer.status_code == 200, answer.text
    assert close(answer.json(), expected["module_output"])

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(rows, dtype=np.float32))
    answer = post(server, buffer.getvalue(), "application/x-npy", "application/x-npy")
    assert answer.status_code == 200, answer.text
    assert close(np.load(io.BytesIO(answer.content)), expected["module_output"])
    assert server.stop() == 0


def test_gluon_block_with_a_user_model_fn(servers, workdir, mxnet_python, mxnet_models):
    out, expected = mxnet_models
    server = start(
        servers,
        os.path.join(workdir, "gluon"),
        mxnet_python,
        SERVE,
        model_dir=os.path.join(out, "gluon", "model"),
    )
    rows = expected["rows"]
    server.wait_for_prediction(body=json.dumps(rows).encode())
    answer = post(server, json.dumps(rows), "application/json")
    assert answer.status_code == 200, answer.text
    assert close(answer.json(), expected["gluon_output"])

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(rows, dtype=np.float32))
    answer = post(server, buffer.getvalue(), "application/x-npy", "application/x-npy")
    assert answer.status_code == 200, answer.text
    assert close(np.load(io.BytesIO(answer.content)), expected["gluon_output"])
    # the Gluon handler decodes JSON and NPY only: CSV is the client's error
    assert post(server, "1,2,3,4", "text/csv").status_code == 415
    assert server.stop() == 0
