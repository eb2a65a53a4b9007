"""HTTP behaviour of the Java front end with the library's patches, over raw sockets.

One single-model server (1 MB request limit) for the module; each test opens its own
connections to 127.0.0.1.
"""

import json
import socket
from typing import Dict, Optional, Tuple

import pytest

import reliability_server

pytestmark = pytest.mark.timeout(240)

LIMIT_MB = 1
LIMIT_BYTES = LIMIT_MB * 1024 * 1024
SOCKET_TIMEOUT = 30


@pytest.fixture(scope="module")
def server():
    env = {"SAGEMAKER_MAX_PAYLOAD_IN_MB": str(LIMIT_MB)}
    yield from reliability_server.module_server(env)


def connect(server) -> socket.socket:
    return socket.create_connection((reliability_server.HOST, server.port), timeout=SOCKET_TIMEOUT)


def read_response(
    sock: socket.socket, buffered: bytes = b""
) -> Tuple[int, Dict[str, str], bytes, bytes]:
    """One response from ``sock``: (status, lower-cased headers, body, bytes left over)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before a response head: {!r}".format(data))
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside a response body")
        rest += chunk
    return status, headers, rest[:length], rest[length:]


def request_bytes(
    body: bytes = reliability_server.VALID_BODY,
    extra: Optional[Dict[str, str]] = None,
    send_body: bool = True,
) -> bytes:
    headers = {"Host": "127.0.0.1", "Content-Type": "application/json"}
    headers["Content-Length"] = str(len(body))
    headers.update(extra or {})
    head = "POST /invocations HTTP/1.1\r\n" + "".join(
        "{}: {}\r\n".format(key, value) for key, value in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + (body if send_body else b"")


def assert_413_with_reason(status, headers, body):
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    assert body.strip() and body.strip().count(b"\n") == 0, body
    message = json.loads(body)["message"]
    assert str(LIMIT_BYTES) in message, message
    assert "SAGEMAKER_MAX_PAYLOAD_IN_MB" in message, message


def test_oversized_body_gets_413_with_a_one_line_reason(server):
    with connect(server) as sock:
        sock.sendall(request_bytes(b"1" * (LIMIT_BYTES + 1)))
        status, headers, body, _ = read_response(sock)
    assert_413_with_reason(status, headers, body)
    assert str(LIMIT_BYTES + 1) in json.loads(body)["message"]
    assert reliability_server.answers_correctly(server.port)


def test_oversized_expect_continue_gets_413_with_a_reason_before_the_body(server):
    oversized = b"1" * (LIMIT_BYTES + 1)
    with connect(server) as sock:
        sock.sendall(request_bytes(oversized, {"Expect": "100-continue"}, send_body=False))
        status, headers, body, _ = read_response(sock)
    assert_413_with_reason(status, headers, body)
    assert reliability_server.answers_correctly(server.port)


def test_body_at_the_limit_is_not_refused(server):
    body = b"[" + b" " * (LIMIT_BYTES - 3) + b"1]"
    assert len(body) == LIMIT_BYTES
    with connect(server) as sock:
        sock.sendall(request_bytes(body))
        status, _, answer, _ = read_response(sock)
    assert status == 200, answer
