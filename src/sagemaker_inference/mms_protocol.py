"""MMS's worker protocol, read and written with few system calls (the wire format is MMS's).

MMS's own Python side (``mms.protocol.otf_message_handler``) reads every field of a request
frame with its own ``recv`` (a 4-byte length, then the bytes it announces: a dozen calls for one
small request) and builds the response by appending to a bytearray. Profiles of a worker under
load put about a third of its time there. :func:`retrieve_msg` reads the socket in large chunks
into a per-connection buffer and parses the fields from memory; :func:`create_predict_response`
joins the response parts once. Both give the same values (``bytearray`` fields, the same dict
keys) and the same bytes as MMS's functions, except that the lengths of a content type and a
reason phrase are counted in bytes, as the front end reads them (MMS counted characters, which
broke frames carrying non-ASCII text). :func:`install` puts them in MMS's module before its
worker script imports them.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import weakref
from typing import Any, Dict, List, Mapping, Optional, Tuple

_INT = struct.Struct("!i")
_END = _INT.pack(-1)
_ZERO = _INT.pack(0)
_CHUNK = 64 * 1024
LOAD_MSG = b"L"
PREDICT_MSG = b"I"


class FrameReader:
    """Buffered reads of MMS frame fields from one connected socket."""

    def __init__(self, sock: Any):
        self._sock = sock
        self._buffer = bytearray()
        self._pos = 0

    def _fill(self, need: int) -> None:
        while len(self._buffer) - self._pos < need:
            if self._pos:
                del self._buffer[: self._pos]
                self._pos = 0
            chunk = self._sock.recv(max(_CHUNK, need - len(self._buffer)))
            if not chunk:
                logging.info("Frontend disconnected.")
                raise ValueError("Frontend disconnected")
            self._buffer += chunk

    def take(self, length: int) -> bytearray:
        """The next ``length`` bytes."""
        self._fill(length)
        data = self._buffer[self._pos : self._pos + length]
        self._pos += length
        return data

    def integer(self) -> int:
        """The next big-endian 32-bit signed integer."""
        self._fill(4)
        (value,) = _INT.unpack_from(self._buffer, self._pos)
        self._pos += 4
        return value

    def sized(self) -> Optional[bytearray]:
        """A length-prefixed field; None for MMS's end-of-list marker (length -1)."""
        length = self.integer()
        return None if length == -1 else self.take(length)


_readers: "weakref.WeakKeyDictionary[Any, FrameReader]" = weakref.WeakKeyDictionary()
# MMS's worker reads this per input value; it is fixed for the life of the process.
_DECODE_INPUT = os.environ.get("MMS_DECODE_INPUT_REQUEST") in (None, "true")


def _reader(conn: Any) -> FrameReader:
    reader = _readers.get(conn)
    if reader is None:
        reader = _readers[conn] = FrameReader(conn)
    return reader


def retrieve_msg(conn: Any) -> Tuple[bytes, Any]:
    """One command from the front end: ``(b"L", load request)`` or ``(b"I", [requests])``."""
    reader = _reader(conn)
    cmd = reader.take(1)
    if cmd == LOAD_MSG:
        return cmd, _load_request(reader)
    if cmd == PREDICT_MSG:
        requests = []
        while True:
            request = _request(reader)
            if request is None:
                return cmd, requests
            requests.append(request)
    raise ValueError("Invalid command: {}".format(cmd))


def _load_request(reader: FrameReader) -> Dict[str, Any]:
    msg: Dict[str, Any] = {"modelName": reader.take(reader.integer())}
    msg["modelPath"] = reader.take(reader.integer())
    msg["batchSize"] = reader.integer()
    msg["handler"] = reader.take(reader.integer())
    gpu = reader.integer()
    if gpu >= 0:
        msg["gpu"] = gpu
    msg["ioFileDescriptor"] = reader.take(reader.integer())
    return msg


def _request(reader: FrameReader) -> Optional[Dict[str, Any]]:
    request_id = reader.sized()
    if request_id is None:
        return None
    headers = []
    while True:
        name = reader.sized()
        if name is None:
            break
        headers.append({"name": name, "value": reader.take(reader.integer())})
    parameters = []
    while True:
        name = reader.sized()
        if name is None:
            break
        content_type = reader.take(reader.integer()).decode("utf-8")
        value: Any = reader.take(reader.integer())
        if _DECODE_INPUT and content_type == "application/json":
            value = json.loads(value.decode("utf-8"))
        elif _DECODE_INPUT and content_type.startswith("text"):
            value = value.decode("utf-8")
        parameters.append(
            {"name": name.decode("utf-8"), "contentType": content_type, "value": value}
        )
    return {"requestId": request_id, "headers": headers, "parameters": parameters}


def _sized(parts: List[bytes], data: bytes) -> None:
    parts.append(_INT.pack(len(data)))
    parts.append(data)


def _headers(parts: List[bytes], headers: Mapping[str, str]) -> None:
    parts.append(_INT.pack(len(headers)))
    for name, value in headers.items():
        _sized(parts, name.encode("utf-8"))
        _sized(parts, value.encode("utf-8"))


def create_predict_response(
    ret: Optional[List[Any]],
    req_id_map: Mapping[int, str],
    message: str,
    code: int,
    context: Any = None,
) -> bytes:
    """The response frame for a batch, as MMS's function of the same name builds it."""
    parts = [_INT.pack(code)]
    _sized(parts, message.encode("utf-8"))
    for idx in req_id_map:
        _sized(parts, req_id_map[idx].encode("utf-8"))
        if context is None:
            parts += [_ZERO, _INT.pack(code), _ZERO, _ZERO]
        else:
            content_type = context.get_response_content_type(idx)
            if content_type:
                _sized(parts, content_type.encode("utf-8"))
            else:
                parts.append(_ZERO)
            status, phrase = context.get_response_status(idx)
            parts.append(_INT.pack(status if status is not None else 200))
            _sized(parts, (phrase if phrase is not None else "").encode("utf-8"))
            _headers(parts, context.get_response_headers(idx))
        if ret is None:
            _sized(parts, b"error")
            continue
        value = ret[idx]
        if isinstance(value, (bytes, bytearray)):
            _sized(parts, value)
        elif isinstance(value, str):
            _sized(parts, value.encode("utf-8"))
        else:
            try:
                _sized(parts, json.dumps(value, indent=2).encode("utf-8"))
            except TypeError:
                logging.warning("Unable to serialize model output.", exc_info=True)
                return create_predict_response(
                    None, req_id_map, "Unsupported model output data type.", 503
                )
    parts.append(_END)
    return b"".join(parts)


def install() -> None:
    """Replace MMS's two functions in its module, before MMS's worker script imports them."""
    from mms.protocol import otf_message_handler

    otf_message_handler.retrieve_msg = retrieve_msg
    otf_message_handler.create_predict_response = create_predict_response
