"""Non-ASCII header values reach the handler as the client's UTF-8, or get 400; never garbled.

Requests go out as raw bytes so that the header bytes are exactly what the test says.
"""

import json
import socket

import pytest

from server_harness import module_server

pytestmark = pytest.mark.timeout(180)

# Answers the custom attributes and the X-Echo header exactly as the handler sees them.
ECHO = """
import json


def model_fn(model_dir):
    return None


def transform_fn(model, body, content_type, accept, context):
    properties = context.request_processor[0].get_request_properties()
    seen = {key.lower(): value for key, value in properties.items()}
    answer = {
        "attributes": seen.get("x-amzn-sagemaker-custom-attributes"),
        "echo": seen.get("x-echo"),
    }
    return json.dumps(answer, ensure_ascii=True), "application/json"
"""


@pytest.fixture(scope="module")
def server():
    yield from module_server({"inference.py": ECHO})


def exchange(server, header_lines):
    body = b"[1]"
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + b"".join(line + b"\r\n" for line in header_lines)
        + b"Content-Length: 3\r\nConnection: close\r\n\r\n"
        + body
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), payload


def test_utf8_custom_attributes_reach_the_handler_unchanged(server):
    attributes = "trace=café,user=Zoë,note=日本"
    status, payload = exchange(
        server,
        [
            b"X-Amzn-SageMaker-Custom-Attributes: " + attributes.encode("utf-8"),
            b"X-Echo: na\xc3\xafve",
        ],
    )
    assert status == 200, payload
    assert json.loads(payload) == {"attributes": attributes, "echo": "naïve"}


def test_ascii_headers_are_untouched(server):
    status, payload = exchange(server, [b"X-Amzn-SageMaker-Custom-Attributes: a=1, b=%C3%A9"])
    assert status == 200, payload
    assert json.loads(payload)["attributes"] == "a=1, b=%C3%A9"


@pytest.mark.parametrize(
    "value",
    [b"caf\xe9", b"\xff\xfe", b"ok\xc3"],
    ids=["latin-1", "invalid-bytes", "truncated-sequence"],
)
def test_header_value_that_is_not_utf8_gets_400_with_the_header_name(server, value):
    status, payload = exchange(server, [b"X-Amzn-SageMaker-Custom-Attributes: " + value])
    assert status == 400, payload
    assert payload.strip().count(b"\n") == 0
    message = json.loads(payload)["message"]
    assert "X-Amzn-SageMaker-Custom-Attributes" in message and "UTF-8" in message
