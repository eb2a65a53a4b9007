"""model_server's 1.10.1 process helpers against real processes (moved from test/unit).

The signal handlers are installed and triggered in a child interpreter: the test process
itself never receives a signal, and its own children are not reaped by a foreign handler.
"""

import subprocess
import sys
import textwrap

import pytest

from sagemaker_inference import model_server, model_server_compat


def run_child(script, timeout=30):
    """Run ``script`` in a fresh interpreter; its stdout (the test fails when it fails)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fake_mms(config):
    # argv[0] of "python -c" is "-c", so the class name and -f appear in cmdline()
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            "com.amazonaws.ml.mms.ModelServer",
            "-f",
            config,
        ]
    )


def test_retrieve_mms_server_process_matches_our_config(monkeypatch, tmp_path):
    ours = str(tmp_path / "ours.properties")
    monkeypatch.setattr(model_server_compat, "MMS_CONFIG_FILE", ours)
    other = _fake_mms(str(tmp_path / "other.properties"))
    try:
        with pytest.raises(Exception, match="unsuccessfully started"):
            model_server._retrieve_mms_server_process()
        mine = _fake_mms(ours)
        try:
            assert model_server._retry_retrieve_mms_server_process(5).pid == mine.pid
        finally:
            mine.kill()
            mine.wait()
        with pytest.raises(Exception):
            model_server._retry_retrieve_mms_server_process(0)
    finally:
        other.kill()
        other.wait()


def test_sigterm_handler_stops_process_tree():
    out = run_child("""
        import os, signal, subprocess, sys
        import psutil
        from sagemaker_inference import model_server
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        model_server._add_sigterm_handler(proc)
        print(psutil.pid_exists(proc.pid))
        os.kill(os.getpid(), signal.SIGTERM)  # the child signals itself, not the test
        # The handler has run (and reaped the process, so Popen cannot tell its exit code).
        print(psutil.pid_exists(proc.pid))
        """)
    assert out.split() == ["True", "False"]


def test_sigchild_handler_reaps():
    out = run_child("""
        import os, time
        from sagemaker_inference import model_server
        model_server._add_sigchild_handler()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        deadline = time.monotonic() + 5
        while os.path.exists("/proc/{}".format(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(os.path.exists("/proc/{}".format(pid)))
        try:
            os.waitpid(pid, 0)
            print("not reaped")
        except ChildProcessError:
            print("reaped")
        """)
    assert out.split() == ["False", "reaped"]


def test_starting_a_server_does_not_import_urllib_request():
    """The entry process imports model_server before it can start Java: a start pays for every
    module it pulls in, and urllib.request (http.client, email, ssl) is only needed to build a
    CDS archive or to unregister a dead multi-model backend."""
    probe = (
        "import sys; from sagemaker_inference import model_server; "
        "print(sorted(m for m in ('urllib.request', 'http.client', 'ssl') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
