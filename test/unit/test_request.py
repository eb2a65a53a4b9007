"""request.Request: one pass over the headers, the Content-Type parsed once, text bodies."""

import pytest

from fake_mms import FakeContext
from sagemaker_inference import errors, request
from sagemaker_inference.mediatypes import ContentType


def make(headers, body=b"", index=0):
    context = FakeContext(headers=[headers])
    return request.Request(context, index, {"body": body})


def test_headers_content_type_and_accept_whatever_the_spelling():
    req = make({"CONTENT-TYPE": "Application/JSON; Charset=UTF-8", "accept": "text/csv", "X": 1})
    assert isinstance(req.content_type, ContentType)
    assert req.content_type == "Application/JSON; Charset=UTF-8"
    assert req.content_type.media_type.essence == "application/json"
    assert req.content_type.media_type.charset == "utf-8"
    assert req.accept == "text/csv"
    assert req.header("Accept") == "text/csv"
    assert "x" not in req.headers  # only str values are headers


def test_an_unparsable_content_type_is_kept_as_sent():
    req = make({"Content-Type": "not a type"})
    assert req.content_type == "not a type" and not isinstance(req.content_type, ContentType)
    assert req.text_body() == b""


def test_missing_headers_and_request_processor():
    assert make({}).content_type is None and make({}).accept is None
    lonely = request.Request(FakeContext(headers=[{}]), 3, b"raw")
    assert lonely.properties == {} and lonely.body == b"raw"


@pytest.mark.parametrize(
    "content_type, body, expected",
    [
        ("text/csv", b"1,2", "1,2"),
        ("application/json; charset=latin-1", "[\u00e9]".encode("latin-1"), "[\u00e9]"),
        ("application/x-npy", b"\x93NUMPY", b"\x93NUMPY"),
        ("application/json", memoryview(b"[1]"), "[1]"),
    ],
)
def test_text_body(content_type, body, expected):
    assert make({"Content-Type": content_type}, body).text_body() == expected


@pytest.mark.parametrize(
    "content_type, body", [("text/csv; charset=nope", b"1"), ("text/csv", b"\xff\xfe\xfa")]
)
def test_text_body_errors_are_400(content_type, body):
    with pytest.raises(errors.BadRequestError):
        make({"Content-Type": content_type}, body).text_body()


def test_current_request_and_response_setters():
    req = make({"X-Amzn-SageMaker-Custom-Attributes": "a=1"})
    assert request.current_request() is None
    token = request.enter(req)
    try:
        assert request.current_request() is req
    finally:
        request.leave(token)
    assert request.current_request() is None
    assert req.custom_attributes == "a=1"
    req.set_response_header("X-A", "b")
    req.set_response_status(201, "Created")
    assert req.context.get_response_status(0)[0] == 201


@pytest.mark.parametrize(
    "value, expected",
    [(b"x", b"x"), ("x", "x"), (memoryview(b"m"), b"m"), ({"a": 1}, '{\n  "a": 1\n}')],
)
def test_wire_value(value, expected):
    assert request.wire_value(value) == expected


def test_wire_value_refuses_what_cannot_be_sent():
    with pytest.raises(TypeError, match="return \\(body, content_type\\)"):
        request.wire_value(object())
