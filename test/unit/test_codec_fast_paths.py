"""The codecs' shortcuts give exactly what their full paths (and 1.10.1) give.

Covered here: the long-integer check done after orjson's parse for large JSON and CSV bodies,
the ``null`` check that replaced np.isfinite in the JSON/CSV encoders, and the cache of parsed
NPY headers.
"""

import contextlib
import gc
import io
import json
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagemaker_inference import decoder, encoder, errors, utils
from sagemaker_inference.codecs import fast, npy_codec

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
LIMIT = fast.PRESCAN_LIMIT


def _stdlib(monkeypatch, function, *args):
    with monkeypatch.context() as patch:
        patch.setattr(utils, "optional_orjson", lambda: None)
        try:
            return function(*args)
        except errors.BadRequestError as exc:
            return exc.message


def _same(result, expected):
    if isinstance(expected, str):
        return result == expected
    if result.dtype != expected.dtype or result.shape != expected.shape:
        return False
    if expected.dtype.kind in "fc":
        return np.array_equal(result, expected) and np.array_equal(
            np.signbit(result), np.signbit(expected)
        )
    return result.tolist() == expected.tolist()


def _decode_or_message(body, content_type):
    try:
        return decoder.decode(body, content_type)
    except errors.BadRequestError as exc:
        return exc.message


def _large_json(row_text):
    """A JSON array of copies of ``row_text``, longer than the pre-scan limit."""
    copies = LIMIT // len(row_text) + 2
    return "[" + ", ".join([row_text] * copies) + "]"


@pytest.fixture
def long_integer_scans(monkeypatch):
    calls = []
    scan = fast.has_long_integer

    def counting(data):
        calls.append(len(data))
        return scan(data)

    monkeypatch.setattr(fast, "has_long_integer", counting)
    return calls


# --- JSON decode: the long-integer check after the parse ------------------------------------

ROWS = [
    "[0.5, 1.25, -3.0]",
    "[1, 2, 3]",
    "[18446744073709551616, 1.5]",  # 2**64: orjson would round it
    "[-9223372036854775809, 2]",  # -2**63 - 1: orjson would round it
    "[123456789012345678901234567890]",
    "[9223372036854775807, -9223372036854775808]",  # int64 limits, exact in both
    "[18446744073709551615, 1]",  # uint64 maximum: exact in both
    "[1e19, -2.5e300, 1.0]",  # genuine large floats
    "[1.5, 99999999999999999999]",
    "[-0, -0.0, 0]",
    "[0.1000000000000000055511151231257827021181583404541015625, 2]",
    '["a", 18446744073709551616]',  # strings make numpy turn numbers into text
    '{"k": [1, 2]}',
    "[true, false, true]",
    "[true, 18446744073709551616]",
    "[[]]",
    "[1e400, 1]",  # orjson refuses; the stdlib reads infinity
    "[[1, 2], [3]]",  # ragged: 400
    "[NaN, 1]",  # non-standard literal: 400
]


@pytest.mark.parametrize("row", ROWS)
def test_large_json_bodies_match_the_stdlib_path(monkeypatch, row):
    text = _large_json(row)
    assert len(text) > LIMIT
    for body in (text, text.encode(), bytearray(text.encode())):
        result = _decode_or_message(body, "application/json")
        expected = _stdlib(monkeypatch, _decode_or_message, body, "application/json")
        assert _same(result, expected), (row, result, expected)
    if "NaN" not in row and row != "[[1, 2], [3]]":
        legacy = np.array(json.loads(text))  # 1.10.1: json.loads then np.array
        assert _same(decoder.decode(text.encode(), "application/json"), legacy)


