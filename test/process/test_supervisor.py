"""Supervisor against real child processes: start, stop, load failures, dead backends, reaping."""

import os
import signal
import subprocess
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


def wait_for(condition, timeout=10, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("{} did not hold within {} s".format(what, timeout))
        time.sleep(0.02)


def wait_for_file(path, timeout=10):
    def written():
        return os.path.exists(path) and bool(open(path).read())

    wait_for(written, timeout, "{} written".format(path))
    return open(path).read()


def test_exit_on_its_own_is_reported(tmp_path):
    sup = make([sys.executable, "-c", "import sys; sys.exit(0)"])
    assert sup.run() == supervisor.EXIT_MMS_DIED


def test_requested_stop_ends_the_whole_tree(tmp_path):
    pid_file = str(tmp_path / "child.pid")
    sup = make([sys.executable, "-c", SPAWNER, pid_file], grace_seconds=1)
    sup.start()
    child = int(wait_for_file(pid_file))
    previous = signal.getsignal(signal.SIGTERM)

    def deliver_sigterm():
        # What the interpreter runs when SIGTERM arrives, without signalling the test process.
        wait_for(lambda: signal.getsignal(signal.SIGTERM) is not previous, what="handler set")
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)

    thread = threading.Thread(target=deliver_sigterm, daemon=True)
    thread.start()
    assert sup.run() == supervisor.EXIT_STOPPED
    thread.join(5)
    assert sup.process.poll() is not None
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"
    assert signal.getsignal(signal.SIGTERM) is previous


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


def test_port_open():
    port = mms_config.free_port()
    assert not supervisor.port_open(port)


def test_terminate_tree_kills_stubborn_processes():
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
    def all_zombies():
        return all(psutil.Process(p.pid).status() == psutil.STATUS_ZOMBIE for p in procs)

    wait_for(all_zombies, what="children exited")


def test_reap_zombies_collects_exited_children_but_leaves_keep():
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
    kept = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(7)"])
    other = subprocess.Popen([sys.executable, "-c", "pass"])
    _wait_zombie(kept, other)
    supervisor.reap_zombies(keep=kept.pid)
    assert psutil.Process(kept.pid).status() == psutil.STATUS_ZOMBIE
    assert kept.poll() == 7  # the real exit code, not the 0 Popen reports for a stolen child
    supervisor.reap_zombies(keep=kept.pid)
    assert not psutil.pid_exists(other.pid)


def test_killed_backend_process_ends_the_supervisor(tmp_path):
    # How often backends are listed once known is test_supervisor's (unit) fake-clock test.
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

    def kill_backend_once_known():
        backend = int(wait_for_file(pid_file))
        wait_for(lambda: backend in sup._known, what="backend known")
        psutil.Process(backend).kill()

    thread = threading.Thread(target=kill_backend_once_known, daemon=True)
    thread.start()
    assert sup.run() == supervisor.EXIT_BACKEND_DIED
    thread.join(5)
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
