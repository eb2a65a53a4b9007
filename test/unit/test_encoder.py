import io
import json

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sagemaker_inference import content_types, decoder, encoder, errors, utils

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _legacy_json(value):
    """The text 1.10.1 produced: json.dumps with tolist() for numpy objects."""
    return json.dumps(value, default=lambda o: o.tolist())


def _legacy_csv(value):
    stream = io.StringIO()
    np.savetxt(stream, value, delimiter=",", fmt="%s")
    return stream.getvalue()


def _legacy_npy(value):
    buffer = io.BytesIO()
    np.save(buffer, value)
    return buffer.getvalue()


def test_supported_content_types():
    assert set(encoder.SUPPORTED_CONTENT_TYPES) == {
        content_types.JSON,
        content_types.CSV,
        content_types.NPY,
        content_types.NPZ,
        content_types.JSONLINES,
    }


@pytest.mark.parametrize("content_type", ["text/html", "*/*", "application/*", "", None, "junk"])
def test_unknown_media_type_is_406(content_type):
    with pytest.raises(errors.NotAcceptableError) as info:
        encoder.encode([1], content_type)
    assert info.value.status_code == 406
    assert isinstance(info.value, errors.UnsupportedFormatError)
    assert "application/json" in info.value.message


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"]
)
def test_media_type_is_parsed(content_type):
    assert encoder.encode([1, 2], content_type) == "[1, 2]"


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        np.array([[1.5, 2.0], [3.0, 4.25]]),
        np.arange(6).reshape(2, 3),
        np.array([True, False]),
        np.array([0.1, 1 / 3, 1e-300, -0.0], dtype=np.float32),
        np.array([1, 2], dtype=np.uint8),
        np.arange(12.0).reshape(3, 4)[:, ::2],
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.zeros((2, 0)),
        np.array(2.5),
        np.float32(0.1),
        np.int64(7),
        np.float64(1.5),
        [np.float32(1.5), np.int16(2)],
        {"predictions": np.arange(3.0), "label": np.int64(1), "nested": [{"p": np.float16(0.5)}]},
        np.array(["a", "b"]),
        [1, "two", None],
    ],
)
def test_json_text_matches_1_10_1(json_backend, value):
    text = encoder.encode(value, "application/json")
    assert isinstance(text, str)
    expected = _legacy_json(value)
    if json_backend == "stdlib":
        assert text == expected
    else:  # orjson may spell a float differently; the values are the same
        assert json.loads(text) == json.loads(expected)


def test_json_nan_and_infinity_are_written_like_python(json_backend):
    value = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert encoder.encode(value, "application/json") == "[NaN, Infinity, -Infinity, 1.0]"
    assert encoder.encode({"x": float("nan")}, "application/json") == '{"x": NaN}'


def test_json_sparse_matrix_is_dense_lists(json_backend):
    matrix = scipy.sparse.csr_matrix(np.array([[0, 1.5], [2, 0]]))
    assert json.loads(encoder.encode(matrix, "application/json")) == [[0, 1.5], [2, 0]]


def test_json_unserialisable_object_is_type_error():
    with pytest.raises(TypeError):
        encoder.encode(object(), "application/json")


@PROPERTY
@given(
    array=hnp.arrays(
        st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.bool_]),
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    )
)
def test_json_orjson_and_stdlib_agree(array):
    with_default = encoder.encode(array, "application/json")
    stdlib = _legacy_json(array)
    if "NaN" in stdlib or "Infinity" in stdlib:
        assert with_default == stdlib
    else:
        assert json.loads(with_default) == json.loads(stdlib)


# --- CSV ------------------------------------------------------------------------------------


def test_csv_one_dimensional_is_one_value_per_line(json_backend):
    assert encoder.encode(np.array([1.5, 2.0, 3.0]), "text/csv") == "1.5\n2.0\n3.0\n"
    assert encoder.encode([1, 2, 3], "text/csv") == "1\n2\n3\n"


def test_csv_two_dimensional_is_rows(json_backend):
    assert encoder.encode(np.array([[1.5, 2.0], [3.0, 4.0]]), "text/csv") == "1.5,2.0\n3.0,4.0\n"
    assert encoder.encode([[1, 2, 3]], "text/csv") == "1,2,3\n"


def test_csv_scalar_is_one_line(json_backend):
    assert encoder.encode(np.float64(0.25), "text/csv") == "0.25\n"
    assert encoder.encode(7, "text/csv") == "7\n"


@pytest.mark.parametrize(
    "value",
    [
        np.array([[True, False]]),
        np.array([0.1, 2.5], dtype=np.float32),
        np.array([["a", "b"], ["c", "d"]]),
        np.array([1, 2], dtype=np.uint64),
        np.array([np.nan, np.inf, -0.0]),
        np.zeros((0, 3)),
        np.array([1e16, 1e-5, 123456789.0]),
    ],
)
def test_csv_text_matches_1_10_1(json_backend, value):
    text = encoder.encode(value, "text/csv")
    expected = _legacy_csv(value)
    if json_backend == "stdlib" or value.dtype.kind not in "fiu" or value.size == 0:
        assert text == expected
    else:  # orjson may spell a float differently; the values are the same
        assert np.array_equal(
            np.genfromtxt(io.StringIO(text), delimiter=","),
            np.genfromtxt(io.StringIO(expected), delimiter=","),
            equal_nan=True,
        )