@pytest.mark.parametrize("extra", [0, 1])
def test_bodies_on_both_sides_of_the_limit_match(monkeypatch, extra):
    head = "[18446744073709551616, "
    filler = "1, " * ((LIMIT - len(head)) // 3)
    text = head + filler + "1" * (LIMIT - len(head) - len(filler) - 1 + extra) + "]"
    assert len(text) == LIMIT + extra
    result = decoder.decode(text.encode(), "application/json")
    assert _same(result, np.array(json.loads(text)))
    assert _same(result, _stdlib(monkeypatch, decoder.decode, text.encode(), "application/json"))


def test_large_plain_float_body_is_not_scanned(long_integer_scans):
    body = json.dumps(np.random.default_rng(1).random((200, 32)).tolist()).encode()
    assert len(body) > LIMIT
    result = decoder.decode(body, "application/json")
    assert result.shape == (200, 32) and result.dtype == np.float64
    assert long_integer_scans == []


def test_large_body_with_huge_floats_is_scanned_once(long_integer_scans):
    text = _large_json("[1e19, 2.0]")
    decoder.decode(text.encode(), "application/json")
    assert long_integer_scans == [len(text)]


def test_small_bodies_are_still_scanned_first(long_integer_scans):
    decoder.decode(b"[1.5, 2.5]", "application/json")
    assert long_integer_scans == [10]


def test_dtype_argument_takes_the_full_path(monkeypatch):
    text = _large_json("[1, 2]")
    result = decoder._json_to_numpy(text, dtype=np.float32)
    assert result.dtype == np.float32
    assert _same(result, np.array(json.loads(text), dtype=np.float32))


def test_non_utf8_charset_takes_the_full_path(monkeypatch):
    text = _large_json("[1.5, 18446744073709551616]")
    body = text.encode("utf-16")
    result = decoder.decode(body, "application/json; charset=utf-16")
    assert _same(result, np.array(json.loads(text)))


NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2**63, -(2**63), 2**63 - 1, 2**64, 2**64 - 1, -(2**63) - 1]),
)


@PROPERTY
@given(row=st.lists(NUMBERS, min_size=1, max_size=12))
def test_large_numeric_json_matches_the_stdlib_path(monkeypatch, row):
    text = _large_json(json.dumps(row))
    result = _decode_or_message(text.encode(), "application/json")
    expected = _stdlib(monkeypatch, _decode_or_message, text.encode(), "application/json")
    assert _same(result, expected)


# --- CSV decode ------------------------------------------------------------------------------


