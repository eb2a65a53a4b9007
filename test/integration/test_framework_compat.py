"""The library used the way framework containers (PyTorch, MXNet, Hugging Face) use it.

A made-up framework, "acme", is written to a temporary package:
- ``AcmeInferenceHandler`` subclasses DefaultInferenceHandler with framework defaults (how an
  Acme model is loaded, predicted with and serialised);
- ``AcmeTransformer`` subclasses Transformer and overrides hook binding, so that a user module
  may also define the framework's own hook name ``acme_predict``;
- ``acme_framework.handler_service`` wraps both in a DefaultHandlerService subclass, the module a
  container hands to ``start_model_server``.
Then it is served for real: through ``start_model_server(handler_service=...)``, and through a
custom start script that calls the model_server private helpers in the order the Hugging Face
container does.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import textwrap

import pytest
import requests

from sagemaker_inference import mms_config
from server_harness import Server
from usability_helpers import APPLE, FRUIT_MODEL, LEMON

pytestmark = pytest.mark.timeout(300)

HANDLER_MODULE = "acme_framework.handler_service"

PACKAGE = {
    "acme_framework/__init__.py": '"""A pretend framework whose models are softmax classifiers."""',
    "acme_framework/inference_handler.py": """
        import json
        import os

        import numpy as np

        from sagemaker_inference import encoder
        from sagemaker_inference.default_inference_handler import DefaultInferenceHandler


        class AcmeInferenceHandler(DefaultInferenceHandler):
            \"\"\"Framework defaults: an Acme model is model.npz holding a softmax classifier.\"\"\"

            def default_model_fn(self, model_dir, context=None):
                with np.load(os.path.join(model_dir, "model.npz")) as artifact:
                    return {name: artifact[name] for name in artifact.files}

            def default_predict_fn(self, data, model, context=None):
                rows = np.atleast_2d(np.asarray(data, dtype=float))
                logits = (rows - model["mean"]) / model["scale"] @ model["weights"] + model["bias"]
                return [str(model["classes"][i]) for i in logits.argmax(axis=1)]

            def default_output_fn(self, prediction, accept, context=None):
                if accept == "application/json":
                    return json.dumps({"framework": "acme", "labels": prediction}), accept
                return encoder.encode(prediction, accept), accept
        """,
    "acme_framework/transformer.py": """
        import sys

        from sagemaker_inference.transformer import Transformer


        class AcmeTransformer(Transformer):
            \"\"\"Also binds ``acme_predict(data, model)`` from the user module as predict_fn.\"\"\"

            def _validate_user_module_and_set_functions(self):
                super()._validate_user_module_and_set_functions()
                user_module = sys.modules.get(self._environment.module_name)
                acme_predict = getattr(user_module, "acme_predict", None)
                if acme_predict is not None:
                    self._predict_fn = acme_predict
        """,
    "acme_framework/handler_service.py": """
        from sagemaker_inference.default_handler_service import DefaultHandlerService

        from acme_framework.inference_handler import AcmeInferenceHandler
        from acme_framework.transformer import AcmeTransformer


        class HandlerService(DefaultHandlerService):
            \"\"\"The handler service MMS loads for Acme models.\"\"\"

            def __init__(self):
                transformer = AcmeTransformer(default_inference_handler=AcmeInferenceHandler())
                super().__init__(transformer=transformer)
        """,
}

# The user's inference.py for the second model: only the framework's own hook name.
ACME_USER_CODE = """
def acme_predict(data, model):
    return ["user-" + str(model["classes"][int(row[0] > 150)]) for row in data]
"""

# A container's own entrypoint in the Hugging Face container's order of model_server helpers.
HF_STYLE_START = """
import os
import subprocess
import sys

from sagemaker_inference import environment
from sagemaker_inference.model_server import (
    DEFAULT_MMS_LOG_FILE,
    DEFAULT_MMS_MODEL_NAME,
    ENABLE_MULTI_MODEL,
    MMS_CONFIG_FILE,
    REQUIREMENTS_PATH,
    _add_sigchild_handler,
    _add_sigterm_handler,
    _create_model_server_config_file,
    _install_requirements,
    _retry_retrieve_mms_server_process,
    _set_python_path,
)

HANDLER_SERVICE = "acme_framework.handler_service"


