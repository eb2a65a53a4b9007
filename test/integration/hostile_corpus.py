"""Malformed and hostile requests for POST /invocations, each with the status it must get.

``build_corpus(marker_path, max_request_bytes)`` returns the cases. Every case is sent as raw
bytes over a socket (HTTP clients refuse CR/LF and non-ASCII in header values, which several
cases need), so a case is the request line, the headers and the body exactly as they go on the
wire. ``expect`` is a status code or a status class such as ``"4xx"``.

The pickle cases unpickle to ``open(marker_path, "w")``: if the server ever unpickles one, the
marker file appears. ``known_bug`` marks a case the server currently answers wrongly (the test
expects it to fail until fixed) and says what happens instead.
"""

import builtins
import io
import pickle
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple, Union

import numpy as np

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
JSONLINES = "application/jsonlines"

_TLS_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"

# Header names a CR/LF injection would try to add to the response.
INJECTED_HEADERS = ("x-injected", "set-cookie")

Header = Tuple[bytes, bytes]


@dataclass(frozen=True)
class Case:
    name: str
    expect: Union[int, str]
    body: bytes = b""
    content_type: Optional[bytes] = JSON.encode()
    accept: Optional[bytes] = None
    headers: Tuple[Header, ...] = ()
    method: bytes = b"POST"
    path: bytes = b"/invocations"
    # False: no Content-Length header (the case's headers carry the framing, or there is none)
    content_length: bool = True
    # The whole request as sent, for cases that are not HTTP at all
    raw: Optional[bytes] = None
    known_bug: Optional[str] = None
    # False when the known bug shows only for some histories of the server (see the bug entry)
    known_bug_strict: bool = True

    def status_matches(self, status: int) -> bool:
        if isinstance(self.expect, int):
            return status == self.expect
        return str(status)[0] == self.expect[0] and self.expect.endswith("xx")

    def request_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        lines = [self.method + b" " + self.path + b" HTTP/1.1", b"Host: 127.0.0.1"]
        if self.content_type is not None:
            lines.append(b"Content-Type: " + self.content_type)
        if self.accept is not None:
            lines.append(b"Accept: " + self.accept)
        for name, value in self.headers:
            lines.append(name + b": " + value)
        if self.content_length:
            lines.append(b"Content-Length: %d" % len(self.body))
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


# ---- payload builders ---------------------------------------------------------------------------


class _OpensMarker(object):
    """Unpickling this calls ``open(path, "w")``, which creates the marker file."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self) -> Tuple[Callable, Tuple[str, str]]:
        return (builtins.open, (self.path, "w"))


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def pickled_object_npy(marker_path: str) -> bytes:
    array = np.empty(1, dtype=object)
    array[0] = _OpensMarker(marker_path)
    return npy_bytes(array)


def npy_with_header(header: str, data: bytes = b"", version: Tuple[int, int] = (1, 0)) -> bytes:
    """An NPY file whose header text is ``header`` verbatim (padded as numpy pads it)."""
    text = header.encode("latin-1")
    length_size = 2 if version == (1, 0) else 4
    padding = 64 - (6 + 2 + length_size + len(text) + 1) % 64
    text += b" " * (padding % 64) + b"\n"
    length = struct.pack("<H" if length_size == 2 else "<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text + data


def _npy_header(descr: str, shape: str, fortran: bool = False) -> str:
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


def _zip(members: List[Tuple[bytes, bytes, int, int, int]]) -> bytes:
    """A ZIP archive from (name, stored data, method, crc, declared uncompressed size) members.

    Written by hand so that sizes and checksums can lie.
    """
    local = io.BytesIO()
    central = io.BytesIO()
    for name, data, method, crc, size in members:
        offset = local.tell()
        fields = (20, 0, method, 0, 0x21, crc, len(data), size, len(name), 0)
        local.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + name + data)
        central.write(
            struct.pack("<IH", 0x02014B50, 20)
            + struct.pack("<HHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, offset)
            + name
        )
    directory = central.getvalue()
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), local.tell(), 0
    )
    return local.getvalue() + directory + end


def _stored(name: bytes, data: bytes) -> Tuple[bytes, bytes, int, int, int]:
    return (name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data))


def zip_bomb_npz(megabytes: int) -> bytes:
    """An NPZ whose one member is an honest NPY of ``megabytes`` MiB of zeros, deflated.

    Deflate streams flushed with Z_FULL_FLUSH restart their state, so each further MiB of zeros
    compresses to the same bytes: the archive is about 1 KiB per MiB and costs no compression.
    """
    chunk = bytes(1 << 20)
    header = npy_with_header(_npy_header("<f8", "(%d,)" % (megabytes << 17)))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    crc = zlib.crc32(header)
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    stream = first + repeated * megabytes + tail
    size = len(header) + megabytes * len(chunk)
    return _zip([(b"data.npy", stream, zipfile.ZIP_DEFLATED, crc, size)])


def understated_npz(megabytes: int) -> bytes:
    """A member that declares 64 bytes but inflates to ``megabytes`` MiB (CRC of 64 bytes)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    header = npy_with_header(_npy_header("<f8", "(8,)"))
    stream = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream += (compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)) * megabytes
    stream += compressor.flush()
    declared = header + bytes(64)
    return _zip([(b"data.npy", stream, zipfile.ZIP_DEFLATED, zlib.crc32(declared), len(declared))])


