"""Unit tests of the ``sagemaker-inference`` command (no Java: start_model_server is faked)."""

import http.server
import json
import os
import socket
import sys
import threading
import time
import types

import pytest

import sagemaker_inference
from sagemaker_inference import cli
from sagemaker_inference.mms_config import free_port


@pytest.fixture
def model_dir(tmp_path):
    directory = tmp_path / "model"
    (directory / "code").mkdir(parents=True)
    (directory / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return 1\n")
    return directory


def serve(model_dir, log_file, *options: str) -> int:
    """``sagemaker-inference serve`` of ``model_dir`` on a free port, logging to ``log_file``."""
    argv = ["serve", "--model-dir", str(model_dir), "--port", str(free_port())]
    return cli.main(argv + list(options) + ["--log-file", str(log_file)])


# ---------------------------------------------------------------------------------------------
# argument parsing


def test_serve_arguments_are_parsed():
    args = cli.build_parser().parse_args(
        [
            "serve",
            "--model-dir",
            "m",
            "--port",
            "9001",
            "--workers",
            "2",
            "--multi-model",
            "--program",
            "serve.py",
        ]
    )
    assert (args.model_dir, args.port, args.workers, args.multi_model, args.program) == (
        "m",
        9001,
        2,
        True,
        "serve.py",
    )
    assert args.func is cli.run_serve


def test_serve_defaults():
    args = cli.build_parser().parse_args(["serve"])
    assert (args.model_dir, args.port, args.workers, args.multi_model, args.program) == (
        ".",
        None,
        None,
        False,
        None,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "0"],
        ["serve", "--port", "70000"],
        ["serve", "--port", "32767"],
        ["serve", "--workers", "x"],
    ],
)
def test_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([])
    assert stop.value.code == 2


def test_invoke_arguments_and_predict_alias():
    args = cli.build_parser().parse_args(
        [
            "predict",
            "body.csv",
            "--port",
            "9002",
            "-a",
            "text/csv",
            "-m",
            "fruit",
            "-H",
            "X-Amzn-SageMaker-Custom-Attributes: a=1",
        ]
    )
    assert args.func is cli.run_invoke
    assert (args.input, args.port, args.accept, args.model) == (
        "body.csv",
        9002,
        "text/csv",
        "fruit",
    )
    assert args.headers == [("X-Amzn-SageMaker-Custom-Attributes", "a=1")]


def test_header_without_colon_is_rejected():
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["invoke", "-H", "no-colon"])


def test_python_dash_m_runs_the_same_main():
    import runpy

    with pytest.raises(SystemExit) as stop:
        sys.argv = ["sagemaker_inference", "--help"]
        runpy.run_module("sagemaker_inference", run_name="__main__")
    assert stop.value.code == 0


# ---------------------------------------------------------------------------------------------
# serve: environment and checks


def test_a_directory_named_model_is_served_from_its_parent(model_dir, tmp_path):
    env = cli.serve_environment(str(model_dir), 8123, workers=3, program="x.py")
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
    env = cli.serve_environment(str(served), 8080, scratch_dir=str(scratch))
    assert env["SAGEMAKER_BASE_DIR"] == str(scratch)
    assert os.path.realpath(scratch / "model") == str(served)
    assert "SAGEMAKER_PROGRAM" not in env and "SAGEMAKER_MODEL_SERVER_WORKERS" not in env


def test_multi_model_links_the_models_directory(tmp_path):
    served = tmp_path / "zoo"
    served.mkdir()
    env = cli.serve_environment(
        str(served), 8080, multi_model=True, scratch_dir=str(tmp_path / "s")
    )
    assert env["SAGEMAKER_MULTI_MODEL"] == "true"
    assert os.path.realpath(os.path.join(env["SAGEMAKER_BASE_DIR"], "models")) == str(served)


def test_the_served_directory_matches_what_environment_computes(model_dir, tmp_path):
    from sagemaker_inference import environment

    env = cli.serve_environment(str(model_dir), 8080)
    assert environment.Environment(env).model_dir == str(model_dir)
    other = tmp_path / "other"
    other.mkdir()
    env = cli.serve_environment(str(other), 8080, scratch_dir=str(tmp_path / "scratch"))
    assert os.path.realpath(environment.Environment(env).model_dir) == str(other)


def test_private_state_keeps_what_the_user_set(tmp_path):
    state = cli.private_state(str(tmp_path), {})
    assert state == {
        "SAGEMAKER_STATE_DIR": str(tmp_path / "state"),
        "SAGEMAKER_MMS_CONFIG_FILE": str(tmp_path / "state" / "sagemaker-mms.properties"),
    }
    kept = cli.private_state(str(tmp_path), {"SAGEMAKER_MMS_CONFIG_FILE": "/x"})
    assert list(kept) == ["SAGEMAKER_STATE_DIR"]


