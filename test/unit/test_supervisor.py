"""Supervisor's decisions without processes: fake clocks and process stand-ins.

Tests that start processes are in test/process/test_supervisor.py.
"""

import logging
import signal

import psutil
import pytest

from sagemaker_inference import mms_worker, supervisor


def make(cmd, **kwargs):
    kwargs.setdefault("poll_interval", 0.05)
    return supervisor.Supervisor(cmd, **kwargs)


def test_request_stop_keeps_first_signal():
    sup = make(["true"])
    sup.request_stop(signal.SIGINT)
    sup.request_stop(signal.SIGTERM)
    assert sup._stop_signal == signal.SIGINT


def test_deaths_after_loading_are_not_load_failures(tmp_path):
    errors = tmp_path / "worker-errors"
    errors.write_text(
        "12:00:00 [pid 7] {}. ValueError: Frontend disconnected\n".format(mms_worker.WORKER_DIED)
        * 5
    )
    sup = make(["true"], worker_error_file=str(errors), max_load_failures=1)
    assert sup._load_failures() == []


def test_count_lines(tmp_path):
    path = tmp_path / "f"
    assert supervisor.count_lines(None) == []
    assert supervisor.count_lines(str(path)) == []
    path.write_text("a\n\nb\n")
    assert supervisor.count_lines(str(path)) == ["a", "b"]


def test_busy_workers_of_a_process_without_workers():
    assert supervisor.busy_workers(psutil.Process()) == 0


def test_model_name_from_worker_cmdline():
    assert supervisor._model_name(["python", "w.py", "--model-name", "m1"]) == "m1"
    assert supervisor._model_name(["python", "w.py", "--model-name"]) == "?"


def test_reap_zombies_without_children_returns():
    supervisor.reap_zombies()
    supervisor.reap_zombies(keep=12345)


class FakeProc:
    def __init__(self, pid, name="model", worker=True, children=()):
        self.pid = pid
        self.running = True
        self._cmdline = ["python", "model_service_worker.py" if worker else "java"]
        self._cmdline += ["--model-name", name]
        self._children = list(children)
        self.children_calls = 0

    def is_running(self):
        return self.running

    def status(self):
        return psutil.STATUS_SLEEPING if self.running else psutil.STATUS_ZOMBIE

    def cmdline(self):
        return self._cmdline

    def children(self):
        self.children_calls += 1
        return [child for child in self._children if child.running]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def watched(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(supervisor.time, "monotonic", clock)
    sup = make(["true"], backend_grace=3.0, discovery_interval=5.0)
    sup._java = FakeProc(1, worker=False)
    return sup, sup._java, clock


def test_backends_are_listed_until_known_then_only_every_few_seconds(watched):
    sup, java, clock = watched
    for _ in range(3):
        assert sup._check_backends() is None
        clock.now += 0.2
    assert java.children_calls == 3  # starting up: no backend yet, so look every time
    backend = FakeProc(10, name="model", children=[FakeProc(11)])
    java._children = [backend]
    assert sup._check_backends() is None
    assert sup._backends == {"model": {10}}
    assert set(sup._seen) == {10, 11}
    calls = java.children_calls
    for _ in range(20):  # 4 s of polling: the known backend is checked, nothing is listed
        clock.now += 0.2
        assert sup._check_backends() is None
    assert java.children_calls == calls
    clock.now += 1.0
    assert sup._check_backends() is None
    assert java.children_calls == calls + 1


def test_serving_without_backends_lists_only_every_few_seconds(watched):
    sup, java, clock = watched
    sup._serving = True  # e.g. multi-model mode with no model loaded
    for _ in range(25):
        assert sup._check_backends() is None
        clock.now += 0.2
    assert java.children_calls == 1


def test_dead_backend_is_reported_after_the_grace_period(watched):
    sup, java, clock = watched
    backend = FakeProc(10, name="model")
    java._children = [backend]
    assert sup._check_backends() is None
    backend.running = False
    calls = java.children_calls
    clock.now += 0.2
    assert sup._check_backends() is None
    assert java.children_calls == calls + 1  # a known backend vanished: list again at once
    clock.now += 2.9
    assert sup._check_backends() is None
    clock.now += 0.2
    assert sup._check_backends() == "model"


def test_replaced_backend_found_before_the_grace_period_ends(watched):
    sup, java, clock = watched
    old = FakeProc(10, name="model")
    java._children = [old]
    assert sup._check_backends() is None
    old.running = False
    clock.now += 0.2
    assert sup._check_backends() is None
    java._children = [FakeProc(20, name="model")]  # appears between two listings
    clock.now += 3.5
    assert sup._check_backends() is None  # listed again before declaring it dead
    assert sup._backends == {"model": {20}}
    clock.now += 10
    assert sup._check_backends() is None


def test_the_port_opening_is_noted_once(watched, monkeypatch, library_caplog):
    sup, _, clock = watched
    sup._started_at = clock.now
    library_caplog.set_level(logging.INFO, logger="sagemaker-inference")
    monkeypatch.setattr(supervisor, "port_open", lambda port: True)
    clock.now += 2.5
    assert sup._watch_startup() is None
    assert sup._serving
    assert library_caplog.records[-1].getMessage() == "MMS listens on port 8080 after 2.5 s"
    monkeypatch.setattr(supervisor, "port_open", lambda port: pytest.fail("asked again"))
    assert sup._watch_startup() is None


def test_a_port_that_never_opens_ends_the_start(watched, monkeypatch):
    sup, _, clock = watched
    sup._started_at = clock.now
    sup.startup_timeout = 10
    stops = []
    monkeypatch.setattr(supervisor, "port_open", lambda port: False)
    monkeypatch.setattr(sup, "stop", lambda graceful: stops.append(graceful))
    clock.now += 10
    assert sup._watch_startup() is None
    clock.now += 0.1
    assert sup._watch_startup() == supervisor.EXIT_STARTUP_TIMEOUT
    assert stops == [False]


def test_a_requested_stop_is_checked_first(watched, monkeypatch):
    sup, _, _ = watched
    stops = []
    monkeypatch.setattr(sup, "stop", lambda graceful: stops.append(graceful))
    monkeypatch.setattr(sup, "_java_exited", lambda: pytest.fail("checked after the stop"))
    sup.request_stop(signal.SIGTERM)
    assert sup._check_once() == supervisor.EXIT_STOPPED
    assert stops == [True]