def test_csv_sparse_matrix_is_dense_rows():
    matrix = scipy.sparse.csr_matrix(np.array([[0, 1], [2, 0]]))
    assert encoder.encode(matrix, "text/csv") == "0,1\n2,0\n"


def test_csv_three_dimensional_is_value_error():
    with pytest.raises(ValueError) as info:
        encoder.encode(np.zeros((2, 2, 2)), "text/csv")
    assert "\n" not in str(info.value)


@PROPERTY
@given(
    array=hnp.arrays(
        st.sampled_from([np.float64, np.int64, np.bool_]),
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=5),
    )
)
def test_csv_stdlib_text_is_exactly_savetxt(monkeypatch, array):
    with monkeypatch.context() as patch:
        patch.setattr(utils, "optional_orjson", lambda: None)
        assert encoder.encode(array, "text/csv") == _legacy_csv(array)


# --- JSON Lines -----------------------------------------------------------------------------


def test_jsonlines_rows_and_items(json_backend):
    assert encoder.encode(np.array([[1, 2], [3, 4]]), "application/jsonlines") == "[1, 2]\n[3, 4]\n"
    assert encoder.encode(np.array([0.5, 1.5]), "application/jsonlines") == "0.5\n1.5\n"
    assert encoder.encode(np.arange(8).reshape(2, 2, 2), "application/jsonlines") == (
        "[[0, 1], [2, 3]]\n[[4, 5], [6, 7]]\n"
    )
    assert encoder.encode([{"a": 1}, {"a": np.int64(2)}], "application/jsonlines") == (
        '{"a": 1}\n{"a": 2}\n'
    )
    assert encoder.encode({"a": np.arange(2)}, "application/jsonlines") == '{"a": [0, 1]}\n'
    assert encoder.encode(np.float64(2.5), "application/jsonlines") == "2.5\n"
    assert encoder.encode(np.array([np.nan, 1.0]), "application/jsonlines") == "NaN\n1.0\n"


@PROPERTY
@given(
    array=hnp.arrays(
        st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    )
)
def test_jsonlines_fast_path_equals_one_document_per_item(array):
    lines = encoder.encode(array, "application/jsonlines").splitlines()
    assert len(lines) == array.shape[0]
    for line, item in zip(lines, array):
        # assert_array_equal treats NaN as equal to NaN, which == does not
        np.testing.assert_array_equal(
            np.array(json.loads(line)),
            np.array(json.loads(encoder.encode(item, "application/json"))),
        )


# --- NPY ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(12.0).reshape(3, 4)[:, ::2],
        np.array(1.5),
        np.zeros((0, 2)),
        np.array([1, 2], dtype=">i4"),
        np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.array(["x", "yz"]),
        [[1, 2], [3, 4]],
        np.float32(3.0),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
)
def test_npy_bytes_match_numpy_save(value):
    body = encoder.encode(value, "application/x-npy")
    assert isinstance(body, bytes)
    assert body == _legacy_npy(value)


def test_npy_object_array_needs_pickle_opt_in(monkeypatch):
    value = np.array([{"a": 1}], dtype=object)
    monkeypatch.delenv(decoder.ALLOW_PICKLE_ENV, raising=False)
    with pytest.raises(ValueError) as info:
        encoder.encode(value, "application/x-npy")
    assert decoder.ALLOW_PICKLE_ENV in str(info.value)
    monkeypatch.setenv(decoder.ALLOW_PICKLE_ENV, "true")
    body = encoder.encode(value, "application/x-npy")
    assert np.load(io.BytesIO(body), allow_pickle=True)[0] == {"a": 1}


def test_npy_sparse_matrix_is_dense():
    matrix = scipy.sparse.csr_matrix(np.eye(2))
    body = encoder.encode(matrix, "application/x-npy")
    np.testing.assert_array_equal(np.load(io.BytesIO(body)), np.eye(2))


# --- NPZ ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok"])
def test_npz_saves_sparse_matrices(fmt):
    matrix = scipy.sparse.random(5, 3, density=0.5, format=fmt, random_state=0)
    body = encoder.encode(matrix, "application/x-npz")
    loaded = scipy.sparse.load_npz(io.BytesIO(body))
    np.testing.assert_array_equal(loaded.toarray(), matrix.toarray())


def test_npz_dense_input_is_stored_as_csr():
    body = encoder.encode(np.array([[0.0, 1.0], [2.0, 0.0]]), "application/x-npz")
    loaded = scipy.sparse.load_npz(io.BytesIO(body))
    assert loaded.format == "csr"
    np.testing.assert_array_equal(loaded.toarray(), [[0.0, 1.0], [2.0, 0.0]])