def start():
    if ENABLE_MULTI_MODEL:
        os.environ.setdefault("SAGEMAKER_HANDLER", HANDLER_SERVICE)
    _set_python_path()
    env = environment.Environment()
    _create_model_server_config_file(env, HANDLER_SERVICE)
    if os.path.exists(REQUIREMENTS_PATH):
        _install_requirements()
    launcher = os.path.join(os.path.dirname(sys.executable), "multi-model-server")
    command = [
        launcher if os.path.exists(launcher) else "multi-model-server",
        "--start",
        "--model-store",
        "/",
        "--mms-config",
        MMS_CONFIG_FILE,
        "--log-config",
        DEFAULT_MMS_LOG_FILE,
    ]
    if not ENABLE_MULTI_MODEL:
        command += ["--models", "{}={}".format(DEFAULT_MMS_MODEL_NAME, environment.model_dir)]
    subprocess.Popen(command)
    mms_process = _retry_retrieve_mms_server_process(env.startup_timeout)
    _add_sigterm_handler(mms_process)
    _add_sigchild_handler()
    mms_process.wait()


if __name__ == "__main__":
    start()
"""


# The Hugging Face container 2.6.0's HF_MODEL_ID path: the model is fetched into a store below the
# working directory, laid out with model-archiver, and MMS is started with --model-store and no
# --models, so the configuration file alone must make MMS load it.
HF_HUB_STYLE_START = """
import os
import subprocess
import sys

from sagemaker_inference import environment
from sagemaker_inference.model_server import (
    DEFAULT_MMS_LOG_FILE,
    MMS_CONFIG_FILE,
    _add_sigchild_handler,
    _add_sigterm_handler,
    _create_model_server_config_file,
    _retry_retrieve_mms_server_process,
    _set_python_path,
)

HANDLER_SERVICE = "acme_framework.handler_service"
STORE = os.path.join(os.getcwd(), ".sagemaker/mms/models")


def tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else name


def start(storage_dir):
    subprocess.check_call(
        [
            tool("model-archiver"),
            "--model-name",
            os.path.basename(storage_dir),
            "--handler",
            HANDLER_SERVICE,
            "--model-path",
            storage_dir,
            "--export-path",
            STORE,
            "--archive-format",
            "no-archive",
            "--f",
        ]
    )
    _set_python_path()
    env = environment.Environment()
    _create_model_server_config_file(env, HANDLER_SERVICE)
    subprocess.Popen(
        [
            tool("multi-model-server"),
            "--start",
            "--model-store",
            STORE,
            "--mms-config",
            MMS_CONFIG_FILE,
            "--log-config",
            DEFAULT_MMS_LOG_FILE,
        ]
    )
    mms_process = _retry_retrieve_mms_server_process(env.startup_timeout)
    _add_sigterm_handler(mms_process)
    _add_sigchild_handler()
    mms_process.wait()


if __name__ == "__main__":
    start(sys.argv[1])
"""


@pytest.fixture(scope="module")
def framework_dir():
    directory = tempfile.mkdtemp(prefix="smi-acme-")
    for relative, text in PACKAGE.items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(textwrap.dedent(text).lstrip())
    with open(os.path.join(directory, "hf_style_start.py"), "w") as handle:
        handle.write(HF_STYLE_START.lstrip())
    with open(os.path.join(directory, "hf_hub_style_start.py"), "w") as handle:
        handle.write(HF_HUB_STYLE_START.lstrip())
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


class HFStyleServer(Server):
    """The harness server, started by the container-style script instead."""

    def __init__(self, root, script, env, args=()):
        super().__init__(root, env=env)
        self.script = script
        self.args = list(args)

    def command(self):
        return [sys.executable, self.script] + self.args

    def stop(self, signum=signal.SIGTERM):
        # The script installs its SIGTERM handler only once it has found the Java process,
        # polling once a second; MMS may answer before that. A SIGTERM before it would end the
        # script at once (as it would in the container): wait for the handler to be in place.
        self.wait_until(lambda: catches(self.process.pid, signal.SIGTERM), timeout=30)
        return super().stop(signum)


def catches(pid, signum):
    """Whether process ``pid`` has a handler installed for ``signum`` (Linux: SigCgt)."""
    with open("/proc/{}/status".format(pid)) as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def artifact_only(base_dir, user_code=None):
    """The fruit artifact (model.npz) without the example's inference.py."""
    model_dir = os.path.join(base_dir, "model")
    os.makedirs(model_dir)
    shutil.copy(os.path.join(FRUIT_MODEL, "model.npz"), model_dir)
    if user_code is not None:
        os.makedirs(os.path.join(model_dir, "code"))
        with open(os.path.join(model_dir, "code", "inference.py"), "w") as handle:
            handle.write(textwrap.dedent(user_code))
    return model_dir


def predict(server, rows, accept=None):
    headers = {"Content-Type": "application/json"}
    if accept:
        headers["Accept"] = accept
    return requests.post(
        server.url + "/invocations", data=json.dumps(rows), headers=headers, timeout=30
    )


def test_framework_handler_service_through_start_model_server(make_server, framework_dir):
    defaults = make_server(env={"PYTHONPATH": framework_dir}, handler=HANDLER_MODULE)
    artifact_only(defaults.base_dir)
    user = make_server(env={"PYTHONPATH": framework_dir}, handler=HANDLER_MODULE)
    artifact_only(user.base_dir, ACME_USER_CODE)
    defaults.start()
    user.start()
    body = json.dumps([APPLE]).encode()
    defaults.wait_for_prediction(body=body)
    user.wait_for_prediction(body=body)

    # framework defaults everywhere: model_fn, predict_fn and output_fn come from Acme
    answer = predict(defaults, [APPLE, LEMON])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"framework": "acme", "labels": ["apple", "lemon"]}
    # the library's input decoding still applies under framework defaults
    csv = requests.post(
        defaults.url + "/invocations",
        data="105,5.4,2.5,0.5",
        headers={"Content-Type": "text/csv"},
        timeout=30,
    )
    assert csv.json()["labels"] == ["lemon"]
    # the transformer subclass bound the user's acme_predict as the predict hook
    answer = predict(user, [APPLE, LEMON])
    assert answer.json() == {"framework": "acme", "labels": ["user-orange", "user-apple"]}
    assert defaults.stop() == 0
    assert user.stop() == 0


def test_container_style_start_with_the_private_helpers(server_root, framework_dir):
    root = os.path.join(server_root, "hf")
    os.makedirs(root)
    server = HFStyleServer(
        root,
        os.path.join(framework_dir, "hf_style_start.py"),
        env={"PYTHONPATH": framework_dir, "SAGEMAKER_STARTUP_TIMEOUT": "60"},
    )
    artifact_only(server.base_dir)
    server.start()
    try:
        server.wait_for_prediction(body=json.dumps([APPLE]).encode())
        answer = predict(server, [LEMON])
        assert answer.json() == {"framework": "acme", "labels": ["lemon"]}
        assert predict(server, [[1, 2]]).status_code in (400, 500)
        assert predict(server, [APPLE]).status_code == 200
        code = server.stop(signal.SIGTERM)
        assert code == 0, server.log()[-4000:]
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill_everything()


def test_hugging_face_hub_style_start_without_models_argument(server_root, framework_dir):
    # HF_MODEL_ID: MMS gets --model-store and no --models; 1.10.1's config (load_models=ALL)
    # makes it load the store's model, so /ping is 200 and /invocations needs no model_name.
    root = os.path.join(server_root, "hf-hub")
    storage = os.path.join(root, ".sagemaker", "mms", "models", "acme-tiny-classifier")
    os.makedirs(storage)
    shutil.copy(os.path.join(FRUIT_MODEL, "model.npz"), storage)
    server = HFStyleServer(
        root,
        os.path.join(framework_dir, "hf_hub_style_start.py"),
        env={
            "PYTHONPATH": framework_dir,
            "SAGEMAKER_STARTUP_TIMEOUT": "60",
            "MMS_DEFAULT_WORKERS_PER_MODEL": "2",
        },
        args=[storage],
    )
    server.start()
    try:
        server.wait_for_ping()
        assert requests.get(server.url + "/ping", timeout=10).status_code == 200
        answer = predict(server, [APPLE, LEMON])
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"framework": "acme", "labels": ["apple", "lemon"]}
        # enable_envvars_config=true: MMS_* variables configure MMS, as with 1.10.1
        properties = mms_config.read_properties(server.environment()["SAGEMAKER_MMS_CONFIG_FILE"])
        described = requests.get(
            properties["management_address"] + "/models/acme-tiny-classifier", timeout=10
        ).json()
        described = described[0] if isinstance(described, list) else described
        assert len(described["workers"]) == 2, described
        code = server.stop(signal.SIGTERM)
        assert code == 0, server.log()[-4000:]
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill_everything()
