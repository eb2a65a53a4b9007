import inspect
import json
import sys
import textwrap

import pytest

from fake_mms import FakeContext, batch
from sagemaker_inference import errors, transformer
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
from sagemaker_inference.transformer import Transformer, current_request

pytestmark = pytest.mark.usefixtures("isolated_imports")

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

DOUBLE_MODEL = """
import numpy as np


def model_fn(model_dir):
    return 2

def predict_fn(data, model):
    return np.asarray(data) * model
"""


def write_code(model_dir, source, name="inference.py"):
    code_dir = model_dir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / name).write_text(textwrap.dedent(source))
    return model_dir


def loaded(model_dir, source=DOUBLE_MODEL, handler=None, cls=Transformer):
    if source is not None:
        write_code(model_dir, source)
    service = cls(default_inference_handler=handler)
    service.validate_and_initialize(model_dir=str(model_dir), context=FakeContext(str(model_dir)))
    return service


def run(service, bodies, headers, model_dir="/opt/ml/model"):
    context = FakeContext(model_dir=model_dir, headers=headers)
    return service.transform(batch(*bodies), context), context


def status(context, index=0):
    return context.get_response_status(index)


# ---- default pipeline ---------------------------------------------------------------------------


def test_json_round_trip(tmp_path):
    service = loaded(tmp_path)
    result, context = run(service, [b"[1, 2, 3]"], [JSON_HEADERS])
    assert isinstance(result, list) and len(result) == 1
    assert json.loads(result[0]) == [2, 4, 6]
    assert context.get_response_content_type(0) == "application/json"
    assert status(context) == (200, None)


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json", "accept": "application/json"},
        {"CONTENT-TYPE": "Application/JSON; charset=utf-8"},
        {"Content-Type": "application/json; charset=UTF-8", "ACCEPT": "*/*"},
    ],
)
def test_header_names_and_media_types_are_case_insensitive(tmp_path, headers):
    result, context = run(loaded(tmp_path), [b"[1]"], [headers])
    assert status(context)[0] == 200
    assert json.loads(result[0]) == [2]


