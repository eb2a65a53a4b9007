"""Stand-ins for the ``serve`` tests of test/unit and test/process: a model directory and a
start_model_server that runs in the test process (no Java)."""

import os
import sys
import threading
import types

import sagemaker_inference
from sagemaker_inference.cli import foreground, serve

# Variables run_serve sets; recorded so that each test's teardown restores the real state.
SERVE_VARIABLES = (
    "SAGEMAKER_STATE_DIR",
    "SAGEMAKER_MMS_CONFIG_FILE",
    "SAGEMAKER_BASE_DIR",
    "SAGEMAKER_BIND_TO_PORT",
    "SAGEMAKER_BIND_ADDRESS",
    "SAGEMAKER_MULTI_MODEL",
    "SAGEMAKER_MODEL_SERVER_WORKERS",
    "SAGEMAKER_PROGRAM",
)


def make_model_dir(parent):
    """``parent/model`` with a ``code/inference.py``."""
    directory = parent / "model"
    (directory / "code").mkdir(parents=True)
    (directory / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return 1\n")
    return directory


def install_fake_server(monkeypatch, start):
    """Make ``start`` the start_model_server that ``serve`` imports."""
    fake = types.ModuleType("sagemaker_inference.model_server")
    fake.start_model_server = start
    monkeypatch.setitem(sys.modules, "sagemaker_inference.model_server", fake)
    monkeypatch.setattr(sagemaker_inference, "model_server", fake, raising=False)
    for name in SERVE_VARIABLES:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return fake


def fake_start(result, seen, lines=(), while_serving=lambda: None):
    """A start_model_server that records the SAGEMAKER_* variables and the handler service it
    got in ``seen``, writes ``lines`` to fd 1 (fd 2 for ERROR lines), calls ``while_serving``
    and then returns ``result`` (raises it when it is an exception)."""

    def start(handler_service=None):
        environ = {k: v for k, v in os.environ.items() if k.startswith("SAGEMAKER_")}
        seen.append((environ, handler_service))
        for text in lines:
            os.write(2 if "ERROR" in text else 1, (text + "\n").encode())
        while_serving()
        if isinstance(result, BaseException):
            raise result
        return result

    return start


class SilentWatcher(object):
    """A ReadinessWatcher that never polls /ping."""

    def __init__(self, *args, **kwargs):
        self.done = threading.Event()

    def start(self):
        pass


def go_offline(monkeypatch):
    """``serve`` without the network: the port counts as free and /ping is not polled."""
    monkeypatch.setattr(serve, "check_port_free", lambda port: None)
    monkeypatch.setattr(foreground, "ReadinessWatcher", SilentWatcher)
