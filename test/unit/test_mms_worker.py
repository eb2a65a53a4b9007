"""mms_worker: the launcher script, error recording and the start-up bookkeeping."""

import logging
import os
import sys

import pytest

from sagemaker_inference import mms_worker


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    monkeypatch.setattr(mms_worker, "_loaded", False)
    monkeypatch.setattr(mms_worker, "_armed_pid", None)
    monkeypatch.setattr(mms_worker, "_forking_pid", None)


def _record(path, message, exc=None):
    recorder = mms_worker.ErrorRecorder(str(path))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, message, (), None)
    if exc is not None:
        record.exc_info = (type(exc), exc, None)
    recorder.emit(record)


def test_launcher_script_quotes_its_paths(tmp_path):
    directory = tmp_path / "it's here"
    directory.mkdir()
    launcher = mms_worker.write_launcher(str(directory), "/e's/errors", python="/py'thon")
    assert launcher == str(directory / mms_worker.LAUNCHER_NAME)
    assert os.access(launcher, os.X_OK)
    text = open(launcher, encoding="utf-8").read()
    assert text.startswith("#!/bin/sh\nexec '/py'\\''thon' -m sagemaker_inference.mms_worker")
    assert "--error-file '/e'\\''s/errors' -- \"$@\"" in text


def test_launcher_not_executable_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert mms_worker.write_launcher(str(tmp_path), "/errors") is None


def test_errors_are_recorded_one_line_each_and_tagged_until_loaded(tmp_path):
    errors = tmp_path / "errors"
    _record(errors, "Backend worker process died.", ModuleNotFoundError("No module named 'x'"))
    assert mms_worker.startup_deaths(str(errors)) == 1
    assert mms_worker.last_error(str(errors)) == (
        "Backend worker process died. ModuleNotFoundError: No module named 'x'"
    )
    mms_worker._loaded = True
    _record(errors, "Backend worker process died.\nsecond line", ValueError("Frontend\ngone"))
    assert mms_worker.startup_deaths(str(errors)) == 1
    assert mms_worker.last_error(str(errors)) == (
        "Backend worker process died. ValueError: Frontend gone"
    )
    lines = errors.read_text().splitlines()
    assert len(lines) == 2 and all("[pid {}]".format(os.getpid()) in line for line in lines)


def test_error_file_never_grows_without_bound(tmp_path):
    errors = tmp_path / "errors"
    for _ in range(400):
        _record(errors, "x" * 400)
    assert errors.stat().st_size <= mms_worker._ERROR_FILE_LIMIT + 1000


def test_missing_error_file_means_nothing_recorded(tmp_path):
    assert mms_worker.last_error(str(tmp_path / "none")) is None
    assert mms_worker.last_error(None) is None
    assert mms_worker.startup_deaths(None) == 0


def test_load_answers_are_tracked_and_passed_through(monkeypatch):
    from mms.protocol import otf_message_handler

    original = otf_message_handler.create_load_model_response
    monkeypatch.setattr(otf_message_handler, "create_load_model_response", original)
    mms_worker._track_load_answers()
    wrapped = otf_message_handler.create_load_model_response
    assert wrapped(507, "System out of memory") == original(507, "System out of memory")
    assert mms_worker._loaded is False
    assert wrapped(200, "loaded") == original(200, "loaded")
    assert mms_worker._loaded is True


def test_only_the_backends_own_forks_are_tied_to_it(monkeypatch):
    tied = []
    monkeypatch.setattr(mms_worker.lifetime, "die_with_parent", tied.append)
    mms_worker._armed_pid = os.getpid()
    mms_worker._before_fork()
    mms_worker._after_fork_in_child()
    assert tied == [os.getpid()]
    # A worker's own forks (user code's multiprocessing) are left alone.
    mms_worker._armed_pid = os.getpid() + 1
    mms_worker._before_fork()
    mms_worker._after_fork_in_child()
    assert tied == [os.getpid()]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--error-file", "/e", "--", "w.py", "-a"], ("/e", ["w.py", "-a"])),
        (["--", "w.py"], (None, ["w.py"])),
        (["w.py", "--sock-type", "unix"], (None, ["w.py", "--sock-type", "unix"])),
    ],
)
def test_arguments(argv, expected):
    assert mms_worker._parse(argv) == expected


def test_no_script_is_a_usage_error():
    with pytest.raises(SystemExit, match="usage"):
        mms_worker._parse(["--error-file", "/e", "--"])


def test_python_is_this_interpreter_by_default(tmp_path):
    launcher = mms_worker.write_launcher(str(tmp_path), "/errors")
    assert "'{}' -m".format(sys.executable) in open(launcher, encoding="utf-8").read()
