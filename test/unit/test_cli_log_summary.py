"""cli.log_summary: which lines of server output ``serve`` shows, and how."""

import pytest

from sagemaker_inference.cli import log_summary


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "2024-05-01T10:00:00,123 [INFO ] W-9000-model_1.0-stdout MODEL_LOG - "
            "2024-05-01 10:00:00,120 ERROR [sagemaker-inference] Model failed to load: "
            "ValueError: bad weights (inference.py:7)",
            "Model failed to load: ValueError: bad weights (inference.py:7)",
        ),
        (
            "2024-05-01 10:00:00,120 ERROR [sagemaker-inference] Request 0 failed: 500",
            "Request 0 failed: 500",
        ),
        (
            "2024-05-01T10:00:00,123 [ERROR] main com.amazonaws.ml.mms.ModelServer - "
            "Address already in use",
            "Address already in use",
        ),
        ("2024-05-01 10:00:00,120 INFO [sagemaker-inference] loaded", None),
        (
            "2024-05-01T10:00:00,123 [INFO ] W-9000-model-stdout MODEL_LOG - Traceback "
            "(most recent call last):",
            None,
        ),
        (
            '2024-05-01T10:00:00,123 [INFO ] W-9000-model-stdout MODEL_LOG -   File "x.py", '
            "line 3, in model_fn",
            None,
        ),
        ("", None),
        ("plain text mentioning ERROR much later in a long line of output ....... ERROR", None),
    ],
)
def test_error_summary(line, expected):
    assert log_summary.error_summary(line) == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "2026-11-28T02:36:08,811 [WARN ] W-model-2-stderr com.amazonaws.ml.mms.wlm."
            "WorkerLifeCycle - 2026-11-28 02:36:08,809 WARNING [sagemaker-inference] Request 0 "
            "rejected (400): expected rows of 4 numbers",
            "warning: Request 0 rejected (400): expected rows of 4 numbers",
        ),
        (
            "2026-11-28T02:35:59,868 [WARN ] W-9000-model com.amazonaws.ml.mms.wlm."
            "WorkerLifeCycle - attachIOStreams() threadName=W-9000-model",
            None,
        ),
        (
            "Invalid configuration: Invalid port number: http://127.0.0.1:54037",
            "error: Invalid configuration: Invalid port number: http://127.0.0.1:54037",
        ),
        ("WARNING: sun.reflect.Reflection.getCallerClass is not supported.", None),
        ("ERROR:root:plain logging", "error: plain logging"),
        (
            "2026-11-28T02:36:08,811 [INFO ] W-model-2-stdout com.amazonaws.ml.mms.wlm."
            "WorkerLifeCycle - ValueError: boom",
            None,
        ),
    ],
)
def test_summarize_line(line, expected):
    assert log_summary.summarize_line(line) == expected
