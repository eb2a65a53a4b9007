"""Multi-model management API abuse: model names and urls that must be refused, on real MMS.

A refused registration gets 400 (bad name, control characters) or 403 (a url outside
$SAGEMAKER_BASE_DIR/models once symlinks and ".." are resolved) with a one-line JSON reason,
loads nothing, and runs no code from the refused directory.
"""

import json
import os

import pytest
import requests

from server_harness import Server, running_server, write_model

pytestmark = pytest.mark.timeout(240)

# Importing this module leaves a marker file: the test can tell whether a refused model's code ran.
MARKED = """
import os

open(os.path.join(os.path.dirname(__file__), "imported"), "w").close()


def model_fn(model_dir):
    return 1


def transform_fn(model, body, content_type, accept):
    return "[1]", "application/json"
"""


@pytest.fixture(scope="module")
def mme():
    dirs = {}

    def prepare(server):
        dirs["good"] = write_model(server.base_dir, {"inference.py": MARKED}, name="good")
        elsewhere = os.path.join(server.root, "elsewhere")
        dirs["elsewhere"] = write_model(elsewhere, {"inference.py": MARKED}, name="evil")
        os.symlink(
            os.path.dirname(dirs["elsewhere"]), os.path.join(server.base_dir, "models", "link")
        )

    env = {"SAGEMAKER_MULTI_MODEL": "true"}
    with running_server(env, prepare, ready=Server.wait_for_ping) as server:
        yield server, dirs


def register(server, name, url, as_query=False):
    if as_query:
        return requests.post(
            server.url + "/models", params={"model_name": name, "url": url}, timeout=120
        )
    return requests.post(
        server.url + "/models",
        data=json.dumps({"model_name": name, "url": url}),
        headers={"Content-Type": "application/json"},
        timeout=120,
    )


def loaded_names(server):
    listing = requests.get(server.url + "/models", timeout=10).json()["models"]
    return sorted(item["modelName"] for item in listing)


def assert_refused(response, status, *words):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text.count("\n") <= 1
    message = response.json()["message"]
    for word in words:
        assert word in message, message


BAD_NAMES = [
    pytest.param("../../evil", id="dot-dot-slash"),
    pytest.param("a/b", id="slash"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\x07b\nc", id="control"),
    pytest.param("m;rm -rf x", id="semicolon"),
    pytest.param("$(id)", id="command-substitution"),
    pytest.param("m`id`", id="backtick"),
    pytest.param("m|x&y", id="pipe-ampersand"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("", id="empty"),
    pytest.param("m" * 256, id="too-long"),
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_model_name_is_refused_with_400(mme, name):
    server, dirs = mme
    response = register(server, name, dirs["good"])
    assert_refused(response, 400, "model_name")
    assert loaded_names(server) == []


def test_bad_model_name_in_query_string_is_refused(mme):
    server, dirs = mme
    response = register(server, "../../evil", dirs["good"], as_query=True)
    assert_refused(response, 400, "model_name")
    assert loaded_names(server) == []


def test_url_outside_models_directory_is_refused_and_its_code_never_runs(mme):
    server, dirs = mme
    outside = dirs["elsewhere"]
    models = os.path.join(server.base_dir, "models")
    cases = [
        outside,
        os.path.join(models, "..", "..", "elsewhere", "models", "evil", "model"),
        os.path.join(models, "link", "model"),  # a symlink inside that leads outside
        "/etc",
        models,  # the directory itself is not a model
        "http://127.0.0.1:9/model.mar",
    ]
    for url in cases:
        response = register(server, "evil", url)
        assert_refused(response, 403, "models directory")
    response = register(server, "evil", "/opt/ml/models/x\x00/model")
    assert_refused(response, 400, "control character")
    assert loaded_names(server) == []
    assert not os.path.exists(os.path.join(outside, "code", "imported"))


def test_plain_name_and_url_inside_models_directory_still_load(mme):
    server, dirs = mme
    response = register(server, "good-model_1.0", dirs["good"])
    assert response.status_code == 200, response.text
    try:
        invoked = requests.post(
            server.url + "/models/good-model_1.0/invoke",
            data=b"[1]",
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        assert invoked.status_code == 200, invoked.text
    finally:
        deleted = requests.delete(server.url + "/models/good-model_1.0", timeout=60)
    assert deleted.status_code == 200, deleted.text
    assert loaded_names(server) == []
