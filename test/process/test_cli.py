"""The ``sagemaker-inference`` command on real sockets: the port check, /ping polling and
``invoke``'s HTTP exchange (start_model_server is faked; test/integration/test_serve_cli.py runs
the real server)."""

import http.server
import json
import os
import socket
import threading

import pytest
from cli_fakes import fake_start, install_fake_server, make_model_dir

from sagemaker_inference import cli
from sagemaker_inference.mms_config import free_port


@pytest.fixture
def model_dir(tmp_path):
    return make_model_dir(tmp_path)


def serving(handler, port=0):
    """An HTTP server on 127.0.0.1 in a thread; call .shutdown() and .server_close() after."""
    server = http.server.HTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


# ---------------------------------------------------------------------------------------------
# serve


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


class _PingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = json.dumps({"status": "Healthy"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def answer_ping_until_ready_is_reported():
    """While the fake server runs: answer /ping until serve's watcher has said it is ready."""
    server = serving(_PingHandler, int(os.environ["SAGEMAKER_BIND_TO_PORT"]))
    try:
        for thread in threading.enumerate():
            if thread.name == "sagemaker-inference-ready":
                thread.join(20)
                assert not thread.is_alive(), "the model was never reported ready"
    finally:
        server.shutdown()
        server.server_close()


def test_serve_prints_where_it_listens_and_the_load_time(model_dir, tmp_path, capfd, monkeypatch):
    error = "2024-05-01 10:00:00,120 ERROR [sagemaker-inference] Request failed: boom"
    start = fake_start(0, [], lines=[error], while_serving=answer_ping_until_ready_is_reported)
    install_fake_server(monkeypatch, start)
    port = free_port()
    log_file = tmp_path / "serve.log"
    argv = ["serve", "--model-dir", str(model_dir), "--port", str(port)]
    assert cli.main(argv + ["--log-file", str(log_file)]) == 0
    out = capfd.readouterr().out
    assert "serving %s on port %d" % (model_dir, port) in out
    assert "listening on http://localhost:%d" % port in out
    assert "model loaded in " in out
    assert "error: Request failed: boom" in out
    assert "stopped (exit code 0)" in out


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


@pytest.fixture(scope="module")
def echo_port():
    server = serving(_EchoHandler)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def echo_server(echo_port):
    _EchoHandler.requests = []
    return echo_port


def test_invoke_posts_a_file_and_prints_the_body(echo_server, tmp_path, capsysbinary):
    body = tmp_path / "rows.csv"
    body.write_bytes(b"1,2,3,4\n")
    argv = ["invoke", str(body), "--port", str(echo_server), "--accept", "application/json"]
    assert cli.main(argv + ["-H", "X-Amzn-SageMaker-Custom-Attributes: k=v"]) == 0
    assert capsysbinary.readouterr().out == b'{"ok": true}'
    path, headers, sent = _EchoHandler.requests[0]
    assert path == "/invocations"
    assert sent == b"1,2,3,4\n"
    assert headers["Content-Type"] == "text/csv"
    assert headers["Accept"] == "application/json"
    assert headers["X-Amzn-SageMaker-Custom-Attributes"] == "k=v"


def test_invoke_names_a_model(echo_server, capsysbinary):
    argv = ["invoke", "-d", "[1]", "--url", "127.0.0.1:%d" % echo_server, "--model", "fruit"]
    assert cli.main(argv) == 0
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
