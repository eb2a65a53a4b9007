"""HTTP behaviour of the Java front end with the library's patches, over raw sockets.

One single-model server (1 MB request limit, 3 s keep-alive timeout) for the module; each test
opens its own connections to 127.0.0.1.
"""

import json
import socket
import textwrap
import time
from typing import Dict, Optional, Tuple

import pytest

import reliability_server

pytestmark = pytest.mark.timeout(240)

LIMIT_MB = 1
LIMIT_BYTES = LIMIT_MB * 1024 * 1024
SOCKET_TIMEOUT = 30
IDLE_SECONDS = 3

# The reliability model ([[x, ...]] -> x * FACTOR); [[-5, s]] sleeps s seconds first.
SOURCE = reliability_server.INFERENCE_SOURCE + textwrap.dedent("""

    _scale = predict_fn


    def predict_fn(data, model):
        import time

        rows = np.asarray(data, dtype=float)
        if rows.ndim == 2 and rows.shape[1] == 2 and rows[0, 0] == -5:
            time.sleep(rows[0, 1])
        return _scale(data, model)
    """)


@pytest.fixture(scope="module")
def server():
    env = {
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(LIMIT_MB),
        "SAGEMAKER_KEEP_ALIVE_TIMEOUT_SECONDS": str(IDLE_SECONDS),
        "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
    }
    yield from reliability_server.module_server(env, source=SOURCE)


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
    version: str = "HTTP/1.1",
) -> bytes:
    headers = {"Host": "127.0.0.1", "Content-Type": "application/json"}
    headers["Content-Length"] = str(len(body))
    headers.update(extra or {})
    head = "POST /invocations {}\r\n".format(version) + "".join(
        "{}: {}\r\n".format(key, value) for key, value in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + (body if send_body else b"")


def closed_within(sock: socket.socket, seconds: float) -> Optional[float]:
    """Seconds until the server closed ``sock`` cleanly (None if it stayed open ``seconds``);
    a reset instead of a clean close fails the test."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(65536):
                return time.monotonic() - started
    except socket.timeout:
        return None
    except ConnectionResetError:
        pytest.fail("the server reset the connection instead of closing it")
    finally:
        sock.settimeout(SOCKET_TIMEOUT)


def valid_answer(body: bytes) -> bool:
    return json.loads(body) == reliability_server.VALID_ANSWER


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


def test_connection_close_from_the_client_is_honoured(server):
    with connect(server) as sock:
        sock.sendall(request_bytes(extra={"Connection": "close"}))
        status, headers, body, _ = read_response(sock)
        assert status == 200 and valid_answer(body)
        assert headers.get("connection", "").lower() == "close"
        assert closed_within(sock, 2) is not None, "the server kept the connection open"


def test_http_1_0_without_keep_alive_is_closed_after_the_answer(server):
    with connect(server) as sock:
        sock.sendall(request_bytes(version="HTTP/1.0"))
        status, _, body, _ = read_response(sock)
        assert status == 200 and valid_answer(body)
        assert closed_within(sock, 2) is not None


def test_keep_alive_connection_serves_several_requests(server):
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(request_bytes())
            status, headers, body, _ = read_response(sock)
            assert status == 200 and valid_answer(body)
            assert headers.get("connection", "").lower() != "close"


def test_idle_keep_alive_connection_is_closed_after_the_timeout(server):
    with connect(server) as sock:
        sock.sendall(request_bytes())
        status, _, _, _ = read_response(sock)
        assert status == 200
        waited = closed_within(sock, IDLE_SECONDS + 10)
    assert waited is not None, "idle connection still open after {} s".format(IDLE_SECONDS + 10)
    assert IDLE_SECONDS - 1 <= waited <= IDLE_SECONDS + 3


def test_request_slower_than_the_idle_timeout_is_still_answered(server):
    slow = json.dumps([[-5, IDLE_SECONDS + 2]]).encode()
    with connect(server) as sock:
        sock.sendall(request_bytes(slow))
        status, _, body, _ = read_response(sock)
    assert status == 200, body
    assert json.loads(body) == [[-5 * reliability_server.FACTOR, (IDLE_SECONDS + 2) * 2.0]]


def test_pipelined_requests_are_answered_in_request_order(server):
    slow = json.dumps([[-5, 1.5]]).encode()
    fast = json.dumps([[7, 8]]).encode()
    with connect(server) as sock:
        sock.sendall(request_bytes(slow) + request_bytes(fast) + request_bytes(fast))
        first = read_response(sock)
        second = read_response(sock, first[3])
        third = read_response(sock, second[3])
    answers = [json.loads(response[2]) for response in (first, second, third)]
    factor = reliability_server.FACTOR
    assert [response[0] for response in (first, second, third)] == [200, 200, 200]
    assert answers == [[[-5 * factor, 1.5 * factor]], [[7 * factor, 8 * factor]]] + [
        [[7 * factor, 8 * factor]]
    ]
