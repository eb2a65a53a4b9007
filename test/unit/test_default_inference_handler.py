import json

import numpy as np
import pytest

from sagemaker_inference import content_types, errors
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler


def test_default_model_fn_asks_for_model_fn():
    with pytest.raises(NotImplementedError, match="Please provide a model_fn implementation"):
        DefaultInferenceHandler().default_model_fn("/opt/ml/model")
    with pytest.raises(NotImplementedError):
        DefaultInferenceHandler().default_model_fn("/opt/ml/model", context=object())


def test_default_predict_fn_asks_for_predict_fn():
    with pytest.raises(NotImplementedError, match="Please provide a predict_fn implementation"):
        DefaultInferenceHandler().default_predict_fn(np.ones(2), None, None)


def test_default_input_fn_decodes():
    handler = DefaultInferenceHandler()
    np.testing.assert_array_equal(
        handler.default_input_fn(b"[[1, 2], [3, 4]]", content_types.JSON),
        np.array([[1, 2], [3, 4]]),
    )
    np.testing.assert_array_equal(
        handler.default_input_fn("1,2\n3,4", content_types.CSV, None), np.array([[1, 2], [3, 4]])
    )


def test_default_input_fn_unsupported():
    with pytest.raises(errors.UnsupportedFormatError):
        DefaultInferenceHandler().default_input_fn(b"x", "application/x-unknown")


def test_default_output_fn_returns_body_and_content_type():
    body, content_type = DefaultInferenceHandler().default_output_fn(
        np.array([1.5, 2.5]), content_types.JSON
    )
    assert content_type == content_types.JSON
    assert json.loads(body) == [1.5, 2.5]
    body, content_type = DefaultInferenceHandler().default_output_fn(
        np.array([1, 2]), content_types.NPY, context=None
    )
    assert content_type == content_types.NPY
    assert isinstance(body, bytes)


@pytest.mark.parametrize(
    "accept, expected_type, expected_body",
    [
        ("text/csv, application/json", "text/csv", "1,2\n"),
        ("application/json, text/csv", "application/json", "[[1, 2]]"),
        ("image/png, text/csv", "text/csv", "1,2\n"),
        ("text/csv;q=0.5, application/json", "application/json", "[[1, 2]]"),
        ("*/*", "application/json", "[[1, 2]]"),
    ],
)
def test_default_output_fn_takes_an_accept_list(accept, expected_type, expected_body):
    # 1.10.1 walked the Accept list; a subclass that calls output_fn with the raw header works.
    body, content_type = DefaultInferenceHandler().default_output_fn(np.array([[1, 2]]), accept)
    assert content_type == expected_type
    assert body == expected_body


def test_default_output_fn_list_with_nothing_supported_is_406():
    with pytest.raises(errors.NotAcceptableError) as raised:
        DefaultInferenceHandler().default_output_fn([1], "image/png, text/html")
    assert raised.value.status_code == 406