def _large_csv(line):
    return line * (LIMIT // len(line) + 2)


@pytest.mark.parametrize(
    "line",
    [
        "0.5,1.25,-3.0\n",
        "18446744073709551616,1.5\n",
        "-9223372036854775809,2\n",
        "123456789012345678901234567890,1\n",
        "1e19,-2.5e300\n",
        "-0,1\n",
        "-0.0,-0.5\n",
        "1,2\r\n",
    ],
)
def test_large_csv_bodies_match_the_stdlib_path(monkeypatch, line):
    text = _large_csv(line)
    assert len(text) > LIMIT
    result = decoder.decode(text.encode(), "text/csv")
    expected = _stdlib(monkeypatch, decoder.decode, text.encode(), "text/csv")
    assert _same(result, expected)
    legacy = np.genfromtxt(io.StringIO(text), delimiter=",")  # 1.10.1
    assert _same(result, legacy)


def test_large_plain_csv_body_is_not_scanned(long_integer_scans):
    rows = np.random.default_rng(2).random((200, 16)).tolist()
    text = "".join(",".join(repr(v) for v in row) + "\n" for row in rows)
    result = decoder.decode(text.encode(), "text/csv")
    assert result.tolist() == rows
    assert long_integer_scans == []


@PROPERTY
@given(row=st.lists(NUMBERS, min_size=1, max_size=8))
def test_large_numeric_csv_matches_the_stdlib_path(monkeypatch, row):
    text = _large_csv(",".join(repr(value) for value in row) + "\n")
    result = _decode_or_message(text.encode(), "text/csv")
    expected = _stdlib(monkeypatch, _decode_or_message, text.encode(), "text/csv")
    assert _same(result, expected)


# --- JSON/CSV encode: non-finite values found in orjson's text -------------------------------

NON_FINITE = [
    np.array([np.nan]),
    np.array([1.0, np.inf, 2.0]),
    np.array([[1.0, 2.0], [3.0, -np.inf]]),
    np.array([[np.nan, 2.5], [0.1, 1e300]]),
    np.array([1.5, np.nan], dtype=np.float32),
    np.full((3, 4), np.inf),
    np.append(np.ones(fast.SEARCH_TEXT_MAX_SIZE), np.nan),  # large: np.isfinite decides
]


@pytest.mark.parametrize("array", NON_FINITE, ids=range(len(NON_FINITE)))
def test_non_finite_arrays_encode_like_the_stdlib(monkeypatch, array):
    for content_type in ("application/json", "text/csv", "application/jsonlines"):
        result = encoder.encode(array, content_type)
        assert result == _stdlib(monkeypatch, encoder.encode, array, content_type)
    assert encoder.encode(array, "application/json") == json.dumps(array.tolist())
    assert fast.numeric_json(array) is None


@pytest.mark.parametrize(
    "array",
    [
        np.array([1.0, 2.5, -0.0]),
        np.array([[1e-5, 1e300], [0.1, 3.0]]),
        np.array([1, 2, 3]),
        np.array([True, False]),
        np.array([0.5, 1.5], dtype=np.float32),
        np.arange(12.0).reshape(3, 4).T,  # not C-contiguous
    ],
)
def test_finite_arrays_still_use_orjson(monkeypatch, array):
    pytest.importorskip("orjson")
    assert fast.numeric_json(array) is not None
    text = encoder.encode(array, "application/json")
    assert json.loads(text) == json.loads(json.dumps(array.tolist()))
    csv = encoder.encode(array, "text/csv")
    expected = _stdlib(monkeypatch, encoder.encode, array, "text/csv")
    # Spelling may differ (0.00001 vs 1e-05), the values may not.
    assert _csv_values(csv) == _csv_values(expected)


def _csv_values(text):
    def value(cell):
        return cell if cell in ("True", "False") else float(cell)

    return [[value(cell) for cell in line.split(",")] for line in text.splitlines()]


@PROPERTY
@given(
    values=st.lists(
        st.one_of(st.floats(), st.sampled_from([np.nan, np.inf, -np.inf])), min_size=1, max_size=30
    )
)
def test_any_float_array_encodes_like_the_stdlib(monkeypatch, values):
    array = np.array(values, dtype=np.float64)
    text = encoder.encode(array, "application/json")
    assert text.replace(" ", "") == json.dumps(array.tolist()).replace(" ", "") or (
        json.loads(text) == json.loads(json.dumps(array.tolist()))
        and "NaN" not in text
        and "Infinity" not in text
    )
    assert (np.isfinite(array).all()) == ("NaN" not in text and "Infinity" not in text)


# --- NPY decode: parsed headers are cached ---------------------------------------------------


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npy_version(array, version):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(16.0).reshape(1, 16),
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.array(3.5),
        np.zeros((0, 4)),
        np.array([b"ab", b"c"]),
    ],
)
def test_repeated_npy_headers_come_from_the_cache(array):
    npy_codec.parse_npy_header.cache_clear()
    body = _npy(array)
    first = decoder.decode(body, "application/x-npy")
    again = decoder.decode(bytearray(body), "application/x-npy")
    for result in (first, again):
        assert result.dtype == array.dtype and result.shape == array.shape
        assert np.array_equal(result, array)
        assert result.flags.f_contiguous == np.load(io.BytesIO(body)).flags.f_contiguous
    info = npy_codec.parse_npy_header.cache_info()
    assert (info.hits, info.misses) == (1, 1)


def test_same_header_different_data():
    first = np.arange(8.0).reshape(2, 4)
    second = first[::-1].copy()
    assert decoder.decode(_npy(first), "application/x-npy").tolist() == first.tolist()
    assert decoder.decode(_npy(second), "application/x-npy").tolist() == second.tolist()


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_versions_decode_like_np_load(version):
    array = np.arange(12.0).reshape(3, 4)
    body = _npy_version(array, version)
    for _ in range(2):
        result = decoder.decode(body, "application/x-npy")
        assert np.array_equal(result, np.load(io.BytesIO(body)))


def test_npy_version_3_is_answered_as_numpy_reads_its_header():
    body = _npy_version(np.arange(3.0), (3, 0))
    try:
        expected = npy_codec.read_npy_header(io.BytesIO(body))
    except errors.BadRequestError as exc:
        for _ in range(2):
            with pytest.raises(errors.BadRequestError, match=exc.message):
                decoder.decode(body, "application/x-npy")
    else:
        assert decoder.decode(body, "application/x-npy").shape == expected[0]


def test_structured_dtype_renamed_by_one_request_does_not_leak():
    array = np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])
    body = _npy(array)
    first = decoder.decode(body, "application/x-npy")
    first.dtype.names = ("x", "y")  # numpy allows renaming fields in place
    assert decoder.decode(body, "application/x-npy").dtype.names == ("a", "b")