def sparse_npz(member_overrides: Optional[dict] = None) -> bytes:
    """The members scipy.sparse.save_npz writes for a 2x3 CSR matrix, some replaced."""
    members = {
        b"indices.npy": npy_bytes(np.array([0, 2], dtype=np.int32)),
        b"indptr.npy": npy_bytes(np.array([0, 1, 2], dtype=np.int32)),
        b"format.npy": npy_bytes(np.array("csr")),
        b"shape.npy": npy_bytes(np.array([2, 3])),
        b"data.npy": npy_bytes(np.array([1.0, 2.0])),
    }
    members.update(member_overrides or {})
    return _zip([_stored(name, data) for name, data in members.items() if data is not None])


def many_members_npz(count: int) -> bytes:
    member = npy_bytes(np.zeros(1))
    return _zip([_stored(b"m%05d.npy" % i, member) for i in range(count)])


# ---- the corpus ---------------------------------------------------------------------------------


def _json_cases() -> List[Case]:
    return [
        Case("json_truncated", 400, b"[[1, 2, 3], [4, 5"),
        Case("json_invalid_literal", 400, b'{"instances": tru}'),
        Case("json_trailing_garbage", 400, b"[1, 2, 3] ; DROP TABLE models"),
        Case("json_single_quotes", 400, b"[['a', 'b']]"),
        Case("json_ragged_rows", 400, b"[[1, 2, 3], [4, 5]]"),
        Case("json_deeply_nested_arrays", 400, b"[" * 100000 + b"]" * 100000),
        Case("json_deeply_nested_unclosed", 400, b"[" * 1000000),
        Case("json_nested_objects", 400, b'{"a":' * 50000 + b"1" + b"}" * 50000),
        Case("json_more_dimensions_than_numpy", 400, b"[" * 200 + b"1" + b"]" * 200),
        Case("json_integer_with_5000_digits", 400, b"[" + b"9" * 5000 + b"]"),
        Case("json_invalid_utf8", 400, b'[1, "\xff\xfe"]'),
        Case("json_nul_bytes", 400, b"\x00" * 64),
        Case("json_empty_body", 400, b""),
        Case("json_whitespace_body", 400, b" \r\n\t "),
        Case(
            "json_nan",
            400,
            b"[NaN, 1]",
        ),
        Case(
            "json_infinity",
            400,
            b"[Infinity, -Infinity, 1e999]",
        ),
        Case("jsonlines_bad_record", 400, b"[1, 2]\n[3, \n", JSONLINES.encode()),
    ]


def _charset_cases() -> List[Case]:
    return [
        Case("charset_unknown", 400, b"[1]", b"application/json; charset=klingon"),
        Case("charset_not_text_codec", 400, b"[1]", b"application/json; charset=base64"),
        Case("charset_utf16_odd_length", 400, b"[1, 2, 3]", b"application/json; charset=utf-16"),
        Case(
            "charset_latin1_body_declared_utf8", 400, b'[1, "caf\xe9"]', b"text/csv; charset=utf-8"
        ),
        Case("charset_utf16_body_undeclared", 400, "[1, 2]".encode("utf-16"), JSON.encode()),
        Case(
            "charset_3000_chars",
            400,
            b"[1]",
            b"application/json; charset=" + b"a" * 3000,
        ),
    ]