@pytest.mark.parametrize(
    "accept, expected",
    [
        ("text/csv;q=0.5, application/json", "application/json"),
        ("text/csv", "text/csv"),
        ("application/*", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
def test_accept_negotiation_with_default_output_fn(tmp_path, accept, expected):
    headers = {"Content-Type": "text/csv"}
    if accept is not None:
        headers["Accept"] = accept
    result, context = run(loaded(tmp_path), [b"1,2"], [headers])
    assert status(context)[0] == 200
    assert context.get_response_content_type(0) == expected


def test_default_accept_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv")
    result, context = run(loaded(tmp_path), [b"[1, 2]"], [{"Content-Type": "application/json"}])
    assert context.get_response_content_type(0) == "text/csv"
    assert result[0].strip().replace(".0", "") in ("2\n4", "2,4")


def test_unsatisfiable_accept_is_406(tmp_path):
    headers = {"Content-Type": "application/json", "Accept": "application/xml"}
    result, context = run(loaded(tmp_path), [b"[1]"], [headers])
    code, phrase = status(context)
    assert code == 406
    assert "application/json" in result[0]
    assert "\n" not in phrase and "\r" not in phrase


def test_missing_content_type_is_415_naming_the_supported_types(tmp_path):
    result, context = run(loaded(tmp_path), [b"[1]"], [{"Accept": "application/json"}])
    assert status(context)[0] == 415
    assert result[0].startswith("The request has no Content-Type. Supported types: ")
    assert "application/json, text/csv" in result[0]
    assert "None" not in result[0]


def test_unsupported_content_type_is_415(tmp_path):
    result, context = run(loaded(tmp_path), [b"<a/>"], [{"Content-Type": "application/xml"}])
    assert status(context)[0] == 415
    assert context.get_response_content_type(0).startswith("text/plain")
    assert "\n" not in result[0]


def test_malformed_body_is_400(tmp_path):
    result, context = run(loaded(tmp_path), [b"[1, 2"], [{"Content-Type": "application/json"}])
    assert status(context)[0] == 400
    assert "\n" not in result[0] and "Traceback" not in result[0]


def test_wrong_charset_is_400(tmp_path):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    result, context = run(loaded(tmp_path), [b'["\xff"]'], [headers])
    assert status(context)[0] == 400


def test_missing_model_fn_is_the_known_not_implemented_error(tmp_path):
    with pytest.raises(NotImplementedError, match="Please provide a model_fn implementation"):
        loaded(tmp_path, "def predict_fn(data, model):\n    return data\n")


def test_no_user_module_uses_defaults(tmp_path):
    (tmp_path / "code").mkdir()
    with pytest.raises(NotImplementedError, match="Please provide a model_fn implementation"):
        loaded(tmp_path, source=None)


def test_missing_predict_fn_answers_500(tmp_path):
    service = loaded(tmp_path, "def model_fn(model_dir):\n    return 1\n")
    result, context = run(service, [b"[1]"], [JSON_HEADERS])
    assert status(context)[0] == 500
    assert "predict_fn" in result[0]


# ---- errors -------------------------------------------------------------------------------------

FAILING_MODEL = """
from sagemaker_inference import errors

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    kind = int(data[0])
    if kind == 1:
        raise RuntimeError("boom\\r\\nInjected: header")
    if kind == 2:
        raise errors.GenericInferenceToolkitError(422, "bad\\nvalue", "Unprocessable\\r\\nX: y")
    if kind == 3:
        raise errors.BaseInferenceToolkitError(409, "busy", "Conflict")
    if kind == 4:
        raise KeyError("missing")
    return data
"""


@pytest.mark.parametrize(
    "kind, code, body",
    [
        (1, 500, "RuntimeError: boom Injected: header"),
        (2, 422, "bad value"),
        (3, 409, "busy"),
        (4, 500, "KeyError: 'missing'"),
    ],
)
def test_error_status_phrase_and_body(tmp_path, kind, code, body):
    service = loaded(tmp_path, FAILING_MODEL)
    result, context = run(service, [str([kind]).encode()], [JSON_HEADERS])
    got_code, phrase = status(context)
    assert got_code == code
    assert " ".join(result[0].split()) == body
    assert "\r" not in phrase and "\n" not in phrase
    assert "Traceback" not in result[0]


def test_custom_phrase_is_kept_without_crlf(tmp_path):
    service = loaded(tmp_path, FAILING_MODEL)
    _, context = run(service, [b"[2]"], [JSON_HEADERS])
    assert " ".join(status(context)[1].split()) == "Unprocessable X: y"


def test_traceback_only_on_opt_in(tmp_path, monkeypatch, library_caplog):
    monkeypatch.setenv("SAGEMAKER_RETURN_TRACEBACK", "true")
    service = loaded(tmp_path, FAILING_MODEL)
    result, context = run(service, [b"[1]"], [JSON_HEADERS])
    assert status(context)[0] == 500
    first, rest = result[0].split("\n", 1)
    assert first.startswith("RuntimeError: boom")
    assert "Traceback" in rest and "inference.py" in rest
    assert "\n" not in status(context)[1]


def test_traceback_is_logged(tmp_path, library_caplog):
    service = loaded(tmp_path, FAILING_MODEL)
    with library_caplog.at_level("ERROR", logger="sagemaker-inference"):
        run(service, [b"[1]"], [JSON_HEADERS])
    assert "Traceback" in library_caplog.text


def test_huge_message_gives_bounded_ascii_phrase(tmp_path):
    source = "def model_fn(d):\n    return 1\n\ndef predict_fn(data, model):\n"
    source += "    raise ValueError('\\u00e9' * 5000)\n"
    result, context = run(loaded(tmp_path, source), [b"[1]"], [JSON_HEADERS])
    phrase = status(context)[1]
    assert len(phrase) <= transformer.MAX_PHRASE_LENGTH
    assert phrase.isascii()


def test_describe_error_shapes():
    assert transformer.describe_error(errors.UnsupportedFormatError("a/b"))[0] == 415
    assert transformer.describe_error(errors.BadRequestError("x"))[:1] == (400,)
    assert transformer.describe_error(errors.NotAcceptableError("a/b", ["c/d"]))[0] == 406
    assert transformer.describe_error(ValueError(""))[2] == "ValueError"


# ---- batches ------------------------------------------------------------------------------------


def test_one_bad_request_answers_alone(tmp_path):
    service = loaded(tmp_path)
    headers = [
        {"Content-Type": "application/json", "Accept": "application/json"},
        {"content-type": "application/json"},
        {"Content-Type": "text/csv", "Accept": "text/csv"},
        {"Content-Type": "application/x-unknown"},
    ]
    result, context = run(service, [b"[1, 2]", b"[1,", b"3,4", b"zz"], headers)
    assert len(result) == 4
    assert json.loads(result[0]) == [2, 4]
    assert [status(context, i)[0] for i in range(4)] == [200, 400, 200, 415]
    assert context.get_response_content_type(0) == "application/json"
    assert context.get_response_content_type(2) == "text/csv"
    assert [float(x) for x in result[2].replace("\n", ",").strip(",").split(",")] == [6, 8]


def test_batch_hooks_see_their_own_request(tmp_path):
    source = """
    from sagemaker_inference.transformer import current_request

    def model_fn(model_dir):
        return None

    def transform_fn(model, data, content_type, accept, context):
        request = current_request()
        own = context.request_processor[request.index].get_request_properties()
        return (request.custom_attributes or "-") + "|" + own["X-Id"], "text/plain"
    """
    service = loaded(tmp_path, source)
    headers = [
        {"X-Amzn-SageMaker-Custom-Attributes": "a=1", "X-Id": "0"},
        {"x-amzn-sagemaker-custom-attributes": "b=2", "X-Id": "1"},
        {"X-Id": "2"},
    ]
    result, context = run(service, [b"", b"", b""], headers)
    assert result == ["a=1|0", "b=2|1", "-|2"]
    assert current_request() is None


# ---- hooks and context --------------------------------------------------------------------------

CONTEXT_MODEL = """
import numpy as np
calls = []

def model_fn(model_dir, context):
    calls.append(("model_fn", context.system_properties["model_dir"]))
    return 3

def input_fn(input_data, content_type, context):
    calls.append(("input_fn", type(input_data).__name__, content_type, context))
    return np.asarray([float(x) for x in input_data.split(",")])

def predict_fn(data, model):
    return data * model

def output_fn(prediction, accept, context=None):
    calls.append(("output_fn", accept))
    return ",".join(str(x) for x in prediction), "text/csv"
"""


def test_context_is_passed_only_to_hooks_that_take_it(tmp_path):
    write_code(tmp_path, CONTEXT_MODEL)
    service = Transformer()
    context = FakeContext(model_dir=str(tmp_path), headers=[{"Content-Type": "text/csv"}])
    result = service.transform(batch(b"1,2"), context)
    assert result == ["3.0,6.0"]
    calls = sys.modules["inference"].calls
    assert calls[0] == ("model_fn", str(tmp_path))
    assert calls[1] == ("input_fn", "str", "text/csv", context)
    assert calls[2] == ("output_fn", "application/json")
    assert context.get_response_content_type(0) == "text/csv"


@pytest.mark.parametrize(
    "accept, expected",
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/csv;q=0.4, application/x-custom", "application/x-custom"),
        ("Text/CSV; charset=utf-8", "text/csv"),
        ("text/*", "text/*"),
    ],
)
def test_user_output_fn_gets_best_concrete_accept(tmp_path, accept, expected):
    service = loaded(tmp_path, CONTEXT_MODEL)
    headers = {"Content-Type": "text/csv"}
    if accept:
        headers["Accept"] = accept
    run(service, [b"1"], [headers])
    assert sys.modules["inference"].calls[-1] == ("output_fn", expected)


WALKING_OUTPUT_MODEL = """
from sagemaker_inference import encoder, errors, utils


def model_fn(model_dir):
    return None


def predict_fn(data, model):
    return [[1.0, 2.0]]


def output_fn(prediction, accept):
    # what the PyTorch and MXNet toolkits do: walk the Accept list for a type they can encode
    for content_type in utils.parse_accept(accept):
        if content_type in encoder.SUPPORTED_CONTENT_TYPES:
            return encoder.encode(prediction, content_type), content_type
    raise errors.UnsupportedFormatError(accept)
"""


def test_a_hook_that_walks_accept_sees_every_listed_type(tmp_path):
    service = loaded(tmp_path, WALKING_OUTPUT_MODEL)
    headers = {"Content-Type": "application/json", "Accept": "application/x-foo, text/csv"}
    result, context = run(service, [b"[1]"], [headers])
    assert result == ["1.0,2.0\n"], result
    assert context.get_response_content_type(0) == "text/csv"


def test_text_body_decoded_with_declared_charset_for_user_input_fn(tmp_path):
    source = """
    def model_fn(model_dir):
        return None

    def input_fn(data, content_type):
        return data

    def predict_fn(data, model):
        return data

    def output_fn(prediction, accept):
        return repr(prediction), "text/plain"
    """
    service = loaded(tmp_path, source)
    headers = [
        {"Content-Type": "application/json; charset=latin-1"},
        {"Content-Type": "application/json; charset=no-such-charset"},
        {"Content-Type": "application/x-npy"},
        {"Content-Type": "text/csv"},
    ]
    result, context = run(service, ["é".encode("latin-1"), b"1", b"\x93NUMPY", b"\xff"], headers)
    assert result[0] == repr("é")
    assert status(context, 1)[0] == 400
    assert result[2] == repr(b"\x93NUMPY")
    assert status(context, 3)[0] == 400


def test_transform_fn(tmp_path):
    source = """
    seen = []

    def model_fn(model_dir):
        return "model"

    def transform_fn(model, input_data, content_type, accept):
        seen.append((model, input_data, content_type, accept))
        return input_data.upper(), "text/plain"
    """
    service = loaded(tmp_path, source)
    result, context = run(service, [b'"hi"'], [{"Content-Type": "application/json"}])
    assert result == ['"HI"']
    assert sys.modules["inference"].seen == [
        ("model", '"hi"', "application/json", "application/json")
    ]
    assert context.get_response_content_type(0) == "text/plain"


def test_transform_fn_returning_plain_value_uses_accept(tmp_path):
    source = """
    def model_fn(model_dir):
        return None

    def transform_fn(model, input_data, content_type, accept, context):
        return {"n": len(input_data)}
    """
    result, context = run(loaded(tmp_path, source), [b"abc"], [{"Accept": "application/json"}])
    assert json.loads(result[0]) == {"n": 3}
    assert context.get_response_content_type(0) == "application/json"


def test_numpy_results_are_made_sendable(tmp_path):
    source = """
    import numpy as np

    def model_fn(model_dir):
        return None

    def transform_fn(model, input_data, content_type, accept):
        return np.arange(3)
    """
    result, context = run(loaded(tmp_path, source), [b""], [{}])
    assert json.loads(result[0]) == [0, 1, 2]


@pytest.mark.parametrize("extra", ["input_fn", "predict_fn", "output_fn"])
def test_transform_fn_with_pipeline_hook_is_rejected(tmp_path, extra):
    source = "def model_fn(d):\n    return 1\n\ndef transform_fn(m, d, c, a):\n    return d\n"
    source += "\ndef {}(a, b):\n    return a\n".format(extra)
    with pytest.raises(ValueError, match="transform_fn together with " + extra):
        loaded(tmp_path, source)


def test_pre_model_fn_and_model_warmup_fn_run_once_in_order(tmp_path):
    source = """
    calls = []

    def pre_model_fn(model_dir):
        calls.append(("pre", model_dir))

    def model_fn(model_dir, context):
        calls.append(("model", context))
        return "m"

    def model_warmup_fn(model_dir, model, context):
        calls.append(("warmup", model, context))

    def predict_fn(data, model):
        return data
    """
    write_code(tmp_path, source)
    service = Transformer()
    context = FakeContext(model_dir=str(tmp_path))
    service.validate_and_initialize(model_dir=str(tmp_path), context=context)
    service.validate_and_initialize(model_dir=str(tmp_path), context=context)
    assert sys.modules["inference"].calls == [
        ("pre", str(tmp_path)),
        ("model", context),
        ("warmup", "m", context),
    ]


def test_handler_default_pre_model_and_warmup_hooks(tmp_path):
    calls = []

    class Handler(DefaultInferenceHandler):
        def default_model_fn(self, model_dir):
            calls.append("model")
            return 1

        def default_pre_model_fn(self, model_dir):
            calls.append("pre")

        def default_model_warmup_fn(self, model_dir, model, context=None):
            calls.append(("warmup", model))

    (tmp_path / "code").mkdir()
    loaded(tmp_path, source=None, handler=Handler())
    assert calls == ["pre", "model", ("warmup", 1)]


def test_hook_with_wrong_signature_fails_at_initialize(tmp_path):
    source = "def model_fn(d):\n    return 1\n\ndef predict_fn(data):\n    return data\n"
    with pytest.raises(TypeError, match="predict_fn"):
        loaded(tmp_path, source)


def test_non_callable_hook_fails_at_initialize(tmp_path):
    with pytest.raises(TypeError, match="model_fn"):
        loaded(tmp_path, "model_fn = 3\n")


def test_lazy_initialization_from_transform(tmp_path):
    write_code(tmp_path, DOUBLE_MODEL)
    service = Transformer()
    result, context = run(service, [b"[1]"], [JSON_HEADERS], model_dir=str(tmp_path))
    assert json.loads(result[0]) == [2]


def test_lazy_initialization_failure_answers_every_request(tmp_path):
    write_code(tmp_path, "def model_fn(d):\n    raise OSError('no weights')\n")
    result, context = run(Transformer(), [b"1", b"2"], [{}, {}], model_dir=str(tmp_path))
    assert [status(context, i)[0] for i in (0, 1)] == [500, 500]
    assert result[0] == "OSError: no weights"


# ---- _run_handler_function ----------------------------------------------------------------------


def test_run_handler_function_context_detection():
    service = Transformer()
    assert service._run_handler_function(lambda a: a, 1, "ctx") == 1
    assert service._run_handler_function(lambda a, c: (a, c), 1, "ctx") == (1, "ctx")
    assert service._run_handler_function(lambda a, c=None: (a, c), 1, "ctx") == (1, "ctx")
    assert service._run_handler_function(lambda *args: args, 1, "ctx") == (1, "ctx")
    with pytest.raises(TypeError):
        service._run_handler_function(lambda a, b, c, d: a, 1, "ctx")
    with pytest.raises(TypeError):
        service._run_handler_function(lambda: None, 1, "ctx")


def test_signatures_are_inspected_at_bind_time_only(tmp_path, monkeypatch):
    service = loaded(tmp_path)
    counted = []
    real = inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda f: counted.append(f) or real(f))
    for _ in range(5):
        run(service, [b"[1]", b"[2]"], [JSON_HEADERS, JSON_HEADERS])
    assert counted == []


def test_subclass_hooks_still_work(tmp_path):
    class LegacyTransformer(Transformer):
        def _default_transform_fn(self, model, input_data, content_type, accept, context=None):
            return "custom:" + input_data, "text/plain"

        def handle_error(self, context, inference_exception, trace):
            context.set_response_status(code=418, phrase="teapot")
            return ["legacy"]

    service = loaded(tmp_path, handler=None, cls=LegacyTransformer)
    result, context = run(service, [b"[1]"], [JSON_HEADERS])
    assert result == ["custom:[1]"]

    class Broken(LegacyTransformer):
        def _default_transform_fn(self, *args):
            raise RuntimeError("x")

    service = loaded(tmp_path, source=None, cls=Broken)
    result, context = run(service, [b"[1]"], [JSON_HEADERS])
    assert result == ["legacy"] and status(context) == (418, "teapot")


# ---- user module import -------------------------------------------------------------------------


@pytest.mark.parametrize("program", ["serve", "serve.py"])
def test_sagemaker_program_forms(tmp_path, monkeypatch, program):
    monkeypatch.setenv("SAGEMAKER_PROGRAM", program)
    write_code(tmp_path, DOUBLE_MODEL, name="serve.py")
    service = loaded(tmp_path, source=None)
    result, _ = run(service, [b"[4]"], [JSON_HEADERS])
    assert json.loads(result[0]) == [8]


def test_sibling_module_import(tmp_path):
    write_code(tmp_path, "FACTOR = 5\n", name="helpers_for_test.py")
    source = """
    import helpers_for_test

    def model_fn(model_dir):
        return helpers_for_test.FACTOR

    def predict_fn(data, model):
        return data * model
    """
    result, _ = run(loaded(tmp_path, source), [b"[1]"], [JSON_HEADERS])
    assert json.loads(result[0]) == [5]
    assert sys.path[0] == str(tmp_path / "code")
    assert sys.path.count(str(tmp_path / "code")) == 1


def test_two_model_dirs_with_the_same_module_name(tmp_path):
    one = tmp_path / "one"
    two = tmp_path / "two"
    template = (
        "def model_fn(d):\n    return {}\n\ndef predict_fn(data, model):\n    return data * model\n"
    )
    first = loaded(one, template.format(10))
    second = loaded(two, template.format(100))
    assert json.loads(run(first, [b"[1]"], [JSON_HEADERS])[0][0]) == [10]
    assert json.loads(run(second, [b"[1]"], [JSON_HEADERS])[0][0]) == [100]
    assert sys.modules["inference"].__file__ == str(two / "code" / "inference.py")


def test_module_of_same_name_from_elsewhere_is_replaced(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "inference.py").write_text("def model_fn(d):\n    return -1\n")
    sys.path.insert(0, str(elsewhere))
    __import__("inference")
    model = tmp_path / "model"
    result, _ = run(loaded(model), [b"[1]"], [JSON_HEADERS])
    assert json.loads(result[0]) == [2]


def test_module_only_on_sys_path_is_used(tmp_path):
    elsewhere = tmp_path / "site"
    elsewhere.mkdir()
    (elsewhere / "inference.py").write_text(textwrap.dedent(DOUBLE_MODEL))
    sys.path.insert(0, str(elsewhere))
    result, _ = run(loaded(tmp_path / "model", source=None), [b"[1]"], [JSON_HEADERS])
    assert json.loads(result[0]) == [2]


def test_import_error_in_user_module_propagates(tmp_path):
    with pytest.raises(ModuleNotFoundError):
        loaded(tmp_path, "import no_such_module_for_test\n")


def test_transform_with_none_data_only_initializes(tmp_path):
    write_code(tmp_path, DOUBLE_MODEL)
    service = Transformer()
    assert service.transform(None, FakeContext(model_dir=str(tmp_path))) is None
    assert service._initialized


# ---- context passing, 1.10.1 calling convention ---------------------------------------------


class BatchSizeHandler(DefaultInferenceHandler):
    """Like MXNet's handler: an extra model_fn parameter with a default that is not a context."""

    def default_model_fn(self, model_dir, preferred_batch_size=1):
        return {"batch": preferred_batch_size}

    def default_predict_fn(self, data, model):
        return [model["batch"]]


def test_extra_parameter_with_a_default_keeps_its_default(tmp_path):
    service = loaded(tmp_path, source=None, handler=BatchSizeHandler())
    assert service._model == {"batch": 1}
    result, context = run(service, [b"[0]"], [JSON_HEADERS])
    assert status(context)[0] == 200 and json.loads(result[0]) == [1]


@pytest.mark.parametrize(
    "signature, gets_context",
    [
        ("model_dir, context", True),
        ("model_dir, ctx", True),  # extra parameter without a default
        ("model_dir, context=None", True),
        ("model_dir, batch=1, context=None", True),  # by keyword
        ("model_dir, *, context=None", True),
        ("model_dir, batch=1", False),
        ("model_dir", False),
    ],
)
def test_context_goes_to_context_or_a_parameter_without_default(tmp_path, signature, gets_context):
    names = [part.split("=")[0].strip() for part in signature.split(",")]
    context_name = next((n for n in names[1:] if n in ("context", "ctx")), None)
    body = "return {}".format(context_name) if context_name else "return 'none'"
    source = "def model_fn({}):\n    {}\n\ndef predict_fn(data, model):\n    return [0]\n".format(
        signature, body
    )
    write_code(tmp_path, source)
    context = FakeContext(str(tmp_path))
    service = Transformer()
    service.validate_and_initialize(model_dir=str(tmp_path), context=context)
    assert (service._model is context) is gets_context
    if not gets_context:
        assert service._model == "none"


def test_run_handler_function_with_1_10_1s_convention(tmp_path):
    # A subclass calls hooks with their own arguments only; the Transformer adds the context.
    seen = {}

    class Handler(DefaultInferenceHandler):
        def default_model_fn(self, model_dir, context):
            seen["load"] = context
            return "m"

        def default_input_fn(self, input_data, content_type, context):
            seen["input"] = context
            return input_data

        def default_predict_fn(self, data, model, context=None):
            seen["predict"] = context
            return data

        def default_output_fn(self, prediction, accept):
            return "out:" + prediction, "text/plain"

    class Subclass(Transformer):
        def _default_transform_fn(self, model, input_data, content_type, accept):
            data = self._run_handler_function(self._input_fn, *(input_data, content_type))
            prediction = self._run_handler_function(self._predict_fn, *(data, model))
            return self._run_handler_function(self._output_fn, *(prediction, accept))

    service = loaded(tmp_path, source=None, handler=Handler(), cls=Subclass)
    result, context = run(service, [b"abc"], [{"Content-Type": "text/csv"}])
    assert result == ["out:abc"], result
    assert seen["input"] is context and seen["predict"] is context
    assert seen["load"] is not None
    # the library's own convention (context last) still works from a subclass
    assert service._run_handler_function(service._predict_fn, "d", "m", "ctx") == "d"
    assert seen["predict"] == "ctx"


# ---- input_fn errors are the client's --------------------------------------------------------


BAD_INPUT_MODEL = """
import json


def model_fn(model_dir):
    return None


def input_fn(input_data, content_type):
    if content_type == "application/x-key":
        return {}["missing"]
    if content_type == "application/x-type":
        return len(5)
    if content_type == "application/x-bytes":
        return input_data.decode("utf-8")
    return json.loads(input_data)


def predict_fn(data, model):
    if data == "explode":
        raise ValueError("predict blew up")
    return data
"""


@pytest.mark.parametrize(
    "content_type, body, error",
    [
        ("application/json", b"{not json", "JSONDecodeError"),
        ("application/x-bytes", b"\xff\xfe", "UnicodeDecodeError"),
        ("application/x-key", b"", "KeyError"),
        ("application/x-type", b"", "TypeError"),
    ],
)
def test_input_fn_errors_answer_400(tmp_path, monkeypatch, content_type, body, error):
    monkeypatch.delenv("SAGEMAKER_INPUT_FN_ERRORS_AS_500", raising=False)
    service = loaded(tmp_path, BAD_INPUT_MODEL)
    result, context = run(service, [body], [{"Content-Type": content_type}])
    assert status(context)[0] == 400
    assert result[0].startswith("input_fn could not read the request: " + error)
    assert "\n" not in result[0]


def test_predict_fn_errors_stay_500(tmp_path):
    service = loaded(tmp_path, BAD_INPUT_MODEL)
    result, context = run(service, [b'"explode"'], [{"Content-Type": "application/json"}])
    assert status(context)[0] == 500
    assert result[0] == "ValueError: predict blew up"


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_variable_restores_500_for_input_fn_errors(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SAGEMAKER_INPUT_FN_ERRORS_AS_500", value)
    service = loaded(tmp_path, BAD_INPUT_MODEL)
    result, context = run(service, [b"{not json"], [{"Content-Type": "application/json"}])
    assert status(context)[0] == 500
    assert result[0].startswith("JSONDecodeError: ")


def test_return_traceback_applies_when_the_user_module_fails_at_import(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_RETURN_TRACEBACK", "true")
    write_code(tmp_path, "import json\nraise ImportError('no such framework')\n")
    result, context = run(Transformer(), [b"1"], [{}], model_dir=str(tmp_path))
    assert status(context)[0] == 500
    assert result[0].startswith("ImportError: no such framework\nTraceback (most recent call")
    assert "inference.py" in result[0]
    monkeypatch.setenv("SAGEMAKER_RETURN_TRACEBACK", "false")
    result, context = run(Transformer(), [b"1"], [{}], model_dir=str(tmp_path))
    assert result[0] == "ImportError: no such framework"


class OwnTransformFn(Transformer):
    """Overrides _default_transform_fn and keeps the library's output_fn, as MXNet's does."""

    def _default_transform_fn(self, model, input_data, content_type, accept):
        prediction = self._predict_fn(self._input_fn(input_data, content_type), model)
        return self._output_fn(prediction, accept)


@pytest.mark.parametrize(
    "accept, expected_type, expected_body",
    [
        ("text/csv, application/json", "text/csv", "2,4\n"),
        ("application/x-unknown, text/csv", "text/csv", "2,4\n"),
        ("application/json", "application/json", "[[2, 4]]"),
    ],
)
def test_subclass_transform_with_the_library_output_fn_and_an_accept_list(
    tmp_path, accept, expected_type, expected_body
):
    service = loaded(tmp_path, cls=OwnTransformFn)
    headers = {"Content-Type": "application/json", "Accept": accept}
    result, context = run(service, [b"[[1, 2]]"], [headers])
    assert status(context)[0] == 200, result
    assert context.get_response_content_type(0) == expected_type
    assert result == [expected_body]


def test_subclass_transform_with_an_accept_nothing_encodes(tmp_path):
    service = loaded(tmp_path, cls=OwnTransformFn)
    headers = {"Content-Type": "application/json", "Accept": "image/png"}
    result, context = run(service, [b"[[1, 2]]"], [headers])
    assert status(context)[0] == 406


# ---- batched prediction -------------------------------------------------------------------------

STACKING_MODEL = """
import numpy as np

batch_stacking = True
CALLS = []


def model_fn(model_dir):
    return 3

def predict_fn(data, model):
    CALLS.append(len(data))
    if (np.asarray(data) == -1).any():
        raise RuntimeError("row of -1")
    return np.asarray(data) * model
"""

BATCH_HOOK_MODEL = """
CALLS = []


def model_fn(model_dir):
    return "model"

def predict_batch_fn(inputs, model, context):
    CALLS.append(len(inputs))
    if any(getattr(x, "size", 1) and (x == -1).any() for x in inputs):
        raise RuntimeError("input of -1")
    return [x.sum() for x in inputs]
"""

CSV_HEADERS = {"Content-Type": "text/csv", "Accept": "text/csv"}


def user_calls():
    return sys.modules["inference"].CALLS


def test_stacking_predicts_once_and_answers_each_request_its_rows(tmp_path):
    service = loaded(tmp_path, STACKING_MODEL)
    # CSV decodes to float64, like these JSON bodies; [[7, 8]] is int64 and predicted alone.
    bodies = [b"[[1.5, 2], [3, 4]]", b"5,6\n", b"[[7, 8]]", b"[[0.5, 1]]"]
    result, context = run(service, bodies, [JSON_HEADERS, CSV_HEADERS, JSON_HEADERS, JSON_HEADERS])
    assert user_calls() == [4, 1]
    assert json.loads(result[0]) == [[4.5, 6], [9, 12]]
    assert [float(v) for v in result[1].strip().split(",")] == [15, 18]
    assert context.get_response_content_type(1) == "text/csv"
    assert json.loads(result[2]) == [[21, 24]]
    assert json.loads(result[3]) == [[1.5, 3]]


def test_stacking_gives_the_same_answers_as_one_call_per_request(tmp_path):
    bodies = [b"[[1.5, 2]]", b"[[3.5, 4], [5, 6]]", b"[1, 2]", b"[[[1]]]"]
    headers = [JSON_HEADERS] * len(bodies)
    plain = loaded(tmp_path / "plain")
    expected, _ = run(plain, bodies, headers)
    stacked = loaded(tmp_path / "stacked", STACKING_MODEL.replace("* model", "* 2"))
    result, _ = run(stacked, bodies, headers)
    assert result == expected
    # [1.5, 2] and [[3, 4], [5, 6]] share a shape; [1, 2] and [[[1]]] are alone.
    assert sorted(user_calls()) == [1, 2, 3]


def test_stacked_failure_is_retried_per_request_and_fails_alone(tmp_path):
    service = loaded(tmp_path, STACKING_MODEL)
    bodies = [b"[[1, 2]]", b"[[-1, 0]]", b"[[3, 4]]"]
    result, context = run(service, bodies, [JSON_HEADERS] * 3)
    assert user_calls() == [3, 1, 1, 1]
    assert json.loads(result[0]) == [[3, 6]] and json.loads(result[2]) == [[9, 12]]
    assert status(context, 1)[0] == 500 and "row of -1" in result[1]
    assert status(context, 0)[0] == 200 and status(context, 2)[0] == 200


def test_a_request_that_fails_to_decode_is_left_out_of_the_batch(tmp_path):
    service = loaded(tmp_path, STACKING_MODEL)
    bodies = [b"[[1, 2]]", b"[[1, 2", b"[[3, 4]]"]
    result, context = run(service, bodies, [JSON_HEADERS] * 3)
    assert user_calls() == [2]
    assert status(context, 1)[0] == 400
    assert json.loads(result[0]) == [[3, 6]] and json.loads(result[2]) == [[9, 12]]


def test_unsplittable_prediction_falls_back_to_one_call_per_request(tmp_path, library_caplog):
    source = STACKING_MODEL.replace("return np.asarray(data) * model", "return data.sum()")
    service = loaded(tmp_path, source)
    result, _ = run(service, [b"[[1, 2]]", b"[[3, 4], [5, 6]]"], [JSON_HEADERS] * 2)
    assert user_calls() == [3, 1, 2]
    assert [json.loads(r) for r in result] == [3, 18]
    assert "predict_batch_fn" in library_caplog.text


def test_without_opting_in_a_batch_is_predicted_request_by_request(tmp_path):
    service = loaded(tmp_path, STACKING_MODEL.replace("batch_stacking = True", ""))
    run(service, [b"[[1, 2]]", b"[[3, 4]]"], [JSON_HEADERS] * 2)
    assert user_calls() == [1, 1]


def test_batch_stacking_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match="batch_stacking"):
        loaded(tmp_path, STACKING_MODEL.replace("batch_stacking = True", "batch_stacking = 'yes'"))


def test_predict_batch_fn_gets_the_decoded_inputs_once(tmp_path):
    service = loaded(tmp_path, BATCH_HOOK_MODEL)
    result, context = run(service, [b"[1, 2]", b"3,4\n", b"[[5]]"], [JSON_HEADERS, CSV_HEADERS, {}])
    assert user_calls() == [2]
    assert json.loads(result[0]) == 3 and float(result[1]) == 7
    assert status(context, 2)[0] == 415


def test_predict_batch_fn_serves_a_batch_of_one(tmp_path):
    service = loaded(tmp_path, BATCH_HOOK_MODEL)
    result, _ = run(service, [b"[1, 2, 3]"], [JSON_HEADERS])
    assert user_calls() == [1] and json.loads(result[0]) == 6


def test_predict_batch_fn_failure_is_retried_per_request(tmp_path):
    service = loaded(tmp_path, BATCH_HOOK_MODEL)
    result, context = run(service, [b"[1]", b"[-1]", b"[2]"], [JSON_HEADERS] * 3)
    assert user_calls() == [3, 1, 1, 1]
    assert [status(context, i)[0] for i in range(3)] == [200, 500, 200]
    assert json.loads(result[2]) == 2


def test_predict_batch_fn_must_return_one_prediction_per_input(tmp_path):
    source = BATCH_HOOK_MODEL.replace("return [x.sum() for x in inputs]", "return [1]")
    service = loaded(tmp_path, source)
    result, context = run(service, [b"[1]", b"[2]"], [JSON_HEADERS] * 2)
    assert status(context, 0)[0] == 200 and json.loads(result[0]) == 1
    result, context = run(service, [b"[1]"], [JSON_HEADERS])
    source_none = BATCH_HOOK_MODEL.replace("return [x.sum() for x in inputs]", "return None")
    service = loaded(tmp_path / "none", source_none)
    result, context = run(service, [b"[1]", b"[2]"], [JSON_HEADERS] * 2)
    assert [status(context, i)[0] for i in range(2)] == [500, 500]
    assert "one prediction per input" in result[0]


def test_predict_batch_fn_with_transform_fn_is_refused(tmp_path):
    source = (
        BATCH_HOOK_MODEL + "\n\ndef transform_fn(model, data, content_type, accept):\n    pass\n"
    )
    with pytest.raises(ValueError, match="predict_batch_fn"):
        loaded(tmp_path, source)
