"""cli.serve: the checks, the server's environment and the run, with a fake start_model_server
and without the network (the port probe and /ping are faked; test/process/test_cli.py has the
real ones)."""

import os

import pytest
from cli_fakes import fake_start, go_offline, install_fake_server, make_model_dir

from sagemaker_inference import cli, environment
from sagemaker_inference.cli import serve


@pytest.fixture
def model_dir(tmp_path):
    return make_model_dir(tmp_path)


@pytest.fixture
def offline(monkeypatch):
    go_offline(monkeypatch)


def run(model_dir, log_file, *options):
    """``sagemaker-inference serve`` of ``model_dir`` on port 8123, logging to ``log_file``."""
    args = ["--model-dir", str(model_dir), "--port", "8123", "--log-file", str(log_file)]
    return cli.main(["serve"] + args + list(options))


# ---------------------------------------------------------------------------------------------
# the environment and the checks


def test_a_directory_named_model_is_served_from_its_parent(model_dir, tmp_path):
    env = serve.serve_environment(str(model_dir), 8123, workers=3, program="x.py")
    assert env == {
        "SAGEMAKER_BASE_DIR": str(tmp_path),
        "SAGEMAKER_BIND_TO_PORT": "8123",
        "SAGEMAKER_BIND_ADDRESS": "127.0.0.1",
        "SAGEMAKER_MULTI_MODEL": "false",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_PROGRAM": "x.py",
    }


def test_another_name_is_linked_into_a_scratch_base(tmp_path):
    served = tmp_path / "my-model"
    served.mkdir()
    scratch = tmp_path / "scratch"
    env = serve.serve_environment(str(served), 8080, scratch_dir=str(scratch))
    assert env["SAGEMAKER_BASE_DIR"] == str(scratch)
    assert os.path.realpath(scratch / "model") == str(served)
    assert "SAGEMAKER_PROGRAM" not in env and "SAGEMAKER_MODEL_SERVER_WORKERS" not in env


