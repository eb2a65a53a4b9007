import inspect
import json
import sys
import textwrap
import types

import pytest

from fake_mms import FakeContext, batch
from sagemaker_inference import default_handler_service
from sagemaker_inference.default_handler_service import DefaultHandlerService
from sagemaker_inference.transformer import Transformer

pytestmark = pytest.mark.usefixtures("isolated_imports")

GOOD = """
def model_fn(model_dir):
    return 2

def predict_fn(data, model):
    return data * model
"""

BAD = """
def model_fn(model_dir):
    weights = None
    raise FileNotFoundError("no weights in\\n" + model_dir)
"""


@pytest.fixture
def exits(monkeypatch):
    calls = []
    monkeypatch.setattr(default_handler_service, "_in_model_server_worker", lambda: True)
    monkeypatch.setattr(default_handler_service, "_exit_worker", calls.append)
    return calls


def model_dir_with(tmp_path, source):
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(textwrap.dedent(source))
    return str(tmp_path)


def test_module_defines_exactly_one_class_for_mms():
    classes = [
        member
        for _, member in inspect.getmembers(default_handler_service, inspect.isclass)
        if member.__module__ == default_handler_service.__name__
    ]
    assert classes == [DefaultHandlerService]
    assert not hasattr(default_handler_service, "handle")


def test_initialize_then_handle(tmp_path):
    context = FakeContext(model_dir=model_dir_with(tmp_path, GOOD), headers=[{}])
    service = DefaultHandlerService()
    service.initialize(context)
    context.request_processor[0] = type(context.request_processor[0])(
        {"Content-Type": "application/json"}
    )
    assert json.loads(service.handle(batch(b"[1, 2]"), context)[0]) == [2, 4]


def test_uses_the_given_transformer():
    transformer = Transformer()
    assert DefaultHandlerService(transformer=transformer)._service is transformer
    assert isinstance(DefaultHandlerService()._service, Transformer)


def test_load_failure_is_reported_and_ends_the_worker(tmp_path, monkeypatch, exits, library_caplog):
    failures = tmp_path / "load-failures"
    monkeypatch.setenv("SAGEMAKER_LOAD_FAILURE_FILE", str(failures))
    (tmp_path / "m").mkdir()
    model_dir = model_dir_with(tmp_path / "m", BAD)
    service = DefaultHandlerService()
    with pytest.raises(FileNotFoundError):  # the patched exit returns, so the error surfaces
        service.initialize(FakeContext(model_dir=model_dir))
    assert exits == [1]
    line = failures.read_text()
    assert line.count("\n") == 1
    expected = "Model failed to load: FileNotFoundError: no weights in {} ({}:4)".format(
        model_dir, str(tmp_path / "m" / "code" / "inference.py")
    )
    assert " ".join(line.split()) == expected
    assert expected in " ".join(library_caplog.text.split()) and "Traceback" in library_caplog.text


def test_failure_lines_accumulate(tmp_path, monkeypatch, exits):
    failures = tmp_path / "failures"
    monkeypatch.setenv("SAGEMAKER_LOAD_FAILURE_FILE", str(failures))
    model_dir = model_dir_with(tmp_path, "def model_fn(d):\n    raise ValueError('x')\n")
    for _ in range(2):
        with pytest.raises(ValueError):
            DefaultHandlerService().initialize(FakeContext(model_dir=model_dir))
        sys.modules.pop("inference", None)
    assert len(failures.read_text().splitlines()) == 2
    assert exits == [1, 1]


def test_missing_model_fn_reports_not_implemented(tmp_path, exits, library_caplog):
    model_dir = model_dir_with(tmp_path, "def predict_fn(data, model):\n    return data\n")
    with pytest.raises(NotImplementedError):
        DefaultHandlerService().initialize(FakeContext(model_dir=model_dir))
    assert (
        "Model failed to load: NotImplementedError: Please provide a model_fn"
        in library_caplog.text
    )


def test_syntax_error_names_file_and_line(tmp_path, exits, library_caplog):
    model_dir = model_dir_with(tmp_path, "def model_fn(d):\n    return (\n")
    with pytest.raises(SyntaxError):
        DefaultHandlerService().initialize(FakeContext(model_dir=model_dir))
    assert "inference.py:" in library_caplog.text