@pytest.mark.parametrize(
    "body",
    [
        b"\x93NUMPY\x01\x00",  # no header length
        b"\x93NUMPY\x01\x00\x40\x00{'descr'",  # header shorter than declared
        b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16,  # unknown version
        b"\x93NUMPY\x01\x00\x10\x00" + b"not a dict     \n",
        b"\x93NUMPY\x02\x00" + (20000).to_bytes(4, "little") + b" " * 20000,  # header too large
    ],
)
def test_bad_npy_headers_are_400_as_before(body):
    npy_codec.parse_npy_header.cache_clear()
    for _ in range(2):
        with pytest.raises(errors.BadRequestError):
            decoder.decode(body, "application/x-npy")


# --- orjson in a default install -----------------------------------------------------------


def _plain_requirement_names(requirements):
    """Distribution names of requirements that apply without any extra."""
    names = set()
    for requirement in requirements or []:
        name, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        names.add(name.strip().split("[")[0].split("=")[0].split(">")[0].split("<")[0].lower())
    return names


def test_installed_package_requires_orjson_without_an_extra():
    importlib_metadata = pytest.importorskip("importlib.metadata")
    required = importlib_metadata.requires("sagemaker-inference")
    assert "orjson" in _plain_requirement_names(required), required


@pytest.fixture
def fresh_orjson_lookup(monkeypatch):
    """Makes utils.optional_orjson import again, as in a freshly started worker."""
    monkeypatch.setattr(utils, "_orjson_module", utils._ORJSON_UNSET)
    yield
    utils._orjson_module = utils._ORJSON_UNSET


def _count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


_CODEC_ROWS = np.random.default_rng(5).random((1000, 32))
_CODEC_BODIES = [
    ("application/json", json.dumps([[0.25] * 16]).encode()),
    ("application/json", json.dumps(_CODEC_ROWS.tolist()).encode()),
    (
        "text/csv",
        "\n".join(",".join(repr(v) for v in row) for row in _CODEC_ROWS.tolist()).encode(),
    ),
]


@pytest.mark.parametrize("content_type, body", _CODEC_BODIES)
def test_default_codecs_use_orjson_when_importable(
    monkeypatch, fresh_orjson_lookup, content_type, body
):
    orjson = pytest.importorskip("orjson")
    loads = _count_calls(monkeypatch, orjson, "loads")
    dumps = _count_calls(monkeypatch, orjson, "dumps")
    decoded = decoder.decode(body, content_type)
    encoded = encoder.encode(decoded, content_type)
    assert loads and dumps
    assert utils.optional_orjson() is orjson
    # The same results as the standard library's path (the spelling of the text may differ).
    assert _same(decoded, _stdlib(monkeypatch, decoder.decode, body, content_type))
    expected = _stdlib(monkeypatch, encoder.encode, decoded, content_type)
    assert _encoded_values(encoded, content_type) == _encoded_values(expected, content_type)


def _encoded_values(text, content_type):
    return json.loads(text) if content_type == "application/json" else _csv_values(text)


@pytest.mark.parametrize("content_type, body", _CODEC_BODIES)
def test_default_codecs_fall_back_to_the_stdlib_without_orjson(
    monkeypatch, fresh_orjson_lookup, content_type, body
):
    with_orjson_decoded = decoder.decode(body, content_type)
    with_orjson_encoded = encoder.encode(with_orjson_decoded, content_type)
    utils._orjson_module = utils._ORJSON_UNSET
    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson now raises ImportError
    assert utils.optional_orjson() is None
    decoded = decoder.decode(body, content_type)
    assert _same(decoded, with_orjson_decoded)
    encoded = encoder.encode(decoded, content_type)
    assert _encoded_values(encoded, content_type) == _encoded_values(
        with_orjson_encoded, content_type
    )


def test_collector_is_paused_for_a_large_json_body_and_back_on_after():
    from sagemaker_inference.codecs import json_codec

    seen = []
    real = fast.collector_paused

    @contextlib.contextmanager
    def watched():
        with real():
            seen.append(gc.isenabled())
            yield

    body = json.dumps(np.arange(2000.0).reshape(100, 20).tolist()).encode()
    assert len(body) > fast.PRESCAN_LIMIT
    try:
        fast.collector_paused = watched
        decoded = json_codec.decode_json(body)
    finally:
        fast.collector_paused = real
    assert seen == [False] and gc.isenabled()
    np.testing.assert_array_equal(decoded, np.arange(2000.0).reshape(100, 20))


def test_collector_paused_leaves_a_disabled_collector_disabled_and_survives_errors():
    gc.disable()
    try:
        with fast.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ValueError):
        with fast.collector_paused():
            raise ValueError("boom")
    assert gc.isenabled()
