"""Multi-model endpoint: load two models whose code both calls itself inference.py."""

import os

import numpy as np
import pytest
import requests

from server_harness import load_model, Server, running_server, write_model

pytestmark = pytest.mark.timeout(180)

DOUBLE = """
import numpy as np


def model_fn(model_dir):
    return np.load(model_dir + "/weights.npy")


def predict_fn(data, model):
    return (np.asarray(data, dtype=float) @ model) * 2
"""

LABEL = """
import json


def model_fn(model_dir):
    return "second"


def transform_fn(model, body, content_type, accept):
    return json.dumps({"model": model}), "application/json"
"""


@pytest.fixture(scope="module")
def mme(timings):
    models = {}

    def write_models(server):
        for name, source in (("first", DOUBLE), ("second", LABEL)):
            models[name] = write_model(server.base_dir, {"inference.py": source}, name=name)

    env = {"SAGEMAKER_MULTI_MODEL": "true"}
    with running_server(env, write_models, ready=Server.wait_for_ping) as server:
        yield server, models["first"], models["second"]


def load(server, name, url):
    return load_model(server, name, url)


def invoke(server, name, body=b"[[1, 2]]"):
    return requests.post(
        server.url + "/models/{}/invoke".format(name),
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=60,
    )


def test_multi_model_flow(mme):
    server, first, second = mme
    assert requests.get(server.url + "/models", timeout=10).json()["models"] == []

    response = load(server, "first", first)
    assert response.status_code == 200, response.text
    response = load(server, "second", second)
    assert response.status_code == 200, response.text

    names = sorted(
        item["modelName"] for item in requests.get(server.url + "/models").json()["models"]
    )
    assert names == ["first", "second"]

    described = requests.get(server.url + "/models/first", timeout=10)
    assert described.status_code == 200
    assert "first" in described.text

    response = invoke(server, "first")
    assert response.status_code == 200, response.text
    assert np.asarray(response.json()).tolist() == [[10.0]]
    response = invoke(server, "second")
    assert response.status_code == 200, response.text
    assert response.json() == {"model": "second"}

    assert load(server, "first", first).status_code == 409

    assert invoke(server, "missing").status_code == 404
    assert requests.get(server.url + "/models/missing", timeout=10).status_code == 404
    assert requests.delete(server.url + "/models/missing", timeout=10).status_code == 404

    assert requests.delete(server.url + "/models/first", timeout=60).status_code == 200
    assert requests.get(server.url + "/models/first", timeout=10).status_code == 404
    assert invoke(server, "first").status_code == 404
    assert invoke(server, "second").status_code == 200


def test_unloaded_model_can_be_loaded_again(mme):
    server, first, _ = mme
    requests.delete(server.url + "/models/first", timeout=60)
    response = load(server, "first", first)
    assert response.status_code == 200, response.text
    assert invoke(server, "first").status_code == 200
    assert os.path.isdir(first)


def test_multi_model_switch_read_one_way_everywhere():
    # SAGEMAKER_MULTI_MODEL=1 is true for the Python side (model_dir under models/, MMS started
    # without a model) and for the /ping plugin alike: /ping is 200 with no model loaded.
    paths = {}

    def write_models(server):
        paths["label"] = write_model(server.base_dir, {"inference.py": LABEL}, name="label")

    env = {"SAGEMAKER_MULTI_MODEL": "1"}
    with running_server(env, write_models, ready=Server.wait_for_ping) as server:
        assert requests.get(server.url + "/ping", timeout=10).status_code == 200
        assert requests.get(server.url + "/models", timeout=10).json()["models"] == []
        assert load(server, "label", paths["label"]).status_code == 200
        answer = invoke(server, "label")
        assert answer.status_code == 200 and answer.json() == {"model": "second"}
