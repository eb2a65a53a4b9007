"""sagemaker_inference.testing: LocalModel answers like the served model, in-process."""

import io
import json
import os
import sys
import textwrap

import numpy as np
import pytest

from sagemaker_inference import default_handler_service, transformer
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
from sagemaker_inference.testing import LocalModel, Response, encode_body

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRUIT = os.path.join(ROOT, "examples", "fruit", "model")
APPLE = [182, 7.4, 12.9, 0.2]
LEMON = [105, 5.4, 2.5, 0.5]


def make_model(tmp_path, source, name="inference.py", files=None):
    model_dir = tmp_path / "model"
    code = model_dir / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / name).write_text(textwrap.dedent(source))
    for filename, text in (files or {}).items():
        (model_dir / filename).write_text(text)
    return model_dir


@pytest.fixture
def fruit():
    with LocalModel(FRUIT) as model:
        yield model


# ---- the example model -----------------------------------------------------------------------


def test_json_prediction(fruit):
    response = fruit.invoke(json.dumps([APPLE, LEMON]), content_type="application/json")
    assert response.status == 200 and response.ok
    assert response.content_type == "application/json"
    assert [row["label"] for row in response.json()] == ["apple", "lemon"]
    assert isinstance(response.body, bytes)


def test_unpacks_as_status_body_content_type(fruit):
    status, body, content_type = fruit.invoke(b"182,7.4,12.9,0.2\n", "text/csv", accept="text/csv")
    assert (status, body, content_type) == (200, b"apple\n", "text/csv")


def test_python_values_are_encoded_for_the_content_type(fruit):
    assert fruit.invoke([APPLE]).json()[0]["label"] == "apple"
    buffer = io.BytesIO()
    np.save(buffer, np.array([LEMON]))
    assert fruit.invoke(buffer.getvalue(), "application/x-npy", "text/csv").text == "lemon\n"
    assert fruit.invoke(np.array([LEMON]), "application/x-npy", "text/csv").text == "lemon\n"


def test_accept_is_negotiated(fruit):
    response = fruit.invoke([APPLE], accept="text/csv;q=0.5, application/json")
    assert response.content_type == "application/json"
    assert fruit.invoke([APPLE], accept="*/*").content_type == "application/json"


def test_bad_shape_is_a_400_with_one_line(fruit):
    response = fruit.invoke([[1, 2]])
    assert response.status == 400
    assert "expected rows of 4 numbers" in response.text
    assert response.reason and "\n" not in response.reason


def test_malformed_json_is_a_400(fruit):
    assert fruit.invoke(b"[[1, 2").status == 400


def test_unsupported_content_type_is_a_415(fruit):
    assert fruit.invoke(b"\x89PNG", content_type="image/png").status == 415


def test_unacceptable_accept_is_a_406(fruit):
    assert fruit.invoke([APPLE], accept="image/png").status == 406


def test_the_model_keeps_serving_after_errors(fruit):
    assert fruit.invoke(b"garbage").status == 400
    assert fruit.invoke([APPLE]).status == 200


def test_context_is_mms_own(fruit):
    from mms.context import Context

    assert isinstance(fruit.context, Context)
    assert fruit.context.system_properties["model_dir"] == FRUIT


# ---- user code variations --------------------------------------------------------------------


def test_model_fn_errors_propagate(tmp_path):
    model_dir = make_model(
        tmp_path,
        """
        def model_fn(model_dir):
            raise FileNotFoundError("weights.bin is missing")
        """,
    )
    with pytest.raises(FileNotFoundError, match="weights.bin is missing"):
        LocalModel(model_dir)


def test_missing_model_fn_is_reported(tmp_path):
    model_dir = make_model(tmp_path, "x = 1\n")
    with pytest.raises(NotImplementedError, match="model_fn"):
        LocalModel(model_dir)


def test_program_selects_another_module(tmp_path):
    model_dir = make_model(
        tmp_path,
        """
        def model_fn(model_dir):
            return "other"

        def transform_fn(model, body, content_type, accept):
            return model.encode(), "text/plain"
        """,
        name="serve.py",
    )
    with LocalModel(model_dir, program="serve") as model:
        assert tuple(model.invoke(b"x")) == (200, b"other", "text/plain")


def test_hooks_see_the_context_and_custom_attributes(tmp_path):
    model_dir = make_model(
        tmp_path,
        """
        def model_fn(model_dir, context):
            return context.system_properties["model_dir"]

        def predict_fn(data, model, context):
            attributes = context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
            return [model.endswith("model"), attributes]

        def output_fn(prediction, accept, context):
            context.set_response_header(0, "X-Served-By", "local")
            return str(prediction), "text/plain"
        """,
    )
    with LocalModel(model_dir) as model:
        response = model.invoke(b"[1]", headers={"X-Amzn-SageMaker-Custom-Attributes": "trace=abc"})
    assert response.text == "[True, 'trace=abc']"
    assert response.headers["X-Served-By"] == "local"