def test_a_stale_link_is_replaced(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    scratch = tmp_path / "scratch"
    serve.serve_environment(str(first), 8080, scratch_dir=str(scratch))
    serve.serve_environment(str(second), 8080, scratch_dir=str(scratch))
    assert os.path.realpath(scratch / "model") == str(second)


def test_another_name_needs_a_scratch_directory(tmp_path):
    with pytest.raises(serve.ServeError, match="scratch directory"):
        serve.serve_environment(str(tmp_path), 8080)


def test_multi_model_links_the_models_directory(tmp_path):
    served = tmp_path / "zoo"
    served.mkdir()
    env = serve.serve_environment(
        str(served), 8080, multi_model=True, scratch_dir=str(tmp_path / "s")
    )
    assert env["SAGEMAKER_MULTI_MODEL"] == "true"
    assert os.path.realpath(os.path.join(env["SAGEMAKER_BASE_DIR"], "models")) == str(served)


def test_the_served_directory_matches_what_environment_computes(model_dir, tmp_path):
    env = serve.serve_environment(str(model_dir), 8080)
    assert environment.Environment(env).model_dir == str(model_dir)
    other = tmp_path / "other"
    other.mkdir()
    env = serve.serve_environment(str(other), 8080, scratch_dir=str(tmp_path / "scratch"))
    assert os.path.realpath(environment.Environment(env).model_dir) == str(other)


def test_private_state_keeps_what_the_user_set(tmp_path):
    state = serve.private_state(str(tmp_path), {})
    assert state == {
        "SAGEMAKER_STATE_DIR": str(tmp_path / "state"),
        "SAGEMAKER_MMS_CONFIG_FILE": str(tmp_path / "state" / "sagemaker-mms.properties"),
    }
    kept = serve.private_state(str(tmp_path), {"SAGEMAKER_MMS_CONFIG_FILE": "/x"})
    assert list(kept) == ["SAGEMAKER_STATE_DIR"]


def test_missing_directory_is_reported(tmp_path):
    with pytest.raises(serve.ServeError, match="does not exist"):
        serve.serve_environment(str(tmp_path / "nope"), 8080, scratch_dir=str(tmp_path))
    with pytest.raises(serve.ServeError, match="does not exist"):
        serve.check_model_dir(str(tmp_path / "nope"), None, True)


def test_missing_inference_py_is_reported_with_a_hint(tmp_path):
    (tmp_path / "model").mkdir()
    with pytest.raises(serve.ServeError, match=r"code/inference.py.*--program"):
        serve.check_model_dir(str(tmp_path / "model"), None, False)
    serve.check_model_dir(str(tmp_path / "model"), None, True)  # models come later


def test_program_names_the_script_with_or_without_py(model_dir):
    (model_dir / "code" / "serve.py").write_text("")
    serve.check_model_dir(str(model_dir), "serve", False)
    serve.check_model_dir(str(model_dir), "serve.py", False)
    with pytest.raises(serve.ServeError, match="other.py"):
        serve.check_model_dir(str(model_dir), "other", False)


def test_the_program_variable_names_the_script_too(model_dir, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "other")
    with pytest.raises(serve.ServeError, match="other.py"):
        serve.check_model_dir(str(model_dir), None, False)


def test_serve_listens_on_loopback_unless_told_otherwise():
    assert serve.serve_host(None, {}) == "127.0.0.1"
    assert serve.serve_host(None, {"SAGEMAKER_BIND_ADDRESS": " 0.0.0.0 "}) == "0.0.0.0"
    assert serve.serve_host("::1", {"SAGEMAKER_BIND_ADDRESS": "0.0.0.0"}) == "::1"


# ---------------------------------------------------------------------------------------------
# the run


def test_a_failed_check_is_one_line_and_nothing_starts(model_dir, capsys, monkeypatch):
    started = []
    install_fake_server(monkeypatch, lambda **kwargs: started.append(kwargs))

    def busy(port):
        raise serve.ServeError("port %d is already in use" % port)

    monkeypatch.setattr(serve, "check_port_free", busy)
    assert run(model_dir, "unused.log") == 2 and not started
    assert capsys.readouterr().out == "sagemaker-inference: error: port 8123 is already in use\n"


def test_the_server_gets_the_environment_and_the_handler_service(
    model_dir, tmp_path, capfd, monkeypatch, offline
):
    (model_dir / "code" / "other.py").write_text("")
    seen = []
    install_fake_server(monkeypatch, fake_start(0, seen))
    options = ("--program", "other.py", "--handler-service", "my.service", "--workers", "1")
    assert run(model_dir, tmp_path / "log", *options) == 0
    environ, handler_service = seen[0]
    assert handler_service == "my.service"
    assert environ["SAGEMAKER_PROGRAM"] == "other.py"
    assert environ["SAGEMAKER_BASE_DIR"] == str(tmp_path)
    assert environ["SAGEMAKER_BIND_TO_PORT"] == "8123"
    assert environ["SAGEMAKER_MODEL_SERVER_WORKERS"] == "1"
    state = environ["SAGEMAKER_STATE_DIR"]
    assert environ["SAGEMAKER_MMS_CONFIG_FILE"].startswith(state)
    assert not state.startswith(str(tmp_path)) and not os.path.exists(state)
    out = capfd.readouterr().out
    assert out.startswith("sagemaker-inference: serving %s on port 8123 (full log: " % model_dir)


def test_no_handler_service_means_the_default(model_dir, tmp_path, capfd, monkeypatch, offline):
    seen = []
    install_fake_server(monkeypatch, fake_start(None, seen))
    assert run(model_dir, tmp_path / "log") == 0
    assert seen[0][1] is None


def test_serve_restores_the_environment(model_dir, tmp_path, capfd, monkeypatch, offline):
    install_fake_server(monkeypatch, fake_start(0, []))
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "mine.py")
    (model_dir / "code" / "mine.py").write_text("")
    before = dict(os.environ)
    assert run(model_dir, tmp_path / "log") == 0
    assert dict(os.environ) == before


def test_the_scratch_base_is_removed_afterwards(tmp_path, capfd, monkeypatch, offline):
    served = tmp_path / "elsewhere"
    (served / "code").mkdir(parents=True)
    (served / "code" / "inference.py").write_text("")
    seen = []
    install_fake_server(monkeypatch, fake_start(0, seen))
    assert run(served, tmp_path / "log") == 0
    base = seen[0][0]["SAGEMAKER_BASE_DIR"]
    assert base != str(tmp_path) and not os.path.exists(base)


def test_the_port_defaults_to_the_bind_variable(model_dir, tmp_path, capfd, monkeypatch, offline):
    seen = []
    install_fake_server(monkeypatch, fake_start(0, seen))
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9123")
    log_file = str(tmp_path / "log")
    assert cli.main(["serve", "--model-dir", str(model_dir), "--log-file", log_file]) == 0
    assert seen[0][0]["SAGEMAKER_BIND_TO_PORT"] == "9123"


def test_a_bad_bind_address_is_a_one_line_usage_error():
    with pytest.raises(serve.ServeError, match="SAGEMAKER_BIND_ADDRESS='here': expected"):
        serve.serve_host(None, {"SAGEMAKER_BIND_ADDRESS": "here"})
    assert serve.serve_host("10.0.0.1", {"SAGEMAKER_BIND_ADDRESS": "here"}) == "10.0.0.1"
