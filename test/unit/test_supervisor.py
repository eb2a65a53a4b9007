import os
import signal
import sys
import threading
import time

import psutil
import pytest

from sagemaker_inference import mms_config, supervisor

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
