import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from sagemaker_inference import environment, mms_command, model_server, supervisor
from sagemaker_inference import model_server_compat


def test_compatibility_names_exist():
    for name in (
        "start_model_server",
        "DEFAULT_HANDLER_SERVICE",
        "DEFAULT_MMS_CONFIG_FILE",
        "MME_MMS_CONFIG_FILE",
        "DEFAULT_MMS_LOG_FILE",
        "DEFAULT_MMS_MODEL_NAME",
        "DEFAULT_MMS_MODEL_EXPORT_DIRECTORY",
        "ENABLE_MULTI_MODEL",
        "MMS_CONFIG_FILE",
        "MODEL_STORE",
        "REQUIREMENTS_PATH",
        "_add_sigchild_handler",
        "_add_sigterm_handler",
        "_create_model_server_config_file",
        "_generate_mms_config_properties",
        "_install_requirements",
        "_retrieve_mms_server_process",
        "_retry_retrieve_mms_server_process",
        "_set_python_path",
        "_adapt_to_mms_format",
    ):
        assert hasattr(model_server, name), name
    assert model_server.DEFAULT_HANDLER_SERVICE == "sagemaker_inference.default_handler_service"
    assert model_server.DEFAULT_MMS_MODEL_NAME == "model"
    assert model_server.REQUIREMENTS_PATH.endswith(os.path.join("code", "requirements.txt"))
    assert os.path.isfile(model_server.DEFAULT_MMS_CONFIG_FILE)
    assert os.path.isfile(model_server.MME_MMS_CONFIG_FILE)
    assert os.path.isfile(model_server.DEFAULT_MMS_LOG_FILE)


@pytest.fixture
def no_plugin(monkeypatch):
    """Neither the plugin nor the patches jar: unit tests never compile Java."""
    monkeypatch.setenv("SAGEMAKER_MMS_PLUGINS_PATH", "")
    monkeypatch.setenv("SAGEMAKER_MMS_PATCHES_PATH", "")


def properties_of(text):
    """The key=value lines of a properties text, later lines winning as in java.util.Properties."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def test_generate_single_model(monkeypatch, no_plugin, fake_env):
    monkeypatch.setattr(model_server_compat, "ENABLE_MULTI_MODEL", False)
    values = properties_of(model_server._generate_mms_config_properties(fake_env(), "a.b"))
    assert values["default_service_handler"] == "a.b"
    assert values["inference_address"] == "http://0.0.0.0:8080"
    assert values["management_address"].startswith("http://127.0.0.1:")
    assert values["decode_input_request"] == "false"


def test_generate_single_model_serves_the_callers_model_store(monkeypatch, no_plugin, fake_env):
    # 1.10.1's file: containers that start MMS themselves with --model-store and no --models
    # (Hugging Face's HF_MODEL_ID path) get every model of that store, and MMS_* variables work.
    monkeypatch.setattr(model_server_compat, "ENABLE_MULTI_MODEL", False)
    text = model_server._generate_mms_config_properties(fake_env(), "a.b")
    values = properties_of(text)
    assert values["load_models"] == "ALL"
    assert values["enable_envvars_config"] == "true"
    assert "model_store" not in values
    assert text.count("enable_envvars_config=") == 1


def test_generate_multi_model(monkeypatch, no_plugin, fake_env):
    monkeypatch.setattr(model_server_compat, "ENABLE_MULTI_MODEL", True)
    values = properties_of(model_server._generate_mms_config_properties(fake_env(), "a.b"))
    assert values["management_address"] == "http://0.0.0.0:8080"
    assert values["model_store"] == model_server.MODEL_STORE == "/"
    assert values["enable_envvars_config"] == "true"
    assert "load_models" not in values


def test_generate_with_a_1_10_1_environment_object(monkeypatch, no_plugin):
    # Containers may pass an object with only 1.10.1's Environment properties (strings for
    # the workers, as HF's toolkit sets env._model_server_workers = "2").
    env = SimpleNamespace(
        inference_http_port="8080",
        management_http_port="8080",
        model_server_workers="2",
        model_server_timeout=60,
        model_server_timeout_seconds=None,
        vmargs="-Xmx1g",
        max_request_size=None,
        safe_port_range=None,
    )
    monkeypatch.setattr(model_server_compat, "ENABLE_MULTI_MODEL", False)
    values = properties_of(model_server._generate_mms_config_properties(env))
    assert values["default_workers_per_model"] == "2"
    assert values["default_response_timeout_seconds"] == "60"
    assert values["vmargs"] == "-Xmx1g"
    assert "default_service_handler" not in values


def test_create_config_file_writes_mms_config_file(monkeypatch, tmp_path, no_plugin, fake_env):
    path = str(tmp_path / "conf" / "mms.properties")
    monkeypatch.setattr(model_server_compat, "MMS_CONFIG_FILE", path)
    model_server._create_model_server_config_file(fake_env(), "x.y")
    assert "default_service_handler=x.y" in open(path).read()


def test_set_python_path(monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    model_server._set_python_path()
    assert os.environ["PYTHONPATH"] == environment.code_dir
    monkeypatch.setenv("PYTHONPATH", "/a:/b")
    model_server._set_python_path()
    model_server._set_python_path()
    assert os.environ["PYTHONPATH"] == "{}:/a:/b".format(environment.code_dir)


def test_install_requirements(monkeypatch, tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("foo\n")
    monkeypatch.setattr(model_server_compat, "REQUIREMENTS_PATH", str(req))
    monkeypatch.delenv("CA_REPOSITORY_ARN", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, cwd=None: calls.append((cmd, cwd)))
    model_server._install_requirements()
    cmd, cwd = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[-2:] == ["-r", str(req)]
    assert cwd == str(tmp_path)


def test_install_requirements_failure_is_value_error(monkeypatch, tmp_path):
    monkeypatch.setattr(
        model_server_compat, "REQUIREMENTS_PATH", str(tmp_path / "requirements.txt")
    )

    def fail(cmd, cwd=None):
        raise subprocess.CalledProcessError(1, cmd)

    monkeypatch.setattr(subprocess, "check_call", fail)
    with pytest.raises(ValueError, match="failed to install required packages"):
        model_server._install_requirements()


INDEX = (
    "https://aws:TOKEN@dom-123456789012.d.codeartifact.us-west-2.amazonaws.com" "/pypi/repo/simple/"
)


class FakeCodeArtifact:
    """Stands in for a boto3 CodeArtifact client: records calls, answers like the service."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.calls = []

    def get_authorization_token(self, domain, domainOwner):
        self.calls.append(("token", domain, domainOwner))
        return {"authorizationToken": "TOKEN"}

    def get_repository_endpoint(self, domain, domainOwner, repository, format):
        self.calls.append(("endpoint", domain, domainOwner, repository, format))
        return {"repositoryEndpoint": self.endpoint}


