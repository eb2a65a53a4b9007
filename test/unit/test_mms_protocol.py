"""mms_protocol reads and writes exactly what MMS's own worker protocol functions do."""

import contextlib
import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mms.protocol import otf_message_handler as mms_otf

from sagemaker_inference import mms_protocol


class ChunkedSocket:
    """recv() hands out ``data`` in the chunk sizes given (cycled), never more than asked."""

    def __init__(self, data, sizes=(1 << 30,)):
        self.data = bytes(data)
        self.sizes = list(sizes) or [1 << 30]
        self.calls = 0

    def recv(self, wanted):
        size = min(wanted, self.sizes[self.calls % len(self.sizes)])
        self.calls += 1
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def _sized(data):
    return struct.pack("!i", len(data)) + data


def predict_frame(requests):
    """A predict command as MMS's front end encodes it."""
    out = b"I"
    for request in requests:
        out += _sized(request["id"])
        for name, value in request["headers"]:
            out += _sized(name) + _sized(value)
        out += struct.pack("!i", -1)
        for name, content_type, value in request["parameters"]:
            out += _sized(name) + _sized(content_type) + _sized(value)
        out += struct.pack("!i", -1)
    return out + struct.pack("!i", -1)


def load_frame(gpu):
    return (
        b"L"
        + _sized(b"model")
        + _sized("/opt/ml/modèle".encode())
        + struct.pack("!i", 4)
        + _sized(b"my.handler")
        + struct.pack("!i", gpu)
        + _sized(b"fd-1")
    )


text = st.text(max_size=12).map(lambda s: s.encode("utf-8"))
requests_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=8).map(str.encode),
            "headers": st.lists(st.tuples(text, st.binary(max_size=20)), max_size=4),
            "parameters": st.lists(
                st.tuples(
                    st.just(b"body"),
                    st.sampled_from([b"application/x-npy", b"text/csv", b"application/json"]),
                    st.binary(max_size=300),
                ),
                max_size=2,
            ),
        }
    ),
    max_size=4,
)


def _mms_read(frame, sizes):
    return mms_otf.retrieve_msg(ChunkedSocket(frame, sizes))


@contextlib.contextmanager
def raw_bodies():
    """Both readers with the server's decode_input_request=false: bodies stay bytes."""
    saved_flag, saved_env = mms_protocol._DECODE_INPUT, os.environ.get("MMS_DECODE_INPUT_REQUEST")
    mms_protocol._DECODE_INPUT = False
    os.environ["MMS_DECODE_INPUT_REQUEST"] = "false"
    try:
        yield
    finally:
        mms_protocol._DECODE_INPUT = saved_flag
        if saved_env is None:
            del os.environ["MMS_DECODE_INPUT_REQUEST"]
        else:
            os.environ["MMS_DECODE_INPUT_REQUEST"] = saved_env


@settings(max_examples=200, deadline=None)
@given(requests_strategy, st.lists(st.integers(1, 17), min_size=1, max_size=5))
def test_predict_frames_parse_as_mms_parses_them(requests, sizes):
    frame = predict_frame(requests)
    with raw_bodies():
        ours = mms_protocol.retrieve_msg(ChunkedSocket(frame, sizes))
        theirs = _mms_read(frame, sizes)
    assert ours == theirs
    assert all(
        type(param["value"]) is bytearray for request in ours[1] for param in request["parameters"]
    )


def test_decoded_inputs_when_mms_decodes_them(monkeypatch):
    monkeypatch.setattr(mms_protocol, "_DECODE_INPUT", True)
    monkeypatch.delenv("MMS_DECODE_INPUT_REQUEST", raising=False)
    frame = predict_frame(
        [
            {
                "id": b"r1",
                "headers": [(b"Accept", b"text/csv")],
                "parameters": [
                    (b"body", b"application/json", b'{"a": [1, 2]}'),
                    (b"text", b"text/plain", "é".encode()),
                ],
            }
        ]
    )
    assert mms_protocol.retrieve_msg(ChunkedSocket(frame)) == _mms_read(frame, [1 << 30])


@pytest.mark.parametrize("gpu", [-1, 0, 3])
def test_load_frames_parse_as_mms_parses_them(gpu):
    frame = load_frame(gpu)
    assert mms_protocol.retrieve_msg(ChunkedSocket(frame, [3])) == _mms_read(frame, [3])


