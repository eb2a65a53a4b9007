import os
import signal
import sys
import threading
import time

import psutil
import pytest

from sagemaker_inference import mms_config, mms_worker, supervisor

pytestmark = pytest.mark.timeout(60)

SPAWNER = (
    "import subprocess, sys, time\n"
    "open(sys.argv[1], 'w').write(str(subprocess.Popen([sys.executable, '-c', "
    "'import time; time.sleep(120)']).pid))\n"
    "time.sleep(120)\n"
)


def make(cmd, **kwargs):
    kwargs.setdefault("inference_port", mms_config.free_port())
    kwargs.setdefault("poll_interval", 0.05)
    return supervisor.Supervisor(cmd, **kwargs)


def wait_for_file(path, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and open(path).read():
            return open(path).read()
        time.sleep(0.05)
    raise AssertionError("{} never written".format(path))


def test_exit_on_its_own_is_reported(tmp_path):
    sup = make([sys.executable, "-c", "import sys; sys.exit(0)"])
    assert sup.run() == supervisor.EXIT_MMS_DIED


def test_requested_stop_ends_the_whole_tree(tmp_path):
    pid_file = str(tmp_path / "child.pid")
    sup = make([sys.executable, "-c", SPAWNER, pid_file], grace_seconds=1)
    sup.start()
    child = int(wait_for_file(pid_file))
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    assert sup.run() == supervisor.EXIT_STOPPED
    assert sup.process.poll() is not None
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"
    # the previous SIGTERM handler is back
    assert signal.getsignal(signal.SIGTERM) is not None


def test_request_stop_keeps_first_signal():
    sup = make(["true"])
    sup.request_stop(signal.SIGINT)
    sup.request_stop(signal.SIGTERM)
    assert sup._stop_signal == signal.SIGINT


def test_repeated_load_failures_stop_the_server(tmp_path):
    failures = str(tmp_path / "load-failures")
    script = (
        "import sys, time\n"
        "for i in range(3):\n"
        "    open(sys.argv[1], 'a').write('ValueError: bad (inference.py:3)\\n')\n"
        "time.sleep(120)\n"
    )
    sup = make(
        [sys.executable, "-c", script, failures],
        load_failure_file=failures,
        max_load_failures=3,
    )
    assert sup.run() == supervisor.EXIT_LOAD_FAILED


def test_workers_dying_before_they_load_count_as_load_failures(tmp_path, library_caplog):
    errors = str(tmp_path / "worker-errors")
    line = "12:00:00 [pid 7] {} {}. ModuleNotFoundError: No module named 'h'\n".format(
        mms_worker.STARTUP_TAG, mms_worker.WORKER_DIED
    )
    script = (
        "import sys, time\n"
        "for i in range(3):\n"
        "    open(sys.argv[1], 'a').write(sys.argv[2])\n"
        "time.sleep(120)\n"
    )
    sup = make(
        [sys.executable, "-c", script, errors, line],
        worker_error_file=errors,
        load_failure_file=str(tmp_path / "load-failures"),
        max_load_failures=3,
    )
    assert sup.run() == supervisor.EXIT_LOAD_FAILED
    last = library_caplog.records[-1].getMessage()
    assert last == (
        "Model failed to load: Backend worker process died. "
        "ModuleNotFoundError: No module named 'h'"
    )


def test_deaths_after_loading_are_not_load_failures(tmp_path):
    errors = tmp_path / "worker-errors"
    errors.write_text(
        "12:00:00 [pid 7] {}. ValueError: Frontend disconnected\n".format(mms_worker.WORKER_DIED)
        * 5
    )
    sup = make(["true"], worker_error_file=str(errors), max_load_failures=1)
    assert sup._load_failures() == []


def test_load_failure_file_is_truncated_at_start(tmp_path):
    failures = tmp_path / "load-failures"
    failures.write_text("old\nold\nold\n")
    sup = make(
        [sys.executable, "-c", "import time; time.sleep(120)"], load_failure_file=str(failures)
    )
    sup.start()
    try:
        assert failures.read_text() == ""
    finally:
        sup.stop(graceful=False)


def test_startup_timeout(tmp_path):
    sup = make([sys.executable, "-c", "import time; time.sleep(120)"], startup_timeout=0.3)
    assert sup.run() == supervisor.EXIT_STARTUP_TIMEOUT
    assert sup.process.poll() is not None


def test_count_lines(tmp_path):
    path = tmp_path / "f"
    assert supervisor.count_lines(None) == []
    assert supervisor.count_lines(str(path)) == []
    path.write_text("a\n\nb\n")
    assert supervisor.count_lines(str(path)) == ["a", "b"]


def test_port_open():
    port = mms_config.free_port()
    assert not supervisor.port_open(port)


def test_busy_workers_of_a_process_without_workers():
    assert supervisor.busy_workers(psutil.Process()) == 0


def test_model_name_from_worker_cmdline():
    assert supervisor._model_name(["python", "w.py", "--model-name", "m1"]) == "m1"
    assert supervisor._model_name(["python", "w.py", "--model-name"]) == "?"


def test_terminate_tree_kills_stubborn_processes():
    import subprocess

    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    proc.stdout.readline()
    killed = supervisor.terminate_tree(proc.pid, [psutil.Process(proc.pid)], timeout=0.5)
    assert killed == [proc.pid]
    proc.wait(timeout=5)


def _wait_zombie(*procs):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(psutil.Process(p.pid).status() == psutil.STATUS_ZOMBIE for p in procs):
            return
        time.sleep(0.02)
    raise AssertionError("children did not exit")


def test_reap_zombies_collects_exited_children_but_leaves_keep():
    import subprocess

    kept = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    other = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        _wait_zombie(other)
        supervisor.reap_zombies(keep=kept.pid)
        assert not psutil.pid_exists(other.pid)
        assert kept.poll() is None
    finally:
        kept.kill()
        kept.wait()


def test_reap_zombies_leaves_an_exited_keep_to_its_popen():
    import subprocess

    kept = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(7)"])
    other = subprocess.Popen([sys.executable, "-c", "pass"])
    _wait_zombie(kept, other)
    supervisor.reap_zombies(keep=kept.pid)
    assert psutil.Process(kept.pid).status() == psutil.STATUS_ZOMBIE
    assert kept.poll() == 7  # the real exit code, not the 0 Popen reports for a stolen child
    supervisor.reap_zombies(keep=kept.pid)
    assert not psutil.pid_exists(other.pid)


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


def test_killed_backend_process_ends_the_supervisor(tmp_path):
    worker = tmp_path / "model_service_worker.py"
    worker.write_text("import time\ntime.sleep(120)\n")
    pid_file = str(tmp_path / "backend.pid")
    spawner = (
        "import subprocess, sys, time\n"
        "backend = subprocess.Popen([sys.executable, sys.argv[2], '--model-name', 'm1'])\n"
        "open(sys.argv[1], 'w').write(str(backend.pid))\n"
        "time.sleep(120)\n"
    )
    sup = make(
        [sys.executable, "-c", spawner, pid_file, str(worker)],
        backend_grace=0.3,
        startup_timeout=60,
    )
    listings = []
    discover = sup._discover_backends
    sup._discover_backends = lambda now: listings.append(now) or discover(now)
    found = []

    def kill_backend_once_known():
        backend = int(wait_for_file(pid_file))
        deadline = time.monotonic() + 10
        while not sup._known and time.monotonic() < deadline:
            time.sleep(0.02)
        before = len(listings)
        time.sleep(1.0)  # about 20 loops with the backend known
        found.append(len(listings) - before)
        os.kill(backend, signal.SIGKILL)

    thread = threading.Thread(target=kill_backend_once_known, daemon=True)
    thread.start()
    assert sup.run() == supervisor.EXIT_BACKEND_DIED
    thread.join(5)
    assert found == [0]
    assert sup.process.poll() is not None


# A stand-in for the patched JVM: on SIGTERM it "drains" (writes a marker), then exits 0.
DRAINING_JAVA = (
    "import signal, sys, time\n"
    "def drain(signum, frame):\n"
    "    open(sys.argv[1], 'w').write('drained')\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, drain)\n"
    "open(sys.argv[2], 'w').write('up')\n"
    "time.sleep(120)\n"
)

# A JVM that never finishes draining.
STUCK_JAVA = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "open(sys.argv[2], 'w').write('up')\n"
    "time.sleep(120)\n"
)


def test_draining_java_gets_sigterm_at_once_and_exits_by_itself(tmp_path):
    marker, up = str(tmp_path / "drained"), str(tmp_path / "up")
    sup = make([sys.executable, "-c", DRAINING_JAVA, marker, up], java_drains=True)
    sup.start()
    wait_for_file(up)
    started = time.monotonic()
    sup.stop(graceful=True)
    assert time.monotonic() - started < 3
    assert open(marker).read() == "drained"
    assert sup.process.returncode == 0


def test_java_still_draining_at_the_end_of_the_grace_period_is_killed(tmp_path):
    up = str(tmp_path / "up")
    sup = make(
        [sys.executable, "-c", STUCK_JAVA, str(tmp_path / "x"), up],
        java_drains=True,
        grace_seconds=0.5,
    )
    sup.start()
    wait_for_file(up)
    started = time.monotonic()
    sup.stop(graceful=True)
    assert time.monotonic() - started < 3
    assert sup.process.returncode == -signal.SIGKILL
