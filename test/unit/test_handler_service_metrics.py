"""MMS's per-request metric lines are dropped below DEBUG without changing any response."""

import io
import logging
import textwrap

import pytest

from fake_mms import FakeContext, batch
from sagemaker_inference import logging as sm_logging
from sagemaker_inference import mms_command
from sagemaker_inference.default_handler_service import DefaultHandlerService

MODEL = """
import numpy as np

def model_fn(model_dir):
    return 3

def predict_fn(data, model):
    return np.asarray(data) * model
"""

PAYLOADS = [
    (b"[[1, 2.5, -3]]", "application/json"),
    (b"1,2\n3,4\n", "text/csv"),
    (b"not json", "application/json"),  # a 400 answer
    (b"[1]", "application/unknown"),  # a 415 answer
]


@pytest.fixture
def model_dir(tmp_path, isolated_imports):
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(textwrap.dedent(MODEL))
    return str(tmp_path)


@pytest.mark.parametrize(
    "value, wanted",
    [
        (None, False),
        ("", False),
        ("INFO", False),
        ("20", False),
        ("warning", False),
        ("ERROR", False),
        ("not-a-level", False),
        ("DEBUG", True),
        ("debug", True),
        ("10", True),
        ("15", True),
        ("5", True),
        ("0", True),
        ("TRACE", True),
        ("NOTSET", True),
    ],
)
def test_metrics_wanted_follows_the_java_metrics_level(value, wanted):
    assert sm_logging.metrics_wanted(value) is wanted
    cmd = mms_command.build_command("java", "/c", "/s", log_level=value, patches_path=None)
    expected = "-Dsagemaker.metrics.level={}".format("info" if wanted else "off")
    assert expected in cmd


class MetricsContext(FakeContext):
    """FakeContext with the ``metrics`` attribute MMS's Service.predict sets per request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics = object()


def _new_context(content_type):
    return MetricsContext(headers=[{"Content-Type": content_type}])


@pytest.mark.parametrize("level, dropped", [("INFO", True), ("WARNING", True), ("DEBUG", False)])
def test_metrics_dropped_below_debug_and_answers_unchanged(model_dir, monkeypatch, level, dropped):
    monkeypatch.setenv("SAGEMAKER_CONTAINER_LOG_LEVEL", level)
    service = DefaultHandlerService()
    service.initialize(FakeContext(model_dir=model_dir))
    reference = DefaultHandlerService()  # the same handler, never dropping metrics
    reference.initialize(FakeContext(model_dir=model_dir))
    reference._drop_metrics = False
    for body, content_type in PAYLOADS:
        context, expected = _new_context(content_type), _new_context(content_type)
        assert service.handle(batch(body), context) == reference.handle(batch(body), expected)
        assert (context.metrics is None) is dropped
        assert expected.metrics is not None
        assert context.get_response_status(0) == expected.get_response_status(0)
        headers = context.request_processor[0].response_headers
        assert headers == expected.request_processor[0].response_headers


def test_metrics_kept_when_initialize_was_not_called(model_dir):
    service = DefaultHandlerService()
    service._service.validate_and_initialize(model_dir=model_dir)
    context = MetricsContext(headers=[{"Content-Type": "application/json"}])
    assert service.handle(batch(b"[1]"), context) == ["[3]"]
    assert context.metrics is not None


def test_context_without_settable_metrics_is_left_alone(model_dir, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_CONTAINER_LOG_LEVEL", "INFO")

    class ReadOnlyMetrics(FakeContext):
        metrics = property(lambda self: "store")

    service = DefaultHandlerService()
    service.initialize(FakeContext(model_dir=model_dir))
    context = ReadOnlyMetrics(headers=[{"Content-Type": "application/json"}])
    assert service.handle(batch(b"[2]"), context) == ["[6]"]
    assert context.metrics == "store"
    plain = FakeContext(headers=[{"Content-Type": "application/json"}])  # no metrics attribute
    assert service.handle(batch(b"[2]"), plain) == ["[6]"]


def _mms_batch(body, content_type):
    return [
        {
            "requestId": b"0000",
            "headers": [{"name": b"Content-Type", "value": content_type.encode()}],
            "parameters": [{"name": "body", "contentType": content_type, "value": bytearray(body)}],
        }
    ]


@pytest.mark.parametrize("level, lines", [("INFO", 0), ("DEBUG", 1)])
def test_with_mms_service_the_worker_emits_metrics_only_at_debug(
    model_dir, monkeypatch, level, lines
):
    """MMS's own loader and Service.predict, then the worker's check of context.metrics."""
    mms_service = pytest.importorskip("mms.service")
    from mms.model_loader import ModelLoaderFactory

    monkeypatch.setenv("SAGEMAKER_CONTAINER_LOG_LEVEL", level)
    monkeypatch.setenv("MMS_DECODE_INPUT_REQUEST", "false")
    loader = ModelLoaderFactory.get_model_loader(model_dir)
    service = loader.load(
        "model", model_dir, "sagemaker_inference.default_handler_service", None, 1
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    mms_logger = logging.getLogger(mms_service.__name__)
    mms_logger.addHandler(handler)
    monkeypatch.setattr(mms_logger, "level", logging.INFO)
    try:
        response = service.predict(_mms_batch(b"[[1, 2]]", "application/json"))
        if service.context.metrics is not None:  # as mms/model_service_worker.py does
            mms_service.emit_metrics(service.context.metrics.store)
    finally:
        mms_logger.removeHandler(handler)
    assert b"Prediction success" in bytes(response)
    assert b"[[3, 6]]" in bytes(response)
    emitted = [line for line in stream.getvalue().splitlines() if "[METRICS]" in line]
    assert len(emitted) == lines
    assert all("PredictionTime" in line for line in emitted)
