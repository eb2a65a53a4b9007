"""sagemaker-huggingface-inference-toolkit 2.6.0's own ``serving.main()`` on this package.

The toolkit starts MMS itself (``multi-model-server --start`` with this package's
``_create_model_server_config_file``) and serves a tiny random BERT classifier with a tokenizer
built from a small vocabulary in the test (no hub access). Answers are compared with
transformers' own pipeline, single-model and multi-model.
"""

import json
import os

import pytest
import requests
from conftest import assert_package_under_test, environment_python, run_json, start

pytestmark = [pytest.mark.downstream, pytest.mark.timeout(1500)]

SERVE = "from sagemaker_huggingface_inference_toolkit import serving\nserving.main()\n"
HF_ENV = {"HF_TASK": "text-classification", "SAGEMAKER_STARTUP_TIMEOUT": "120"}


@pytest.fixture(scope="module")
def torch_python():
    return environment_python("torch")


@pytest.fixture(scope="module")
def bert(torch_python, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("hf-models"))
    return run_json(torch_python, "build_models.py", "hf", out)


def assert_same_classification(served, expected):
    assert [item["label"] for item in served] == [item["label"] for item in expected]
    for got, want in zip(served, expected):
        assert abs(got["score"] - want["score"]) < 1e-5, (served, expected)


def classify(url, inputs):
    return requests.post(
        url,
        data=json.dumps({"inputs": inputs}),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=60,
    )


def test_the_package_under_test_is_imported(torch_python):
    assert_package_under_test(
        torch_python,
        ["sagemaker_pytorch_serving_container", "sagemaker_huggingface_inference_toolkit"],
        [
            "sagemaker_inference.model_server:_create_model_server_config_file",
            "sagemaker_inference.model_server:_retry_retrieve_mms_server_process",
            "sagemaker_inference.model_server:ENABLE_MULTI_MODEL",
            "sagemaker_inference.decoder:_npy_to_numpy",
        ],
    )


def test_single_model_serving_main(servers, workdir, torch_python, bert):
    server = start(
        servers,
        os.path.join(workdir, "single"),
        torch_python,
        SERVE,
        env=HF_ENV,
        model_dir=bert["single_model_dir"],
    )
    server.wait_for_prediction(body=json.dumps({"inputs": bert["texts"][0]}).encode())
    assert requests.get(server.url + "/ping", timeout=10).status_code == 200

    answer = classify(server.url + "/invocations", bert["texts"][0])
    assert answer.status_code == 200, answer.text
    assert_same_classification(answer.json(), bert["pipeline_one"])

    answer = classify(server.url + "/invocations", bert["texts"])
    assert answer.status_code == 200, answer.text
    assert_same_classification(answer.json(), bert["pipeline_many"])

    # a body the toolkit's decoder cannot read is the client's error
    bad = requests.post(
        server.url + "/invocations",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert 400 <= bad.status_code < 500, (bad.status_code, bad.text)
    assert server.stop() == 0


def test_multi_model_serving_main(servers, workdir, torch_python, bert):
    server = start(
        servers,
        os.path.join(workdir, "multi"),
        torch_python,
        SERVE,
        env=dict(HF_ENV, SAGEMAKER_MULTI_MODEL="true"),
        models={"tiny-bert": bert["multi_model_dir"]},
    )
    server.wait_for_ping()
    assert requests.get(server.url + "/models", timeout=10).json()["models"] == []
    url = os.path.join(server.base_dir, "models", "tiny-bert")
    loaded = requests.post(
        server.url + "/models",
        data=json.dumps({"model_name": "tiny-bert", "url": url}),
        headers={"Content-Type": "application/json"},
        timeout=180,
    )
    assert loaded.status_code == 200, loaded.text
    names = [item["modelName"] for item in requests.get(server.url + "/models").json()["models"]]
    assert names == ["tiny-bert"]

    answer = classify(server.url + "/models/tiny-bert/invoke", bert["texts"])
    assert answer.status_code == 200, answer.text
    assert_same_classification(answer.json(), bert["pipeline_many"])
    assert requests.delete(server.url + "/models/tiny-bert", timeout=60).status_code == 200
    assert classify(server.url + "/models/tiny-bert/invoke", "x").status_code == 404
    assert server.stop() == 0
