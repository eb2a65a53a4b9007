"""Every request of the hostile corpus against one real server (Java MMS + the library's worker).

Each case must get its expected 4xx (or 413) with a clean answer: a status line and headers of
printable ASCII only (no header smuggled in through CR/LF) and a body without traceback text
that is one line. The Java front end's own answers (requests it cannot parse as HTTP, unknown
paths or models, 413) are MMS's pretty-printed JSON error documents, which the library cannot
change: for those the body must be such a document. Right after each case the server must still
answer a valid request correctly, and no pickle payload may ever run.

Requests go out as raw bytes over a socket, sequentially, one connection each.
"""

import json
import os
import re
import socket
import tempfile
import threading
import uuid
from typing import List, NamedTuple, Optional, Tuple

import pytest

import hostile_corpus
import reliability_server

pytestmark = pytest.mark.timeout(300)

PAYLOAD_LIMIT_MB = 2
MAX_REQUEST_BYTES = PAYLOAD_LIMIT_MB * 1024 * 1024
MARKER_PATH = os.path.join(
    tempfile.gettempdir(), "sagemaker-hostile-pickle-ran-" + uuid.uuid4().hex
)
CORPUS = hostile_corpus.build_corpus(MARKER_PATH, MAX_REQUEST_BYTES)
SOCKET_TIMEOUT = 30
MAX_ERROR_BODY = 4096
TRACEBACK_SIGNS = (b"Traceback (most recent call last)", b'File "', b"\tat com.", b"    at ")


class RawResponse(NamedTuple):
    status: Optional[int]
    head_lines: List[bytes]
    headers: List[Tuple[bytes, bytes]]
    body: bytes
    error: Optional[str]

    def header(self, name: bytes) -> Optional[bytes]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def _send(sock: socket.socket, data: bytes, errors: List[str]) -> None:
    try:
        sock.sendall(data)
    except OSError as exc:  # the server may answer and close before it has read everything
        errors.append(repr(exc))


def _parse_head(head: bytes) -> Tuple[Optional[int], List[bytes], List[Tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip(), value.strip()))
    return status, lines, headers


def exchange(port: int, request: bytes) -> RawResponse:
    """Send ``request`` (while reading, in case the server answers early) and read one response."""
    send_errors: List[str] = []
    sock = socket.create_connection((reliability_server.HOST, port), timeout=SOCKET_TIMEOUT)
    sender = threading.Thread(target=_send, args=(sock, request, send_errors), daemon=True)
    sender.start()
    received = b""
    error = None
    status, lines, headers, body = None, [], [], b""
    try:
        while True:
            if status is None and b"\r\n\r\n" in received:
                head, _, rest = received.partition(b"\r\n\r\n")
                status, lines, headers = _parse_head(head)
                length = dict((k.lower(), v) for k, v in headers).get(b"content-length")
                if length is not None and length.isdigit():
                    if len(rest) >= int(length):
                        body = rest[: int(length)]
                        break
                received = b"\r\n\r\n".join([head, rest])
            try:
                chunk = sock.recv(65536)
            except OSError as exc:
                error = repr(exc)
                break
            if not chunk:
                break
            received += chunk
        if status is not None and not body and b"\r\n\r\n" in received:
            body = received.partition(b"\r\n\r\n")[2]
    finally:
        sock.close()
        sender.join(timeout=SOCKET_TIMEOUT)
    if status is None:
        error = error or "no response"
        if send_errors:
            error += " (send: {})".format(send_errors[0])
    return RawResponse(status, lines, headers, body, error)


def _printable(line: bytes) -> bool:
    return all(byte == 9 or 32 <= byte < 127 for byte in line)


def check_clean(response: RawResponse) -> List[str]:
    """Problems with the response's framing and body (an empty list when it is clean)."""
    problems = []
    for line in response.head_lines:
        if not _printable(line):
            problems.append("head line with CR/LF or non-ASCII bytes: {!r}".format(line[:300]))
    names = [name.lower().decode("latin-1") for name, _ in response.headers]
    for injected in hostile_corpus.INJECTED_HEADERS:
        if injected in names:
            problems.append("response carries an injected header {}".format(injected))
    body = response.body
    for sign in TRACEBACK_SIGNS:
        if sign in body:
            problems.append("body shows a traceback ({!r}): {!r}".format(sign, body[:300]))
    if len(body) > MAX_ERROR_BODY:
        problems.append("error body of {} bytes".format(len(body)))
    content_type = (response.header(b"content-type") or b"").lower()
    if content_type.startswith(b"application/json"):
        problems.extend(_check_mms_json(body))
    elif b"\r" in body or b"\n" in body:
        problems.append("body is not one line: {!r}".format(body[:300]))
    return problems


def _check_mms_json(body: bytes) -> List[str]:
    try:
        document = json.loads(body)
    except ValueError:
        return ["JSON error body does not parse: {!r}".format(body[:300])]
    if not isinstance(document, dict) or not isinstance(document.get("message"), str):
        return ["JSON error body is not MMS's error document: {!r}".format(body[:300])]
    return []


def _param(case: hostile_corpus.Case):
    marks = ()
    if case.known_bug:
        reason = "{}".format(case.known_bug)
        marks = (pytest.mark.xfail(strict=case.known_bug_strict, reason=reason),)
    return pytest.param(case, id=case.name, marks=marks)


def _log_excerpt(server) -> str:
    """Log lines that explain a failed worker (MMS's codec errors, dead workers, tracebacks)."""
    wanted = re.compile(r"exceed limit|Invalid message size|died|Traceback|Error", re.IGNORECASE)
    try:
        with open(server.log_path, errors="replace") as handle:
            lines = [line.rstrip()[:300] for line in handle if wanted.search(line)]
    except OSError:
        return "(no log)"
    return "\n".join(lines[-15:])


@pytest.fixture(scope="module")
def server():
    env = {
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(PAYLOAD_LIMIT_MB),
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
    }
    yield from reliability_server.module_server(env, scratch_file=MARKER_PATH)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 40
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", [_param(case) for case in CORPUS])
def test_hostile_request_is_rejected_cleanly(server, case):
    response = exchange(server.port, case.request_bytes())
    assert response.status is not None, "{}: {}".format(case.name, response.error)
    assert case.status_matches(response.status), "{}: got {} {!r}\nlog:\n{}".format(
        case.name, response.head_lines[:1], response.body[:300], _log_excerpt(server)
    )
    assert check_clean(response) == []
    assert not os.path.exists(MARKER_PATH), "a pickle payload ran"
    assert reliability_server.answers_correctly(server.port), "no valid answer after the case"


def test_no_pickle_payload_ever_ran(server):
    assert not os.path.exists(MARKER_PATH)


def test_server_survived_the_corpus(server):
    assert server.process.poll() is None
    assert reliability_server.answers_correctly(server.port)


def test_error_answers_after_steady_traffic_keep_the_worker(server):
    """After many identical answers MMS reads the worker's socket in chunks of about their size;
    a longer error answer then arrives split, here inside its header map for phrases of about
    40-80 characters. Each must still be a 400, never 500 "Worker died"."""
    statuses = []
    for length in range(20, 72, 6):
        for _ in range(60):
            assert reliability_server.answers_correctly(server.port)
        content_type = "application/json; charset=" + "k" * length
        status, _, _, body = reliability_server.invoke(server.port, b"[1]", content_type)
        statuses.append(status)
        if status != 400:
            reliability_server.wait_for_worker(server.port)
    assert statuses == [400] * len(statuses), _log_excerpt(server)