def test_env_is_visible_while_loading_and_serving(tmp_path, monkeypatch):
    monkeypatch.delenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", raising=False)
    monkeypatch.delenv("FRUIT_MODE", raising=False)
    model_dir = make_model(
        tmp_path,
        """
        import os

        def model_fn(model_dir):
            return os.environ["FRUIT_MODE"]

        def predict_fn(data, model):
            return data * 2
        """,
    )
    env = {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv", "FRUIT_MODE": "x"}
    with LocalModel(model_dir, env=env) as model:
        response = model.invoke([1, 2])
    assert response.content_type.startswith("text/csv")
    assert response.text.split() == ["2", "4"] or response.text.strip() == "2,4"
    assert "FRUIT_MODE" not in os.environ


def test_two_models_with_the_same_module_name(tmp_path):
    first = make_model(
        tmp_path / "a",
        """
        def model_fn(model_dir):
            return "a"

        def transform_fn(model, body, content_type, accept):
            return model
        """,
    )
    second = make_model(
        tmp_path / "b",
        """
        def model_fn(model_dir):
            return "b"

        def transform_fn(model, body, content_type, accept):
            return model
        """,
    )
    with LocalModel(first) as a, LocalModel(second) as b:
        assert a.invoke(b"").body == b"a"
        assert b.invoke(b"").body == b"b"


def test_close_takes_the_code_directory_off_sys_path(tmp_path):
    model_dir = make_model(tmp_path, "def model_fn(model_dir):\n    return 1\n")
    code_dir = str(model_dir / "code")
    model = LocalModel(model_dir)
    assert code_dir in sys.path
    model.close()
    assert code_dir not in sys.path


def test_batch_requests_are_answered_one_by_one(fruit):
    responses = fruit.invoke_batch(
        [
            {"body": [APPLE]},
            {"body": b"not json"},
            {"body": b"105,5.4,2.5,0.5", "content_type": "text/csv", "accept": "text/csv"},
        ]
    )
    assert [r.status for r in responses] == [200, 400, 200]
    assert responses[2].body == b"lemon\n"


# ---- container-author handler services -------------------------------------------------------


class Doubling(DefaultInferenceHandler):
    def default_model_fn(self, model_dir, context=None):
        return 2

    def default_predict_fn(self, data, model, context=None):
        return data * model


def test_a_handler_service_object(tmp_path):
    empty = tmp_path / "model"
    empty.mkdir()
    service = default_handler_service.DefaultHandlerService(
        transformer=transformer.Transformer(default_inference_handler=Doubling())
    )
    with LocalModel(empty, handler_service=service) as model:
        assert model.invoke([[1, 2]]).json() == [[2, 4]]


def test_a_handler_module_with_a_handle_function(tmp_path, monkeypatch):
    (tmp_path / "echo_service.py").write_text(textwrap.dedent("""
            loaded = []

            def handle(data, context):
                if data is None:
                    loaded.append(context.system_properties["model_dir"])
                    return None
                return [bytes(item["body"]).upper() for item in data]
            """))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "model").mkdir()
    model = LocalModel(tmp_path / "model", handler_service="echo_service")
    assert model.invoke(b"hi", content_type="text/plain").body == b"HI"
    assert sys.modules["echo_service"].loaded == [str(tmp_path / "model")]


def test_a_handle_that_breaks_mms_rules_gets_mms_503(tmp_path):
    class NotAList(object):
        def handle(self, data, context):
            return "not a list"

    (tmp_path / "model").mkdir()
    response = LocalModel(tmp_path / "model", handler_service=NotAList()).invoke(b"x")
    assert response.status == 503
    assert response.content_type == "application/json"
    assert response.json() == {
        "code": 503,
        "type": "InternalServerException",
        "message": "Invalid model predict output",
    }


def test_response_helpers():
    response = Response(200, "é".encode("latin-1"), "text/plain; charset=latin-1")
    assert response.text == "é" and response.ok
    assert not Response(404, b"", None).ok
    assert Response(200, b"1", "a") == Response(200, b"1", "a", reason="OK")


def test_encode_body():
    assert encode_body("é", "text/plain; charset=latin-1") == b"\xe9"
    assert encode_body({"a": np.float32(1.5)}, "application/json") == b'{"a": 1.5}'
    assert encode_body(bytearray(b"x"), None) == b"x"


def test_missing_model_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        LocalModel(tmp_path / "absent")
