"""Fixtures shared by several unit test modules."""

import os
import signal
import socket
import subprocess
import sys
from types import SimpleNamespace

# Imported before any test runs: on some numpy versions (those of Python 3.9) importing
# numpy.testing runs lscpu in a subprocess, which the ``pure`` fixture would refuse.
import numpy.testing  # noqa: F401
import pytest

from sagemaker_inference import mms_config, utils

# Settings the user-module tests must not inherit from the shell or from each other.
USER_CODE_SETTINGS = (
    "SAGEMAKER_PROGRAM",
    "SAGEMAKER_LOAD_FAILURE_FILE",
    "SAGEMAKER_RETURN_TRACEBACK",
    "SAGEMAKER_MULTI_MODEL",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT",
)


@pytest.fixture(params=["orjson", "stdlib"])
def json_backend(request, monkeypatch):
    """Run a test with the optional orjson and again without it: results must not differ."""
    if request.param == "orjson":
        pytest.importorskip("orjson")
    else:
        monkeypatch.setattr(utils, "optional_orjson", lambda: None)
    return request.param


@pytest.fixture
def isolated_imports(monkeypatch):
    """Undo what importing a user module leaves behind: sys.path entries and new modules."""
    saved_path = list(sys.path)
    # Other tests may leave a model's code directory or an "inference" module behind.
    sys.path[:] = [entry for entry in sys.path if os.path.basename(entry) != "code"]
    monkeypatch.delitem(sys.modules, "inference", raising=False)
    saved_modules = set(sys.modules)
    for name in USER_CODE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    yield
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        if _is_user_module(sys.modules[name]):
            del sys.modules[name]


# Where installed code lives: modules from there stay imported. Forgetting an extension module
# (orjson, first imported by the library during a test) and importing it again corrupts its
# types, and the interpreter crashes at exit (seen with Python 3.9).
_INSTALLED = tuple(
    os.path.realpath(path) + os.sep
    for path in {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(utils.__file__))}
)


def _is_user_module(module) -> bool:
    """A module a test's model code brought in (its file is outside the installed code)."""
    path = getattr(module, "__file__", None)  # None: built in, or a namespace package
    return path is not None and not os.path.realpath(path).startswith(_INSTALLED)


@pytest.fixture
def fake_env():
    """Factory of stand-ins for environment.Environment, as MMS's configuration reads it."""

    def make(**overrides):
        values = dict(
            base_dir="/opt/ml",
            inference_http_port="8080",
            management_http_port="8080",
            model_server_workers=None,
            model_server_timeout=60,
            model_server_timeout_seconds=None,
            response_timeout_seconds=60,
            vmargs="-XX:-UseContainerSupport",
            max_request_size=None,
            safe_port_range=None,
        )
        values.update(overrides)
        return SimpleNamespace(**values)

    return make


def _refuse(what):
    def refused(*args, **kwargs):
        raise AssertionError(
            "a unit test may not {} (such a test belongs in test/process)".format(what)
        )

    return refused


@pytest.fixture(autouse=True)
def pure(monkeypatch):
    """Unit tests are pure: opening a socket, starting or forking a process and sending a signal
    fail the test. MMS's configuration probes ports with a socket to pick a management port;
    here every port counts as free (a test may fake the probe further)."""
    monkeypatch.setattr(socket, "socket", _refuse("open a socket"))
    monkeypatch.setattr(subprocess, "Popen", _refuse("start a process"))
    monkeypatch.setattr(os, "fork", _refuse("fork"))
    monkeypatch.setattr(signal, "raise_signal", _refuse("send a signal"))
    real_kill = os.kill

    def kill(pid, signum):
        if signum != 0:  # 0 only asks whether the process exists
            _refuse("send a signal")()
        real_kill(pid, signum)

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(mms_config, "_port_is_free", lambda port: True, raising=False)


@pytest.fixture
def start_ready(monkeypatch, tmp_path):
    """What start_model_server needs to run without Java or jars: a base directory (with no
    requirements.txt), state and config file under tmp_path, a stand-in java, no jars."""
    from sagemaker_inference import mms_command

    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    monkeypatch.setenv("SAGEMAKER_MMS_CONFIG_FILE", str(tmp_path / "mms.properties"))
    monkeypatch.setenv("SAGEMAKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SAGEMAKER_MMS_PLUGINS_PATH", "")
    monkeypatch.setenv("SAGEMAKER_MMS_PATCHES_PATH", "")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setattr(mms_command, "find_java", lambda env=None: "/usr/bin/java")
    return tmp_path