def _csv_cases() -> List[Case]:
    csv = CSV.encode()
    return [
        Case("csv_ragged_rows", 400, b"1,2,3\n4,5\n6,7,8\n", csv),
        Case("csv_non_numeric_cell", 400, b"1,2,abc\n", csv),
        Case("csv_formula_injection", 400, b"=cmd|' /C calc'!A0,1\n", csv),
        Case("csv_quoted_text", 400, b'"a,b",c\n', csv),
        Case("csv_nul_in_cell", 400, b"1,2\x00,3\n", csv),
        Case("csv_hex_numbers", 400, b"0x10,0x20\n", csv),
        Case("csv_only_comments", 400, b"# nothing here\n\n", csv),
        Case("csv_empty_body", 400, b"", csv),
        Case("csv_200000_text_cells", 400, b",".join([b"x"] * 200000), csv),
    ]


def _npy_cases(marker_path: str) -> List[Case]:
    npy = NPY.encode()
    return [
        Case("npy_pickled_object_array", 400, pickled_object_npy(marker_path), npy),
        Case("npy_plain_pickle_stream", 400, pickle.dumps(_OpensMarker(marker_path)), npy),
        Case(
            "npy_structured_dtype_with_object_field",
            400,
            npy_with_header(
                "{'descr': [('a', '<f8'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }",
                bytes(16),
            ),
            npy,
        ),
        Case(
            "npy_header_code_not_literal",
            400,
            npy_with_header(
                "{'descr': open(%r, 'w'), 'fortran_order': False, 'shape': (1,), }" % marker_path,
                bytes(8),
            ),
            npy,
        ),
        Case(
            "npy_header_claims_more_data",
            400,
            npy_with_header(_npy_header("<f8", "(1000000,)"), bytes(16)),
            npy,
        ),
        Case(
            "npy_header_claims_2_pow_124_bytes",
            400,
            npy_with_header(_npy_header("<f8", "(%d, %d)" % (2**60, 2**60)), bytes(16)),
            npy,
        ),
        Case(
            "npy_header_negative_dimension",
            400,
            npy_with_header(_npy_header("<f8", "(-1,)"), bytes(64)),
            npy,
        ),
        Case(
            "npy_zero_itemsize_trillion_elements",
            "4xx",
            npy_with_header(_npy_header("|V0", "(1000000000000,)")),
            npy,
        ),
        Case(
            "npy_header_length_2_pow_31",
            400,
            b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{'descr': '<f8'",
            npy,
        ),
        Case(
            "npy_unknown_version",
            400,
            npy_with_header(_npy_header("<f8", "(1,)"), bytes(8), (9, 0)),
            npy,
        ),
        Case("npy_truncated_magic", 400, b"\x93NUM", npy),
        Case("npy_text_body", 400, b"[1, 2, 3]", npy),
    ]


def _npz_cases(marker_path: str) -> List[Case]:
    npz = NPZ.encode()
    return [
        Case("npz_zip_bomb_600_mib", 400, zip_bomb_npz(600), npz),
        Case("npz_member_understates_size", 400, understated_npz(64), npz),
        Case("npz_2000_members", 400, many_members_npz(2000), npz),
        Case(
            "npz_pickled_member",
            400,
            sparse_npz({b"data.npy": pickled_object_npy(marker_path)}),
            npz,
        ),
        Case(
            "npz_member_header_claims_more_data",
            400,
            sparse_npz(
                {b"data.npy": npy_with_header(_npy_header("<f8", "(100000000,)"), bytes(16))}
            ),
            npz,
        ),
        Case(
            "npz_missing_members", 400, sparse_npz({b"format.npy": None, b"shape.npy": None}), npz
        ),
        Case("npz_not_a_zip", 400, b"PK\x03\x04" + bytes(60), npz),
    ]


def _media_type_cases() -> List[Case]:
    injected = b"application/x-evil\r\n X-Injected: yes"
    return [
        Case("content_type_unknown", 415, b"[1]", b"application/x-evil"),
        Case("content_type_html", 415, b"<html></html>", b"text/html; charset=utf-8"),
        Case("content_type_form", 415, b"a=1&b=2", b"application/x-www-form-urlencoded"),
        Case("content_type_wildcard", 415, b"[1]", b"*/*"),
        Case("content_type_missing", 415, b"[1]", None),
        Case("content_type_no_subtype", 400, b"[1]", b"json"),
        Case("content_type_param_without_value", 400, b"[1]", b"application/json; charset"),
        Case("content_type_unclosed_quote", 400, b"[1]", b'application/json; charset="utf-8'),
        Case("content_type_empty_param_name", 400, b"[1]", b"application/json; =utf-8"),
        Case("content_type_7000_chars", 400, b"[1]", b"application/" + b"x" * 7000),
        Case("content_type_20000_chars", 400, b"[1]", b"application/" + b"x" * 20000),
        Case("content_type_obs_fold_crlf", 400, b"[1]", injected),
        Case("content_type_bare_lf", 415, b"[1]", b"application/x-evil\nX-Injected: yes"),
        Case("content_type_bare_cr", 400, b"[1]", b"application/x-evil\rX-Injected: yes"),
        Case("content_type_control_bytes", 400, b"[1]", b"application/\xff\xfe\x01evil"),
        Case(
            "content_type_unicode_line_separator", "4xx", b"[1]", b"application/x\xe2\x80\xa8evil"
        ),
    ]


def _accept_cases() -> List[Case]:
    return [
        Case("accept_unsatisfiable", 406, b"[1]", accept=b"image/png"),
        Case("accept_everything_refused", 406, b"[1]", accept=b"application/json;q=0, */*;q=0"),
        Case("accept_garbage", 400, b"[1]", accept=b";;;,,,==="),
        Case("accept_bad_q", 400, b"[1]", accept=b"application/json;q=banana"),
        Case(
            "accept_500_ranges",
            406,
            b"[1]",
            accept=b", ".join(b"a/b%d" % i for i in range(500)),
        ),
        Case("accept_obs_fold_crlf", 400, b"[1]", accept=b"text/x-evil\r\n Set-Cookie: a=b"),
    ]


def _http_cases(max_request_bytes: int) -> List[Case]:
    oversized = b"1" * (max_request_bytes + 65536)
    return [
        Case("body_over_limit", 413, oversized),
        Case(
            "body_over_limit_expect_continue",
            413,
            b"",
            headers=((b"Expect", b"100-continue"), (b"Content-Length", b"%d" % len(oversized))),
            content_length=False,
        ),
        Case(
            "content_length_not_a_number",
            400,
            b"[1]",
            headers=((b"Content-Length", b"abc"),),
            content_length=False,
        ),
        Case(
            "content_length_negative",
            400,
            b"[1]",
            headers=((b"Content-Length", b"-5"),),
            content_length=False,
        ),
        Case(
            "chunked_bad_chunk_size",
            400,
            b"zz\r\n[1]\r\n0\r\n\r\n",
            headers=((b"Transfer-Encoding", b"chunked"),),
            content_length=False,
        ),
        Case(
            "custom_attributes_9000_chars",
            400,
            b"[1]",
            headers=((b"X-Amzn-SageMaker-Custom-Attributes", b"a" * 9000),),
        ),
        Case(
            "headers_2000_of_them",
            400,
            b"[1]",
            headers=tuple((b"X-H%d" % i, b"v") for i in range(2000)),
        ),
        Case("unknown_model_name", 404, b"[1]", path=b"/invocations?model_name=nope"),
        Case("crlf_in_model_name", 404, b"[1]", path=b"/models/a%0d%0aX-Injected:%20yes/invoke"),
        Case("path_traversal", 404, b"", None, method=b"GET", path=b"/../../etc/passwd"),
        Case("uri_10000_chars", 400, b"", None, method=b"GET", path=b"/" + b"a" * 10000),
        # A TLS ClientHello has no line end: MMS waits for one until the line passes 4096 bytes.
        Case("tls_client_hello", 400, raw=_TLS_HELLO + bytes(5000)),
        Case("binary_request_line", 400, raw=bytes(range(14, 256)) + b"\r\n\r\n"),
        Case("http_0_9_request", 400, raw=b"GET /\r\n\r\n"),
    ]


def build_corpus(marker_path: str, max_request_bytes: int) -> List[Case]:
    """All cases; ``max_request_bytes`` is the server's request size limit (413 above it)."""
    cases = (
        _json_cases()
        + _charset_cases()
        + _csv_cases()
        + _npy_cases(marker_path)
        + _npz_cases(marker_path)
        + _media_type_cases()
        + _accept_cases()
        + _http_cases(max_request_bytes)
    )
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases
