import io
import json
import zipfile

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sagemaker_inference import content_types, decoder, encoder, errors, utils
from sagemaker_inference.codecs import csv_codec

DOCUMENTED = (errors.BadRequestError, errors.UnsupportedFormatError)
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _npy(array, **kwargs):
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def _npz(matrix):
    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, matrix)
    return buffer.getvalue()


def _legacy_csv(text):
    """What 1.10.1 returned for a CSV body (numpy's genfromtxt)."""
    return np.genfromtxt(io.StringIO(text), delimiter=",")


# --- dispatch -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "APPLICATION/json"],
)
def test_decode_matches_media_type_after_parsing(content_type):
    np.testing.assert_array_equal(decoder.decode(b"[1, 2]", content_type), np.array([1, 2]))


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "*/*", None, ""]
)
def test_unknown_media_type_is_415(content_type):
    with pytest.raises(errors.UnsupportedFormatError) as info:
        decoder.decode(b"1", content_type)
    assert info.value.status_code == 415


@pytest.mark.parametrize("content_type", [None, ""])
def test_missing_content_type_is_named_with_the_supported_types(content_type):
    with pytest.raises(errors.UnsupportedFormatError) as info:
        decoder.decode(b"[1]", content_type)
    message = info.value.message
    assert message.startswith("The request has no Content-Type. Supported types: ")
    for supported in decoder.SUPPORTED_CONTENT_TYPES:
        assert supported in message
    assert "None" not in message and "\n" not in message


def test_malformed_content_type_is_400():
    with pytest.raises(errors.BadRequestError):
        decoder.decode(b"1", "json")
    with pytest.raises(errors.BadRequestError):
        decoder.decode(b"1", "application/json; " + "x" * 10000)


def test_supported_content_types():
    assert set(decoder.SUPPORTED_CONTENT_TYPES) == {
        content_types.JSON,
        content_types.CSV,
        content_types.NPY,
        content_types.NPZ,
        content_types.JSONLINES,
    }


# --- charsets -------------------------------------------------------------------------------


def test_text_body_is_decoded_with_declared_charset(json_backend):
    body = '["é", "ü"]'.encode("latin-1")
    result = decoder.decode(body, "application/json; charset=ISO-8859-1")
    assert list(result) == ["é", "ü"]
    body = "[1, 2]".encode("utf-16")
    np.testing.assert_array_equal(decoder.decode(body, "application/json; charset=utf-16"), [1, 2])
    assert decoder.decode("1,2\n".encode("utf-16-le"), "text/csv; charset=utf-16-le").shape == (
        1,
        2,
    )


def test_utf8_bom_is_skipped(json_backend):
    np.testing.assert_array_equal(decoder.decode(b"\xef\xbb\xbf[1]", "application/json"), [1])
    np.testing.assert_array_equal(decoder.decode(b"\xef\xbb\xbf1,2", "text/csv"), [[1.0, 2.0]])


@pytest.mark.parametrize(
    "body, content_type, reason",
    [
        (b"[1]", "application/json; charset=klingon", "Unknown charset"),
        (b"[1]", "application/json; charset=base64", "not a text encoding"),
        (b'["\xff"]', "application/json", "not valid utf-8"),
        (b'["\xe9"]', "application/json; charset=utf-8", "not valid utf-8"),
        (b"1,\xff", "text/csv", "not valid utf-8"),
        (b"[1]\n[\xff]", "application/jsonlines", "not valid utf-8"),
        (b"\x00\x01", "application/json; charset=utf-32", "not valid utf-32"),
    ],
)
def test_wrong_charset_is_400_with_one_line_reason(json_backend, body, content_type, reason):
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, content_type)
    assert reason in info.value.message
    assert "\n" not in info.value.message


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2, 3]",
        "[[1.5, 2], [3, 4]]",
        "42",
        "-0.0",
        "[1e400, -1e400]",
        "[123456789012345678901234567890]",
        "[9223372036854775807, -9223372036854775808]",
        "[18446744073709551615]",
        '{"instances": [1, 2]}',
        '["a", "b"]',
        "[true, false]",
        "[0.1000000000000000055511151231257827021181583404541015625]",
        "[[]]",
    ],
)
def test_json_matches_1_10_1(json_backend, text):
    expected = np.array(json.loads(text))  # 1.10.1: json.loads then np.array
    for body in (text, text.encode()):
        result = decoder.decode(body, "application/json")
        assert result.dtype == expected.dtype and result.shape == expected.shape
        if expected.dtype.kind in "fc":
            np.testing.assert_array_equal(result, expected)
            assert np.array_equal(np.signbit(result), np.signbit(expected))
        else:
            assert result.tolist() == expected.tolist()


@pytest.mark.parametrize("text", ["[NaN, 1]", "[1, Infinity]", "[[-Infinity]]"])
def test_json_non_finite_literals_are_400_by_default(json_backend, text):
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(text.encode(), "application/json")
    assert decoder.ALLOW_JSON_NAN_ENV in info.value.message
    with pytest.raises(errors.BadRequestError):
        decoder.decode(text + "\n", "application/jsonlines")


def test_json_non_finite_literals_match_1_10_1_on_opt_in(json_backend, monkeypatch):
    monkeypatch.setenv(decoder.ALLOW_JSON_NAN_ENV, "true")
    text = "[NaN, Infinity, -Infinity]"
    result = decoder.decode(text.encode(), "application/json")
    np.testing.assert_array_equal(result, np.array(json.loads(text)))
    # The encoder writes the same literals, so non-finite predictions round-trip on opt-in.
    again = decoder.decode(encoder.encode(result, "application/json"), "application/json")
    np.testing.assert_array_equal(again, result)


def test_json_dtype_argument():
    assert decoder._json_to_numpy("[1, 2]", dtype=np.float32).dtype == np.float32
    assert decoder._json_to_numpy(b"[1, 2]").dtype == np.int64


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "Empty JSON body"),
        (b"[1, 2", "Invalid JSON"),
        (b"{'a': 1}", "Invalid JSON"),
        (b"[1, [2, 3]]", "does not fit a numpy array"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply|maximum number of dimension"),
        (b"   ", "Invalid JSON"),
    ],
    ids=["empty", "truncated", "single-quotes", "ragged", "deep", "blank"],
)
def test_bad_json_is_400(json_backend, body, reason):
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, "application/json")
    assert any(part in info.value.message for part in reason.split("|"))
    assert "\n" not in info.value.message


def test_json_deep_but_regular_nesting_is_400():
    body = "[" * 70 + "1" + "]" * 70  # more dimensions than numpy allows
    with pytest.raises(errors.BadRequestError):
        decoder.decode(body, "application/json")


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3\n4,5,6\n",
        "1.5,2\r\n3,4\r\n",
        "1, 2 ,3\n4,5,6",
        "1,,3\n4,5,6\n",
        "1,2,\n4,5,6\n",
        "nan,inf,-inf\n1,2,3\n",
        "1e5,-0,+3\n.5,5.,01\n",
        "1,2\n\n3,4\n",
        "# header comment\n1,2\n3,4  # trailing\n",
        "12345678901234567890123,1\n2,3\n",
    ],
)
def test_csv_matches_1_10_1(json_backend, text):
    result = decoder.decode(text.encode(), "text/csv")
    expected = _legacy_csv(text)
    assert result.dtype == np.float64 and result.ndim == 2
    np.testing.assert_array_equal(result, expected)
    assert np.array_equal(np.signbit(result), np.signbit(expected))


@pytest.mark.parametrize(
    "text, shape", [("1,2,3", (1, 3)), ("1,2,3\n", (1, 3)), ("1\n2\n3\n", (3, 1)), ("7", (1, 1))]
)
def test_csv_is_always_two_dimensional(json_backend, text, shape):
    result = decoder.decode(text, "text/csv")
    assert result.shape == shape
    np.testing.assert_array_equal(result.ravel(), np.atleast_1d(_legacy_csv(text)))


def test_csv_dtype_argument():
    assert decoder._csv_to_numpy("1,2\n3,4", dtype=int).dtype == np.int64
    assert decoder._csv_to_numpy("1,2\n3,4", dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "Empty CSV body"),
        (b"\n\n  \n", "Empty CSV body"),
        (b"# only a comment\n", "no data rows"),
        (b"1,2,3\n4,5\n", "line 2 has 2 columns, expected 3"),
        (b"1,2\n3,4,5\n", "line 2 has 3 columns, expected 2"),
        (b"1,abc\n", "line 1 column 2: 'abc' is not a number"),
        (b"a,b\n1,2\n", "line 1 column 1"),
        (b'"1","2"\n', "is not a number"),
        (b"1],[2\n", "is not a number"),
        (b"true,1\n", "is not a number"),
    ],
)
def test_bad_csv_is_400(json_backend, body, reason):
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, "text/csv")
    assert reason in info.value.message
    assert "\n" not in info.value.message


def _csv_cells(width):
    cell = st.one_of(
        st.floats(allow_nan=False, width=64).map(repr),
        st.integers(-(10**25), 10**25).map(str),
        st.just("-0"),
        st.just("") if width > 1 else st.just("nan"),  # an empty 1-column row is a blank line
    )
    row = st.lists(cell, min_size=width, max_size=width)
    return st.lists(row, min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 5).flatmap(_csv_cells))
def test_csv_fast_and_slow_paths_agree_with_genfromtxt(rows):
    text = "\n".join(",".join(row) for row in rows) + "\n"
    expected = _legacy_csv(text).reshape(len(rows), -1)
    results = [csv_codec.decode_csv(text, None), csv_codec._csv_slow(text, np.dtype(float))]
    fast = csv_codec._csv_fast(text, np.dtype(float))
    if fast is not None:
        results.append(fast)
    for result in results:
        np.testing.assert_array_equal(result, expected)
        assert np.array_equal(np.signbit(result), np.signbit(expected))


# --- JSON Lines -----------------------------------------------------------------------------


def test_jsonlines(json_backend):
    result = decoder.decode(b"[1, 2]\n[3, 4]\n", "application/jsonlines")
    np.testing.assert_array_equal(result, [[1, 2], [3, 4]])
    result = decoder.decode(b"1.5\r\n\r\n2.5", "application/jsonlines; charset=utf-8")
    np.testing.assert_array_equal(result, [1.5, 2.5])
    result = decoder.decode(b'{"a": 1}\n{"a": 2}\n', "application/jsonlines")
    assert [item["a"] for item in result] == [1, 2]


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "Empty JSON Lines body"),
        (b"\n \n", "no records"),
        (b"[1, 2]\n[3, 4\n", "line 2"),
        (b"1, 2\n", "line 1"),
        (b"[1]\n[1, 2]\n", "does not fit a numpy array"),
    ],
)
def test_bad_jsonlines_is_400(json_backend, body, reason):
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, "application/jsonlines")
    assert reason in info.value.message


# --- NPY ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12.0).reshape(3, 4),
        np.arange(5, dtype=np.int32),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.array(3.5),
        np.zeros((0, 3)),
        np.array([1, 2], dtype=">i8"),
        np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.array(["ab", "c"]),
        np.array([True, False]),
    ],
)
def test_npy_matches_np_load(array):
    body = _npy(array)
    for payload in (body, bytearray(body), memoryview(body)):
        result = decoder.decode(payload, "application/x-npy")
        expected = np.load(io.BytesIO(body))
        assert result.dtype == expected.dtype and result.shape == expected.shape
        np.testing.assert_array_equal(result, expected)
        assert result.flags.writeable


def test_npy_from_bytearray_is_not_copied():
    body = bytearray(_npy(np.arange(1000.0)))
    result = decoder.decode(body, "application/x-npy")
    assert np.shares_memory(result, np.frombuffer(body, dtype=np.uint8))


def test_npy_version_2_header():
    body = io.BytesIO()
    array = np.arange(4.0)
    np.lib.format.write_array(body, array, version=(2, 0))
    np.testing.assert_array_equal(decoder.decode(body.getvalue(), "application/x-npy"), array)


def test_npy_pickle_payload_is_refused_by_default(monkeypatch):
    monkeypatch.delenv(decoder.ALLOW_PICKLE_ENV, raising=False)
    body = _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, "application/x-npy")
    assert decoder.ALLOW_PICKLE_ENV in info.value.message


def test_npy_pickle_payload_never_runs(monkeypatch, tmp_path):
    import pickle

    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    monkeypatch.delenv(decoder.ALLOW_PICKLE_ENV, raising=False)
    raw_pickle = pickle.dumps(Exploit())
    array_body = _npy(np.array([Exploit()], dtype=object), allow_pickle=True)
    marker.unlink(missing_ok=True)
    for body in (raw_pickle, array_body):
        with pytest.raises(errors.BadRequestError):
            decoder.decode(body, "application/x-npy")
    assert not marker.exists()


def test_npy_pickle_allowed_when_operator_opts_in(monkeypatch):
    monkeypatch.setenv(decoder.ALLOW_PICKLE_ENV, "true")
    body = _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert decoder.decode(body, "application/x-npy")[0] == {"a": 1}


def test_npy_header_lying_about_size_is_400():
    body = _npy(np.arange(6.0).reshape(2, 3))
    lying = body.replace(b"(2, 3)", b"(9, 3)")
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(lying, "application/x-npy")
    assert "header declares" in info.value.message
    huge = body.replace(b"(2, 3)", b"(10**12,)".replace(b"10**12", b"1000000000000"))
    with pytest.raises(errors.BadRequestError):
        decoder.decode(huge, "application/x-npy")


def _npy_with_header(header: bytes, data: bytes = b"") -> bytes:
    padded = header.ljust(64 - 10 - 1) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded + data


@pytest.mark.parametrize(
    "header, reason",
    [
        (b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", "negative dimension"),
        (b"{'descr': '<f8', 'fortran_order': True, 'shape': (-1, 2), }", "negative dimension"),
        (b"{'descr': '|V0', 'fortran_order': False, 'shape': (10**12,), }", "zero size"),
    ],
)
def test_npy_header_with_impossible_shape_is_400(header, reason):
    body = _npy_with_header(header.replace(b"10**12", b"1000000000000"), b"\0" * 64)
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, "application/x-npy")
    assert reason in info.value.message


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "Empty NPY body"),
        (b"hello", "NPY magic"),
        (b"\x93NUMPY\x01\x00", "Invalid NPY header"),
        (b"\x93NUMPY\x07\x00\x10\x00" + b" " * 16, "version"),
        (_npy(np.arange(3))[:-1], "header declares"),
    ],
)
def test_bad_npy_is_400(body, reason):
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, "application/x-npy")
    assert reason in info.value.message


def test_npy_text_body_is_400():
    with pytest.raises(errors.BadRequestError):
        decoder._npy_to_numpy("not bytes")


# --- NPZ ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_npz_decodes_to_the_saved_sparse_matrix(fmt):
    matrix = scipy.sparse.random(6, 4, density=0.4, format=fmt, random_state=1)
    result = decoder.decode(_npz(matrix), "application/x-npz")
    assert scipy.sparse.issparse(result) and result.format == fmt
    np.testing.assert_array_equal(result.toarray(), matrix.toarray())


def test_npz_zip_bomb_is_refused(monkeypatch):
    matrix = scipy.sparse.csr_matrix(np.ones((200, 200)))  # compresses far below 320 kB
    body = _npz(matrix)
    monkeypatch.setenv(decoder.MAX_DECODED_BYTES_ENV, "100000")
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(body, "application/x-npz")
    assert (
        "expands to" in info.value.message and decoder.MAX_DECODED_BYTES_ENV in info.value.message
    )
    monkeypatch.setenv(decoder.MAX_DECODED_BYTES_ENV, "10000000")
    assert decoder.decode(body, "application/x-npz").shape == (200, 200)


def test_max_decoded_bytes_env(monkeypatch):
    monkeypatch.delenv(decoder.MAX_DECODED_BYTES_ENV, raising=False)
    assert decoder.max_decoded_bytes() == decoder.DEFAULT_MAX_DECODED_BYTES
    monkeypatch.setenv(decoder.MAX_DECODED_BYTES_ENV, "nonsense")
    assert decoder.max_decoded_bytes() == decoder.DEFAULT_MAX_DECODED_BYTES
    monkeypatch.setenv(decoder.MAX_DECODED_BYTES_ENV, "123")
    assert decoder.max_decoded_bytes() == 123


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_npz_member_header_lying_about_size_is_400():
    members = {
        "data.npy": _npy(np.arange(3.0)).replace(b"(3,)", b"(100000000000,)"),
        "format.npy": _npy(np.array(b"csr")),
    }
    with pytest.raises(errors.BadRequestError) as info:
        decoder.decode(_zip(members), "application/x-npz")
    assert "declares" in info.value.message


def test_npz_with_pickled_member_is_400(monkeypatch):
    monkeypatch.delenv(decoder.ALLOW_PICKLE_ENV, raising=False)
    members = {"data.npy": _npy(np.array([object()], dtype=object), allow_pickle=True)}
    with pytest.raises(errors.BadRequestError):
        decoder.decode(_zip(members), "application/x-npz")


@pytest.mark.parametrize(
    "body", [b"", b"not a zip", _zip({"a.txt": b"hi"}), _zip({"data.npy": _npy(np.arange(3))})]
)
def test_bad_npz_is_400(body):
    with pytest.raises(errors.BadRequestError):
        decoder.decode(body, "application/x-npz")


# --- 1.10.1 names ---------------------------------------------------------------------------


def test_legacy_function_names_raise_only_bad_request():
    with pytest.raises(errors.BadRequestError):
        decoder._json_to_numpy("[")
    with pytest.raises(errors.BadRequestError):
        decoder._csv_to_numpy("a")
    with pytest.raises(errors.BadRequestError):
        decoder._npz_to_sparse(b"x")
    with pytest.raises(errors.BadRequestError):
        decoder._jsonlines_to_numpy(12)
    np.testing.assert_array_equal(decoder._npy_to_numpy(_npy(np.arange(3))), np.arange(3))


# --- round trips and fuzzing ----------------------------------------------------------------

_shapes = st.one_of(
    hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=8),
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
)
_float_arrays = hnp.arrays(np.float64, _shapes, elements=st.floats(allow_nan=False, width=64))
_finite_arrays = hnp.arrays(
    np.float64, _shapes, elements=st.floats(allow_nan=False, allow_infinity=False, width=64)
)
_int_arrays = hnp.arrays(np.int64, _shapes, elements=st.integers(-(2**53), 2**53))
_arrays = st.one_of(_float_arrays, _int_arrays)
# JSON has no infinities: those round-trip only with SAGEMAKER_ALLOW_JSON_NAN (tested above).
_json_arrays = st.one_of(_finite_arrays, _int_arrays)


@FUZZ
@given(array=_json_arrays)
def test_json_round_trip(json_backend, array):
    result = decoder.decode(encoder.encode(array, "application/json"), "application/json")
    assert result.shape == array.shape
    np.testing.assert_array_equal(result, array)
    assert np.array_equal(np.signbit(result), np.signbit(array))


@FUZZ
@given(array=_json_arrays)
def test_jsonlines_round_trip(json_backend, array):
    body = encoder.encode(array, "application/jsonlines")
    result = decoder.decode(body, "application/jsonlines")
    assert result.shape == array.shape
    np.testing.assert_array_equal(result, array)