def test_transform_fn_clash_is_a_load_failure(tmp_path, exits):
    source = "def transform_fn(m, d, c, a):\n    return d\n\ndef input_fn(d, c):\n    return d\n"
    with pytest.raises(ValueError):
        DefaultHandlerService().initialize(FakeContext(model_dir=model_dir_with(tmp_path, source)))
    assert exits == [1]


def test_outside_mms_the_error_is_raised_without_exit(tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr(default_handler_service, "_exit_worker", called.append)
    with pytest.raises(FileNotFoundError):
        DefaultHandlerService().initialize(FakeContext(model_dir=model_dir_with(tmp_path, BAD)))
    assert called == []


def test_exit_can_be_switched_off(tmp_path, exits):
    class Service(DefaultHandlerService):
        exit_on_load_failure = False

    with pytest.raises(FileNotFoundError):
        Service().initialize(FakeContext(model_dir=model_dir_with(tmp_path, BAD)))
    assert exits == []


def test_unwritable_failure_file_does_not_hide_the_failure(tmp_path, monkeypatch, exits):
    monkeypatch.setenv("SAGEMAKER_LOAD_FAILURE_FILE", str(tmp_path / "no" / "such" / "dir"))
    with pytest.raises(FileNotFoundError):
        DefaultHandlerService().initialize(FakeContext(model_dir=model_dir_with(tmp_path, BAD)))
    assert exits == [1]


def test_worker_detection(monkeypatch):
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = "/venv/lib/python3.11/site-packages/mms/model_service_worker.py"
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    assert default_handler_service._in_model_server_worker()
    fake_main.__file__ = "/usr/bin/pytest"
    assert not default_handler_service._in_model_server_worker()


def test_exit_worker_flushes_and_exits(monkeypatch):
    codes = []
    monkeypatch.setattr(default_handler_service.os, "_exit", codes.append)
    default_handler_service._exit_worker(1)
    assert codes == [1]


def test_summary_without_traceback():
    summary = default_handler_service.load_failure_summary(RuntimeError("a\r\nb"))
    assert "\n" not in summary and "\r" not in summary
    assert " ".join(summary.split()) == "Model failed to load: RuntimeError: a b"


class _Echo(Transformer):
    """Answers each request with its own body, unchanged."""

    def transform(self, data, context):
        return [item["body"] for item in data]


@pytest.mark.parametrize("too_big", [b"x" * 11, "x" * 11, "é" * 6, bytearray(b"y" * 12)])
def test_body_over_the_response_limit_becomes_a_500_naming_the_setting(too_big):
    service = DefaultHandlerService(transformer=_Echo())
    service.max_response_size = 10
    context = FakeContext(headers=({}, {}))
    result = service.handle(batch(b"ok", too_big), context)
    assert result[0] == b"ok"
    assert context.get_response_status(0)[0] == 200
    assert context.get_response_status(1)[0] == 500
    assert "limit of 10 bytes" in result[1]
    assert "SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB" in result[1]
    assert context.get_response_content_type(1).startswith("text/plain")


def test_body_at_the_response_limit_is_sent():
    service = DefaultHandlerService(transformer=_Echo())
    service.max_response_size = 4
    context = FakeContext(headers=({}, {}))
    assert service.handle(batch(b"abcd", "éé"), context) == [b"abcd", "éé"]
    assert context.get_response_status(1)[0] != 500


def test_initialize_reads_the_response_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB", "2")
    service = DefaultHandlerService()
    service.initialize(FakeContext(model_dir=model_dir_with(tmp_path, GOOD)))
    assert service.max_response_size == 2 * 1024 * 1024


def test_initialize_reads_the_environment_once_for_the_transformer(tmp_path, monkeypatch):
    from sagemaker_inference import environment

    readings = []
    real_init = environment.Environment.__init__

    def counted(self, *args, **kwargs):
        readings.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(environment.Environment, "__init__", counted)
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "acme_entry.py")
    code = tmp_path / "code"
    code.mkdir()
    (code / "acme_entry.py").write_text(textwrap.dedent(GOOD))
    service = DefaultHandlerService()
    service.initialize(FakeContext(model_dir=str(tmp_path)))
    # The transformer loaded acme_entry.py with the handler service's reading, not its own.
    assert readings == [1]
    assert service._service._user_module.__name__ == "acme_entry"