def test_codeartifact_index_comes_from_the_repository_endpoint(monkeypatch):
    client = FakeCodeArtifact(
        "https://dom-123456789012.d.codeartifact.us-west-2.amazonaws.com/pypi/repo/"
    )
    made = []

    def make_client(name, region_name):
        made.append((name, region_name))
        return client

    monkeypatch.setitem(sys.modules, "boto3", SimpleNamespace(client=make_client))
    monkeypatch.setenv(
        "CA_REPOSITORY_ARN", "arn:aws:codeartifact:us-west-2:123456789012:repository/dom/repo"
    )
    assert model_server._get_codeartifact_index() == INDEX
    assert made == [("codeartifact", "us-west-2")]
    assert client.calls == [
        ("token", "dom", "123456789012"),
        ("endpoint", "dom", "123456789012", "repo", "pypi"),
    ]
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, cwd=None: calls.append(cmd))
    model_server._install_requirements()
    assert calls[0][-2:] == ["-i", INDEX]


def test_codeartifact_index_in_another_partition(monkeypatch):
    # aws-cn endpoints end in amazonaws.com.cn: the URL cannot be built from the ARN.
    endpoint = "https://dom-111122223333.d.codeartifact.cn-north-1.amazonaws.com.cn/pypi/my-repo"
    client = FakeCodeArtifact(endpoint)
    monkeypatch.setenv(
        "CA_REPOSITORY_ARN",
        "arn:aws-cn:codeartifact:cn-north-1:111122223333:repository/dom/my-repo",
    )
    assert model_server._get_codeartifact_index(client) == (
        "https://aws:TOKEN@dom-111122223333.d.codeartifact.cn-north-1.amazonaws.com.cn"
        "/pypi/my-repo/simple/"
    )
    assert client.calls[1] == ("endpoint", "dom", "111122223333", "my-repo", "pypi")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:s3:::bucket",
        "arn:aws:codeartifact:us-west-2:123456789012:repository/dom",
        "arn:aws:codeartifact::123456789012:repository/dom/repo",
    ],
)
def test_codeartifact_bad_arn(monkeypatch, arn):
    monkeypatch.setenv("CA_REPOSITORY_ARN", arn)
    client = FakeCodeArtifact("https://unused/")
    with pytest.raises(ValueError, match="CA_REPOSITORY_ARN"):
        model_server._get_codeartifact_index(client)
    assert client.calls == []


