"""cli.invoke: the request ``invoke`` builds and what it prints, with ``post`` faked (the real
HTTP exchange is in test/process/test_cli.py)."""

import io
import sys

import pytest

from sagemaker_inference import cli
from sagemaker_inference.cli import invoke


@pytest.fixture
def server(monkeypatch):
    """A fake ``post``: records (url, body, headers, timeout) and answers ``server.answer``."""

    class Server(object):
        sent = []
        answer = (200, "OK", "application/json", b'{"ok": true}')

    def post(url, body, headers, timeout):
        Server.sent.append((url, body, headers, timeout))
        if isinstance(Server.answer, Exception):
            raise Server.answer
        return Server.answer

    Server.sent = []
    monkeypatch.setattr(invoke, "post", post)
    monkeypatch.delenv("SAGEMAKER_BIND_TO_PORT", raising=False)
    return Server


def test_a_file_is_posted_with_its_type_and_the_headers(server, tmp_path, capsysbinary):
    body = tmp_path / "rows.csv"
    body.write_bytes(b"1,2,3,4\n")
    argv = ["invoke", str(body), "--port", "9001", "--accept", "application/json"]
    argv += ["-H", "X-Amzn-SageMaker-Custom-Attributes: k=v", "--timeout", "5"]
    assert cli.main(argv) == 0
    assert capsysbinary.readouterr().out == b'{"ok": true}'
    url, sent, headers, timeout = server.sent[0]
    assert (url, sent, timeout) == ("http://localhost:9001/invocations", b"1,2,3,4\n", 5.0)
    assert headers == {
        "Content-Type": "text/csv",
        "Accept": "application/json",
        "X-Amzn-SageMaker-Custom-Attributes": "k=v",
    }


def test_stdin_goes_to_a_named_model(server, capsysbinary, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"[1]")))
    assert cli.main(["invoke", "--url", "127.0.0.1:9001", "--model", "fruit"]) == 0
    url, sent, headers, _ = server.sent[0]
    assert (url, sent) == ("http://127.0.0.1:9001/models/fruit/invoke", b"[1]")
    assert headers == {"Content-Type": "application/json"}


def test_the_port_defaults_to_the_bind_variable(server, capsysbinary, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9005")
    assert cli.main(["invoke", "-d", "[1]", "-c", "text/csv"]) == 0
    url, sent, headers, _ = server.sent[0]
    assert (url, sent, headers["Content-Type"]) == (
        "http://localhost:9005/invocations",
        b"[1]",
        "text/csv",
    )


def test_non_2xx_exits_1_with_the_reason(server, capsys):
    server.answer = (400, "Bad Request: not JSON", "text/plain", b"could not\nparse the body")
    assert cli.main(["invoke", "-d", "bad"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "sagemaker-inference: error: HTTP 400 Bad Request: not JSON: could not parse the body\n"
    )


def test_a_body_that_repeats_the_reason_is_not_shown_twice(server, capsys):
    server.answer = (503, "Busy", "text/plain", b"Busy\n")
    assert cli.main(["invoke", "-d", "x"]) == 1
    assert capsys.readouterr().err == "sagemaker-inference: error: HTTP 503 Busy\n"


def test_unreachable_server_exits_3(server, capsys):
    server.answer = ConnectionRefusedError(111, "Connection refused")
    assert cli.main(["invoke", "-d", "[1]", "--port", "9001"]) == 3
    assert capsys.readouterr().err == (
        "sagemaker-inference: error: cannot reach http://localhost:9001/invocations "
        "(Connection refused); is `sagemaker-inference serve` running?\n"
    )


def test_the_answer_can_go_to_a_file(server, tmp_path, capsys):
    out = tmp_path / "answer.json"
    assert cli.main(["invoke", "-d", "[1]", "-o", str(out)]) == 0
    assert out.read_bytes() == b'{"ok": true}'
    assert capsys.readouterr().err == (
        "sagemaker-inference: wrote 12 bytes (application/json) to %s\n" % out
    )


def test_missing_file_is_a_usage_error(server, tmp_path, capsys):
    assert cli.main(["invoke", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert server.sent == []
