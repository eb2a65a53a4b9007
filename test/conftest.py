"""Suite-wide guards: no test leaves a process behind, no test writes outside its temp dirs.

Every test runs with a marker of its own in the environment (TEST_MARKER_ENV), which every
process it starts inherits, whatever harness starts it (start_model_server, the ``serve`` CLI,
``multi-model-server --start``, a benchmark stack). After the test, any live process carrying
the marker fails it, and is killed. Processes of module- or session-scoped servers are started
before the marker is set; their harness checks them when it stops them.

The session fails when it changed one of the places outside a temporary directory that the
library writes to by default (a SageMaker container writes there; a test run must not).
"""

import logging
import os
import uuid
from typing import Dict, List, Optional, Tuple

import psutil
import pytest
from process_marks import kill_all, processes_with, wait_gone

TEST_MARKER_ENV = "SAGEMAKER_INFERENCE_TEST_ID"
LEFTOVER_WAIT_SECONDS = 10.0

OUTSIDE_PLACES = (
    "/etc/sagemaker-mms.properties",
    os.path.join(os.path.expanduser("~"), ".cache", "sagemaker-inference"),
    os.path.join(os.path.expanduser("~"), ".local", "state", "sagemaker-inference"),
)


def processes_with_marker(value: str) -> List[psutil.Process]:
    return processes_with(TEST_MARKER_ENV, value)


def _describe(procs: List[psutil.Process]) -> str:
    lines = []
    for proc in procs:
        try:
            lines.append("  {} {}".format(proc.pid, " ".join(proc.cmdline())[:160]))
        except psutil.Error:
            lines.append("  {} (gone)".format(proc.pid))
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def no_process_outlives_its_test(monkeypatch):
    marker = uuid.uuid4().hex
    monkeypatch.setenv(TEST_MARKER_ENV, marker)
    yield
    left = wait_gone(TEST_MARKER_ENV, marker, LEFTOVER_WAIT_SECONDS, interval=0.2)
    if not left:
        return
    description = _describe(left)
    kill_all(left)
    pytest.fail(
        "this test left {} process(es) running {} s after it ended:\n{}".format(
            len(left), LEFTOVER_WAIT_SECONDS, description
        )
    )


@pytest.fixture
def library_caplog(caplog):
    """caplog attached to the library logger, which does not propagate once configured (unit
    and process tests)."""
    logger = logging.getLogger("sagemaker-inference")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def _state(path: str) -> Optional[Tuple[int, int]]:
    """(newest mtime in ns, entry count) of a file or directory tree; None when absent."""
    if not os.path.lexists(path):
        return None
    newest, count = os.lstat(path).st_mtime_ns, 1
    for directory, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(directory, name)).st_mtime_ns)
            except OSError:
                continue
            count += 1
    return newest, count


_BEFORE: Dict[str, Optional[Tuple[int, int]]] = {}


def pytest_sessionstart(session):
    _BEFORE.update({path: _state(path) for path in OUTSIDE_PLACES})


def pytest_sessionfinish(session, exitstatus):
    changed = [path for path in OUTSIDE_PLACES if _state(path) != _BEFORE.get(path)]
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "the test session wrote outside its temporary directories: {}".format(
            ", ".join(changed)
        )
        if reporter is not None:
            reporter.write_line("ERROR: " + message, red=True)
        session.exitstatus = 1