def test_adapt_to_mms_format_without_model_archiver(monkeypatch, tmp_path):
    model = tmp_path / "model"
    (model / "code").mkdir(parents=True)
    (model / "weights.bin").write_text("w")
    export = tmp_path / "export"
    monkeypatch.setattr(model_server_compat, "DEFAULT_MMS_MODEL_EXPORT_DIRECTORY", str(export))
    model_server._adapt_to_mms_format("my.handler", str(model))
    monkeypatch.setattr(model_server.environment, "model_dir", str(model))
    model_server._adapt_to_mms_format("my.handler")  # 1.10.1's one-argument call; repeatable
    target = export / "model"
    manifest = json.loads((target / "MAR-INF" / "MANIFEST.json").read_text())
    assert manifest["model"] == {
        "modelName": "model",
        "handler": "my.handler",
        "modelVersion": "1.0",
    }
    assert manifest["runtime"] == "python"
    assert (target / "weights.bin").read_text() == "w"
    assert (target / "code").is_dir()


def test_start_fails_fast_without_java(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(mms_command.JavaNotFoundError, match="apt-get install"):
        model_server.start_model_server()


def test_start_single_model_needs_model_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "false")
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setattr(mms_command, "find_java", lambda env=None: "/usr/bin/java")
    with pytest.raises(ValueError, match="does not exist"):
        model_server.start_model_server()


def test_start_runs_supervisor_and_maps_exit_codes(monkeypatch, start_ready):
    (start_ready / "model").mkdir()
    monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "false")
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "20080")
    seen = {}

    def fake_run(self):
        seen["cmd"] = self.cmd
        seen["env"] = self.env
        seen["grace"] = self.grace_seconds
        return seen.get("code", 0)

    monkeypatch.setattr(supervisor.Supervisor, "run", fake_run)
    assert model_server.start_model_server("my.handler") == 0
    cmd = seen["cmd"]
    assert cmd[cmd.index("-s") + 1] == str(start_ready)
    assert cmd[cmd.index("-m") + 1] == "model=model"
    assert cmd[cmd.index("-f") + 1] == str(start_ready / "mms.properties")
    assert seen["env"]["SAGEMAKER_LOAD_FAILURE_FILE"] == str(
        start_ready / "state" / "load-failures"
    )
    assert seen["grace"] == model_server.DEFAULT_SHUTDOWN_GRACE_SECONDS
    written = properties_of(open(start_ready / "mms.properties").read())
    assert written["default_service_handler"] == "my.handler"
    # the project's own start path keeps its defaults: MMS_* variables off, models named on
    # the command line rather than load_models=ALL
    assert written["enable_envvars_config"] == "false"
    assert "load_models" not in written
    assert "patches" not in cmd[cmd.index("-cp") + 1]

    monkeypatch.setenv("SAGEMAKER_MMS_PATCHES_PATH", "/x/fix.jar")
    model_server.start_model_server("my.handler")
    assert seen["cmd"][seen["cmd"].index("-cp") + 1].startswith("/x/fix.jar:")

    seen["code"] = supervisor.EXIT_LOAD_FAILED
    with pytest.raises(SystemExit) as stop:
        model_server.start_model_server("my.handler")
    assert stop.value.code == supervisor.EXIT_LOAD_FAILED


def test_batching_without_the_patched_front_end_fails_at_start(monkeypatch, start_ready):
    (start_ready / "model").mkdir()
    monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "false")
    monkeypatch.setenv("SAGEMAKER_MODEL_SERVER_BATCH_SIZE", "8")
    monkeypatch.setattr(supervisor.Supervisor, "run", lambda self: 0)
    with pytest.raises(ValueError, match="SAGEMAKER_MODEL_SERVER_BATCH_SIZE=8 needs"):
        model_server.start_model_server()
    monkeypatch.setenv("SAGEMAKER_MMS_PATCHES_PATH", "/x/fix.jar")
    assert model_server.start_model_server() == 0


def test_start_multi_model_sets_handler(monkeypatch, start_ready):
    monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "true")
    monkeypatch.delenv("SAGEMAKER_HANDLER", raising=False)
    monkeypatch.setenv("SAGEMAKER_LOAD_FAILURE_FILE", "/stale")
    seen = {}

    def fake_run(self):
        seen["cmd"], seen["env"] = self.cmd, self.env
        return 0

    monkeypatch.setattr(supervisor.Supervisor, "run", fake_run)
    model_server.start_model_server("my.handler")
    assert os.environ["SAGEMAKER_HANDLER"] == "my.handler"
    assert "-m" not in seen["cmd"]
    assert seen["cmd"][seen["cmd"].index("-s") + 1] == "/"
    assert "SAGEMAKER_LOAD_FAILURE_FILE" not in seen["env"]


def test_shutdown_grace(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_SHUTDOWN_GRACE_SECONDS", "7.5")
    assert model_server._shutdown_grace_seconds() == 7.5
    monkeypatch.setenv("SAGEMAKER_SHUTDOWN_GRACE_SECONDS", "x")
    with pytest.raises(ValueError, match="SAGEMAKER_SHUTDOWN_GRACE_SECONDS"):
        model_server._shutdown_grace_seconds()