def test_missing_directory_is_reported(tmp_path):
    with pytest.raises(cli.ServeError, match="does not exist"):
        cli.serve_environment(str(tmp_path / "nope"), 8080, scratch_dir=str(tmp_path))


def test_missing_inference_py_is_reported_with_a_hint(tmp_path):
    (tmp_path / "model").mkdir()
    with pytest.raises(cli.ServeError, match=r"code/inference.py.*--program"):
        cli.check_model_dir(str(tmp_path / "model"), None, False)


def test_program_names_the_script_with_or_without_py(model_dir):
    (model_dir / "code" / "serve.py").write_text("")
    cli.check_model_dir(str(model_dir), "serve", False)
    cli.check_model_dir(str(model_dir), "serve.py", False)
    with pytest.raises(cli.ServeError, match="other.py"):
        cli.check_model_dir(str(model_dir), "other", False)


def test_a_busy_port_is_reported():
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(cli.ServeError, match="port %d is already in use" % port):
            cli.check_port_free(port)
    cli.check_port_free(port)


def test_serve_refuses_a_busy_port_before_starting(model_dir, capsys, monkeypatch):
    started = []
    install_fake_server(monkeypatch, lambda **kwargs: started.append(kwargs))
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", port))
        busy.listen(1)
        code = cli.main(["serve", "--model-dir", str(model_dir), "--port", str(port)])
    assert code == 2 and not started
    assert "already in use" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# serve: output summary


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "2024-05-01T10:00:00,123 [INFO ] W-9000-model_1.0-stdout MODEL_LOG - "
            "2024-05-01 10:00:00,120 ERROR [sagemaker-inference] Model failed to load: "
            "ValueError: bad weights (inference.py:7)",
            "Model failed to load: ValueError: bad weights (inference.py:7)",
        ),
        (
            "2024-05-01 10:00:00,120 ERROR [sagemaker-inference] Request 0 failed: 500",
            "Request 0 failed: 500",
        ),
        (
            "2024-05-01T10:00:00,123 [ERROR] main com.amazonaws.ml.mms.ModelServer - "
            "Address already in use",
            "Address already in use",
        ),
        ("2024-05-01 10:00:00,120 INFO [sagemaker-inference] loaded", None),
        (
            "2024-05-01T10:00:00,123 [INFO ] W-9000-model-stdout MODEL_LOG - Traceback "
            "(most recent call last):",
            None,
        ),
        (
            '2024-05-01T10:00:00,123 [INFO ] W-9000-model-stdout MODEL_LOG -   File "x.py", '
            "line 3, in model_fn",
            None,
        ),
        ("", None),
        ("plain text mentioning ERROR much later in a long line of output ....... ERROR", None),
    ],
)
def test_error_summary(line, expected):
    assert cli.error_summary(line) == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "2026-11-28T02:36:08,811 [WARN ] W-model-2-stderr com.amazonaws.ml.mms.wlm."
            "WorkerLifeCycle - 2026-11-28 02:36:08,809 WARNING [sagemaker-inference] Request 0 "
            "rejected (400): expected rows of 4 numbers",
            "warning: Request 0 rejected (400): expected rows of 4 numbers",
        ),
        (
            "2026-11-28T02:35:59,868 [WARN ] W-9000-model com.amazonaws.ml.mms.wlm."
            "WorkerLifeCycle - attachIOStreams() threadName=W-9000-model",
            None,
        ),
        (
            "Invalid configuration: Invalid port number: http://127.0.0.1:54037",
            "error: Invalid configuration: Invalid port number: http://127.0.0.1:54037",
        ),
        ("WARNING: sun.reflect.Reflection.getCallerClass is not supported.", None),
        ("ERROR:root:plain logging", "error: plain logging"),
        (
            "2026-11-28T02:36:08,811 [INFO ] W-model-2-stdout com.amazonaws.ml.mms.wlm."
            "WorkerLifeCycle - ValueError: boom",
            None,
        ),
    ],
)
def test_summarize_line(line, expected):
    assert cli.summarize_line(line) == expected


# ---------------------------------------------------------------------------------------------
# serve: the foreground run with a fake start_model_server


class _PingHandler(http.server.BaseHTTPRequestHandler):
    healthy = True

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = json.dumps({"status": "Healthy" if self.healthy else "Unhealthy"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def install_fake_server(monkeypatch, start):
    fake = types.ModuleType("sagemaker_inference.model_server")
    fake.start_model_server = start
    monkeypatch.setitem(sys.modules, "sagemaker_inference.model_server", fake)
    monkeypatch.setattr(sagemaker_inference, "model_server", fake, raising=False)
    for name in (
        "SAGEMAKER_STATE_DIR",
        "SAGEMAKER_MMS_CONFIG_FILE",
        "SAGEMAKER_BASE_DIR",
        "SAGEMAKER_BIND_TO_PORT",
        "SAGEMAKER_MULTI_MODEL",
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        "SAGEMAKER_PROGRAM",
    ):
        monkeypatch.setenv(name, "")  # recorded, so that teardown restores the real state
        monkeypatch.delenv(name)
    return fake


def fake_server(result, seen, lines=(), serve_seconds=1.0):
    """A start_model_server that answers /ping, writes log lines to fd 1/2, then returns."""

    def start(handler_service=None):
        seen.append(
            ({k: v for k, v in os.environ.items() if k.startswith("SAGEMAKER_")}, handler_service)
        )
        port = int(os.environ["SAGEMAKER_BIND_TO_PORT"])
        server = http.server.HTTPServer(("127.0.0.1", port), _PingHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        for text in lines:
            os.write(2 if "ERROR" in text else 1, (text + "\n").encode())
        time.sleep(serve_seconds)
        server.shutdown()
        server.server_close()
        if isinstance(result, BaseException):
            raise result
        return result

    return start


def test_serve_prints_where_it_listens_load_time_and_errors(
    model_dir, tmp_path, capfd, monkeypatch
):
    seen = []
    install_fake_server(
        monkeypatch,
        fake_server(
            0,
            seen,
            lines=[
                "2024-05-01T10:00:00,123 [INFO ] main com.amazonaws.ml.mms.ModelServer - noise",
                "2024-05-01 10:00:00,120 ERROR [sagemaker-inference] Request failed: "
                "ValueError: boom (inference.py:9)",
                "Traceback (most recent call last):",
                '  File "inference.py", line 9, in predict_fn',
                "ValueError: boom",
            ],
        ),
    )
    port = free_port()
    log_file = tmp_path / "serve.log"
    code = cli.main(
        [
            "serve",
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-file",
            str(log_file),
        ]
    )
    out = capfd.readouterr().out
    assert code == 0
    assert "serving %s on port %d" % (model_dir, port) in out
    assert "listening on http://localhost:%d" % port in out
    assert "model loaded in " in out
    assert "error: Request failed: ValueError: boom (inference.py:9)" in out
    assert "noise" not in out and "Traceback" not in out
    assert "stopped (exit code 0)" in out
    environ, handler_service = seen[0]
    assert environ["SAGEMAKER_BASE_DIR"] == str(tmp_path)
    assert environ["SAGEMAKER_BIND_TO_PORT"] == str(port)
    assert environ["SAGEMAKER_MODEL_SERVER_WORKERS"] == "1"
    assert handler_service is None
    state = environ["SAGEMAKER_STATE_DIR"]
    assert environ["SAGEMAKER_MMS_CONFIG_FILE"].startswith(state)
    assert not state.startswith(str(tmp_path)) and not os.path.exists(state)
    logged = log_file.read_text()
    assert "noise" in logged and "Traceback" in logged


def test_verbose_prints_everything(model_dir, tmp_path, capfd, monkeypatch):
    install_fake_server(
        monkeypatch, fake_server(None, [], lines=["some INFO line"], serve_seconds=0.3)
    )
    code = serve(model_dir, tmp_path / "log", "-v")
    assert code == 0
    assert "some INFO line" in capfd.readouterr().out


def test_exit_code_comes_from_start_model_server(model_dir, tmp_path, capfd, monkeypatch):
    install_fake_server(monkeypatch, fake_server(SystemExit(3), [], serve_seconds=0.2))
    code = serve(model_dir, tmp_path / "log")
    assert code == 3
    assert "stopped (exit code 3)" in capfd.readouterr().out


def test_an_exception_from_the_server_is_one_line(model_dir, tmp_path, capfd, monkeypatch):
    install_fake_server(
        monkeypatch,
        fake_server(RuntimeError("java was not found\nsecond line"), [], serve_seconds=0.1),
    )
    code = serve(model_dir, tmp_path / "log")
    out = capfd.readouterr().out
    assert code == 1
    assert "error: RuntimeError: java was not found second line" in out
    assert "Traceback" in (tmp_path / "log").read_text()


def test_handler_service_and_program_are_passed_on(model_dir, tmp_path, capfd, monkeypatch):
    (model_dir / "code" / "other.py").write_text("")
    seen = []
    install_fake_server(monkeypatch, fake_server(0, seen, serve_seconds=0.1))
    code = serve(
        model_dir, tmp_path / "log", "--program", "other.py", "--handler-service", "my.service"
    )
    assert code == 0
    environ, handler_service = seen[0]
    assert environ["SAGEMAKER_PROGRAM"] == "other.py"
    assert handler_service == "my.service"


def test_serve_restores_the_environment(model_dir, tmp_path, capfd, monkeypatch):
    install_fake_server(monkeypatch, fake_server(0, [], serve_seconds=0.1))
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "mine.py")
    (model_dir / "code" / "mine.py").write_text("")
    before = dict(os.environ)
    assert serve(model_dir, tmp_path / "log") == 0
    assert dict(os.environ) == before


def test_the_scratch_base_is_removed_afterwards(tmp_path, capfd, monkeypatch):
    served = tmp_path / "elsewhere"
    (served / "code").mkdir(parents=True)
    (served / "code" / "inference.py").write_text("")
    seen = []
    install_fake_server(monkeypatch, fake_server(0, seen, serve_seconds=0.1))
    assert serve(served, tmp_path / "log") == 0
    base = seen[0][0]["SAGEMAKER_BASE_DIR"]
    assert base != str(tmp_path) and not os.path.exists(base)


# ---------------------------------------------------------------------------------------------
# invoke


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        _EchoHandler.requests.append((self.path, dict(self.headers), body))
        if body == b"bad":
            payload = b"could not parse the body"
            self.send_response(400, "Bad Request: not JSON")
        else:
            payload = b'{"ok": true}'
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_server():
    _EchoHandler.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_invoke_posts_a_file_and_prints_the_body(echo_server, tmp_path, capsysbinary):
    body = tmp_path / "rows.csv"
    body.write_bytes(b"1,2,3,4\n")
    code = cli.main(
        [
            "invoke",
            str(body),
            "--port",
            str(echo_server),
            "--accept",
            "application/json",
            "-H",
            "X-Amzn-SageMaker-Custom-Attributes: k=v",
        ]
    )
    assert code == 0
    assert capsysbinary.readouterr().out == b'{"ok": true}'
    path, headers, sent = _EchoHandler.requests[0]
    assert path == "/invocations"
    assert sent == b"1,2,3,4\n"
    assert headers["Content-Type"] == "text/csv"
    assert headers["Accept"] == "application/json"
    assert headers["X-Amzn-SageMaker-Custom-Attributes"] == "k=v"


def test_invoke_reads_stdin_and_names_a_model(echo_server, capsysbinary, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"[1]")))
    code = cli.main(["invoke", "--url", "127.0.0.1:%d" % echo_server, "--model", "fruit"])
    assert code == 0
    path, headers, sent = _EchoHandler.requests[0]
    assert (path, sent, headers["Content-Type"]) == (
        "/models/fruit/invoke",
        b"[1]",
        "application/json",
    )
    assert "Accept" not in headers


def test_invoke_non_2xx_exits_1_with_the_reason(echo_server, capsys):
    code = cli.main(["invoke", "-d", "bad", "--port", str(echo_server)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "HTTP 400 Bad Request: not JSON: could not parse the body" in captured.err


def test_invoke_unreachable_server_exits_3(capsys):
    code = cli.main(["invoke", "-d", "[1]", "--port", str(free_port()), "--timeout", "2"])
    assert code == 3
    assert "cannot reach" in capsys.readouterr().err


def test_invoke_writes_to_a_file(echo_server, tmp_path, capsys):
    out = tmp_path / "answer.json"
    assert cli.main(["invoke", "-d", "[1]", "--port", str(echo_server), "-o", str(out)]) == 0
    assert out.read_bytes() == b'{"ok": true}'


def test_invoke_missing_file_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["invoke", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.json", "application/json"),
        ("a.CSV", "text/csv"),
        ("a.npy", "application/x-npy"),
        ("a.jsonl", "application/jsonlines"),
        ("a.bin", "application/json"),
        ("-", "application/json"),
    ],
)
def test_content_type_from_extension(name, expected):
    assert cli._guess_content_type(name) == expected


def test_invocation_url():
    assert cli.invocation_url("http://h:1/", None) == "http://h:1/invocations"
    assert cli.invocation_url("h:1", "a b") == "http://h:1/models/a%20b/invoke"


def test_serve_listens_on_loopback_unless_told_otherwise():
    assert cli.build_parser().parse_args(["serve"]).host is None
    assert cli.serve_host(None, {}) == "127.0.0.1"
    assert cli.serve_host(None, {"SAGEMAKER_BIND_ADDRESS": "0.0.0.0"}) == "0.0.0.0"
    assert cli.serve_host("::1", {"SAGEMAKER_BIND_ADDRESS": "0.0.0.0"}) == "::1"


def test_serve_host_must_be_an_address(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["serve", "--host", "example.com"])
    assert "'example.com' is not an IP address" in capsys.readouterr().err