@FUZZ
@given(array=_arrays)
def test_csv_round_trip(json_backend, array):
    """CSV cannot tell (n,) from (n, 1): a 1-D array comes back as one column."""
    result = decoder.decode(encoder.encode(array, "text/csv"), "text/csv")
    assert result.shape == (array.shape[0], array.size // array.shape[0])
    np.testing.assert_array_equal(result, array.reshape(result.shape).astype(np.float64))
    assert np.array_equal(np.signbit(result), np.signbit(array.reshape(result.shape)))


@settings(max_examples=60, deadline=None)
@given(array=st.one_of(_arrays, hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(max_dims=3))))
def test_npy_round_trip(array):
    result = decoder.decode(encoder.encode(array, "application/x-npy"), "application/x-npy")
    assert result.dtype == array.dtype and result.shape == array.shape
    np.testing.assert_array_equal(result, array)


@settings(max_examples=40, deadline=None)
@given(
    dense=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.one_of(st.just(0.0), st.floats(allow_nan=False, allow_infinity=False)),
    ),
    fmt=st.sampled_from(["csr", "csc", "coo"]),
)
def test_sparse_round_trip_through_npz(dense, fmt):
    matrix = scipy.sparse.csr_matrix(dense).asformat(fmt)
    result = decoder.decode(encoder.encode(matrix, "application/x-npz"), "application/x-npz")
    assert scipy.sparse.issparse(result) and result.shape == matrix.shape
    np.testing.assert_array_equal(result.toarray(), dense)


_hostile_prefixes = st.sampled_from(
    [b"", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"PK\x03\x04", b"[", b"{", b"\xef\xbb\xbf"]
)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300), st.builds(bytes.__add__, _hostile_prefixes, st.binary())
    ),
    content_type=st.sampled_from(
        decoder.SUPPORTED_CONTENT_TYPES
        + ["application/json; charset=utf-16", "text/csv; charset=latin-1", "text/plain"]
    ),
)
def test_any_bytes_give_a_value_or_a_documented_error(json_backend, body, content_type):
    try:
        decoder.decode(body, content_type)
    except DOCUMENTED as error:
        assert "\n" not in str(error) and "\r" not in str(error)


@FUZZ
@given(text=st.text(max_size=200), content_type=st.sampled_from(["application/json", "text/csv"]))
def test_any_text_gives_a_value_or_a_documented_error(json_backend, text, content_type):
    try:
        decoder.decode(text, content_type)
    except DOCUMENTED:
        pass


@FUZZ
@given(
    text=st.text(alphabet="0123456789-+.eE,\n\r []nafit#", max_size=120),
    content_type=st.sampled_from(["application/json", "text/csv", "application/jsonlines"]),
)
def test_numeric_looking_text_is_identical_with_and_without_orjson(monkeypatch, text, content_type):
    def run():
        try:
            return decoder.decode(text, content_type)
        except DOCUMENTED as error:
            return type(error)

    with_default = run()
    with monkeypatch.context() as patch:
        patch.setattr(utils, "optional_orjson", lambda: None)
        with_stdlib = run()
    if isinstance(with_stdlib, np.ndarray):
        assert isinstance(with_default, np.ndarray) and with_default.dtype == with_stdlib.dtype
        assert with_default.tolist() == with_stdlib.tolist() or np.array_equal(
            with_default, with_stdlib, equal_nan=True
        )
    else:
        assert with_default == with_stdlib


@pytest.mark.parametrize("body", ["0,\r0", "1,2\r3,4\r", "1,2\r\n3,4\r\n"])
def test_csv_line_ends_are_the_same_with_and_without_orjson(body, monkeypatch):
    def outcome():
        try:
            return decoder.decode(body, "text/csv").tolist()
        except errors.BadRequestError as exc:
            return "400: " + exc.message

    fast = outcome()
    monkeypatch.setattr(utils, "optional_orjson", lambda: None)
    assert outcome() == fast
