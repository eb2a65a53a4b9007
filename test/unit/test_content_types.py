from sagemaker_inference import content_types


def test_names_keep_their_1_10_1_values():
    assert content_types.JSON == "application/json"
    assert content_types.CSV == "text/csv"
    assert content_types.OCTET_STREAM == "application/octet-stream"
    assert content_types.ANY == "*/*"
    assert content_types.NPY == "application/x-npy"
    assert content_types.NPZ == "application/x-npz"


def test_jsonlines_and_text_types():
    assert content_types.JSONLINES == "application/jsonlines"
    assert content_types.JSON in content_types.UTF8_TYPES
    assert content_types.CSV in content_types.UTF8_TYPES
    assert content_types.JSONLINES in content_types.UTF8_TYPES
    assert content_types.NPY not in content_types.UTF8_TYPES