def test_few_reads_for_a_small_request():
    frame = predict_frame(
        [
            {
                "id": b"1",
                "headers": [(b"Content-Type", b"application/json")] * 3,
                "parameters": [(b"body", b"application/json", b"[[1, 2]]")],
            }
        ]
    )
    ours, theirs = ChunkedSocket(frame), ChunkedSocket(frame)
    mms_protocol.retrieve_msg(ours)
    mms_otf.retrieve_msg(theirs)
    assert ours.calls == 1 and theirs.calls > 20


def test_two_commands_in_one_read_are_both_answered():
    first = predict_frame([{"id": b"a", "headers": [], "parameters": []}])
    second = predict_frame([{"id": b"b", "headers": [], "parameters": []}])
    sock = ChunkedSocket(first + second)
    assert mms_protocol.retrieve_msg(sock)[1][0]["requestId"] == b"a"
    assert mms_protocol.retrieve_msg(sock)[1][0]["requestId"] == b"b"


def test_a_closed_connection_is_mms_s_disconnect_error():
    with pytest.raises(ValueError, match="Frontend disconnected"):
        mms_protocol.retrieve_msg(ChunkedSocket(b"I" + struct.pack("!i", 5) + b"ab"))


def test_unknown_command_is_refused():
    with pytest.raises(ValueError, match="Invalid command"):
        mms_protocol.retrieve_msg(ChunkedSocket(b"X"))


class FakeContext:
    def __init__(self, content_types, statuses, headers):
        self.content_types, self.statuses, self.headers = content_types, statuses, headers

    def get_response_content_type(self, idx):
        return self.content_types.get(idx)

    def get_response_status(self, idx):
        return self.statuses.get(idx, (None, None))

    def get_response_headers(self, idx):
        return self.headers.get(idx, {})


@pytest.mark.parametrize(
    "ret",
    [
        [b"\x00npy", "a,b\n", {"label": "apple"}],
        [bytearray(b"x"), "", [1, 2]],
        None,
    ],
)
@pytest.mark.parametrize("with_context", [True, False])
def test_responses_are_byte_for_byte_mms_s(ret, with_context):
    ids = {0: "r0", 1: "r1", 2: "r2"}
    context = (
        FakeContext(
            {0: "application/x-npy", 1: "text/csv"},
            {1: (400, "Bad Request"), 2: (None, None)},
            {0: {"X-A": "1"}, 2: {"X-B": "2", "X-C": "three"}},
        )
        if with_context
        else None
    )
    ours = mms_protocol.create_predict_response(ret, ids, "Prediction success", 200, context)
    theirs = mms_otf.create_predict_response(ret, ids, "Prediction success", 200, context)
    assert ours == bytes(theirs)


def test_unserialisable_output_is_mms_s_503():
    ids = {0: "r0"}
    ours = mms_protocol.create_predict_response([object()], ids, "ok", 200, None)
    theirs = mms_otf.create_predict_response([object()], ids, "ok", 200, None)
    assert ours == bytes(theirs)
    assert struct.unpack("!i", ours[:4])[0] == 503


def test_non_ascii_content_type_and_phrase_lengths_are_bytes():
    context = FakeContext({0: "text/plain; title=café"}, {0: (418, "Thé")}, {})
    frame = mms_protocol.create_predict_response(["ok"], {0: "r"}, "m", 200, context)
    pos = 4
    pos += 4 + struct.unpack_from("!i", frame, pos)[0]  # message
    pos += 4 + struct.unpack_from("!i", frame, pos)[0]  # request id
    length = struct.unpack_from("!i", frame, pos)[0]
    assert frame[pos + 4 : pos + 4 + length].decode("utf-8") == "text/plain; title=café"
    pos += 4 + length
    assert struct.unpack_from("!i", frame, pos)[0] == 418
    pos += 4
    length = struct.unpack_from("!i", frame, pos)[0]
    assert frame[pos + 4 : pos + 4 + length].decode("utf-8") == "Thé"


def test_install_replaces_mms_s_functions(monkeypatch):
    monkeypatch.setattr(mms_otf, "retrieve_msg", mms_otf.retrieve_msg)
    monkeypatch.setattr(mms_otf, "create_predict_response", mms_otf.create_predict_response)
    mms_protocol.install()
    assert mms_otf.retrieve_msg is mms_protocol.retrieve_msg
    assert mms_otf.create_predict_response is mms_protocol.create_predict_response
